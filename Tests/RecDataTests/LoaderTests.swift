import Foundation
import Testing
import _RecTestSupport

@testable import RecData

struct LoaderTests {
    let folder = temporaryDirectory()

    @Test func atomicFilesLoadWithFeatures() throws {
        writeFile(
            folder, "toy.inter",
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t10\t4\t100\n2\t10\t3\t90\n1\t11\t5\t95\n")
        writeFile(
            folder, "toy.item",
            "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n10\tToy Story\t1995\tAnimation Comedy\n11\tHeat\t\tAction\n"
        )
        writeFile(folder, "toy.user", "user_id:token\tage:float\tgender:token\n1\t24\tM\n2\t\t\n")
        let dataset = try Dataset.load(path: folder.path)
        #expect(dataset.name == "toy")
        #expect(dataset.interactions.count == 3)
        #expect(dataset.interactions.userIDs.externalIDs == ["1", "2"])
        #expect(dataset.interactions.itemIDs.externalIDs == ["10", "11"])
        #expect(dataset.interactions.users == [0, 1, 0])
        #expect(dataset.interactions.ratings == [4, 3, 5])
        #expect(dataset.interactions.timestamps == [100, 90, 95])
        #expect(dataset.title(ofItem: 0) == "Toy Story (1995)")
        #expect(dataset.title(ofItem: 1) == "Heat")
        #expect(
            dataset.itemFeatures?.column(named: "class")?.values
                == .tokenSequence([["Animation", "Comedy"], ["Action"]]))
        // Missing values filled: token → "unknown", float → median of present values.
        #expect(dataset.itemFeatures?.column(named: "release_year")?.values == .token(["1995", "unknown"]))
        #expect(dataset.userFeatures?.column(named: "age")?.values == .float([24, 24]))
        #expect(dataset.userFeatures?.column(named: "gender")?.values == .token(["M", "unknown"]))
        #expect(dataset.report.filledMissing == ["item.release_year": 1, "user.age": 1, "user.gender": 1])
    }

    @Test func movieLens100KOriginals() throws {
        writeFile(folder, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
        let flags = (0..<19).map { $0 == 3 || $0 == 5 ? "1" : "0" }.joined(separator: "|")
        writeFile(
            folder, "u.item",
            "242|Kolya (1996)|24-Jan-1997||http://x|\(flags)\n302|L.A. Confidential (1997)|01-Jan-1997||http://y|\(flags)\n"
        )
        let dataset = try Dataset.load(path: folder.path)
        #expect(dataset.name == "ml-100k")
        #expect(dataset.interactions.count == 2)
        #expect(dataset.title(ofItem: 0) == "Kolya (1996)")
        #expect(
            dataset.itemFeatures?.column(named: "genre")?.values
                == .tokenSequence([["Animation", "Comedy"], ["Animation", "Comedy"]]))
    }

    @Test func movieLens1MOriginalsAreLatin1WithDoubleColons() throws {
        writeFile(folder, "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n")
        // "Misérables" in Latin-1: é is the single byte 0xE9.
        let movies =
            Array("1193::Les Mis".utf8) + [0xE9]
            + Array("rables (1995)::Drama|Musical\n661::James (1996)::Animation\n".utf8)
        writeFile(folder, "movies.dat", bytes: movies)
        let dataset = try Dataset.load(path: folder.path)
        #expect(dataset.interactions.count == 2)
        #expect(dataset.title(ofItem: 0) == "Les Misérables (1995)")
        #expect(dataset.itemFeatures?.column(named: "release_year")?.values == .float([1995, 1996]))
    }

    @Test func csvWithNamedColumnsAndQuotes() throws {
        let path = writeFile(
            folder, "log.csv", "when,who,what\n5,alice,\"Heat, the movie\"\n6,bob,\"say \"\"hi\"\"\"\n")
        var options = LoadOptions()
        options.userField = "who"
        options.itemField = "what"
        options.timestampField = "when"
        let dataset = try Dataset.load(path: path, options: options)
        #expect(dataset.interactions.itemIDs.externalIDs == ["Heat, the movie", "say \"hi\""])
        #expect(dataset.interactions.timestamps == [5, 6])
        #expect(dataset.interactions.ratings == nil)
    }

    @Test func byteOrderMarkCRLFAndTrailingSeparatorsAreTolerated() throws {
        let text = "user_id:token\titem_id:token\r\n1\t2\t\r\n3\t4\r\n\r\n"
        let path = writeFile(folder, "bom.inter", bytes: [0xEF, 0xBB, 0xBF] + Array(text.utf8))
        let dataset = try Dataset.load(path: path)
        #expect(dataset.interactions.userIDs.externalIDs == ["1", "3"])
        #expect(dataset.interactions.itemIDs.externalIDs == ["2", "4"])
    }

    @Test func aTenMegabyteLineLoads() throws {
        // The long field is a column the loader does not keep: identifiers stop at 256 bytes.
        let long = String(repeating: "x", count: 10_000_000)
        let path = writeFile(
            folder, "long.inter", "user_id:token\titem_id:token\tnote:token\n1\tlong\t\(long)\n2\tshort\t\n")
        let dataset = try Dataset.load(path: path)
        #expect(dataset.interactions.count == 2)
        #expect(dataset.interactions.itemIDs.externalIDs == ["long", "short"])
    }

    @Test(
        arguments: [
            (
                "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t3\n1\t2\tsoon\n", 3, "timestamp",
                "'soon' is not a finite number"
            ),
            ("user_id:token\titem_id:token\n1\t2\n1\t2\t3\t4\n", 3, nil, "expected 2 fields, found 4"),
            ("user_id:token\titem_id:token\n1\t2\n\t2\n", 3, "user_id", "empty identifier"),
            ("user_id:token\titem_id:token\trating:float\n1\t2\t\n", 2, "rating", "missing value"),
            // Issue 43: identifiers with control characters or of unbounded length, and times no
            // timestamp can hold, are refused where they are read.
            (
                "user_id:token\titem_id:token\nu\u{1}x\t2\n", 2, "user_id",
                "the identifier contains the control character U+0001"
            ),
            (
                "user_id:token\titem_id:token\n1\t\(String(repeating: "i", count: 257))\n", 2, "item_id",
                "the identifier is longer than 256 bytes"
            ),
            (
                "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t1e18\n", 2, "timestamp",
                "1e+18 is not a Unix time in years 1 to 9999"
            ),
        ] as [(String, Int, String?, String)])
    func badRowsNameFileLineColumnAndReason(text: String, line: Int, column: String?, reason: String) throws {
        let path = writeFile(folder, "bad.inter", text)
        #expect(throws: DatasetError.malformedLine(path: path, line: line, column: column, reason: reason)) {
            try Dataset.load(path: path)
        }
    }

    @Test func invalidUTF8IsAnErrorWithTheLine() throws {
        let bytes = Array("user_id:token\titem_id:token\n1\t2\n2\t".utf8) + [0xFF, 0xFE] + [0x0A]
        let path = writeFile(folder, "bytes.inter", bytes: bytes)
        #expect(
            throws: DatasetError.malformedLine(
                path: path, line: 3, column: "item_id", reason: "bytes are not valid UTF-8")
        ) {
            try Dataset.load(path: path)
        }
        var options = LoadOptions()
        options.encoding = .latin1
        #expect(try Dataset.load(path: path, options: options).interactions.itemIDs.externalIDs == ["2", "ÿþ"])
    }

    @Test func skipBadRowsCountsAndReports() throws {
        let path = writeFile(
            folder, "mixed.inter", "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t3\nx\ty\tz\n4\t5\t6\n7\t8\n")
        var options = LoadOptions()
        options.skipBadRows = true
        let dataset = try Dataset.load(path: path, options: options)
        #expect(dataset.interactions.count == 2)
        #expect(dataset.report.rows == 4)
        #expect(dataset.report.skippedRows == 2)
        #expect(dataset.report.skippedExamples.first == "\(path):3: column 'timestamp': 'z' is not a finite number")
    }

    @Test func emptyFileAndMissingColumn() throws {
        let empty = writeFile(folder, "empty.inter", "")
        #expect(throws: DatasetError.emptyFile(path: empty)) { try Dataset.load(path: empty) }
        let headerOnly = writeFile(folder, "header.inter", "user_id:token\titem_id:token\n")
        #expect(throws: DatasetError.noRows(path: headerOnly)) { try Dataset.load(path: headerOnly) }
        #expect(
            DatasetError.noRows(path: headerOnly).description.hasSuffix("the header is there but no row follows it"))
        let noItem = writeFile(folder, "noitem.inter", "user_id:token\tthing:token\n1\t2\n")
        #expect(throws: DatasetError.missingColumn(path: noItem, column: "item_id", available: ["user_id", "thing"])) {
            try Dataset.load(path: noItem)
        }
        let badHeader = writeFile(folder, "badheader.inter", "user_id\titem_id:token\n1\t2\n")
        #expect(throws: DatasetError.self) { try Dataset.load(path: badHeader) }
        #expect(throws: DatasetError.unreadable(path: "/nonexistent/x.inter", reason: "no such file or folder")) {
            try Dataset.load(path: "/nonexistent/x.inter")
        }
    }

    @Test func numbersParseLikeStrtod() {
        func parse(_ text: String) -> Double? {
            Array(text.utf8).withUnsafeBufferPointer { FieldDecoder.double($0) }
        }
        #expect(parse("881250949") == 881250949)
        #expect(parse("-12") == -12)
        #expect(parse("3.5") == 3.5)
        #expect(parse("1e3") == 1000)
        #expect(parse(" 7 ") == 7)
        #expect(parse("") == nil)
        #expect(parse("12abc") == nil)
        #expect(parse("nan") == nil)
        #expect(parse("inf") == nil)
    }
}
