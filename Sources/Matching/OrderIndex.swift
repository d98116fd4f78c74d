/// An open-addressing hash map from a 64-bit key to a 32-bit slot, with linear probing and
/// backward-shift deletion (no tombstones), so that a steady state of inserts and removals
/// never allocates once the table has grown to its working size.
///
/// Iteration order is never exposed: results of the engine must not depend on hash order.
struct OrderIndex: Sendable {
    private var keys: [UInt64]
    private var values: [Int32]
    private var mask: Int
    private(set) var count: Int

    /// Marks an empty bucket; keys equal to it are stored out of line in `zeroKeyValue`.
    private static let emptyKey: UInt64 = 0
    private var zeroKeyValue: Int32 = -1

    init(minimumCapacity: Int = 1_024) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        keys = Array(repeating: Self.emptyKey, count: capacity)
        values = Array(repeating: -1, count: capacity)
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
        return keys.withUnsafeBufferPointer { k in
            var i = Self.bucket(key, mask)
            while true {
                let stored = k[i]
                if stored == key { return values[i] }
                if stored == Self.emptyKey { return nil }
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
        if (count + 1) * 2 > keys.count { grow() }
        var i = Self.bucket(key, mask)
        while true {
            let stored = keys[i]
            if stored == key {
                values[i] = value
                return
            }
            if stored == Self.emptyKey {
                keys[i] = key
                values[i] = value
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
            let stored = keys[i]
            if stored == Self.emptyKey { return }
            if stored == key { break }
            i = (i + 1) & mask
        }
        count -= 1
        // Backward-shift: move later members of the probe run into the hole.
        var hole = i
        var j = (i + 1) & mask
        while true {
            let k = keys[j]
            if k == Self.emptyKey { break }
            let home = Self.bucket(k, mask)
            // Move k if its home is cyclically outside (hole, j].
            let distanceToJ = (j - home) & mask
            let distanceHoleToJ = (j - hole) & mask
            if distanceToJ >= distanceHoleToJ {
                keys[hole] = k
                values[hole] = values[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        keys[hole] = Self.emptyKey
        values[hole] = -1
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        let capacity = keys.count * 2
        keys = Array(repeating: Self.emptyKey, count: capacity)
        values = Array(repeating: -1, count: capacity)
        mask = capacity - 1
        let zero = zeroKeyValue
        count = zero >= 0 ? 1 : 0
        for i in 0..<oldKeys.count where oldKeys[i] != Self.emptyKey {
            insert(oldKeys[i], oldValues[i])
        }
    }

    /// Bytes held by the table (for memory accounting).
    var bytesAllocated: Int { keys.count * (MemoryLayout<UInt64>.stride + MemoryLayout<Int32>.stride) }
}
