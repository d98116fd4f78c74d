// Payloads of the circuit breaker topics (docs/events/circuit.breaker.*.v1.schema.json).

/// `circuit.breaker.triggered` v1: trading in a symbol stopped (matching engine `halted`), by the
/// volatility breaker or by an operator.
///
/// An operator halt of a symbol the breaker already halted is published again, with reason `"manual"` and
/// no reopening time: the automatic reopening is cancelled.
public struct CircuitBreakerTriggered: PublishedPayload {
    public static let type = Topic.circuitBreakerTriggered
    public static let version = 1

    public var type: String = Self.type
    public var version: Int = Self.version
    public var eventID: String
    public var timestampNs: Int64
    public var shard: UInt32
    public var logIndex: UInt64
    public var eventSeq: UInt32
    public var symbol: String
    /// `"volatility"` (the breaker) or `"manual"` (an operator halt).
    public var reason: String
    /// Log time of the automatic reopening auction (nanoseconds since the Unix epoch); nil for a manual
    /// halt, which lasts until an operator resumes the symbol.
    public var reopenAtNs: Int64?

    public init(
        eventID: String, timestampNs: Int64, shard: UInt32, logIndex: UInt64, eventSeq: UInt32, symbol: String,
        reason: String, reopenAtNs: Int64?
    ) {
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.shard = shard
        self.logIndex = logIndex
        self.eventSeq = eventSeq
        self.symbol = symbol
        self.reason = reason
        self.reopenAtNs = reopenAtNs
    }

    enum CodingKeys: String, CodingKey {
        case type, version, shard, symbol, reason
        case eventID = "event_id", timestampNs = "timestamp_ns", logIndex = "log_index", eventSeq = "event_seq"
        case reopenAtNs = "reopen_at_ns"
    }

    public func jsonBytes() -> [UInt8] {
        var writer = EventJSONWriter()
        writer.beginObject()
        writer.envelope(
            type: type, version: version, eventID: eventID, timestampNs: timestampNs, shard: shard, logIndex: logIndex,
            eventSeq: eventSeq)
        writer.field("symbol", symbol)
        writer.field("reason", reason)
        writer.field("reopen_at_ns", reopenAtNs)
        writer.endObject()
        return writer.bytes
    }
}

/// `circuit.breaker.lifted` v1: a halted symbol reopened through its call auction (matching engine
/// `auction`, published in its place). The auction's trades (`trade.executed`, aggressor absent) follow
/// in the same log entry; continuous trading resumes right after them.
///
/// The engine's `resumed` event that closes the reopening carries nothing new and is not published.
public struct CircuitBreakerLifted: PublishedPayload {
    public static let type = Topic.circuitBreakerLifted
    public static let version = 1

    public var type: String = Self.type
    public var version: Int = Self.version
    public var eventID: String
    public var timestampNs: Int64
    public var shard: UInt32
    public var logIndex: UInt64
    public var eventSeq: UInt32
    public var symbol: String
    /// The auction price (minor units per share); the reference price when nothing executed. Positive.
    public var auctionPrice: Int64
    /// Shares executed in the auction; 0 when the book did not cross.
    public var auctionVolume: Int64
    /// Buy minus sell quantity left unmatched at the auction price (signed).
    public var auctionImbalance: Int64

    public init(
        eventID: String, timestampNs: Int64, shard: UInt32, logIndex: UInt64, eventSeq: UInt32, symbol: String,
        auctionPrice: Int64, auctionVolume: Int64, auctionImbalance: Int64
    ) {
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.shard = shard
        self.logIndex = logIndex
        self.eventSeq = eventSeq
        self.symbol = symbol
        self.auctionPrice = auctionPrice
        self.auctionVolume = auctionVolume
        self.auctionImbalance = auctionImbalance
    }

    enum CodingKeys: String, CodingKey {
        case type, version, shard, symbol
        case eventID = "event_id", timestampNs = "timestamp_ns", logIndex = "log_index", eventSeq = "event_seq"
        case auctionPrice = "auction_price", auctionVolume = "auction_volume", auctionImbalance = "auction_imbalance"
    }

    public func jsonBytes() -> [UInt8] {
        var writer = EventJSONWriter()
        writer.beginObject()
        writer.envelope(
            type: type, version: version, eventID: eventID, timestampNs: timestampNs, shard: shard, logIndex: logIndex,
            eventSeq: eventSeq)
        writer.field("symbol", symbol)
        writer.field("auction_price", auctionPrice)
        writer.field("auction_volume", auctionVolume)
        writer.field("auction_imbalance", auctionImbalance)
        writer.endObject()
        return writer.bytes
    }
}
