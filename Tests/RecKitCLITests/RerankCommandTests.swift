import ArgumentParser
import Foundation
import Testing
import _RecTestSupport

@testable import RecKitCLI

/// `--rerank MODEL_DIR` on evaluate and compare: where it is refused, and the folder it needs
/// (issue 46).
struct RerankCommandTests {
    static func message(_ arguments: [String]) -> String {
        do {
            var command = try RecKitCommand.parseAsRoot(arguments)
            try command.run()
            return ""
        } catch {
            return RecKitCommand.message(for: error)
        }
    }

    @Test func misuseIsRefusedWithTheReason() throws {
        let evaluate = ["evaluate", "--data", "ml-100k", "--model", "als", "--protocol", "temporal"]
        let parsed = try RecKitCommand.parseAsRoot(evaluate + ["--rerank", "/tmp/r"])
        #expect((parsed as? EvaluateCommand)?.rerank.rerankDepth == 200)
        #expect(
            Self.message(evaluate + ["--rerank", "/tmp/r", "--sampled-negatives", "100"]).contains("full rankings"))
        #expect(Self.message(evaluate + ["--rerank", "/tmp/r", "--retrieval", "ann"]).contains("--retrieval ann"))
        #expect(Self.message(evaluate + ["--rerank", "/tmp/r", "--rerank-depth", "0"]).contains("positive"))
        #expect(Self.message(evaluate + ["--rerank-depth", "50"]).contains("needs --rerank"))
        #expect(
            Self.message(["evaluate", "--data", "ml-100k", "--model", "fm", "--protocol", "ctr", "--rerank", "/tmp/r"])
                .contains("--protocol ctr scores events one by one"))
        #expect(
            Self.message(["compare", "--data", "ml-100k", "--models", "pop", "--protocol", "ctr", "--rerank", "/tmp/r"])
                .contains("--protocol ctr"))
        // A folder without ranker.json (a retrieval model's, or none) is named with the reason.
        let folder = temporaryDirectory("rerank-none")
        let message = Self.message(evaluate + ["--rerank", folder.path])
        #expect(message.contains("not a saved ctr ranker") && message.contains("ranker.json"), "\(message)")
    }
}
