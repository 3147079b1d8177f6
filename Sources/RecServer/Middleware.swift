import Foundation
import HTTPTypes
import Hummingbird
import RecModels
import RecStore

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
            if case .unavailable = error { throw HTTPError(.serviceUnavailable, message: error.description) }
            throw HTTPError(.badRequest, message: error.description)
        } catch let error as ReloadError {
            throw HTTPError(.badRequest, message: error.description)
        } catch let error as ModelError {
            switch error {
            case .invalidModelDirectory: throw HTTPError(.badRequest, message: error.description)
            case .unknownItem: throw HTTPError(.notFound, message: error.description)
            default: throw HTTPError(.internalServerError, message: "the model could not answer")
            }
        } catch is DecodingError {
            throw HTTPError(.badRequest, message: "the body is not valid JSON of the expected shape")
        } catch let error where StoreError.mapped(error) != nil {
            throw HTTPError(.serviceUnavailable, message: StoreError.mapped(error)?.description ?? "")
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
