import Foundation
import Testing

@testable import RecFlow

/// Assignment of users to an experiment's arms (issue 47): stable, in proportion to the shares,
/// and independent across salts.
struct ExperimentAssignmentTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func experiment(_ shares: [Double], salt: String = "exp-a") throws -> OnlineExperiment {
        try OnlineExperiment(
            name: "test", salt: salt,
            arms: shares.enumerated().map { OnlineExperiment.Arm(name: "arm\($0.offset)", share: $0.element) },
            start: start)
    }

    /// FNV-1a's published test vectors (`"a"`, `"foobar"`).
    @Test func fnv1aMatchesItsTestVectors() {
        #expect(ExperimentHash.fnv1a64("a".utf8) == 0xAF63_DC4C_8601_EC8C)
        #expect(ExperimentHash.fnv1a64("foobar".utf8) == 0x8594_4171_F739_67E8)
        #expect(ExperimentHash.fnv1a64([UInt8]()) == ExperimentHash.fnvOffsetBasis)
    }

    /// The arms and positions below come from this Python, written from the doc comment of
    /// `unitInterval` and not from the Swift code:
    /// ```
    /// M = (1 << 64) - 1
    /// def fnv1a64(data, h=0xCBF29CE484222325):
    ///     for b in data: h = ((h ^ b) * 0x100000001B3) & M
    ///     return h
    /// def mix64(z):
    ///     z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    ///     z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    ///     return z ^ (z >> 31)
    /// def unit(salt, user): return (mix64(fnv1a64(salt.encode() + b"\0" + user.encode())) >> 11) / 2**53
    /// def arm(salt, user, shares):
    ///     u, c = unit(salt, user), 0.0
    ///     for k, s in enumerate(shares):
    ///         c += s
    ///         if u < c: return k
    ///     return len(shares) - 1
    /// users = ["1", "2", "3", "42", "alice", "bob", "user-1000", "Zoë", "用户7", "u:with:colons", ""]
    /// print([arm("exp-a", u, [0.5, 0.5]) for u in users])
    /// print([arm("exp-b", u, [0.5, 0.3, 0.2]) for u in users])
    /// print(["%.17g" % unit("exp-a", u) for u in users[:3]])
    /// ```
    @Test func aFixedListOfUsersMapsToTheArmsAnIndependentPythonComputes() throws {
        let users = ["1", "2", "3", "42", "alice", "bob", "user-1000", "Zoë", "用户7", "u:with:colons", ""]
        let halves = try experiment([0.5, 0.5])
        #expect(users.map { halves.arm(for: $0).name } == [0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1].map { "arm\($0)" })
        let three = try experiment([0.5, 0.3, 0.2], salt: "exp-b")
        #expect(users.map { three.arm(for: $0).name } == [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1].map { "arm\($0)" })
        let positions = users.prefix(3).map { OnlineExperiment.unitInterval(salt: "exp-a", user: $0) }
        #expect(positions == [0.082526880171251316, 0.80562941770771201, 0.38633424922750614])
        // The same answer on every call (no per-process seeding).
        #expect(users.map { halves.arm(for: $0) } == users.map { halves.arm(for: $0) })
    }

    /// Over 100,000 users each arm's count is within 4 binomial standard deviations of
    /// `share · users` (a false alarm has probability about 6e-5 per arm).
    @Test(arguments: [[0.5, 0.5], [0.5, 0.3, 0.2], [0.9, 0.1], [0.01, 0.99]])
    func sharesHoldWithinBinomialBounds(shares: [Double]) throws {
        let experiment = try experiment(shares)
        let users = 100_000
        var counts = [String: Int]()
        for user in 0..<users { counts[experiment.arm(for: "user\(user)").name, default: 0] += 1 }
        for (index, share) in shares.enumerated() {
            let count = counts["arm\(index)", default: 0]
            let expected = share * Double(users)
            let deviation = (Double(users) * share * (1 - share)).squareRoot()
            #expect(abs(Double(count) - expected) <= 4 * deviation, "arm\(index): \(count) users, expected \(expected)")
        }
    }

    /// Two salts' 50/50 assignments of 100,000 users cross as independent coin flips would: the
    /// 2×2 table's chi-square (1 degree of freedom) is below 10.83, its 0.001 critical value.
    @Test func differentSaltsGiveIndependentAssignments() throws {
        let a = try experiment([0.5, 0.5], salt: "salt-a")
        let b = try experiment([0.5, 0.5], salt: "salt-b")
        var table = [[0.0, 0.0], [0.0, 0.0]]
        var agree = 0
        for user in 0..<100_000 {
            let (x, y) = (a.arm(for: "\(user)").name == "arm0" ? 0 : 1, b.arm(for: "\(user)").name == "arm0" ? 0 : 1)
            table[x][y] += 1
            if x == y { agree += 1 }
        }
        let total = table.joined().reduce(0, +)
        var chiSquare = 0.0
        for x in 0..<2 {
            for y in 0..<2 {
                let expected = (table[x][0] + table[x][1]) * (table[0][y] + table[1][y]) / total
                chiSquare += (table[x][y] - expected) * (table[x][y] - expected) / expected
            }
        }
        #expect(chiSquare < 10.83, "chi-square \(chiSquare), table \(table)")
        // Not the same assignment relabelled either: about half agree.
        #expect(abs(Double(agree) - 50_000) < 4 * 158.2)
    }

    @Test func theSaltDefaultsToTheNameAndTheRunningWindowIsHalfOpen() throws {
        let stop = start.addingTimeInterval(3600)
        let experiment = try OnlineExperiment(
            name: "home", arms: [.init(name: "a", share: 0.5), .init(name: "b", share: 0.5)], start: start, stop: stop)
        #expect(experiment.salt == "home")
        #expect(experiment.isRunning(at: start) && experiment.isRunning(at: stop.addingTimeInterval(-1)))
        #expect(!experiment.isRunning(at: stop) && !experiment.isRunning(at: start.addingTimeInterval(-1)))
    }

    /// JSON round-trips, and decoding refuses what the initializer refuses.
    @Test func decodingValidatesAsTheInitializerDoes() throws {
        let original = try experiment([0.5, 0.3, 0.2])
        let data = try JSONEncoder().encode(original)
        let decoded = try JSONDecoder().decode(OnlineExperiment.self, from: data)
        #expect(decoded == original && decoded.arm(for: "alice") == original.arm(for: "alice"))
        let bad = #"{"name":"e","arms":[{"name":"a","share":0.5},{"name":"b","share":0.4}],"start":0}"#
        #expect(throws: OnlineExperimentError.sharesDoNotSumToOne(experiment: "e", sum: 0.9)) {
            try JSONDecoder().decode(OnlineExperiment.self, from: Data(bad.utf8))
        }
    }

    @Test func badDefinitionsAreRefusedWithTheirReason() {
        func refusal(_ arms: [(String, Double)], name: String = "e", stop: Date? = nil) -> OnlineExperimentError? {
            do {
                _ = try OnlineExperiment(
                    name: name, arms: arms.map { .init(name: $0.0, share: $0.1) }, start: start, stop: stop)
                return nil
            } catch {
                return error as? OnlineExperimentError
            }
        }
        #expect(refusal([("a", 0.5), ("b", 0.5)], name: "") == .emptyName)
        #expect(refusal([("a", 1)]) == .tooFewArms(experiment: "e", count: 1))
        #expect(refusal([("a", 0.5), ("", 0.5)]) == .emptyArmName(experiment: "e"))
        #expect(refusal([("a", 0.5), ("a", 0.5)]) == .duplicateArm(experiment: "e", arm: "a"))
        #expect(refusal([("a", 1.5), ("b", -0.5)]) == .invalidShare(experiment: "e", arm: "a", share: 1.5))
        #expect(refusal([("a", 0), ("b", 1)]) == .invalidShare(experiment: "e", arm: "a", share: 0))
        #expect(refusal([("a", .nan), ("b", 1)])?.description.contains("share nan") == true)
        #expect(refusal([("a", 0.5), ("b", 0.4)]) == .sharesDoNotSumToOne(experiment: "e", sum: 0.9))
        #expect(refusal([("a", 0.5), ("b", 0.5)], stop: start) == .stopNotAfterStart(experiment: "e"))
        #expect(
            OnlineExperimentError.sharesDoNotSumToOne(experiment: "e", sum: 0.9).description
                == "experiment e: the arms' shares sum to 0.9, not 1")
        // Thirds sum to 1 only within rounding: accepted, and the last arm takes the remainder.
        #expect(refusal([("a", 1.0 / 3), ("b", 1.0 / 3), ("c", 1.0 / 3)]) == nil)
    }
}
