import Foundation
import Tensors

/// The click-through networks' forward passes without a tape, for serving: one request's
/// candidates at once, the fields they share pooled once.
///
/// Legend: `N` candidates, `D` the embedding dimension, `F` = 12 pooled fields in the training
/// graph's order (the nine single fields of ``CTRField/single``, genres, title words, the
/// behaviour sequence), `T` the request's sequence length, `A` the attention unit's width.
/// Each pass computes what the kind's `logits(_:on:)` computes, in another order of summation.
enum CTRInference {
    /// Pooled fields, `F`.
    static let fieldCount = 12

    /// Where pooled field `f` comes from: a ``CTRPooledFields`` candidate block or shared block.
    static let layout: [(candidate: Bool, index: Int)] = [
        (false, 0), (true, 0), (false, 1), (false, 2), (false, 3), (false, 4), (true, 1), (false, 5), (false, 6),
        (true, 2), (true, 3), (false, 7),
    ]

    /// `(N)` click probabilities of the request's candidates.
    static func probabilities(_ rows: CTRRequestRows, _ weights: CTRInferenceWeights) -> [Float] {
        logits(rows, weights).map { 1 / (1 + Foundation.exp(-$0)) }
    }

    /// `(N)` logits.
    static func logits(_ rows: CTRRequestRows, _ w: CTRInferenceWeights) -> [Float] {
        let e = CTRPooledFields(rows, table: w.table, width: w.dimension)
        switch w.kind {
        case .fm, .lr:
            return wide(rows, w, e, pairwise: w.kind == .fm)
        case .deepfm:
            let deep = dense(flattened(e, count: rows.count), rows: rows.count, w.mlp[...])
            return zip(wide(rows, w, e, pairwise: true), deep).map { $0 + $1 }
        case .dcnv2:
            let x0 = flattened(e, count: rows.count)
            var x = x0
            for layer in w.cross {
                let y = dense(x, rows: rows.count, [layer][...])
                for i in x.indices { x[i] = x0[i] * y[i] + x[i] }
            }
            return dense(x, rows: rows.count, w.mlp[...])
        case .din:
            let x = flattened(e, count: rows.count, lastField: interest(rows, w, e))
            return dense(x, rows: rows.count, w.mlp[...])
        }
    }

    /// FM's logit, `b + Σ_f w_f + Σ_{f<g} ⟨v_f, v_g⟩`, with the pairwise term as
    /// `½ Σ_d ((Σ_f v_fd)² − Σ_f v_fd²)`: the shared fields' linear sum, vector sum and sum of
    /// squares are computed once, then each candidate adds its four fields.
    static func wide(_ rows: CTRRequestRows, _ w: CTRInferenceWeights, _ e: CTRPooledFields, pairwise: Bool) -> [Float]
    {
        let first = CTRPooledFields(rows, table: w.linear, width: 1)
        let sharedLinear = first.shared.reduce(0, +)
        let (d, k) = (w.dimension, CTRPooledFields.candidateCount)
        var (sharedSum, sharedSquares) = ([Float](repeating: 0, count: d), [Float](repeating: 0, count: d))
        for f in 0..<CTRPooledFields.sharedCount {
            for j in 0..<d {
                let v = e.shared[f * d + j]
                sharedSum[j] += v
                sharedSquares[j] += v * v
            }
        }
        var logits = [Float](repeating: 0, count: rows.count)
        for n in 0..<rows.count {
            var y = w.bias + sharedLinear
            for f in 0..<k { y += first.candidates[n * k + f] }
            guard pairwise else {
                logits[n] = y
                continue
            }
            var pair: Float = 0
            for j in 0..<d {
                var (sum, squares) = (sharedSum[j], sharedSquares[j])
                for f in 0..<k {
                    let v = e.candidates[(n * k + f) * d + j]
                    sum += v
                    squares += v * v
                }
                pair += sum * sum - squares
            }
            logits[n] = y + 0.5 * pair
        }
        return logits
    }

    /// `(N, F·D)`: every candidate's pooled fields in the training graph's order, the shared ones
    /// copied from their one computation; `lastField` `(N, D)`, when given, replaces the
    /// sequence's mean (DIN's attention-pooled interest).
    static func flattened(_ e: CTRPooledFields, count: Int, lastField: [Float]? = nil) -> [Float] {
        let d = e.width
        let width = fieldCount * d
        var x = [Float](repeating: 0, count: count * width)
        for n in 0..<count {
            for (f, source) in layout.enumerated() {
                let at = n * width + f * d
                if f == fieldCount - 1, let lastField {
                    for j in 0..<d { x[at + j] = lastField[n * d + j] }
                } else if source.candidate {
                    let from = (n * CTRPooledFields.candidateCount + source.index) * d
                    for j in 0..<d { x[at + j] = e.candidates[from + j] }
                } else {
                    for j in 0..<d { x[at + j] = e.shared[source.index * d + j] }
                }
            }
        }
        return x
    }

    /// `x (rows, layers[0].inputs)` through `layers`, ReLU between them, none after the last.
    static func dense(_ x: [Float], rows: Int, _ layers: ArraySlice<CTRDenseLayer>) -> [Float] {
        var h = x
        for (position, layer) in zip(layers.indices, layers) {
            var y = [Float](repeating: 0, count: rows * layer.outputs)
            product(
                h, rows: rows, k: layer.inputs, lda: layer.inputs, layer.weight, at: 0, ldb: layer.inputs,
                n: layer.outputs, beta: 0, into: &y)
            let last = position == layers.index(before: layers.endIndex)
            for r in 0..<rows {
                for o in 0..<layer.outputs {
                    let v = y[r * layer.outputs + o] + layer.bias[o]
                    y[r * layer.outputs + o] = last ? v : max(v, 0)
                }
            }
            h = y
        }
        return h
    }

    /// DIN's interest `(N, D)`: `Σ_t a(q_n, k_t) · k_t` over the request's sequence, where
    /// `a = MLP([q, k, q − k, q ⊙ k])` and `q_n` is candidate `n`'s item vector.
    ///
    /// The first layer splits by input block: `W_q q + W_k k + W_d (q − k) + W_p (q ⊙ k) + b`
    /// is `(W_q + W_d) q` per candidate, `(W_k − W_d) k + b` per behaviour, and only the
    /// `(N·T, D) · (D, A)` product of `q ⊙ k` per pair. Padded positions, weight 0 in the graph,
    /// are not computed.
    static func interest(_ rows: CTRRequestRows, _ w: CTRInferenceWeights, _ e: CTRPooledFields) -> [Float] {
        let (n, t, d) = (rows.count, rows.sequence.count, w.dimension)
        var result = [Float](repeating: 0, count: n * d)
        guard t > 0, let first = w.attention.first else { return result }
        let (a, k) = (first.outputs, CTRPooledFields.candidateCount)
        var keys = [Float](repeating: 0, count: t * d)
        for (p, row) in rows.sequence.enumerated() {
            for j in 0..<d { keys[p * d + j] = w.table[Int(row) * d + j] }
        }
        var queries = [Float](repeating: 0, count: n * d)
        for c in 0..<n {
            for j in 0..<d { queries[c * d + j] = e.candidates[c * k * d + j] }
        }
        // W (A, 4D): the blocks of q, k, q − k and q ⊙ k start at columns 0, D, 2D, 3D.
        let ldb = 4 * d
        var perQuery = [Float](repeating: 0, count: n * a)
        product(queries, rows: n, k: d, lda: d, first.weight, at: 0, ldb: ldb, n: a, beta: 0, into: &perQuery)
        product(queries, rows: n, k: d, lda: d, first.weight, at: 2 * d, ldb: ldb, n: a, beta: 1, into: &perQuery)
        var perKey = [Float](repeating: 0, count: t * a)
        for p in 0..<t { for o in 0..<a { perKey[p * a + o] = first.bias[o] } }
        product(keys, rows: t, k: d, lda: d, first.weight, at: d, ldb: ldb, n: a, beta: 1, into: &perKey)
        product(
            keys, rows: t, k: d, lda: d, first.weight, at: 2 * d, ldb: ldb, n: a, alpha: -1, beta: 1, into: &perKey)
        var pairs = [Float](repeating: 0, count: n * t * d)
        for c in 0..<n {
            for p in 0..<t {
                for j in 0..<d { pairs[(c * t + p) * d + j] = queries[c * d + j] * keys[p * d + j] }
            }
        }
        var hidden = [Float](repeating: 0, count: n * t * a)
        product(pairs, rows: n * t, k: d, lda: d, first.weight, at: 3 * d, ldb: ldb, n: a, beta: 0, into: &hidden)
        let more = w.attention.count > 1
        for c in 0..<n {
            for p in 0..<t {
                for o in 0..<a {
                    let v = hidden[(c * t + p) * a + o] + perQuery[c * a + o] + perKey[p * a + o]
                    hidden[(c * t + p) * a + o] = more ? max(v, 0) : v
                }
            }
        }
        let weights = dense(hidden, rows: n * t, w.attention.dropFirst())
        for c in 0..<n {
            for p in 0..<t {
                let weight = weights[c * t + p]
                for j in 0..<d { result[c * d + j] += weight * keys[p * d + j] }
            }
        }
        return result
    }

    /// `C (m, n) = alpha · A · Bᵀ + beta · C`, with `A (m, k)` row-major (leading dimension
    /// `lda`) and `B`'s rows `k` wide starting at `b[offset + j · ldb]`: a block of columns of a
    /// `(n, ldb)` weight matrix.
    static func product(
        _ x: [Float], rows m: Int, k: Int, lda: Int, _ b: [Float], at offset: Int, ldb: Int, n: Int,
        alpha: Float = 1, beta: Float, into c: inout [Float]
    ) {
        guard m > 0, n > 0, k > 0 else { return }
        x.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    guard let a = pa.baseAddress, let b = pb.baseAddress, let c = pc.baseAddress else { return }
                    BLAS.gemm(
                        .none, .transposed, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b + offset, ldb: ldb,
                        beta: beta, c: c, ldc: n)
                }
            }
        }
    }
}
