import Foundation
import RecModels
import RecRetrieval
import RecStore

/// A flow that cannot be built from a configuration that parsed: a model that does not load, a
/// rule that needs what its model lacks.
public struct FlowBuildError: Error, CustomStringConvertible {
    public var key: String
    public var reason: String

    public var description: String { "\(key): \(reason)" }
}

extension Flow {
    /// Builds the flow of `configuration` over `store`: loads every model source (with its
    /// retriever under `retrieval`), and the caches the sources and rules read from the store
    /// (popular and newest items, the catalog), each read at most once per `refresh`.
    ///
    /// - Parameters:
    ///   - directory: What relative model paths are relative to (the file's folder).
    ///   - proposers: Only these sources propose (the others' models still load, for the
    ///     sources and rules that use them): one source evaluated alone. Nil: every source.
    /// - Throws: ``FlowBuildError`` naming the key at fault.
    public static func build(
        _ configuration: FlowConfiguration, directory: URL, store: any EventStore,
        retrieval: RetrievalOptions = RetrievalOptions(mode: .exact), refresh: Duration = .seconds(5),
        proposers: Set<String>? = nil, log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws -> Flow {
        let positive = configuration.positiveFeedbackTypes.sorted()
        var models: [String: ModelSource] = [:]
        for (index, source) in configuration.sources.enumerated() where source.kind == .model {
            models[source.name] = try loadModel(source, index: index, directory: directory, retrieval, log)
        }
        let needsCatalog =
            configuration.rules.contains { $0.kind != .mmr }
            || configuration.sources.contains { $0.kind == .itemToItem && $0.by != nil || $0.perCategory }
        let catalog = needsCatalog ? Refreshing(ttl: refresh * 6) { try await Catalog.read(from: store) } : nil
        var sources: [Source] = []
        for (index, entry) in configuration.sources.enumerated() {
            let at = "recommend.sources[\(index)]"
            let source: any CandidateSource
            switch entry.kind {
            case .model:
                guard let model = models[entry.name] else { throw FlowBuildError(key: at, reason: "not loaded") }
                source = model
            case .itemToItem:
                if let name = entry.model, let model = models[name] {
                    source = ItemToItemSource(name: entry.name, model: model, recent: entry.recent)
                } else if let catalog {
                    source = SharedTagSource(
                        name: entry.name, catalog: catalog, byLabels: entry.by == "labels", recent: entry.recent)
                } else {
                    throw FlowBuildError(key: at, reason: "needs model or by")
                }
            case .userToUser:
                source = try userToUser(entry, at: at, models: models)
            case .popular:
                source = PopularSource(
                    name: entry.name,
                    popular: PopularItems(
                        store: store, types: positive, ttl: refresh, depth: max(2_000, 20 * entry.candidates),
                        window: entry.window),
                    perCategory: entry.perCategory, catalog: catalog,
                    windowText: entry.window.map { "in the last \(Self.duration($0))" } ?? "in all")
            case .latest:
                let depth = max(1_000, 10 * entry.candidates)
                source = LatestSource(
                    name: entry.name, latest: Refreshing(ttl: refresh) { try await store.latestItems(count: depth) })
            case .repeatPurchase:
                source = RepeatSource(name: entry.name, halfLife: entry.halfLife)
            case .external:
                source = ExternalSource(name: entry.name, url: entry.url ?? "", timeout: entry.timeout)
            }
            if proposers?.contains(entry.name) ?? true { sources.append(Source(configuration: entry, source: source)) }
        }
        return Flow(
            configuration: configuration, sources: sources, models: models,
            rules: try configuration.rules.enumerated().map { try rule($1, at: "recommend.rules[\($0)]", models) },
            catalog: catalog, fallback: PopularItems(store: store, types: positive, ttl: refresh, depth: 2_000),
            ranker: try loadRanker(configuration.ranker, directory: directory))
    }

    private static func loadModel(
        _ source: SourceConfiguration, index: Int, directory: URL, _ retrieval: RetrievalOptions,
        _ log: @escaping @Sendable (String) -> Void
    ) throws -> ModelSource {
        let path = source.path ?? ""
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
        do {
            let bundle = try ModelBundle.load(from: url)
            let retriever = try Retriever.prepare(bundle: bundle, options: retrieval, directory: url) {
                log("\(source.name): \($0)")
            }
            return ModelSource(name: source.name, bundle: bundle, retriever: retriever)
        } catch {
            throw FlowBuildError(key: "recommend.sources[\(index)].path", reason: "\(url.path): \(error)")
        }
    }

    private static func loadRanker(_ ranker: RankerConfiguration, directory: URL) throws -> (any CandidateRanker)? {
        guard ranker.kind == .model, let path = ranker.path else { return nil }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
        do {
            return try CTRRanker.load(from: url)
        } catch {
            throw FlowBuildError(key: "recommend.ranker.path", reason: "\(url.path): \(error)")
        }
    }

    private static func userToUser(_ entry: SourceConfiguration, at: String, models: [String: ModelSource]) throws
        -> any CandidateSource
    {
        guard let name = entry.model ?? models.keys.sorted().first, let model = models[name] else {
            throw FlowBuildError(
                key: at, reason: "user_to_user reads the histories a model was trained on: add a model source")
        }
        return UserToUserSource(name: entry.name, bundle: model.bundle)
    }

    private static func rule(_ rule: RuleConfiguration, at: String, _ models: [String: ModelSource]) throws
        -> any FlowRule
    {
        switch rule.kind {
        case .categoryFilter: return CategoryFilter(categories: Set(rule.categories))
        case .categoryCap: return CategoryCap(maximum: rule.maximum)
        case .hideLabel: return HideLabel(label: rule.label ?? "")
        case .freshness: return Freshness(age: rule.age, boost: Float(rule.boost))
        case .mmr:
            guard let name = rule.model, let model = models[name],
                let vectors = model.bundle.model as? any InnerProductRetrieval
            else {
                throw FlowBuildError(
                    key: "\(at).model", reason: "mmr needs a model source with item vectors (als, bpr, ...)")
            }
            let items = try vectors.retrievalItems()
            var unit: [String: [Float]] = [:]
            for row in 0..<min(items.rows, model.bundle.itemIDs.count) {
                let vector = Array(items.row(row))
                let norm = max(1e-12, vector.reduce(0) { $0 + $1 * $1 }.squareRoot())
                unit[model.bundle.itemIDs[Int32(row)]] = vector.map { $0 / norm }
            }
            return MaximalMarginalRelevance(lambda: Float(rule.lambda), vectors: unit)
        }
    }

    /// `30 d`, `24 h`, `30 min`, `45 s`.
    static func duration(_ seconds: Double) -> String {
        for (unit, size) in [("d", 86_400.0), ("h", 3_600), ("min", 60)] where seconds >= size {
            if (seconds / size).rounded() == seconds / size { return "\(Int(seconds / size)) \(unit)" }
        }
        return "\(Int(seconds)) s"
    }
}
