import Foundation
import NeuralNet
import Tensors

#if canImport(Accelerate)
    import Accelerate
#elseif canImport(CBLAS)
    import CBLAS
#endif

/// Throughput of the numeric core: RecKit's GEMM entry point beside a direct BLAS call, and the
/// time of one forward + backward step of a Transformer block and of a GRU layer.
///
/// Every figure is a median over alternating samples, so a burst of load on a shared machine
/// hits all the variants alike.
enum NumericProbe {
    /// One GEMM shape, `C (m, n) = A (m, k) · B (k, n)`, all row-major Float32.
    struct GemmShape: Sendable, Codable, Equatable {
        var m: Int
        var k: Int
        var n: Int
    }

    /// GFLOP/s (`2 m n k` per product) of each way to run a product, medians of `samples`.
    struct GemmRow: Sendable, Codable, Equatable {
        var shape: GemmShape
        /// Products per timed sample.
        var repetitions: Int
        /// `cblas_sgemm` called directly: the machine's BLAS.
        var direct: Double
        /// `BLAS.gemm`, RecKit's one GEMM entry point.
        var entryPoint: Double
        /// `Variable.matmul` on an inference tape: allocates and zeroes the output each time.
        var tensorMatmul: Double
    }

    /// The median, minimum and maximum time of a training step, and the process's peak memory.
    struct StepSummary: Sendable, Codable, Equatable {
        var benchmark: String
        var configuration: String
        var warmup: Int
        var steps: Int
        var medianMilliseconds: Double
        var minimumMilliseconds: Double
        var maximumMilliseconds: Double
        /// Peak resident set size of this process so far (`getrusage`), in MiB.
        var peakResidentMiB: Double
    }

    /// The square sizes and the two model shapes of issue 3: SASRec's `(B·L, E)·(E, E)`
    /// projection and GRU4Rec's `(B·L', H)·(H, items)` scoring against ml-1m's 3,706 items.
    static let defaultGemmShapes: [GemmShape] =
        [64, 128, 256, 512, 1024, 2048].map { GemmShape(m: $0, k: $0, n: $0) }
        + [GemmShape(m: 25_600, k: 64, n: 64), GemmShape(m: 4096, k: 64, n: 3706)]

    /// Times the three GEMM paths on `shape`, each sample about `sampleSeconds` long.
    static func gemm(_ shape: GemmShape, samples: Int, sampleSeconds: Double = 0.05, seed: UInt64 = 7) -> GemmRow {
        let (m, k, n) = (shape.m, shape.k, shape.n)
        var generator = SplitMix64(seed: seed)
        let a = Tensor<Float>.randomUniform(shape: [m, k], in: -1..<1, using: &generator)
        let b = Tensor<Float>.randomUniform(shape: [k, n], in: -1..<1, using: &generator)
        var c = [Float](repeating: 0, count: m * n)
        let flops = 2 * Double(m) * Double(n) * Double(k)
        let direct: () -> Void = {
            DirectBLAS.sgemm(m: m, n: n, k: k, a: a.scalars, b: b.scalars, c: &c)
        }
        let entry: () -> Void = {
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return }
                        BLAS.gemm(.none, .none, m: m, n: n, k: k, a: pa, lda: k, b: pb, ldb: n, c: pc, ldc: n)
                    }
                }
            }
        }
        let tape = Tape<Float>(recording: false)
        let (va, vb) = (tape.constant(a), tape.constant(b))
        var sink: Float = 0
        let tensor: () -> Void = { sink += va.matmul(vb).value.scalars[0] }
        // Warm up (threads, pages), then size a sample from one timed product.
        for body in [direct, entry, tensor] { body() }
        let once = seconds(of: direct)
        let repetitions = max(1, Int(sampleSeconds / max(once, 1e-7)))
        var times: [[Double]] = [[], [], []]
        for _ in 0..<samples {
            for (index, body) in [direct, entry, tensor].enumerated() {
                times[index].append(
                    seconds {
                        for _ in 0..<repetitions { body() }
                    })
            }
        }
        precondition(sink.isFinite || sink.isNaN, "unreachable: keeps the tensor product alive")
        let rates = times.map { flops * Double(repetitions) / median($0) / 1e9 }
        return GemmRow(
            shape: shape, repetitions: repetitions, direct: rates[0], entryPoint: rates[1], tensorMatmul: rates[2])
    }

    /// One `TransformerBlock` (post-norm, GELU, dropout 0, causal self-attention) on seeded
    /// `N(0, 1)` input `(batch, length, width)`; loss = mean of the outputs; forward + backward.
    static func transformerStep(
        batch: Int, length: Int, width: Int, heads: Int, feedForward: Int, warmup: Int, steps: Int,
        seed: UInt64 = 7
    ) -> StepSummary {
        var generator = SplitMix64(seed: seed)
        let block = TransformerBlock<Float>(
            width: width, heads: heads, feedForwardSize: feedForward, dropout: 0, using: &generator)
        let input = Tensor<Float>.randomNormal(shape: [batch, length, width], using: &generator)
        let times = timeSteps(warmup: warmup, steps: steps, layer: block) {
            let tape = Tape<Float>()
            let y = block(tape.constant(input), causal: true, using: &generator)
            tape.backward(y.mean())
        }
        return summary(
            "transformer",
            "batch \(batch), length \(length), width \(width), \(heads) heads, FFN \(feedForward), causal",
            warmup: warmup, times: times)
    }

    /// One single-layer `GRU` on seeded `N(0, 1)` input `(batch, length, inputSize)` from a zero
    /// state; loss = mean of the outputs `(batch, length, hidden)`; forward + backward.
    static func gruStep(
        batch: Int, length: Int, inputSize: Int, hidden: Int, warmup: Int, steps: Int, seed: UInt64 = 7
    ) -> StepSummary {
        var generator = SplitMix64(seed: seed)
        let gru = GRU<Float>(inputSize: inputSize, hiddenSize: hidden, using: &generator)
        let input = Tensor<Float>.randomNormal(shape: [batch, length, inputSize], using: &generator)
        let times = timeSteps(warmup: warmup, steps: steps, layer: gru) {
            let tape = Tape<Float>()
            tape.backward(gru(tape.constant(input)).output.mean())
        }
        return summary(
            "gru", "batch \(batch), length \(length), input \(inputSize), hidden \(hidden)", warmup: warmup,
            times: times)
    }

    /// Runs `step` `warmup + steps` times, clearing gradients before each (untimed), and returns
    /// the timed steps' durations in seconds.
    /// Steps run as training runs them: OpenBLAS single-threaded, RecKit splitting the work.
    private static func timeSteps(warmup: Int, steps: Int, layer: some Layer, _ step: () -> Void) -> [Double] {
        MemoryTuning.keepFreedBuffers()
        return BLAS.withSingleThreadedKernels {
            var times: [Double] = []
            for index in 0..<(warmup + steps) {
                layer.zeroGradients()
                let elapsed = seconds(of: step)
                if index >= warmup { times.append(elapsed) }
            }
            return times
        }
    }

    private static func summary(_ name: String, _ configuration: String, warmup: Int, times: [Double])
        -> StepSummary
    {
        StepSummary(
            benchmark: name, configuration: configuration, warmup: warmup, steps: times.count,
            medianMilliseconds: median(times) * 1e3, minimumMilliseconds: (times.min() ?? .nan) * 1e3,
            maximumMilliseconds: (times.max() ?? .nan) * 1e3, peakResidentMiB: peakResidentMiB())
    }

    /// Peak resident set size of this process, in MiB (`ru_maxrss` is KiB on Linux, bytes on macOS).
    static func peakResidentMiB() -> Double {
        var usage = rusage()
        #if os(macOS)
            guard getrusage(RUSAGE_SELF, &usage) == 0 else { return .nan }
            return Double(usage.ru_maxrss) / 1_048_576
        #else
            guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return .nan }
            return Double(usage.ru_maxrss) / 1024
        #endif
    }

    private static func seconds(of body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// The baseline of `reckit bench gemm`: `cblas_sgemm` called directly, without RecKit's entry
/// point. The one place outside `Tensors` that calls BLAS, and only to measure `BLAS.gemm`.
private enum DirectBLAS {
    static func sgemm(m: Int, n: Int, k: Int, a: [Float], b: [Float], c: inout [Float]) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0,
            &c, Int32(n))
    }
}
