import Foundation
import RecData
import RecModels

/// Feature selection for the click-through models (`reckit features --protocol ctr`, issue 46):
/// the groups are the `ctr` fields beyond the user and item ids, which every run keeps.
public enum CTRFeatureGroup: String, Sendable, CaseIterable {
    /// `gender`, `age`, `occupation`, `zip_prefix`.
    case user
    /// `genres`, `release_year`, `title_tokens`.
    case item
    /// The event's `hour` and `weekday`.
    case context
    /// The behaviour sequence (`history`).
    case sequence

    public var group: FeatureGroup { FeatureGroup(table: "ctr", column: rawValue) }

    /// The columns of ``CTRBatch/fields`` (in ``CTRField/single`` order) and the bags it owns.
    var columns: (fields: [CTRField], bags: [Int]) {
        switch self {
        case .user: return ([.gender, .age, .occupation, .zipPrefix], [])
        case .item: return ([.year], [0, 1])
        case .context: return ([.hour, .weekday], [])
        case .sequence: return ([], [2])
        }
    }

    /// `batch` with the fields of every group outside `kept` set to the padding row (zero,
    /// never trained): the model sees nothing of them.
    static func blank(_ batch: CTRBatch, keeping kept: Set<CTRFeatureGroup>) -> CTRBatch {
        var blanked = batch
        let width = CTRField.single.count
        for group in allCases where !kept.contains(group) {
            for field in group.columns.fields {
                guard let column = CTRField.single.firstIndex(of: field) else { continue }
                for row in 0..<batch.count { blanked.fields[row * width + column] = 0 }
            }
            for bag in group.columns.bags where bag < blanked.bags.count {
                blanked.bags[bag] = [Int32](repeating: 0, count: blanked.bags[bag].count)
            }
        }
        return blanked
    }
}

extension FeatureSelection {
    /// Ablation and greedy forward selection over ``CTRFeatureGroup`` for a `ctr` model: each
    /// run fits on the training part of one split and is scored by its best validation AUC (the
    /// epoch early stopping keeps).
    public static func runCTR(
        data: String, kind: CTRModelKind, parameters: [String: String] = [:], split splitKind: CTRSplitKind = .random,
        seed: UInt64 = 2020, forward: Bool = true, onRun: ((String, Double) -> Void)? = nil
    ) throws -> FeatureSelectionResult {
        try runCTR(
            CTRDataset.load(data), kind: kind, parameters: parameters, split: splitKind, seed: seed, forward: forward,
            onRun: onRun)
    }

    /// ``runCTR(data:kind:parameters:split:seed:forward:onRun:)`` on a loaded data set.
    public static func runCTR(
        _ dataset: CTRDataset, kind: CTRModelKind, parameters: [String: String] = [:],
        split splitKind: CTRSplitKind = .random, seed: UInt64 = 2020, forward: Bool = true,
        onRun: ((String, Double) -> Void)? = nil
    ) throws -> FeatureSelectionResult {
        let split = dataset.split(splitKind, seed: seed)
        var settings = parameters
        if settings["seed"] == nil { settings["seed"] = String(seed) }
        func evaluate(_ kept: Set<FeatureGroup>, _ label: String) throws -> Double {
            let keeping = Set(CTRFeatureGroup.allCases.filter { kept.contains($0.group) })
            let ranker = try CTRRanker.fit(
                kind: kind, parameters: settings, dataset: dataset, split: split,
                encoded: { CTRFeatureGroup.blank($0, keeping: keeping) })
            let value = ranker.epochs.map(\.validationAUC).filter { !$0.isNaN }.max() ?? 0
            onRun?(label, value)
            return value
        }
        let found = try search(
            CTRFeatureGroup.allCases.map(\.group), forward: forward, none: "no groups (ids only)", evaluate)
        return FeatureSelectionResult(
            model: kind.rawValue, objective: "auc", withAll: found.withAll, withNone: found.withNone,
            ablation: found.ablation, forward: found.forward)
    }
}
