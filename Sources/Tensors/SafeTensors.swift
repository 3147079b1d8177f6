import Foundation

/// Failures reading or writing a checkpoint.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read or written.
    case io(path: String, reason: String)
    /// The file is not a valid safetensors file.
    case malformed(path: String, reason: String)
    /// Keys the model needs that the file lacks.
    case missingKeys([String])
    /// Keys the file has that the model does not know.
    case unexpectedKeys([String])
    /// A tensor has the wrong dtype or shape for the model.
    case mismatch(key: String, expected: String, found: String)

    public var description: String {
        switch self {
        case .io(let path, let reason): return "\(path): \(reason)"
        case .malformed(let path, let reason): return "\(path): not a valid safetensors file: \(reason)"
        case .missingKeys(let keys): return "checkpoint lacks keys: \(keys.joined(separator: ", "))"
        case .unexpectedKeys(let keys): return "checkpoint has unexpected keys: \(keys.joined(separator: ", "))"
        case .mismatch(let key, let expected, let found): return "\(key): expected \(expected), found \(found)"
        }
    }
}

/// One tensor of a safetensors file: dtype, shape and little-endian bytes.
public struct SafeTensor: Sendable, Equatable {
    /// The element types RecKit reads and writes.
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32"
        case f64 = "F64"
        case i32 = "I32"
        case i64 = "I64"
        case u8 = "U8"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .u8: return 1
            case .f32, .i32: return 4
            case .f64, .i64: return 8
            }
        }
    }

    public let dtype: DType
    public let shape: [Int]
    /// Raw little-endian element bytes, `shape.product * dtype.size` of them.
    public let bytes: [UInt8]

    public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
        checkArgument(
            shape.reduce(1, *) * dtype.size == bytes.count,
            "safetensor: shape \(shape) of \(dtype.rawValue) needs \(shape.reduce(1, *) * dtype.size) bytes, got \(bytes.count)"
        )
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    private static func pack<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }  // every supported platform is little-endian
    }

    public init(_ values: [Float], shape: [Int]? = nil) {
        self.init(dtype: .f32, shape: shape ?? [values.count], bytes: Self.pack(values))
    }
    public init(_ values: [Double], shape: [Int]? = nil) {
        self.init(dtype: .f64, shape: shape ?? [values.count], bytes: Self.pack(values))
    }
    public init(_ values: [Int32], shape: [Int]? = nil) {
        self.init(dtype: .i32, shape: shape ?? [values.count], bytes: Self.pack(values))
    }
    public init(_ values: [Int64], shape: [Int]? = nil) {
        self.init(dtype: .i64, shape: shape ?? [values.count], bytes: Self.pack(values))
    }

    /// Strings as one U8 tensor: their UTF-8 bytes, each followed by a zero byte.
    public init(strings: [String]) {
        var bytes: [UInt8] = []
        for string in strings { bytes += Array(string.utf8) + [0] }
        self.init(dtype: .u8, shape: [bytes.count], bytes: bytes)
    }

    private func unpack<T>(_ type: T.Type, _ expected: DType, key: String) throws -> [T] {
        guard dtype == expected else {
            throw CheckpointError.mismatch(key: key, expected: expected.rawValue, found: dtype.rawValue)
        }
        let count = bytes.count / dtype.size
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                let target = UnsafeMutableRawBufferPointer(buffer)
                target.copyMemory(from: raw)
            }
            initialized = count
        }
    }

    /// The elements as `Float`; throws if the dtype is not F32.
    public func floats(key: String = "") throws -> [Float] { try unpack(Float.self, .f32, key: key) }
    /// The elements as `Int32`; throws if the dtype is not I32.
    public func int32s(key: String = "") throws -> [Int32] { try unpack(Int32.self, .i32, key: key) }
    /// The elements as `Int64`; throws if the dtype is not I64.
    public func int64s(key: String = "") throws -> [Int64] { try unpack(Int64.self, .i64, key: key) }

    /// The strings of a tensor written by ``init(strings:)``; throws if the dtype is not U8.
    public func strings(key: String = "") throws -> [String] {
        guard dtype == .u8 else { throw CheckpointError.mismatch(key: key, expected: "U8", found: dtype.rawValue) }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
            String(decoding: $0, as: UTF8.self)
        }
    }
}

/// The safetensors file format (Hugging Face): an 8-byte little-endian header length, a JSON
/// header mapping each name to `{dtype, shape, data_offsets}`, then the packed data.
///
/// Files written here load with Python's `safetensors.numpy.load_file` and `torch`.
public enum SafeTensors {
    /// Writes `tensors` (and optional string `metadata`) to `url`, atomically.
    public static func write(_ tensors: [String: SafeTensor], metadata: [String: String] = [:], to url: URL) throws {
        let sorted = tensors.sorted { $0.key < $1.key }
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in sorted {
            header[name] = [
                "dtype": tensor.dtype.rawValue, "shape": tensor.shape,
                "data_offsets": [offset, offset + tensor.bytes.count],
            ]
            offset += tensor.bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces, as the reference writer does
        var data = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for (_, tensor) in sorted { data.append(contentsOf: tensor.bytes) }
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw CheckpointError.io(path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Reads every tensor of a safetensors file, with its metadata.
    ///
    /// - Throws: ``CheckpointError/malformed(path:reason:)`` for a bad header, offsets outside
    ///   the file, overlapping tensors, or an unsupported dtype.
    public static func read(from url: URL) throws -> (tensors: [String: SafeTensor], metadata: [String: String]) {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError.io(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        guard data.count >= 8 else { throw CheckpointError.malformed(path: path, reason: "shorter than 8 bytes") }
        let bytes = [UInt8](data)
        var headerLength = 0
        for i in 0..<8 { headerLength |= Int(bytes[i]) << (8 * i) }
        guard headerLength > 0, headerLength <= bytes.count - 8, headerLength < 100_000_000 else {
            throw CheckpointError.malformed(path: path, reason: "header length \(headerLength) does not fit the file")
        }
        let headerData = Data(bytes[8..<(8 + headerLength)])
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw CheckpointError.malformed(path: path, reason: "header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart
        var metadata: [String: String] = [:]
        var tensors: [String: SafeTensor] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let dict = value as? [String: String] else {
                    throw CheckpointError.malformed(path: path, reason: "__metadata__ must map strings to strings")
                }
                metadata = dict
                continue
            }
            guard let entry = value as? [String: Any], let dtypeName = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int],
                offsets.count == 2
            else {
                throw CheckpointError.malformed(path: path, reason: "entry \(name) lacks dtype, shape or data_offsets")
            }
            guard let dtype = SafeTensor.DType(rawValue: dtypeName) else {
                throw CheckpointError.malformed(path: path, reason: "\(name) has unsupported dtype \(dtypeName)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard shape.allSatisfy({ $0 >= 0 }), begin >= 0, begin <= end, end <= dataLength else {
                throw CheckpointError.malformed(
                    path: path, reason: "\(name) has offsets \(offsets) outside \(dataLength) data bytes")
            }
            let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
            guard count * dtype.size == end - begin else {
                throw CheckpointError.malformed(
                    path: path, reason: "\(name) has shape \(shape) but \(end - begin) bytes")
            }
            ranges.append((begin, end, name))
            tensors[name] = SafeTensor(
                dtype: dtype, shape: shape, bytes: Array(bytes[(dataStart + begin)..<(dataStart + end)]))
        }
        // Empty tensors (begin == end) occupy no bytes and overlap nothing.
        ranges = ranges.filter { $0.0 < $0.1 }.sorted { $0.0 < $1.0 }
        for (previous, next) in zip(ranges, ranges.dropFirst()) where next.0 < previous.1 {
            throw CheckpointError.malformed(path: path, reason: "\(previous.2) and \(next.2) overlap")
        }
        return (tensors, metadata)
    }

    /// Checks that `tensors` holds exactly `expected` keys, as a strict load requires.
    ///
    /// - Throws: ``CheckpointError/missingKeys(_:)`` first, then ``CheckpointError/unexpectedKeys(_:)``.
    public static func requireExactKeys(_ tensors: [String: SafeTensor], expected: Set<String>) throws {
        let present = Set(tensors.keys)
        let missing = expected.subtracting(present).sorted()
        if !missing.isEmpty { throw CheckpointError.missingKeys(missing) }
        let unexpected = present.subtracting(expected).sorted()
        if !unexpected.isEmpty { throw CheckpointError.unexpectedKeys(unexpected) }
    }
}
