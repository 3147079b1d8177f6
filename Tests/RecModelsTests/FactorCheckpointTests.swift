import Foundation
import RecData
import Tensors
import Testing
import _RecTestSupport

@testable import RecModels

/// ALS and BPR resume a long run from the checkpoint of its last finished epoch.
struct FactorCheckpointTests {
    /// A run interrupted after `epoch` epochs: the checkpoint the unbroken run wrote then.
    static func interruptedRun(
        _ kind: ModelKind, parameters: [String: String], data: TrainingData, after epoch: Int, folder: URL
    ) throws -> (whole: any Recommender, interrupted: URL) {
        let (checkpoint, interrupted) = (
            folder.appendingPathComponent("a.ckpt"), folder.appendingPathComponent("b.ckpt")
        )
        var unbroken = data
        unbroken.control = TrainingControl(checkpoint: checkpoint)
        var whole = try kind.make(parameters: parameters)
        try whole.fit(unbroken) { _, done, _ in
            if done == epoch { try? FileManager.default.copyItem(at: checkpoint, to: interrupted) }
        }
        return (whole, interrupted)
    }

    @Test func aResumedALSRunMatchesAnUnbrokenOne() throws {
        let data = TrainingData(log: Fixtures.randomLog(users: 40, items: 30, eventsPerUser: 3...12, seed: 3))
        let parameters = ["factors": "8", "iterations": "5"]
        let (whole, interrupted) = try Self.interruptedRun(
            .als, parameters: parameters, data: data, after: 2, folder: temporaryDirectory("als-resume"))
        var broken = data
        broken.control = TrainingControl(checkpoint: interrupted)
        var resumed = try ModelKind.als.make(parameters: parameters)
        let steps = StepLog()
        try resumed.fit(broken) { _, done, _ in steps.append(done) }
        // Only the three epochs left ran, and they ended where the unbroken run ended.
        #expect(steps.values == [3, 4, 5])
        #expect(try resumed.weights() == whole.weights())
        // From scratch, the same three epochs would not get there.
        var short = try ModelKind.als.make(parameters: ["factors": "8", "iterations": "3"])
        try short.fit(data, progress: nil)
        #expect(try short.weights() != whole.weights())
    }

    @Test func bprResumesAfterTheLastFinishedEpochAndRefusesAnotherRunsCheckpoint() throws {
        let data = TrainingData(log: Fixtures.randomLog(users: 40, items: 30, eventsPerUser: 3...12, seed: 4))
        let parameters = ["factors": "8", "iterations": "6"]
        let folder = temporaryDirectory("bpr-resume")
        let (_, interrupted) = try Self.interruptedRun(
            .bpr, parameters: parameters, data: data, after: 4, folder: folder)
        var broken = data
        broken.control = TrainingControl(checkpoint: interrupted)
        var resumed = try ModelKind.bpr.make(parameters: parameters)
        let steps = StepLog()
        try resumed.fit(broken) { _, done, _ in steps.append(done) }
        #expect(steps.values == [5, 6])
        // Other parameters, another model or other data: refused before any training.
        for (kind, other, otherData) in [
            (ModelKind.bpr, ["factors": "8", "iterations": "6", "learning_rate": "0.05"], data),
            (.bpr, ["factors": "4", "iterations": "6"], data),
            (.als, ["factors": "8", "iterations": "6"], data),
            (
                .bpr, parameters,
                TrainingData(log: Fixtures.randomLog(users: 41, items: 30, eventsPerUser: 3...12, seed: 4))
            ),
        ] {
            var model = try kind.make(parameters: other)
            var refused = otherData
            refused.control = TrainingControl(checkpoint: interrupted)
            #expect(throws: CheckpointError.self) { try model.fit(refused, progress: nil) }
            #expect(model.itemCount == 0)
        }
        // The resumed run kept the checkpoint going (it holds epoch 6 now); a run asking for more
        // epochs continues from there.
        var longer = try ModelKind.bpr.make(parameters: ["factors": "8", "iterations": "8"])
        let more = StepLog()
        try longer.fit(broken) { _, done, _ in more.append(done) }
        #expect(more.values == [7, 8])
    }
}

/// Progress steps seen by a fit, in order.
final class StepLog: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [Int] = []
    func append(_ value: Int) {
        lock.lock()
        seen.append(value)
        lock.unlock()
    }
    var values: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }
}
