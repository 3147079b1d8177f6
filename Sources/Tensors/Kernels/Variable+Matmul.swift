/// Matrix products through the one GEMM entry point, ``BLAS/gemm``.
///
/// Legend: `m, k, n` are the row, inner and column extents of `C(m, n) = op(A)(m, k) · op(B)(k, n)`;
/// `batch` is the leading extent of a batched product.
///
/// Backward, for `C = A·B`: `dA += dC·Bᵀ`, `dB += Aᵀ·dC`, each one GEMM with `beta = 1`, so
/// gradients accumulate in place. Transposed operands swap the factors accordingly.
extension Variable {
    /// The product of the last two axes, `op(self) · op(other)`.
    ///
    /// - `self (m, k)`, `other (k, n)` → `(m, n)`.
    /// - `self (…, m, k)`, `other (k, n)` → `(…, m, n)` (a shared weight; `transposeSelf` must be false).
    /// - `self (batch, m, k)`, `other (batch, k, n)` → `(batch, m, n)`, one product per batch entry.
    ///
    /// `transposeSelf` / `transposeOther` use the last two axes of an operand transposed.
    /// - Complexity: O(batch · m · n · k)
    @_specialize(where Scalar == Float)
    public func matmul(_ other: Variable, transposeSelf: Bool = false, transposeOther: Bool = false) -> Variable {
        let a = value.shape
        let b = other.value.shape
        checkArgument(a.count >= 2 && b.count >= 2, "matmul: shapes \(a) and \(b) need two axes or more")
        if b.count == 2 && a.count > 2 {
            checkArgument(!transposeSelf, "matmul: cannot transpose a rank-\(a.count) left operand \(a) against \(b)")
            let rows = a.dropLast().reduce(1, *)
            let flat = reshaped([rows, a[a.count - 1]]).matmul(other, transposeOther: transposeOther)
            return flat.reshaped(Array(a.dropLast()) + [flat.value.shape[1]])
        }
        checkArgument(
            a.count == b.count && a.count <= 3 && a.dropLast(2) == b.dropLast(2),
            "matmul: cannot multiply shapes \(a) and \(b)")
        let batch = a.count == 3 ? a[0] : 1
        let (ar, ac) = (a[a.count - 2], a[a.count - 1])
        let (br, bc) = (b[b.count - 2], b[b.count - 1])
        let (m, k) = transposeSelf ? (ac, ar) : (ar, ac)
        let (kb, n) = transposeOther ? (bc, br) : (br, bc)
        checkArgument(k == kb, "matmul: inner extents differ, \(a) gives \(k) and \(b) gives \(kb)")
        let outShape = (a.count == 3 ? [batch] : []) + [m, n]
        let ta: Transpose = transposeSelf ? .transposed : .none
        let tb: Transpose = transposeOther ? .transposed : .none
        // A product over an empty inner extent is zeros; otherwise gemm (beta 0) writes every element.
        var out = k == 0 ? Tensor<Scalar>(zeros: outShape) : Tensor<Scalar>(uninitialized: outShape)
        Self.batchedGemm(
            batch: batch, ta, tb, m: m, n: n, k: k, a: value.scalars, lda: ac, strideA: ar * ac,
            b: other.value.scalars, ldb: bc, strideB: br * bc, beta: 0, c: &out.scalars, ldc: n, strideC: m * n)
        let lhs = self
        return Variable.result(out, inputs: [self, other]) { output, _ in
            // dy is read through output.grad so it can be passed to gemm as an array.
            guard let dy = output.grad?.scalars else { return }
            if lhs.requiresGradient {
                // op(A) = dC · op(B)ᵀ; if A is stored transposed, A = op(B) · dCᵀ.
                lhs.withGradientArray { da, beta in
                    if transposeSelf {
                        Self.batchedGemm(
                            batch: batch, tb, .transposed, m: k, n: m, k: n, a: other.value.scalars, lda: bc,
                            strideA: br * bc, b: dy, ldb: n, strideB: m * n, beta: beta, c: &da, ldc: ac,
                            strideC: ar * ac)
                    } else {
                        Self.batchedGemm(
                            batch: batch, .none, transposeOther ? .none : .transposed, m: m, n: k, k: n, a: dy,
                            lda: n, strideA: m * n, b: other.value.scalars, ldb: bc, strideB: br * bc, beta: beta,
                            c: &da, ldc: ac, strideC: ar * ac)
                    }
                }
            }
            if other.requiresGradient {
                // op(B) = op(A)ᵀ · dC; if B is stored transposed, B = dCᵀ · op(A).
                other.withGradientArray { db, beta in
                    if transposeOther {
                        Self.batchedGemm(
                            batch: batch, .transposed, ta, m: n, n: k, k: m, a: dy, lda: n, strideA: m * n,
                            b: lhs.value.scalars, ldb: ac, strideB: ar * ac, beta: beta, c: &db, ldc: bc,
                            strideC: br * bc)
                    } else {
                        Self.batchedGemm(
                            batch: batch, transposeSelf ? .none : .transposed, .none, m: k, n: n, k: m,
                            a: lhs.value.scalars, lda: ac, strideA: ar * ac, b: dy, ldb: n, strideB: m * n,
                            beta: beta, c: &db, ldc: bc, strideC: br * bc)
                    }
                }
            }
        }
    }

    /// Gives `body` the gradient array and the `beta` its product must use: 1 to add to an
    /// existing gradient, 0 on first use, when the array is uninitialized and the product
    /// (which then writes every element) replaces it — no zero fill first.
    func withGradientArray(_ body: (inout [Scalar], _ beta: Scalar) -> Void) {
        let first = grad == nil
        var g = grad ?? Tensor(uninitialized: value.shape)
        grad = nil  // so `g` holds the only reference and is not copied on write
        body(&g.scalars, first ? 0 : 1)
        grad = g
    }

    /// `batch` independent GEMMs over consecutive blocks of `a`, `b` and `c`.
    static func batchedGemm(
        batch: Int, _ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, a: [Scalar], lda: Int,
        strideA: Int, b: [Scalar], ldb: Int, strideB: Int, beta: Scalar, c: inout [Scalar], ldc: Int,
        strideC: Int
    ) {
        guard m > 0, n > 0 else { return }
        c.withUnsafeMutableBufferPointer { pc in
            guard let pc = pc.baseAddress else { return }
            if k == 0 {
                // Empty inner extent: the product is zero. BLAS rejects a leading dimension of 0.
                if beta == 0 {
                    for i in 0..<(batch * strideC) { pc[i] = 0 }
                }
                return
            }
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    guard let pa = pa.baseAddress, let pb = pb.baseAddress else { return }
                    // With single-threaded kernels, the batch entries are what spreads over the cores.
                    let chunk = BLAS.kernelThreads == 1 && batch > 1 ? 1 : max(1, batch)
                    Parallel.forEachChunk(of: 0..<batch, minimumChunk: chunk) { entries in
                        for e in entries {
                            Scalar._gemm(
                                ta, tb, m: m, n: n, k: k, alpha: 1, a: pa + e * strideA, lda: max(1, lda),
                                b: pb + e * strideB, ldb: max(1, ldb), beta: beta, c: pc + e * strideC,
                                ldc: max(1, ldc))
                        }
                    }
                }
            }
        }
    }
}
