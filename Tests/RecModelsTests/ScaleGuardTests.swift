import Foundation
import RecData
import Tensors
import Testing
import _RecTestSupport

@testable import RecModels

/// What lets the models hold on large catalogues: the memory guard before a dense items × items
/// block, and item-kNN's similarity computed only where items share users.
struct ScaleGuardTests {
    /// A random log: `users` users with 3–12 events each over `items` items, some repeated.
    static func randomLog(users: Int, items: Int, seed: UInt64) -> InteractionLog {
        var generator = SeededGenerator(seed: seed)
        var pairs: [(user: String, item: String)] = []
        for user in 0..<users {
            for _ in 0..<(3 + generator.nextInt(below: 10)) {
                pairs.append(("u\(user)", "i\(generator.nextInt(below: items))"))
            }
        }
        return InteractionLog(pairs: pairs)
    }

    @Test func easeStopsBeforeAllocatingWhatItCannotHaveAndSaysHowMuch() throws {
        var data = TrainingData(log: Self.randomLog(users: 40, items: 300, seed: 1))
        let items = data.itemCount
        data.control.memoryLimit = 100_000
        var model = try EASE()
        #expect(
            throws: ModelError.insufficientMemory(
                model: "ease", neededBytes: 12 * items * items, availableBytes: 100_000,
                what: "its \(items) × \(items) item matrices (the Gram matrix in Float64, the weights in Float32)",
                alternatives: MemoryGuard.sparseAlternatives)
        ) { try model.fit(data) }
        #expect(model.itemCount == 0)
        // With room for it, the same fit succeeds.
        data.control.memoryLimit = 12 * items * items
        try model.fit(data)
        #expect(model.itemCount == items)
        // PureSVD (textcnn's default) is guarded the same way.
        #expect(throws: ModelError.self) {
            try PureSVD.itemFactors(data.matrix, factors: 4, control: TrainingControl(memoryLimit: 1_000))
        }
    }

    @Test func sizesParseInPowersOf1024() {
        #expect(MemoryGuard.parseBytes("8G") == 8 << 30)
        #expect(MemoryGuard.parseBytes("512MiB") == 512 << 20)
        #expect(MemoryGuard.parseBytes("2.5gib") == 5 << 29)
        #expect(MemoryGuard.parseBytes("1000") == 1_000)
        #expect(MemoryGuard.parseBytes("1 K") == 1_024)
        for bad in ["", "G", "-1G", "lots", "1e30T"] { #expect(MemoryGuard.parseBytes(bad) == nil, "\(bad)") }
        #expect(MemoryGuard.gibibytes(3 << 29) == "1.5 GiB")
        #expect(MemoryGuard.gibibytes(3 << 19) == "1.5 MiB")
    }

    /// Item-kNN's neighbours, similarities and order against cosine similarity computed densely
    /// over every pair, in Float64.
    @Test(arguments: [0.0, 5.0])
    func itemKNNMatchesDenseCosineOverEveryPair(shrink: Double) throws {
        let log = Self.randomLog(users: 60, items: 50, seed: 4)
        let data = TrainingData(log: log)
        let k = 7
        var model = try ItemKNN(parameters: ["k": String(k), "shrink": String(shrink)])
        try model.fit(data)
        let items = data.itemCount
        var counts = [[Double]](repeating: [Double](repeating: 0, count: items), count: data.userCount)
        for (user, item) in zip(log.users, log.items) { counts[Int(user)][Int(item)] += 1 }
        func norm(_ i: Int) -> Double { counts.reduce(0) { $0 + $1[i] * $1[i] }.squareRoot() }
        for i in 0..<items {
            var expected: [(item: Int, score: Double)] = []
            for j in 0..<items where j != i {
                let dot = counts.reduce(0) { $0 + $1[i] * $1[j] }
                if dot > 0 { expected.append((j, dot / (norm(i) * norm(j) + shrink + 1e-6))) }
            }
            expected.sort { $0.score != $1.score ? $0.score > $1.score : $0.item < $1.item }
            let found = model.rowPointers[i]..<model.rowPointers[i + 1]
            #expect(found.count == min(k, expected.count), "item \(i)")
            for (slot, index) in found.enumerated() {
                #expect(abs(Double(model.similarities[index]) - expected[slot].score) < 1e-5, "item \(i) slot \(slot)")
                // Equal similarities may come in either order; the scores decide.
                if slot + 1 < expected.count, abs(expected[slot].score - expected[slot + 1].score) > 1e-6,
                    slot == 0 || abs(expected[slot].score - expected[slot - 1].score) > 1e-6
                {
                    #expect(Int(model.neighbours[index]) == expected[slot].item, "item \(i) slot \(slot)")
                }
            }
        }
    }

    /// User-kNN's scores and similar items against cosine similarity over every pair of users and
    /// items, in Float64: visiting only the users and items a request reaches changes nothing.
    @Test(arguments: [0.0, 5.0])
    func userKNNMatchesDenseCosineOverEveryPair(shrink: Double) throws {
        let log = Self.randomLog(users: 50, items: 40, seed: 5)
        let data = TrainingData(log: log)
        let k = 6
        var model = try UserKNN(parameters: ["k": String(k), "shrink": String(shrink)])
        try model.fit(data)
        let (users, items) = (data.userCount, data.itemCount)
        var counts = [[Double]](repeating: [Double](repeating: 0, count: items), count: users)
        for (user, item) in zip(log.users, log.items) { counts[Int(user)][Int(item)] += 1 }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        var checked = 0
        for user in 0..<users {
            // A known user, ranked against every other user.
            let own = counts[user]
            var similar: [(user: Int, score: Double)] = []
            for v in 0..<users where v != user {
                let d = dot(own, counts[v])
                if d > 0 {
                    similar.append(
                        (v, d / (dot(own, own).squareRoot() * dot(counts[v], counts[v]).squareRoot() + shrink + 1e-6)))
                }
            }
            similar.sort { $0.score != $1.score ? $0.score > $1.score : $0.user < $1.user }
            // Skip users whose k-th neighbour ties with the next: either may vote.
            if similar.count > k, abs(similar[k - 1].score - similar[k].score) < 1e-6 { continue }
            var expected = [Double](repeating: 0, count: items)
            for neighbour in similar.prefix(k) {
                for j in 0..<items { expected[j] += neighbour.score * counts[neighbour.user][j] }
            }
            let history = (0..<items).flatMap { j in [Int32](repeating: Int32(j), count: Int(own[j])) }
            var scores: [Float] = []
            try model.score(ScoringContext(user: Int32(user), history: history), into: &scores)
            #expect(scores.count == items)
            checked += 1
            for j in 0..<items { #expect(abs(Double(scores[j]) - expected[j]) < 1e-4, "user \(user) item \(j)") }
        }
        #expect(checked > users / 2)
        for item in 0..<items {
            let column = counts.map { $0[item] }
            var expected: [(item: Int, score: Double)] = []
            for j in 0..<items where j != item {
                let other = counts.map { $0[j] }
                let d = dot(column, other)
                if d > 0 {
                    expected.append(
                        (j, d / (dot(column, column).squareRoot() * dot(other, other).squareRoot() + shrink + 1e-6)))
                }
            }
            expected.sort { $0.score != $1.score ? $0.score > $1.score : $0.item < $1.item }
            let found = try model.similarItems(to: Int32(item), count: 5)
            #expect(found.count == min(5, expected.count), "item \(item)")
            for (slot, entry) in found.enumerated() {
                #expect(abs(Double(entry.score) - expected[slot].score) < 1e-5, "item \(item) slot \(slot)")
            }
        }
    }
}
