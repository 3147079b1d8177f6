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

extension DataSplit {
    /// Whether `path` is a folder holding a ready split (`NAME.train.inter` and its siblings).
    public static func isSplitFolder(_ path: String) -> Bool {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return files.contains { $0.hasSuffix(".train.inter") }
    }

    /// Reads a split written as atomic files `NAME.train.inter`, `NAME.valid.inter` and
    /// `NAME.test.inter` (by ``write(to:name:)``, by RecBole, or by any other tool), so RecKit
    /// evaluates on exactly that split.
    ///
    /// The log holds the training events first, then validation, then test; ids are numbered in
    /// that order of first appearance.
    ///
    /// - Parameters:
    ///   - directory: The folder of the three files.
    ///   - name: Their common stem; `nil` takes the one stem the folder has.
    ///   - splitProtocol: How the parts are to be evaluated (masking and history).
    /// - Throws: ``DatasetError`` for a missing or malformed file.
    public static func load(
        from directory: URL, name: String? = nil, as splitProtocol: SplitProtocol, options: LoadOptions = LoadOptions()
    ) throws -> (name: String, split: DataSplit) {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        guard let stem = name ?? files.first(where: { $0.hasSuffix(".train.inter") }).map({ String($0.dropLast(12)) })
        else {
            throw DatasetError.unreadable(path: directory.path, reason: "no NAME.train.inter file in this folder")
        }
        var parts: [InteractionLog] = []
        for suffix in ["train", "valid", "test"] {
            let path = directory.appendingPathComponent("\(stem).\(suffix).inter").path
            var report = LoadReport()
            parts.append(try AtomicFileLoader.loadInteractions(path: path, options: options, report: &report))
        }
        var userIDs = IDMap()
        var itemIDs = IDMap()
        var users: [Int32] = []
        var items: [Int32] = []
        var timestamps: [Double]? = parts.allSatisfy { $0.timestamps != nil } ? [] : nil
        var bounds: [Int] = [0]
        for part in parts {
            users += part.users.map { userIDs.insert(part.userIDs[$0]) }
            items += part.items.map { itemIDs.insert(part.itemIDs[$0]) }
            if let times = part.timestamps { timestamps? += times }
            bounds.append(users.count)
        }
        let log = InteractionLog(users: users, items: items, timestamps: timestamps, userIDs: userIDs, itemIDs: itemIDs)
        let split = DataSplit(
            splitProtocol: splitProtocol, seed: 0, log: log, train: Array(bounds[0]..<bounds[1]),
            validation: Array(bounds[1]..<bounds[2]), test: Array(bounds[2]..<bounds[3]))
        return (stem, split)
    }
}
