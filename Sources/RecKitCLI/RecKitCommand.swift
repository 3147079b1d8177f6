import ArgumentParser

/// The `reckit` command-line tool: data, training, evaluation and recommendations.
public struct RecKitCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "reckit",
        abstract: "RecKit: train, evaluate and serve recommender systems.",
        discussion: """
            Data sets are named (ml-100k, ml-1m; fetch them first with `reckit data fetch`) or given as \
            a path: a folder of RecBole atomic files or MovieLens originals, or a CSV/TSV file.
            """,
        version: "0.1.0",
        subcommands: [
            DataCommand.self, TrainCommand.self, EvaluateCommand.self, RecommendCommand.self, SimilarCommand.self,
            QuickstartCommand.self, BenchCommand.self, ServeCommand.self, DatabaseCommand.self, CompareCommand.self,
            TuneCommand.self, FeaturesCommand.self, TrainerCommand.self, ConfigCommand.self, ExperimentCommand.self,
        ]
    )

    public init() {}
}
