/// A trainable tensor that outlives any one ``Tape``: its value, its accumulated gradient and
/// which rows that gradient touches.
///
/// A parameter is a reference type so a layer (a struct) and an optimizer can share it.
/// Gradients accumulate (`grad += …`) across backward passes until ``zeroGradient()``; the
/// gradient buffer is allocated once and reused across training steps.
///
/// Row sparsity: an embedding gather adds only to the rows a batch touched, and records them,
/// so lazy optimizers update and ``zeroGradient()`` clears only those rows. Any dense gradient
/// (the parameter used in a matrix product, say) marks the whole gradient dense.
///
/// The gradient buffer is allocated by the first backward pass, so a model that only serves
/// holds its weights once.
///
/// Sharing: a parameter is `Sendable` so a trained model (a struct of layers) can be served from
/// several tasks at once, which only read `value`. Training mutates it and must stay on one task
/// at a time. Copying a layer shares its parameters, as torch modules do; to clone a model, load
/// its ``StateDict``-style tensors into a freshly built one.
public final class Parameter<Scalar: TensorScalar>: @unchecked Sendable {
    /// The current value; optimizers update it in place. Keep its shape.
    public var value: Tensor<Scalar>
    private var gradientStorage: Tensor<Scalar>?
    private var rows: Set<Int> = []
    private var isDense = false

    /// A parameter starting at `value`.
    public init(_ value: Tensor<Scalar>) {
        self.value = value
    }

    /// The accumulated gradient, same shape as `value`: zeros until a backward pass adds to it.
    public var grad: Tensor<Scalar> { gradientStorage ?? Tensor(zeros: value.shape) }

    /// Runs `body` on the gradient buffer, allocating it (zeros) on first use.
    private func withGradientStorage<R>(_ body: (UnsafeMutableBufferPointer<Scalar>) -> R) -> R {
        var g = gradientStorage ?? Tensor(zeros: value.shape)
        gradientStorage = nil  // keep `g` uniquely referenced, so writing does not copy
        defer { gradientStorage = g }
        return g.scalars.withUnsafeMutableBufferPointer { body($0) }
    }

    /// The shape of `value`.
    public var shape: [Int] { value.shape }

    /// The rows (first-axis indices) with a nonzero gradient, ascending, or `nil` when the
    /// gradient is dense. An empty array means no gradient since the last ``zeroGradient()``.
    public var gradientRows: [Int]? { isDense ? nil : rows.sorted() }

    /// Clears the gradient, touching only the rows a sparse gradient used.
    @_specialize(where Scalar == Float)
    public func zeroGradient() {
        if gradientStorage != nil && (isDense || !rows.isEmpty) {
            let (width, dense, touched) = (rowWidth, isDense, rows)
            withGradientStorage { g in
                if dense {
                    for i in 0..<g.count { g[i] = 0 }
                } else {
                    for row in touched {
                        for i in (row * width)..<((row + 1) * width) { g[i] = 0 }
                    }
                }
            }
        }
        rows.removeAll(keepingCapacity: true)
        isDense = false
    }

    /// Elements per first-axis row.
    var rowWidth: Int { value.shape.isEmpty ? 1 : value.shape.dropFirst().reduce(1, *) }

    /// `grad += g`, marking the gradient dense. Backward passes call this; it is public for
    /// gradients computed outside a tape.
    @_specialize(where Scalar == Float)
    public func accumulateGradient(_ g: Tensor<Scalar>) {
        checkArgument(g.shape == value.shape, "parameter: gradient \(g.shape) for value \(value.shape)")
        isDense = true
        withGradientStorage { dst in
            g.scalars.withUnsafeBufferPointer { src in
                for i in 0..<dst.count { dst[i] += src[i] }
            }
        }
    }

    /// Gives `body` the gradient storage to add to `touchedRows` (first-axis rows) of.
    func accumulateRows(_ touchedRows: some Sequence<Int>, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        if !isDense { rows.formUnion(touchedRows) }
        withGradientStorage { body($0) }
    }

    /// Gives `update` the value and gradient storage with each range of element indices to
    /// update: the whole tensor when the gradient is dense, else one range per touched row
    /// (ascending). This is how optimizers implement lazy (sparse) updates; the loop over a
    /// range is the optimizer's, so it runs specialized.
    @_specialize(where Scalar == Float)
    public func updateRanges(
        _ update: (
            _ range: Range<Int>, _ value: UnsafeMutableBufferPointer<Scalar>, _ grad: UnsafeBufferPointer<Scalar>
        ) -> Void
    ) {
        guard let gradient = gradientStorage else { return }  // no backward pass yet: nothing to apply
        let width = rowWidth
        let ranges = isDense ? [0..<value.count] : rows.sorted().map { ($0 * width)..<(($0 + 1) * width) }
        value.scalars.withUnsafeMutableBufferPointer { v in
            gradient.scalars.withUnsafeBufferPointer { g in
                for range in ranges where !range.isEmpty { update(range, v, g) }
            }
        }
    }

    /// Multiplies the gradient by `factor` (gradient clipping).
    @_specialize(where Scalar == Float)
    public func scaleGradient(by factor: Scalar) {
        guard gradientStorage != nil else { return }
        withGradientStorage { g in
            for i in 0..<g.count { g[i] *= factor }
        }
    }
}
