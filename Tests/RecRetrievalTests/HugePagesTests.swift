import Foundation
import Testing

@testable import RecRetrieval

/// The base layer on 2 MiB pages (`madvise(MADV_HUGEPAGE)` on a 2 MiB-aligned copy), before and
/// after the index grows while serving.
struct HugePagesTests {
    /// The `/proc/self/smaps` entry of the mapping that holds `address`: its `VmFlags` and
    /// `AnonHugePages` (KiB), or `nil` where there is no such file.
    static func mapping(holding address: UInt) -> (flags: [String], hugeKiB: Int)? {
        // /proc files report a size of 0: read to the end rather than by the size.
        guard let data = FileHandle(forReadingAtPath: "/proc/self/smaps")?.readDataToEndOfFile() else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        var inside = false
        var huge = 0
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inside, fields.first == "AnonHugePages:", fields.count > 1 {
                huge = Int(fields[1]) ?? 0
            } else if inside, fields.first == "VmFlags:" {
                return (fields.dropFirst().map(String.init), huge)
            }
        }
        return nil
    }

    static var kernelHonoursAdvice: Bool {
        let file = FileHandle(forReadingAtPath: "/sys/kernel/mm/transparent_hugepage/enabled")
        let setting = String(decoding: file?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        return setting.contains("[madvise]") || setting.contains("[always]")
    }

    @Test func theBaseLayerKeepsItsHugePagesAfterTheIndexGrows() throws {
        // 108 bytes a point (M 4: 36 bytes of links, 16 floats, a label): 20,000 points are
        // 2.1 MiB, the least the shim moves.
        let graph = try HNSWGraph(
            metric: .innerProduct, dimension: 16, capacity: 20_000, m: 4, efConstruction: 10, seed: 1)
        var generator = SystemRandomNumberGenerator()
        func add(_ count: Int, from first: Int) throws {
            let vectors = (0..<(count * 16)).map { _ in Float.random(in: -1...1, using: &generator) }
            try vectors.withUnsafeBufferPointer { try graph.add($0, firstLabel: first, threads: 2) }
        }
        try add(20_000, from: 0)
        let before = graph.baseLayer
        #expect(before.address % (2 << 20) == 0)
        // 40,000 more: the base layer triples, past the slack of its aligned allocation (4 MiB
        // plus the 2 MiB of alignment), so hnswlib's `realloc` moves it. Before the fix it then
        // lay at a 16-byte offset in a mapping without the advice (AnonHugePages 0 kB).
        try add(40_000, from: 20_000)
        let after = graph.baseLayer
        #expect(after.bytes == 3 * before.bytes)
        #expect(after.address != before.address)
        #expect(after.address % (2 << 20) == 0, "the grown base layer is at \(after.address)")
        // Without transparent huge pages only the alignment above can be checked.
        guard Self.kernelHonoursAdvice else { return }
        let mapping = try #require(Self.mapping(holding: after.address), "no /proc/self/smaps entry")
        // `hg`: the mapping carries MADV_HUGEPAGE.
        #expect(mapping.flags.contains("hg"), "VmFlags \(mapping.flags), AnonHugePages \(mapping.hugeKiB) kB")
    }
}
