import Foundation
import RecStore

extension ModelRegistry {
    /// Records in the store which published version this server serves, now and then every
    /// `interval` until cancelled, so that `reckit trainer --keep` never deletes its directory
    /// (a report protects a version for ``ServedModelReports/staleAfter`` seconds). A server
    /// serving no published model reports nothing; a failed report is logged and tried again
    /// at the next interval.
    public func reportServed(
        to store: any EventStore, as replica: String, every interval: Duration = ServedModelReports.interval,
        log: @Sendable (String) -> Void
    ) async {
        while !Task.isCancelled {
            if let version = current()?.published?.version {
                do {
                    try await store.reportServedModel(replica: replica, version: version)
                } catch {
                    log("could not report the served model: \(error)")
                }
            }
            try? await Task.sleep(for: interval)
        }
    }
}
