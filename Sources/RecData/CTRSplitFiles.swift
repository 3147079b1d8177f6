import Foundation

/// Writes a `ctr` split as CSV files a Python peer (RecBole, FuxiCTR, pandas) reads.
///
/// `train.csv`, `valid.csv` and `test.csv` have a header and one row per event, in the split's
/// order, with the columns ``columns``: `label` (0/1), `user_id` (the data's user id),
/// `item_id` (RecKit's dense item index, `items.csv` maps it to the data's id, so that the
/// behaviour sequences stay short), `gender`, `age`, `occupation`, `zip_prefix`,
/// `release_year`, `genres` and `title_tokens` (tokens joined by `^`, FuxiCTR's sequence
/// separator), `hour` and `weekday` (UTC, 0 = Monday), `history` (the item indices of the user's
/// strictly earlier events, oldest first, at most 50, joined by `^`), `rating` and `timestamp`.
/// Missing values are empty fields; fields with commas or quotes are quoted (RFC 4180).
public enum CTRSplitFiles {
    /// The header of every part file.
    public static let columns = [
        "label", "user_id", "item_id", "gender", "age", "occupation", "zip_prefix", "release_year", "genres",
        "title_tokens", "hour", "weekday", "history", "rating", "timestamp",
    ]

    /// Writes the three parts and `items.csv` (`item_id,item`) into `directory`.
    ///
    /// - Throws: ``DatasetError/invalidOption(_:)`` when a genre contains `^`;
    ///   ``DatasetError/unwritable(path:reason:)`` when a file cannot be written.
    public static func write(_ dataset: CTRDataset, split: CTRSplit, to directory: URL) throws {
        if let genre = dataset.itemFeatures.lazy.flatMap(\.genres).first(where: { $0.contains("^") }) {
            throw DatasetError.invalidOption("the genre '\(genre)' contains ^, the files' list separator")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw DatasetError.unwritable(path: directory.path, reason: error.localizedDescription)
        }
        var items = "item_id,item\n"
        for (index, id) in dataset.log.itemIDs.externalIDs.enumerated() { items += "\(index),\(quoted(id))\n" }
        try write(items, to: directory.appendingPathComponent("items.csv"))
        for (name, events) in [("train", split.train), ("valid", split.validation), ("test", split.test)] {
            var text = columns.joined(separator: ",") + "\n"
            text.reserveCapacity(events.count * 160)
            for event in events { text += row(dataset, event) + "\n" }
            try write(text, to: directory.appendingPathComponent(name + ".csv"))
        }
    }

    static func row(_ dataset: CTRDataset, _ event: Int) -> String {
        let (user, item) = (dataset.log.users[event], dataset.log.items[event])
        let u = dataset.userFeatures[Int(user)]
        let i = dataset.itemFeatures[Int(item)]
        let rating = dataset.log.ratings?[event] ?? 0
        let time = dataset.log.timestamps?[event] ?? 0
        let fields: [String] = [
            dataset.labels[event] > 0 ? "1" : "0", dataset.log.userIDs[user], String(item), u.gender, u.age,
            u.occupation, u.zipPrefix, i.year, i.genres.joined(separator: "^"), i.titleTokens.joined(separator: "^"),
            String(dataset.hour(of: event)), String(dataset.weekday(of: event)),
            dataset.history(of: event).map(String.init).joined(separator: "^"), number(Double(rating)), number(time),
        ]
        return fields.map(quoted).joined(separator: ",")
    }

    /// An integer-valued number without a fraction (`4`, `881250949`), else Swift's shortest form.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// `text` quoted as RFC 4180 asks when it holds a comma, a quote or a line break.
    static func quoted(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func write(_ text: String, to url: URL) throws {
        do { try text.write(to: url, atomically: true, encoding: .utf8) } catch {
            throw DatasetError.unwritable(path: url.path, reason: error.localizedDescription)
        }
    }
}
