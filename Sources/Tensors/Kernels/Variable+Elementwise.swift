/// Elementwise arithmetic with NumPy broadcasting: `+`, `-`, `*`, `/`, and the scalar `affine`.
///
/// Broadcasting aligns shapes at their last axis; an extent of 1 (or a missing leading axis)
/// repeats. Backward walks the same index map, so the gradient of a broadcast operand is summed
/// over the axes it was repeated along: `da[ia] += dy[o] · ∂y/∂a`.
extension Variable {
    enum BinaryKind { case add, subtract, multiply, divide }

    /// `a + b`, broadcast.
    public static func + (a: Variable, b: Variable) -> Variable { binary(a, b, .add) }
    /// `a - b`, broadcast.
    public static func - (a: Variable, b: Variable) -> Variable { binary(a, b, .subtract) }
    /// `a * b` elementwise, broadcast.
    public static func * (a: Variable, b: Variable) -> Variable { binary(a, b, .multiply) }
    /// `a / b` elementwise, broadcast.
    public static func / (a: Variable, b: Variable) -> Variable { binary(a, b, .divide) }

    /// `-a`.
    public static prefix func - (a: Variable) -> Variable { a.affine(scale: -1) }
    /// `a * s`.
    public static func * (a: Variable, s: Scalar) -> Variable { a.affine(scale: s) }
    /// `a + s`.
    public static func + (a: Variable, s: Scalar) -> Variable { a.affine(shift: s) }

    /// `y = scale · x + shift`; backward `dx += scale · dy`.
    @_specialize(where Scalar == Float)
    public func affine(scale: Scalar = 1, shift: Scalar = 0) -> Variable {
        let x = value.scalars
        var out = Tensor<Scalar>(zeros: value.shape)
        out.scalars.withUnsafeMutableBufferPointer { y in
            for i in 0..<x.count { y[i] = scale * x[i] + shift }
        }
        let input = self
        return Variable.result(out, inputs: [self]) { output, dy in
            if scale == 1, let g = output.grad {
                input.addGradient(adopting: g)
                return
            }
            input.withGradient { dx in
                for i in 0..<dx.count { dx[i] += scale * dy[i] }
            }
        }
    }

    /// `y[j] = op(x[j · sx], z[j · sz])` for `j < count`. The strides are 0 or 1 in practice;
    /// those cases get loops of their own, which the compiler vectorizes.
    @inline(__always)
    static func combine(
        _ run: (
            y: UnsafeMutablePointer<Scalar>, x: UnsafePointer<Scalar>, sx: Int, z: UnsafePointer<Scalar>, sz: Int,
            count: Int
        ), _ op: (Scalar, Scalar) -> Scalar
    ) {
        let (y, x, sx, z, sz, count) = run
        switch (sx, sz) {
        case (1, 1): for j in 0..<count { y[j] = op(x[j], z[j]) }
        case (1, 0):
            let c = z[0]
            for j in 0..<count { y[j] = op(x[j], c) }
        case (0, 1):
            let c = x[0]
            for j in 0..<count { y[j] = op(c, z[j]) }
        default: for j in 0..<count { y[j] = op(x[j * sx], z[j * sz]) }
        }
    }

    /// `d[j · step] += term(j)` for `j < count`; a step of 0 (a broadcast operand) adds the sum
    /// of the terms to `d[0]`, in the four chains of ``rowSum(_:_:)``.
    @inline(__always)
    static func accumulate(_ d: UnsafeMutablePointer<Scalar>, _ step: Int, _ count: Int, _ term: (Int) -> Scalar) {
        switch step {
        case 1: for j in 0..<count { d[j] += term(j) }
        case 0: d[0] += rowSum(count, term)
        default: for j in 0..<count { d[j &* step] += term(j) }
        }
    }

    /// The shape two operands broadcast to.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        var shape = Array(repeating: 0, count: rank)
        for axis in 0..<rank {
            let ea = axis < rank - a.count ? 1 : a[axis - (rank - a.count)]
            let eb = axis < rank - b.count ? 1 : b[axis - (rank - b.count)]
            checkArgument(ea == eb || ea == 1 || eb == 1, "broadcast: shapes \(a) and \(b) are incompatible")
            shape[axis] = ea == 1 ? eb : ea
        }
        return shape
    }

    @_specialize(where Scalar == Float)
    private static func binary(_ a: Variable, _ b: Variable, _ kind: BinaryKind) -> Variable {
        let shape = broadcastShape(a.value.shape, b.value.shape)
        let map = BroadcastMap(output: shape, a.value.shape, b.value.shape)
        var out = Tensor<Scalar>(zeros: shape)
        let (x, z) = (a.value.scalars, b.value.scalars)
        x.withUnsafeBufferPointer { x in
            z.withUnsafeBufferPointer { z in
                out.scalars.withUnsafeMutableBufferPointer { y in
                    guard let x = x.baseAddress, let z = z.baseAddress, let y = y.baseAddress else { return }
                    map.forEachRun { o, ia, ib, count, sa, sb in
                        let run = (y + o, x + ia, sa, z + ib, sb, count)
                        switch kind {
                        case .add: Self.combine(run, +)
                        case .subtract: Self.combine(run, -)
                        case .multiply: Self.combine(run, *)
                        case .divide: Self.combine(run, /)
                        }
                    }
                }
            }
        }
        return Variable.result(out, inputs: [a, b]) { output, dy in
            // A same-shape sum passes the gradient through unchanged: share it instead of adding.
            let passThrough = kind == .add || kind == .subtract
            if a.requiresGradient, passThrough, a.value.shape == shape, let g = output.grad {
                a.addGradient(adopting: g)
            } else if a.requiresGradient {
                a.withGradient { da in
                    z.withUnsafeBufferPointer { z in
                        guard let da = da.baseAddress, let dy = dy.baseAddress, let z = z.baseAddress else { return }
                        map.forEachRun { o, ia, ib, count, sa, sb in
                            let (g, w) = (dy + o, z + ib)
                            switch kind {
                            case .add, .subtract: Self.accumulate(da + ia, sa, count) { g[$0] }
                            case .multiply: Self.accumulate(da + ia, sa, count) { g[$0] * w[$0 &* sb] }
                            case .divide: Self.accumulate(da + ia, sa, count) { g[$0] / w[$0 &* sb] }
                            }
                        }
                    }
                }
            }
            if b.requiresGradient, kind == .add, b.value.shape == shape, let g = output.grad {
                b.addGradient(adopting: g)
            } else if b.requiresGradient {
                b.withGradient { db in
                    x.withUnsafeBufferPointer { x in
                        z.withUnsafeBufferPointer { z in
                            guard let db = db.baseAddress, let dy = dy.baseAddress, let x = x.baseAddress,
                                let z = z.baseAddress
                            else { return }
                            map.forEachRun { o, ia, ib, count, sa, sb in
                                let (g, v, w) = (dy + o, x + ia, z + ib)
                                switch kind {
                                case .add: Self.accumulate(db + ib, sb, count) { g[$0] }
                                case .subtract: Self.accumulate(db + ib, sb, count) { -g[$0] }
                                case .multiply: Self.accumulate(db + ib, sb, count) { g[$0] * v[$0 &* sa] }
                                case .divide:
                                    Self.accumulate(db + ib, sb, count) {
                                        let d = w[$0 &* sb]
                                        return -g[$0] * v[$0 &* sa] / (d * d)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The index map of a broadcast: for each output element, the element of each operand.
///
/// It hands out runs along the last output axis, `(outputOffset, aOffset, bOffset, count,
/// aStep, bStep)`, so the inner loops are plain strided loops (a step of 0 repeats an element).
struct BroadcastMap {
    let shape: [Int]
    let stridesA: [Int]
    let stridesB: [Int]

    init(output shape: [Int], _ a: [Int], _ b: [Int]) {
        self.init(coalescing: shape, Self.broadcastStrides(a, to: shape), Self.broadcastStrides(b, to: shape))
    }

    /// The walk over `shape` with operand strides `a` and `b`, with axes merged wherever
    /// both operands (and the dense output) continue contiguously across them, so a same-shape
    /// operation is one run and a bias add is one run per row. Extent-1 axes are dropped.
    init(coalescing shape: [Int], _ a: [Int], _ b: [Int]) {
        var (s, sa, sb): ([Int], [Int], [Int]) = ([], [], [])
        for axis in shape.indices.reversed() where shape[axis] != 1 || shape.allSatisfy({ $0 == 1 }) {
            if let inner = s.first, let ia = sa.first, let ib = sb.first,
                a[axis] == ia * inner, b[axis] == ib * inner
            {
                s[0] *= shape[axis]
            } else {
                s.insert(shape[axis], at: 0)
                sa.insert(a[axis], at: 0)
                sb.insert(b[axis], at: 0)
            }
            if shape[axis] == 1 { break }  // all-ones shape: keep exactly one axis
        }
        self.shape = s
        stridesA = sa
        stridesB = sb
    }

    /// Row-major strides of `shape` aligned to `target`'s axes, 0 where `shape` repeats.
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        var strides = Array(repeating: 0, count: target.count)
        var stride = 1
        for axis in shape.indices.reversed() {
            let t = axis + target.count - shape.count
            strides[t] = shape[axis] == 1 ? 0 : stride
            stride *= shape[axis]
        }
        return strides
    }

    func forEachRun(_ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        guard let inner = shape.last else {
            body(0, 0, 0, 1, 0, 0)
            return
        }
        let rank = shape.count
        let (sa, sb) = (stridesA[rank - 1], stridesB[rank - 1])
        var index = Array(repeating: 0, count: rank - 1)
        var (ia, ib) = (0, 0)
        var o = 0
        while o < total {
            body(o, ia, ib, inner, sa, sb)
            o += inner
            // Odometer increment over the outer axes, updating operand offsets incrementally.
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                ia += stridesA[axis]
                ib += stridesB[axis]
                if index[axis] < shape[axis] { break }
                ia -= stridesA[axis] * shape[axis]
                ib -= stridesB[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
