import Foundation

/// A seeded generator of interaction logs with the shape of real ones, for scale tests and for
/// tests that plant structure. Accuracy claims stay on real data.
///
/// The model:
/// - **Items** have Zipf popularity: the item of popularity rank `r` (0-based; item `r + 1`) has
///   weight `1 / (r + 10)^exponent` [1.0]. Each belongs to one of `topics` topics, drawn
///   uniformly, and inside a topic the items form a chain in rank order.
/// - **Users** have lognormal activity (`σ` [1.0]): user `u` gets `1 + ⌊(E − U) aᵤ / Σa⌋` events
///   (the remainder one each to the first users), so the log has exactly `E` events. Each has one
///   to three favourite topics, drawn through a popular item's topic.
/// - **A user's history** starts in a favourite topic. After each event the next one continues
///   the chain (the next item of the topic) with probability `chain` [0.3]; otherwise it stays in
///   the topic with probability `stay` [0.8], else moves to a favourite topic (9 times in 10) or
///   any topic. An item is drawn from its topic in proportion to popularity. Items can repeat.
/// - **Niches** (`niche` [0], a long-tail shop): above 0, topics hold items in popularity order
///   (topic `t` the `t`-th block of ranks, so most topics hold only tail items), and each
///   favourite topic is drawn uniformly over topics with probability `niche` (a niche with its
///   own audience) instead of through a popular item's topic. At 0 the log is as before.
/// - **Repeats** (`repeatRate` [0], a shop where people buy again): above 0, each user draws a
///   personal set of `repeatSetSize` [10] items from their favourite topics, and each event
///   re-buys one of them (uniformly) with probability `repeatRate` before the steps above.
/// - **Baskets** (`basketSize` [1]): above 1, events come in orders of mean size `basketSize`
///   (each event starts a new order with probability `1 / basketSize`); an order's events share
///   one timestamp, so one user's events with one timestamp form a basket.
/// - **Timestamps** start at a random second of 2021 per user and grow by exponential gaps
///   (mean an hour; between orders with baskets); **ratings** are 1–5 (5%, 10%, 25%, 35%, 25%).
///   With `repeatRate` 0 and `basketSize` 1 the log is as before these options.
/// - **Item text**: a title of two words of the topic's vocabulary and one shared word, and two
///   genre tokens that the topic determines, so content models have signal.
///
/// Written as RecBole atomic files `NAME.inter` and `NAME.item`, streaming through a small
/// buffer: memory is `O(users + items)` whatever the number of events. Each file is written under
/// a temporary name and renamed when complete.
public struct SyntheticLog: Sendable, Equatable {
    public var users: Int
    public var items: Int
    public var events: Int
    public var topics: Int
    public var seed: UInt64
    public var chain = 0.3
    public var stay = 0.8
    public var popularityExponent = 1.0
    public var activitySigma = 1.0
    public var niche = 0.0
    public var repeatRate = 0.0
    public var repeatSetSize = 10
    public var basketSize = 1.0

    /// `topics` defaults to about `√items / 2`, between 1 and 1,000.
    public init(users: Int, items: Int, events: Int, topics: Int? = nil, seed: UInt64 = 2020) {
        (self.users, self.items, self.events, self.seed) = (users, items, events, seed)
        self.topics = topics ?? min(1_000, max(1, Int(Double(items).squareRoot() / 2)))
    }

    /// What ``write(to:name:)`` wrote.
    public struct Summary: Sendable, Equatable {
        public var interactions: URL
        public var itemFile: URL
        public var events: Int
        public var bytes: Int
    }

    /// Checks the sizes: at least one user and item, one event per user, topics within items.
    public func validate() throws {
        func bad(_ reason: String) -> DatasetError { .invalidOption(reason) }
        guard users >= 1, items >= 1 else { throw bad("synth needs at least one user and one item") }
        guard events >= users else {
            throw bad("synth gives every user at least one event: --events \(events) is below --users \(users)")
        }
        guard (1...items).contains(topics) else { throw bad("--topics must be between 1 and --items (\(items))") }
        guard users <= Int(Int32.max), items <= Int(Int32.max) else {
            throw bad("synth supports at most \(Int32.max) users and items")
        }
        guard (0...1).contains(chain), (0...1).contains(stay), (0...1).contains(niche), (0...1).contains(repeatRate),
            popularityExponent >= 0, activitySigma >= 0
        else {
            throw bad(
                "chain, stay, niche and the repeat rate are probabilities; the exponent and sigma are not negative")
        }
        guard repeatSetSize >= 1, basketSize >= 1, basketSize.isFinite else {
            throw bad("the repeat set holds at least one item and a basket at least one event")
        }
    }

    /// Writes `folder/NAME.inter` and `folder/NAME.item` (the folder is created).
    @discardableResult
    public func write(to folder: URL, name: String) throws -> Summary {
        try validate()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var generator = SeededGenerator(seed: seed)
        let catalogue = Catalogue(self, generator: &generator)
        let itemURL = folder.appendingPathComponent("\(name).item")
        var bytes = try Self.writing(to: itemURL) { out in
            out.append("item_id:token\ttitle:token_seq\tgenre:token_seq\n")
            let words = Vocabulary(topics: topics, seed: seed)
            for item in 0..<items {
                let topic = Int(catalogue.topic[item])
                out.append(item + 1)
                out.append("\t")
                out.append(words.title(item: item, topic: topic))
                out.append("\tg\(topic % 20) h\((topic / 20) % 20)\n")
            }
        }
        let interURL = folder.appendingPathComponent("\(name).inter")
        bytes += try Self.writing(to: interURL) { out in
            out.append("user_id:token\titem_id:token\trating:float\ttimestamp:float\n")
            let counts = activity(generator: &generator)
            for user in 0..<users {
                writeHistory(
                    of: user, count: counts[user], catalogue: catalogue, generator: &generator, into: &out)
            }
        }
        return Summary(interactions: interURL, itemFile: itemURL, events: events, bytes: bytes)
    }

    /// Events per user: lognormal weights scaled to exactly `events`, at least one each.
    private func activity(generator: inout SeededGenerator) -> [Int] {
        var weights = [Double](repeating: 0, count: users)
        for u in 0..<users { weights[u] = Foundation.exp(activitySigma * Self.normal(&generator)) }
        let total = weights.reduce(0, +)
        let spare = events - users
        var counts = weights.map { 1 + Int(Double(spare) * $0 / total) }
        var remainder = events - counts.reduce(0, +)
        var u = 0
        while remainder > 0 {
            counts[u % users] += 1
            remainder -= 1
            u += 1
        }
        return counts
    }

    private func writeHistory(
        of user: Int, count: Int, catalogue: Catalogue, generator: inout SeededGenerator, into out: inout Output
    ) {
        let favourites = (0...generator.nextInt(below: 3)).map { _ in
            niche > 0 && Self.uniform(&generator) < niche
                ? Int32(generator.nextInt(below: topics)) : catalogue.topic[catalogue.popularItem(&generator)]
        }
        var topic = Int(favourites[generator.nextInt(below: favourites.count)])
        var previous = -1
        var time = 1_609_459_200 + generator.nextInt(below: 365 * 86_400)
        // The items this user buys again (drawn only when repeats are on, so the stream of draws
        // and so the log stay as they were without them).
        let personal =
            repeatRate > 0
            ? (0..<repeatSetSize).map { _ in
                catalogue.item(in: Int(favourites[generator.nextInt(below: favourites.count)]), &generator)
            } : []
        for step in 0..<count {
            var item = -1
            if !personal.isEmpty, Self.uniform(&generator) < repeatRate {
                item = personal[generator.nextInt(below: personal.count)]
            }
            if item < 0, previous >= 0, Self.uniform(&generator) < chain {
                item = catalogue.next(after: previous)
            }
            if item < 0 {
                if previous >= 0, Self.uniform(&generator) >= stay {
                    topic =
                        Self.uniform(&generator) < 0.9
                        ? Int(favourites[generator.nextInt(below: favourites.count)])
                        : generator.nextInt(below: topics)
                }
                item = catalogue.item(in: topic, &generator)
            }
            topic = Int(catalogue.topic[item])
            previous = item
            if basketSize <= 1 || (step > 0 && Self.uniform(&generator) < 1 / basketSize) {
                time += 1 + Int(-3_600 * Foundation.log(1 - Self.uniform(&generator)))
            }
            let r = Self.uniform(&generator)
            let rating = r < 0.05 ? 1 : r < 0.15 ? 2 : r < 0.40 ? 3 : r < 0.75 ? 4 : 5
            out.append(user + 1)
            out.append(Self.tab)
            out.append(item + 1)
            out.append(Self.tab)
            out.append(rating)
            out.append(Self.tab)
            out.append(time)
            out.append(Self.newline)
        }
    }

    private static let tab = UInt8(ascii: "\t")
    private static let newline = UInt8(ascii: "\n")

    /// A uniform double in `[0, 1)`.
    static func uniform(_ generator: inout SeededGenerator) -> Double {
        Double(generator.next() >> 11) * 0x1p-53
    }

    /// A standard normal draw (Box–Muller).
    static func normal(_ generator: inout SeededGenerator) -> Double {
        let (a, b) = (1 - uniform(&generator), uniform(&generator))
        return (-2 * Foundation.log(a)).squareRoot() * Foundation.cos(2 * Double.pi * b)
    }

    /// Writes a file through `body` under a temporary name, then renames it; returns its size.
    private static func writing(to url: URL, _ body: (inout Output) throws -> Void) throws -> Int {
        let partial = url.appendingPathExtension("partial")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
            throw DatasetError.unwritable(path: partial.path, reason: "cannot create the file")
        }
        let handle = try FileHandle(forWritingTo: partial)
        var out = Output(handle: handle, path: partial.path)
        do {
            try body(&out)
            try out.flush()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        try FileManager.default.moveItem(at: partial, to: url)
        return out.written
    }
}

extension SyntheticLog {
    /// Items by topic with cumulative popularity weights, for drawing an item of a topic (or of
    /// the whole catalogue) in proportion to popularity by binary search.
    struct Catalogue {
        /// The topic of every item.
        var topic: [Int32]
        /// Items grouped by topic, in rank order inside each: topic `t` is `start[t]..<start[t + 1]`.
        var members: [Int32]
        var start: [Int]
        /// Each item's index in `members`.
        var position: [Int32]
        /// Cumulative weights along `members`, restarting at each topic.
        var cumulative: [Double]
        /// Cumulative weights over all items in rank order.
        var overall: [Double]

        init(_ spec: SyntheticLog, generator: inout SeededGenerator) {
            let (items, topics) = (spec.items, spec.topics)
            topic =
                spec.niche > 0
                ? (0..<items).map { Int32($0 * topics / items) }
                : (0..<items).map { _ in Int32(generator.nextInt(below: topics)) }
            var count = [Int](repeating: 0, count: topics + 1)
            for t in topic { count[Int(t) + 1] += 1 }
            for t in 0..<topics { count[t + 1] += count[t] }
            start = count
            var next = count
            members = [Int32](repeating: 0, count: items)
            position = [Int32](repeating: 0, count: items)
            for item in 0..<items {
                let t = Int(topic[item])
                members[next[t]] = Int32(item)
                position[item] = Int32(next[t])
                next[t] += 1
            }
            func weight(_ item: Int) -> Double { 1 / Foundation.pow(Double(item + 10), spec.popularityExponent) }
            cumulative = [Double](repeating: 0, count: items)
            for t in 0..<topics {
                var sum = 0.0
                for i in start[t]..<start[t + 1] {
                    sum += weight(Int(members[i]))
                    cumulative[i] = sum
                }
            }
            var sum = 0.0
            overall = (0..<items).map { item in
                sum += weight(item)
                return sum
            }
        }

        /// The item after `item` in its topic's chain, or -1 at the end of the chain.
        func next(after item: Int) -> Int {
            let i = Int(position[item]) + 1
            return i < start[Int(topic[item]) + 1] ? Int(members[i]) : -1
        }

        /// An item of `topic` (which has items, or the whole catalogue is used), by popularity.
        func item(in topic: Int, _ generator: inout SeededGenerator) -> Int {
            let (lower, upper) = (start[topic], start[topic + 1])
            guard upper > lower else { return popularItem(&generator) }
            let total = cumulative[upper - 1]
            return Int(members[Self.search(cumulative, lower, upper, SyntheticLog.uniform(&generator) * total)])
        }

        /// An item of the whole catalogue, by popularity.
        func popularItem(_ generator: inout SeededGenerator) -> Int {
            let total = overall[overall.count - 1]
            return Self.search(overall, 0, overall.count, SyntheticLog.uniform(&generator) * total)
        }

        /// The first index in `lower..<upper` whose cumulative weight exceeds `value`.
        static func search(_ sums: [Double], _ lower: Int, _ upper: Int, _ value: Double) -> Int {
            var (low, high) = (lower, upper - 1)
            while low < high {
                let mid = (low + high) / 2
                if sums[mid] > value { high = mid } else { low = mid + 1 }
            }
            return low
        }
    }

    /// Pseudo-words: eight per topic and 200 shared, from a seeded syllable table.
    struct Vocabulary {
        var topicWords: [[String]]
        var shared: [String]

        init(topics: Int, seed: UInt64) {
            var generator = SeededGenerator(seed: seed ^ 0x7E47)
            let syllables = [
                "ka", "lo", "mi", "ren", "sa", "tor", "vel", "du", "fen", "gri", "ho", "jun", "mar", "nel", "pa",
                "qui", "ros", "sil", "tam", "zor", "bex", "cu", "dra", "el", "fo", "gan", "is", "lum", "no", "ve",
            ]
            func word() -> String {
                (0..<(2 + generator.nextInt(below: 2))).map { _ in syllables[generator.nextInt(below: syllables.count)]
                }
                .joined()
            }
            topicWords = (0..<topics).map { _ in (0..<8).map { _ in word() } }
            shared = (0..<200).map { _ in word() }
        }

        /// Two of the topic's words and one shared word, fixed by the item.
        func title(item: Int, topic: Int) -> String {
            let words = topicWords[topic]
            let a = words[(item &* 7) % words.count]
            let b = words[(item &* 13 &+ 3) % words.count]
            return "\(a) \(b) \(shared[(item &* 31) % shared.count])"
        }
    }

    /// A write buffer of about a megabyte over a file handle, with integers formatted in place.
    struct Output {
        let handle: FileHandle
        let path: String
        var buffer: [UInt8] = []
        var written = 0
        /// The first failed write; later output is dropped and ``flush()`` throws it.
        var failure: DatasetError?
        private var digits = [UInt8](repeating: 0, count: 20)

        init(handle: FileHandle, path: String) {
            (self.handle, self.path) = (handle, path)
            buffer.reserveCapacity(1 << 20)
        }

        mutating func append(_ text: String) {
            buffer.append(contentsOf: text.utf8)
            flushIfFull()
        }

        mutating func append(_ byte: UInt8) { buffer.append(byte) }

        /// A non-negative integer in decimal.
        mutating func append(_ value: Int) {
            var v = value
            var n = 0
            repeat {
                digits[n] = UInt8(truncatingIfNeeded: 48 + v % 10)
                v /= 10
                n += 1
            } while v > 0
            while n > 0 {
                n -= 1
                buffer.append(digits[n])
            }
            flushIfFull()
        }

        private mutating func flushIfFull() {
            guard buffer.count >= 1 << 20 else { return }
            do { try flush() } catch { failure = failure ?? (error as? DatasetError) }
        }

        mutating func flush() throws {
            if let failure {
                buffer.removeAll(keepingCapacity: true)
                throw failure
            }
            guard !buffer.isEmpty else { return }
            do { try handle.write(contentsOf: buffer) } catch {
                buffer.removeAll(keepingCapacity: true)
                throw DatasetError.unwritable(path: path, reason: error.localizedDescription)
            }
            written += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
