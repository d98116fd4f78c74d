import ExchangeCore

// Snapshot format, version 1 (all integers little-endian):
//   magic "XMEN", u16 version
//   configuration: u32 session window, u64 maximum live orders, u32 instrument count, instruments
//   u64 applied sequence, i64 applied timestamp
//   per book in configuration order: u8 halt (0 none, 1 manual, 2 volatility), i64 reopenAt,
//     i64 reference price, i64 band, i64 last trade price, breaker buckets (u32 n, n x 3 i64),
//     bids then asks (u32 levels; per level best first: u32 orders, orders FIFO),
//     buy stops then sell stops (u32 n, orders in queue order)
//   sessions by ascending participant: u32 count; u32 participant, u64 high water,
//     u32 n, n x (u64 client order id, u64 order id, u16 reason), oldest first
//   u64 checksum: `StateHasher` over every byte before it.
// `stateHash()` is the same hash over the same bytes, computed without materialising them.

/// Receives the snapshot stream.
protocol SnapshotSink {
    mutating func write(_ value: UInt64)
    mutating func write(_ value: UInt32)
    mutating func write(_ value: UInt16)
    mutating func write(_ value: UInt8)
}

extension SnapshotSink {
    mutating func write(_ value: Int64) { write(UInt64(bitPattern: value)) }
    mutating func write(_ value: Bool) { write(UInt8(value ? 1 : 0)) }
}

struct ByteSink: SnapshotSink {
    var bytes: [UInt8] = []
    mutating func write(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func write(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func write(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func write(_ value: UInt8) { bytes.append(value) }
}

/// A fast, non-cryptographic 64-bit hash of a byte stream, fed in 8-byte little-endian words.
/// Used to compare replica states and to checksum snapshots; it detects divergence and
/// corruption, not tampering.
struct StateHasher: SnapshotSink {
    private var state: UInt64 = 0x243F_6A88_85A3_08D3
    private var pending: UInt64 = 0
    private var pendingBytes: UInt64 = 0
    private var length: UInt64 = 0

    @inline(__always)
    private mutating func mix(_ word: UInt64) {
        var h = state ^ (word &* 0x9E37_79B9_7F4A_7C15)
        h = (h << 29) | (h >> 35)
        state = h &* 0xBF58_476D_1CE4_E5B9
    }

    @inline(__always)
    mutating func write(_ value: UInt8) {
        pending |= UInt64(value) << (8 * pendingBytes)
        pendingBytes += 1
        length += 1
        if pendingBytes == 8 {
            mix(pending)
            pending = 0
            pendingBytes = 0
        }
    }

    mutating func write(_ value: UInt64) {
        if pendingBytes == 0 {
            mix(value)
            length += 8
        } else {
            for i in 0..<8 { write(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
        }
    }

    mutating func write(_ value: UInt32) {
        for i in 0..<4 { write(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    mutating func write(_ value: UInt16) {
        write(UInt8(truncatingIfNeeded: value))
        write(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func write(bytes: ArraySlice<UInt8>) {
        for byte in bytes { write(byte) }
    }

    func finalize() -> UInt64 {
        var copy = self
        copy.mix(copy.pending ^ (copy.pendingBytes << 56))
        copy.mix(copy.length)
        var h = copy.state
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}

extension MatchingEngine {
    static let snapshotMagic: [UInt8] = Array("XMEN".utf8)
    static let snapshotVersion: UInt16 = 1

    /// The full state, versioned binary, ending with a checksum.
    public func snapshot() -> [UInt8] {
        var sink = ByteSink()
        sink.bytes.reserveCapacity(1_024 + orderIndex.count * 100)
        writeState(into: &sink)
        var hasher = StateHasher()
        hasher.write(bytes: sink.bytes[...])
        sink.write(hasher.finalize())
        return sink.bytes
    }

    /// 64-bit hash of the state, equal on replicas that applied the same commands.
    public func stateHash() -> UInt64 {
        var hasher = StateHasher()
        writeState(into: &hasher)
        return hasher.finalize()
    }

    func writeState<Sink: SnapshotSink>(into sink: inout Sink) {
        for byte in Self.snapshotMagic { sink.write(byte) }
        sink.write(Self.snapshotVersion)
        sink.write(UInt32(configuration.sessionWindowPerParticipant))
        sink.write(UInt64(configuration.maximumLiveOrders))
        sink.write(UInt32(configuration.instruments.count))
        for rules in configuration.instruments {
            sink.write(rules.symbol.low)
            sink.write(rules.symbol.high)
            sink.write(rules.tickSize)
            sink.write(rules.lotSize)
            sink.write(rules.minimumQuantity.rawValue)
            sink.write(rules.maximumQuantity.rawValue)
            sink.write(rules.priceBandBasisPoints)
            sink.write(rules.referencePrice.rawValue)
            sink.write(rules.breakerThresholdBasisPoints)
            sink.write(rules.breakerWindowSeconds)
            sink.write(rules.breakerCoolingOffSeconds)
        }
        sink.write(appliedSequence)
        sink.write(appliedTimestamp)
        for book in books {
            sink.write(book.haltReason?.rawValue ?? 0)
            sink.write(book.reopenAt)
            sink.write(book.referencePrice)
            sink.write(book.bandBasisPoints)
            sink.write(book.lastTradePrice)
            let buckets = book.breaker.entries
            sink.write(UInt32(buckets.count))
            for bucket in buckets {
                sink.write(bucket.second)
                sink.write(bucket.min)
                sink.write(bucket.max)
            }
            for ladder in [book.bids, book.asks] {
                sink.write(UInt32(ladder.count - ladder.emptyLevels))
                for level in ladder.levels.reversed() where levels[Int(level)].count > 0 {
                    sink.write(UInt32(levels[Int(level)].count))
                    var r = levels[Int(level)].head
                    while r >= 0 {
                        writeOrder(r, into: &sink)
                        r = orders[Int(r)].next
                    }
                }
            }
            for stops in [book.buyStops, book.sellStops] {
                sink.write(UInt32(stops.count))
                for entry in stops { writeOrder(entry.slot, into: &sink) }
            }
        }
        let participants = sessions.participants.enumerated().sorted { $0.element < $1.element }
        sink.write(UInt32(participants.count))
        for (s, participant) in participants {
            sink.write(participant)
            sink.write(sessions.highWater[s])
            let n = sessions.count[s]
            sink.write(UInt32(n))
            for i in 0..<n {
                let slot = s * sessions.window + (sessions.start[s] + i) % sessions.window
                sink.write(sessions.clientOrderIDs[slot])
                sink.write(sessions.orderIDs[slot])
                sink.write(sessions.reasons[slot])
            }
        }
    }

    func writeOrder<Sink: SnapshotSink>(_ slot: Int32, into sink: inout Sink) {
        let o = orders[Int(slot)]
        sink.write(o.orderID)
        sink.write(o.account)
        sink.write(o.clientOrderID)
        sink.write(o.price)
        sink.write(o.stopPrice)
        sink.write(o.quantity)
        sink.write(o.leaves)
        sink.write(o.visible)
        sink.write(o.display)
        sink.write(o.filled)
        sink.write(o.expireAt)
        sink.write(o.entrySequence)
        sink.write(o.participant)
        sink.write(o.side.rawValue)
        sink.write(o.type.rawValue)
        sink.write(o.timeInForce.rawValue)
        sink.write(o.selfTradePrevention.rawValue)
        sink.write(o.postOnly)
    }

    /// Restores a state written by `snapshot()`. Bad bytes are a typed error, never a trap.
    public init(snapshot bytes: [UInt8]) throws(SnapshotError) {
        var reader = SnapshotReader(bytes: bytes)
        guard bytes.count >= 4 + 2 + 8 else {
            throw SnapshotError(code: .truncated, offset: bytes.count, message: "shorter than header and checksum")
        }
        guard Array(bytes[0..<4]) == Self.snapshotMagic else {
            throw SnapshotError(code: .badMagic, offset: 0, message: "not a matching engine snapshot")
        }
        reader.offset = 4
        let version = try reader.u16()
        guard version == Self.snapshotVersion else {
            throw SnapshotError(code: .unsupportedVersion, offset: 4, message: "version \(version), expected 1")
        }
        let bodyEnd = bytes.count - 8
        var hasher = StateHasher()
        hasher.write(bytes: bytes[0..<bodyEnd])
        var trailer = SnapshotReader(bytes: bytes)
        trailer.offset = bodyEnd
        guard try trailer.u64() == hasher.finalize() else {
            throw SnapshotError(code: .checksumMismatch, offset: bodyEnd, message: "checksum does not match content")
        }
        reader.end = bodyEnd

        let window = Int(try reader.u32())
        let maximumLive = try reader.u64()
        let instrumentCount = try reader.count(minimumBytesEach: 88)
        var instruments: [InstrumentRules] = []
        instruments.reserveCapacity(instrumentCount)
        for _ in 0..<instrumentCount {
            let symbol = Symbol(low: try reader.u64(), high: try reader.u64())
            let tick = try reader.i64()
            let lot = try reader.i64()
            let minimum = try reader.i64()
            let maximum = try reader.i64()
            let band = try reader.i64()
            let reference = try reader.i64()
            let breaker = try reader.i64()
            let breakerWindow = try reader.i64()
            let cooling = try reader.i64()
            instruments.append(
                InstrumentRules(
                    symbol: symbol, tickSize: tick, lotSize: lot, minimumQuantity: Quantity(minimum),
                    maximumQuantity: Quantity(maximum), priceBandBasisPoints: band, referencePrice: Price(reference),
                    breakerThresholdBasisPoints: breaker, breakerWindowSeconds: breakerWindow,
                    breakerCoolingOffSeconds: cooling))
        }
        guard maximumLive <= UInt64(Int.max) else {
            throw SnapshotError(code: .malformed, offset: reader.offset, message: "maximum live orders out of range")
        }
        let configuration = EngineConfiguration(
            instruments: instruments, sessionWindowPerParticipant: window, maximumLiveOrders: Int(maximumLive))
        do {
            try self.init(configuration: configuration)
        } catch {
            throw SnapshotError(code: .malformed, offset: reader.offset, message: error.description)
        }
        appliedSequence = try reader.u64()
        appliedTimestamp = try reader.i64()

        for b in 0..<books.count {
            let halt = try reader.u8()
            guard halt <= 2 else { throw reader.malformed("halt state \(halt)") }
            books[b].haltReason = halt == 0 ? nil : HaltReason(rawValue: halt)
            books[b].reopenAt = try reader.i64()
            books[b].referencePrice = try reader.i64()
            books[b].bandBasisPoints = try reader.i64()
            books[b].lastTradePrice = try reader.i64()
            guard books[b].referencePrice > 0, (0...100_000).contains(books[b].bandBasisPoints),
                books[b].lastTradePrice >= 0
            else { throw reader.malformed("book \(b) prices") }
            if books[b].haltReason == .volatility {
                reopenings.append((books[b].reopenAt, Int32(b)))
                nextReopenAt = Swift.min(nextReopenAt, books[b].reopenAt)
            }
            let bucketCount = try reader.count(minimumBytesEach: 24)
            var buckets: [(second: Int64, min: Int64, max: Int64)] = []
            for _ in 0..<bucketCount {
                buckets.append((try reader.i64(), try reader.i64(), try reader.i64()))
            }
            guard bucketCount <= Int(books[b].rules.breakerWindowSeconds) else { throw reader.malformed("breaker buckets") }
            if bucketCount > 0 { books[b].breaker.restore(buckets) }
            for side in [Side.buy, Side.sell] {
                let levelCount = try reader.count(minimumBytesEach: 4)
                var previousPrice: Int64? = nil
                for _ in 0..<levelCount {
                    let orderCount = try reader.count(minimumBytesEach: 100)
                    guard orderCount > 0 else { throw reader.malformed("empty level") }
                    var levelPrice: Int64? = nil
                    for _ in 0..<orderCount {
                        let slot = try readOrder(&reader, book: Int32(b))
                        let o = orders[Int(slot)]
                        guard o.side == side, o.leaves > 0, o.visible > 0, o.visible <= o.leaves,
                            o.display == 0 ? o.visible == o.leaves : o.visible <= o.display,
                            o.type == .limit || o.type == .stopLimit, levelPrice.map({ $0 == o.price }) ?? true
                        else { throw reader.malformed("resting order \(o.orderID)") }
                        if levelPrice == nil, let previous = previousPrice {
                            guard side == .buy ? o.price < previous : o.price > previous else {
                                throw reader.malformed("levels out of order")
                            }
                        }
                        levelPrice = o.price
                        placeRestored(slot, book: Int32(b))
                    }
                    previousPrice = levelPrice
                }
            }
            for side in [Side.buy, Side.sell] {
                let stopCount = try reader.count(minimumBytesEach: 100)
                for _ in 0..<stopCount {
                    let slot = try readOrder(&reader, book: Int32(b))
                    guard orders[Int(slot)].side == side,
                        orders[Int(slot)].type == .stop || orders[Int(slot)].type == .stopLimit
                    else { throw reader.malformed("stop order") }
                    orders[Int(slot)].untriggered = true
                    let entry = StopEntry(
                        stopPrice: orders[Int(slot)].stopPrice, entrySequence: orders[Int(slot)].entrySequence,
                        slot: slot)
                    if side == .buy { books[b].buyStops.append(entry) } else { books[b].sellStops.append(entry) }
                }
            }
        }
        let sessionCount = try reader.count(minimumBytesEach: 16)
        var previousParticipant: UInt32? = nil
        for _ in 0..<sessionCount {
            let participant = try reader.u32()
            guard participant != 0, previousParticipant.map({ $0 < participant }) ?? true else {
                throw reader.malformed("session participants")
            }
            previousParticipant = participant
            let s = sessions.createSession(participant)
            let highWater = try reader.u64()
            let n = try reader.count(minimumBytesEach: 18)
            guard n <= window else { throw reader.malformed("session window") }
            var previousID: UInt64 = 0
            for _ in 0..<n {
                let clientOrderID = try reader.u64()
                guard clientOrderID > previousID, clientOrderID <= highWater else {
                    throw reader.malformed("session client order ids")
                }
                previousID = clientOrderID
                let orderID = try reader.u64()
                let reason = try reader.u16()
                guard reason == 0 || RejectReason(rawValue: reason) != nil else { throw reader.malformed("reason") }
                sessions.record(session: s, clientOrderID: clientOrderID, orderID: orderID, reason: reason)
            }
            sessions.highWater[s] = highWater
        }
        guard reader.offset == reader.end else { throw reader.malformed("trailing bytes") }
    }

    private mutating func readOrder(_ reader: inout SnapshotReader, book b: Int32) throws(SnapshotError) -> Int32 {
        var o = OrderRecord()
        o.orderID = try reader.u64()
        o.account = try reader.u64()
        o.clientOrderID = try reader.u64()
        o.price = try reader.i64()
        o.stopPrice = try reader.i64()
        o.quantity = try reader.i64()
        o.leaves = try reader.i64()
        o.visible = try reader.i64()
        o.display = try reader.i64()
        o.filled = try reader.i64()
        o.expireAt = try reader.i64()
        o.entrySequence = try reader.u64()
        o.participant = try reader.u32()
        guard let side = Side(rawValue: try reader.u8()), let type = OrderType(rawValue: try reader.u8()),
            let tif = TimeInForce(rawValue: try reader.u8()),
            let stp = SelfTradePrevention(rawValue: try reader.u8())
        else { throw reader.malformed("order enums") }
        let postOnly = try reader.u8()
        guard postOnly <= 1 else { throw reader.malformed("post-only flag") }
        o.side = side
        o.type = type
        o.timeInForce = tif
        o.selfTradePrevention = stp
        o.postOnly = postOnly == 1
        o.book = b
        guard o.orderID != 0, o.leaves > 0, o.filled >= 0, o.leaves + o.filled <= o.quantity,
            orderIndex.find(o.orderID) == nil
        else { throw reader.malformed("order \(o.orderID)") }
        let slot = allocateOrder()
        orders[Int(slot)] = o
        orderIndex.insert(o.orderID, slot)
        if tif == .gtd { pushExpiry(ExpiryEntry(expireAt: o.expireAt, orderID: o.orderID)) }
        return slot
    }

    /// Appends a restored order to the back of its level.
    private mutating func placeRestored(_ slot: Int32, book b: Int32) {
        let side = orders[Int(slot)].side
        let price = orders[Int(slot)].price
        let level = findOrCreateLevel(book: b, side: side, price: price)
        appendToLevel(slot, level: level)
        levels[Int(level)].visible += orders[Int(slot)].visible
    }
}

/// Bounds-checked little-endian reads; every failure is a `SnapshotError`.
struct SnapshotReader {
    let bytes: [UInt8]
    var offset = 0
    var end: Int

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.end = bytes.count
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(SnapshotError) -> T {
        let size = MemoryLayout<T>.size
        guard end - offset >= size else {
            throw SnapshotError(code: .truncated, offset: offset, message: "need \(size) bytes")
        }
        var value: T = 0
        for i in 0..<size { value |= T(bytes[offset + i]) << (8 * i) }
        offset += size
        return value
    }

    mutating func u8() throws(SnapshotError) -> UInt8 { try read(UInt8.self) }
    mutating func u16() throws(SnapshotError) -> UInt16 { try read(UInt16.self) }
    mutating func u32() throws(SnapshotError) -> UInt32 { try read(UInt32.self) }
    mutating func u64() throws(SnapshotError) -> UInt64 { try read(UInt64.self) }
    mutating func i64() throws(SnapshotError) -> Int64 { Int64(bitPattern: try read(UInt64.self)) }

    /// A count, refused when the remaining bytes cannot hold that many records.
    mutating func count(minimumBytesEach: Int) throws(SnapshotError) -> Int {
        let n = Int(try u32())
        guard n <= (end - offset) / minimumBytesEach else {
            throw SnapshotError(code: .malformed, offset: offset - 4, message: "count \(n) exceeds remaining bytes")
        }
        return n
    }

    func malformed(_ what: String) -> SnapshotError {
        SnapshotError(code: .malformed, offset: offset, message: what)
    }
}
