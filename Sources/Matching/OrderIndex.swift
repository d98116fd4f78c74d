/// An open-addressing hash map from a 64-bit key to a 32-bit slot, with linear probing and
/// backward-shift deletion (no tombstones), so that a steady state of inserts and removals
/// never allocates once the table has grown to its working size.
///
/// Iteration order is never exposed: results of the engine must not depend on hash order.
struct OrderIndex: Sendable {
    private struct Bucket: Sendable {
        var key: UInt64
        var value: Int32
    }

    /// Keys and values side by side, so a probe touches one cache line.
    private var buckets: [Bucket]
    private var mask: Int
    private(set) var count: Int

    /// Marks an empty bucket; keys equal to it are stored out of line in `zeroKeyValue`.
    private static let emptyKey: UInt64 = 0
    private var zeroKeyValue: Int32 = -1

    init(minimumCapacity: Int = 1_024) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        buckets = Array(repeating: Bucket(key: Self.emptyKey, value: -1), count: capacity)
        mask = capacity - 1
        count = 0
    }

    @inline(__always)
    private static func bucket(_ key: UInt64, _ mask: Int) -> Int {
        // Murmur3 finaliser: sequential ids spread over the whole table.
        var h = key
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return Int(truncatingIfNeeded: h) & mask
    }

    @inline(__always)
    func find(_ key: UInt64) -> Int32? {
        if key == Self.emptyKey { return zeroKeyValue >= 0 ? zeroKeyValue : nil }
        return buckets.withUnsafeBufferPointer { table in
            var i = Self.bucket(key, mask)
            while true {
                let stored = table[i]
                if stored.key == key { return stored.value }
                if stored.key == Self.emptyKey { return nil }
                i = (i + 1) & mask
            }
        }
    }

    /// Inserts or overwrites.
    @inline(__always)
    mutating func insert(_ key: UInt64, _ value: Int32) {
        precondition(value >= 0)
        if key == Self.emptyKey {
            if zeroKeyValue < 0 { count += 1 }
            zeroKeyValue = value
            return
        }
        if (count + 1) * 2 > buckets.count { grow() }
        var i = Self.bucket(key, mask)
        while true {
            let stored = buckets[i].key
            if stored == key {
                buckets[i].value = value
                return
            }
            if stored == Self.emptyKey {
                buckets[i] = Bucket(key: key, value: value)
                count += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    /// Removes `key` if present.
    @inline(__always)
    mutating func remove(_ key: UInt64) {
        if key == Self.emptyKey {
            if zeroKeyValue >= 0 { count -= 1 }
            zeroKeyValue = -1
            return
        }
        var i = Self.bucket(key, mask)
        while true {
            let stored = buckets[i].key
            if stored == Self.emptyKey { return }
            if stored == key { break }
            i = (i + 1) & mask
        }
        count -= 1
        // Backward-shift: move later members of the probe run into the hole.
        var hole = i
        var j = (i + 1) & mask
        while true {
            let moving = buckets[j]
            if moving.key == Self.emptyKey { break }
            let home = Self.bucket(moving.key, mask)
            // Move it if its home is cyclically outside (hole, j].
            let distanceToJ = (j - home) & mask
            let distanceHoleToJ = (j - hole) & mask
            if distanceToJ >= distanceHoleToJ {
                buckets[hole] = moving
                hole = j
            }
            j = (j + 1) & mask
        }
        buckets[hole] = Bucket(key: Self.emptyKey, value: -1)
    }

    private mutating func grow() {
        let old = buckets
        let capacity = buckets.count * 2
        buckets = Array(repeating: Bucket(key: Self.emptyKey, value: -1), count: capacity)
        mask = capacity - 1
        count = zeroKeyValue >= 0 ? 1 : 0
        for bucket in old where bucket.key != Self.emptyKey {
            insert(bucket.key, bucket.value)
        }
    }

    /// Bytes held by the table (for memory accounting).
    var bytesAllocated: Int { buckets.count * MemoryLayout<Bucket>.stride }
}
