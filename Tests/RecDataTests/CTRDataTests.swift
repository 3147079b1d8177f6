import Foundation
import Testing
import _RecTestSupport

@testable import RecData

/// The `ctr` protocol's data: labels, features, context, behaviour sequences, splits (issue 46).
struct CTRDataTests {
    let folder = temporaryDirectory()

    /// A toy folder: user 1 rates three films (two at one timestamp), user 2 one.
    func writeToy(user: String? = nil, item: String? = nil) {
        writeFile(
            folder, "toy.inter",
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                + "1\t10\t4\t100\n2\t10\t3\t90\n1\t11\t5\t200\n1\t12\t2\t200\n1\t10\t1\t90061\n")
        writeFile(
            folder, "toy.user",
            user
                ?? "user_id:token\tage:float\tgender:token\toccupation:token\tzip_code:token\n1\t24.0\tM\tartist\t02460\n"
        )
        writeFile(
            folder, "toy.item",
            item
                ?? "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
                + "10\tToy Story: The Toy\t1995\tAnimation Comedy\n11\tHeat\tunkonwn\tAction\n")
    }

    @Test func eventsCarryLabelsFeaturesContextAndEarlierItems() throws {
        writeToy()
        let data = try CTRDataset.load(folder.path)
        #expect(data.name == "toy")
        #expect(data.labels == [1, 0, 1, 0, 0])
        #expect(data.userFeatures[0] == CTRUserFeatures(gender: "M", age: "24", occupation: "artist", zipPrefix: "02"))
        #expect(data.userFeatures[1] == .missing)
        #expect(
            data.itemFeatures[0]
                == CTRItemFeatures(
                    genres: ["Animation", "Comedy"], year: "1995", titleTokens: ["toy", "story", "the"]))
        #expect(data.itemFeatures[1] == CTRItemFeatures(genres: ["Action"], year: "", titleTokens: ["heat"]))
        #expect(data.itemFeatures[2] == .missing)
        // Strictly earlier timestamps only: items 11 and 12 share time 200, so neither sees the other.
        #expect(data.history(of: 0).map { data.log.itemIDs[$0] } == [])
        #expect(data.history(of: 2).map { data.log.itemIDs[$0] } == ["10"])
        #expect(data.history(of: 3).map { data.log.itemIDs[$0] } == ["10"])
        #expect(data.history(of: 4).map { data.log.itemIDs[$0] } == ["10", "11", "12"])
        #expect(data.history(of: 4, limit: 2).map { data.log.itemIDs[$0] } == ["11", "12"])
        // 90061 s = 1970-01-02 01:01:01 UTC, a Friday (4); time 100 is Thursday 00:01:40.
        #expect((data.hour(of: 4), data.weekday(of: 4)) == (1, 4))
        #expect((data.hour(of: 0), data.weekday(of: 0)) == (0, 3))
        #expect(CTRDataset.weekday(ofTime: -1) == 2)
        #expect(CTRDataset.hour(ofTime: -1) == 23)
    }

    @Test func vocabulariesComeFromTrainingEventsOnly() throws {
        writeToy()
        let data = try CTRDataset.load(folder.path)
        // Train on user 2's event only: user 1, item 11 and every user feature are unknown.
        let space = CTRFeatureSpace(training: [1], of: data, historyLimit: 4)
        let batch = data.batch([1, 2], in: space)
        let offsets = space.offsets
        #expect(batch.fields.count == 2 * CTRField.single.count)
        #expect(batch.fields[0] == Int32(offsets[0]) + 1)  // user 2, known
        #expect(batch.fields[9] == Int32(offsets[0]))  // user 1, unknown
        #expect(batch.fields[10] == Int32(offsets[1]))  // item 11, unknown
        #expect(batch.fields[1] == Int32(offsets[1]) + 1)  // item 10
        // Event 2's behaviour sequence holds item 10, right-padded with the padding row 0.
        #expect(Array(batch.bags[2][4..<8]) == [Int32(offsets[1]) + 1, 0, 0, 0])
        let genre = Int32(offsets[9])
        #expect(Array(batch.bags[0][0..<6]) == [genre + 1, genre + 2, 0, 0, 0, 0])
        #expect(batch.labels == [0, 1])
        // The fast path over indices equals encoding the raw examples.
        for training in [[1], [0, 1, 2, 3, 4]] {
            let other = CTRFeatureSpace(training: training, of: data, historyLimit: 2)
            #expect(data.batch(0..<5, in: other) == other.encode((0..<5).map { data.example($0) }))
        }
        #expect(space.rowCount == 1 + space.vocabularies.reduce(0) { $0 + $1.count })
    }

    @Test func splitsAreSeededPartitionsOrTimeOrdered() throws {
        var pairs: [(user: String, item: String)] = []
        var times: [Double] = []
        for n in 0..<100 {
            pairs.append(("u\(n % 7)", "i\(n % 13)"))
            times.append(Double((n * 37) % 100))
        }
        var log = InteractionLog(pairs: pairs, timestamps: times)
        log.ratings = (0..<100).map { Float($0 % 5 + 1) }
        let data = try CTRDataset(name: "synthetic", log: log)
        let random = data.split(.random, seed: 7)
        #expect((random.train.count, random.validation.count, random.test.count) == (80, 10, 10))
        #expect(Set(random.train + random.validation + random.test) == Set(0..<100))
        #expect(random == data.split(.random, seed: 7))
        #expect(random.train != data.split(.random, seed: 8).train)
        let temporal = data.split(.temporal, seed: 7)
        let latestTrain = temporal.train.map { times[$0] }.max() ?? 0
        #expect(temporal.validation.allSatisfy { times[$0] >= latestTrain })
        #expect(temporal.test.allSatisfy { t in temporal.validation.allSatisfy { times[$0] <= times[t] } })
    }

    @Test(arguments: [
        (
            "user", "user_id:token\tage:float\tgender:token\n1\t24\tM\n1\t30\tF\n",
            "toy.user:3: column 'user_id': duplicate user_id '1'"
        ),
        (
            "user", "user_id:token\tage:float\tgender:token\n1\tyoung\tM\n",
            "toy.user:2: column 'age': 'young' is not a finite number"
        ),
        ("user", "user_id:token\tage:float\tgender:token\n1\t24\n", "toy.user:2: expected 3 fields, found 2"),
        (
            "item", "item_id:token\trelease_year:token\tclass:token_seq\n10\t1995.5\tComedy\n",
            "toy.item:2: column 'release_year': '1995.5' is not a year in 1000...2999"
        ),
        (
            "item", "item_id:token\tyear\n10\t1995\n",
            "toy.item:1: column 'year': header fields must be name:type with type token, token_seq, float or float_seq"
        ),
    ])
    func badFeatureRowsNameFileLineAndColumn(file: String, text: String, expected: String) throws {
        file == "user" ? writeToy(user: text) : writeToy(item: text)
        do {
            _ = try CTRDataset.load(folder.path)
            Issue.record("no error for \(text)")
        } catch let error as DatasetError {
            let description = error.description.replacingOccurrences(of: folder.path + "/", with: "")
            #expect(description == expected)
        }
    }

    @Test func titleTokensAreLowerCasedDistinctAndCapped() {
        #expect(
            CTRItemFeatures.tokens(ofTitle: "Star Wars: Episode IV - A New Hope") == [
                "star", "wars", "episode", "iv", "a", "new", "hope",
            ])
        #expect(CTRItemFeatures.tokens(ofTitle: "a b c d e f g h i j a").count == CTRItemFeatures.titleLimit)
        #expect(CTRItemFeatures.tokens(ofTitle: "Up Up Up") == ["up"])
    }

    @Test func splitFilesHoldEveryFeatureForPythonPeers() throws {
        writeToy()
        let data = try CTRDataset.load(folder.path)
        let out = folder.appendingPathComponent("out")
        try CTRSplitFiles.write(data, split: data.split(.temporal, seed: 1), to: out)
        let train = try String(contentsOf: out.appendingPathComponent("train.csv"), encoding: .utf8)
        let lines = train.split(separator: "\n").map(String.init)
        #expect(lines.first == CTRSplitFiles.columns.joined(separator: ","))
        // Temporal order: the first training event is user 2's at time 90 (item index 0 is "10").
        #expect(lines.count == 1 + 3)
        #expect(lines[1] == "0,2,0,,,,,1995,Animation^Comedy,toy^story^the,0,3,,3,90")
        // User 1's event at 200 on item 11 (its year `unkonwn` missing) saw item 10 (index 0) at 100.
        #expect(lines[3] == "1,1,1,M,24,artist,02,,Action,heat,0,3,0,5,200")
        let items = try String(contentsOf: out.appendingPathComponent("items.csv"), encoding: .utf8)
        #expect(items == "item_id,item\n0,10\n1,11\n2,12\n")
        #expect(CTRSplitFiles.quoted("Heat, The \"Film\"") == "\"Heat, The \"\"Film\"\"\"")
    }
}
