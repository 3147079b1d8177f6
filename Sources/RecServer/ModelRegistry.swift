import Foundation
import RecData
import RecModels
import RecRetrieval
import RecStore
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
        /// The store's version of this model and its directory's name, when it was published
        /// there (`reckit train --publish`) and loaded from the shared models folder.
        public let published: PublishedModel?
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
                bundle: bundle, options: retrieval, directory: directory, log: log)
            snapshot = Snapshot(bundle: bundle, retriever: retriever, version: 1, published: nil)
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
        try await reload(named: name, published: nil)
    }

    private func reload(named name: String, published: PublishedModel?) async throws -> Int {
        guard let modelsDirectory else { throw ReloadError.noModelsDirectory }
        guard Self.isDirectoryName(name) else { throw ReloadError.invalidName(name) }
        let loaded = try await Self.load(
            modelsDirectory.appendingPathComponent(name, isDirectory: true), name: name, retrieval: retrieval,
            log: log)
        let version = (snapshot?.version ?? 0) + 1
        snapshot = Snapshot(bundle: loaded.bundle, retriever: loaded.retriever, version: version, published: published)
        return version
    }

    /// Serves the model the store says is published, whenever it is newer than the one in use:
    /// checks every `interval` until cancelled (``updateToPublished(from:)``).
    public func follow(_ store: any EventStore, every interval: Duration) async {
        while !Task.isCancelled {
            await updateToPublished(from: store)
            try? await Task.sleep(for: interval)
        }
    }

    /// The published model that failed to load, not tried again until a newer one appears.
    private var unusablePublished: Int?

    /// Loads the store's newest published model from ``modelsDirectory`` if it is newer than the
    /// one in use and swaps it in whole (requests in flight finish on the old one). A model that
    /// cannot be loaded is logged and skipped; the one in use keeps serving.
    ///
    /// - Returns: Whether a new model was swapped in.
    @discardableResult
    public func updateToPublished(from store: any EventStore) async -> Bool {
        let latest: PublishedModel
        do {
            guard let newest = try await store.latestPublishedModel() else { return false }
            latest = newest
        } catch {
            log("could not read the published model: \(error)")
            return false
        }
        guard latest.version > (snapshot?.published?.version ?? 0), latest.version != unusablePublished else {
            return false
        }
        do {
            let version = try await reload(named: latest.name, published: latest)
            log("serving published model \(latest.version) (\(latest.name)) as version \(version)")
            return true
        } catch {
            log("published model \(latest.version) (\(latest.name)) not loaded: \(error)")
            unusablePublished = latest.version
            return false
        }
    }

    @concurrent
    private static func load(
        _ directory: URL, name: String, retrieval: RetrievalOptions, log: @Sendable (String) -> Void
    ) async throws -> (bundle: ModelBundle, retriever: Retriever) {
        do {
            let bundle = try ModelBundle.load(from: directory)
            let retriever = try Retriever.prepare(
                bundle: bundle, options: retrieval, directory: directory, log: log)
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

    /// Records `id` under `label` unless it already has one; whether it did.
    func insertIfAbsent(_ id: String, label: Int32) -> Bool {
        table.withLock {
            guard $0.labels[id] == nil else { return false }
            $0.labels[id] = label
            $0.ids[label] = id
            return true
        }
    }
}
