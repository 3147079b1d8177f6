import Dispatch
import Foundation
import RecData
import Testing

@testable import Tensors

/// OpenBLAS's thread count is one setting for the whole process, and a product's rounding follows
/// it (issue 43: TextCNN's vectors recomputed on load differed from training's while other tests
/// trained). Sections that change it run one at a time and restore it, and a product inside
/// `withSteadyKernelThreads` repeats bit for bit while other threads enter and leave sections.
@Suite(.serialized) struct KernelThreadsTests {
    /// Counts from several threads.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add(_ n: Int = 1) { lock.withLock { count += n } }
        var value: Int { lock.withLock { count } }
    }

    /// `(512, 96) · (96, 32)`: too small for `gemm` to split its rows itself, large enough for
    /// OpenBLAS to use its threads, so that its rounding follows their count.
    static func product(_ a: [Float], _ b: [Float]) -> [Float] {
        var c = [Float](repeating: 0, count: 512 * 32)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return }
                    BLAS.gemm(.none, .none, m: 512, n: 32, k: 96, a: pa, lda: 96, b: pb, ldb: 32, c: pc, ldc: 32)
                }
            }
        }
        return c
    }

    @Test func aSteadyProductRepeatsWhileAnotherThreadEntersSingleThreadedSections() {
        var generator = SeededGenerator(seed: 43)
        let a = (0..<(512 * 96)).map { _ in Float(generator.nextUnit() - 0.5) }
        let b = (0..<(96 * 32)).map { _ in Float(generator.nextUnit() - 0.5) }
        let reference = BLAS.withSteadyKernelThreads { Self.product(a, b) }
        let done = DispatchSemaphore(value: 0)
        let sections = Counter()
        // Another thread trains: short single-threaded sections, one after another.
        Thread {
            for _ in 0..<400 {
                BLAS.withSingleThreadedKernels { _ = usleep(200) }
                sections.add()
            }
            done.signal()
        }.start()
        var differing = 0
        for _ in 0..<40 where BLAS.withSteadyKernelThreads({ Self.product(a, b) }) != reference { differing += 1 }
        done.wait()
        #expect(sections.value == 400)
        #expect(differing == 0, "\(differing) of 40 products differed from the first")
    }

    @Test func concurrentSectionsRunOneAtATimeAndRestoreTheCount() {
        let before = BLAS.withSteadyKernelThreads { BLAS.kernelThreads }
        let notSingle = Counter()
        let finished = DispatchGroup()
        for _ in 0..<4 {
            finished.enter()
            Thread {
                for _ in 0..<300 {
                    BLAS.withSingleThreadedKernels {
                        usleep(20)
                        if BLAS.kernelThreads != 1 { notSingle.add() }
                    }
                }
                finished.leave()
            }.start()
        }
        finished.wait()
        #expect(notSingle.value == 0, "\(notSingle.value) sections saw another section's restore")
        #expect(BLAS.withSteadyKernelThreads { BLAS.kernelThreads } == before)
    }
}
