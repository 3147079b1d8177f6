import Foundation
import NeuralNet
import RecData
import Tensors

extension TextCNN {
    /// Word tokens (from title-like columns, in order) and attribute tokens (everything else).
    struct Vocabulary: Equatable {
        var words: [String] = []
        var attributes: [String] = []
        var wordIndex: [String: Int32] = [:]
        var attributeIndex: [String: Int32] = [:]

        init() {}

        init(tokens: [[String]]) {
            for row in tokens {
                for token in row {
                    if Self.isWord(token) {
                        if wordIndex[token] == nil {
                            words.append(token)
                            wordIndex[token] = Int32(words.count)  // 0 is padding
                        }
                    } else if attributeIndex[token] == nil {
                        attributes.append(token)
                        attributeIndex[token] = Int32(attributes.count)
                    }
                }
            }
        }

        static func isWord(_ token: String) -> Bool {
            token.split(separator: ":", maxSplits: 1).first.map { FeatureTokens.isTextColumn(String($0)) } ?? false
        }

        func tensors() -> [String: SafeTensor] {
            func pack(_ strings: [String], _ name: String) -> [String: SafeTensor] {
                var bytes: [Int32] = []
                var offsets: [Int64] = [0]
                for string in strings {
                    bytes += string.utf8.map { Int32($0) }
                    offsets.append(Int64(bytes.count))
                }
                return [
                    "vocabulary.\(name).bytes": SafeTensor(bytes), "vocabulary.\(name).offsets": SafeTensor(offsets),
                ]
            }
            return pack(words, "words").merging(pack(attributes, "attributes")) { $1 }
        }

        init(tensors: [String: SafeTensor]) throws {
            func unpack(_ name: String) throws -> [String] {
                let bytesKey = "vocabulary.\(name).bytes"
                let offsetsKey = "vocabulary.\(name).offsets"
                guard let bytes = try tensors[bytesKey]?.int32s(key: bytesKey),
                    let offsets = try tensors[offsetsKey]?.int64s(key: offsetsKey), offsets.first == 0,
                    offsets.last == Int64(bytes.count), zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 })
                else { throw CheckpointError.missingKeys([bytesKey, offsetsKey]) }
                return (0..<(offsets.count - 1)).map { i in
                    String(
                        decoding: bytes[Int(offsets[i])..<Int(offsets[i + 1])].map { UInt8(truncatingIfNeeded: $0) },
                        as: UTF8.self)
                }
            }
            self.init()
            words = try unpack("words")
            attributes = try unpack("attributes")
            for (i, word) in words.enumerated() { wordIndex[word] = Int32(i + 1) }
            for (i, attribute) in attributes.enumerated() { attributeIndex[attribute] = Int32(i + 1) }
        }
    }

    /// Each item's word ids (padded to `maxWords` with 0) and attribute ids (a ragged list).
    struct ItemTokens: Equatable {
        var maxWords = 1
        var words: [[Int32]] = []
        var attributes: [[Int32]] = []
        var count: Int { words.count }

        init() {}

        init(tokens: [[String]], vocabulary: Vocabulary, maxWords: Int) {
            self.maxWords = maxWords
            words = tokens.map { row in Array(row.compactMap { vocabulary.wordIndex[$0] }.prefix(maxWords)) }
            attributes = tokens.map { row in Array(Set(row.compactMap { vocabulary.attributeIndex[$0] })).sorted() }
        }

        func tensors() -> [String: SafeTensor] {
            func pack(_ rows: [[Int32]], _ name: String) -> [String: SafeTensor] {
                var offsets: [Int64] = [0]
                for row in rows { offsets.append(offsets[offsets.count - 1] + Int64(row.count)) }
                return [
                    "items.\(name).indices": SafeTensor(rows.flatMap { $0 }),
                    "items.\(name).offsets": SafeTensor(offsets),
                ]
            }
            var result = pack(words, "words").merging(pack(attributes, "attributes")) { $1 }
            result["items.max_words"] = SafeTensor([Int64(maxWords)])
            return result
        }

        init(tensors: [String: SafeTensor]) throws {
            func unpack(_ name: String) throws -> [[Int32]] {
                let (indicesKey, offsetsKey) = ("items.\(name).indices", "items.\(name).offsets")
                guard let indices = try tensors[indicesKey]?.int32s(key: indicesKey),
                    let offsets = try tensors[offsetsKey]?.int64s(key: offsetsKey), offsets.first == 0,
                    offsets.last == Int64(indices.count), zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 })
                else { throw CheckpointError.missingKeys([indicesKey, offsetsKey]) }
                return (0..<(offsets.count - 1)).map { Array(indices[Int(offsets[$0])..<Int(offsets[$0 + 1])]) }
            }
            self.init()
            words = try unpack("words")
            attributes = try unpack("attributes")
            guard words.count == attributes.count, let width = try tensors["items.max_words"]?.int64s().first,
                width > 0
            else { throw CheckpointError.missingKeys(["items.max_words"]) }
            maxWords = Int(width)
        }
    }
}
