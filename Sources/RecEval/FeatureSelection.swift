import Foundation
import RecData
import RecModels

/// A feature group: one column of the item or the user table.
public struct FeatureGroup: Sendable, Codable, Hashable, CustomStringConvertible {
    public var table: String
    public var column: String
    public var description: String { "\(table).\(column)" }
}

/// What a group is worth: the validation objective with every group, and without this one.
public struct FeatureGroupEffect: Sendable, Codable, Equatable {
    public var group: FeatureGroup
    public var without: Double
    /// `all − without`: positive when the group helps.
    public var contribution: Double
}

/// One step of greedy forward selection.
public struct ForwardStep: Sendable, Codable, Equatable {
    public var added: FeatureGroup
    public var objective: Double
}

public struct FeatureSelectionResult: Sendable, Codable, Equatable {
    public var model: String
    public var objective: String
    public var withAll: Double
    public var withNone: Double
    /// Leave-one-group-out, ranked by contribution (most useful first).
    public var ablation: [FeatureGroupEffect]
    /// Greedy forward selection from no features, while a group improves the objective.
    public var forward: [ForwardStep]
}

/// Feature selection for the models that read features (the hybrid, the content models): each
/// run retrains on the validation split of one fixed split.
public enum FeatureSelection {
    public static func run(
        _ configuration: ExperimentConfiguration, forward: Bool = true, objective: String = "ndcg@10",
        progress: ProgressHandler? = nil, onRun: ((String, Double) -> Void)? = nil
    ) throws -> FeatureSelectionResult {
        let prepared = try Experiment.prepare(configuration)
        let groups = Self.groups(of: prepared.dataset)
        guard !groups.isEmpty else { throw DatasetError.invalidOption("the data set has no item or user features") }
        var config = configuration
        config.phase = .validation
        func evaluate(_ kept: Set<FeatureGroup>, _ label: String) throws -> Double {
            var dataset = prepared.dataset
            dataset.itemFeatures = Self.keep(dataset.itemFeatures, table: "item", kept)
            dataset.userFeatures = Self.keep(dataset.userFeatures, table: "user", kept)
            let data = Experiment.PreparedData(
                dataset: dataset, split: prepared.split, loadSeconds: prepared.loadSeconds)
            let value = try Experiment.run(config, prepared: data, progress: progress).record.metrics[objective] ?? 0
            onRun?(label, value)
            return value
        }
        let found = try search(groups, forward: forward, none: "no groups", evaluate)
        return FeatureSelectionResult(
            model: configuration.model.rawValue, objective: objective, withAll: found.withAll,
            withNone: found.withNone, ablation: found.ablation, forward: found.forward)
    }

    /// Ablation (every group left out in turn) and greedy forward selection (from none, add the
    /// group that raises the score most while one does) over `groups`: `evaluate` scores a set of
    /// kept groups, its label saying which run it is; `none` labels the run that keeps none.
    static func search(
        _ groups: [FeatureGroup], forward: Bool, none: String,
        _ evaluate: (Set<FeatureGroup>, String) throws -> Double
    ) rethrows -> (withAll: Double, withNone: Double, ablation: [FeatureGroupEffect], forward: [ForwardStep]) {
        let all = Set(groups)
        let withAll = try evaluate(all, "all groups")
        let withNone = try evaluate([], none)
        var ablation: [FeatureGroupEffect] = []
        for group in groups {
            let without = try evaluate(all.subtracting([group]), "without \(group)")
            ablation.append(FeatureGroupEffect(group: group, without: without, contribution: withAll - without))
        }
        ablation.sort { $0.contribution > $1.contribution }
        var steps: [ForwardStep] = []
        if forward {
            var chosen = Set<FeatureGroup>()
            var current = withNone
            while chosen.count < groups.count {
                var bestGroup: FeatureGroup?
                var bestValue = current
                for group in groups where !chosen.contains(group) {
                    let value = try evaluate(chosen.union([group]), "forward: \(chosen.count + 1) groups, + \(group)")
                    if value > bestValue { (bestGroup, bestValue) = (group, value) }
                }
                guard let bestGroup else { break }
                chosen.insert(bestGroup)
                current = bestValue
                steps.append(ForwardStep(added: bestGroup, objective: bestValue))
            }
        }
        return (withAll, withNone, ablation, steps)
    }

    /// Every column of the item and user tables, in table order.
    static func groups(of dataset: Dataset) -> [FeatureGroup] {
        (dataset.itemFeatures?.columns.map { FeatureGroup(table: "item", column: $0.name) } ?? [])
            + (dataset.userFeatures?.columns.map { FeatureGroup(table: "user", column: $0.name) } ?? [])
    }

    static func keep(_ table: FeatureTable?, table name: String, _ kept: Set<FeatureGroup>) -> FeatureTable? {
        guard var table else { return nil }
        table.columns = table.columns.filter { kept.contains(FeatureGroup(table: name, column: $0.name)) }
        return table
    }
}
