import Foundation

/// An online A/B experiment (issue 47): named arms with traffic shares, a salt, and the time it
/// runs. Every replica assigns a user to the same arm for the experiment's life, because the
/// assignment is a pure function of the salt and the user id (``arm(for:)``).
///
/// The arms' shares must sum to 1; the shares may differ (a 90/10 ramp). Changing the salt
/// re-draws every assignment independently of the old one, so a new experiment over the same users
/// should get a new salt (the default salt is the experiment's name).
public struct OnlineExperiment: Sendable, Equatable, Codable {
    /// One arm: a name (a model, a flow or a variant of one) and its share of the traffic.
    public struct Arm: Sendable, Equatable, Codable {
        public var name: String
        /// Fraction of users in `(0, 1]`.
        public var share: Double

        public init(name: String, share: Double) {
            self.name = name
            self.share = share
        }
    }

    public let name: String
    public let salt: String
    public let arms: [Arm]
    /// When the experiment starts assigning users, and when it stops (`nil`: open-ended).
    public let start: Date
    public let stop: Date?
    /// The arms' cumulative shares, the last forced to 1; `bounds[k]` is where arm `k` ends.
    private let bounds: [Double]

    /// Shares may differ from 1 by at most this much in sum (rounding in a configuration file).
    public static let shareTolerance = 1e-9

    /// A validated experiment.
    ///
    /// - Parameters:
    ///   - salt: Mixed into the hash before the user id; `nil` takes `name`.
    ///   - arms: At least two, with distinct non-empty names and finite shares in `(0, 1]`
    ///     summing to 1 (within ``shareTolerance``).
    ///   - stop: After `start` when given.
    /// - Throws: ``OnlineExperimentError`` naming the first problem found.
    public init(name: String, salt: String? = nil, arms: [Arm], start: Date, stop: Date? = nil) throws {
        guard !name.isEmpty else { throw OnlineExperimentError.emptyName }
        guard arms.count >= 2 else { throw OnlineExperimentError.tooFewArms(experiment: name, count: arms.count) }
        var seen = Set<String>()
        for arm in arms {
            guard !arm.name.isEmpty else { throw OnlineExperimentError.emptyArmName(experiment: name) }
            guard seen.insert(arm.name).inserted else {
                throw OnlineExperimentError.duplicateArm(experiment: name, arm: arm.name)
            }
            guard arm.share.isFinite, arm.share > 0, arm.share <= 1 else {
                throw OnlineExperimentError.invalidShare(experiment: name, arm: arm.name, share: arm.share)
            }
        }
        let total = arms.reduce(0) { $0 + $1.share }
        guard abs(total - 1) <= Self.shareTolerance else {
            throw OnlineExperimentError.sharesDoNotSumToOne(experiment: name, sum: total)
        }
        if let stop, stop <= start { throw OnlineExperimentError.stopNotAfterStart(experiment: name) }
        self.name = name
        self.salt = salt ?? name
        self.arms = arms
        self.start = start
        self.stop = stop
        var running = 0.0
        var bounds = arms.map { arm -> Double in
            running += arm.share
            return running
        }
        bounds[bounds.count - 1] = 1
        self.bounds = bounds
    }

    enum CodingKeys: String, CodingKey { case name, salt, arms, start, stop }

    /// Decoding validates as ``init(name:salt:arms:start:stop:)`` does.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            name: try container.decode(String.self, forKey: .name),
            salt: try container.decodeIfPresent(String.self, forKey: .salt),
            arms: try container.decode([Arm].self, forKey: .arms),
            start: try container.decode(Date.self, forKey: .start),
            stop: try container.decodeIfPresent(Date.self, forKey: .stop))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(salt, forKey: .salt)
        try container.encode(arms, forKey: .arms)
        try container.encode(start, forKey: .start)
        try container.encodeIfPresent(stop, forKey: .stop)
    }

    /// Whether the experiment assigns users at `date`: from `start` (included) to `stop` (excluded).
    public func isRunning(at date: Date) -> Bool { date >= start && stop.map { date < $0 } ?? true }

    /// The arm `user` sees: the first arm whose cumulative share exceeds
    /// ``unitInterval(salt:user:)``. The same for every call, process and replica.
    ///
    /// - Complexity: O(length of `salt` and `user` + arms).
    public func arm(for user: String) -> Arm {
        let u = Self.unitInterval(salt: salt, user: user)
        let index = bounds.firstIndex { u < $0 } ?? (arms.count - 1)
        return arms[index]
    }

    /// A user's position in `[0, 1)`: the top 53 bits of
    /// `mix64(fnv1a64(utf8(salt) + [0x00] + utf8(user)))` over `2^53`.
    ///
    /// FNV-1a (64-bit offset basis `0xcbf29ce484222325`, prime `0x100000001b3`) is stable across
    /// processes and machines, unlike Swift's per-process seeded `hashValue`; SplitMix64's
    /// finalizer (Steele, Lea & Flood 2014) then mixes every input bit into the high bits, which
    /// FNV-1a alone leaves correlated for ids that differ in their last characters. The NUL byte
    /// keeps salt `"ab"` with user `"c"` apart from salt `"a"` with user `"bc"`.
    public static func unitInterval(salt: String, user: String) -> Double {
        var hash = ExperimentHash.fnv1a64(salt.utf8)
        hash = ExperimentHash.fnv1a64(CollectionOfOne(0), continuing: hash)
        hash = ExperimentHash.fnv1a64(user.utf8, continuing: hash)
        return Double(ExperimentHash.mix64(hash) >> 11) * 0x1p-53
    }
}

/// The stable 64-bit hashes behind ``OnlineExperiment/arm(for:)``.
public enum ExperimentHash {
    public static let fnvOffsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    public static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// FNV-1a over `bytes`, starting from `hash` (the offset basis for a fresh hash).
    public static func fnv1a64<Bytes: Sequence>(_ bytes: Bytes, continuing hash: UInt64 = fnvOffsetBasis) -> UInt64
    where Bytes.Element == UInt8 {
        var h = hash
        for byte in bytes { h = (h ^ UInt64(byte)) &* fnvPrime }
        return h
    }

    /// SplitMix64's output function (Stafford's "Mix13" constants), a bijection of `UInt64`.
    public static func mix64(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Why an experiment's definition was refused.
public enum OnlineExperimentError: Error, Equatable, CustomStringConvertible {
    case emptyName
    case tooFewArms(experiment: String, count: Int)
    case emptyArmName(experiment: String)
    case duplicateArm(experiment: String, arm: String)
    case invalidShare(experiment: String, arm: String, share: Double)
    case sharesDoNotSumToOne(experiment: String, sum: Double)
    case stopNotAfterStart(experiment: String)

    public var description: String {
        switch self {
        case .emptyName: "experiment: the name is empty"
        case .tooFewArms(let experiment, let count):
            "experiment \(experiment): \(count) arm\(count == 1 ? "" : "s"); an experiment needs at least 2"
        case .emptyArmName(let experiment): "experiment \(experiment): an arm has an empty name"
        case .duplicateArm(let experiment, let arm): "experiment \(experiment): arm \(arm) is named twice"
        case .invalidShare(let experiment, let arm, let share):
            "experiment \(experiment): arm \(arm) has share \(share); a share must be in (0, 1]"
        case .sharesDoNotSumToOne(let experiment, let sum):
            "experiment \(experiment): the arms' shares sum to \(sum), not 1"
        case .stopNotAfterStart(let experiment): "experiment \(experiment): stop is not after start"
        }
    }
}
