import ExchangeCore

/// Symbol to book position, built once from the configuration: open addressing with linear
/// probing over flat arrays, so a lookup costs one hash and (usually) one probe.
struct SymbolTable: Sendable {
    private struct Entry: Sendable {
        var low: UInt64
        var high: UInt64
        var book: Int32
    }

    /// One array of entries, so a probe touches one cache line.
    private var entries: [Entry]
    private let mask: Int

    init(_ symbols: [Symbol]) {
        var capacity = 16
        while capacity < symbols.count * 2 { capacity <<= 1 }
        entries = Array(repeating: Entry(low: 0, high: 0, book: -1), count: capacity)
        mask = capacity - 1
        for (i, symbol) in symbols.enumerated() {
            var slot = Self.hash(symbol) & mask
            while entries[slot].book >= 0 { slot = (slot + 1) & mask }
            entries[slot] = Entry(low: symbol.low, high: symbol.high, book: Int32(i))
        }
    }

    @inline(__always)
    private static func hash(_ symbol: Symbol) -> Int {
        var h = symbol.low &* 0x9E37_79B9_7F4A_7C15 ^ symbol.high &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        h &*= 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    @inline(__always)
    func find(_ symbol: Symbol) -> Int32? {
        entries.withUnsafeBufferPointer { table in
            var slot = Self.hash(symbol) & mask
            while true {
                let entry = table[slot]
                if entry.book < 0 { return nil }
                if entry.low == symbol.low && entry.high == symbol.high { return entry.book }
                slot = (slot + 1) & mask
            }
        }
    }
}
