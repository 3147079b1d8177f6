import ArgumentParser
import Foundation
import RecData
import RecModels
import RecRetrieval

struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend", abstract: "Recommend items for a user, with titles and the reasons.")

    @Option(name: .long, help: "Model directory.")
    var model: String
    @Option(name: .long, help: "User id (as in the data).")
    var user: String?
    @Option(name: .long, help: "Item ids to use as the history (comma-separated), e.g. for a new user.")
    var items: String?
    @Option(name: [.customShort("k"), .long], help: "How many items.")
    var count: Int = 10
    @Flag(name: .long, help: "Print JSON.")
    var json = false
    @OptionGroup var retrieval: RetrievalOptionGroup

    func validate() throws {
        guard count > 0 && count <= 10_000 else { throw ValidationError("-k must be in 1...10000") }
        guard user != nil || items != nil else { throw ValidationError("give --user or --items") }
    }

    func run() throws {
        try runReporting {
            let directory = URL(fileURLWithPath: model, isDirectory: true)
            let bundle = try ModelBundle.load(from: directory)
            let retriever = try Retriever.prepare(
                bundle: bundle, options: try retrieval.options, directory: directory, log: { printError($0) })
            let userID = user.map { UserID($0) }
            if let userID, bundle.context(forUser: userID) == nil, items == nil {
                throw ModelError.unsuitableData("user '\(userID)' is not in the model; give --items for a new user")
            }
            let history = (items ?? "").split(separator: ",").map { ItemID(String($0)) }
            let list = try bundle.recommendations(user: userID, history: history, count: count, reasons: 3) {
                context, count, seen in
                try retriever.recommend(context, count: count, excluding: seen) { !seen.contains($0) }
            }
            if json {
                print(try jsonText(list))
                return
            }
            if let userID, let context = bundle.context(forUser: userID) {
                let recent = context.history.suffix(5).map { bundle.itemTitles[Int($0)] }
                print("user \(userID): \(context.history.count) items, recently: \(recent.joined(separator: "; "))")
            }
            for (rank, entry) in list.enumerated() {
                print(String(format: "%2d. %@  (%.3f)", rank + 1, entry.title, entry.score))
                let reasons = entry.reasons.map { reason in
                    String(format: "%@ %.3f", reason.title ?? reason.feature ?? "?", reason.weight)
                }
                if !reasons.isEmpty { print("      because: \(reasons.joined(separator: "; "))") }
            }
        }
    }
}

struct SimilarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "similar", abstract: "Items most similar to an item.")

    @Option(name: .long, help: "Model directory.")
    var model: String
    @Option(name: .long, help: "Item id (as in the data) or an exact title.")
    var item: String?
    @Option(
        name: .customLong("field"),
        help:
            "Describe a new item instead, column=text (repeatable), e.g. movie_title=\"Heat (1995)\" (textcnn, hybrid)."
    )
    var fields: [String] = []
    @Option(name: .long, help: "With --field: also print this user's score for the described item.")
    var user: String?
    @Option(name: [.customShort("k"), .long], help: "How many items.")
    var count: Int = 10
    @Flag(name: .long, help: "Print JSON.")
    var json = false
    @OptionGroup var retrieval: RetrievalOptionGroup

    func validate() throws {
        guard count > 0 && count <= 10_000 else { throw ValidationError("-k must be in 1...10000") }
        guard (item == nil) != fields.isEmpty else { throw ValidationError("give --item or --field, not both") }
        _ = try parsedFields()
    }

    func parsedFields() throws -> [String: String] { try keyValues(fields, option: "--field", form: "column=text") }

    func run() throws {
        try runReporting {
            let directory = URL(fileURLWithPath: model, isDirectory: true)
            let bundle = try ModelBundle.load(from: directory)
            guard let item else {
                let described = try parsedFields()
                guard let list = try bundle.similarItems(toFields: described, count: count) else {
                    throw ModelError.unsuitableData(
                        "this model cannot describe new items; train --model textcnn or hybrid")
                }
                let score = try user.flatMap { try bundle.contentScore(fields: described, user: UserID($0)) }
                if json {
                    print(try jsonText(list))
                    return
                }
                if let user, let score { print(String(format: "score for user %@: %.4f", user, score)) }
                print("similar to the described item:")
                for (rank, entry) in list.enumerated() {
                    print(String(format: "%2d. %@  (%.3f)", rank + 1, entry.title, entry.score))
                }
                return
            }
            var id = ItemID(item)
            if bundle.itemIndex(id) == nil, let byTitle = bundle.itemTitles.firstIndex(of: item) {
                id = ItemID(bundle.itemIDs.externalIDs[byTitle])
            }
            let retriever = try Retriever.prepare(
                bundle: bundle, options: try retrieval.options, directory: directory, log: { printError($0) })
            guard
                let list = try bundle.similarItems(
                    to: id, count: count, retrieve: { try retriever.similarItems(to: $0, count: $1) })
            else {
                throw ModelError.unsuitableData("item '\(item)' is not in the model")
            }
            if json {
                print(try jsonText(list))
                return
            }
            print("similar to \(bundle.itemIndex(id).map { bundle.itemTitles[Int($0)] } ?? item):")
            for (rank, entry) in list.enumerated() {
                print(String(format: "%2d. %@  (%.3f)", rank + 1, entry.title, entry.score))
            }
        }
    }
}
