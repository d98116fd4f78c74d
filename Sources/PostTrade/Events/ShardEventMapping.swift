public import ExchangeCore
public import Matching

/// Turns the events of one committed shard log entry into the messages the outbox publisher produces.
///
/// Contract (docs/events/README.md):
/// - one message per published event, except a trade, which yields three: `trade.executed`, then the
///   buy order's fill, then the sell order's fill (`order.partially_filled` when the order has shares
///   left, else `order.filled`);
/// - `event_seq` numbers the messages of the entry from 0 in apply order (per message, so a trade takes
///   three numbers); the event id is `<shard>-<logIndex>-<event_seq>`;
/// - key = the symbol's bytes, so one symbol's events keep their order in one partition;
/// - value = versioned JSON (`PublishedPayload.jsonBytes()`); headers shard, log_index, event_seq,
///   event_id as decimal text / the id.
///
/// Not published: `bookDelta` (market data, not post-trade), `duplicate` (nothing changed),
/// `triggered` (the triggered order's fills and cancels follow as ordinary events),
/// `priceBandSet` (operator reference data) and `resumed` (the reopening is published as
/// `circuit.breaker.lifted` at its `auction` event, which carries the auction outcome).
public enum ShardEventMapping {
    /// - Parameters:
    ///   - timestamp: the entry's log time; every message's `timestamp_ns`.
    ///   - events: every event of the entry's commands, in apply order. Unpublished events may already
    ///     have been filtered out with ``isPublished(_:)``: the result is the same.
    /// - Returns: the published messages in order; message `i` has `event_seq` = i and event id
    ///   `<shard>-<logIndex>-<i>`.
    public static func messages(shard: UInt32, logIndex: UInt64, timestamp: Timestamp, events: [Event]) -> [OutboundMessage] {
        var builder = EntryMessageBuilder(shard: shard, logIndex: logIndex, timestamp: timestamp)
        for event in events { builder.append(event) }
        return builder.messages
    }

    /// Whether an event is published at all (the shard's outbox keeps only these): true iff
    /// ``messages(shard:logIndex:timestamp:events:)`` yields at least one message for it.
    public static func isPublished(_ event: Event) -> Bool {
        messageCount(event) > 0
    }

    /// How many messages one event yields (and how many `event_seq` numbers it takes).
    public static func messageCount(_ event: Event) -> Int {
        switch event {
        case .trade: 3
        case .accepted, .rejected, .cancelled, .replaced, .expired, .halted, .auction: 1
        case .duplicate, .triggered, .resumed, .priceBandSet, .bookDelta: 0
        }
    }
}

/// Builds the messages of one entry; caches the per-entry header texts and the last symbol's text.
struct EntryMessageBuilder {
    let shard: UInt32
    let logIndex: UInt64
    let timestampNs: Int64
    let shardText: String
    let logIndexText: String
    /// `<shard>-<logIndex>-`.
    let eventIDPrefix: String
    private(set) var messages: [OutboundMessage] = []
    private var nextSequence: UInt32 = 0
    /// Decimal text of the sequence `next` handed out last: the `event_seq` header of the message being built.
    private var nextSequenceText = ""
    private var cachedSymbol: Symbol?
    private var cachedSymbolText = ""
    private var cachedSymbolKey: [UInt8] = []

    init(shard: UInt32, logIndex: UInt64, timestamp: Timestamp) {
        self.shard = shard
        self.logIndex = logIndex
        self.timestampNs = timestamp.rawValue
        shardText = String(shard)
        logIndexText = String(logIndex)
        eventIDPrefix = shardText + "-" + logIndexText + "-"
    }

    mutating func append(_ event: Event) {
        switch event {
        case .accepted(let a):
            let (seq, id, symbol) = next(a.symbol)
            emit(
                OrderSubmitted(
                    eventID: id, timestampNs: timestampNs, shard: shard, logIndex: logIndex, eventSeq: seq,
                    orderID: a.orderID.rawValue, participant: a.participant.rawValue,
                    clientOrderID: a.clientOrderID.rawValue, account: a.account.rawValue, symbol: symbol,
                    side: EventVocabulary.name(a.side), orderType: EventVocabulary.name(a.type),
                    timeInForce: EventVocabulary.name(a.timeInForce), price: Self.optional(a.price.rawValue),
                    stopPrice: Self.optional(a.stopPrice.rawValue), quantity: a.quantity.rawValue,
                    displayQuantity: Self.optional(a.displayQuantity.rawValue)),
                topic: Topic.orderSubmitted, eventID: id)
        case .rejected(let r):
            let (seq, id, symbol) = next(r.symbol)
            emit(
                OrderRejected(
                    eventID: id, timestampNs: timestampNs, shard: shard, logIndex: logIndex, eventSeq: seq,
                    participant: r.participant.rawValue, clientOrderID: r.clientOrderID.rawValue,
                    orderID: r.orderID.rawValue, symbol: symbol, reason: EventVocabulary.name(r.reason)),
                topic: Topic.orderRejected, eventID: id)
        case .cancelled(let c):
            let (seq, id, symbol) = next(c.symbol)
            emit(
                OrderCancelled(
                    eventID: id, timestampNs: timestampNs, shard: shard, logIndex: logIndex, eventSeq: seq,
                    orderID: c.orderID.rawValue, symbol: symbol, cancelledQuantity: c.cancelledQuantity.rawValue,
                    leavesQuantity: c.leavesQuantity.rawValue, reason: EventVocabulary.name(c.reason)),
                topic: Topic.orderCancelled, eventID: id)
        case .replaced(let r):
            let (seq, id, symbol) = next(r.symbol)
            emit(
                OrderReplaced(
                    eventID: id, timestampNs: timestampNs, shard: shard, logIndex: logIndex, eventSeq: seq,
                    orderID: r.orderID.rawValue, participant: r.participant.rawValue,
                    clientOrderID: r.clientOrderID.rawValue, symbol: symbol, price: r.price.rawValue,
                    quantity: r.quantity.rawValue, leavesQuantity: r.leavesQuantity.rawValue,
                    keptPriority: r.keptPriority),
                topic: Topic.orderReplaced, eventID: id)
        case .expired(let e):
            let (seq, id, symbol) = next(e.symbol)
            emit(
                OrderExpired(
                    eventID: id, timestampNs: timestampNs, shard: shard, logIndex: logIndex, eventSeq: seq,
                    orderID: e.orderID.rawValue, symbol: symbol, leavesQuantity: e.leavesQuantity.rawValue),
                topic: Topic.orderExpired, eventID: id)
        case .trade(let t):
            appendTrade(t)
        case .halted(let h):
            let (seq, id, symbol) = next(h.symbol)
            emit(
                CircuitBreakerTriggered(
                    eventID: id, timestampNs: timestampNs, shard: shard, logIndex: logIndex, eventSeq: seq,
                    symbol: symbol, reason: EventVocabulary.name(h.reason),
                    reopenAtNs: h.reopenAt == .zero ? nil : h.reopenAt.rawValue),
                topic: Topic.circuitBreakerTriggered, eventID: id)
        case .auction(let a):
            let (seq, id, symbol) = next(a.symbol)
            emit(
                CircuitBreakerLifted(
                    eventID: id, timestampNs: timestampNs, shard: shard, logIndex: logIndex, eventSeq: seq,
                    symbol: symbol, auctionPrice: a.price.rawValue, auctionVolume: a.volume.rawValue,
                    auctionImbalance: a.imbalance.rawValue),
                topic: Topic.circuitBreakerLifted, eventID: id)
        case .duplicate, .triggered, .resumed, .priceBandSet, .bookDelta:
            break
        }
    }

    private mutating func appendTrade(_ t: Event.Trade) {
        let tradeID = shardText + "-" + String(t.id.sequence) + "-" + String(t.id.index)
        let (seq, id, symbol) = next(t.symbol)
        emit(
            TradeExecuted(
                eventID: id, timestampNs: timestampNs, shard: shard, logIndex: logIndex, eventSeq: seq,
                tradeID: tradeID, symbol: symbol, price: t.price.rawValue, quantity: t.quantity.rawValue,
                aggressor: t.aggressor.map(EventVocabulary.name), buyOrderID: t.buyOrderID.rawValue,
                sellOrderID: t.sellOrderID.rawValue, buyAccount: t.buyAccount.rawValue,
                sellAccount: t.sellAccount.rawValue, buyParticipant: t.buyParticipant.rawValue,
                sellParticipant: t.sellParticipant.rawValue),
            topic: Topic.tradeExecuted, eventID: id)
        for side in [Side.buy, Side.sell] {
            let (fillSeq, fillID, _) = next(t.symbol)
            let buy = side == .buy
            let leaves = buy ? t.buyLeaves.rawValue : t.sellLeaves.rawValue
            let fill = OrderFill(
                eventID: fillID, timestampNs: timestampNs, shard: shard, logIndex: logIndex, eventSeq: fillSeq,
                orderID: buy ? t.buyOrderID.rawValue : t.sellOrderID.rawValue,
                participant: buy ? t.buyParticipant.rawValue : t.sellParticipant.rawValue,
                account: buy ? t.buyAccount.rawValue : t.sellAccount.rawValue, symbol: symbol,
                side: EventVocabulary.name(side), tradeID: tradeID, price: t.price.rawValue,
                quantity: t.quantity.rawValue, leavesQuantity: leaves,
                liquidity: EventVocabulary.liquidity(side: side, aggressor: t.aggressor))
            emit(fill, topic: fill.type, eventID: fillID)
        }
    }

    /// Takes the next event sequence number; returns it with its event id and the symbol's text.
    ///
    /// - Important: call `emit` for the message before calling `next` again (it reads the sequence text).
    private mutating func next(_ symbol: Symbol) -> (UInt32, String, String) {
        let sequence = nextSequence
        nextSequence += 1
        nextSequenceText = String(sequence)
        if cachedSymbol != symbol {
            cachedSymbol = symbol
            cachedSymbolText = symbol.description
            cachedSymbolKey = Array(cachedSymbolText.utf8)
        }
        return (sequence, eventIDPrefix + nextSequenceText, cachedSymbolText)
    }

    private mutating func emit(_ payload: some PublishedPayload, topic: String, eventID: String) {
        messages.append(
            OutboundMessage(
                topic: topic, key: cachedSymbolKey, value: payload.jsonBytes(),
                headers: [
                    EventHeader.shard: shardText, EventHeader.logIndex: logIndexText,
                    EventHeader.eventSequence: nextSequenceText, EventHeader.eventID: eventID,
                ]))
    }

    /// The engine uses 0 for "not applicable" prices and quantities; the payloads omit them.
    private static func optional(_ value: Int64) -> Int64? {
        value == 0 ? nil : value
    }
}
