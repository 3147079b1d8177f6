import Foundation
import RecModels

/// Holds the model in use; a reload swaps it whole, so a request sees the old model or the new
/// one, never a mixture. Readers take a snapshot (a value) and score it without locks.
public actor ModelRegistry {
    private var bundle: ModelBundle?
    private var version = 0

    public init(bundle: ModelBundle?) {
        self.bundle = bundle
        version = bundle == nil ? 0 : 1
    }

    /// The model in use and its version (1 for the first, +1 per reload), if any.
    public func current() -> (bundle: ModelBundle, version: Int)? {
        bundle.map { ($0, version) }
    }

    /// Loads a model directory and swaps it in; returns the new version.
    public func reload(from directory: URL) throws -> Int {
        let loaded = try ModelBundle.load(from: directory)
        bundle = loaded
        version += 1
        return version
    }
}

extension ModelRegistry {
    /// Drops the per-user state the model in use holds for `user` (their training history), so
    /// a deleted user leaves nothing behind in the serving model.
    public func forget(user: String) {
        guard var current = bundle, let index = current.userIDs.index(of: user) else { return }
        current.histories[Int(index)] = []
        bundle = current
    }
}
