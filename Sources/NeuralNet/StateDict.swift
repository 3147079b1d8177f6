import Foundation
import Tensors

/// Saving and loading a layer's parameters as a safetensors file, keyed by torch-style names.
///
/// A file written here loads with `model.load_state_dict(safetensors.torch.load_file(path))`
/// for the torch module with the same structure. Loading is strict, as torch's default.
public enum StateDict {
    /// The parameters of `layer` as safetensors entries (`F32` for `Float`, `F64` for `Double`).
    public static func tensors<L: Layer>(of layer: L) -> [String: SafeTensor] {
        var result: [String: SafeTensor] = [:]
        for (name, parameter) in layer.namedParameters {
            let bytes = parameter.value.scalars.withUnsafeBytes { Array($0) }
            result[name] = SafeTensor(dtype: L.Scalar.safeTensorDType, shape: parameter.shape, bytes: bytes)
        }
        return result
    }

    /// Writes `layer`'s parameters to `url`.
    public static func save<L: Layer>(_ layer: L, to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(tensors(of: layer), metadata: metadata, to: url)
    }

    /// Replaces `layer`'s parameter values with `tensors`.
    ///
    /// - Throws: ``CheckpointError/missingKeys(_:)`` or ``CheckpointError/unexpectedKeys(_:)``
    ///   unless the keys match exactly; ``CheckpointError/mismatch(key:expected:found:)`` for a
    ///   wrong dtype or shape. Nothing is changed unless every tensor fits.
    public static func load<L: Layer>(_ tensors: [String: SafeTensor], into layer: L) throws {
        let named = layer.namedParameters
        try SafeTensors.requireExactKeys(tensors, expected: Set(named.map(\.name)))
        var values: [(Parameter<L.Scalar>, Tensor<L.Scalar>)] = []
        for (name, parameter) in named {
            guard let tensor = tensors[name] else { throw CheckpointError.missingKeys([name]) }
            let dtype = L.Scalar.safeTensorDType
            guard tensor.dtype == dtype else {
                throw CheckpointError.mismatch(key: name, expected: dtype.rawValue, found: tensor.dtype.rawValue)
            }
            guard tensor.shape == parameter.shape else {
                throw CheckpointError.mismatch(key: name, expected: "\(parameter.shape)", found: "\(tensor.shape)")
            }
            let count = tensor.bytes.count / dtype.size
            let scalars = [L.Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
                tensor.bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
                initialized = count
            }
            values.append((parameter, Tensor(shape: tensor.shape, scalars: scalars)))
        }
        for (parameter, value) in values { parameter.value = value }
    }

    /// Reads `url` and loads it into `layer` strictly; see ``load(_:into:)``.
    public static func load<L: Layer>(from url: URL, into layer: L) throws {
        try load(SafeTensors.read(from: url).tensors, into: layer)
    }
}
