import ExchangeCore

/// Symbol to book position, built once from the configuration: open addressing with linear
/// probing over flat arrays, so a lookup costs one hash and (usually) one probe.
struct SymbolTable: Sendable {
    private var lows: [UInt64]
    private var highs: [UInt64]
    private var books: [Int32]
    private let mask: Int

    init(_ symbols: [Symbol]) {
        var capacity = 16
        while capacity < symbols.count * 2 { capacity <<= 1 }
        lows = Array(repeating: 0, count: capacity)
        highs = Array(repeating: 0, count: capacity)
        books = Array(repeating: -1, count: capacity)
        mask = capacity - 1
        for (i, symbol) in symbols.enumerated() {
            var slot = Self.hash(symbol) & mask
            while books[slot] >= 0 { slot = (slot + 1) & mask }
            lows[slot] = symbol.low
            highs[slot] = symbol.high
            books[slot] = Int32(i)
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
        var slot = Self.hash(symbol) & mask
        while true {
            let book = books[slot]
            if book < 0 { return nil }
            if lows[slot] == symbol.low && highs[slot] == symbol.high { return book }
            slot = (slot + 1) & mask
        }
    }
}
