import Foundation
import TOMLKit

extension FlowConfiguration {
    /// The flow of the TOML file at `path`.
    ///
    /// - Throws: ``ConfigurationErrors`` with every problem found, each with its line and key:
    ///   a TOML syntax error, an unknown section or key, a value of the wrong type or out of
    ///   range, a missing or repeated source name, a reference to a source that does not exist,
    ///   a model directory that holds no model.
    public static func read(file path: String) throws -> FlowConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationErrors(
                file: path,
                errors: [ConfigurationError(line: nil, key: "(file)", reason: "cannot be read as UTF-8 text")])
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        return try parse(text, file: path, directory: directory)
    }

    /// The flow of TOML `text`; model paths are relative to `directory`.
    public static func parse(_ text: String, file: String, directory: URL) throws -> FlowConfiguration {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationErrors(
                file: file,
                errors: [ConfigurationError(line: error.source.begin.line, key: "(syntax)", reason: error.description)])
        }
        let reader = ConfigurationReader(lines: KeyLines(text: text))
        var configuration = FlowConfiguration()
        configuration.read(root, reader)
        configuration.check(reader, directory: directory)
        configuration.checkExperiments(reader, directory: directory)
        guard reader.errors.isEmpty else {
            let sorted = reader.errors.sorted { ($0.line ?? .max, $0.key) < ($1.line ?? .max, $1.key) }
            throw ConfigurationErrors(file: file, errors: sorted)
        }
        return configuration
    }

    private mutating func read(_ root: TOMLTable, _ reader: ConfigurationReader) {
        reader.onlyKeys(root, at: "", ["database", "server", "recommend", "experiments", "impressions"])
        readExperiments(root, reader)
        if let database = reader.table(root, "database", at: "") {
            reader.onlyKeys(database, at: "database", ["data_store"])
            dataStore = reader.string(database, "data_store", at: "database")
        }
        if let server = reader.table(root, "server", at: "") {
            reader.onlyKeys(server, at: "server", ["host", "port", "api_key", "admin_key"])
            host = reader.string(server, "host", at: "server")
            port = reader.int(server, "port", at: "server", in: 1...65_535)
            apiKey = reader.string(server, "api_key", at: "server")
            adminKey = reader.string(server, "admin_key", at: "server")
            if adminKey == "" { reader.fail("server.admin_key", "must not be empty") }
        }
        guard let recommend = reader.table(root, "recommend", at: "") else { return }
        let path = "recommend"
        reader.onlyKeys(recommend, at: path, ["data_source", "replacement", "sources", "ranker", "rules"])
        if let source = reader.table(recommend, "data_source", at: path) {
            let at = "recommend.data_source"
            reader.onlyKeys(source, at: at, ["positive_feedback_types", "read_feedback_types"])
            positiveFeedbackTypes = reader.strings(source, "positive_feedback_types", at: at) ?? []
            readFeedbackTypes = reader.strings(source, "read_feedback_types", at: at) ?? []
        }
        if let table = reader.table(recommend, "replacement", at: path) {
            readReplacement(table, reader)
        }
        for (index, table) in (reader.tables(recommend, "sources", at: path) ?? []).enumerated() {
            if let source = SourceConfiguration.read(table, at: "recommend.sources[\(index)]", reader) {
                sources.append(source)
            }
        }
        if let table = reader.table(recommend, "ranker", at: path) {
            ranker = RankerConfiguration.read(table, reader)
        }
        for (index, table) in (reader.tables(recommend, "rules", at: path) ?? []).enumerated() {
            if let rule = RuleConfiguration.read(table, at: "recommend.rules[\(index)]", reader) { rules.append(rule) }
        }
    }

    private mutating func readReplacement(_ table: TOMLTable, _ reader: ConfigurationReader) {
        let at = "recommend.replacement"
        reader.onlyKeys(table, at: at, ["enable_replacement", "positive_replacement_decay", "read_replacement_decay"])
        var settings = ReplacementConfiguration()
        settings.positiveDecay = reader.double(table, "positive_replacement_decay", at: at, in: 0...1) ?? 0.8
        settings.readDecay = reader.double(table, "read_replacement_decay", at: at, in: 0...1) ?? 0.6
        replacement = reader.bool(table, "enable_replacement", at: at) == true ? settings : nil
    }

    /// What holds only across keys: names unique and referred to, model directories present.
    private func check(_ reader: ConfigurationReader, directory: URL) {
        guard !sources.isEmpty else {
            reader.fail("recommend.sources", "a flow needs at least one source ([[recommend.sources]])")
            return
        }
        var seen = Set<String>()
        let models = Set(sources.filter { $0.kind == .model }.map(\.name))
        for (index, source) in sources.enumerated() {
            let at = "recommend.sources[\(index)]"
            if !seen.insert(source.name).inserted { reader.fail("\(at).name", "\"\(source.name)\" names two sources") }
            if let model = source.model, !models.contains(model) {
                reader.fail("\(at).model", "\"\(model)\" is not a source of type \"model\"")
            }
            if let path = source.path { Self.checkModelDirectory(path, at: "\(at).path", directory, reader) }
        }
        if replacement == nil, let index = sources.firstIndex(where: { $0.kind == .repeatPurchase }) {
            reader.fail(
                "recommend.sources[\(index)].type",
                "a repeat source proposes items the user has seen, which are never shown without [recommend.replacement] enable_replacement = true"
            )
        }
        for (name, key) in ranker.weights.keys.map({ ($0, "weights") }) + ranker.quotas.keys.map({ ($0, "quotas") })
        where !seen.contains(name) {
            reader.fail("recommend.ranker.\(key).\(name)", "\"\(name)\" is not a source")
        }
        if let path = ranker.path {
            Self.checkModelDirectory(path, at: "recommend.ranker.path", directory, reader, file: "ranker.json")
        }
        if ranker.kind == .model && ranker.path == nil {
            reader.fail(
                "recommend.ranker", "a ranker of type model needs path (a directory `reckit train --ctr` wrote)")
        }
        for (index, rule) in rules.enumerated() {
            if let model = rule.model, !models.contains(model) {
                reader.fail("recommend.rules[\(index)].model", "\"\(model)\" is not a source of type \"model\"")
            }
        }
    }

    static func checkModelDirectory(
        _ path: String, at key: String, _ directory: URL, _ reader: ConfigurationReader, file: String = "model.json"
    ) {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
        if !FileManager.default.fileExists(atPath: url.appendingPathComponent(file).path) {
            reader.fail(key, "\(url.path) holds no model (no \(file)): train one with `reckit train --out`")
        }
    }
}

extension SourceConfiguration {
    static let keys = [
        "name", "type", "candidates", "path", "model", "by", "recent", "window", "per_category", "half_life", "url",
        "timeout",
    ]

    static func read(_ table: TOMLTable, at path: String, _ reader: ConfigurationReader) -> SourceConfiguration? {
        reader.onlyKeys(table, at: path, keys)
        let name = reader.string(table, "name", at: path)
        if table["name"] == nil { reader.fail("\(path)", "a source needs a name") }
        guard let typeName = reader.string(table, "type", at: path) else {
            if table["type"] == nil { reader.fail(path, "a source needs a type") }
            return nil
        }
        guard let kind = Kind(rawValue: typeName) else {
            reader.fail(
                "\(path).type",
                "\"\(typeName)\" is not a source type; known: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        var source = SourceConfiguration(name: name ?? "", kind: kind)
        source.candidates = reader.int(table, "candidates", at: path, in: 1...10_000) ?? source.candidates
        source.path = reader.string(table, "path", at: path)
        source.model = reader.string(table, "model", at: path)
        source.by = reader.string(table, "by", at: path)
        source.recent = reader.int(table, "recent", at: path, in: 1...1_000) ?? source.recent
        source.window = reader.duration(table, "window", at: path)
        source.perCategory = reader.bool(table, "per_category", at: path) ?? false
        source.halfLife = reader.double(table, "half_life", at: path, in: 0.01...1e6) ?? source.halfLife
        source.url = reader.string(table, "url", at: path)
        source.timeout = reader.duration(table, "timeout", at: path) ?? source.timeout
        source.checkFields(at: path, reader)
        return name == nil ? nil : source
    }

    /// The keys each kind needs, and those it cannot use.
    private func checkFields(at path: String, _ reader: ConfigurationReader) {
        if kind == .model && self.path == nil { reader.fail(path, "a model source needs path (a model directory)") }
        if kind != .model && self.path != nil { reader.fail("\(path).path", "only a model source reads path") }
        if kind == .itemToItem {
            if model == nil && by == nil { reader.fail(path, "an item_to_item source needs model or by") }
            if let by, !["categories", "labels"].contains(by) {
                reader.fail("\(path).by", "must be categories or labels, not \"\(by)\"")
            }
        }
        if kind == .external {
            if let url {
                if URL(string: url.replacingOccurrences(of: "{user}", with: "u"))?.scheme.map({
                    ["http", "https"].contains($0)
                }) != true {
                    reader.fail("\(path).url", "must be an http:// or https:// URL")
                }
            } else {
                reader.fail(path, "an external source needs url")
            }
        }
        if timeout > 10 { reader.fail("\(path).timeout", "must be at most 10 s: a slow source delays every answer") }
    }
}

extension RankerConfiguration {
    static func read(_ table: TOMLTable, _ reader: ConfigurationReader) -> RankerConfiguration {
        let at = "recommend.ranker"
        reader.onlyKeys(table, at: at, ["type", "merge", "weights", "quotas", "path"])
        var ranker = RankerConfiguration()
        if let name = reader.string(table, "type", at: at) {
            if let kind = Kind(rawValue: name) {
                ranker.kind = kind
            } else {
                reader.fail("\(at).type", "must be none or model, not \"\(name)\"")
            }
        }
        if let name = reader.string(table, "merge", at: at) {
            if let merge = Merge(rawValue: name) {
                ranker.merge = merge
            } else {
                reader.fail("\(at).merge", "must be fusion or round_robin, not \"\(name)\"")
            }
        }
        ranker.weights = reader.numbers(table, "weights", at: at) ?? [:]
        ranker.quotas = (reader.numbers(table, "quotas", at: at) ?? [:]).mapValues { Int($0) }
        ranker.path = reader.string(table, "path", at: at)
        if ranker.kind == .model && ranker.path == nil { reader.fail(at, "a model ranker needs path") }
        return ranker
    }
}

extension RuleConfiguration {
    static func read(_ table: TOMLTable, at path: String, _ reader: ConfigurationReader) -> RuleConfiguration? {
        reader.onlyKeys(table, at: path, ["type", "categories", "max", "model", "lambda", "age", "boost", "label"])
        guard let name = reader.string(table, "type", at: path) else {
            if table["type"] == nil { reader.fail(path, "a rule needs a type") }
            return nil
        }
        guard let kind = Kind(rawValue: name) else {
            reader.fail(
                "\(path).type",
                "\"\(name)\" is not a rule; known: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        var rule = RuleConfiguration(kind: kind)
        rule.categories = reader.strings(table, "categories", at: path) ?? []
        rule.maximum = reader.int(table, "max", at: path, in: 1...1_000) ?? rule.maximum
        rule.model = reader.string(table, "model", at: path)
        rule.lambda = reader.double(table, "lambda", at: path, in: 0...1) ?? rule.lambda
        rule.age = reader.duration(table, "age", at: path) ?? rule.age
        rule.boost = reader.double(table, "boost", at: path, in: 0...100) ?? rule.boost
        rule.label = reader.string(table, "label", at: path)
        switch kind {
        case .categoryFilter where rule.categories.isEmpty: reader.fail(path, "a category_filter needs categories")
        case .mmr where rule.model == nil: reader.fail(path, "an mmr rule needs model (a model source's name)")
        case .hideLabel where rule.label == nil: reader.fail(path, "a hide_label rule needs label")
        default: break
        }
        return rule
    }
}
