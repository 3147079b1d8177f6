import Dispatch
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An outside recommender over HTTP: `GET url` (with `{user}` replaced by the percent-encoded
/// user id) answering a JSON list of item ids, or of `{"Id": ..., "Score": ...}` (Gorse's shape).
/// The answer must come within `timeout`; a slow, failed or unreadable answer is an error the
/// flow counts and drops, never the request's.
struct ExternalSource: CandidateSource {
    let name: String
    let url: String
    let timeout: Double
    let session: URLSession

    init(name: String, url: String, timeout: Double) {
        self.name = name
        self.url = url
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        // Foundation on Linux hands libcurl whole seconds (below one, every request times out at
        // once): the session's limit is the next second up, and ``withDeadline`` keeps the exact one.
        configuration.timeoutIntervalForRequest = max(1, timeout.rounded(.up))
        configuration.timeoutIntervalForResource = max(1, timeout.rounded(.up))
        session = URLSession(configuration: configuration)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func propose(_ request: FlowRequest, limit: Int, excluding isExcluded: (String) -> Bool) async throws
        -> [Proposal]
    {
        guard let user = request.user else { return [] }
        let encoded = user.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? user
        guard let address = URL(string: url.replacingOccurrences(of: "{user}", with: encoded)) else {
            throw Failure(description: "\(url) is not a URL for user \(user)")
        }
        let (data, response) = try await Self.withDeadline(seconds: timeout, name: name) { [session] in
            try await session.data(from: address)
        }
        guard let status = (response as? HTTPURLResponse)?.statusCode, status == 200 else {
            throw Failure(description: "\(address) answered status \((response as? HTTPURLResponse)?.statusCode ?? 0)")
        }
        let items = try Self.parse(data)
        return items.filter { !isExcluded($0.id) }.prefix(limit).enumerated().map { rank, entry in
            Proposal(
                itemID: entry.id, score: entry.score ?? Float(limit - rank), reason: .external(name))
        }
    }

    /// A JSON list of ids, or of objects with `Id` and optionally `Score`.
    static func parse(_ data: Data) throws -> [(id: String, score: Float?)] {
        if let ids = try? JSONDecoder().decode([String].self, from: data) { return ids.map { ($0, nil) } }
        struct Scored: Decodable {
            var Id: String
            var Score: Float?
        }
        guard let scored = try? JSONDecoder().decode([Scored].self, from: data) else {
            throw Failure(description: "the answer is not a JSON list of item ids or of {\"Id\", \"Score\"}")
        }
        return scored.map { ($0.Id, $0.Score) }
    }

    /// `work`'s result, or an error once `seconds` have passed: the caller resumes at the
    /// deadline and `work` is left to end by itself (the session's own timeout, the next whole
    /// second, ends a request). It is not cancelled: on Linux, cancelling a task that awaits
    /// `URLSession.data` runs `URLSessionTask.cancel` under the task's status lock, and it waits
    /// there on the session's queue while that queue, finishing the same request, waits for the
    /// lock (a deadlock seen in the test suite).
    static func withDeadline<T: Sendable>(
        seconds: Double, name: String, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let resumed = Mutex(false)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let finish = { @Sendable (result: Result<T, any Error>) in
                guard
                    resumed.withLock({ done in
                        defer { done = true }
                        return !done
                    })
                else { return }
                continuation.resume(with: result)
            }
            Task {
                do { finish(.success(try await work())) } catch { finish(.failure(error)) }
            }
            // The deadline fires on a Dispatch thread, not the concurrency pool: requests that
            // keep the pool's threads busy cannot delay it.
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                finish(.failure(Failure(description: "no answer within \(seconds) s")))
            }
        }
    }
}
