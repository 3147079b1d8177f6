import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RecData
import RecModels
import RecStore

/// Settings of `reckit serve`.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8087
    /// When set, every route but the health probes requires `X-API-Key`.
    public var apiKey: String?
    /// The largest `n` a request may ask for.
    public var maximumCount = 1000
    /// Log every request (method, path, status, duration) as structured metadata at `info`.
    public var logRequests = false

    public init() {}
}

/// Builds the HTTP API: Gorse's routes and shapes, plus RecKit's explanations and model card.
public enum RecKitServer {
    typealias Context = BasicRequestContext

    /// The router with every route; `service` does the work, routes parse and format.
    public static func makeRouter(
        service: RecommendationService, configuration: ServerConfiguration, metrics: ServerMetrics = ServerMetrics()
    ) -> Router<BasicRequestContext> {
        let router = Router()
        if configuration.logRequests { router.add(middleware: RequestLogMiddleware()) }
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMappingMiddleware())
        if let key = configuration.apiKey { router.add(middleware: APIKeyMiddleware(key: Array(key.utf8))) }
        let store = service.store
        let limit = configuration.maximumCount

        router.get("/api/health/live") { _, _ in Health(Ready: true, DataStoreConnected: true, ModelLoaded: true) }
        router.get("/api/health/ready") { _, _ -> Health in
            let loaded = await service.registry.current() != nil
            _ = try store.counts()
            return Health(Ready: true, DataStoreConnected: true, ModelLoaded: loaded)
        }

        // Users
        router.post("/api/user") { request, context -> RowAffected in
            let user = try await request.decode(as: UserDTO.self, context: context)
            return RowAffected(RowAffected: try store.upsertUsers([user.stored]))
        }
        router.post("/api/users") { request, context -> RowAffected in
            let users = try await request.decode(as: [UserDTO].self, context: context)
            return RowAffected(RowAffected: try store.upsertUsers(users.map(\.stored)))
        }
        router.get("/api/user/:id") { _, context -> UserDTO in
            let id = try context.parameters.require("id")
            guard let user = try store.user(id) else { throw HTTPError(.notFound, message: "user \(id) not found") }
            return UserDTO(user)
        }
        router.patch("/api/user/:id") { request, context -> RowAffected in
            let patch = try await request.decode(as: UserPatchDTO.self, context: context)
            return RowAffected(
                RowAffected: try store.patchUser(
                    try context.parameters.require("id"), labels: patch.Labels, comment: patch.Comment))
        }
        router.delete("/api/user/:id") { _, context -> RowAffected in
            let id = try context.parameters.require("id")
            let deleted = try store.deleteUser(id)
            await service.registry.forget(user: id)
            return RowAffected(RowAffected: deleted)
        }
        router.get("/api/users") { request, _ -> UsersPage in
            let (users, cursor) = try store.users(
                count: try count(request, limit: limit), after: request.uri.queryParameters.get("cursor") ?? "")
            return UsersPage(Cursor: cursor, Users: users.map(UserDTO.init))
        }
        router.get("/api/user/:id/feedback/:type") { _, context -> [FeedbackDTO] in
            let feedback = try store.feedback(
                ofUser: try context.parameters.require("id"), type: try context.parameters.require("type"))
            return feedback.map(FeedbackDTO.init)
        }
        router.get("/api/user/:id/feedback") { _, context -> [FeedbackDTO] in
            try store.feedback(ofUser: try context.parameters.require("id")).map(FeedbackDTO.init)
        }

        // Items
        router.post("/api/item") { request, context -> RowAffected in
            let item = try await request.decode(as: ItemDTO.self, context: context)
            return RowAffected(RowAffected: try store.upsertItems([item.stored]))
        }
        router.post("/api/items") { request, context -> RowAffected in
            let items = try await request.decode(as: [ItemDTO].self, context: context)
            return RowAffected(RowAffected: try store.upsertItems(items.map(\.stored)))
        }
        router.get("/api/item/:id") { _, context -> ItemDTO in
            let id = try context.parameters.require("id")
            guard let item = try store.item(id) else { throw HTTPError(.notFound, message: "item \(id) not found") }
            return ItemDTO(item)
        }
        router.patch("/api/item/:id") { request, context -> RowAffected in
            let patch = try await request.decode(as: ItemPatchDTO.self, context: context)
            return RowAffected(
                RowAffected: try store.patchItem(
                    try context.parameters.require("id"), isHidden: patch.IsHidden, categories: patch.Categories,
                    timestamp: patch.Timestamp, labels: patch.Labels, comment: patch.Comment))
        }
        router.delete("/api/item/:id") { _, context -> RowAffected in
            RowAffected(RowAffected: try store.deleteItem(try context.parameters.require("id")))
        }
        router.get("/api/items") { request, _ -> ItemsPage in
            let (items, cursor) = try store.items(
                count: try count(request, limit: limit), after: request.uri.queryParameters.get("cursor") ?? "")
            return ItemsPage(Cursor: cursor, Items: items.map(ItemDTO.init))
        }
        router.get("/api/item/:id/neighbors") { request, context -> Response in
            let id = try context.parameters.require("id")
            guard
                let list = try await service.neighbors(
                    of: id, count: try count(request, limit: limit), offset: try offset(request))
            else {
                throw HTTPError(.notFound, message: "item \(id) is not known to the model")
            }
            return try scoredResponse(list, request: request, context: context, alwaysScored: true)
        }

        // Feedback
        router.post("/api/feedback") { request, context -> RowAffected in
            let feedback = try await request.decode(as: [FeedbackDTO].self, context: context)
            let changed = try await store.commitFeedback(feedback.map(\.stored), overwrite: false)
            metrics.feedbackIngested.increment(by: Int64(changed))
            return RowAffected(RowAffected: changed)
        }
        router.put("/api/feedback") { request, context -> RowAffected in
            let feedback = try await request.decode(as: [FeedbackDTO].self, context: context)
            let changed = try await store.commitFeedback(feedback.map(\.stored), overwrite: true)
            metrics.feedbackIngested.increment(by: Int64(changed))
            return RowAffected(RowAffected: changed)
        }
        router.get("/api/feedback") { request, _ -> FeedbackPage in
            let (feedback, cursor) = try store.feedback(
                count: try count(request, limit: limit), after: request.uri.queryParameters.get("cursor") ?? "")
            return FeedbackPage(Cursor: cursor, Feedback: feedback.map(FeedbackDTO.init))
        }
        router.delete("/api/feedback/:user/:item") { _, context -> RowAffected in
            RowAffected(
                RowAffected: try store.deleteFeedback(
                    user: try context.parameters.require("user"), item: try context.parameters.require("item")))
        }

        // Recommendations
        router.get("/api/recommend/:user") { request, context -> Response in
            let list = try await service.recommend(
                user: try context.parameters.require("user"), count: try count(request, limit: limit),
                offset: try offset(request),
                category: request.uri.queryParameters.get("category"))
            return try scoredResponse(list, request: request, context: context)
        }
        router.get("/api/recommend/:user/:category") { request, context -> Response in
            let list = try await service.recommend(
                user: try context.parameters.require("user"), count: try count(request, limit: limit),
                offset: try offset(request),
                category: try context.parameters.require("category"))
            return try scoredResponse(list, request: request, context: context)
        }
        router.post("/api/session/recommend") { request, context -> Response in
            let feedback = try await request.decode(as: [FeedbackDTO].self, context: context)
            let list = try await service.recommend(
                session: feedback.map(\.stored), count: try count(request, limit: limit), offset: try offset(request))
            return try scoredResponse(list, request: request, context: context, alwaysScored: true)
        }
        router.get("/api/popular") { request, context -> Response in
            let n = try count(request, limit: limit)
            let list = try store.popularItems(types: Array(service.positiveTypes), count: n + (try offset(request)))
                .dropFirst(try offset(request)).map {
                    RecommendationService.Scored(itemID: $0.itemID, score: Float($0.count))
                }
            return try scoredResponse(Array(list), request: request, context: context, alwaysScored: true)
        }
        router.get("/api/latest") { request, context -> Response in
            let n = try count(request, limit: limit)
            let list = try store.latestItems(count: n).enumerated().map {
                RecommendationService.Scored(itemID: $0.element.itemID, score: Float(n - $0.offset))
            }
            return try scoredResponse(list, request: request, context: context, alwaysScored: true)
        }

        // RecKit's additions
        router.get("/api/explain/:user") { request, _ -> [ExplainedDTO] in
            let list = try await service.explain(
                user: try context(request), count: try count(request, limit: limit),
                category: request.uri.queryParameters.get("category"))
            return list.map { entry in
                ExplainedDTO(
                    Id: entry.itemID, Title: entry.title, Score: entry.score,
                    Reasons: entry.reasons.map {
                        ReasonDTO(ItemId: $0.itemID, Title: $0.title, Feature: $0.feature, Weight: $0.weight)
                    })
            }
        }
        router.get("/api/model") { _, _ -> ModelCard in
            guard let (bundle, version) = await service.registry.current() else {
                throw HTTPError(.notFound, message: "no model loaded")
            }
            let record = bundle.record
            return ModelCard(
                Kind: type(of: bundle.model).kind.rawValue, Parameters: bundle.model.parameters,
                Users: bundle.userIDs.count,
                Items: bundle.itemIDs.count, Version: version,
                Training: [
                    "dataset": record.dataset, "interactions": String(record.interactions),
                    "seconds": String(record.seconds),
                    "trainedAt": record.trainedAt, "reckitVersion": record.reckitVersion,
                ], Metrics: bundle.metrics)
        }
        router.post("/api/model/reload") { request, context -> [String: Int] in
            struct Reload: Decodable { var Path: String }
            let body = try await request.decode(as: Reload.self, context: context)
            return ["Version": try await service.registry.reload(from: URL(fileURLWithPath: body.Path))]
        }
        router.get("/metrics") { _, _ -> Response in
            metrics.modelVersion.set(Double(await service.registry.current()?.version ?? 0))
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
        router.get("/") { _, _ -> Response in
            guard let url = Bundle.module.url(forResource: "index", withExtension: "html"),
                let data = try? Data(contentsOf: url)
            else { throw HTTPError(.internalServerError, message: "the page is missing") }
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/api/openapi.json") { _, _ -> Response in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
                let data = try? Data(contentsOf: url)
            else { throw HTTPError(.internalServerError, message: "the API document is missing") }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        return router
    }

    /// The `user` path parameter of `/api/explain/{user}` (read from the path, as the closure's context is shadowed).
    static func context(_ request: Request) throws -> String {
        let parts = request.uri.path.split(separator: "/")
        guard let last = parts.last, parts.count == 3 else { throw HTTPError(.badRequest, message: "missing user") }
        return String(last).removingPercentEncoding ?? String(last)
    }

    /// `n`, 10 by default; 400 unless in `1...limit`.
    static func count(_ request: Request, limit: Int) throws -> Int {
        guard let text = request.uri.queryParameters.get("n") else { return 10 }
        guard let n = Int(text), n >= 1, n <= limit else {
            throw HTTPError(.badRequest, message: "n must be an integer in 1...\(limit)")
        }
        return n
    }

    /// `offset`, 0 by default; 400 unless in `0...100000`.
    static func offset(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("offset") else { return 0 }
        guard let offset = Int(text), offset >= 0, offset <= 100_000 else {
            throw HTTPError(.badRequest, message: "offset must be an integer in 0...100000")
        }
        return offset
    }

    /// Gorse's answer: a list of item ids, or with `X-API-Version: 2` (and on routes that always
    /// score) a list of `{"Id", "Score"}`.
    static func scoredResponse(
        _ list: [RecommendationService.Scored], request: Request, context: Context, alwaysScored: Bool = false
    ) throws -> Response {
        let versionTwo = HTTPField.Name("X-API-Version").flatMap { request.headers[$0] } == "2"
        if alwaysScored || versionTwo {
            return try list.map { ScoredDTO(Id: $0.itemID, Score: $0.score) }.response(from: request, context: context)
        }
        return try list.map(\.itemID).response(from: request, context: context)
    }

    /// A Hummingbird application on `configuration`'s address.
    public static func makeApplication(
        service: RecommendationService, configuration: ServerConfiguration, logger: Logger
    ) -> some ApplicationProtocol {
        Application(
            router: makeRouter(service: service, configuration: configuration),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "reckit"),
            logger: logger)
    }
}

/// Maps domain errors to HTTP statuses in one place; internal details never reach clients.
struct ErrorMappingMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPResponseError {
            throw error
        } catch let error as StoreError {
            throw HTTPError(.badRequest, message: error.description)
        } catch let error as ModelError {
            switch error {
            case .invalidModelDirectory: throw HTTPError(.badRequest, message: error.description)
            case .unknownItem: throw HTTPError(.notFound, message: error.description)
            default: throw HTTPError(.internalServerError, message: "the model could not answer")
            }
        } catch is DecodingError {
            throw HTTPError(.badRequest, message: "the body is not valid JSON of the expected shape")
        } catch {
            context.logger.error("request failed: \(error)")
            throw HTTPError(.internalServerError, message: "internal error")
        }
    }
}

/// One structured log line per request, after it is answered: `method`, `path`, `status` and
/// `ms` as metadata (with Hummingbird's request id), so a log collector can query them.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        func log(_ status: Int) {
            let elapsed = ContinuousClock.now - start
            let ms = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15
            context.logger.info(
                "request",
                metadata: [
                    "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(status)",
                    "ms": "\(String(format: "%.3f", ms))",
                ])
        }
        do {
            let response = try await next(request, context)
            log(response.status.code)
            return response
        } catch let error as HTTPResponseError {
            log(error.status.code)
            throw error
        } catch {
            log(500)
            throw error
        }
    }
}
