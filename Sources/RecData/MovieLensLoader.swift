/// Reads the MovieLens originals from GroupLens: 100K (`u.data` tab-separated, `u.item` and
/// `u.user` with `|`) and 1M (`ratings.dat`, `movies.dat`, `users.dat` with `::`, Latin-1).
enum MovieLensLoader {
    static let genres100K = [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
        "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
    ]

    static func loadRatings(
        path: String, separator: String, encoding: TextEncoding, options: LoadOptions, report: inout LoadReport
    ) throws -> InteractionLog {
        var builder = InteractionBuilder(hasRatings: true, hasTimestamps: true)
        builder.reserve(try LineReader.countLines(path: path))
        var maybeReport: LoadReport? = report
        let reader = TableReader(
            path: path, separator: separator, encoding: options.encoding ?? encoding,
            fixedNames: ["user_id", "item_id", "rating", "timestamp"])
        try reader.read(skipBadRows: options.skipBadRows, report: &maybeReport, header: { _ in }) { fields in
            builder.append(
                user: try fields.identifier(0), item: try fields.identifier(1), rating: try fields.number(2),
                timestamp: try fields.time(3))
        }
        report = maybeReport ?? report
        return try builder.build(path: path)
    }

    static func load100KRatings(path: String, options: LoadOptions, report: inout LoadReport) throws -> InteractionLog {
        try loadRatings(path: path, separator: "\t", encoding: .latin1, options: options, report: &report)
    }

    static func load1MRatings(path: String, options: LoadOptions, report: inout LoadReport) throws -> InteractionLog {
        try loadRatings(path: path, separator: "::", encoding: .latin1, options: options, report: &report)
    }

    /// `movie id | title | release date | video release date | IMDb URL | 19 genre flags`.
    static func load100KItems(path: String, options: LoadOptions) throws -> FeatureTable {
        var keys: [String] = []
        var titles: [String?] = []
        var years: [Double?] = []
        var genres: [[String]?] = []
        var noReport: LoadReport? = nil
        let names = ["item_id", "title", "release_date", "video_release_date", "url"] + genres100K
        let reader = TableReader(path: path, separator: "|", encoding: options.encoding ?? .latin1, fixedNames: names)
        try reader.read(skipBadRows: false, report: &noReport, header: { _ in }) { fields in
            keys.append(try fields.identifier(0))
            let title = try fields.string(1)
            titles.append(title.isEmpty ? nil : title)
            let date = try fields.string(2)
            years.append(date.count >= 4 ? Double(date.suffix(4)) : nil)
            var list: [String] = []
            for (offset, genre) in genres100K.enumerated() where try fields.string(5 + offset) == "1" {
                list.append(genre)
            }
            genres.append(list.isEmpty ? nil : list)
        }
        return FeatureTable(
            keyField: "item_id", keys: keys,
            columns: [
                FeatureColumn(name: "title", type: .token, values: .token(titles)),
                FeatureColumn(name: "release_year", type: .float, values: .float(years)),
                FeatureColumn(name: "genre", type: .tokenSequence, values: .tokenSequence(genres)),
            ])
    }

    /// `user id | age | gender | occupation | zip code`.
    static func load100KUsers(path: String, options: LoadOptions) throws -> FeatureTable {
        try loadUsers(
            path: path, separator: "|", encoding: .latin1, options: options,
            names: ["user_id", "age", "gender", "occupation", "zip_code"])
    }

    /// `UserID::Gender::Age::Occupation::Zip-code`.
    static func load1MUsers(path: String, options: LoadOptions) throws -> FeatureTable {
        try loadUsers(
            path: path, separator: "::", encoding: .latin1, options: options,
            names: ["user_id", "gender", "age", "occupation", "zip_code"])
    }

    private static func loadUsers(
        path: String, separator: String, encoding: TextEncoding, options: LoadOptions, names: [String]
    ) throws -> FeatureTable {
        var keys: [String] = []
        var columns = [[String?]](repeating: [], count: names.count - 1)
        var ages: [Double?] = []
        var noReport: LoadReport? = nil
        let reader = TableReader(
            path: path, separator: separator, encoding: options.encoding ?? encoding, fixedNames: names)
        try reader.read(skipBadRows: false, report: &noReport, header: { _ in }) { fields in
            keys.append(try fields.identifier(0))
            for index in 1..<names.count {
                if names[index] == "age" {
                    ages.append(try fields.optionalNumber(index))
                } else {
                    let text = try fields.string(index)
                    columns[index - 1].append(text.isEmpty ? nil : text)
                }
            }
        }
        var result: [FeatureColumn] = []
        for index in 1..<names.count {
            if names[index] == "age" {
                result.append(FeatureColumn(name: "age", type: .float, values: .float(ages)))
            } else {
                result.append(FeatureColumn(name: names[index], type: .token, values: .token(columns[index - 1])))
            }
        }
        return FeatureTable(keyField: "user_id", keys: keys, columns: result)
    }

    /// `MovieID::Title (Year)::Genre|Genre`.
    static func load1MItems(path: String, options: LoadOptions) throws -> FeatureTable {
        var keys: [String] = []
        var titles: [String?] = []
        var years: [Double?] = []
        var genres: [[String]?] = []
        var noReport: LoadReport? = nil
        let reader = TableReader(
            path: path, separator: "::", encoding: options.encoding ?? .latin1,
            fixedNames: ["item_id", "title", "genres"])
        try reader.read(skipBadRows: false, report: &noReport, header: { _ in }) { fields in
            keys.append(try fields.identifier(0))
            let title = try fields.string(1)
            titles.append(title.isEmpty ? nil : title)
            var year: Double?
            if title.hasSuffix(")"), let open = title.lastIndex(of: "(") {
                year = Double(title[title.index(after: open)..<title.index(before: title.endIndex)])
            }
            years.append(year)
            let list = try fields.string(2).split(separator: "|").map(String.init)
            genres.append(list.isEmpty ? nil : list)
        }
        return FeatureTable(
            keyField: "item_id", keys: keys,
            columns: [
                FeatureColumn(name: "title", type: .token, values: .token(titles)),
                FeatureColumn(name: "release_year", type: .float, values: .float(years)),
                FeatureColumn(name: "genre", type: .tokenSequence, values: .tokenSequence(genres)),
            ])
    }
}
