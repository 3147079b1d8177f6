import Foundation
import RecModels
import Tensors

/// How recommendations are retrieved from a model.
public enum RetrievalMode: String, Sendable, CaseIterable, Codable {
    /// Score every item (the reference).
    case exact
    /// Search an HNSW index of the item vectors (inner-product models only).
    case ann
    /// `ann` for inner-product models whose catalogue reaches the threshold and whose index
    /// reached the target recall when it was measured (``IndexCalibration``), `exact` otherwise.
    case auto
}

/// The retrieval choice of a command (`--retrieval`, `--ann-threshold`, `--ef`).
public struct RetrievalOptions: Sendable, Equatable {
    public var mode = RetrievalMode.auto
    /// `auto` uses the index from this many items up.
    public var threshold = 100_000
    public var settings = ANNSettings()
    /// How the index's recall is measured and its search width chosen (`settings.ef` is then the
    /// width chosen).
    public var calibration = CalibrationRequest()

    public init(
        mode: RetrievalMode = .auto, threshold: Int = 100_000, settings: ANNSettings = ANNSettings(),
        calibration: CalibrationRequest = CalibrationRequest()
    ) {
        self.mode = mode
        self.threshold = threshold
        self.settings = settings
        self.calibration = calibration
    }

    /// Whether `model` is served from an index under these options (throws for `ann` with a
    /// model that does not score by inner product).
    public func usesIndex(for model: any Recommender) throws -> Bool {
        switch mode {
        case .exact: return false
        case .ann:
            guard model is any InnerProductRetrieval else {
                throw RetrievalError.unsupportedModel(type(of: model).kind.rawValue)
            }
            return true
        case .auto: return model is any InnerProductRetrieval && model.itemCount >= threshold
        }
    }
}

/// Top-k retrieval for one model: exact scoring of every item, or an ``ItemIndex`` with exact
/// scoring as the fallback when a filter leaves the index too few candidates.
public struct Retriever: Sendable {
    public let model: any Recommender
    /// `nil`: every request scores every item.
    public let index: ItemIndex?
    /// The index's measured recall, also when `auto` chose exact scoring because of it.
    public let calibration: IndexCalibration?

    public init(model: any Recommender, index: ItemIndex? = nil, calibration: IndexCalibration? = nil) {
        self.model = model
        self.index = index
        self.calibration = calibration ?? index?.calibration
    }

    /// For logs and cards: how requests are retrieved and why.
    public var decision: String {
        guard let calibration else {
            return index.map { "ann: \($0.settings.summary), recall not measured" } ?? "exact"
        }
        if let index {
            return "ann: \(index.settings.summary), \(calibration.summary)"
                + (calibration.reachedTarget ? "" : " (served from the index because --retrieval ann asks for it)")
        }
        return "exact: the index reached \(calibration.summary)"
    }

    /// A retriever for a trained model: the index's recall is measured on users drawn from the
    /// bundle's training users, with their histories filtered out as serving does.
    public static func prepare(
        bundle: ModelBundle, options: RetrievalOptions, directory: URL?, log: (String) -> Void = { _ in },
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> Retriever {
        try prepare(
            model: bundle.model, options: options, directory: directory,
            sample: { source in
                try CalibrationSample.draw(
                    from: source, userCount: bundle.userIDs.count, users: options.calibration.users,
                    seed: options.calibration.seed
                ) { ScoringContext(user: $0, history: bundle.histories[Int($0)]) }
            }, log: log, progress: progress)
    }

    /// A retriever for `model` under `options`: with an index loaded from `directory` when one
    /// saved there matches the model's item vectors, otherwise built (and saved to `directory`
    /// when given; a folder that cannot be written is reported through `log`, not an error).
    /// The index's recall is measured on `sample`'s queries after a build, or after a load whose
    /// record measured something else; `auto` keeps the index only when it reached the target.
    public static func prepare(
        model: any Recommender, options: RetrievalOptions, directory: URL?,
        sample: (any InnerProductRetrieval) throws -> CalibrationSample,
        log: (String) -> Void = { _ in }, progress: ((Int, Int) -> Void)? = nil
    ) throws -> Retriever {
        guard try options.usesIndex(for: model), let source = model as? any InnerProductRetrieval else {
            return Retriever(model: model)
        }
        var (index, built) = try loadOrBuild(
            source, options: options, directory: directory, log: log, progress: progress)
        let drawn = try sample(source)
        let measured = index.calibration?.answers(
            options.calibration, sampleSize: drawn.queries.rows, exactHead: index.settings.exactHead)
        if measured != true {
            let calibration = try index.calibrate(drawn, request: options.calibration)
            index.calibration = calibration
            log(
                String(
                    format: "measured the index's recall on %d users in %.1f s", calibration.users, calibration.seconds)
            )
        }
        if let width = index.calibration?.searchWidth { index.settings.ef = width }
        if built, let directory {
            do {
                try index.save(to: directory)
            } catch {
                log("could not save the ANN index in \(directory.path): \(error)")
            }
        }
        let retriever: Retriever
        if options.mode == .auto, index.calibration?.reachedTarget != true {
            retriever = Retriever(model: model, calibration: index.calibration)
        } else {
            retriever = Retriever(model: model, index: index)
        }
        log("retrieval: \(retriever.decision)")
        return retriever
    }

    private static func loadOrBuild(
        _ source: any InnerProductRetrieval, options: RetrievalOptions, directory: URL?, log: (String) -> Void,
        progress: ((Int, Int) -> Void)?
    ) throws -> (index: ItemIndex, built: Bool) {
        let items = try source.retrievalItems()
        if let directory {
            do {
                return (try ItemIndex.load(from: directory, items: items, settings: options.settings), false)
            } catch let error as RetrievalError {
                log("building the ANN index (\(error))")
            }
        }
        let start = Date()
        let index = try ItemIndex(items: items, settings: options.settings, progress: progress)
        log(String(format: "built the ANN index over %d items in %.1f s", items.rows, Date().timeIntervalSince(start)))
        return (index, true)
    }

    /// The `count` best items for `context` that `isAllowed` accepts, best first.
    /// `excluded` (the user's seen and hidden items, all refused by `isAllowed`) are skipped
    /// inside the index's search; see ``ItemIndex/search(_:count:ef:excluding:limit:where:)``.
    public func recommend(
        _ context: ScoringContext, count: Int, excluding excluded: Set<Int32>? = nil, ef: Int? = nil,
        where isAllowed: (Int32) -> Bool = { _ in true }
    ) throws -> [ScoredItem] {
        guard let index, let source = model as? any InnerProductRetrieval else {
            return try exact(context, query: nil, count: count, where: isAllowed)
        }
        let query = try source.retrievalQueries([context]).storage[...]
        return try index.search(query, count: count, ef: ef, excluding: excluded, where: isAllowed)
            ?? exact(context, query: query, count: count, where: isAllowed)
    }

    /// Every item scored by the model, plus the items added to the index (scored with `query`)
    /// when there are any: the reference, and the fallback when a filter leaves the index too few.
    private func exact(
        _ context: ScoringContext, query: ArraySlice<Float>?, count: Int, where isAllowed: (Int32) -> Bool
    ) throws -> [ScoredItem] {
        var scores = [Float](repeating: 0, count: model.itemCount)
        try model.score(context, into: &scores)
        let top = TopK.select(count, from: scores, where: isAllowed)
        guard let index, let query else { return top }
        let additions = index.scoredAdditions(query, where: isAllowed)
        return additions.isEmpty ? top : TopK.best(count, of: top + additions)
    }

    /// The `count` best of `candidates` (a category's items) for `context`, scored exactly: with
    /// an index, only the candidates' inner products are computed.
    public func recommend(_ context: ScoringContext, among candidates: [Int32], count: Int) throws -> [ScoredItem] {
        if let index, let source = model as? any InnerProductRetrieval {
            let query = try source.retrievalQueries([context]).storage[...]
            var seen = Set<Int32>()
            let scored = candidates.filter {
                $0 >= 0 && Int($0) < index.itemCount + index.added.count && seen.insert($0).inserted
            }.map {
                ScoredItem(item: $0, score: index.score(query, Int($0)))
            }
            return TopK.best(count, of: scored)
        }
        var scores = [Float](repeating: 0, count: model.itemCount)
        try model.score(context, into: &scores)
        let allowed = Set(candidates)
        return TopK.select(count, from: scores) { allowed.contains($0) }
    }

    /// ``recommend(_:count:excluding:ef:where:)`` for many contexts on all cores;
    /// `isAllowed(r, item)` filters context `r`. With an index, queries are computed in one batch.
    public func recommendBatch(
        _ contexts: [ScoringContext], count: Int, excluding excluded: [Set<Int32>]? = nil, ef: Int? = nil,
        where isAllowed: @escaping @Sendable (Int, Int32) -> Bool
    ) throws -> [[ScoredItem]] {
        guard let index, let source = model as? any InnerProductRetrieval else {
            let scores = try model.scoreBatch(contexts)
            return (0..<contexts.count).map { r in
                scores.storage.withUnsafeBufferPointer { s in
                    TopK.select(
                        count, from: UnsafeBufferPointer(rebasing: s[(r * scores.columns)..<((r + 1) * scores.columns)])
                    ) { isAllowed(r, $0) }
                }
            }
        }
        let queries = try source.retrievalQueries(contexts)
        var results = [[ScoredItem]?](repeating: nil, count: contexts.count)
        var failure: Error?
        let lock = NSLock()
        results.withUnsafeMutableBufferPointer { results in
            Parallel.forEachChunk(of: 0..<contexts.count) { range in
                for r in range {
                    do {
                        results[r] = try index.search(
                            queries.row(r), count: count, ef: ef, excluding: excluded?[r]
                        ) { isAllowed(r, $0) }
                    } catch {
                        lock.lock()
                        failure = error
                        lock.unlock()
                    }
                }
            }
        }
        if let failure { throw failure }
        // Contexts the index could not serve under their filter are ranked exactly.
        return try results.enumerated().map { r, found in
            try found ?? exact(contexts[r], query: queries.row(r), count: count) { isAllowed(r, $0) }
        }
    }

    /// The items most similar to `item` (cosine of item vectors for inner-product models). With an
    /// index, the candidates are the index's nearest items to the item's unit vector, re-ranked
    /// by exact cosine; without one, the model's own `similarItems`.
    public func similarItems(to item: Int32, count: Int, ef: Int? = nil) throws -> [ScoredItem] {
        guard let index, item >= 0, Int(item) < index.itemCount,
            let source = model as? any InnerProductRetrieval, source.similarityIsCosineOfRetrievalItems
        else {
            return try model.similarItems(to: item, count: count)
        }
        let norms = { (row: Int) in max(1e-12, ItemIndex.norm(of: index.items.row(row))) }
        let unit = index.items.row(Int(item)).map { $0 / norms(Int(item)) }
        let candidates = try index.search(unit[...], count: max(4 * count, 64), ef: ef) { $0 != item } ?? []
        let cosine = candidates.map { ScoredItem(item: $0.item, score: $0.score / norms(Int($0.item))) }
        return TopK.best(count, of: cosine)
    }
}
