import ArgumentParser
import Testing

@testable import RecKitCLI

/// `--protocol ctr` on evaluate and data split: the options it takes and the models it refuses
/// (issue 46).
struct CTRCommandTests {
    @Test func evaluateTakesClickThroughModelsOnlyUnderCTR() throws {
        let command = try RecKitCommand.parseAsRoot([
            "evaluate", "--protocol", "ctr", "--data", "ml-100k", "--model", "din", "--split", "temporal",
        ])
        let evaluate = try #require(command as? EvaluateCommand)
        #expect(try evaluate.ctr.splitKind == .temporal)
        #expect(throws: (any Error).self) {
            try RecKitCommand.parseAsRoot(["evaluate", "--protocol", "ctr", "--data", "ml-100k", "--model", "als"])
        }
        #expect(throws: (any Error).self) {
            try RecKitCommand.parseAsRoot(["evaluate", "--data", "ml-100k", "--model", "fm"])
        }
        #expect(throws: (any Error).self) {
            try RecKitCommand.parseAsRoot([
                "evaluate", "--protocol", "ctr", "--data", "ml-100k", "--model", "fm", "--split", "leave-one-out",
            ])
        }
        let split = try RecKitCommand.parseAsRoot([
            "data", "split", "--protocol", "ctr", "--data", "ml-1m", "--out", "/tmp/x",
        ])
        #expect(try (split as? DataCommand.Split)?.ctr.splitKind == .random)
    }
}
