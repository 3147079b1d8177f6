import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RecStore

/// Settings of `reckit serve`.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8087
    /// When set, every route but the health probes requires `X-API-Key`.
    public var apiKey: String?
    /// When set, `/dashboard` and the routes only it reads require it (`X-Admin-Key`); else they are off.
    public var adminKey: String?
    /// The largest `n` a request may ask for.
    public var maximumCount = 1000
    /// Log every request (method, path, status, duration) as structured metadata at `info`.
    public var logRequests = false

    public init() {}
}

/// Builds the HTTP API: Gorse's routes and shapes, plus RecKit's explanations and model card.
///
/// Each resource adds its routes in a function of its own (`Routes+Resources.swift`); routes
/// parse and format, ``RecommendationService`` does the work.
public enum RecKitServer {
    typealias Context = BasicRequestContext

    /// The router with every route.
    public static func makeRouter(
        service: RecommendationService, configuration: ServerConfiguration, metrics: ServerMetrics = ServerMetrics()
    ) -> Router<BasicRequestContext> {
        let router = Router()
        if configuration.logRequests { router.add(middleware: RequestLogMiddleware()) }
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMappingMiddleware())
        addDashboard(to: router, service: service, adminKey: configuration.adminKey)
        if let key = configuration.apiKey { router.add(middleware: APIKeyMiddleware(key: Array(key.utf8))) }
        let limit = configuration.maximumCount
        addHealth(to: router, service: service)
        addUsers(to: router, service: service, limit: limit)
        addItems(to: router, service: service, limit: limit)
        addFeedback(to: router, service: service, limit: limit, metrics: metrics)
        addRecommendations(to: router, service: service, limit: limit)
        addModel(to: router, service: service, metrics: metrics)
        addFlow(to: router, service: service)
        addExperiments(to: router, service: service)
        addDocuments(to: router)
        return router
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

    /// `cursor`, empty by default.
    static func cursor(_ request: Request) -> String {
        request.uri.queryParameters.get("cursor") ?? ""
    }

    /// A path parameter naming a user, an item, a feedback type or a category, percent-decoded
    /// (`/api/user/a%20b` is the user "a b", as in Gorse): 400 unless ``IdentifierRule`` allows
    /// it (a control character would reach no stored row, and PostgreSQL cannot even compare
    /// U+0000).
    static func identifier(_ context: Context, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        // Most identifiers have nothing to decode: Foundation's decoder is skipped for them.
        guard let value = raw.utf8.contains(UInt8(ascii: "%")) ? raw.removingPercentEncoding : raw else {
            throw HTTPError(.badRequest, message: "\(name): not valid percent-encoded UTF-8")
        }
        try FieldRules.identifier(value, at: name)
        return value
    }

    /// `write-back-type` and `write-back-delay` (Gorse's): served items are written back as
    /// feedback of that type, timestamped that long after now. A delay without a type, or one
    /// that is not a Go duration (`10m`, `1h30m`), is a 400.
    static func writeBack(_ request: Request) throws -> (type: String, delay: Double)? {
        let parameters = request.uri.queryParameters
        let delayText = parameters.get("write-back-delay")
        guard let type = parameters.get("write-back-type") else {
            if delayText != nil { throw HTTPError(.badRequest, message: "write-back-delay needs write-back-type") }
            return nil
        }
        try FieldRules.identifier(type, at: "write-back-type")
        guard let delay = delayText.map(GoDuration.seconds) ?? 0 else {
            throw HTTPError(
                .badRequest, message: "write-back-delay: \"\(delayText ?? "")\" is not a duration such as 10m or 1h30m")
        }
        guard delay <= 366 * 86_400 else { throw HTTPError(.badRequest, message: "write-back-delay: at most a year") }
        return (type, delay)
    }

    /// The `category` query parameter, checked as an identifier when present.
    static func category(_ request: Request) throws -> String? {
        guard let value = request.uri.queryParameters.get("category") else { return nil }
        try FieldRules.identifier(value, at: "category")
        return value
    }

    /// Gorse's answer: a list of item ids, or with `X-API-Version: 2` (and on routes that always
    /// score) a list of `{"Id", "Score"}`; with `requestID`, an `X-Request-Id` header.
    static func scoredResponse(
        _ list: [RecommendationService.Scored], request: Request, context: Context, alwaysScored: Bool = false,
        requestID: String? = nil
    ) throws -> Response {
        let versionTwo = HTTPField.Name("X-API-Version").flatMap { request.headers[$0] } == "2"
        var response =
            alwaysScored || versionTwo
            ? try list.map(ScoredDTO.init).response(from: request, context: context)
            : try list.map(\.itemID).response(from: request, context: context)
        if let requestID, let name = HTTPField.Name("X-Request-Id") { response.headers[name] = requestID }
        return response
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
