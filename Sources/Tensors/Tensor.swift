/// A dense tensor: a shape and contiguous row-major storage.
///
/// `scalars[((i0 * s1 + i1) * s2 + i2)...]` holds element `(i0, i1, i2, …)`. The storage is a
/// Swift array, so copies are copy-on-write: `reshaped` and passing a tensor around never copy
/// the elements. Arrays are allocated 16-byte aligned, which is what the SSE vector loads the
/// kernels compile to need.
///
/// `Tensor` is only data. Differentiable computation happens on ``Variable`` values recorded on
/// a ``Tape``.
public struct Tensor<Scalar: TensorScalar>: Sendable, Equatable {
    /// The extent of each axis; `[]` is a scalar (one element).
    public let shape: [Int]
    /// Row-major elements, `shape.product` of them.
    public var scalars: [Scalar]

    /// A tensor over existing row-major storage.
    public init(shape: [Int], scalars: [Scalar]) {
        checkArgument(shape.allSatisfy { $0 >= 0 }, "tensor: negative extent in shape \(shape)")
        checkArgument(
            Self.count(of: shape) == scalars.count,
            "tensor: shape \(shape) needs \(Self.count(of: shape)) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` with every element `value`.
    public init(shape: [Int], repeating value: Scalar) {
        checkArgument(shape.allSatisfy { $0 >= 0 }, "tensor: negative extent in shape \(shape)")
        self.shape = shape
        self.scalars = Array(repeating: value, count: Self.count(of: shape))
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        checkArgument(shape.allSatisfy { $0 >= 0 }, "tensor: negative extent in shape \(shape)")
        let count = Self.count(of: shape)
        self.shape = shape
        // All-zero bytes are +0.0 for IEEE floats; a byte fill is fast even where the generic
        // code is not specialized (an element-wise `repeating:` copy goes through value witnesses).
        self.scalars = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress {
                UnsafeMutableRawPointer(base).initializeMemory(
                    as: UInt8.self, repeating: 0, count: count * MemoryLayout<Scalar>.stride)
            }
            initialized = count
        }
    }

    /// A tensor whose elements hold whatever the allocator left there: for outputs that the
    /// caller overwrites completely before anything reads them (a product with `beta` 0, a copy),
    /// where a zero fill first would be wasted (it was 8% of a GRU training step).
    init(uninitialized shape: [Int]) {
        checkArgument(shape.allSatisfy { $0 >= 0 }, "tensor: negative extent in shape \(shape)")
        let count = Self.count(of: shape)
        self.shape = shape
        self.scalars = [Scalar](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    /// A rank-0 tensor holding `value`.
    public init(scalar value: Scalar) { self.init(shape: [], scalars: [value]) }

    /// A `(rows, columns)` tensor over a matrix's storage.
    public init(_ matrix: Matrix<Scalar>) {
        self.init(shape: [matrix.rows, matrix.columns], scalars: matrix.storage)
    }

    /// The only element of a one-element tensor (a loss, say).
    public var scalar: Scalar {
        checkArgument(count == 1, "tensor: scalar of shape \(shape), which has \(count) elements")
        return scalars[0]
    }

    /// The number of elements, the product of `shape`.
    public var count: Int { scalars.count }
    /// The number of axes.
    public var rank: Int { shape.count }

    /// The same elements under another shape with the same element count (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        checkArgument(
            Self.count(of: newShape) == count,
            "reshape: shape \(shape) has \(count) elements, \(newShape) needs \(Self.count(of: newShape))")
        return Tensor(shape: newShape, scalars: scalars)
    }

    /// The element at a full index, one entry per axis.
    public subscript(_ index: Int...) -> Scalar {
        get { scalars[offset(of: index)] }
        set { scalars[offset(of: index)] = newValue }
    }

    private func offset(of index: [Int]) -> Int {
        checkArgument(index.count == rank, "tensor: index \(index) for shape \(shape)")
        var offset = 0
        for (i, extent) in zip(index, shape) {
            checkArgument(i >= 0 && i < extent, "tensor: index \(index) out of shape \(shape)")
            offset = offset * extent + i
        }
        return offset
    }

    /// The product of the extents.
    public static func count(of shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major strides of `shape`, in elements.
    static func strides(of shape: [Int]) -> [Int] {
        var strides = Array(repeating: 1, count: shape.count)
        var stride = 1
        for axis in shape.indices.reversed() {
            strides[axis] = stride
            stride *= shape[axis]
        }
        return strides
    }
}

extension Tensor {
    /// Elements drawn from `N(mean, standardDeviation²)`.
    public static func randomNormal(
        shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1,
        using generator: inout some RandomNumberGenerator
    ) -> Tensor {
        let scalars = (0..<count(of: shape)).map { _ in
            mean + standardDeviation * Scalar.normalRandom(using: &generator)
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// Elements drawn uniformly from `[range.lowerBound, range.upperBound)`.
    public static func randomUniform(
        shape: [Int], in range: Range<Scalar>, using generator: inout some RandomNumberGenerator
    ) -> Tensor {
        let width = range.upperBound - range.lowerBound
        let scalars = (0..<count(of: shape)).map { _ in
            range.lowerBound + width * Scalar.unitRandom(using: &generator)
        }
        return Tensor(shape: shape, scalars: scalars)
    }
}
