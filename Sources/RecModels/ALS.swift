import Foundation
import RecData
import Tensors

/// Alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008), each half-step
/// solved approximately by a few conjugate-gradient steps started from the previous factors
/// (Takács, Pilászy & Tikk 2011), as implicit's `AlternatingLeastSquares`.
///
/// Minimizes `Σ_u,i c_ui (p_ui − x_uᵀ y_i)² + λ (Σ‖x_u‖² + Σ‖y_i‖²)` with `p_ui = 1` for observed
/// pairs and 0 otherwise. The confidence follows implicit's convention, `c_ui = α · r_ui` for an
/// observed pair (`r_ui` = number of events) and 1 otherwise, so `α` is implicit's `alpha`.
///
/// Parameters:
/// - `factors` (default 64): latent dimensions.
/// - `regularization` (default 0.01, implicit's): `λ`.
/// - `alpha` (default 1): confidence scale of observed pairs.
/// - `iterations` (default 15, implicit's): alternations.
/// - `cg_steps` (default 3, implicit's): conjugate-gradient steps per half-step.
/// - `seed` (default 2020): initial factors, uniform in [0, 0.01).
///
/// A user the model never saw is folded in: their factor is the exact least-squares solution
/// with the item factors fixed (implicit's `recalculate_user`).
public struct ALS: Recommender, FactorScoring {
    public static let kind = ModelKind.als
    public let factors: Int
    public let regularization: Float
    public let alpha: Float
    public let iterations: Int
    public let cgSteps: Int
    public let seed: UInt64
    /// `(users, factors)`.
    public private(set) var userFactors = Matrix<Float>(rows: 0, columns: 0)
    /// `(items, factors)`.
    public private(set) var itemFactors = Matrix<Float>(rows: 0, columns: 0)
    /// Whether each user had training events; the others are folded in from their history.
    private var trainedUsers: [Bool] = []
    /// `YᵀY` of the item factors, `(factors, factors)`, for fold-in.
    private var itemGram = Matrix<Float>(rows: 0, columns: 0)
    /// `XᵀX` of the user factors, `(factors, factors)`, for placing new items.
    private var userGram = Matrix<Float>(rows: 0, columns: 0)

    public init(parameters: [String: String] = [:]) throws {
        var reader = ParameterReader(model: Self.kind, parameters)
        factors = try reader.int("factors", default: 64, in: 1...4096)
        regularization = Float(try reader.double("regularization", default: 0.01, in: 0...1e6))
        alpha = Float(try reader.double("alpha", default: 1, in: 1e-6...1e6))
        iterations = try reader.int("iterations", default: 15, in: 1...10_000)
        cgSteps = try reader.int("cg_steps", default: 3, in: 1...1000)
        seed = try reader.uint64("seed", default: 2020)
        try reader.finish()
    }

    public var parameters: [String: String] {
        [
            "factors": String(factors), "regularization": String(regularization), "alpha": String(alpha),
            "iterations": String(iterations), "cg_steps": String(cgSteps), "seed": String(seed),
        ]
    }

    public var itemCount: Int { itemFactors.rows }
    var scoringItems: Matrix<Float> { itemFactors }

    public mutating func fit(_ data: TrainingData, progress: ProgressHandler? = nil) throws {
        guard data.userCount > 0, data.itemCount > 0 else {
            throw ModelError.unsuitableData("als needs users and items")
        }
        let confidence = data.matrix.scaled(by: alpha)
        let transposed = confidence.transposed()
        var generator = SeededGenerator(seed: seed)
        var users = Matrix<Float>(rows: data.userCount, columns: factors)
        var items = Matrix<Float>(rows: data.itemCount, columns: factors)
        for k in users.storage.indices { users.storage[k] = Float(generator.nextUnit() * 0.01) }
        for k in items.storage.indices { items.storage[k] = Float(generator.nextUnit() * 0.01) }
        // A warm start continues from the previous model's factors, with fewer iterations.
        var iterations = iterations
        if let warm = data.warmStart, let previous = warm.factors(columns: factors) {
            WarmStart.copyRows(previous.users, warm.userIDs, into: &users, data.log.userIDs)
            WarmStart.copyRows(previous.items, warm.itemIDs, into: &items, data.log.itemIDs)
            iterations = warm.iterations
        }
        let identity = FactorCheckpoint.Identity(model: Self.kind, parameters: parameters, data: data)
        let start = try FactorCheckpoint.resume(identity, data: data, epochs: iterations, users: &users, items: &items)
        for iteration in start..<iterations {
            Self.conjugateGradientStep(confidence, x: &users, y: items, regularization: regularization, steps: cgSteps)
            Self.conjugateGradientStep(transposed, x: &items, y: users, regularization: regularization, steps: cgSteps)
            guard users.storage.allSatisfy(\.isFinite), items.storage.allSatisfy(\.isFinite) else {
                throw ModelError.nonFinite("in the factors after iteration \(iteration + 1)")
            }
            try FactorCheckpoint.save(identity, data: data, epoch: iteration + 1, users: users, items: items)
            progress?("als", iteration + 1, iterations)
        }
        userFactors = users
        itemFactors = items
        trainedUsers = (0..<data.matrix.rows).map { data.matrix.rowPointers[$0 + 1] > data.matrix.rowPointers[$0] }
        itemGram = Self.gram(items)
        userGram = Self.gram(users)
    }

    /// `YᵀY`, `(factors, factors)`.
    static func gram(_ y: Matrix<Float>) -> Matrix<Float> {
        BLAS.matmul(y, y, transposeA: true)
    }

    /// One half-step: every row `u` of `x` takes `steps` conjugate-gradient steps towards the
    /// solution of `(YᵀY + Yᵀ(C_u − I)Y + λI) x_u = Yᵀ C_u p_u`, from its current value.
    static func conjugateGradientStep(
        _ confidence: CSRMatrix, x: inout Matrix<Float>, y: Matrix<Float>, regularization: Float, steps: Int
    ) {
        let n = x.columns
        let gram = gram(y)
        x.storage.withUnsafeMutableBufferPointer { xs in
            y.storage.withUnsafeBufferPointer { ys in
                gram.storage.withUnsafeBufferPointer { g in
                    guard let xBase = xs.baseAddress, let yBase = ys.baseAddress, let gBase = g.baseAddress else {
                        return
                    }
                    Parallel.forEachChunk(of: 0..<x.rows, minimumChunk: 64) { rows in
                        var r = [Float](repeating: 0, count: n)
                        var p = [Float](repeating: 0, count: n)
                        var ap = [Float](repeating: 0, count: n)
                        r.withUnsafeMutableBufferPointer { r in
                            p.withUnsafeMutableBufferPointer { p in
                                ap.withUnsafeMutableBufferPointer { ap in
                                    guard let r = r.baseAddress, let p = p.baseAddress, let ap = ap.baseAddress else {
                                        return
                                    }
                                    for u in rows {
                                        solveRow(
                                            u, confidence: confidence, x: xBase + u * n, y: yBase, gram: gBase,
                                            regularization: regularization, steps: steps, n: n, r: r, p: p, ap: ap)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func solveRow(
        _ u: Int, confidence: CSRMatrix, x: UnsafeMutablePointer<Float>, y: UnsafePointer<Float>,
        gram: UnsafePointer<Float>, regularization: Float, steps: Int, n: Int,
        r: UnsafeMutablePointer<Float>, p: UnsafeMutablePointer<Float>, ap: UnsafeMutablePointer<Float>
    ) {
        let start = confidence.rowPointers[u]
        let end = confidence.rowPointers[u + 1]
        // r = Yᵀ C p − (YᵀY + λI) x − Yᵀ (C − I) Y x
        FactorKernels.symv(gram, x, r, n)
        for k in 0..<n { r[k] = -r[k] - regularization * x[k] }
        for index in start..<end {
            let yi = y + Int(confidence.columnIndices[index]) * n
            let c = confidence.values[index]
            FactorKernels.axpy(c == 1 ? 1 : c - (c - 1) * FactorKernels.dot(yi, x, n), yi, r, n)
        }
        for k in 0..<n { p[k] = r[k] }
        var rsOld = FactorKernels.dot(r, r, n)
        if rsOld < 1e-20 { return }
        for _ in 0..<steps {
            // Ap = (YᵀY + λI) p + Yᵀ (C − I) Y p
            FactorKernels.symv(gram, p, ap, n)
            FactorKernels.axpy(regularization, p, ap, n)
            for index in start..<end where confidence.values[index] != 1 {
                // A pair with confidence 1 adds nothing beyond YᵀY: skip its two passes.
                let yi = y + Int(confidence.columnIndices[index]) * n
                FactorKernels.axpy((confidence.values[index] - 1) * FactorKernels.dot(yi, p, n), yi, ap, n)
            }
            let step = rsOld / FactorKernels.dot(p, ap, n)
            FactorKernels.axpy(step, p, x, n)
            FactorKernels.axpy(-step, ap, r, n)
            let rsNew = FactorKernels.dot(r, r, n)
            if rsNew < 1e-20 { break }
            FactorKernels.scaleAdd(rsNew / rsOld, p, r, n)
            rsOld = rsNew
        }
    }

    /// The exact factor of a user with `history`, item factors fixed: solves
    /// `(YᵀY + Yᵀ(C − I)Y + λI) x = Yᵀ C p` by Cholesky.
    ///
    /// - Returns: `x` and the Cholesky factor of the system matrix (for explanations).
    func foldIn(_ history: [(item: Int32, count: Float)]) throws -> (factor: [Float], system: [Double]) {
        try foldIn(history.map { ($0.item, $0.count) }, factors: itemFactors, gram: itemGram)
    }

    /// One row's exact factor with the other side's `factors` (and their Gram matrix) fixed, from
    /// the rows it interacted with and how often: a user from items, or an item from users.
    func foldIn(
        _ interactions: [(Int32, Float)], factors y: Matrix<Float>, gram: Matrix<Float>
    ) throws -> (factor: [Float], system: [Double]) {
        let n = factors
        var a = [Double](repeating: 0, count: n * n)
        var b = [Double](repeating: 0, count: n)
        for r in 0..<n {
            for c in 0..<n { a[r * n + c] = Double(gram[r, c]) }
            a[r * n + r] += Double(regularization)
        }
        for (index, count) in interactions {
            let c = Double(alpha * count)
            let row = Int(index) * n
            for r in 0..<n {
                let yr = Double(y.storage[row + r])
                b[r] += c * yr
                let w = (c - 1) * yr
                if w != 0 { for k in 0..<n { a[r * n + k] += w * Double(y.storage[row + k]) } }
            }
        }
        var matrix = Matrix<Double>(rows: n, columns: n, storage: a)
        let x = try LAPACK.solveSymmetricPositiveDefinite(&matrix, b)
        return (x.map(Float.init), matrix.storage)
    }

    func userVector(_ context: ScoringContext) throws -> [Float] {
        if let user = context.user, Int(user) < userFactors.rows, trainedUsers[Int(user)] {
            return Array(userFactors.row(Int(user)))
        }
        return try foldIn(context.historyCounts(items: itemCount)).factor
    }

    /// Items whose factors have the highest cosine similarity with the item's.
    public func similarItems(to item: Int32, count: Int) throws -> [ScoredItem] {
        try FactorState.similarItems(to: item, count: count, in: itemFactors)
    }

    /// implicit's explanation: with `W = (YᵀC_uY + λI)⁻¹`, the folded-in score of item `i` is
    /// `Σ_j c_uj (W y_i)ᵀ y_j`, one term per history item `j`.
    public func explain(_ context: ScoringContext, item: Int32, count: Int) throws -> [Contribution] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        guard item >= 0 && Int(item) < itemCount else { throw ModelError.unknownItem(item) }
        let history = try context.historyCounts(items: itemCount)
        let (_, factorization) = try foldIn(history)
        var system = Matrix<Double>(rows: factors, columns: factors, storage: factorization)
        let target = itemFactors.row(Int(item)).map(Double.init)
        let weighted = try LAPACK.solveWithCholesky(factor: &system, target)
        let contributions = history.map { entry -> Contribution in
            let row = Int(entry.item) * factors
            var dot = 0.0
            for k in 0..<factors { dot += weighted[k] * Double(itemFactors.storage[row + k]) }
            return Contribution(item: entry.item, weight: Float(Double(alpha * entry.count) * dot))
        }
        return Array(contributions.sorted { $0.weight > $1.weight }.prefix(count))
    }

    public func weights() throws -> [String: SafeTensor] {
        guard itemCount > 0 else { throw ModelError.notFitted }
        return FactorState.weights(users: userFactors, trainedUsers: trainedUsers, items: itemFactors)
    }

    public mutating func load(weights: [String: SafeTensor]) throws {
        (userFactors, trainedUsers, itemFactors) = try FactorState.load(weights, columns: factors)
        itemGram = Self.gram(itemFactors)
        userGram = Self.gram(userFactors)
    }
}

extension ALS: InteractionPlacing {
    /// The item's factor with the user factors fixed: the item half-step of training for one
    /// new item, over the trained users among `users`.
    public func itemVector(fromUsers users: [(user: Int32, count: Float)]) throws -> [Float]? {
        guard itemCount > 0 else { throw ModelError.notFitted }
        let known = users.filter { $0.user >= 0 && Int($0.user) < userFactors.rows && trainedUsers[Int($0.user)] }
        guard !known.isEmpty else { return nil }
        return try foldIn(known.map { ($0.user, $0.count) }, factors: userFactors, gram: userGram).factor
    }
}

extension CSRMatrix {
    /// The matrix with every value multiplied by `factor`.
    func scaled(by factor: Float) -> CSRMatrix {
        CSRMatrix(
            rows: rows, columns: columns, rowPointers: rowPointers, columnIndices: columnIndices,
            values: values.map { $0 * factor })
    }
}
