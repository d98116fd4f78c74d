// Payloads of the order lifecycle topics (docs/events/order.*.v1.schema.json). Each starts with the
// envelope every event has (type, version, event_id, timestamp_ns, shard, log_index, event_seq, see
// docs/events/README.md); integers only; enum values are the lowercase strings of `EventVocabulary`.
// A nil optional is omitted from the JSON (as `JSONEncoder` does); consumers must also accept `null`.

/// A payload the shard publisher produces. ``jsonBytes()`` is its fast encoding: equal in meaning to
/// `JSONEncoder().encode(self)` (same keys and values), and decodable with `JSONDecoder`.
public protocol PublishedPayload: Codable, Sendable, Hashable {
    func jsonBytes() -> [UInt8]
}

/// `order.submitted` v1: a new order passed validation (matching engine `accepted`).
public struct OrderSubmitted: PublishedPayload {
    public static let type = Topic.orderSubmitted
    public static let version = 1

    public var type: String = Self.type
    public var version: Int = Self.version
    public var eventID: String
    public var timestampNs: Int64
    public var shard: UInt32
    public var logIndex: UInt64
    public var eventSeq: UInt32
    public var orderID: UInt64
    public var participant: UInt32
    public var clientOrderID: UInt64
    public var account: UInt64
    public var symbol: String
    /// `"buy"` or `"sell"`.
    public var side: String
    /// `"limit"`, `"market"`, `"stop"` or `"stop_limit"`.
    public var orderType: String
    /// `"gtc"`, `"day"`, `"ioc"`, `"fok"` or `"gtd"`.
    public var timeInForce: String
    /// Limit price, minor units per share; nil for `market` and `stop` orders.
    public var price: Int64?
    /// Trigger price; nil unless `stop` or `stop_limit`.
    public var stopPrice: Int64?
    /// Shares; positive.
    public var quantity: Int64
    /// Iceberg peak; nil when the order is fully visible.
    public var displayQuantity: Int64?

    public init(
        eventID: String, timestampNs: Int64, shard: UInt32, logIndex: UInt64, eventSeq: UInt32, orderID: UInt64,
        participant: UInt32, clientOrderID: UInt64, account: UInt64, symbol: String, side: String, orderType: String,
        timeInForce: String, price: Int64?, stopPrice: Int64?, quantity: Int64, displayQuantity: Int64?
    ) {
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.shard = shard
        self.logIndex = logIndex
        self.eventSeq = eventSeq
        self.orderID = orderID
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.account = account
        self.symbol = symbol
        self.side = side
        self.orderType = orderType
        self.timeInForce = timeInForce
        self.price = price
        self.stopPrice = stopPrice
        self.quantity = quantity
        self.displayQuantity = displayQuantity
    }

    enum CodingKeys: String, CodingKey {
        case type, version, shard, participant, account, symbol, side, price, quantity
        case eventID = "event_id", timestampNs = "timestamp_ns", logIndex = "log_index", eventSeq = "event_seq"
        case orderID = "order_id", clientOrderID = "client_order_id", orderType = "order_type"
        case timeInForce = "time_in_force", stopPrice = "stop_price", displayQuantity = "display_quantity"
    }

    public func jsonBytes() -> [UInt8] {
        var writer = EventJSONWriter()
        writer.beginObject()
        writer.envelope(
            type: type, version: version, eventID: eventID, timestampNs: timestampNs, shard: shard, logIndex: logIndex,
            eventSeq: eventSeq)
        writer.field("order_id", orderID)
        writer.field("participant", participant)
        writer.field("client_order_id", clientOrderID)
        writer.field("account", account)
        writer.field("symbol", symbol)
        writer.field("side", side)
        writer.field("order_type", orderType)
        writer.field("time_in_force", timeInForce)
        writer.field("price", price)
        writer.field("stop_price", stopPrice)
        writer.field("quantity", quantity)
        writer.field("display_quantity", displayQuantity)
        writer.endObject()
        return writer.bytes
    }
}

/// `order.cancelled` v1: all or part of an order's open quantity was cancelled.
public struct OrderCancelled: PublishedPayload {
    public static let type = Topic.orderCancelled
    public static let version = 1

    public var type: String = Self.type
    public var version: Int = Self.version
    public var eventID: String
    public var timestampNs: Int64
    public var shard: UInt32
    public var logIndex: UInt64
    public var eventSeq: UInt32
    public var orderID: UInt64
    public var symbol: String
    /// Shares cancelled by this event; positive.
    public var cancelledQuantity: Int64
    /// Open shares left; 0 means the order is gone (a self-trade-prevention decrement can leave some).
    public var leavesQuantity: Int64
    /// `"requested"`, `"unfilled"`, `"fill_or_kill"`, `"self_trade_prevention"` or `"halted"`.
    public var reason: String

    public init(
        eventID: String, timestampNs: Int64, shard: UInt32, logIndex: UInt64, eventSeq: UInt32, orderID: UInt64,
        symbol: String, cancelledQuantity: Int64, leavesQuantity: Int64, reason: String
    ) {
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.shard = shard
        self.logIndex = logIndex
        self.eventSeq = eventSeq
        self.orderID = orderID
        self.symbol = symbol
        self.cancelledQuantity = cancelledQuantity
        self.leavesQuantity = leavesQuantity
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case type, version, shard, symbol, reason
        case eventID = "event_id", timestampNs = "timestamp_ns", logIndex = "log_index", eventSeq = "event_seq"
        case orderID = "order_id", cancelledQuantity = "cancelled_quantity", leavesQuantity = "leaves_quantity"
    }

    public func jsonBytes() -> [UInt8] {
        var writer = EventJSONWriter()
        writer.beginObject()
        writer.envelope(
            type: type, version: version, eventID: eventID, timestampNs: timestampNs, shard: shard, logIndex: logIndex,
            eventSeq: eventSeq)
        writer.field("order_id", orderID)
        writer.field("symbol", symbol)
        writer.field("cancelled_quantity", cancelledQuantity)
        writer.field("leaves_quantity", leavesQuantity)
        writer.field("reason", reason)
        writer.endObject()
        return writer.bytes
    }
}

/// `order.replaced` v1: a cancel/replace took effect.
public struct OrderReplaced: PublishedPayload {
    public static let type = Topic.orderReplaced
    public static let version = 1

    public var type: String = Self.type
    public var version: Int = Self.version
    public var eventID: String
    public var timestampNs: Int64
    public var shard: UInt32
    public var logIndex: UInt64
    public var eventSeq: UInt32
    public var orderID: UInt64
    public var participant: UInt32
    /// The client order id of the replace request.
    public var clientOrderID: UInt64
    public var symbol: String
    /// New limit price; positive.
    public var price: Int64
    /// New total quantity, including what had filled; positive.
    public var quantity: Int64
    /// Open shares after the replace (before any matching it causes); positive.
    public var leavesQuantity: Int64
    /// True when the order kept its place in the queue.
    public var keptPriority: Bool

    public init(
        eventID: String, timestampNs: Int64, shard: UInt32, logIndex: UInt64, eventSeq: UInt32, orderID: UInt64,
        participant: UInt32, clientOrderID: UInt64, symbol: String, price: Int64, quantity: Int64,
        leavesQuantity: Int64, keptPriority: Bool
    ) {
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.shard = shard
        self.logIndex = logIndex
        self.eventSeq = eventSeq
        self.orderID = orderID
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.symbol = symbol
        self.price = price
        self.quantity = quantity
        self.leavesQuantity = leavesQuantity
        self.keptPriority = keptPriority
    }

    enum CodingKeys: String, CodingKey {
        case type, version, shard, participant, symbol, price, quantity
        case eventID = "event_id", timestampNs = "timestamp_ns", logIndex = "log_index", eventSeq = "event_seq"
        case orderID = "order_id", clientOrderID = "client_order_id", leavesQuantity = "leaves_quantity"
        case keptPriority = "kept_priority"
    }

    public func jsonBytes() -> [UInt8] {
        var writer = EventJSONWriter()
        writer.beginObject()
        writer.envelope(
            type: type, version: version, eventID: eventID, timestampNs: timestampNs, shard: shard, logIndex: logIndex,
            eventSeq: eventSeq)
        writer.field("order_id", orderID)
        writer.field("participant", participant)
        writer.field("client_order_id", clientOrderID)
        writer.field("symbol", symbol)
        writer.field("price", price)
        writer.field("quantity", quantity)
        writer.field("leaves_quantity", leavesQuantity)
        writer.field("kept_priority", keptPriority)
        writer.endObject()
        return writer.bytes
    }
}

/// `order.expired` v1: a DAY or GTD order reached its end of life.
public struct OrderExpired: PublishedPayload {
    public static let type = Topic.orderExpired
    public static let version = 1

    public var type: String = Self.type
    public var version: Int = Self.version
    public var eventID: String
    public var timestampNs: Int64
    public var shard: UInt32
    public var logIndex: UInt64
    public var eventSeq: UInt32
    public var orderID: UInt64
    public var symbol: String
    /// Open shares that expired; positive.
    public var leavesQuantity: Int64

    public init(
        eventID: String, timestampNs: Int64, shard: UInt32, logIndex: UInt64, eventSeq: UInt32, orderID: UInt64,
        symbol: String, leavesQuantity: Int64
    ) {
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.shard = shard
        self.logIndex = logIndex
        self.eventSeq = eventSeq
        self.orderID = orderID
        self.symbol = symbol
        self.leavesQuantity = leavesQuantity
    }

    enum CodingKeys: String, CodingKey {
        case type, version, shard, symbol
        case eventID = "event_id", timestampNs = "timestamp_ns", logIndex = "log_index", eventSeq = "event_seq"
        case orderID = "order_id", leavesQuantity = "leaves_quantity"
    }

    public func jsonBytes() -> [UInt8] {
        var writer = EventJSONWriter()
        writer.beginObject()
        writer.envelope(
            type: type, version: version, eventID: eventID, timestampNs: timestampNs, shard: shard, logIndex: logIndex,
            eventSeq: eventSeq)
        writer.field("order_id", orderID)
        writer.field("symbol", symbol)
        writer.field("leaves_quantity", leavesQuantity)
        writer.endObject()
        return writer.bytes
    }
}

/// `order.rejected` v1: a command was refused and nothing changed. Operator commands (halt, resume,
/// price band) carry participant 0, client order id 0 and order id 0.
public struct OrderRejected: PublishedPayload {
    public static let type = Topic.orderRejected
    public static let version = 1

    public var type: String = Self.type
    public var version: Int = Self.version
    public var eventID: String
    public var timestampNs: Int64
    public var shard: UInt32
    public var logIndex: UInt64
    public var eventSeq: UInt32
    public var participant: UInt32
    public var clientOrderID: UInt64
    /// The order the command named (0 when it named none or was an operator command).
    public var orderID: UInt64
    /// As sent in the command; may name an unknown symbol (`reason` `"unknown_symbol"`).
    public var symbol: String
    /// `EventVocabulary.name(_: RejectReason)`, e.g. `"price_outside_band"`.
    public var reason: String

    public init(
        eventID: String, timestampNs: Int64, shard: UInt32, logIndex: UInt64, eventSeq: UInt32, participant: UInt32,
        clientOrderID: UInt64, orderID: UInt64, symbol: String, reason: String
    ) {
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.shard = shard
        self.logIndex = logIndex
        self.eventSeq = eventSeq
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.orderID = orderID
        self.symbol = symbol
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case type, version, shard, participant, symbol, reason
        case eventID = "event_id", timestampNs = "timestamp_ns", logIndex = "log_index", eventSeq = "event_seq"
        case clientOrderID = "client_order_id", orderID = "order_id"
    }

    public func jsonBytes() -> [UInt8] {
        var writer = EventJSONWriter()
        writer.beginObject()
        writer.envelope(
            type: type, version: version, eventID: eventID, timestampNs: timestampNs, shard: shard, logIndex: logIndex,
            eventSeq: eventSeq)
        writer.field("participant", participant)
        writer.field("client_order_id", clientOrderID)
        writer.field("order_id", orderID)
        writer.field("symbol", symbol)
        writer.field("reason", reason)
        writer.endObject()
        return writer.bytes
    }
}

/// `order.partially_filled` v1 (`leaves_quantity` > 0) and `order.filled` v1 (`leaves_quantity` 0): one
/// order's side of one trade. Every `trade.executed` is followed by two of these, buy side first.
public struct OrderFill: PublishedPayload {
    public static let partiallyFilledType = Topic.orderPartiallyFilled
    public static let filledType = Topic.orderFilled
    public static let version = 1

    /// `"order.partially_filled"` or `"order.filled"`.
    public var type: String
    public var version: Int = Self.version
    public var eventID: String
    public var timestampNs: Int64
    public var shard: UInt32
    public var logIndex: UInt64
    public var eventSeq: UInt32
    public var orderID: UInt64
    public var participant: UInt32
    public var account: UInt64
    public var symbol: String
    /// `"buy"` or `"sell"`: this order's side.
    public var side: String
    /// The trade's id (as in `trade.executed`).
    public var tradeID: String
    /// Execution price; positive.
    public var price: Int64
    /// Shares executed in this fill; positive.
    public var quantity: Int64
    /// Open shares left on the order after this fill.
    public var leavesQuantity: Int64
    /// `"taker"`, `"maker"` or `"auction"` (`EventVocabulary.liquidity`).
    public var liquidity: String

    public init(
        eventID: String, timestampNs: Int64, shard: UInt32, logIndex: UInt64, eventSeq: UInt32, orderID: UInt64,
        participant: UInt32, account: UInt64, symbol: String, side: String, tradeID: String, price: Int64,
        quantity: Int64, leavesQuantity: Int64, liquidity: String
    ) {
        self.type = leavesQuantity == 0 ? Self.filledType : Self.partiallyFilledType
        self.eventID = eventID
        self.timestampNs = timestampNs
        self.shard = shard
        self.logIndex = logIndex
        self.eventSeq = eventSeq
        self.orderID = orderID
        self.participant = participant
        self.account = account
        self.symbol = symbol
        self.side = side
        self.tradeID = tradeID
        self.price = price
        self.quantity = quantity
        self.leavesQuantity = leavesQuantity
        self.liquidity = liquidity
    }

    enum CodingKeys: String, CodingKey {
        case type, version, shard, participant, account, symbol, side, price, quantity, liquidity
        case eventID = "event_id", timestampNs = "timestamp_ns", logIndex = "log_index", eventSeq = "event_seq"
        case orderID = "order_id", tradeID = "trade_id", leavesQuantity = "leaves_quantity"
    }

    public func jsonBytes() -> [UInt8] {
        var writer = EventJSONWriter()
        writer.beginObject()
        writer.envelope(
            type: type, version: version, eventID: eventID, timestampNs: timestampNs, shard: shard, logIndex: logIndex,
            eventSeq: eventSeq)
        writer.field("order_id", orderID)
        writer.field("participant", participant)
        writer.field("account", account)
        writer.field("symbol", symbol)
        writer.field("side", side)
        writer.field("trade_id", tradeID)
        writer.field("price", price)
        writer.field("quantity", quantity)
        writer.field("leaves_quantity", leavesQuantity)
        writer.field("liquidity", liquidity)
        writer.endObject()
        return writer.bytes
    }
}
