/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014):
/// the workload generators' only source of randomness.
///
/// Deliberately not a `RandomNumberGenerator`: the standard library's `random(in:using:)`
/// algorithms are not promised to stay the same across Swift versions, and a workload must
/// produce the same commands for the same seed forever. Every draw goes through the methods here.
public struct SplitMix64: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 uniformly distributed bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound`, without bias (Lemire's multiply-shift with rejection).
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// Uniform in `range`.
    public mutating func next(in range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(next(below: Int(range.upperBound - range.lowerBound) + 1))
    }

    /// True with probability `percent` / 100.
    public mutating func chance(percent: Int) -> Bool {
        next(below: 100) < percent
    }
}
