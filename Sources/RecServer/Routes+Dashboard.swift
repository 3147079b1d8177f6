import Foundation
import HTTPTypes
import Hummingbird
import RecStore

extension RecKitServer {
    /// The dashboard (`GET /dashboard`, one page of plain HTML, CSS and JavaScript that draws
    /// its plots as inline SVG) and the routes only it reads: the store's counts with feedback
    /// per type and day, the published models with the trainer's reports, and who interacted
    /// with an item. All of them require the admin key (``AdminKeyMiddleware``) and not the API
    /// key: they are added before the API key's middleware, which a route only gets when added
    /// after it. The page reads the shared routes (`/api/model`, `/api/flow`, a user's and an
    /// item's) with the API key it is given as `apikey`.
    static func addDashboard(to router: Router<Context>, service: RecommendationService, adminKey: String?) {
        let store = service.store
        let group = router.group().add(middleware: AdminKeyMiddleware(key: adminKey.map { Array($0.utf8) }))
        group.get("/dashboard") { _, _ -> Response in
            guard let url = Bundle.module.url(forResource: "dashboard", withExtension: "html"),
                let data = try? Data(contentsOf: url)
            else { throw HTTPError(.internalServerError, message: "/dashboard is missing") }
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        group.get("/api/dashboard/overview") { request, _ -> OverviewDTO in
            var days = 30
            if let text = request.uri.queryParameters.get("days") {
                guard let value = Int(text), (1...366).contains(value) else {
                    throw HTTPError(.badRequest, message: "days must be an integer in 1...366")
                }
                days = value
            }
            let counts = try await store.counts()
            let perDay = try await store.feedbackPerDay(days: days)
            return OverviewDTO(
                Users: counts.users, Items: counts.items, Feedback: counts.feedback, Days: days,
                FeedbackPerDay: perDay.map { .init(FeedbackType: $0.type, Day: $0.day, Count: $0.count) })
        }
        group.get("/api/models/published") { _, _ -> [PublishedModelDTO] in
            try await store.publishedModels().map(PublishedModelDTO.init)
        }
        group.get("/api/item/:id/feedback") { _, context -> [ItemFeedbackDTO] in
            let rows = try await store.feedbackOnItem(try identifier(context, "id"))
            return rows.map { ItemFeedbackDTO(FeedbackType: $0.type, UserId: $0.userID) }
                .sorted { ($0.UserId, $0.FeedbackType) < ($1.UserId, $1.FeedbackType) }
        }
    }
}

/// Requires the admin key, compared in constant time: the header `X-Admin-Key`, or on the page
/// load alone (`GET /dashboard`, which a browser opens without headers) the query parameter
/// `key`, which the page then sends as the header. Without a configured key every route behind
/// it is refused: the dashboard is off.
struct AdminKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let key else {
            throw HTTPError(.forbidden, message: "the dashboard is off: start reckit serve with --admin-key")
        }
        var given = HTTPField.Name("X-Admin-Key").flatMap { request.headers[$0] }
        if given == nil, request.uri.path == "/dashboard" {
            given = request.uri.queryParameters.get("key").map { String($0) }
        }
        guard let given, APIKeyMiddleware<Context>.constantTimeEqual(Array(given.utf8), key) else {
            throw HTTPError(.unauthorized, message: "missing or wrong X-Admin-Key")
        }
        return try await next(request, context)
    }
}

/// `GET /api/dashboard/overview`: the store's counts and its feedback per type and day.
struct OverviewDTO: ResponseEncodable {
    struct DayDTO: Codable {
        var FeedbackType: String
        var Day: String
        var Count: Int
    }
    var Users: Int
    var Items: Int
    var Feedback: Int
    /// The days counted, ending on the newest feedback's day.
    var Days: Int
    var FeedbackPerDay: [DayDTO]
}

/// A model published to the store, with the trainer's report (its decision and figures) as JSON.
struct PublishedModelDTO: ResponseEncodable {
    var Version: Int
    var Name: String
    var Kind: String
    var PublishedAt: String
    /// `null` when the model was published without a report (`reckit train --publish`).
    var Report: JSONValue

    init(_ model: PublishedModel) {
        Version = model.version
        Name = model.name
        Kind = model.kind
        PublishedAt = model.publishedAt
        Report = (try? JSONDecoder().decode(JSONValue.self, from: Data(model.report.utf8))) ?? .null
    }
}

/// `GET /api/item/{id}/feedback`: who gave an item feedback, and of which type.
struct ItemFeedbackDTO: ResponseEncodable {
    var FeedbackType: String
    var UserId: String
}
