import Foundation
import RecData
import Testing
import _RecTestSupport

@testable import Tensors

struct LinearAlgebraTests {
    func random(_ count: Int, _ generator: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in Float(generator.nextUnit() * 2 - 1) }
    }

    @Test(arguments: [
        (Transpose.none, Transpose.none), (.transposed, .none), (.none, .transposed), (.transposed, .transposed),
    ])
    func gemmMatchesTheReference(transA: Transpose, transB: Transpose) {
        var generator = SeededGenerator(seed: 11)
        // The last size is large enough that, with single-threaded kernels, RecKit splits C's rows.
        let cases = [
            (1, 1, 1, false), (7, 5, 3, false), (33, 17, 65, false), (64, 64, 64, false), (61, 70, 1000, true),
        ]
        for (m, n, k, split) in cases {
            if split { #expect(Double(m * n * k) >= 4e6 && m >= 2 * Parallel.threadCount) }
            let a = random(m * k, &generator)
            let b = random(k * n, &generator)
            var c = random(m * n, &generator)
            var expected = c.map(Double.init)
            let lda = transA == .none ? k : m
            let ldb = transB == .none ? n : k
            BLAS.gemmReference(
                transA, transB, m: m, n: n, k: k, alpha: 0.5, a: a.map(Double.init), lda: lda, b: b.map(Double.init),
                ldb: ldb, beta: 2, c: &expected, ldc: n)
            let product = {
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            BLAS.gemm(
                                transA, transB, m: m, n: n, k: k, alpha: 0.5, a: pa.baseAddress!, lda: lda,
                                b: pb.baseAddress!,
                                ldb: ldb, beta: 2, c: pc.baseAddress!, ldc: n)
                        }
                    }
                }
            }
            if split { BLAS.withSingleThreadedKernels(product) } else { product() }
            #expect(allClose(c.map(Double.init), expected, rtol: 1e-4, atol: 1e-5), "\(m)×\(n)×\(k)")
        }
    }

    @Test func spdInverseTimesMatrixIsIdentity() throws {
        var generator = SeededGenerator(seed: 3)
        let n = 40
        let x = (0..<(60 * n)).map { _ in generator.nextUnit() }
        var g = Matrix<Double>(rows: n, columns: n)
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for r in 0..<60 { s += x[r * n + i] * x[r * n + j] }
                g[i, j] = s + (i == j ? 1 : 0)
            }
        }
        var inverse = g
        try LAPACK.invertSymmetricPositiveDefinite(&inverse)
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<n { s += g[i, p] * inverse[p, j] }
                #expect(abs(s - (i == j ? 1 : 0)) < 1e-9)
            }
        }
    }

    /// A = Q diag(λ) Qᵀ built from a known orthonormal Q (a Householder reflection): the top
    /// eigenpairs must come back largest first, each vector ±Q's column.
    @Test func largestEigenpairsOfAPlantedSpectrum() throws {
        let n = 7
        let u: [Double] = (0..<n).map { Double($0 * $0 % 5) + 0.5 }
        let norm2 = u.reduce(0) { $0 + $1 * $1 }
        let lambdas: [Double] = [0.3, 5, -2, 9, 1, 7.5, 0]
        var q = Matrix<Double>(rows: n, columns: n)  // I − 2uuᵀ/|u|², symmetric and orthogonal
        for i in 0..<n { for j in 0..<n { q[i, j] = (i == j ? 1 : 0) - 2 * u[i] * u[j] / norm2 } }
        var a = Matrix<Double>(rows: n, columns: n)
        for i in 0..<n {
            for j in 0..<n { a[i, j] = (0..<n).reduce(0) { $0 + q[i, $1] * lambdas[$1] * q[j, $1] } }
        }
        var copy = a
        let (values, vectors) = try LAPACK.largestEigenpairs(&copy, count: 3)
        let order = [3, 5, 1]  // λ = 9, 7.5, 5
        for (k, column) in order.enumerated() {
            #expect(abs(values[k] - lambdas[column]) < 1e-10)
            let dot = (0..<n).reduce(0) { $0 + vectors[k, $1] * q[$1, column] }
            #expect(abs(abs(dot) - 1) < 1e-10)
            for i in 0..<n {  // A v = λ v
                let av = (0..<n).reduce(0) { $0 + a[i, $1] * vectors[k, $1] }
                #expect(abs(av - values[k] * vectors[k, i]) < 1e-10)
            }
        }
    }

    @Test func notPositiveDefiniteIsReported() {
        var m = Matrix<Double>(rows: 2, columns: 2, storage: [1, 2, 2, 1])
        #expect(throws: LinearAlgebraError.notPositiveDefinite(order: 2)) {
            try LAPACK.invertSymmetricPositiveDefinite(&m)
        }
    }

    @Test func parallelChunksCoverTheRangeOnce() {
        var hits = [Int](repeating: 0, count: 1000)
        hits.withUnsafeMutableBufferPointer { hits in
            Parallel.forEachChunk(of: 0..<1000, minimumChunk: 10) { range in for i in range { hits[i] += 1 } }
        }
        #expect(hits.allSatisfy { $0 == 1 })
    }
}

struct SafeTensorsTests {
    @Test func roundTripKeepsEveryDtype() throws {
        let url = temporaryDirectory("st").appendingPathComponent("t.safetensors")
        let tensors: [String: SafeTensor] = [
            "a.weight": SafeTensor([1.5, -2, 3, 4, 5, 6] as [Float], shape: [2, 3]),
            "b": SafeTensor([1e-300, 2] as [Double]),
            "c": SafeTensor([Int32.min, 0, Int32.max]),
            "d": SafeTensor([Int64.max]),
            "empty": SafeTensor([Float](), shape: [0, 4]),
            // An empty tensor between two others shares its offset with the next one.
            "a.empty": SafeTensor([Int32](), shape: [0]),
        ]
        try SafeTensors.write(tensors, metadata: ["format": "test"], to: url)
        let (read, metadata) = try SafeTensors.read(from: url)
        #expect(read == tensors)
        #expect(metadata == ["format": "test"])
        #expect(try read["a.weight"]?.floats() == [1.5, -2, 3, 4, 5, 6])
        #expect(throws: CheckpointError.mismatch(key: "c", expected: "F32", found: "I32")) {
            try read["c"]?.floats(key: "c")
        }
        // The header length is a multiple of 8, as the reference implementation writes it.
        let bytes = [UInt8](try Data(contentsOf: url))
        #expect(Int(bytes[0]) % 8 == 0)
    }

    @Test func malformedFilesAreRejectedWithAReason() throws {
        let folder = temporaryDirectory("st")
        let short = writeFile(folder, "short", bytes: [1, 2, 3])
        #expect(throws: CheckpointError.malformed(path: short, reason: "shorter than 8 bytes")) {
            try SafeTensors.read(from: URL(fileURLWithPath: short))
        }
        let header = Array(#"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#.utf8)
        var length = [UInt8](repeating: 0, count: 8)
        length[0] = UInt8(header.count)
        let truncated = writeFile(folder, "truncated", bytes: length + header + [0, 0, 0, 0])
        #expect(throws: CheckpointError.self) { try SafeTensors.read(from: URL(fileURLWithPath: truncated)) }
        let huge = writeFile(folder, "huge", bytes: [255, 255, 255, 255, 255, 255, 255, 127, 0])
        #expect(throws: CheckpointError.self) { try SafeTensors.read(from: URL(fileURLWithPath: huge)) }
    }

    @Test func strictKeysReportMissingThenUnexpected() {
        let tensors = ["a": SafeTensor([1] as [Float]), "extra": SafeTensor([1] as [Float])]
        #expect(throws: CheckpointError.missingKeys(["b"])) {
            try SafeTensors.requireExactKeys(tensors, expected: ["a", "b"])
        }
        #expect(throws: CheckpointError.unexpectedKeys(["extra"])) {
            try SafeTensors.requireExactKeys(tensors, expected: ["a"])
        }
    }
}
