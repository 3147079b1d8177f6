import Foundation
import RecData
import RecModels
import Testing
import _RecTestSupport

@testable import RecEval

/// `--eval-users N`: a seeded sample of the cases, the same every run, reported as a sample.
struct EvaluationSampleTests {
    @Test func aSampleIsSeededInOrderAndReported() throws {
        let folder = temporaryDirectory("sample")
        try SyntheticLog(users: 80, items: 60, events: 1_600, seed: 2).write(to: folder, name: "sample")
        var configuration = ExperimentConfiguration(data: folder.path)
        configuration.splitProtocol = .sequentialLeaveOneOut
        let prepared = try Experiment.prepare(configuration)
        let all = Evaluator.cases(for: prepared.split, phase: .test)
        var options = EvaluationOptions()
        options.userSample = 25
        let sample = Evaluator.sample(all, options: options)
        #expect(sample.count == 25)
        #expect(sample == Evaluator.sample(all, options: options))
        let users = sample.map(\.user)
        #expect(users == users.sorted() && Set(users).count == 25)
        #expect(Set(users).isSubset(of: Set(all.map(\.user))))
        options.seed += 1
        #expect(Evaluator.sample(all, options: options).map(\.user) != users)
        options.userSample = all.count + 5
        #expect(Evaluator.sample(all, options: options) == all)

        configuration.evaluation.userSample = 25
        let record = try Experiment.run(configuration, prepared: prepared).record
        #expect(record.evaluatedUsers == 25)
        #expect(record.sampling == "full, users sampled: 25 of \(all.count) (seed 2020)")
    }
}
