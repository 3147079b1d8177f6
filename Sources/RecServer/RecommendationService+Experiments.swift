import Foundation
import RecFlow
import RecStore
import Synchronization

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

    /// A fresh request id: this process's 64 random bits and a count, 32 hex digits. Unique
    /// across replicas (the impressions table's key) without a system call per request, which
    /// `UUID()` made.
    static func newRequestID() -> String { RequestIDs.shared.next() }

    /// The flow that answers `user` at `now`: their arm's while an experiment runs (with the
    /// experiment), else the main flow; nil without a flow configuration.
    func serving(user: String, now: Date = Date()) -> (flow: Flow, experiment: ServedExperiment?, arm: String)? {
        guard let holder = flow else { return nil }
        let (main, experiments) = holder.served()
        if let running = experiments.first(where: { $0.configuration.definition.isRunning(at: now) }),
            let arm = running.arm(for: user)
        {
            return (arm.flow, running, arm.name)
        }
        return (main, nil, "")
    }

    /// ``recommend(user:count:offset:category:)`` through the user's arm while an experiment runs.
    public func served(user: String, count: Int, offset: Int = 0, category: String? = nil, now: Date = Date())
        async throws -> Served
    {
        let id = Self.newRequestID()
        guard let holder = flow, let chosen = serving(user: user, now: now) else {
            return Served(
                list: try await recommend(user: user, count: count, offset: offset, category: category), requestID: id)
        }
        let list = try await recommend(user: user, count: count, offset: offset, category: category, flow: chosen.flow)
        if let running = chosen.experiment {
            holder.impressions.add(
                Self.impression(
                    id, experiment: running.name, arm: chosen.arm, user: user, route: "recommend", list,
                    offset: offset, now: now, window: running.window))
        } else {
            recordAlways(chosen.flow, id, user: user, route: "recommend", list, offset: offset, now: now)
        }
        return Served(list: list, requestID: id)
    }

    /// ``neighbors(of:count:offset:)`` with a request id; recorded only with `record = "always"`,
    /// under `user` when the request names one (`user-id`).
    public func servedNeighbors(of item: String, count: Int, offset: Int = 0, user: String = "") async throws
        -> Served?
    {
        guard let list = try await neighbors(of: item, count: count, offset: offset) else { return nil }
        let id = Self.newRequestID()
        if let main = flow?.served().flow {
            recordAlways(main, id, user: user, route: "neighbors", list, offset: offset, now: Date())
        }
        return Served(list: list, requestID: id)
    }

    /// ``recommend(session:count:offset:)`` with a request id; recorded only with `record = "always"`,
    /// under `user` (`user-id`), or else under the user every row of the session names, if one.
    public func served(session feedback: [StoredFeedback], count: Int, offset: Int = 0, user: String = "")
        async throws -> Served
    {
        let list = try await recommend(session: feedback, count: count, offset: offset)
        let id = Self.newRequestID()
        if let main = flow?.served().flow {
            let named = Set(feedback.map(\.userID))
            let user = user.isEmpty && named.count == 1 ? named.first ?? "" : user
            recordAlways(main, id, user: user, route: "session", list, offset: offset, now: Date())
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

/// Request ids: a random 64-bit prefix drawn once per process and a counter.
final class RequestIDs: Sendable {
    static let shared = RequestIDs()
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    init(prefix: UInt64 = UInt64.random(in: .min ... .max)) { self.prefix = Self.hex(prefix) }

    func next() -> String { prefix + Self.hex(counter.add(1, ordering: .relaxed).newValue) }

    /// 16 lowercase hex digits.
    static func hex(_ value: UInt64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: 0, count: 16)
        var rest = value
        for index in stride(from: 15, through: 0, by: -1) {
            bytes[index] = digits[Int(rest & 15)]
            rest >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
