import Foundation
import Hummingbird
import RecEval
import RecFlow
import RecStore

extension RecKitServer {
    /// `GET /api/experiments` and `GET /api/experiments/{name}` (issue 47): each experiment's
    /// arms with their figures and 95% intervals, the always-valid test of the difference, and
    /// the figures per day. A server with a flow reports the flow's experiments; one without
    /// reports those the store records (from the servers that run them).
    static func addExperiments(to router: Router<Context>, service: RecommendationService) {
        router.get("/api/experiments") { _, _ -> [ExperimentDTO] in
            var reports: [ExperimentDTO] = []
            for record in try await service.experimentRecords() {
                reports.append(ExperimentDTO(try await ExperimentResults.report(record, store: service.store)))
            }
            return reports
        }
        router.get("/api/experiments/:name") { _, context -> ExperimentDTO in
            let name = try identifier(context, "name")
            guard let record = try await service.experimentRecords().first(where: { $0.experiment.name == name })
            else {
                throw HTTPError(.notFound, message: "experiment \(name) not found")
            }
            return ExperimentDTO(try await ExperimentResults.report(record, store: service.store))
        }
    }
}

/// An experiment's results from the store (shared by the routes and `reckit experiment report`).
public enum ExperimentResults {
    /// The report of `record`'s experiment over what the store holds now.
    public static func report(_ record: ServedExperiment.Record, store: any EventStore, now: Date = Date())
        async throws -> ExperimentReport
    {
        let experiment = record.experiment
        let rows = try await store.experimentOutcomes(
            experiment: experiment.name, clickTypes: record.clickTypes, conversionTypes: record.conversionTypes)
        return ExperimentReport(
            name: experiment.name, start: experiment.start, stop: experiment.stop,
            arms: experiment.arms.map { ($0.name, $0.share) }, tau: record.tau,
            observations: rows.map {
                ExperimentObservation(
                    arm: $0.arm, user: $0.userID, day: $0.day,
                    outcome: UserOutcome(
                        impressions: $0.impressions, clicks: $0.clicks, conversions: $0.conversions, gain: $0.gain))
            }, now: now)
    }

    /// The experiments the store records, by name (unreadable rows are left out).
    public static func storedRecords(_ store: any EventStore) async throws -> [ServedExperiment.Record] {
        try await store.experiments().compactMap { try? ServedExperiment.Record(text: $0.definition) }
    }
}

extension RecommendationService {
    /// The flow's experiments when it serves one, else those the store records.
    public func experimentRecords() async throws -> [ServedExperiment.Record] {
        if let holder = flow {
            let (main, experiments) = holder.served()
            return experiments.map { $0.record(main.configuration) }
        }
        return try await ExperimentResults.storedRecords(store)
    }
}

/// One experiment's results, in the shape the dashboard reads (keys as written, `null` where
/// there is no stop or no difference yet).
struct ExperimentDTO: ResponseEncodable {
    struct Figure: Encodable {
        var Value: Double
        var Low: Double
        var High: Double

        init(_ estimate: Estimate) {
            (Value, Low, High) = (estimate.value, estimate.lower, estimate.upper)
        }
    }
    struct ArmDTO: Encodable {
        var Name: String
        var Share: Double
        var Users: Int
        var Impressions: Int
        var Clicks: Int
        var CTR: Figure
        var ConversionsPerUser: Figure
        var OnlineNDCG: Figure
    }
    struct DifferenceDTO: Encodable {
        var Metric = "clicks per user"
        var Estimate: Double
        var Low: Double
        var High: Double
        var PValue: Double
    }
    struct DayDTO: Encodable {
        var Day: String
        var Arm: String
        var Users: Int
        var Impressions: Int
        var Clicks: Int
    }

    var Name: String
    var Start: String
    var Stop: String?
    var Running: Bool
    var Method: String
    var Arms: [ArmDTO]
    var Difference: DifferenceDTO?
    var Daily: [DayDTO]

    init(_ report: ExperimentReport) {
        Name = report.name
        Start = StoreTimestamp.text(unixSeconds: report.start.timeIntervalSince1970)
        Stop = report.stop.map { StoreTimestamp.text(unixSeconds: $0.timeIntervalSince1970) }
        Running = report.running
        Method = ExperimentReport.method
        Arms = report.arms.map {
            ArmDTO(
                Name: $0.name, Share: $0.share, Users: $0.metrics.users, Impressions: $0.metrics.impressions,
                Clicks: $0.metrics.clicks, CTR: Figure($0.metrics.ctr),
                ConversionsPerUser: Figure($0.metrics.conversionsPerUser), OnlineNDCG: Figure($0.metrics.ndcg))
        }
        Difference = report.difference.map {
            DifferenceDTO(Estimate: $0.estimate, Low: $0.low, High: $0.high, PValue: $0.pValue)
        }
        Daily = report.daily.map {
            DayDTO(Day: $0.day, Arm: $0.arm, Users: $0.users, Impressions: $0.impressions, Clicks: $0.clicks)
        }
    }

    enum CodingKeys: String, CodingKey { case Name, Start, Stop, Running, Method, Arms, Difference, Daily }

    /// Written by hand so that `Stop` and `Difference` appear as `null` instead of missing.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Name, forKey: .Name)
        try container.encode(Start, forKey: .Start)
        try container.encode(Stop, forKey: .Stop)
        try container.encode(Running, forKey: .Running)
        try container.encode(Method, forKey: .Method)
        try container.encode(Arms, forKey: .Arms)
        try container.encode(Difference, forKey: .Difference)
        try container.encode(Daily, forKey: .Daily)
    }
}
