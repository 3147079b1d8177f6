import Foundation
import RecData

/// Test fixtures with planted answers.
public enum Fixtures {
    /// A block-diagonal log: `groups` groups of `size` users and `size` items. User `j` of a
    /// group has every item of the group except item `j`, which all other users of the group
    /// have. For any collaborative model, the withheld item must come first among the unseen.
    ///
    /// - Returns: The log and, per user index, the withheld item index.
    public static func checkerboard(groups: Int = 4, size: Int = 6) -> (log: InteractionLog, withheld: [Int32]) {
        var pairs: [(user: String, item: String)] = []
        var withheldIDs: [String: String] = [:]
        for g in 0..<groups {
            for j in 0..<size {
                let user = "u\(g)-\(j)"
                for i in 0..<size where i != j { pairs.append((user, "i\(g)-\(i)")) }
                withheldIDs[user] = "i\(g)-\(j)"
            }
        }
        let log = InteractionLog(pairs: pairs)
        let withheld = log.userIDs.externalIDs.map { log.itemIDs.index(of: withheldIDs[$0] ?? "") ?? -1 }
        return (log, withheld)
    }

    /// Every (user, item) pair of ``checkerboard(groups:size:)``, rated 5 inside the user's group
    /// and 1 outside it, one second apart: a click-through ranker must learn the groups.
    public static func ratedCheckerboard(groups: Int = 4, size: Int = 6) -> InteractionLog {
        let (board, _) = checkerboard(groups: groups, size: size)
        var users: [Int32] = []
        var items: [Int32] = []
        var ratings: [Float] = []
        let group = { (id: String) in id.dropFirst().prefix { $0 != "-" } }
        for user in 0..<Int32(board.userCount) {
            for item in 0..<Int32(board.itemCount) {
                users.append(user)
                items.append(item)
                ratings.append(group(board.userIDs[user]) == group(board.itemIDs[item]) ? 5 : 1)
            }
        }
        return InteractionLog(
            users: users, items: items, ratings: ratings, timestamps: users.indices.map { Double($0) },
            userIDs: board.userIDs, itemIDs: board.itemIDs)
    }

    /// A random log of `users × itemsPerUser` events over `items` items with timestamps, seeded.
    public static func randomLog(users: Int, items: Int, eventsPerUser: ClosedRange<Int>, seed: UInt64)
        -> InteractionLog
    {
        var generator = SeededGenerator(seed: seed)
        var pairs: [(user: String, item: String)] = []
        var times: [Double] = []
        for u in 0..<users {
            let n = eventsPerUser.lowerBound + generator.nextInt(below: eventsPerUser.count)
            for _ in 0..<n {
                pairs.append(("u\(u)", "i\(generator.nextInt(below: items))"))
                times.append(Double(generator.nextInt(below: 50)))  // many ties on purpose
            }
        }
        return InteractionLog(pairs: pairs, timestamps: times)
    }
}

extension Fixtures {
    /// Sequences that walk a cycle: user `u` sees items `u mod items`, `u + 1 mod items`, … in
    /// time order, `length` of them. After item `i` the next item is always `i + 1 mod items`,
    /// so a sequence model must put it first.
    ///
    /// - Returns: The log and `next`: for each item index, the index of the item that follows it.
    public static func cycles(users: Int = 48, items: Int = 12, length: Int = 8) -> (
        log: InteractionLog, next: [Int32]
    ) {
        var pairs: [(user: String, item: String)] = []
        var times: [Double] = []
        for u in 0..<users {
            for t in 0..<length {
                pairs.append(("u\(u)", "i\((u + t) % items)"))
                times.append(Double(t))
            }
        }
        let log = InteractionLog(pairs: pairs, timestamps: times)
        let next = (0..<items).map { index in
            let id = log.itemIDs[Int32(index)]
            let number = Int(id.dropFirst()) ?? 0
            return log.itemIDs.index(of: "i\((number + 1) % items)") ?? -1
        }
        return (log, next)
    }

    /// Item features for any log: a genre (`G0`…`G2`, by item index) and a title.
    public static func itemFeatures(for log: InteractionLog) -> FeatureTable {
        FeatureTable(
            keyField: "item_id", keys: log.itemIDs.externalIDs,
            columns: [
                FeatureColumn(
                    name: "genre", type: .tokenSequence,
                    values: .tokenSequence((0..<log.itemCount).map { ["G\($0 % 3)"] })),
                FeatureColumn(
                    name: "title", type: .token, values: .token(log.itemIDs.externalIDs.map { "Title \($0)" })),
            ])
    }
}

/// A fresh temporary folder, removed by the caller (or left for the OS).
public func temporaryDirectory(_ name: String = "reckit-test") -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `text` (or raw `bytes`) to `name` in `directory` and returns the path.
@discardableResult
public func writeFile(_ directory: URL, _ name: String, _ text: String) -> String {
    writeFile(directory, name, bytes: Array(text.utf8))
}

@discardableResult
public func writeFile(_ directory: URL, _ name: String, bytes: [UInt8]) -> String {
    let url = directory.appendingPathComponent(name)
    _ = FileManager.default.createFile(atPath: url.path, contents: Data(bytes))
    return url.path
}

/// Whether every pair of values is within `atol + rtol · |expected|`.
public func allClose<T: BinaryFloatingPoint>(_ actual: [T], _ expected: [T], rtol: T = 1e-5, atol: T = 1e-6) -> Bool {
    guard actual.count == expected.count else { return false }
    return zip(actual, expected).allSatisfy { abs($0 - $1) <= atol + rtol * abs($1) }
}

/// A folder for files a test leaves behind on purpose (screenshots): `$RECKIT_ARTIFACTS`, else
/// `.build/test-artifacts` under the working directory.
public func artifactsDirectory() -> URL {
    let path = ProcessInfo.processInfo.environment["RECKIT_ARTIFACTS"] ?? ".build/test-artifacts"
    let url = URL(fileURLWithPath: path)
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A loopback TCP port that was free a moment ago: the kernel's choice for a socket bound to
/// port 0, released at once. Tests that start servers take theirs here, so that tests running at
/// the same time never pick the same one.
public func freeLoopbackPort() throws -> Int {
    #if canImport(Glibc)
        let handle = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
        let handle = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard handle >= 0 else { throw PortError() }
    defer { close(handle) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
            bind(handle, address, length) == 0 && getsockname(handle, address, &length) == 0
        }
    }
    guard bound else { throw PortError() }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct PortError: Error, CustomStringConvertible {
    var description: String { "could not get a free loopback port" }
}
