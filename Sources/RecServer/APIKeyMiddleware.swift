import HTTPTypes
import Hummingbird

/// Requires the header `X-API-Key` to equal the configured key on every route but the health
/// probes; compares in constant time, so the response time does not reveal a matching prefix.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // The probes and the page itself are open; the page sends the key it is given.
        if request.uri.path.hasPrefix("/api/health") || request.uri.path == "/" {
            return try await next(request, context)
        }
        guard let name = HTTPField.Name("X-API-Key"), let given = request.headers[name],
            Self.constantTimeEqual(Array(given.utf8), key)
        else { throw HTTPError(.unauthorized, message: "missing or wrong X-API-Key") }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
