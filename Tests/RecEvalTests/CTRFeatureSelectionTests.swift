import Foundation
import RecData
import RecModels
import Testing
import _RecTestSupport

@testable import RecEval

/// `reckit features --protocol ctr` (issue 46): the groups are the ctr fields, scored by
/// validation AUC; on a log whose label is set by the hour alone, forward selection takes the
/// context first and ablation finds it the most useful.
struct CTRFeatureSelectionTests {
    /// Each user rates seeded items at seeded hours: 5 before noon, 1 after. Users, items, their
    /// features and their sequences carry nothing of the label.
    static func plantedByHour(users: Int = 24, items: Int = 12, perUser: Int = 16) throws -> CTRDataset {
        var generator = SeededGenerator(seed: 11)
        var (userColumn, itemColumn, ratings, times): ([Int32], [Int32], [Float], [Double]) = ([], [], [], [])
        for u in 0..<users {
            for day in 0..<perUser {
                let hour = generator.nextInt(below: 24)
                userColumn.append(Int32(u))
                itemColumn.append(Int32(generator.nextInt(below: items)))
                ratings.append(hour < 12 ? 5 : 1)
                times.append(Double(day * 86_400 + hour * 3_600 + u))
            }
        }
        let log = InteractionLog(
            users: userColumn, items: itemColumn, ratings: ratings, timestamps: times,
            userIDs: IDMap((0..<users).map { "u\($0)" }), itemIDs: IDMap((0..<items).map { "i\($0)" }))
        var userFeatures: [String: CTRUserFeatures] = [:]
        for u in 0..<users { userFeatures["u\(u)"] = CTRUserFeatures(gender: u % 2 == 0 ? "F" : "M", age: "\(u % 3)") }
        var itemFeatures: [String: CTRItemFeatures] = [:]
        for i in 0..<items { itemFeatures["i\(i)"] = CTRItemFeatures(genres: ["g\(i % 3)"], year: "\(1990 + i % 5)") }
        return try CTRDataset(name: "hours", log: log, users: userFeatures, items: itemFeatures)
    }

    @Test func forwardSelectionTakesTheFieldThatCarriesTheLabelFirst() throws {
        let data = try Self.plantedByHour()
        let parameters = [
            "dimension": "4", "epochs": "10", "patience": "10", "batch_size": "32", "learning_rate": "0.05",
        ]
        var runs: [String] = []
        let result = try FeatureSelection.runCTR(data, kind: .fm, parameters: parameters, seed: 3) { label, _ in
            runs.append(label)
        }
        #expect(result.objective == "auc" && result.model == "fm")
        #expect(result.forward.first?.added == CTRFeatureGroup.context.group, "\(result.forward)")
        #expect(result.ablation.first?.group == CTRFeatureGroup.context.group, "\(result.ablation)")
        #expect(result.withAll > 0.9 && result.withNone < 0.7, "all \(result.withAll), none \(result.withNone)")
        #expect(runs.count >= 2 + CTRFeatureGroup.allCases.count + CTRFeatureGroup.allCases.count)
    }

    @Test func aGroupLeftOutIsBlankedToThePaddingRow() throws {
        let data = try Self.plantedByHour(users: 4, items: 5, perUser: 6)
        let space = CTRFeatureSpace(training: Array(0..<data.count), of: data)
        let batch = data.batch(0..<data.count, in: space)
        let blanked = CTRFeatureGroup.blank(batch, keeping: [.user, .item, .sequence])
        let width = CTRField.single.count
        for row in 0..<batch.count {
            for (column, field) in CTRField.single.enumerated() {
                let value = blanked.fields[row * width + column]
                #expect([.hour, .weekday].contains(field) ? value == 0 : value == batch.fields[row * width + column])
            }
        }
        #expect(blanked.bags == batch.bags)
        let idsOnly = CTRFeatureGroup.blank(batch, keeping: [])
        #expect(idsOnly.bags.allSatisfy { $0.allSatisfy { $0 == 0 } })
        #expect((0..<batch.count).allSatisfy { idsOnly.fields[$0 * width] == batch.fields[$0 * width] })
    }
}
