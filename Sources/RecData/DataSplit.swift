/// The evaluation protocols of `docs/protocols.md`.
public enum SplitProtocol: String, Sendable, Codable, CaseIterable {
    /// Next-item prediction: per user, last event → test, second to last → validation.
    case sequentialLeaveOneOut = "seq-loo"
    /// Top-N recommendation: per user, a seeded shuffle cut 80 / 10 / 10 (RecBole's `RO` split).
    case generalRandom = "gen-rs"
    /// A global cut by time: the oldest 80% trains, the next 10% validates, the newest 10% tests.
    case temporal
    /// New users: 10% of the users with more than 5 events (seeded) are held out of training; their
    /// first 5 events (in time) are the visible history (the validation part), the rest the test.
    case coldUser = "cold-user"
    case coldItem = "cold-item"
    /// Next-basket prediction: per user, the last basket → test, the one before → validation,
    /// earlier baskets → training; users with fewer than 3 baskets train only.
    case nextBasket = "next-basket"
}

/// A split of an interaction log into training, validation and test events.
///
/// Partitions hold event indices into ``log``; each user's events within a partition are in
/// chronological order (stable on equal timestamps) for `seq-loo` and `temporal`, and in the
/// seeded shuffle's order for `gen-rs`.
public struct DataSplit: Sendable, Equatable {
    public let splitProtocol: SplitProtocol
    public let seed: UInt64
    public let log: InteractionLog
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]

    public init(
        splitProtocol: SplitProtocol, seed: UInt64, log: InteractionLog, train: [Int], validation: [Int], test: [Int]
    ) {
        self.splitProtocol = splitProtocol
        self.seed = seed
        self.log = log
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// `next-basket`'s parts: per user, the last basket tests, the one before validates, the
    /// earlier ones train; a user with fewer than 3 baskets trains only.
    static func nextBasketParts(_ log: InteractionLog) -> (train: [Int], validation: [Int], test: [Int]) {
        var (train, validation, test): ([Int], [Int], [Int]) = ([], [], [])
        for baskets in log.basketsByUser() {
            if baskets.count < 3 {
                train += baskets.joined()
            } else {
                train += baskets.dropLast(2).joined()
                validation += baskets[baskets.count - 2]
                test += baskets[baskets.count - 1]
            }
        }
        return (train, validation, test)
    }

    /// Splits `log` by `splitProtocol`.
    ///
    /// - Parameters:
    ///   - seed: Seeds the shuffle of `gen-rs` (the other protocols are deterministic).
    ///   - validationFraction, testFraction: Shares of `gen-rs` and `temporal` (default 0.1 each).
    public static func make(
        _ splitProtocol: SplitProtocol, log: InteractionLog, seed: UInt64 = 2020,
        validationFraction: Double = 0.1, testFraction: Double = 0.1
    ) throws -> DataSplit {
        guard validationFraction >= 0, testFraction >= 0, validationFraction + testFraction < 1 else {
            throw DatasetError.invalidOption("validation and test fractions must be ≥ 0 and sum below 1")
        }
        guard log.count > 0 else { throw DatasetError.noInteractions("cannot split an empty log") }
        var train: [Int] = []
        var validation: [Int] = []
        var test: [Int] = []
        switch splitProtocol {
        case .nextBasket:
            (train, validation, test) = nextBasketParts(log)
        case .sequentialLeaveOneOut:
            for events in log.chronologicalEventsByUser() {
                if events.count < 3 {
                    train += events
                } else {
                    train += events.dropLast(2)
                    validation.append(events[events.count - 2])
                    test.append(events[events.count - 1])
                }
            }
        case .generalRandom:
            var generator = SeededGenerator(seed: seed)
            for var events in log.eventsByUser() {
                generator.shuffle(&events)
                let (trainCount, validCount, _) = ratioCounts(
                    events.count, validation: validationFraction, test: testFraction)
                train += events[0..<trainCount]
                validation += events[trainCount..<(trainCount + validCount)]
                test += events[(trainCount + validCount)...]
            }
        case .coldUser:
            let visible = 5
            let groups = log.chronologicalEventsByUser()
            var eligible = groups.indices.filter { groups[$0].count > visible }
            var generator = SeededGenerator(seed: seed)
            generator.shuffle(&eligible)
            let heldOut = Set(eligible.prefix(Int((Double(log.userCount) * testFraction).rounded())))
            for (user, events) in groups.enumerated() {
                if heldOut.contains(user) {
                    validation += events.prefix(visible)
                    test += events.dropFirst(visible)
                } else {
                    train += events
                }
            }
        case .coldItem:
            (train, validation, test) = coldItemParts(
                log, seed: seed, validationFraction: validationFraction, testFraction: testFraction)
        case .temporal:
            (train, validation, test) = temporalParts(
                log, validationFraction: validationFraction, testFraction: testFraction)
        }
        return DataSplit(
            splitProtocol: splitProtocol, seed: seed, log: log, train: train, validation: validation, test: test)
    }

    /// `cold-item`: `testFraction` of the items (seeded) are new; every event on them is a test event.
    /// The other items' events are split per user into training and validation as gen-rs does
    /// (without a test part: the test is the new items).
    private static func coldItemParts(
        _ log: InteractionLog, seed: UInt64, validationFraction: Double, testFraction: Double
    ) -> (train: [Int], validation: [Int], test: [Int]) {
        var (train, validation, test): ([Int], [Int], [Int]) = ([], [], [])
        var generator = SeededGenerator(seed: seed)
        var items = Array(0..<Int32(log.itemCount))
        generator.shuffle(&items)
        let newCount = max(1, Int((Double(log.itemCount) * testFraction).rounded()))
        var isNew = [Bool](repeating: false, count: log.itemCount)
        for item in items.prefix(newCount) { isNew[Int(item)] = true }
        for var events in log.eventsByUser() {
            test += events.filter { isNew[Int(log.items[$0])] }
            events.removeAll { isNew[Int(log.items[$0])] }
            generator.shuffle(&events)
            let (trainCount, validCount, _) = ratioCounts(events.count, validation: validationFraction, test: 0)
            train += events[0..<trainCount]
            validation += events[trainCount..<(trainCount + validCount)]
        }
        return (train, validation, test)
    }

    /// `temporal`: the oldest events train, the next `validationFraction` validate and the newest
    /// `testFraction` test (ties in time by event index); each user's events in time order.
    private static func temporalParts(
        _ log: InteractionLog, validationFraction: Double, testFraction: Double
    ) -> (train: [Int], validation: [Int], test: [Int]) {
        var (train, validation, test): ([Int], [Int], [Int]) = ([], [], [])
        var order = Array(0..<log.count)
        if let t = log.timestamps { order.sort { (t[$0], $0) < (t[$1], $1) } }
        let testCount = Int(Double(log.count) * testFraction)
        let validCount = Int(Double(log.count) * validationFraction)
        let trainCount = log.count - testCount - validCount
        let chronological = log.chronologicalEventsByUser()
        var part = [UInt8](repeating: 0, count: log.count)
        for (position, index) in order.enumerated() {
            part[index] = position < trainCount ? 0 : position < trainCount + validCount ? 1 : 2
        }
        for events in chronological {
            for index in events {
                switch part[index] {
                case 0: train.append(index)
                case 1: validation.append(index)
                default: test.append(index)
                }
            }
        }
        return (train, validation, test)
    }

    /// RecBole's ratio split of `n` events (`_calcu_split_ids`): validation and test get
    /// `floor(share · n)`; a share with `0 < share · n < 1` gets one event while training still
    /// has at least two.
    static func ratioCounts(_ n: Int, validation: Double, test: Double) -> (train: Int, validation: Int, test: Int) {
        var counts = [0, Int(validation * Double(n)), Int(test * Double(n))]
        counts[0] = n - counts[1] - counts[2]
        for (position, share) in [(2, test), (1, validation)] {
            if counts[0] <= 1 { break }
            let exact = share * Double(n)
            if exact > 0 && exact < 1 {
                counts[position] += 1
                counts[0] -= 1
            }
        }
        return (counts[0], counts[1], counts[2])
    }

    /// The training events as a log with the same id maps.
    public func trainingLog() -> InteractionLog { log.subset(train) }
}
