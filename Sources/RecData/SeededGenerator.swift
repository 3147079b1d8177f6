/// A small, fast, seedable random number generator (xoshiro256**, Blackman & Vigna 2018),
/// seeded through SplitMix64.
///
/// Every random choice in RecKit takes a seed or an `inout` generator, so runs repeat
/// exactly. The sequence for a seed is part of RecKit's reproducibility promise: splits
/// written today must be the same tomorrow, so this type never changes its algorithm.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var mix = seed
        func next() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection; no modulo bias).
    public mutating func nextInt(below bound: Int) -> Int {
        checkArgument(bound > 0, "nextInt: bound \(bound) must be positive")
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold { product = next().multipliedFullWidth(by: b) }
        }
        return Int(product.high)
    }

    /// A uniform `Double` in `[0, 1)`, from the top 53 bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Shuffles `elements` in place with Fisher–Yates, in a fixed, documented order
    /// (from the last position down), so the result depends only on the seed.
    public mutating func shuffle<T>(_ elements: inout [T]) {
        guard elements.count > 1 else { return }
        for i in stride(from: elements.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { elements.swapAt(i, j) }
        }
    }
}

/// A 64-bit mix of two values (SplitMix64 finalizer): deterministic per-item randomness.
@inlinable
public func mixHash(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var z = a &+ 0x9E37_79B9_7F4A_7C15 &* (b &+ 1)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
