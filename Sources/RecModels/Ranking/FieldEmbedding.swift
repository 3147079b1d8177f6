import NeuralNet
import RecData
import Tensors

/// The indices of a ``CTRBatch`` as the networks read them: the single-valued fields and the
/// bags, with the shapes the embedding needs. Kept apart from `CTRBatch` so a gradient check can
/// build one by hand.
public struct FieldIndices: Sendable {
    /// `(count, fieldCount)` table rows.
    public var fields: [Int32]
    public var fieldCount: Int
    /// Each bag `(count, width)`, 0 for padding; the last one is the behaviour sequence.
    public var bags: [[Int32]]
    public var count: Int

    public init(count: Int, fields: [Int32], fieldCount: Int, bags: [[Int32]]) {
        checkArgument(fields.count == count * fieldCount, "FieldIndices: \(fields.count) for \(count)×\(fieldCount)")
        for bag in bags {
            checkArgument(
                count == 0 ? bag.isEmpty : bag.count % count == 0, "FieldIndices: bag of \(bag.count) for \(count) rows"
            )
        }
        (self.count, self.fields, self.fieldCount, self.bags) = (count, fields, fieldCount, bags)
    }

    /// The indices of an encoded batch.
    public init(_ batch: CTRBatch) {
        self.init(
            count: batch.count, fields: batch.fields, fieldCount: CTRField.single.count, bags: batch.bags)
    }

    /// The width of bag `b`.
    public func width(_ b: Int) -> Int { bags[b].count / count }

    /// `(count, width, 1)`: `1 / (non-padding entries of the row)` where an entry is not padding,
    /// else 0, so that a product and a sum over the width give the mean of the row's embeddings
    /// (zero for an empty row).
    func meanWeights<Scalar: TensorScalar>(_ b: Int) -> Tensor<Scalar> {
        let width = width(b)
        var weights = Tensor<Scalar>(zeros: [count, width, 1])
        for n in 0..<count {
            let row = bags[b][(n * width)..<((n + 1) * width)]
            let present = row.filter { $0 != 0 }.count
            guard present > 0 else { continue }
            for (position, value) in row.enumerated() where value != 0 {
                weights.scalars[n * width + position] = 1 / Scalar(present)
            }
        }
        return weights
    }

    /// `(count, width, 1)`: 1 where bag `b` holds an entry, 0 at padding.
    func mask<Scalar: TensorScalar>(_ b: Int) -> Tensor<Scalar> {
        Tensor(shape: [count, width(b), 1], scalars: bags[b].map { $0 == 0 ? 0 : 1 })
    }
}

/// One embedding table over every field's vocabulary (row 0 is padding), and optionally a
/// first-order weight per row, as FM-style models use.
///
/// A single-valued field looks its row up; a multi-hot field (genres, title words, the
/// behaviour sequence) is the mean of its entries' rows, an empty bag giving zeros.
/// Keys: `embedding.weight` `(rows, dimension)`, `linear.weight` `(rows, 1)`.
public struct FieldEmbedding<Scalar: TensorScalar>: Layer {
    public let embedding: Embedding<Scalar>
    public let linear: Embedding<Scalar>?

    /// Rows drawn from `N(0, 0.01²)`, FuxiCTR's default embedding initializer; first-order
    /// weights start at zero.
    public init(rows: Int, dimension: Int, firstOrder: Bool, using generator: inout some RandomNumberGenerator) {
        embedding = Embedding(
            count: rows, dimension: dimension, paddingIndex: 0, standardDeviation: 0.01, using: &generator)
        if firstOrder {
            let table = Embedding<Scalar>(count: rows, dimension: 1, paddingIndex: 0, using: &generator)
            table.weight.value = Tensor(zeros: [rows, 1])
            linear = table
        } else {
            linear = nil
        }
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
        embedding.namedParameters(prefix: "embedding") + (linear?.namedParameters(prefix: "linear") ?? [])
    }

    /// The dimension of an embedding.
    public var dimension: Int { embedding.weight.shape[1] }

    /// `(count, fieldCount + bags, dimension)`: every single field, then each bag's mean, in
    /// order; `bags` limits which bags are pooled (all by default).
    public func callAsFunction(_ x: FieldIndices, bags: Range<Int>? = nil, on tape: Tape<Scalar>) -> Variable<Scalar> {
        fields(embedding, x, bags: bags ?? 0..<x.bags.count, on: tape)
    }

    /// `(count, 1)`: the sum of the first-order weights of every field and the mean of each bag's.
    public func firstOrder(_ x: FieldIndices, on tape: Tape<Scalar>) -> Variable<Scalar> {
        guard let linear else { return tape.constant(Tensor(zeros: [x.count, 1])) }
        return fields(linear, x, bags: 0..<x.bags.count, on: tape).sum(alongAxes: [1])
    }

    /// `(count, width, dimension)`: the rows of bag `b`, zeros at padding.
    public func sequence(_ x: FieldIndices, bag b: Int, on tape: Tape<Scalar>) -> Variable<Scalar> {
        embedding(x.bags[b], shape: [x.count, x.width(b)], on: tape)
    }

    private func fields(
        _ table: Embedding<Scalar>, _ x: FieldIndices, bags: Range<Int>, on tape: Tape<Scalar>
    ) -> Variable<Scalar> {
        let d = table.weight.shape[1]
        var parts = [table(x.fields, shape: [x.count, x.fieldCount], on: tape)]
        for b in bags {
            let rows = table(x.bags[b], shape: [x.count, x.width(b)], on: tape)
            let mean = (rows * tape.constant(x.meanWeights(b))).sum(alongAxes: [1])
            parts.append(mean.reshaped([x.count, 1, d]))
        }
        return parts.count == 1 ? parts[0] : Variable.concatenate(parts, axis: 1)
    }
}
