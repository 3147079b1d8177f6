import Foundation
import RecStore

/// Deletes old published models so that a trainer left running does not fill the disk: the
/// newest ``keep`` published versions stay, and so does every version a server reported serving
/// within ``staleAfter`` seconds (``ServedModelReports``). Of the rest, each version's row goes
/// first (so that no server starting afterwards looks for its directory), then its directory,
/// unless a remaining row names the same directory.
public struct ModelRetention: Sendable {
    /// How many of the newest published versions to keep (at least 1: the served one).
    public var keep: Int
    /// The servers' shared models folder.
    public var modelsDirectory: URL
    /// Seconds a server's report protects the version it serves.
    public var staleAfter: Double

    public init(keep: Int, modelsDirectory: URL, staleAfter: Double = ServedModelReports.staleAfter) {
        precondition(keep >= 1, "ModelRetention keeps at least the newest version, not \(keep)")
        self.keep = keep
        self.modelsDirectory = modelsDirectory
        self.staleAfter = staleAfter
    }

    /// What one pass deleted.
    public struct Outcome: Sendable, Equatable {
        /// Versions whose rows were deleted, oldest first.
        public var deleted: [Int] = []
        /// Directories that could not be removed, with the reason.
        public var errors: [String] = []
    }

    /// Deletes the published versions beyond the newest ``keep`` that no server reported serving
    /// within ``staleAfter`` seconds.
    ///
    /// - Throws: What the store throws; a directory that cannot be removed is reported in the
    ///   outcome instead.
    public func prune(_ store: any EventStore) async throws -> Outcome {
        let published = try await store.publishedModels().sorted { $0.version > $1.version }
        guard published.count > keep else { return Outcome() }
        let served = Set(try await store.servedModels(reportedWithin: staleAfter).map(\.version))
        let doomed = published.dropFirst(keep).filter { !served.contains($0.version) }
        guard !doomed.isEmpty else { return Outcome() }
        let doomedVersions = Set(doomed.map(\.version))
        let remainingNames = Set(published.filter { !doomedVersions.contains($0.version) }.map(\.name))
        var outcome = Outcome()
        for model in doomed.reversed() {
            guard try await store.deletePublishedModel(version: model.version) else { continue }
            outcome.deleted.append(model.version)
            guard !remainingNames.contains(model.name) else { continue }
            if let error = removeDirectory(named: model.name) { outcome.errors.append(error) }
        }
        return outcome
    }

    /// Removes the model directory `name` under ``modelsDirectory``: only a plain directory name,
    /// and only a directory that holds a model (`model.json`). Returns why not, if it failed.
    func removeDirectory(named name: String) -> String? {
        guard Self.isDirectoryName(name) else { return "\(name): not a plain directory name, left alone" }
        let directory = modelsDirectory.appendingPathComponent(name, isDirectory: true)
        let files = FileManager.default
        guard files.fileExists(atPath: directory.path) else { return nil }
        guard files.fileExists(atPath: directory.appendingPathComponent("model.json").path) else {
            return "\(name): holds no model.json, left alone"
        }
        do {
            try files.removeItem(at: directory)
            return nil
        } catch {
            return "\(name): \(error.localizedDescription)"
        }
    }

    /// A single path component that stays inside its folder (as `ModelRegistry` loads them).
    static func isDirectoryName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && !name.hasPrefix(".") && !name.contains("/")
            && !name.contains("\\") && !name.contains("\0")
    }
}
