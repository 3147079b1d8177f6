import Foundation

/// The check a model makes before allocating a block whose size grows faster than the data
/// (EASE's items × items matrices, PureSVD's item Gram matrix): when it would not fit, training
/// stops with ``ModelError/insufficientMemory(model:neededBytes:availableBytes:what:alternatives:)``
/// instead of being killed for memory.
public enum MemoryGuard {
    /// What models that do not need a dense items × items matrix are called, for the error.
    static let sparseAlternatives =
        "these fit in memory that grows with the events and items: als, bpr, itemknn, userknn, pop, "
        + "and the sequence models"

    /// The bytes a training run may use: `limit`, else the machine's available memory
    /// (`MemAvailable` in /proc/meminfo), else its physical memory.
    public static func availableBytes(limit: Int?) -> Int {
        if let limit { return limit }
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
            let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        {
            return kib * 1_024
        }
        return Int(clamping: ProcessInfo.processInfo.physicalMemory)
    }

    /// Throws when `bytes` exceed what ``availableBytes(limit:)`` allows.
    static func check(
        _ bytes: Int, model: String, what: String, control: TrainingControl, alternatives: String = sparseAlternatives
    ) throws {
        let available = availableBytes(limit: control.memoryLimit)
        guard bytes <= available else {
            throw ModelError.insufficientMemory(
                model: model, neededBytes: bytes, availableBytes: available, what: what, alternatives: alternatives)
        }
    }

    /// `rows × columns × scalarBytes`, saturating instead of overflowing.
    static func matrixBytes(_ rows: Int, _ columns: Int, scalarBytes: Int) -> Int {
        let (cells, overflow) = rows.multipliedReportingOverflow(by: columns)
        let (bytes, overflow2) = cells.multipliedReportingOverflow(by: scalarBytes)
        return overflow || overflow2 ? Int.max : bytes
    }

    /// `12.3 GiB`, or `512.0 MiB` below a gibibyte.
    public static func gibibytes(_ bytes: Int) -> String {
        let value = Double(bytes)
        return value >= 1_073_741_824
            ? String(format: "%.1f GiB", value / 1_073_741_824) : String(format: "%.1f MiB", value / 1_048_576)
    }

    /// Parses a size: a number of bytes, or with `K`, `M`, `G`, `T` (`KiB`, `MiB`, `GiB`, `TiB`
    /// alike; powers of 1,024), e.g. `8G`, `512MiB`, `2.5GiB`. `nil` when it is not one.
    public static func parseBytes(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Double)] = [
            ("TIB", 0x1p40), ("GIB", 0x1p30), ("MIB", 0x1p20), ("KIB", 0x1p10), ("TB", 0x1p40), ("GB", 0x1p30),
            ("MB", 0x1p20), ("KB", 0x1p10), ("T", 0x1p40), ("G", 0x1p30), ("M", 0x1p20), ("K", 0x1p10), ("B", 1),
        ]
        var (number, scale) = (Substring(trimmed), 1.0)
        if let (suffix, factor) = units.first(where: { trimmed.hasSuffix($0.0) }) {
            (number, scale) = (trimmed.dropLast(suffix.count), factor)
        }
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value > 0, value.isFinite else {
            return nil
        }
        let bytes = value * scale
        return bytes < 0x1p62 ? Int(bytes) : nil
    }
}
