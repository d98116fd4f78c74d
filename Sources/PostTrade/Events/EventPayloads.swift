import Foundation

// Versioned JSON payloads of the post-trade topics. Every message value is one JSON object:
//
//   { "type": "<topic>", "version": 1, "event_id": "...", "timestamp_ns": <Int64>, ...payload fields }
//
// The JSON Schemas are docs/events/<topic>.v<version>.schema.json. Money is in minor units (Int64), prices
// in minor units per share, quantities in shares. No floating point anywhere.

/// Fields every event has; decoded first to route by type and refuse unknown versions.
public struct EventProbe: Codable, Sendable, Hashable {
    public var type: String
    public var version: Int
    public var eventID: String

    enum CodingKeys: String, CodingKey {
        case type, version
        case eventID = "event_id"
    }
}

/// `trade.executed` v1: one execution in a shard, as committed in its log.
public struct TradeExecuted: Codable, Sendable, Hashable {
    public static let type = Topic.tradeExecuted
    public static let version = 1

    public var type: String = Self.type
    public var version: Int = Self.version
    /// `<shard>-<log index>-<event seq>`: unique across the exchange, the idempotency key.
    public var eventID: String
    /// Log time of the command that caused the trade (nanoseconds since the Unix epoch).
    public var timestampNs: Int64
    public var shard: UInt32
    public var logIndex: UInt64
    public var eventSeq: UInt32
    /// `<shard>-<sequence>-<index>` (the matching engine's `TradeID` qualified by shard).
    public var tradeID: String
    public var symbol: String
    /// Minor units per share; positive.
    public var price: Int64
    /// Shares; positive.
    public var quantity: Int64
    /// `"buy"`, `"sell"`, or nil for an auction trade.
    public var aggressor: String?
    public var buyOrderID: UInt64
    public var sellOrderID: UInt64
    public var buyAccount: UInt64
    public var sellAccount: UInt64
    public var buyParticipant: UInt32
    public var sellParticipant: UInt32

    public init(
        eventID: String, timestampNs: Int64, shard: UInt32, logIndex: UInt64, eventSeq: UInt32, tradeID: String,
        symbol: String, price: Int64, quantity: Int64, aggressor: String?, buyOrderID: UInt64, sellOrderID: UInt64,
        buyAccount: UInt64, sellAccount: UInt64, buyParticipant: UInt32, sellParticipant: UInt32
    ) {
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.shard = shard
        self.logIndex = logIndex
        self.eventSeq = eventSeq
        self.tradeID = tradeID
        self.symbol = symbol
        self.price = price
        self.quantity = quantity
        self.aggressor = aggressor
        self.buyOrderID = buyOrderID
        self.sellOrderID = sellOrderID
        self.buyAccount = buyAccount
        self.sellAccount = sellAccount
        self.buyParticipant = buyParticipant
        self.sellParticipant = sellParticipant
    }

    enum CodingKeys: String, CodingKey {
        case type, version, shard, symbol, price, quantity, aggressor
        case eventID = "event_id", timestampNs = "timestamp_ns", logIndex = "log_index", eventSeq = "event_seq"
        case tradeID = "trade_id", buyOrderID = "buy_order_id", sellOrderID = "sell_order_id"
        case buyAccount = "buy_account", sellAccount = "sell_account"
        case buyParticipant = "buy_participant", sellParticipant = "sell_participant"
    }
}

/// One side of a cleared trade: the clearing house (`counterparty` "CCP") faces the member's account.
public struct ClearedLeg: Codable, Sendable, Hashable {
    /// `"buy"` (the account buys from the CCP) or `"sell"` (the account sells to the CCP).
    public var side: String
    public var account: UInt64
    public var participant: UInt32
    public var counterparty: String
    public var quantity: Int64
    /// Cash the account pays (buy) or receives (sell), minor units, positive.
    public var amount: Int64

    public init(side: String, account: UInt64, participant: UInt32, counterparty: String, quantity: Int64, amount: Int64) {
        self.side = side
        self.account = account
        self.participant = participant
        self.counterparty = counterparty
        self.quantity = quantity
        self.amount = amount
    }
}

/// `trade.cleared` v1: novation done; two legs against the clearing house.
public struct TradeCleared: Codable, Sendable, Hashable {
    public static let type = Topic.tradeCleared
    public static let version = 1

    public var type: String = Self.type
    public var version: Int = Self.version
    /// `cleared-<trade id>`.
    public var eventID: String
    /// When clearing committed (nanoseconds since the Unix epoch).
    public var timestampNs: Int64
    public var tradeID: String
    /// The `trade.executed` event this clears.
    public var sourceEventID: String
    /// Log time of the trade, carried along for end-to-end lag.
    public var tradeTimestampNs: Int64
    public var symbol: String
    public var price: Int64
    public var quantity: Int64
    /// price × quantity, minor units.
    public var notional: Int64
    /// Exactly two: the buy leg and the sell leg.
    public var legs: [ClearedLeg]

    public init(
        eventID: String, timestampNs: Int64, tradeID: String, sourceEventID: String, tradeTimestampNs: Int64,
        symbol: String, price: Int64, quantity: Int64, notional: Int64, legs: [ClearedLeg]
    ) {
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.tradeID = tradeID
        self.sourceEventID = sourceEventID
        self.tradeTimestampNs = tradeTimestampNs
        self.symbol = symbol
        self.price = price
        self.quantity = quantity
        self.notional = notional
        self.legs = legs
    }

    enum CodingKeys: String, CodingKey {
        case type, version, symbol, price, quantity, notional, legs
        case eventID = "event_id", timestampNs = "timestamp_ns", tradeID = "trade_id"
        case sourceEventID = "source_event_id", tradeTimestampNs = "trade_timestamp_ns"
    }
}

/// One balance movement of a settlement: `amount` (signed) of `asset` (`"CASH"` or a symbol) on `account`.
public struct Movement: Codable, Sendable, Hashable {
    public var account: UInt64
    public var asset: String
    public var amount: Int64

    public init(account: UInt64, asset: String, amount: Int64) {
        self.account = account
        self.asset = asset
        self.amount = amount
    }
}

/// `trade.settled` v1: delivery versus payment done (`status` "settled", four movements), or refused
/// (`status` "failed", no movement, `reason` says why, e.g. a balance would go negative).
public struct TradeSettled: Codable, Sendable, Hashable {
    public static let type = Topic.tradeSettled
    public static let version = 1

    public var type: String = Self.type
    public var version: Int = Self.version
    /// `settled-<trade id>`.
    public var eventID: String
    public var timestampNs: Int64
    public var tradeID: String
    /// The `trade.cleared` event this settles.
    public var sourceEventID: String
    public var tradeTimestampNs: Int64
    public var symbol: String
    public var price: Int64
    public var quantity: Int64
    public var notional: Int64
    public var buyAccount: UInt64
    public var sellAccount: UInt64
    /// `"settled"` or `"failed"`.
    public var status: String
    public var reason: String?
    /// Buyer cash −notional, seller cash +notional, seller shares −quantity, buyer shares +quantity.
    public var movements: [Movement]

    public init(
        eventID: String, timestampNs: Int64, tradeID: String, sourceEventID: String, tradeTimestampNs: Int64,
        symbol: String, price: Int64, quantity: Int64, notional: Int64, buyAccount: UInt64, sellAccount: UInt64,
        status: String, reason: String?, movements: [Movement]
    ) {
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.tradeID = tradeID
        self.sourceEventID = sourceEventID
        self.tradeTimestampNs = tradeTimestampNs
        self.symbol = symbol
        self.price = price
        self.quantity = quantity
        self.notional = notional
        self.buyAccount = buyAccount
        self.sellAccount = sellAccount
        self.status = status
        self.reason = reason
        self.movements = movements
    }

    enum CodingKeys: String, CodingKey {
        case type, version, symbol, price, quantity, notional, status, reason, movements
        case eventID = "event_id", timestampNs = "timestamp_ns", tradeID = "trade_id"
        case sourceEventID = "source_event_id", tradeTimestampNs = "trade_timestamp_ns"
        case buyAccount = "buy_account", sellAccount = "sell_account"
    }
}
