import Foundation
import RecStore
import TOMLKit

/// An A/B experiment declared in a flow's file (`[[experiments]]`, issue 47): its definition
/// (arms, shares, salt, start and stop) and what each arm serves.
public struct ExperimentConfiguration: Sendable, Equatable {
    /// What an arm serves.
    public struct Arm: Sendable, Equatable {
        public var name: String
        public var share: Double
        /// `config`: another flow file, relative to this one.
        public var config: String?
        /// `model`: a model directory, relative to this file, served as a one-source flow.
        public var model: String?

        /// Neither `config` nor `model`: the file's own flow (the control).
        public var isMainFlow: Bool { config == nil && model == nil }
    }

    /// The validated definition: the assignment of users to arms.
    public var definition: OnlineExperiment
    public var arms: [Arm]
    /// `window`: seconds after an impression in which positive feedback on a shown item counts
    /// for its arm; nil takes ``ImpressionSettings/attributionWindow``.
    public var window: Double?
    /// `tau`: the mSPRT's mixing standard deviation in clicks per user, fixed before the start
    /// (default 0.05, the simulator's; see `MixtureSPRT`).
    public var tau = 0.05

    public var name: String { definition.name }
}

/// `[impressions]`: what is recorded of the answers served, and how long it is kept.
///
/// (The settings are not under `[experiments]`, which TOML cannot have as a table beside the
/// `[[experiments]]` array.)
public struct ImpressionSettings: Sendable, Equatable {
    /// `record = "always"`: every answer of `/api/recommend`, `/api/item/:id/neighbors` and
    /// `/api/session/recommend` is stored; `"experiments"` (the default): only the answers of
    /// `/api/recommend` served from a running experiment's arm.
    public var recordAlways = false
    /// `attribution_window`: default for every experiment's `window`; 1 hour.
    public var attributionWindow = 3_600.0
    /// `retention`: impressions older than this are deleted (checked hourly); nil keeps them.
    public var retention: Double?
    /// `conversion_types`: feedback types counted as conversions; empty: the click types
    /// (`positive_feedback_types`).
    public var conversionTypes: [String] = []

    public init() {}
}

extension FlowConfiguration {
    static let experimentKeys = ["name", "salt", "start", "stop", "window", "tau", "arms"]

    /// `[impressions]` and `[[experiments]]`.
    mutating func readExperiments(_ root: TOMLTable, _ reader: ConfigurationReader) {
        if let table = reader.table(root, "impressions", at: "") {
            let at = "impressions"
            reader.onlyKeys(table, at: at, ["record", "attribution_window", "retention", "conversion_types"])
            if let record = reader.string(table, "record", at: at) {
                if ["always", "experiments"].contains(record) {
                    impressions.recordAlways = record == "always"
                } else {
                    reader.fail("\(at).record", "must be always or experiments, not \"\(record)\"")
                }
            }
            impressions.attributionWindow = reader.duration(table, "attribution_window", at: at) ?? 3_600
            impressions.retention = reader.duration(table, "retention", at: at)
            impressions.conversionTypes = reader.strings(table, "conversion_types", at: at) ?? []
        }
        for (index, table) in (reader.tables(root, "experiments", at: "") ?? []).enumerated() {
            if let experiment = Self.readExperiment(table, at: "experiments[\(index)]", reader) {
                experiments.append(experiment)
            }
        }
    }

    static func readExperiment(_ table: TOMLTable, at path: String, _ reader: ConfigurationReader)
        -> ExperimentConfiguration?
    {
        reader.onlyKeys(table, at: path, experimentKeys)
        let name = reader.string(table, "name", at: path)
        if table["name"] == nil { reader.fail(path, "an experiment needs a name") }
        let start = time(table, "start", at: path, reader)
        if table["start"] == nil { reader.fail(path, "an experiment needs start (an RFC 3339 time)") }
        let stop = time(table, "stop", at: path, reader)
        var arms: [ExperimentConfiguration.Arm] = []
        for (index, entry) in (reader.tables(table, "arms", at: path) ?? []).enumerated() {
            let at = "\(path).arms[\(index)]"
            reader.onlyKeys(entry, at: at, ["name", "share", "config", "model"])
            if entry["name"] == nil { reader.fail(at, "an arm needs a name") }
            if entry["share"] == nil { reader.fail(at, "an arm needs a share in (0, 1]") }
            let arm = ExperimentConfiguration.Arm(
                name: reader.string(entry, "name", at: at) ?? "",
                share: reader.double(entry, "share", at: at, in: 0...1) ?? 0,
                config: reader.string(entry, "config", at: at), model: reader.string(entry, "model", at: at))
            if arm.config != nil && arm.model != nil { reader.fail(at, "an arm serves config or model, not both") }
            arms.append(arm)
        }
        let window = reader.duration(table, "window", at: path)
        let tau = reader.double(table, "tau", at: path, in: 1e-6...1e6)
        guard let name, let start else { return nil }
        do {
            let definition = try OnlineExperiment(
                name: name, salt: reader.string(table, "salt", at: path),
                arms: arms.map { OnlineExperiment.Arm(name: $0.name, share: $0.share) }, start: start, stop: stop)
            var experiment = ExperimentConfiguration(definition: definition, arms: arms, window: window)
            experiment.tau = tau ?? experiment.tau
            return experiment
        } catch let error as OnlineExperimentError {
            reader.fail(error.key(at: path), "\(error)")
        } catch {
            reader.fail(path, "\(error)")
        }
        return nil
    }

    /// An RFC 3339 time in a string (`"2026-12-01T00:00:00Z"`).
    static func time(_ table: TOMLTable, _ key: String, at path: String, _ reader: ConfigurationReader) -> Date? {
        guard let value = table[key] else { return nil }
        guard let text = value.string, let seconds = StoreTimestamp.rfc3339(text) else {
            reader.fail("\(path).\(key)", "must be an RFC 3339 time in quotes, such as \"2026-12-01T00:00:00Z\"")
            return nil
        }
        return Date(timeIntervalSince1970: seconds)
    }

    /// What holds across experiments: unique names, no two running at once, arms that exist.
    func checkExperiments(_ reader: ConfigurationReader, directory: URL) {
        var names = Set<String>()
        for (index, experiment) in experiments.enumerated() {
            let at = "experiments[\(index)]"
            if !names.insert(experiment.name).inserted {
                reader.fail("\(at).name", "\"\(experiment.name)\" names two experiments")
            }
            for other in experiments[..<index] where Self.overlap(other.definition, experiment.definition) {
                reader.fail(
                    "\(at).start",
                    "runs at the same time as experiment \"\(other.name)\": a user sees one arm, so one experiment runs at a time (give the earlier one a stop)"
                )
            }
            for (armIndex, arm) in experiment.arms.enumerated() {
                let armAt = "\(at).arms[\(armIndex)]"
                if let model = arm.model { Self.checkModelDirectory(model, at: "\(armAt).model", directory, reader) }
                if let config = arm.config { Self.checkArmFile(config, at: "\(armAt).config", directory, reader) }
            }
        }
    }

    static func overlap(_ a: OnlineExperiment, _ b: OnlineExperiment) -> Bool {
        (a.stop.map { b.start < $0 } ?? true) && (b.stop.map { a.start < $0 } ?? true)
    }

    /// An arm's flow file: it must parse, and declare no experiments of its own.
    static func checkArmFile(_ path: String, at key: String, _ directory: URL, _ reader: ConfigurationReader) {
        let url = armURL(path, directory)
        do {
            let flow = try read(file: url.path)
            if !flow.experiments.isEmpty { reader.fail(key, "\(url.path) declares experiments; an arm's flow cannot") }
        } catch let errors as ConfigurationErrors {
            reader.fail(key, "\(url.path) is not a valid flow: \(errors.errors.first.map { "\($0)" } ?? "")")
        } catch {
            reader.fail(key, "\(url.path): \(error)")
        }
    }

    /// `path` relative to the configuration file's folder, unless absolute.
    public static func armURL(_ path: String, _ directory: URL) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
    }

    /// The running experiment at `date`, if any (experiments never overlap).
    public func runningExperiment(at date: Date) -> ExperimentConfiguration? {
        experiments.first { $0.definition.isRunning(at: date) }
    }

    /// The flow an arm serving `model` runs: that model as the one source, with this file's
    /// feedback types and replacement.
    public func oneModelFlow(name: String, model: String) -> FlowConfiguration {
        var flow = FlowConfiguration()
        flow.dataStore = dataStore
        flow.positiveFeedbackTypes = positiveFeedbackTypes
        flow.readFeedbackTypes = readFeedbackTypes
        flow.replacement = replacement
        var source = SourceConfiguration(name: name, kind: .model)
        source.path = model
        flow.sources = [source]
        return flow
    }
}

extension OnlineExperimentError {
    /// The key of an experiment's table that the problem is about.
    func key(at path: String) -> String {
        switch self {
        case .emptyName: "\(path).name"
        case .tooFewArms, .sharesDoNotSumToOne, .duplicateArm, .emptyArmName, .invalidShare: "\(path).arms"
        case .stopNotAfterStart: "\(path).stop"
        }
    }
}
