import Foundation
import HTTPTypes
import Hummingbird
import RecModels
import RecStore

/// One function per resource of the API. Each route parses its request, calls the store or the
/// service, and formats the answer in Gorse's shapes.
extension RecKitServer {
    static func addHealth(to router: Router<Context>, service: RecommendationService) {
        // Liveness: the process answers. It says truthfully whether a model is loaded, and says
        // nothing of the store, which it does not ask (readiness does).
        router.get("/api/health/live") { _, _ -> Health in
            let loaded = await service.registry.current() != nil
            return Health(Ready: true, DataStoreConnected: nil, ModelLoaded: loaded)
        }
        // Readiness: the store answers, and a model is loaded when one is expected. A replica
        // that cannot reach the database answers 503 until it can again.
        router.get("/api/health/ready") { _, _ -> EditedResponse<Health> in
            // A flow's models are loaded when it is built, before the server starts.
            let loaded = await service.registry.current() != nil || service.flow != nil
            let connected = (try? await service.store.ping()) != nil
            let ready = connected && (loaded || !service.expectsModel)
            return EditedResponse(
                status: ready ? .ok : .serviceUnavailable,
                response: Health(Ready: ready, DataStoreConnected: connected, ModelLoaded: loaded))
        }
    }

    static func addUsers(to router: Router<Context>, service: RecommendationService, limit: Int) {
        let store = service.store
        router.post("/api/user") { request, context -> RowAffected in
            let user = try FieldRules.checked(try await request.decode(as: UserDTO.self, context: context).stored)
            return RowAffected(RowAffected: try await store.upsertUsers([user]))
        }
        router.post("/api/users") { request, context -> RowAffected in
            // The store checks every element (FieldRules, paths `[i].Field`) before it writes any.
            let users = try await request.decode(as: [UserDTO].self, context: context)
            return RowAffected(RowAffected: try await store.upsertUsers(users.map(\.stored)))
        }
        router.get("/api/user/:id") { _, context -> UserDTO in
            let id = try identifier(context, "id")
            guard let user = try await store.user(id) else {
                throw HTTPError(.notFound, message: "user \(id) not found")
            }
            return UserDTO(user)
        }
        router.patch("/api/user/:id") { request, context -> RowAffected in
            let patch = try await request.decode(as: UserPatchDTO.self, context: context)
            return RowAffected(
                RowAffected: try await store.patchUser(
                    try identifier(context, "id"), labels: patch.Labels, comment: patch.Comment))
        }
        // Serving reads a user's history from the store alone, so deleting their rows leaves
        // nothing of them that can reach an answer.
        router.delete("/api/user/:id") { _, context -> RowAffected in
            RowAffected(RowAffected: try await store.deleteUser(try identifier(context, "id")))
        }
        router.get("/api/users") { request, _ -> UsersPage in
            let (users, cursor) = try await store.users(count: try count(request, limit: limit), after: cursor(request))
            return UsersPage(Cursor: cursor, Users: users.map(UserDTO.init))
        }
        router.get("/api/user/:id/feedback/:type") { _, context -> [FeedbackDTO] in
            let feedback = try await store.feedback(
                ofUser: try identifier(context, "id"), type: try identifier(context, "type"))
            return feedback.map(FeedbackDTO.init)
        }
        router.get("/api/user/:id/feedback") { _, context -> [FeedbackDTO] in
            try await store.feedback(ofUser: try identifier(context, "id")).map(FeedbackDTO.init)
        }
    }

    static func addItems(to router: Router<Context>, service: RecommendationService, limit: Int) {
        let store = service.store
        router.post("/api/item") { request, context -> RowAffected in
            let item = try FieldRules.checked(try await request.decode(as: ItemDTO.self, context: context).stored)
            return RowAffected(RowAffected: try await service.addItems([item]))
        }
        router.post("/api/items") { request, context -> RowAffected in
            let items = try await request.decode(as: [ItemDTO].self, context: context)
            return RowAffected(RowAffected: try await service.addItems(items.map(\.stored)))
        }
        router.get("/api/item/:id") { _, context -> ItemDTO in
            let id = try identifier(context, "id")
            guard let item = try await store.item(id) else {
                throw HTTPError(.notFound, message: "item \(id) not found")
            }
            return ItemDTO(item)
        }
        router.patch("/api/item/:id") { request, context -> RowAffected in
            let patch = try await request.decode(as: ItemPatchDTO.self, context: context)
            let id = try identifier(context, "id")
            return RowAffected(
                RowAffected: try await service.patchItem(
                    id, isHidden: patch.IsHidden, categories: patch.Categories, timestamp: patch.Timestamp,
                    labels: patch.Labels, comment: patch.Comment))
        }
        router.delete("/api/item/:id") { _, context -> RowAffected in
            RowAffected(RowAffected: try await service.deleteItem(try identifier(context, "id")))
        }
        router.get("/api/items") { request, _ -> ItemsPage in
            let (items, cursor) = try await store.items(count: try count(request, limit: limit), after: cursor(request))
            return ItemsPage(Cursor: cursor, Items: items.map(ItemDTO.init))
        }
        // RecKit's addition: items whose title (the item's comment) contains `q`, for the page.
        router.get("/api/items/search") { request, _ -> [ItemDTO] in
            guard let text = request.uri.queryParameters.get("q"), !text.isEmpty else {
                throw HTTPError(.badRequest, message: "q, the text to find in titles, is required")
            }
            try FieldRules.text(text, at: "q")
            return try await store.items(titleContaining: text, count: try count(request, limit: limit))
                .map(ItemDTO.init)
        }
        router.get("/api/item/:id/neighbors") { request, context -> Response in
            let id = try identifier(context, "id")
            guard
                let served = try await service.servedNeighbors(
                    of: id, count: try count(request, limit: limit), offset: try offset(request),
                    user: try namedUser(request))
            else {
                throw HTTPError(.notFound, message: "item \(id) is not known to the model")
            }
            return try scoredResponse(
                served.list, request: request, context: context, alwaysScored: true, requestID: served.requestID)
        }
    }

    static func addFeedback(
        to router: Router<Context>, service: RecommendationService, limit: Int, metrics: ServerMetrics
    ) {
        let store = service.store
        for (method, overwrite) in [(HTTPRequest.Method.post, false), (.put, true)] {
            // POST keeps existing (type, user, item) rows, PUT overwrites them (Gorse's semantics).
            router.on("/api/feedback", method: method) { request, context -> RowAffected in
                let feedback = try await request.decode(as: [FeedbackDTO].self, context: context)
                // The store checks every element before it commits any (one check, not two).
                let stored = feedback.map(\.stored)
                let changed = try await service.commitFeedback(stored, overwrite: overwrite, logger: context.logger)
                metrics.feedbackIngested.increment(by: Int64(changed))
                return RowAffected(RowAffected: changed)
            }
        }
        router.get("/api/feedback") { request, _ -> FeedbackPage in
            let (feedback, cursor) = try await store.feedback(
                count: try count(request, limit: limit), after: cursor(request))
            return FeedbackPage(Cursor: cursor, Feedback: feedback.map(FeedbackDTO.init))
        }
        router.delete("/api/feedback/:user/:item") { _, context -> RowAffected in
            RowAffected(
                RowAffected: try await store.deleteFeedback(
                    user: try identifier(context, "user"), item: try identifier(context, "item")))
        }
    }

    static func addRecommendations(to router: Router<Context>, service: RecommendationService, limit: Int) {
        router.get("/api/recommend/:user") { request, context -> Response in
            let user = try identifier(context, "user")
            let writeBack = try writeBack(request)
            let served = try await service.served(
                user: user, count: try count(request, limit: limit), offset: try offset(request),
                category: try category(request))
            if let writeBack {
                try await service.writeBack(
                    user: user, items: served.list.map(\.itemID), type: writeBack.type, delay: writeBack.delay)
            }
            return try scoredResponse(served.list, request: request, context: context, requestID: served.requestID)
        }
        router.get("/api/recommend/:user/:category") { request, context -> Response in
            let user = try identifier(context, "user")
            let writeBack = try writeBack(request)
            let served = try await service.served(
                user: user, count: try count(request, limit: limit), offset: try offset(request),
                category: try identifier(context, "category"))
            if let writeBack {
                try await service.writeBack(
                    user: user, items: served.list.map(\.itemID), type: writeBack.type, delay: writeBack.delay)
            }
            return try scoredResponse(served.list, request: request, context: context, requestID: served.requestID)
        }
        router.post("/api/session/recommend") { request, context -> Response in
            let feedback = try await request.decode(as: [FeedbackDTO].self, context: context)
            let served = try await service.served(
                session: try FieldRules.checked(feedback.map(\.stored), anonymous: true),
                count: try count(request, limit: limit),
                offset: try offset(request), user: try namedUser(request))
            return try scoredResponse(
                served.list, request: request, context: context, alwaysScored: true, requestID: served.requestID)
        }
        router.get("/api/popular") { request, context -> Response in
            let list = try await service.popular(count: try count(request, limit: limit), offset: try offset(request))
            return try scoredResponse(list, request: request, context: context, alwaysScored: true)
        }
        router.get("/api/latest") { request, context -> Response in
            let list = try await service.latest(count: try count(request, limit: limit))
            return try scoredResponse(list, request: request, context: context, alwaysScored: true)
        }
        router.get("/api/explain/:user") { request, context -> [ExplainedDTO] in
            if let flowList = try await service.explainFlow(
                user: try identifier(context, "user"), count: try count(request, limit: limit),
                category: try category(request))
            {
                return flowList.map { ExplainedDTO($0, title: service.title(of: $0.itemID)) }
            }
            let list = try await service.explain(
                user: try identifier(context, "user"), count: try count(request, limit: limit),
                category: try category(request))
            return list.map(ExplainedDTO.init)
        }
    }

    /// `user-id`, the user a neighbours or session answer is shown to (its impression's), if named.
    static func namedUser(_ request: Request) throws -> String {
        guard let user = request.uri.queryParameters.get("user-id") else { return "" }
        try FieldRules.identifier(user, at: "user-id")
        return user
    }

    static func addModel(to router: Router<Context>, service: RecommendationService, metrics: ServerMetrics) {
        router.get("/api/model") { _, _ -> ModelCard in
            guard let snapshot = await service.registry.current() else {
                throw HTTPError(.notFound, message: "no model loaded")
            }
            return ModelCard(snapshot)
        }
        router.post("/api/model/reload") { request, context -> [String: Int] in
            struct Reload: Decodable { var Name: String }
            let body = try await request.decode(as: Reload.self, context: context)
            return ["Version": try await service.registry.reload(named: body.Name)]
        }
        router.get("/metrics") { _, _ -> Response in
            metrics.modelVersion.set(Double(await service.registry.current()?.version ?? 0))
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
    }

    /// The page at `/` and the OpenAPI document, both resources of this module.
    static func addDocuments(to router: Router<Context>) {
        for (path, resource, type) in [
            ("/", ("index", "html"), "text/html; charset=utf-8"),
            ("/api/openapi.json", ("openapi", "json"), "application/json"),
        ] {
            router.get(RouterPath(path)) { _, _ -> Response in
                guard let url = Bundle.module.url(forResource: resource.0, withExtension: resource.1),
                    let data = try? Data(contentsOf: url)
                else { throw HTTPError(.internalServerError, message: "\(path) is missing") }
                return Response(
                    status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
        }
    }
}
