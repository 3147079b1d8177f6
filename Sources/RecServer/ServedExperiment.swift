import Foundation
import RecFlow
import RecRetrieval
import RecStore

/// A declared experiment at work (issue 47): its definition and each arm's flow, built with the
/// main flow at startup and at every reload, and swapped in with it.
public struct ServedExperiment: Sendable {
    public let configuration: ExperimentConfiguration
    /// By arm name.
    public let flows: [String: Flow]
    /// Seconds after an impression in which feedback counts for its arm.
    public let window: Double

    public var name: String { configuration.name }

    /// Each experiment of `configuration` with its arms' flows: the main flow for an arm that
    /// names neither `config` nor `model`, the flow of another file, or one model as the source.
    ///
    /// - Throws: ``ArmBuildError`` naming the arm at fault.
    static func build(
        _ configuration: FlowConfiguration, main: Flow, directory: URL, store: any EventStore,
        retrieval: RetrievalOptions, log: @escaping @Sendable (String) -> Void
    ) throws -> [ServedExperiment] {
        func build(_ flow: FlowConfiguration, _ folder: URL, _ key: String) throws -> Flow {
            do {
                return try Flow.build(flow, directory: folder, store: store, retrieval: retrieval, log: log)
            } catch {
                throw ArmBuildError(description: "\(key): \(error)")
            }
        }
        return try configuration.experiments.enumerated().map { index, experiment in
            var flows: [String: Flow] = [:]
            for (armIndex, arm) in experiment.arms.enumerated() {
                let key = "experiments[\(index)].arms[\(armIndex)]"
                if let file = arm.config {
                    let url = FlowConfiguration.armURL(file, directory)
                    let armConfiguration = try FlowConfiguration.read(file: url.path)
                    flows[arm.name] = try build(armConfiguration, url.deletingLastPathComponent(), key)
                } else if let model = arm.model {
                    flows[arm.name] = try build(
                        configuration.oneModelFlow(name: arm.name, model: model), directory, key)
                } else {
                    flows[arm.name] = main
                }
            }
            return ServedExperiment(
                configuration: experiment, flows: flows,
                window: experiment.window ?? configuration.impressions.attributionWindow)
        }
    }

    /// The arm `user` sees and its flow: the same on every replica for the experiment's life.
    public func arm(for user: String) -> (name: String, flow: Flow)? {
        let name = configuration.definition.arm(for: user).name
        return flows[name].map { (name, $0) }
    }

    /// What a report needs of the definition, as the store keeps it (`experiments` table) for
    /// `reckit experiment report`.
    public struct Record: Codable, Sendable, Equatable {
        public var experiment: OnlineExperiment
        public var clickTypes: [String]
        public var conversionTypes: [String]
        public var window: Double
        public var tau: Double

        public init(
            experiment: OnlineExperiment, clickTypes: [String], conversionTypes: [String], window: Double, tau: Double
        ) {
            self.experiment = experiment
            self.clickTypes = clickTypes
            self.conversionTypes = conversionTypes
            self.window = window
            self.tau = tau
        }

        /// The JSON text the store keeps (times in RFC 3339).
        public func text() throws -> String {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }

        public init(text: String) throws {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            self = try decoder.decode(Record.self, from: Data(text.utf8))
        }
    }

    /// This experiment's record under `flow`'s feedback types and impression settings.
    public func record(_ flow: FlowConfiguration) -> Record {
        let clicks = flow.positiveFeedbackTypes
        let conversions = flow.impressions.conversionTypes
        return Record(
            experiment: configuration.definition, clickTypes: clicks,
            conversionTypes: conversions.isEmpty ? clicks : conversions, window: window, tau: configuration.tau)
    }
}

/// An arm's flow that did not build, with the arm's key (`experiments[0].arms[1]`).
public struct ArmBuildError: Error, CustomStringConvertible {
    public var description: String
}
