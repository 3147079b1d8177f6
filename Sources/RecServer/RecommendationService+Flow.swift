import Foundation
import RecData
import RecFlow
import RecStore

/// Recommendations through the recommendation flow (`reckit serve --config`).
extension RecommendationService {
    func recommend(user: String, count: Int, offset: Int, category: String?, flow: Flow) async throws -> [Scored] {
        let request = try await flow.request(user: user, count: count, offset: offset, category: category, store: store)
        return await answer(flow, request)
    }

    func recommend(session feedback: [StoredFeedback], count: Int, offset: Int, flow: Flow) async throws -> [Scored] {
        let rows = feedback.map { (type: $0.feedbackType, itemID: $0.itemID, timestamp: $0.timestamp) }
        let request = FlowRequest.from(
            feedback: rows, user: nil, hidden: try await store.hiddenItems(), isPositive: flow.isPositive, count: count,
            offset: offset)
        return await answer(flow, request)
    }

    private func answer(_ flow: Flow, _ request: FlowRequest) async -> [Scored] {
        let answer = await flow.recommend(request)
        for (source, reason) in answer.failures.sorted(by: { $0.key < $1.key }) {
            flowFailures.record(source: source, reason: reason)
        }
        return answer.items.map { Scored(itemID: $0.itemID, score: $0.score, origins: $0.origins) }
    }

    /// The flow's answer for a user, each item with the sources that proposed it and why: the
    /// flow of the user's arm while an experiment runs.
    public func explainFlow(user: String, count: Int, category: String?) async throws -> [Scored]? {
        guard let flow = serving(user: user)?.flow else { return nil }
        return try await recommend(user: user, count: count, offset: 0, category: category, flow: flow)
    }
}

extension RecommendationService {
    /// An item's title under the flow's first model that knows it, or the one model's; empty
    /// when none does.
    func title(of item: String) -> String {
        guard let flow = flow?.current().flow else { return "" }
        for name in flow.models.keys.sorted() {
            guard let bundle = flow.models[name]?.bundle, let index = bundle.itemIndex(ItemID(item)) else { continue }
            return bundle.itemTitles[Int(index)]
        }
        return ""
    }
}
