public import Postgres

/// The ledger worker: double-entry journals for each `trade.settled`.
///
/// A settled trade gets two journals of four entries each, every journal summing to zero:
/// - `cash` (asset `CASH`): buyer −notional (to CCP), CCP +notional (from buyer), CCP −notional (to seller),
///   seller +notional (from CCP);
/// - `securities` (asset = symbol): seller −quantity (to CCP), CCP +quantity (from seller), CCP −quantity
///   (to buyer), buyer +quantity (from CCP).
///
/// Every trade, settled or failed, gets a `ledger_trades` row (the idempotency key, and `journaled_at` for
/// the end-to-end lag); a failed settlement gets no entries. One statement per batch. Emits nothing but
/// dead letters.
///
/// - Important: call ``process(_:connection:)`` inside an open transaction (the runtime does).
public final class LedgerLogic: WorkerLogic {
    public let name = "ledger"
    public let inputTopics = [Topic.tradeSettled]

    private let decoding = EventDecoding()

    public init() {}

    struct ValidTrade {
        var event: TradeSettled
        var buyAccount: Int64
        var sellAccount: Int64
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
                guard seenTradeIDs.insert(trade.event.tradeID).inserted,
                    seenEventIDs.insert(trade.event.eventID).inserted
                else { continue }
                trades.append(trade)
            case .failure(let reason):
                deadLetters.append(DeadLetter(record: record, reason: reason.text))
            }
        }
        if !trades.isEmpty {
            try journal(trades, connection: connection)
        }
        return try DeadLetters.record(deadLetters, worker: name, connection: connection)
    }

    func validate(_ record: InboundRecord) -> Result<ValidTrade, RefusalReason> {
        guard record.topic == Topic.tradeSettled else {
            return .failure(RefusalReason("unexpected topic \(record.topic) for the ledger worker"))
        }
        let event: TradeSettled
        switch decoding.decode(TradeSettled.self, from: record) {
        case .success(let decoded): event = decoded
        case .failure(let reason): return .failure(reason)
        }
        if let reason = TradeChecks.identifier(event.eventID, name: "event_id")
            ?? TradeChecks.identifier(event.tradeID, name: "trade_id")
        {
            return .failure(reason)
        }
        switch TradeChecks.terms(symbol: event.symbol, price: event.price, quantity: event.quantity) {
        case .success(let notional):
            guard event.notional == notional else {
                return .failure(RefusalReason("notional \(event.notional) is not price × quantity = \(notional)"))
            }
        case .failure(let reason): return .failure(reason)
        }
        let buyAccount: Int64
        let sellAccount: Int64
        switch TradeChecks.account(event.buyAccount, role: "buy") {
        case .success(let account): buyAccount = account
        case .failure(let reason): return .failure(reason)
        }
        switch TradeChecks.account(event.sellAccount, role: "sell") {
        case .success(let account): sellAccount = account
        case .failure(let reason): return .failure(reason)
        }
        switch event.status {
        case "settled":
            let expected = [
                Movement(account: event.buyAccount, asset: Balances.cashAsset, amount: -event.notional),
                Movement(account: event.sellAccount, asset: Balances.cashAsset, amount: event.notional),
                Movement(account: event.sellAccount, asset: event.symbol, amount: -event.quantity),
                Movement(account: event.buyAccount, asset: event.symbol, amount: event.quantity),
            ]
            guard Self.sameMultiset(event.movements, expected) else {
                return .failure(
                    RefusalReason("movements of a settled trade are not the four of delivery versus payment"))
            }
        case "failed":
            guard event.movements.isEmpty else {
                return .failure(RefusalReason("a failed settlement carries \(event.movements.count) movements"))
            }
        default:
            return .failure(RefusalReason("unknown settlement status '\(event.status)'"))
        }
        return .success(ValidTrade(event: event, buyAccount: buyAccount, sellAccount: sellAccount))
    }

    private static func sameMultiset(_ a: [Movement], _ b: [Movement]) -> Bool {
        guard a.count == b.count else { return false }
        var remaining = b
        for movement in a {
            guard let index = remaining.firstIndex(of: movement) else { return false }
            remaining.remove(at: index)
        }
        return true
    }

    private func journal(_ trades: [ValidTrade], connection: PostgresConnection) throws {
        try connection.execute(
            """
            WITH input AS (
                SELECT * FROM unnest(
                    $1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[],
                    $8::bigint[], $9::bigint[]
                ) AS t(trade_id, source_event_id, status, trade_timestamp_ns, symbol, notional, quantity,
                       buy_account, sell_account)
            ),
            inserted AS (
                INSERT INTO ledger_trades (trade_id, source_event_id, status, trade_timestamp_ns)
                SELECT trade_id, source_event_id, status, trade_timestamp_ns FROM input
                ON CONFLICT DO NOTHING
                RETURNING trade_id, status
            )
            INSERT INTO journal_entries (trade_id, journal, seq, account, counterparty, asset, amount)
            SELECT i.trade_id, e.journal, e.seq, e.account, e.counterparty, e.asset, e.amount
            FROM inserted
            JOIN input AS i ON i.trade_id = inserted.trade_id
            CROSS JOIN LATERAL (VALUES
                ('cash', 1, i.buy_account::text, 'CCP', 'CASH', -i.notional),
                ('cash', 2, 'CCP', i.buy_account::text, 'CASH', i.notional),
                ('cash', 3, 'CCP', i.sell_account::text, 'CASH', -i.notional),
                ('cash', 4, i.sell_account::text, 'CCP', 'CASH', i.notional),
                ('securities', 1, i.sell_account::text, 'CCP', i.symbol, -i.quantity),
                ('securities', 2, 'CCP', i.sell_account::text, i.symbol, i.quantity),
                ('securities', 3, 'CCP', i.buy_account::text, i.symbol, -i.quantity),
                ('securities', 4, i.buy_account::text, 'CCP', i.symbol, i.quantity)
            ) AS e(journal, seq, account, counterparty, asset, amount)
            WHERE inserted.status = 'settled'
            """,
            [
                PostgresArrayLiteral.text(trades.map(\.event.tradeID)),
                PostgresArrayLiteral.text(trades.map(\.event.eventID)),
                PostgresArrayLiteral.text(trades.map(\.event.status)),
                PostgresArrayLiteral.int64(trades.map(\.event.tradeTimestampNs)),
                PostgresArrayLiteral.text(trades.map(\.event.symbol)),
                PostgresArrayLiteral.int64(trades.map(\.event.notional)),
                PostgresArrayLiteral.int64(trades.map(\.event.quantity)),
                PostgresArrayLiteral.int64(trades.map(\.buyAccount)),
                PostgresArrayLiteral.int64(trades.map(\.sellAccount)),
            ])
    }
}
