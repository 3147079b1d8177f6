import Foundation
import RecData
import RecModels
import RecRetrieval
import Synchronization

/// Holds the model in use; a reload swaps it whole, so a request sees the old model or the new
/// one, never a mixture. Readers take a snapshot (a value) and score it without locks.
///
/// Reloads read only model directories directly under ``modelsDirectory``, named by the request:
/// a caller can neither load nor probe any other path on the server.
public actor ModelRegistry {
    /// What a request scores with: the bundle, its retriever (exact or an ANN index) and version.
    public struct Snapshot: Sendable {
        public let bundle: ModelBundle
        public let retriever: Retriever
        public let version: Int
        /// Items placed in the index while this model serves (labels from the model's item count on).
        public let added = AddedItems()

        /// The model's index of an item, or the label it was added under.
        public func label(of id: String) -> Int32? { bundle.itemIndex(ItemID(id)) ?? added.label(of: id) }

        /// The external id of a label ``label(of:)`` gave.
        public func id(of label: Int32) -> String? {
            Int(label) < bundle.itemIDs.count ? bundle.itemIDs[label] : added.id(of: label)
        }
    }

    private var snapshot: Snapshot?
    /// The folder whose model directories ``reload(named:)`` may load; `nil` refuses reloads.
    public let modelsDirectory: URL?
    /// How models are retrieved from (`reckit serve --retrieval`).
    public let retrieval: RetrievalOptions
    private let log: @Sendable (String) -> Void

    /// - Parameters:
    ///   - directory: Where `bundle` was loaded from: an ANN index saved there is used, and one
    ///     built is saved there.
    public init(
        bundle: ModelBundle?, modelsDirectory: URL? = nil, directory: URL? = nil,
        retrieval: RetrievalOptions = RetrievalOptions(mode: .exact),
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        self.modelsDirectory = modelsDirectory
        self.retrieval = retrieval
        self.log = log
        if let bundle {
            let retriever = try Retriever.prepare(
                model: bundle.model, options: retrieval, directory: directory, log: log)
            snapshot = Snapshot(bundle: bundle, retriever: retriever, version: 1)
        }
    }

    /// The model in use, its retriever and its version (1 for the first, +1 per reload), if any.
    public func current() -> Snapshot? { snapshot }

    /// Loads the model directory `name` under ``modelsDirectory`` (and its ANN index, built if
    /// needed, off the actor) and swaps it in; returns the new version. On any error the model in
    /// use stays.
    ///
    /// - Throws: ``ReloadError`` naming the problem by the directory's name only.
    public func reload(named name: String) async throws -> Int {
        guard let modelsDirectory else { throw ReloadError.noModelsDirectory }
        guard Self.isDirectoryName(name) else { throw ReloadError.invalidName(name) }
        let loaded = try await Self.load(
            modelsDirectory.appendingPathComponent(name, isDirectory: true), name: name, retrieval: retrieval,
            log: log)
        let version = (snapshot?.version ?? 0) + 1
        snapshot = Snapshot(bundle: loaded.bundle, retriever: loaded.retriever, version: version)
        return version
    }

    @concurrent
    private static func load(
        _ directory: URL, name: String, retrieval: RetrievalOptions, log: @Sendable (String) -> Void
    ) async throws -> (bundle: ModelBundle, retriever: Retriever) {
        do {
            let bundle = try ModelBundle.load(from: directory)
            let retriever = try Retriever.prepare(
                model: bundle.model, options: retrieval, directory: directory, log: log)
            return (bundle, retriever)
        } catch ModelError.invalidModelDirectory(_, let reason) {
            throw ReloadError.unusable(name: name, reason: reason)
        } catch let error as RetrievalError {
            throw ReloadError.unusable(name: name, reason: error.description)
        }
    }

    /// A single path component that stays inside its folder: not empty, no separator, not `.`,
    /// `..` or hidden.
    static func isDirectoryName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && !name.hasPrefix(".") && !name.contains("/")
            && !name.contains("\\") && !name.contains("\0")
    }
}

/// Why `POST /api/model/reload` was refused; the model in use keeps serving.
public enum ReloadError: Error, Equatable, CustomStringConvertible {
    /// The server was started without a models folder.
    case noModelsDirectory
    /// The name is not a plain directory name.
    case invalidName(String)
    /// The directory is missing or does not hold a readable model.
    case unusable(name: String, reason: String)

    public var description: String {
        switch self {
        case .noModelsDirectory: return "this server has no models folder to reload from (start it with --models-dir)"
        case .invalidName(let name):
            return "'\(name)' is not a model name: give the name of a directory in the models folder"
        case .unusable(let name, let reason): return "model '\(name)' cannot be loaded: \(reason)"
        }
    }
}

/// External ids of the items added to a model's index while it serves, and their labels.
public final class AddedItems: Sendable {
    private let table = Mutex<(labels: [String: Int32], ids: [Int32: String])>(([:], [:]))

    public func label(of id: String) -> Int32? { table.withLock { $0.labels[id] } }
    public func id(of label: Int32) -> String? { table.withLock { $0.ids[label] } }
    public var count: Int { table.withLock { $0.labels.count } }

    func insert(_ id: String, label: Int32) {
        table.withLock {
            $0.labels[id] = label
            $0.ids[label] = id
        }
    }
}
