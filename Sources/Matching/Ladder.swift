/// One side of one book: its price levels sorted so that the best level is last, which makes
/// the common operations (take the best, add near the best) O(1) amortised.
///
/// Keys are `price` for bids and `-price` for asks, so "better" is always "larger key".
///
/// A level that empties stays in the ladder (counted in `emptyLevels`) until an order reuses
/// its price or a compaction drops it, so a price that keeps coming back costs no insertion and
/// no memmove. The last (best) level is never empty: trailing empty levels are dropped at once.
/// Everything that walks a ladder skips levels whose order count is 0.
struct Ladder: Sendable {
    var keys: [Int64] = []
    var levels: [Int32] = []
    var emptyLevels = 0

    @inline(__always) var isEmpty: Bool { keys.isEmpty }
    @inline(__always) var count: Int { keys.count }
    @inline(__always) var best: Int32? { levels.last }

    /// Position of `key`, or where it would be inserted.
    @inline(__always)
    func search(_ key: Int64) -> (found: Bool, index: Int) {
        keys.withUnsafeBufferPointer { k in
            let n = k.count
            // Most activity is near the best level (the end): check it first.
            if n > 0 {
                let last = k[n - 1]
                if key == last { return (true, n - 1) }
                if key > last { return (false, n) }
            }
            var low = 0
            var high = n
            while low < high {
                let mid = (low &+ high) >> 1
                if k[mid] < key { low = mid + 1 } else { high = mid }
            }
            return (low < n && k[low] == key, low)
        }
    }

    @inline(__always)
    mutating func insert(key: Int64, level: Int32, at index: Int) {
        if index == keys.count {
            keys.append(key)
            levels.append(level)
        } else {
            keys.insert(key, at: index)
            levels.insert(level, at: index)
        }
    }

    /// Drops every level in `dropped` (a compaction of empty levels).
    mutating func removeLevels(_ dropped: Set<Int32>) {
        var write = 0
        for read in 0..<keys.count where !dropped.contains(levels[read]) {
            keys[write] = keys[read]
            levels[write] = levels[read]
            write += 1
        }
        keys.removeLast(keys.count - write)
        levels.removeLast(levels.count - write)
    }
}
