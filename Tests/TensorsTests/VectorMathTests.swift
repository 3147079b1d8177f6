import Foundation
import Testing

@testable import Tensors

/// The SIMD `exp`, `erf` and GELU kernels against the Float64 library functions, over dense grids
/// that cover every branch (clamps, the tail that is not a multiple of 16, NaN).
struct VectorMathTests {
    /// `count` evenly spaced points in `[low, high]`.
    static func grid(_ low: Float, _ high: Float, _ count: Int) -> [Float] {
        (0..<count).map { low + (high - low) * Float($0) / Float(count - 1) }
    }

    static func lanes(_ values: [Float], _ f: (VectorMath.Vector) -> VectorMath.Vector) -> [Float] {
        stride(from: 0, to: values.count, by: 16).flatMap { start in
            var v = VectorMath.Vector()
            for lane in 0..<min(16, values.count - start) { v[lane] = values[start + lane] }
            let result = f(v)
            return (0..<min(16, values.count - start)).map { result[$0] }
        }
    }

    @Test func expIsWithinTwoUlp() {
        let x = Self.grid(-87, 88, 100_003)
        for (value, approximation) in zip(x, Self.lanes(x, VectorMath.exp)) {
            let exact = Foundation.exp(Double(value))
            let ulp = Double(Float(exact).ulp)
            #expect(abs(Double(approximation) - exact) <= 2 * ulp, "exp(\(value)) = \(approximation), not \(exact)")
        }
        // Far below the range the result is tiny and finite; above it, infinite.
        #expect(Self.lanes([-200, 200], VectorMath.exp)[0] < 1e-37)
        #expect(Self.lanes([-200, 200], VectorMath.exp)[1] > 1e38)
    }

    @Test func erfIsWithinFiveTenMillionths() {
        let x = Self.grid(-6, 6, 120_001) + [0, 1e-30, -1e-30, 1e-6]
        var worst = 0.0
        for (value, approximation) in zip(x, Self.lanes(x, VectorMath.erf)) {
            worst = max(worst, abs(Double(approximation) - Foundation.erf(Double(value))))
            #expect(abs(approximation) <= 1)
        }
        #expect(worst < 5e-7, "largest error \(worst)")
        // Odd, and exactly 0 at 0.
        #expect(
            Self.lanes([0.3, -0.3, 0], VectorMath.erf) == [
                Self.lanes([0.3], VectorMath.erf)[0], -Self.lanes([0.3], VectorMath.erf)[0], 0,
            ])
    }

    @Test func geluForwardAndBackwardMatchTheExactFormulas() {
        // 1,001 elements: 62 full vectors and a tail of 9.
        let x = Self.grid(-9, 9, 1001)
        let dy = x.indices.map { Float(($0 * 37) % 11) / 5 - 1 }
        var y = [Float](repeating: 0, count: x.count)
        var dx = [Float](repeating: 0.25, count: x.count)
        VectorMath.gelu(x, &y, x.count)
        VectorMath.geluBackward(x, dy, &dx, x.count)
        for i in x.indices {
            let v = Double(x[i])
            let cdf = (1 + Foundation.erf(v / 2.0.squareRoot())) / 2
            let slope = cdf + v * Foundation.exp(-v * v / 2) / (2 * Double.pi).squareRoot()
            #expect(abs(Double(y[i]) - v * cdf) <= 2e-6 * max(1, abs(v)), "gelu(\(v))")
            #expect(abs(Double(dx[i]) - (0.25 + Double(dy[i]) * slope)) <= 2e-6, "gelu'(\(v))")
        }
        // NaN propagates through both.
        var nanOut: [Float] = [0]
        var nanGradient: [Float] = [0]
        VectorMath.gelu([.nan], &nanOut, 1)
        VectorMath.geluBackward([.nan], [1], &nanGradient, 1)
        #expect(nanOut[0].isNaN && nanGradient[0].isNaN)
    }

    @Test func sigmoidAndTanhAreWithinTheirStatedErrors() {
        let x = Self.grid(-100, 100, 200_003) + Self.grid(-1e-3, 1e-3, 1_001) + [0, 1e-30, -1e-30]
        var (s, t) = ([Float](repeating: 0, count: x.count), [Float](repeating: 0, count: x.count))
        VectorMath.sigmoid(x, &s, x.count)
        VectorMath.tanh(x, &t, x.count)
        var (worstS, worstT) = (0.0, 0.0)
        for i in x.indices {
            let v = Double(x[i])
            worstS = max(worstS, abs(Double(s[i]) - 1 / (1 + Foundation.exp(-v))))
            worstT = max(worstT, abs(Double(t[i]) - Foundation.tanh(v)))
            #expect(s[i] >= 0 && s[i] <= 1 && t[i] >= -1 && t[i] <= 1, "at \(v)")
        }
        #expect(worstS < 1e-7, "sigmoid: largest error \(worstS)")
        #expect(worstT < 2.5e-7, "tanh: largest error \(worstT)")
        // In place, and NaN propagates.
        var inPlace: [Float] = [0.5, .nan, -3]
        VectorMath.tanh(inPlace, &inPlace, 3)
        #expect(abs(Double(inPlace[0]) - Foundation.tanh(0.5)) < 2.5e-7 && inPlace[1].isNaN)
        VectorMath.sigmoid([.nan], &inPlace, 1)
        #expect(inPlace[0].isNaN)
    }

    @Test func logSumExpAndScaledExpMatchFloat64() {
        for count in [1, 15, 16, 17, 100, 3_707] {
            let z = (0..<count).map { Float(sin(Double($0) * 1.3) * 30 + Double($0 % 7)) }
            let exact = z.map(Double.init).max().map { peak in
                peak + Foundation.log(z.reduce(0) { $0 + Foundation.exp(Double($1) - peak) })
            }
            let approximation = VectorMath.logSumExp(z, count)
            #expect(abs(Double(approximation) - (exact ?? 0)) < 1e-5, "count \(count)")
            var scaled = z
            VectorMath.scaledExp(&scaled, count, shift: approximation, scale: 0.5)
            for j in 0..<count {
                // The argument as the kernel forms it, in Float32: its rounding is not exp's error.
                let reference = 0.5 * Foundation.exp(Double(z[j] - approximation))
                #expect(abs(Double(scaled[j]) - reference) <= 4e-7 * reference, "count \(count), element \(j)")
            }
        }
        // Masked (-inf) entries add nothing; all masked gives -inf; NaN anywhere gives NaN.
        let masked: [Float] = [1, -.infinity, 2] + [Float](repeating: -.infinity, count: 20)
        #expect(abs(VectorMath.logSumExp(masked, masked.count) - Float(Foundation.log(M_E + M_E * M_E))) < 1e-6)
        #expect(VectorMath.logSumExp([Float](repeating: -.infinity, count: 20), 20) == -.infinity)
        #expect(VectorMath.logSumExp([Float](repeating: 0, count: 20) + [.nan], 21).isNaN)
        #expect(VectorMath.logSumExp([.nan] + [Float](repeating: 0, count: 20), 21).isNaN)
    }

    @Test func floatGELUOnTheTapeAgreesWithDouble() {
        let values = Self.grid(-5, 5, 77)
        let p32 = Parameter(Tensor(shape: [7, 11], scalars: values))
        let p64 = Parameter(Tensor(shape: [7, 11], scalars: values.map(Double.init)))
        let tape32 = Tape<Float>()
        let y32 = tape32.parameter(p32).gelu()
        tape32.backward(y32.sum())
        let tape64 = Tape<Double>()
        let y64 = tape64.parameter(p64).gelu()
        tape64.backward(y64.sum())
        for i in values.indices {
            #expect(abs(Double(y32.value.scalars[i]) - y64.value.scalars[i]) < 3e-6)
            #expect(abs(Double(p32.grad.scalars[i]) - p64.grad.scalars[i]) < 3e-6)
        }
    }
}
