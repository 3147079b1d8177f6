import ArgumentParser
import Foundation
import RecEval
import RecModels
import RecRetrieval

/// `--rerank MODEL_DIR` of `evaluate` and `compare`: two stages, a retrieval model's top
/// candidates ordered by a saved `ctr` ranker (issue 46).
struct RerankOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Two stages: the model's top --rerank-depth items per user, ordered by the ctr ranker saved in this \
            folder (evaluate --protocol ctr --model fm --save-model DIR), before the metrics. The ranker must not \
            have seen the evaluated events: for --protocol temporal train it with --protocol ctr --split temporal \
            on the same data (the same global time cut: it trains on the temporal training part and stops early \
            on its validation part).
            """, valueName: "MODEL_DIR"))
    var rerank: String?

    @Option(name: .long, help: "With --rerank: candidates taken from the model per user.")
    var rerankDepth: Int = 200

    /// Refuses `--rerank` where it cannot work, before anything is loaded.
    func check(protocol name: String, sampledNegatives: Int? = nil, retrieval: String = "auto") throws {
        guard rerank != nil else {
            if rerankDepth != 200 { throw ValidationError("--rerank-depth needs --rerank MODEL_DIR") }
            return
        }
        guard rerankDepth > 0 else { throw ValidationError("--rerank-depth must be positive") }
        if name == "ctr" {
            throw ValidationError("--rerank orders a ranking protocol's lists; --protocol ctr scores events one by one")
        }
        if sampledNegatives != nil {
            throw ValidationError("--rerank reorders full rankings; drop --sampled-negatives")
        }
        if retrieval == "ann" { throw ValidationError("--rerank scores every item exactly; drop --retrieval ann") }
    }

    /// Loads the ranker into `configuration` (exact retrieval: its top items are the candidates).
    func apply(to configuration: inout ExperimentConfiguration) throws {
        guard let rerank else { return }
        let ranker: CTRRanker
        do {
            ranker = try CTRRanker.load(from: URL(fileURLWithPath: rerank))
        } catch {
            throw ValidationError("--rerank \(rerank): not a saved ctr ranker (\(error))")
        }
        configuration.rerank = EvaluationRerank(ranker, depth: rerankDepth)
        configuration.retrieval = RetrievalOptions(mode: .exact)
    }
}
