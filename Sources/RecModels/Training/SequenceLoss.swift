/// The loss a sequence model trains with.
public enum SequenceLoss: String, Sendable, CaseIterable {
    /// Cross-entropy over every item (a softmax over the catalogue), computed in chunks.
    case crossEntropy = "ce"
    /// BPR with one uniformly sampled negative per target.
    case bpr
    /// Binary cross-entropy: the target against one uniformly sampled negative.
    case binaryCrossEntropy = "bce"
    /// Sampled softmax over the batch's targets and `negatives` uniform items, logQ-corrected
    /// (``CatalogueLoss/sampledSoftmax``): its cost does not grow with the catalogue.
    case sampledSoftmax = "sampled"
    /// gSASRec's generalized BCE against `negatives` uniform items, calibration `gbce_t`
    /// (``CatalogueLoss/generalizedBCE``).
    case generalizedBCE = "gbce"

    /// Whether the loss reads `negatives` (and `gbce_t`).
    var samplesNegatives: Bool { self == .sampledSoftmax || self == .generalizedBCE }
}
