import Foundation

/// `exp`, `erf` and GELU on `SIMD16<Float>` lanes, for the kernels where the scalar library
/// calls (`expf`, `erff`) dominate: GELU in every Transformer block took 18% of a SASRec request
/// on ml-1m through `erff`, one call per element.
///
/// Accuracy against the Float64 functions (checked by `VectorMathTests` over dense grids):
/// `exp` within 2 ulp; `erf` within 5e-7 absolute (about 8 ulp near ±1). Double keeps the
/// library functions (``TensorScalar/_gelu(_:_:_:)``), so the gradient checks in Float64 run the
/// exact formulas.
///
/// Clamps and maxima use `minimum` / `maximum` below, a compare and a blend:
/// `SIMD.clamped(lowerBound:upperBound:)` and, inside this module, `pointwiseMax` compiled to a
/// loop over lanes through the stack (NaN handling per lane), 35 times slower and a quarter of a
/// SASRec training step respectively.
public enum VectorMath {
    public typealias Vector = SIMD16<Float>

    /// `e^x` for each lane: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, `e^r` by its Taylor series to
    /// degree 7 (remainder below 6e-9), and `2^n` written into the exponent bits. Inputs are
    /// clamped to `[-87.3, 88.7]`, so the result is a normal float (or `inf` above).
    @inline(__always)
    public static func exp(_ x: Vector) -> Vector {
        let clamped = maximum(minimum(x, Vector(repeating: 88.7)), Vector(repeating: -87.3))
        // Adding 1.5 · 2²³ rounds to an integer and leaves it in the low mantissa bits.
        let shifter = Vector(repeating: 12_582_912)
        let shifted = clamped * Vector(repeating: 1.442_695_040_888_963_4) + shifter
        let n = shifted - shifter
        // ln 2 in two parts, so `n · ln2High` is exact and `r` keeps its low bits.
        let r = clamped - n * Vector(repeating: 0.693_145_751_953_125) - n * Vector(repeating: 1.428_606_765_330_187e-6)
        var p = Vector(repeating: 1.0 / 5040) * r + Vector(repeating: 1.0 / 720)
        p = p * r + Vector(repeating: 1.0 / 120)
        p = p * r + Vector(repeating: 1.0 / 24)
        p = p * r + Vector(repeating: 1.0 / 6)
        p = p * r + Vector(repeating: 0.5)
        p = p * r + Vector(repeating: 1)
        p = p * r + Vector(repeating: 1)
        let exponent = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: Vector.self)
    }

    /// `erf(x)` for each lane: `x · P(x²) / Q(x²)` on `[-4, 4]` (outside it `erf` rounds to ±1 in
    /// Float32). The coefficients are a relative least-squares rational fit of degrees 6 / 4 in
    /// `x²`, made with NumPy (`benchmarks/erf_fit.py`).
    @inline(__always)
    public static func erf(_ x: Vector) -> Vector {
        let clamped = maximum(minimum(x, Vector(repeating: 4)), Vector(repeating: -4))
        let u = clamped * clamped
        var p = Vector(repeating: 1.967_192_631_013_858_8e-08) * u + Vector(repeating: -1.942_183_871_506_131_3e-06)
        p = p * u + Vector(repeating: 0.000_141_264_565_172_605_22)
        p = p * u + Vector(repeating: 0.003_699_813_038_110_733)
        p = p * u + Vector(repeating: 0.050_575_003_027_915_955)
        p = p * u + Vector(repeating: 0.200_042_903_423_309_33)
        p = p * u + Vector(repeating: 1.128_379_106_521_606_4)
        var q = Vector(repeating: 0.000_953_915_587_160_736_3) * u + Vector(repeating: 0.014_354_012_906_551_361)
        q = q * u + Vector(repeating: 0.115_034_334_361_553_19)
        q = q * u + Vector(repeating: 0.510_615_229_606_628_4)
        q = q * u + Vector(repeating: 1)
        return maximum(minimum(clamped * p / q, Vector(repeating: 1)), Vector(repeating: -1))
    }

    /// `y[i] = x[i] · Φ(x[i])`, `Φ(x) = (1 + erf(x / √2)) / 2`.
    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i + 16 <= count {
            let v = load(x + i)
            store(v * cdf(v), y + i)
            i += 16
        }
        if i < count { tail(x, y, from: i, to: count) { v in v * cdf(v) } }
    }

    /// `dx[i] += dy[i] · (Φ(x[i]) + x[i] · φ(x[i]))`, `φ` the standard normal density.
    public static func geluBackward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ count: Int
    ) {
        @inline(__always) func slope(_ v: Vector) -> Vector {
            cdf(v) + v * exp(v * v * Vector(repeating: -0.5)) * Vector(repeating: 0.398_942_280_401_432_7)
        }
        var i = 0
        while i + 16 <= count {
            store(load(dx + i) + load(dy + i) * slope(load(x + i)), dx + i)
            i += 16
        }
        if i < count {
            var lanes = Vector(), gradient = Vector(), accumulated = Vector()
            for lane in 0..<(count - i) {
                lanes[lane] = x[i + lane]
                gradient[lane] = dy[i + lane]
                accumulated[lane] = dx[i + lane]
            }
            let result = accumulated + gradient * slope(lanes)
            for lane in 0..<(count - i) { dx[i + lane] = result[lane] }
        }
    }

    /// `y[i] = 1 / (1 + e^-x[i])`, through ``exp(_:)``: within 1e-7 of the Float64 value
    /// (absolute; `VectorMathTests` checks it on [-100, 100]).
    public static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        let one = Vector(repeating: 1)
        var i = 0
        while i + 16 <= count {
            store(one / (one + exp(-load(x + i))), y + i)
            i += 16
        }
        if i < count { tail(x, y, from: i, to: count) { one / (one + exp(-$0)) } }
    }

    /// `y[i] = tanh(x[i])` as `2σ(2x) − 1`: within 2.5e-7 of the Float64 value (absolute; the
    /// relative error grows near 0, where `tanh x ≈ x`).
    public static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        let (one, two) = (Vector(repeating: 1), Vector(repeating: 2))
        var i = 0
        while i + 16 <= count {
            store(two / (one + exp(load(x + i) * -two)) - one, y + i)
            i += 16
        }
        if i < count { tail(x, y, from: i, to: count) { two / (one + exp($0 * -two)) - one } }
    }

    /// `log Σ exp(z[i])`, shifted by the largest element; NaN if any element is NaN, `-inf` if
    /// all are `-inf` (or `count` is 0).
    public static func logSumExp(_ z: UnsafePointer<Float>, _ count: Int) -> Float {
        var peaks = Vector(repeating: -.infinity)
        var nan = SIMDMask<SIMD16<Int32>>()
        var i = 0
        while i + 16 <= count {
            let v = load(z + i)
            nan .|= v .!= v
            peaks = maximum(peaks, v)
            i += 16
        }
        var peak = peaks.max()
        for j in i..<count {
            if z[j].isNaN { return .nan }
            peak = Swift.max(peak, z[j])
        }
        if any(nan) { return .nan }
        if peak == -.infinity { return peak }
        let shift = Vector(repeating: peak)
        var sums = Vector()
        i = 0
        while i + 16 <= count {
            sums += exp(load(z + i) - shift)
            i += 16
        }
        var sum = sums.sum()
        if i < count {
            var lanes = Vector(repeating: -.infinity)
            for lane in 0..<(count - i) { lanes[lane] = z[i + lane] }
            sum += exp(lanes - shift).replacing(with: 0, where: lanes .== Vector(repeating: -.infinity)).sum()
        }
        return peak + Foundation.log(sum)
    }

    /// `z[i] = scale · exp(z[i] - shift)` in place.
    public static func scaledExp(_ z: UnsafeMutablePointer<Float>, _ count: Int, shift: Float, scale: Float) {
        let (s, k) = (Vector(repeating: shift), Vector(repeating: scale))
        var i = 0
        while i + 16 <= count {
            store(k * exp(load(z + i) - s), z + i)
            i += 16
        }
        if i < count { tail(z, z, from: i, to: count) { k * exp($0 - s) } }
    }

    /// The larger of each pair of lanes; `a`'s lane where either is NaN.
    @inline(__always)
    static func maximum(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: b .> a) }

    /// The smaller of each pair of lanes; `a`'s lane where either is NaN.
    @inline(__always)
    static func minimum(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: b .< a) }

    @inline(__always)
    static func cdf(_ v: Vector) -> Vector {
        (Vector(repeating: 1) + erf(v * Vector(repeating: 0.707_106_781_186_547_5))) * Vector(repeating: 0.5)
    }

    /// `y[i] = f(x[i])` for `i` in `start..<end` (fewer than 16) through one zero-padded vector.
    @inline(__always)
    static func tail(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, from start: Int, to end: Int,
        _ f: (Vector) -> Vector
    ) {
        var lanes = Vector()
        for lane in 0..<(end - start) { lanes[lane] = x[start + lane] }
        let result = f(lanes)
        for lane in 0..<(end - start) { y[start + lane] = result[lane] }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }
}
