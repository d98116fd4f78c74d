public import ExchangeCore

/// The deterministic matching state machine of one shard: order books for a set of symbols,
/// participant sessions, stops, bands and the volatility breaker.
///
/// Pure: it reads no clock, does no I/O and draws no random number. Time and the command
/// sequence come in with every command (from the Raft log), so every replica that applies the
/// same commands emits the same events, byte for byte. The rules are in docs/MATCHING.md.
///
/// - Important: `apply` must be called with strictly increasing sequences.
public struct MatchingEngine: Sendable {
    public let configuration: EngineConfiguration

    var books: [BookState]
    var symbolIndex: SymbolTable
    var orders: [OrderRecord] = []
    var freeOrders: [Int32] = []
    var levels: [LevelRecord] = []
    var freeLevels: [Int32] = []
    var orderIndex: OrderIndex
    /// (book, side, price) → level slot for every level in a ladder, empty ones included, so that
    /// finding a level is one hash probe instead of a binary search. Derived state.
    var levelIndex: OrderIndex
    var sessions: SessionTable
    /// Min-heap of GTD expiries by (expireAt, orderID).
    var expiries: [ExpiryEntry] = []
    /// Symbols halted by the breaker, with their reopening time.
    var reopenings: [(reopenAt: Int64, book: Int32)] = []
    var nextReopenAt: Int64 = .max

    var appliedSequence: UInt64 = 0
    var appliedTimestamp: Int64 = .min

    // State of the command being applied.
    var now: Int64 = 0
    var sequence: UInt64 = 0
    var tradeCounter: UInt32 = 0

    // One-entry cache of the last symbol lookup.
    var cachedSymbol = Symbol(low: 0, high: 0)
    var cachedBook: Int32 = -1

    public init(configuration: EngineConfiguration) throws(EngineConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        books = configuration.instruments.map { BookState(rules: $0) }
        symbolIndex = SymbolTable(configuration.instruments.map(\.symbol))
        orderIndex = OrderIndex(minimumCapacity: 4_096)
        levelIndex = OrderIndex(minimumCapacity: 1_024)
        sessions = SessionTable(window: configuration.sessionWindowPerParticipant)
        orders.reserveCapacity(4_096)
        levels.reserveCapacity(1_024)
    }

    /// Sequence of the last applied command (0 before the first).
    public var lastSequence: UInt64 { appliedSequence }

    /// Log time of the last applied command (nil before the first): a new leader stamps no lower.
    public var lastTimestamp: Timestamp? {
        appliedTimestamp == .min ? nil : Timestamp(nanoseconds: appliedTimestamp)
    }

    /// Resting orders plus untriggered stops.
    public var liveOrderCount: Int { orderIndex.count }

    // MARK: - Applying commands

    /// Applies one command stamped with log time and sequence, appending its events to `events`.
    ///
    /// - Important: `sequence` must be greater than every sequence applied before (trap otherwise).
    ///   A timestamp lower than the previous one is raised to it: log time never goes backwards.
    public mutating func apply(
        _ command: Command, timestamp: Timestamp, sequence: UInt64, into events: inout [Event]
    ) {
        precondition(sequence > appliedSequence, "command sequences must strictly increase")
        appliedSequence = sequence
        appliedTimestamp = Swift.max(appliedTimestamp, timestamp.rawValue)
        self.now = appliedTimestamp
        self.sequence = sequence
        tradeCounter = 0

        if let first = expiries.first, first.expireAt <= now { runExpiries(into: &events) }
        if nextReopenAt <= now { runReopenings(into: &events) }

        switch command {
        case .newOrder(let order): newOrder(order, into: &events)
        case .cancel(let cancel): cancelOrder(cancel, into: &events)
        case .replace(let replace): replaceOrder(replace, into: &events)
        case .halt(let symbol): halt(symbol, into: &events)
        case .resume(let symbol): resume(symbol, into: &events)
        case .setPriceBand(let symbol, let basisPoints, let referencePrice):
            setPriceBand(symbol, basisPoints: basisPoints, referencePrice: referencePrice, into: &events)
        case .endOfSession: endOfSession(into: &events)
        case .heartbeat: break
        }
    }

    /// Convenience for tests and tools: returns the events of one command.
    public mutating func apply(_ command: Command, timestamp: Timestamp, sequence: UInt64) -> [Event] {
        var events: [Event] = []
        apply(command, timestamp: timestamp, sequence: sequence, into: &events)
        return events
    }

    @inline(__always)
    mutating func book(of symbol: Symbol) -> Int32? {
        if symbol == cachedSymbol && cachedBook >= 0 { return cachedBook }
        guard let b = symbolIndex.find(symbol) else { return nil }
        cachedSymbol = symbol
        cachedBook = b
        return b
    }

    // MARK: - Pools

    @inline(__always)
    mutating func allocateOrder() -> Int32 {
        if let slot = freeOrders.popLast() { return slot }
        orders.append(OrderRecord())
        if freeOrders.capacity < orders.count { freeOrders.reserveCapacity(orders.capacity) }
        return Int32(orders.count - 1)
    }

    /// Forgets a dead order: index entry and pool slot.
    @inline(__always)
    mutating func release(_ slot: Int32) {
        orderIndex.remove(orders[Int(slot)].orderID)
        orders[Int(slot)].level = -1
        orders[Int(slot)].untriggered = false
        freeOrders.append(slot)
    }

    @inline(__always)
    mutating func allocateLevel(book: Int32, price: Int64, side: Side) -> Int32 {
        let record = LevelRecord(price: price, visible: 0, head: -1, tail: -1, count: 0, book: book, side: side)
        if let slot = freeLevels.popLast() {
            levels[Int(slot)] = record
            return slot
        }
        levels.append(record)
        // Keep the free list able to hold every level, so releasing one never allocates.
        if freeLevels.capacity < levels.count { freeLevels.reserveCapacity(levels.capacity) }
        return Int32(levels.count - 1)
    }

    /// Takes a level out of `levelIndex` and returns its slot to the pool. The caller has
    /// removed it from its ladder.
    @inline(__always)
    mutating func freeLevel(_ level: Int32) {
        let record = levels[Int(level)]
        levelIndex.remove(
            Self.levelKey(book: record.book, side: record.side, price: record.price))
        freeLevels.append(level)
    }

    /// Key of a level in `levelIndex`: book (19 bits), price (44 bits: at most 10^13), side (1 bit).
    @inline(__always)
    static func levelKey(book: Int32, side: Side, price: Int64) -> UInt64 {
        UInt64(book) << 45 | UInt64(price) << 1 | (side == .buy ? 0 : 1)
    }

    // MARK: - Events

    @inline(__always)
    mutating func emitDelta(book b: Int32, side: Side, price: Int64, quantity: Int64, into events: inout [Event]) {
        events.append(
            .bookDelta(
                Event.BookDelta(
                    symbol: books[Int(b)].rules.symbol, side: side, price: Price(price), quantity: Quantity(quantity))))
    }

    mutating func emitReject(
        participant: ParticipantID, clientOrderID: ClientOrderID, orderID: OrderID, symbol: Symbol,
        reason: RejectReason, into events: inout [Event]
    ) {
        events.append(
            .rejected(
                Event.Rejected(
                    participant: participant, clientOrderID: clientOrderID, orderID: orderID, symbol: symbol,
                    reason: reason)))
    }

    mutating func emitOperatorReject(symbol: Symbol, reason: RejectReason, into events: inout [Event]) {
        emitReject(
            participant: ParticipantID(0), clientOrderID: ClientOrderID(0), orderID: OrderID(0), symbol: symbol,
            reason: reason, into: &events)
    }

    @inline(__always)
    mutating func emitCancelled(
        _ slot: Int32, cancelled: Int64, leaves: Int64, reason: CancelReason, into events: inout [Event]
    ) {
        let o = orders[Int(slot)]
        events.append(
            .cancelled(
                Event.Cancelled(
                    orderID: OrderID(o.orderID), symbol: books[Int(o.book)].rules.symbol,
                    cancelledQuantity: Quantity(cancelled), leavesQuantity: Quantity(leaves), reason: reason)))
    }
}

/// Why snapshot bytes could not be restored.
public struct SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case badMagic, unsupportedVersion, truncated, malformed, checksumMismatch
    }
    public var code: Code
    /// Byte offset where the problem was found.
    public var offset: Int
    public var message: String
    public init(code: Code, offset: Int, message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }
    public var description: String { "snapshot \(code) at byte \(offset): \(message)" }
}
