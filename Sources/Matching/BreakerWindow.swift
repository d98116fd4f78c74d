/// The rolling window of the volatility breaker: minimum and maximum trade price per whole second
/// of log time over the last `seconds` seconds (docs/MATCHING.md §7).
///
/// A ring of per-second buckets; the combined minimum and maximum of the buckets before the
/// current second are cached when the second changes, so a check costs O(1) per trade.
struct BreakerWindow: Sendable, Equatable {
    private(set) var bucketSecond: [Int64] = []
    private(set) var bucketMin: [Int64] = []
    private(set) var bucketMax: [Int64] = []
    let seconds: Int64

    private var cachedSecond: Int64 = .min
    private var earlierMin: Int64 = .max
    private var earlierMax: Int64 = .min

    init(seconds: Int64) {
        self.seconds = seconds
    }

    static let empty: Int64 = .min

    @inline(__always)
    private static func slot(_ second: Int64, _ seconds: Int64) -> Int {
        Int(((second % seconds) + seconds) % seconds)
    }

    private mutating func allocateIfNeeded() {
        if bucketSecond.isEmpty {
            let n = Int(seconds)
            bucketSecond = Array(repeating: Self.empty, count: n)
            bucketMin = Array(repeating: .max, count: n)
            bucketMax = Array(repeating: .min, count: n)
        }
    }

    /// Minimum and maximum over the window ending at `second`, or nil when it holds no trade.
    mutating func range(at second: Int64) -> (min: Int64, max: Int64)? {
        if bucketSecond.isEmpty { return nil }
        if second != cachedSecond {
            var low = Int64.max
            var high = Int64.min
            let oldest = second - seconds + 1
            for i in 0..<bucketSecond.count {
                let s = bucketSecond[i]
                if s != Self.empty && s >= oldest && s < second {
                    low = Swift.min(low, bucketMin[i])
                    high = Swift.max(high, bucketMax[i])
                }
            }
            earlierMin = low
            earlierMax = high
            cachedSecond = second
        }
        var low = earlierMin
        var high = earlierMax
        let i = Self.slot(second, seconds)
        if bucketSecond[i] == second {
            low = Swift.min(low, bucketMin[i])
            high = Swift.max(high, bucketMax[i])
        }
        return low <= high ? (low, high) : nil
    }

    /// Adds a trade at `price` in `second` (seconds never decrease between calls).
    mutating func record(price: Int64, second: Int64) {
        allocateIfNeeded()
        let i = Self.slot(second, seconds)
        if bucketSecond[i] != second {
            bucketSecond[i] = second
            bucketMin[i] = price
            bucketMax[i] = price
        } else {
            bucketMin[i] = Swift.min(bucketMin[i], price)
            bucketMax[i] = Swift.max(bucketMax[i], price)
        }
    }

    mutating func clear() {
        for i in 0..<bucketSecond.count { bucketSecond[i] = Self.empty }
        cachedSecond = .min
    }

    /// Whether a trade at `price` breaches a `basisPoints` move against the window `(min, max)`.
    @inline(__always)
    static func breaches(price: Int64, range: (min: Int64, max: Int64), basisPoints: Int64) -> Bool {
        price * 10_000 > range.min * (10_000 + basisPoints) || price * 10_000 < range.max * (10_000 - basisPoints)
    }

    /// Non-empty buckets, oldest first (snapshot form).
    var entries: [(second: Int64, min: Int64, max: Int64)] {
        var result: [(second: Int64, min: Int64, max: Int64)] = []
        for i in 0..<bucketSecond.count where bucketSecond[i] != Self.empty {
            result.append((bucketSecond[i], bucketMin[i], bucketMax[i]))
        }
        result.sort { $0.second < $1.second }
        return result
    }

    /// Restores buckets written by `entries`.
    mutating func restore(_ entries: [(second: Int64, min: Int64, max: Int64)]) {
        allocateIfNeeded()
        clear()
        for e in entries {
            let i = Self.slot(e.second, seconds)
            bucketSecond[i] = e.second
            bucketMin[i] = e.min
            bucketMax[i] = e.max
        }
    }

    static func == (a: Self, b: Self) -> Bool { a.entries.elementsEqual(b.entries, by: { $0 == $1 }) }
}
