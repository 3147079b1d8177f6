import CHNSW
import Foundation

/// An error from hnswlib or from an index file.
public enum RetrievalError: Error, Equatable, CustomStringConvertible {
    /// hnswlib reported a failure (its message).
    case library(String)
    /// An index file that does not belong to this model or cannot be read.
    case unusableIndex(path: String, reason: String)
    /// The model does not score by an inner product, so no index can serve it.
    case unsupportedModel(String)

    public var description: String {
        switch self {
        case .library(let message): "hnswlib: \(message)"
        case .unusableIndex(let path, let reason): "\(path): \(reason)"
        case .unsupportedModel(let kind):
            "\(kind) does not score by an inner product of a user vector and item vectors, so --retrieval ann cannot serve it (use exact)"
        }
    }
}

/// One hnswlib graph behind the C shim (`CHNSW`). Searches may run on many threads at once;
/// insertions and deletion marks take the shim's exclusive lock, so the class is `Sendable`.
final class HNSWGraph: @unchecked Sendable {
    enum Metric {
        case innerProduct
        case l2

        var c: reckit_hnsw_metric { self == .l2 ? RECKIT_HNSW_L2 : RECKIT_HNSW_INNER_PRODUCT }
    }

    private let handle: OpaquePointer
    let dimension: Int

    init(metric: Metric, dimension: Int, capacity: Int, m: Int, efConstruction: Int, seed: Int) throws {
        let pointer = try Self.call { error, length in
            reckit_hnsw_create(metric.c, dimension, capacity, m, efConstruction, seed, error, length)
        }
        handle = pointer
        self.dimension = dimension
    }

    init(loading path: String, metric: Metric, dimension: Int, capacity: Int) throws {
        handle = try Self.call { error, length in
            reckit_hnsw_load(path, metric.c, dimension, capacity, error, length)
        }
        self.dimension = dimension
    }

    deinit { reckit_hnsw_free(handle) }

    var count: Int { reckit_hnsw_count(handle) }

    /// Where the base layer (links, vectors and labels of every point) lies, and its size.
    var baseLayer: (address: UInt, bytes: Int) {
        var address: UInt = 0
        let bytes = reckit_hnsw_base_layer(handle, &address)
        return (address, bytes)
    }

    var deletedCount: Int { reckit_hnsw_deleted_count(handle) }

    /// Adds `vectors` (row-major, `dimension` columns) labelled from `firstLabel` on `threads` threads.
    func add(_ vectors: UnsafeBufferPointer<Float>, firstLabel: Int, threads: Int) throws {
        let rows = vectors.count / dimension
        try add(vectors, labels: (0..<rows).map { firstLabel + $0 }, levels: nil, threads: threads)
    }

    /// Adds `vectors` (row-major, one row per label) on `threads` threads. With `levels`, each row
    /// enters the layers `0...level` (rows above layer 0 first) instead of drawn ones.
    func add(_ vectors: UnsafeBufferPointer<Float>, labels: [Int], levels: [Int32]?, threads: Int) throws {
        guard let base = vectors.baseAddress, !labels.isEmpty, vectors.count >= labels.count * dimension else {
            return
        }
        let ids = labels.map { UInt64($0) }
        var message = [CChar](repeating: 0, count: 256)
        let status = ids.withUnsafeBufferPointer { ids in
            if let levels {
                levels.withUnsafeBufferPointer { levels in
                    reckit_hnsw_add(
                        handle, base, ids.baseAddress, levels.baseAddress, ids.count, threads, &message,
                        message.count)
                }
            } else {
                reckit_hnsw_add(handle, base, ids.baseAddress, nil, ids.count, threads, &message, message.count)
            }
        }
        if status != 0 { throw RetrievalError.library(Self.text(message)) }
    }

    /// The `k` nearest labels to `query` with their distances, nearest first, `ef` candidates
    /// wide. The `excluded` labels (in any order) are walked through but neither returned nor counted
    /// among the `ef`.
    func search(_ query: UnsafePointer<Float>, k: Int, ef: Int, excluded: [UInt64] = []) throws -> [(
        label: Int, distance: Float
    )] {
        guard k > 0 else { return [] }
        var labels = [UInt64](repeating: 0, count: k)
        var distances = [Float](repeating: 0, count: k)
        var message = [CChar](repeating: 0, count: 256)
        let found = excluded.withUnsafeBufferPointer { excluded in
            reckit_hnsw_search(
                handle, query, k, ef, excluded.baseAddress, excluded.count, &labels, &distances, &message,
                message.count)
        }
        guard found >= 0 else { throw RetrievalError.library(Self.text(message)) }
        return (0..<found).map { (Int(labels[$0]), distances[$0]) }
    }

    /// hnswlib's own `searchKnn`, which ``search(_:k:ef:excluded:)`` follows; for tests.
    func librarySearch(_ query: UnsafePointer<Float>, k: Int, ef: Int) throws -> [(label: Int, distance: Float)] {
        guard k > 0 else { return [] }
        var labels = [UInt64](repeating: 0, count: k)
        var distances = [Float](repeating: 0, count: k)
        let found = reckit_hnsw_search_library(handle, query, k, ef, &labels, &distances)
        guard found >= 0 else { throw RetrievalError.library("searchKnn failed") }
        return (0..<found).map { (Int(labels[$0]), distances[$0]) }
    }

    /// Marks a label deleted (never returned) or restores it; `false` when it is not in the graph.
    @discardableResult
    func setDeleted(_ label: Int, _ deleted: Bool) throws -> Bool {
        var message = [CChar](repeating: 0, count: 256)
        let status = reckit_hnsw_set_deleted(handle, UInt64(label), deleted ? 1 : 0, &message, message.count)
        guard status >= 0 else { throw RetrievalError.library(Self.text(message)) }
        return status == 0
    }

    /// Whether a label is marked deleted (false when it is not in the graph).
    func isDeleted(_ label: Int) -> Bool { reckit_hnsw_is_deleted(handle, UInt64(label)) == 1 }

    func save(to path: String) throws {
        var message = [CChar](repeating: 0, count: 256)
        if reckit_hnsw_save(handle, path, &message, message.count) != 0 {
            throw RetrievalError.library(Self.text(message))
        }
    }

    private static func call(
        _ body: (UnsafeMutablePointer<CChar>, Int) -> OpaquePointer?
    ) throws -> OpaquePointer {
        var message = [CChar](repeating: 0, count: 256)
        let result = message.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { body($0, buffer.count) }
        }
        guard let result else { throw RetrievalError.library(text(message)) }
        return result
    }

    private static func text(_ message: [CChar]) -> String {
        let bytes = message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
