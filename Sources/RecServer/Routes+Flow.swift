import Foundation
import Hummingbird
import RecFlow

extension RecKitServer {
    /// The flow's routes: its state (`GET /api/flow`) and a reload of its file
    /// (`POST /api/config/reload`, as SIGHUP does).
    static func addFlow(to router: Router<Context>, service: RecommendationService) {
        router.get("/api/flow") { _, _ -> FlowDTO in
            guard let holder = service.flow else {
                throw HTTPError(.notFound, message: "no flow: the server was started without --config")
            }
            let (flow, version) = holder.current()
            let failures = service.flowFailures.snapshot()
            return FlowDTO(
                File: holder.file, Version: version,
                Sources: flow.sources.map {
                    FlowDTO.SourceDTO(
                        Name: $0.configuration.name, Type: $0.configuration.kind.rawValue,
                        Candidates: $0.configuration.candidates)
                },
                Merge: flow.configuration.ranker.merge.rawValue, Ranker: flow.configuration.ranker.kind.rawValue,
                Rules: flow.configuration.rules.map(\.kind.rawValue),
                Failures: failures.mapValues { FlowDTO.FailureDTO(Count: $0.count, Last: $0.last) })
        }
        router.post("/api/config/reload") { _, _ -> [String: Int] in
            guard let holder = service.flow else {
                throw HTTPError(.notFound, message: "no flow: the server was started without --config")
            }
            do {
                return ["Version": try await holder.reload()]
            } catch {
                throw HTTPError(.badRequest, message: "\(error)")
            }
        }
    }
}

/// `GET /api/flow`.
struct FlowDTO: ResponseEncodable {
    struct SourceDTO: Codable {
        var Name: String
        var `Type`: String
        var Candidates: Int
    }
    struct FailureDTO: Codable {
        var Count: Int
        var Last: String
    }
    var File: String
    var Version: Int
    var Sources: [SourceDTO]
    var Merge: String
    var Ranker: String
    var Rules: [String]
    var Failures: [String: FailureDTO]
}
