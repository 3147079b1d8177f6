/// Which stretches of a user's history an every-position model (SASRec, GRU4Rec) trains on.
public enum TrainingWindows: String, Sendable, CaseIterable {
    /// The newest `max_length + 1` items once per epoch, as Kang & McAuley's SASRec does.
    case newest
    /// The whole history cut into consecutive windows of `max_length` targets, newest first, so
    /// every event after a user's first is a target once per epoch. A target early in its
    /// window sees only the few items before it in that window.
    case all
    /// Windows of `max_length` inputs ending every `window_stride` targets [`max_length / 2`],
    /// each training on its newest `window_stride` targets (the oldest window on all of its
    /// targets): every event after a user's first is still a target once per epoch, now with at
    /// least `max_length - window_stride` items before it where the history has them — closer
    /// to what the model reads when it recommends — for `max_length / window_stride` times the
    /// windows of `all`. A stride of 1 is RecBole's training on every prefix.
    case overlap
}

extension TrainingWindows {
    /// Targets per `overlap` window when `window_stride` is not given: half a window.
    static func defaultStride(maxLength: Int) -> Int { max(1, maxLength / 2) }

    /// The windows over a history of `count` items, newest first: each reads the `maxLength`
    /// items before `end` (exclusive) and predicts each next one, counting the targets at
    /// indices `≥ firstTarget`. `stride` (overlap only) defaults to ``defaultStride(maxLength:)``.
    func windows(count: Int, maxLength: Int, stride: Int? = nil) -> [(end: Int, firstTarget: Int)] {
        // Windows end at the newest item and step back `stride` targets at a time.
        let stride =
            self == .overlap
            ? max(1, min(maxLength, stride ?? Self.defaultStride(maxLength: maxLength))) : maxLength
        var result: [(end: Int, firstTarget: Int)] = []
        var end = count
        repeat {
            let oldest = self == .newest || end - stride < 2
            result.append((end, oldest ? 0 : end - stride))
            end -= stride
        } while self != .newest && end >= 2
        return result
    }
}
