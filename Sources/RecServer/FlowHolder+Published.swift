import Foundation
import RecStore
import Synchronization

/// Following the flow configurations published in the store (`reckit config publish`), as
/// ``ModelRegistry`` follows published models: every replica over one PostgreSQL database
/// serves the newest one.
extension FlowHolder {
    /// The published version in service, and one that failed to build (not tried again).
    final class PublishedState: Sendable {
        let versions = Mutex<(served: Int, unusable: Int?)>((0, nil))
    }

    /// Serves the store's newest published configuration if it is newer than the one in
    /// service, built with model paths relative to this server's `--config` file. A
    /// configuration that does not parse or build is logged and skipped; the flow in service
    /// stays.
    ///
    /// - Returns: Whether a new flow was swapped in.
    @discardableResult
    public func updateToPublished(from store: any EventStore) async -> Bool {
        let latest: PublishedConfiguration
        do {
            guard let newest = try await store.latestPublishedConfiguration() else { return false }
            latest = newest
        } catch {
            log("could not read the published configuration: \(error)")
            return false
        }
        let (served, unusable) = published.versions.withLock { $0 }
        guard latest.version > served, latest.version != unusable else { return false }
        do {
            let version = try await reload(text: latest.text)
            published.versions.withLock { $0.served = latest.version }
            log("serving published configuration \(latest.version) as flow version \(version)")
            return true
        } catch {
            log("published configuration \(latest.version) not served: \(error)")
            published.versions.withLock { $0.unusable = latest.version }
            return false
        }
    }

    /// Checks for a newer published configuration every `interval` until cancelled.
    public func follow(_ store: any EventStore, every interval: Duration) async {
        while !Task.isCancelled {
            await updateToPublished(from: store)
            try? await Task.sleep(for: interval)
        }
    }

    /// The published configuration's version in service (0: the file's own).
    public var publishedVersion: Int { published.versions.withLock { $0.served } }
}
