/// xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64: the simulator's only source
/// of randomness, so that one seed reproduces a whole run.
///
/// Deliberately not a `RandomNumberGenerator`: the standard library's `random(in:using:)`
/// algorithms are not promised to stay the same across Swift versions, and a seed must replay the
/// same run forever. Every draw goes through the methods here.
public struct SimulationRandom: Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    public init(seed: UInt64) {
        var mixer = seed
        func splitMix(_ state: inout UInt64) -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&mixer)
        s1 = splitMix(&mixer)
        s2 = splitMix(&mixer)
        s3 = splitMix(&mixer)
    }

    /// The next 64 uniformly distributed bits.
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in `0..<bound`, without bias (Lemire's multiply-shift with rejection).
    public mutating func below(_ bound: Int) -> Int {
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
    public mutating func inRange(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// True with probability `probability`.
    public mutating func chance(_ probability: Double) -> Bool {
        probability > 0 && unit() < probability
    }

    /// One element of a non-empty collection.
    public mutating func pick<C: RandomAccessCollection>(_ collection: C) -> C.Element where C.Index == Int {
        precondition(!collection.isEmpty, "cannot pick from an empty collection")
        return collection[collection.startIndex + below(collection.count)]
    }

    /// An independent stream derived from this one (a draw here, a fresh seed there).
    public mutating func fork() -> SimulationRandom {
        SimulationRandom(seed: next())
    }
}

/// Adapts a `SimulationRandom` stream to `RandomNumberGenerator` for the one API that takes one:
/// `SimulatedFileSystem.crash(random:)`. Every bit still comes from the seed, so a seed replays its run;
/// what survives a crash also depends on the standard library's `Int.random(in:using:)` algorithm
/// (Lemire's method today), which Swift does not promise to keep: a change there changes crash outcomes.
struct SimulationRandomGenerator: RandomNumberGenerator {
    var random: SimulationRandom

    init(_ random: SimulationRandom) { self.random = random }

    mutating func next() -> UInt64 { random.next() }
}

/// FNV-1a over 64-bit words: a cheap, stable digest of a run's event trace (replays must match).
public struct TraceDigest: Sendable, Hashable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    public private(set) var events: Int = 0

    public init() {}

    public mutating func mix(_ word: UInt64) {
        var w = word
        for _ in 0..<8 {
            value ^= w & 0xFF
            value = value &* 0x0000_0100_0000_01B3
            w >>= 8
        }
    }

    /// Adds one event made of a tag and a few words.
    public mutating func record(_ tag: UInt64, _ words: UInt64...) {
        events += 1
        mix(tag)
        for word in words { mix(word) }
    }
}
