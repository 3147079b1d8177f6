import Foundation

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Shows progress of long steps on standard error: a bar with rate and ETA on a terminal,
/// a plain line every 10% otherwise (logs, CI).
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal = isatty(2) != 0
    private var step = ""
    private var started = Date()
    private var lastDecile = -1
    private var lastDraw = Date.distantPast

    func update(_ step: String, _ done: Int, _ total: Int) {
        lock.lock()
        defer { lock.unlock() }
        if step != self.step {
            self.step = step
            started = Date()
            lastDecile = -1
        }
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        if isTerminal {
            guard done == total || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = Date()
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
            var line = String(
                format: "\r%@ [%@] %3.0f%% %d/%d %.0f/s ETA %.0fs", step, bar, fraction * 100, done, total, rate, eta)
            if done == total { line += "\n" }
            FileHandle.standardError.write(Data(line.utf8))
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile else { return }
            lastDecile = decile
            let remaining = done < total && done > 0 ? String(format: ", ETA %.0f s", eta) : ""
            printError(
                String(format: "%@: %d/%d (%.0f%%, %.1f s%@)", step, done, total, fraction * 100, elapsed, remaining))
        }
    }

    var handler: @Sendable (String, Int, Int) -> Void { { [self] in self.update($0, $1, $2) } }
}

/// Formats rows as an aligned text table.
func formatTable(header: [String], rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows {
        for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, cell in
            i == 0
                ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[i] - cell.count) + cell
        }.joined(separator: "  ")
    }
    return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + rows.map(line))
        .joined(separator: "\n")
}

/// JSON text of an encodable value, pretty and with sorted keys.
func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
