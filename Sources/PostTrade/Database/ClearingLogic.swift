public import Postgres

/// The clearing worker: validates `trade.executed` records and novates each trade into two legs against
/// the clearing house (`"CCP"`), emitting `trade.cleared` once per newly cleared trade.
///
/// Per batch: one statement inserts the cleared trades and their legs (`unnest` of arrays, `ON CONFLICT DO
/// NOTHING RETURNING`), so a trade already cleared (same trade id or same source event id) changes nothing
/// and emits nothing. Invalid records become dead letters (recorded once per source position) and never
/// throw; only database errors throw.
///
/// Self-trades (buy account = sell account) are cleared: self-trade prevention is optional per order
/// (`SelfTradePrevention.none`), so the exchange may commit them, and the two legs net out.
///
/// - Important: call ``process(_:connection:)`` inside an open transaction (the runtime does); on its own
///   each statement would commit separately.
public final class ClearingLogic: WorkerLogic {
    public let name = "clearing"
    public let inputTopics = [Topic.tradeExecuted]

    private let decoding = EventDecoding()
    private let now: () -> Int64

    /// - Parameter now: clock for the `timestamp_ns` of emitted events (nanoseconds since the Unix epoch).
    public init(now: @escaping () -> Int64 = WallClock.nanoseconds) {
        self.now = now
    }

    struct ValidTrade {
        var event: TradeExecuted
        var buyAccount: Int64
        var sellAccount: Int64
        var notional: Int64
    }

    public func process(_ records: [InboundRecord], connection: PostgresConnection) throws -> [OutboundMessage] {
        var trades: [ValidTrade] = []
        trades.reserveCapacity(records.count)
        var deadLetters: [DeadLetter] = []
        var seenTradeIDs = Set<String>()
        var seenEventIDs = Set<String>()
        for record in records {
            switch validate(record) {
            case .success(let trade):
                // A duplicate inside the batch is a redelivery: the first occurrence wins.
                guard seenTradeIDs.insert(trade.event.tradeID).inserted,
                    seenEventIDs.insert(trade.event.eventID).inserted
                else { continue }
                trades.append(trade)
            case .failure(let reason):
                deadLetters.append(DeadLetter(record: record, reason: reason.text))
            }
        }

        var messages: [OutboundMessage] = []
        if !trades.isEmpty {
            let cleared = try insert(trades, connection: connection)
            let timestampNs = now()
            for trade in trades where cleared.contains(trade.event.tradeID) {
                messages.append(message(for: trade, timestampNs: timestampNs))
            }
        }
        messages += try DeadLetters.record(deadLetters, worker: name, connection: connection)
        return messages
    }

    func validate(_ record: InboundRecord) -> Result<ValidTrade, RefusalReason> {
        guard record.topic == Topic.tradeExecuted else {
            return .failure(RefusalReason("unexpected topic \(record.topic) for the clearing worker"))
        }
        let event: TradeExecuted
        switch decoding.decode(TradeExecuted.self, from: record) {
        case .success(let decoded): event = decoded
        case .failure(let reason): return .failure(reason)
        }
        if let reason = TradeChecks.identifier(event.eventID, name: "event_id")
            ?? TradeChecks.identifier(event.tradeID, name: "trade_id")
        {
            return .failure(reason)
        }
        return TradeChecks.terms(symbol: event.symbol, price: event.price, quantity: event.quantity)
            .flatMap { notional in
                TradeChecks.account(event.buyAccount, role: "buy").flatMap { buy in
                    TradeChecks.account(event.sellAccount, role: "sell").map { sell in
                        ValidTrade(event: event, buyAccount: buy, sellAccount: sell, notional: notional)
                    }
                }
            }
    }

    /// Inserts trades and legs in one statement; returns the ids of the trades that were not cleared before.
    private func insert(_ trades: [ValidTrade], connection: PostgresConnection) throws -> Set<String> {
        let result = try connection.execute(
            """
            WITH input AS (
                SELECT * FROM unnest(
                    $1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
                    $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[]
                ) AS t(trade_id, source_event_id, symbol, price, quantity, notional,
                       buy_account, sell_account, buy_participant, sell_participant, trade_timestamp_ns)
            ),
            trades AS (
                INSERT INTO cleared_trades (
                    trade_id, source_event_id, symbol, price, quantity, notional,
                    buy_account, sell_account, buy_participant, sell_participant, trade_timestamp_ns)
                SELECT trade_id, source_event_id, symbol, price, quantity, notional,
                       buy_account, sell_account, buy_participant, sell_participant, trade_timestamp_ns
                FROM input
                ON CONFLICT DO NOTHING
                RETURNING trade_id
            ),
            legs AS (
                INSERT INTO cleared_legs (trade_id, side, account, participant, counterparty, quantity, amount)
                SELECT i.trade_id, l.side, l.account, l.participant, 'CCP', i.quantity, i.notional
                FROM trades
                JOIN input AS i ON i.trade_id = trades.trade_id
                CROSS JOIN LATERAL (VALUES
                    ('buy', i.buy_account, i.buy_participant),
                    ('sell', i.sell_account, i.sell_participant)
                ) AS l(side, account, participant)
            )
            SELECT trade_id FROM trades
            """,
            [
                PostgresArrayLiteral.text(trades.map(\.event.tradeID)),
                PostgresArrayLiteral.text(trades.map(\.event.eventID)),
                PostgresArrayLiteral.text(trades.map(\.event.symbol)),
                PostgresArrayLiteral.int64(trades.map(\.event.price)),
                PostgresArrayLiteral.int64(trades.map(\.event.quantity)),
                PostgresArrayLiteral.int64(trades.map(\.notional)),
                PostgresArrayLiteral.int64(trades.map(\.buyAccount)),
                PostgresArrayLiteral.int64(trades.map(\.sellAccount)),
                PostgresArrayLiteral.int64(trades.map { Int64($0.event.buyParticipant) }),
                PostgresArrayLiteral.int64(trades.map { Int64($0.event.sellParticipant) }),
                PostgresArrayLiteral.int64(trades.map(\.event.timestampNs)),
            ])
        return Set(result.rows.compactMap { $0[0] })
    }

    private func message(for trade: ValidTrade, timestampNs: Int64) -> OutboundMessage {
        let event = trade.event
        let eventID = "cleared-\(event.tradeID)"
        let cleared = TradeCleared(
            eventID: eventID, timestampNs: timestampNs, tradeID: event.tradeID, sourceEventID: event.eventID,
            tradeTimestampNs: event.timestampNs, symbol: event.symbol, price: event.price, quantity: event.quantity,
            notional: trade.notional,
            legs: [
                ClearedLeg(
                    side: "buy", account: event.buyAccount, participant: event.buyParticipant,
                    counterparty: Balances.counterparty, quantity: event.quantity, amount: trade.notional),
                ClearedLeg(
                    side: "sell", account: event.sellAccount, participant: event.sellParticipant,
                    counterparty: Balances.counterparty, quantity: event.quantity, amount: trade.notional),
            ])
        return OutboundMessage(
            topic: Topic.tradeCleared, key: Array(event.symbol.utf8), value: EventJSON.encode(cleared),
            headers: [EventHeader.eventID: eventID])
    }
}
