import ArgumentParser
import Testing

@testable import RecKitCLI

struct NumericProbeTests {
    @Test func benchSubcommandsParseWithTheIssueShapesAsDefaults() throws {
        let transformer = try #require(
            try RecKitCommand.parseAsRoot(["bench", "transformer"]) as? BenchCommand.Transformer)
        #expect(transformer.step.batch == 128 && transformer.length == 200 && transformer.width == 64)
        #expect(transformer.heads == 2 && transformer.feedForward == 256)
        let gru = try #require(try RecKitCommand.parseAsRoot(["bench", "gru", "--steps", "4"]) as? BenchCommand.GRU)
        #expect(gru.step.steps == 4 && gru.length == 50 && gru.inputSize == 64 && gru.hidden == 128)
        #expect(throws: (any Error).self) { try RecKitCommand.parseAsRoot(["bench", "gru", "--steps", "0"]) }
    }

    @Test func layerStepsTimeEveryStepAfterWarmUp() {
        let gru = NumericProbe.gruStep(batch: 2, length: 3, inputSize: 4, hidden: 5, warmup: 1, steps: 3)
        #expect(gru.steps == 3 && gru.medianMilliseconds > 0 && gru.peakResidentMiB > 0)
        let block = NumericProbe.transformerStep(
            batch: 2, length: 5, width: 4, heads: 2, feedForward: 8, warmup: 0, steps: 2)
        #expect(block.steps == 2 && block.minimumMilliseconds > 0 && block.peakResidentMiB > 0)
    }

    @Test func gemmPathsReportPositiveRates() {
        let row = NumericProbe.gemm(.init(m: 8, k: 4, n: 6), samples: 1, sampleSeconds: 0.001)
        #expect(row.direct > 0 && row.entryPoint > 0 && row.tensorMatmul > 0)
    }

    @Test(arguments: [([3.0, 1, 2], 2.0), ([4.0, 1, 3, 2], 2.5), ([], Double.nan)])
    func medianOfOddAndEvenCounts(values: [Double], expected: Double) {
        let median = NumericProbe.median(values)
        #expect(median == expected || (median.isNaN && expected.isNaN))
    }
}
