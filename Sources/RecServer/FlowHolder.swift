import Foundation
import RecFlow
import RecRetrieval
import RecStore
import Synchronization

/// The flow in service (`reckit serve --config FILE`) and how to replace it: a reload reads the
/// file again, builds the new flow (its models loaded) beside the old one, and swaps it in whole;
/// a request sees one flow or the other. A file that does not parse or a flow that does not build
/// leaves the old flow serving.
public final class FlowHolder: Sendable {
    /// The configuration file.
    public let file: String
    let store: any EventStore
    let retrieval: RetrievalOptions
    let log: @Sendable (String) -> Void
    private let state: Mutex<(flow: Flow, version: Int, experiments: [ServedExperiment])>
    /// Stores the impressions of the answers served (issue 47).
    public let impressions: ImpressionRecorder
    /// One reload at a time: two would build twice and race to swap.
    private let reloading = Mutex(false)
    /// The published configuration in service (`FlowHolder+Published.swift`).
    let published = PublishedState()

    /// Reads and builds the flow of `file`.
    ///
    /// - Throws: ``ConfigurationErrors`` or ``FlowBuildError``.
    public init(
        file: String, store: any EventStore, retrieval: RetrievalOptions,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        self.file = file
        self.store = store
        self.retrieval = retrieval
        self.log = log
        let built = try Self.build(file, store: store, retrieval: retrieval, log: log)
        state = Mutex((built.flow, 1, built.experiments))
        impressions = ImpressionRecorder(
            store: store, retention: built.flow.configuration.impressions.retention, log: log)
        Task { await Self.record(built.flow, built.experiments, store: store, log: log) }
    }

    /// A holder of an already built flow (tests).
    public init(
        flow: Flow, file: String, store: any EventStore, retrieval: RetrievalOptions = RetrievalOptions(mode: .exact)
    ) {
        self.file = file
        self.store = store
        self.retrieval = retrieval
        log = { _ in }
        state = Mutex((flow, 1, []))
        impressions = ImpressionRecorder(store: store)
    }

    /// The flow of `file`, or of `text` (a published configuration) with paths relative to the
    /// file's folder.
    static func build(
        _ file: String, text: String? = nil, store: any EventStore, retrieval: RetrievalOptions,
        log: @escaping @Sendable (String) -> Void
    ) throws -> (flow: Flow, experiments: [ServedExperiment]) {
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        let configuration =
            try text.map { try FlowConfiguration.parse($0, file: "\(file) (published)", directory: directory) }
            ?? FlowConfiguration.read(file: file)
        let flow = try Flow.build(configuration, directory: directory, store: store, retrieval: retrieval, log: log)
        let experiments = try ServedExperiment.build(
            configuration, main: flow, directory: directory, store: store, retrieval: retrieval, log: log)
        return (flow, experiments)
    }

    /// The experiments' definitions, in the store for `reckit experiment report`.
    static func record(
        _ flow: Flow, _ experiments: [ServedExperiment], store: any EventStore, log: @Sendable (String) -> Void
    ) async {
        guard !experiments.isEmpty else { return }
        do {
            try await store.saveExperiments(
                try experiments.map {
                    StoredExperiment(name: $0.name, definition: try $0.record(flow.configuration).text())
                })
        } catch {
            log("the experiments' definitions were not stored: \(error)")
        }
    }

    /// The flow in service and its version (1 for the first, +1 per reload).
    public func current() -> (flow: Flow, version: Int) { state.withLock { ($0.flow, $0.version) } }

    /// The flow in service with its experiments, as one reload left them.
    public func served() -> (flow: Flow, experiments: [ServedExperiment]) {
        state.withLock { ($0.flow, $0.experiments) }
    }

    /// A holder of an already built flow and its experiments (tests).
    public convenience init(
        flow: Flow, experiments: [ServedExperiment], file: String, store: any EventStore
    ) {
        self.init(flow: flow, file: file, store: store)
        state.withLock { $0.experiments = experiments }
        impressions.setRetention(flow.configuration.impressions.retention)
    }

    /// What a reload refused.
    public struct ReloadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads the file again (or serves `text`, a published configuration, read as if it were
    /// the file) and serves its flow; returns the new version.
    ///
    /// - Throws: ``ReloadError`` with every problem found (the old flow keeps serving).
    @discardableResult
    public func reload(text: String? = nil) async throws -> Int {
        guard
            reloading.withLock({ busy in
                busy
                    ? false
                    : {
                        busy = true; return true
                    }()
            })
        else {
            throw ReloadError(description: "a reload is already running")
        }
        defer { reloading.withLock { $0 = false } }
        let (file, store, retrieval, log) = (file, store, retrieval, log)
        let built = await Task.detached { () -> Result<(flow: Flow, experiments: [ServedExperiment]), any Error> in
            Result { try Self.build(file, text: text, store: store, retrieval: retrieval, log: log) }
        }.value
        switch built {
        case .success(let (flow, experiments)):
            let version = state.withLock { current in
                current = (flow, current.version + 1, experiments)
                return current.version
            }
            impressions.setRetention(flow.configuration.impressions.retention)
            await Self.record(flow, experiments, store: store, log: log)
            log("serving the flow of \(file) as version \(version)")
            return version
        case .failure(let error):
            log("the flow of \(file) was not reloaded: \(error)")
            throw ReloadError(description: "\(error)")
        }
    }
}

/// How often each flow source failed (an outside source that timed out, a store read that
/// failed), and its last reason: `GET /api/flow` shows them.
public final class FlowFailures: Sendable {
    private let counts = Mutex<[String: (count: Int, last: String)]>([:])

    public init() {}

    func record(source: String, reason: String) {
        counts.withLock { $0[source] = (($0[source]?.count ?? 0) + 1, reason) }
    }

    /// Failures by source name.
    public func snapshot() -> [String: (count: Int, last: String)] { counts.withLock { $0 } }
}
