import Foundation
import Tensors

/// What `ann.json` records beside the graph (`ann.hnsw`), so a load can tell whether the graph
/// belongs to the model's current item vectors.
struct IndexManifest: Codable, Equatable {
    /// 2 since builds insert items from the highest layer down (``ItemIndex/insertionOrder(count:m:seed:)``);
    /// a format-1 graph, built in item order, needs twice the search width for the same recall.
    static let currentFormat = 2
    var format = currentFormat
    var settings: ANNSettings
    var items: Int
    var dimension: Int
    /// FNV-1a over the bit patterns of the item vectors.
    var checksum: UInt64
    var maxNorm: Float
    var graphBytes: Int
    /// The recall measured after the build and the search width it chose.
    var calibration: IndexCalibration?
}

extension ItemIndex {
    static let graphFile = "ann.hnsw"
    static let manifestFile = "ann.json"

    /// Writes `ann.hnsw` and `ann.json` into `directory`, each under a temporary name first, the
    /// manifest last: a reader sees the old pair, or the new one.
    public func save(to directory: URL) throws {
        let graphURL = directory.appendingPathComponent(Self.graphFile)
        let manifestURL = directory.appendingPathComponent(Self.manifestFile)
        let temporary = directory.appendingPathComponent(
            ".\(Self.graphFile).\(ProcessInfo.processInfo.processIdentifier)")
        try graph.save(to: temporary.path)
        let bytes = (try FileManager.default.attributesOfItem(atPath: temporary.path)[.size] as? Int) ?? 0
        guard rename(temporary.path, graphURL.path) == 0 else {
            throw RetrievalError.unusableIndex(
                path: graphURL.path, reason: "cannot be written: \(String(cString: strerror(errno)))")
        }
        let manifest = IndexManifest(
            settings: settings, items: items.rows, dimension: items.columns, checksum: Self.checksum(items),
            maxNorm: maxNorm, graphBytes: bytes, calibration: calibration)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: manifestURL, options: .atomic)
    }

    /// Loads the index saved in `directory` for these item vectors, or throws
    /// ``RetrievalError/unusableIndex(path:reason:)`` when there is none or it belongs to other
    /// vectors or settings (`settings.ef` may differ: it is a search setting).
    public static func load(from directory: URL, items: Matrix<Float>, settings: ANNSettings) throws -> ItemIndex {
        let manifestURL = directory.appendingPathComponent(manifestFile)
        let graphURL = directory.appendingPathComponent(graphFile)
        func unusable(_ reason: String) -> RetrievalError { .unusableIndex(path: manifestURL.path, reason: reason) }
        guard let data = try? Data(contentsOf: manifestURL) else { throw unusable("no saved index") }
        guard let manifest = try? JSONDecoder().decode(IndexManifest.self, from: data) else {
            throw unusable("not an index manifest RecKit can read")
        }
        guard manifest.format == IndexManifest.currentFormat else {
            throw unusable("built by another RecKit version (index format \(manifest.format))")
        }
        var built = manifest.settings
        built.ef = settings.ef
        built.exactHead = settings.exactHead
        guard built == settings else { throw unusable("built with other settings") }
        guard manifest.items == items.rows, manifest.dimension == items.columns else {
            throw unusable(
                "built for \(manifest.items) × \(manifest.dimension) item vectors, the model has \(items.rows) × \(items.columns)"
            )
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: graphURL.path)[.size] as? Int) ?? nil
        guard bytes == manifest.graphBytes else { throw unusable("\(graphFile) is missing or not the one recorded") }
        guard manifest.checksum == checksum(items) else { throw unusable("built for other item vectors") }
        let graph = try HNSWGraph(
            loading: graphURL.path, metric: settings.space.metric,
            dimension: settings.space.graphDimension(items.columns), capacity: items.rows)
        guard graph.count == items.rows else { throw unusable("\(graphFile) holds \(graph.count) items") }
        var index = ItemIndex(settings: built, items: items, maxNorm: manifest.maxNorm, graph: graph)
        index.calibration = manifest.calibration
        return index
    }

    static func checksum(_ items: Matrix<Float>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for value in items.storage {
            hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
