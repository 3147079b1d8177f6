import Foundation
import RecData
import Tensors
import Testing
import _RecTestSupport

@testable import RecModels

/// The rankers' tape-free inference path (`CTRInference`) against the training graph, for every
/// kind (issue 46): the same scores within 1e-5 relative on seeded requests with unknown users
/// and items, empty sequences and sequences past the 50 kept; a candidate scored alone as in
/// its request; FM's pairwise term against its pair-by-pair definition in Float64.
struct RankingInferenceTests {
    /// A small log whose items carry 0...3 genres and 0...4 title words, so that every bag's mean
    /// pools several rows, an empty bag included; item `i7` has no features at all.
    static func catalogue() throws -> CTRDataset {
        var generator = SeededGenerator(seed: 4)
        let (userCount, itemCount) = (10, 14)
        var users: [String: CTRUserFeatures] = [:]
        for u in 0..<userCount {
            users["u\(u)"] = CTRUserFeatures(
                gender: u % 2 == 0 ? "F" : "M", age: "\(18 + u % 3)", occupation: "o\(u % 4)",
                zipPrefix: u == 3 ? "" : "1\(u % 5)")
        }
        var items: [String: CTRItemFeatures] = [:]
        let genres = ["Comedy", "Drama", "War", "Horror", "Musical"]
        for i in 0..<itemCount where i != 7 {
            items["i\(i)"] = CTRItemFeatures(
                genres: (0..<(i % 4)).map { genres[(i + $0) % genres.count] }, year: "\(1990 + i % 5)",
                titleTokens: (0..<(i % 5)).map { "w\((i * 3 + $0) % 9)" })
        }
        var (userColumn, itemColumn, ratings, times): ([Int32], [Int32], [Float], [Double]) = ([], [], [], [])
        for u in 0..<userCount {
            for step in 0..<10 {
                userColumn.append(Int32(u))
                itemColumn.append(Int32(generator.nextInt(below: itemCount)))
                ratings.append(Float(1 + generator.nextInt(below: 5)))
                times.append(Double(step * 5_000 + u * 97))
            }
        }
        let log = InteractionLog(
            users: userColumn, items: itemColumn, ratings: ratings, timestamps: times,
            userIDs: IDMap((0..<userCount).map { "u\($0)" }), itemIDs: IDMap((0..<itemCount).map { "i\($0)" }))
        return try CTRDataset(name: "catalogue", log: log, users: users, items: items)
    }

    /// An untrained ranker of `kind` over the catalogue, every parameter redrawn, tables from
    /// `U(-0.5, 0.5)` (padding rows stay zero) and layers from `U(-1, 1)`, so that every weight
    /// moves the scores.
    static func ranker(_ kind: CTRModelKind) throws -> CTRRanker {
        let data = try catalogue()
        let settings = try CTRHyperParameters(
            kind: kind, ["dimension": "4", "hidden": "8,6", "cross_layers": "2", "attention_hidden": "8"])
        var (users, items): ([String: CTRUserFeatures], [String: CTRItemFeatures]) = ([:], [:])
        for (index, id) in data.log.userIDs.externalIDs.enumerated() { users[id] = data.userFeatures[index] }
        for (index, id) in data.log.itemIDs.externalIDs.enumerated() { items[id] = data.itemFeatures[index] }
        let split = data.split(.random, seed: 1)
        let ranker = CTRRanker(
            kind: kind, settings: settings, space: CTRFeatureSpace(training: split.train, of: data), users: users,
            items: items)
        var generator = SeededGenerator(seed: 9)
        for (name, parameter) in ranker.network.namedParameters {
            var value = parameter.value
            let isTable = name.hasSuffix("embedding.weight") || name.hasSuffix("linear.weight")
            let (padding, bound): (Int, Float) = isTable ? (value.shape[1], 0.5) : (0, 1)
            for i in value.scalars.indices {
                value.scalars[i] = i < padding ? 0 : Float.random(in: -bound...bound, using: &generator)
            }
            parameter.value = value
        }
        return ranker
    }

    /// Seeded requests: known and unknown users (one with features given in the request),
    /// known and unknown candidates, sequences of 0, 1, 3, 50 and 61 items (unknown ones mixed in).
    static func requests(count: Int, seed: UInt64) -> [RankingRequest] {
        var generator = SeededGenerator(seed: seed)
        let users = ["u0", "u3", "u8", "stranger"]
        let items = (0..<14).map { "i\($0)" } + ["ghost", "phantom"]
        let lengths = [0, 1, 3, 50, 61]
        return (0..<count).map { r in
            let candidates = (0..<(1 + generator.nextInt(below: 9))).map { _ in items[generator.nextInt(below: 16)] }
            let sequence = (0..<lengths[r % lengths.count]).map { _ in items[generator.nextInt(below: 16)] }
            return RankingRequest(
                user: users[r % users.count],
                userFeatures: r % 6 == 5 ? CTRUserFeatures(gender: "M", age: "19", occupation: "o9") : nil,
                candidates: candidates, hour: generator.nextInt(below: 24), weekday: generator.nextInt(below: 7),
                sequence: sequence)
        }
    }

    @Test(arguments: CTRModelKind.allCases)
    func fastPathEqualsTheGraphAndABatchEqualsItsCandidatesAlone(kind: CTRModelKind) throws {
        let ranker = try Self.ranker(kind)
        var (fastScores, graphScores): ([Float], [Float]) = ([], [])
        for request in Self.requests(count: 20, seed: 3) {
            let fast = try ranker.score(request)
            let graph = try ranker.score(request, path: .graph)
            #expect(fast.count == request.candidates.count)
            #expect(allClose(fast, graph, rtol: 1e-5, atol: 0), "\(kind) \(request): \(fast) vs \(graph)")
            fastScores += fast
            graphScores += graph
            var alone = request
            let single = try request.candidates.flatMap { candidate in
                alone.candidates = [candidate]
                return try ranker.score(alone)
            }
            #expect(allClose(single, fast, rtol: 1e-5, atol: 0), "\(kind): alone \(single), in the request \(fast)")
        }
        // The redrawn weights spread the scores, so a field left out would show.
        let spread = (fastScores.max() ?? 0) - (fastScores.min() ?? 0)
        #expect(spread > 0.2, "\(kind): scores within \(spread)")
        #expect(try ranker.score(RankingRequest(user: "u0", candidates: [], hour: 1, weekday: 1)).isEmpty)
        #expect(throws: ModelError.self) {
            try ranker.score(RankingRequest(user: "u0", candidates: ["i0"], hour: 3, weekday: 7))
        }
    }

    @Test func sequenceFeaturesAndUnknownsChangeFastScoresAsTheyChangeTheGraph() throws {
        for kind in CTRModelKind.allCases {
            let ranker = try Self.ranker(kind)
            let base = RankingRequest(
                user: "u0", candidates: ["i1", "i7", "ghost"], hour: 5, weekday: 2, sequence: ["i2", "i3"])
            var longer = base
            longer.sequence = (0..<60).map { "i\($0 % 14)" }
            var stranger = base
            stranger.user = "stranger"
            for request in [base, longer, stranger] {
                let fast = try ranker.score(request)
                #expect(allClose(fast, try ranker.score(request, path: .graph), rtol: 1e-5, atol: 0))
            }
            // Only the newest 50 of a longer sequence count, on both paths.
            var newest = longer
            newest.sequence = Array(longer.sequence.suffix(50))
            #expect(try ranker.score(newest) == ranker.score(longer))
            #expect(try ranker.score(longer) != ranker.score(base))
        }
    }

    /// FM's logit from its definition, `b + Σ_f w_f + Σ_{f<g} ⟨v_f, v_g⟩` pair by pair in
    /// Float64 over the graph's encoding of the request, against the fast path's sum-square form.
    @Test func factorizationMachineMatchesItsPairwiseDefinitionInFloat64() throws {
        let ranker = try Self.ranker(.fm)
        let parameters = Dictionary(
            uniqueKeysWithValues: ranker.network.namedParameters.map { ($0.name, $0.parameter) })
        let table = try #require(parameters["fields.embedding.weight"]).value.scalars.map(Double.init)
        let linear = try #require(parameters["fields.linear.weight"]).value.scalars.map(Double.init)
        let bias = Double(try #require(parameters["bias"]).value.scalars[0])
        let d = ranker.settings.dimension
        for request in Self.requests(count: 10, seed: 8) {
            let batch = ranker.graphBatch(request)
            let fast = try ranker.score(request)
            for n in 0..<batch.count {
                // Each field: (rows, weight per row); a bag is the mean of its nonzero rows.
                var fields: [[(Int, Double)]] = batch.fields[(n * 9)..<((n + 1) * 9)].map { [(Int($0), 1)] }
                for bag in batch.bags {
                    let width = bag.count / batch.count
                    let rows = bag[(n * width)..<((n + 1) * width)].filter { $0 != 0 }.map { Int($0) }
                    fields.append(rows.map { ($0, 1 / Double(rows.count)) })
                }
                let vectors = fields.map { field in
                    (0..<d).map { j in field.reduce(0.0) { $0 + table[$1.0 * d + j] * $1.1 } }
                }
                var logit = bias + fields.reduce(0.0) { $0 + $1.reduce(0.0) { $0 + linear[$1.0] * $1.1 } }
                for f in vectors.indices {
                    for g in (f + 1)..<vectors.count {
                        logit += zip(vectors[f], vectors[g]).reduce(0) { $0 + $1.0 * $1.1 }
                    }
                }
                let expected = 1 / (1 + Foundation.exp(-logit))
                #expect(abs(Double(fast[n]) - expected) <= 1e-5 * expected, "\(fast[n]) vs \(expected)")
            }
        }
    }

    /// The fast path reads the parameters at every request: a changed bias moves every logit by
    /// the change, as a saved and loaded ranker scores as the original.
    @Test func fastPathReadsTheCurrentWeights() throws {
        let ranker = try Self.ranker(.deepfm)
        let request = Self.requests(count: 4, seed: 2)[3]
        let before = try ranker.score(request)
        let bias = try #require(ranker.network.namedParameters.first { $0.name == "fm.bias" }).parameter
        bias.value.scalars[0] += 1
        let after = try ranker.score(request)
        let logit = { (p: Float) in Foundation.log(p / (1 - p)) }
        #expect(zip(before, after).allSatisfy { abs(logit($1) - logit($0) - 1) < 1e-3 })
        let folder = temporaryDirectory("ctr-inference")
        try ranker.save(to: folder)
        #expect(try CTRRanker.load(from: folder).score(request) == after)
    }
}
