import Foundation

extension DataSplit {
    /// Writes the split as RecBole atomic files `NAME.train.inter`, `NAME.valid.inter` and
    /// `NAME.test.inter` in `directory` (RecBole's `benchmark_filename` layout), so any other
    /// tool can evaluate on exactly this split.
    ///
    /// - Throws: ``DatasetError/invalidOption(_:)`` if an identifier holds a tab or line break,
    ///   which the format cannot carry.
    public func write(to directory: URL, name: String) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw DatasetError.unreadable(path: directory.path, reason: "cannot create: \(error.localizedDescription)")
        }
        for id in log.userIDs.externalIDs + log.itemIDs.externalIDs
        where id.contains(where: { $0 == "\t" || $0.isNewline }) {
            throw DatasetError.invalidOption("identifier '\(id.prefix(40))' holds a tab or line break")
        }
        var header = ["user_id:token", "item_id:token"]
        if log.ratings != nil { header.append("rating:float") }
        if log.timestamps != nil { header.append("timestamp:float") }
        for (suffix, events) in [("train", train), ("valid", validation), ("test", test)] {
            var text = header.joined(separator: "\t") + "\n"
            for index in events {
                var fields = [log.userIDs[log.users[index]], log.itemIDs[log.items[index]]]
                if let ratings = log.ratings { fields.append(format(Double(ratings[index]))) }
                if let timestamps = log.timestamps { fields.append(format(timestamps[index])) }
                text += fields.joined(separator: "\t") + "\n"
            }
            let url = directory.appendingPathComponent("\(name).\(suffix).inter")
            do { try text.write(to: url, atomically: true, encoding: .utf8) } catch {
                throw DatasetError.unreadable(path: url.path, reason: "cannot write: \(error.localizedDescription)")
            }
        }
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
