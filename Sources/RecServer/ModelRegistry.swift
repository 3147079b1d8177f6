import Foundation
import RecModels

/// Holds the model in use; a reload swaps it whole, so a request sees the old model or the new
/// one, never a mixture. Readers take a snapshot (a value) and score it without locks.
///
/// Reloads read only model directories directly under ``modelsDirectory``, named by the request:
/// a caller can neither load nor probe any other path on the server.
public actor ModelRegistry {
    private var bundle: ModelBundle?
    private var version = 0
    /// The folder whose model directories ``reload(named:)`` may load; `nil` refuses reloads.
    public let modelsDirectory: URL?

    public init(bundle: ModelBundle?, modelsDirectory: URL? = nil) {
        self.bundle = bundle
        self.modelsDirectory = modelsDirectory
        version = bundle == nil ? 0 : 1
    }

    /// The model in use and its version (1 for the first, +1 per reload), if any.
    public func current() -> (bundle: ModelBundle, version: Int)? {
        bundle.map { ($0, version) }
    }

    /// Loads the model directory `name` under ``modelsDirectory`` and swaps it in; returns the
    /// new version. On any error the model in use stays.
    ///
    /// - Throws: ``ReloadError`` naming the problem by the directory's name only.
    public func reload(named name: String) throws -> Int {
        guard let modelsDirectory else { throw ReloadError.noModelsDirectory }
        guard Self.isDirectoryName(name) else { throw ReloadError.invalidName(name) }
        let loaded: ModelBundle
        do {
            loaded = try ModelBundle.load(from: modelsDirectory.appendingPathComponent(name, isDirectory: true))
        } catch ModelError.invalidModelDirectory(_, let reason) {
            throw ReloadError.unusable(name: name, reason: reason)
        }
        bundle = loaded
        version += 1
        return version
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
