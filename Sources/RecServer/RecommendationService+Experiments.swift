import Foundation
import RecFlow
import RecStore

/// Answers with a request id, served from the user's arm while an experiment runs, and their
/// impressions recorded (issue 47).
///
/// While an experiment runs, `/api/recommend` answers a user from their arm's flow and records
/// the impression under the experiment and arm. Outside experiments nothing is recorded, unless
/// `[impressions] record = "always"`: then every answer of `/api/recommend`,
/// `/api/item/:id/neighbors` and `/api/session/recommend` is, with an empty experiment and arm.
extension RecommendationService {
    /// A list and the id of the answer that carried it (`X-Request-Id`).
    public struct Served: Sendable {
        public var list: [Scored]
        public var requestID: String
    }

    /// A fresh request id: 128 random bits as a UUID.
    static func newRequestID() -> String { UUID().uuidString.lowercased() }

    /// ``recommend(user:count:offset:category:)`` through the user's arm while an experiment runs.
    public func served(user: String, count: Int, offset: Int = 0, category: String? = nil, now: Date = Date())
        async throws -> Served
    {
        let id = Self.newRequestID()
        guard let holder = flow else {
            return Served(
                list: try await recommend(user: user, count: count, offset: offset, category: category), requestID: id)
        }
        let (main, experiments) = holder.served()
        let running = experiments.first { $0.configuration.definition.isRunning(at: now) }
        if let running, let arm = running.arm(for: user) {
            let list = try await recommend(user: user, count: count, offset: offset, category: category, flow: arm.flow)
            holder.impressions.add(
                Self.impression(
                    id, experiment: running.name, arm: arm.name, user: user, route: "recommend", list, offset: offset,
                    now: now, window: running.window))
            return Served(list: list, requestID: id)
        }
        let list = try await recommend(user: user, count: count, offset: offset, category: category, flow: main)
        recordAlways(main, id, user: user, route: "recommend", list, offset: offset, now: now)
        return Served(list: list, requestID: id)
    }

    /// ``neighbors(of:count:offset:)`` with a request id; recorded only with `record = "always"`.
    public func servedNeighbors(of item: String, count: Int, offset: Int = 0) async throws -> Served? {
        guard let list = try await neighbors(of: item, count: count, offset: offset) else { return nil }
        let id = Self.newRequestID()
        if let main = flow?.served().flow {
            recordAlways(main, id, user: "", route: "neighbors", list, offset: offset, now: Date())
        }
        return Served(list: list, requestID: id)
    }

    /// ``recommend(session:count:offset:)`` with a request id; recorded only with `record = "always"`.
    public func served(session feedback: [StoredFeedback], count: Int, offset: Int = 0) async throws -> Served {
        let list = try await recommend(session: feedback, count: count, offset: offset)
        let id = Self.newRequestID()
        if let main = flow?.served().flow {
            recordAlways(main, id, user: "", route: "session", list, offset: offset, now: Date())
        }
        return Served(list: list, requestID: id)
    }

    private func recordAlways(
        _ main: Flow, _ id: String, user: String, route: String, _ list: [Scored], offset: Int, now: Date
    ) {
        let settings = main.configuration.impressions
        guard settings.recordAlways, let holder = flow else { return }
        holder.impressions.add(
            Self.impression(
                id, experiment: "", arm: "", user: user, route: route, list, offset: offset, now: now,
                window: settings.attributionWindow))
    }

    static func impression(
        _ id: String, experiment: String, arm: String, user: String, route: String, _ list: [Scored], offset: Int,
        now: Date, window: Double
    ) -> StoredImpression {
        let seconds = now.timeIntervalSince1970
        return StoredImpression(
            requestID: id, experiment: experiment, arm: arm, userID: user, route: route, items: list.map(\.itemID),
            firstPosition: offset + 1, time: StoreTimestamp.text(unixSeconds: seconds),
            until: StoreTimestamp.text(unixSeconds: seconds.rounded(.down) + window))
    }
}
