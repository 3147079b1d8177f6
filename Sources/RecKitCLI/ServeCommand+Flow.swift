import ArgumentParser
import Dispatch
import Foundation
import Logging
import RecFlow
import RecServer

extension ServeCommand {
    /// What the server runs with: the flags, or the configuration file's values where a flag was
    /// not given. A flag given with a different value than the file's is an error: the two must
    /// not disagree.
    struct Settings {
        var db: String
        var host: String
        var port: Int
        var apiKey: String?
        var adminKey: String?
        var positiveTypes: Set<String>
        var replacement: RecommendationService.Replacement?
    }

    struct Disagreement: Error, CustomStringConvertible {
        var description: String
    }

    func settings() throws -> Settings {
        let flags = Set(positiveTypes.split(separator: ",").map(String.init))
        let decay = RecommendationService.Replacement(
            positiveDecay: positiveReplacementDecay, readDecay: readReplacementDecay)
        guard let config else {
            return Settings(
                db: db ?? "", host: host ?? "127.0.0.1", port: port ?? 8087, apiKey: apiKey, adminKey: adminKey,
                positiveTypes: flags,
                replacement: replacement ? decay : nil)
        }
        let file = try FlowConfiguration.read(file: config)
        func agree<T: Equatable>(_ flag: T?, _ value: T?, _ name: String, _ key: String) throws -> T? {
            if let flag, let value, flag != value {
                throw Disagreement(
                    description: "\(name) \(flag) and \(config)'s \(key) \(value) disagree: give one of them")
            }
            return flag ?? value
        }
        guard let db = try agree(db, file.dataStore, "--db", "database.data_store") else {
            throw Disagreement(description: "\(config) has no database.data_store: give --db")
        }
        if !flags.isEmpty, flags != Set(file.positiveFeedbackTypes) {
            throw Disagreement(
                description:
                    "--positive-types and \(config)'s recommend.data_source.positive_feedback_types disagree: give one of them"
            )
        }
        if replacement, file.replacement == nil {
            throw Disagreement(
                description:
                    "--replacement and \(config), which has no recommend.replacement, disagree: give one of them"
            )
        }
        return Settings(
            db: db, host: try agree(host, file.host, "--host", "server.host") ?? "127.0.0.1",
            port: try agree(port, file.port, "--port", "server.port") ?? 8087,
            apiKey: try agree(apiKey, file.apiKey, "--api-key", "server.api_key"),
            adminKey: try agree(adminKey, file.adminKey, "--admin-key", "server.admin_key"),
            positiveTypes: Set(file.positiveFeedbackTypes),
            replacement: file.replacement.map {
                .init(positiveDecay: Float($0.positiveDecay), readDecay: Float($0.readDecay))
            })
    }

    /// SIGHUP reloads the flow's file, as `POST /api/config/reload` does.
    static func reloadOnHangup(_ flow: FlowHolder, logger: Logger) {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler {
            Task {
                do {
                    let version = try await flow.reload()
                    logger.info("SIGHUP: serving the flow of \(flow.file) as version \(version)")
                } catch {
                    logger.error("SIGHUP: the flow of \(flow.file) was not reloaded: \(error)")
                }
            }
        }
        source.resume()
        hangupSource = source
    }
}

/// Kept alive for the process's life.
nonisolated(unsafe) private var hangupSource: (any DispatchSourceSignal)?
