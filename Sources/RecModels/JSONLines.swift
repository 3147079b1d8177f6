import Foundation
import Tensors

/// Append-only logs of one JSON object per line (epoch logs, tuning trials), with sorted keys so
/// lines diff and resume cleanly.
public enum JSONLines {
    /// Appends `value` as one line to `url`, creating the file first (or emptying it, when
    /// `restart`). `name` says what the file is in error messages ("epoch log").
    public static func append(_ value: some Encodable, to url: URL, restart: Bool = false, name: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(value)
        line.append(0x0A)
        if restart || !FileManager.default.fileExists(atPath: url.path) {
            try? FileManager.default.removeItem(at: url)
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CheckpointError.io(path: url.path, reason: "cannot create the \(name)")
            }
        }
        do {
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
        } catch {
            throw CheckpointError.io(path: url.path, reason: "cannot append to the \(name): \(error)")
        }
    }
}
