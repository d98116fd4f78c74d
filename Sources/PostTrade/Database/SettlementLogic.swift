public import Postgres

/// Opening balances given to an account the first time settlement sees it.
public struct SettlementOptions: Sendable, Hashable {
    /// Cash (`"CASH"`, minor units) of a newly seen account. No default; range 0...Int64.max.
    public var openingCash: Int64
    /// Shares of a symbol for an account first seen with that symbol. No default; range 0...Int64.max.
    public var openingShares: Int64

    public init(openingCash: Int64, openingShares: Int64) {
        precondition(openingCash >= 0, "openingCash must not be negative")
        precondition(openingShares >= 0, "openingShares must not be negative")
        self.openingCash = openingCash
        self.openingShares = openingShares
    }
}

/// The settlement worker: delivery versus payment for each `trade.cleared`, emitting `trade.settled`.
///
/// Per batch, in a fixed number of statements whatever the batch size:
/// 1. lock and read every existing balance the batch touches (`SELECT ... ORDER BY account, asset FOR
///    UPDATE`: a fixed order, so two settlers cannot deadlock on existing balances);
/// 2. open the (account, asset) pairs never seen before (`balance_openings` + `balances`, opening amounts
///    from ``SettlementOptions``), so per asset sum(balances) = sum(openings) always holds. Two settlers
///    opening the same new pairs at once could still deadlock; PostgreSQL then aborts one and the runtime
///    redelivers its batch;
/// 3. drop trades already settled (read after the locks, so a concurrent settler's commit is visible);
/// 4. settle the trades in batch order against the in-memory balances: all four movements or none; a
///    movement that would make a balance negative (or overflow) fails the trade with a reason naming the
///    account, asset, balance and required amount;
/// 5. write the changed balances in one `UPDATE ... FROM unnest(...)`, then the `settlements` rows and
///    their `settlement_movements` in one statement.
///
/// - Important: call ``process(_:connection:)`` inside an open transaction (the runtime does).
public final class SettlementLogic: WorkerLogic {
    public let name = "settlement"
    public let inputTopics = [Topic.tradeCleared]
    public let options: SettlementOptions

    private let decoding = EventDecoding()
    private let now: () -> Int64

    public init(options: SettlementOptions, now: @escaping () -> Int64 = WallClock.nanoseconds) {
        self.options = options
        self.now = now
    }

    struct BalanceKey: Hashable {
        var account: Int64
        var asset: String
    }

    struct ValidTrade {
        var event: TradeCleared
        var buyAccount: Int64
        var sellAccount: Int64
    }

    struct Outcome {
        var trade: ValidTrade
        var movements: [(key: BalanceKey, amount: Int64)]
        var failure: String?
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
            messages = try settle(trades, connection: connection)
        }
        messages += try DeadLetters.record(deadLetters, worker: name, connection: connection)
        return messages
    }

    func validate(_ record: InboundRecord) -> Result<ValidTrade, RefusalReason> {
        guard record.topic == Topic.tradeCleared else {
            return .failure(RefusalReason("unexpected topic \(record.topic) for the settlement worker"))
        }
        let event: TradeCleared
        switch decoding.decode(TradeCleared.self, from: record) {
        case .success(let decoded): event = decoded
        case .failure(let reason): return .failure(reason)
        }
        if let reason = TradeChecks.identifier(event.eventID, name: "event_id")
            ?? TradeChecks.identifier(event.tradeID, name: "trade_id")
        {
            return .failure(reason)
        }
        let notional: Int64
        switch TradeChecks.terms(symbol: event.symbol, price: event.price, quantity: event.quantity) {
        case .success(let value): notional = value
        case .failure(let reason): return .failure(reason)
        }
        guard event.notional == notional else {
            return .failure(RefusalReason("notional \(event.notional) is not price × quantity = \(notional)"))
        }
        guard event.legs.count == 2,
            let buyLeg = event.legs.first(where: { $0.side == "buy" }),
            let sellLeg = event.legs.first(where: { $0.side == "sell" })
        else {
            return .failure(
                RefusalReason("expected exactly one buy leg and one sell leg, got \(event.legs.count) legs"))
        }
        for leg in [buyLeg, sellLeg] {
            guard leg.counterparty == Balances.counterparty else {
                return .failure(RefusalReason("\(leg.side) leg counterparty is '\(leg.counterparty)', not CCP"))
            }
            guard leg.quantity == event.quantity, leg.amount == notional else {
                return .failure(
                    RefusalReason(
                        "\(leg.side) leg quantity \(leg.quantity) / amount \(leg.amount) "
                            + "differ from the trade's \(event.quantity) / \(notional)"))
            }
        }
        return TradeChecks.account(buyLeg.account, role: "buy").flatMap { buy in
            TradeChecks.account(sellLeg.account, role: "sell").map { sell in
                ValidTrade(event: event, buyAccount: buy, sellAccount: sell)
            }
        }
    }

    private func settle(_ trades: [ValidTrade], connection: PostgresConnection) throws -> [OutboundMessage] {
        var openings: [BalanceKey: Int64] = [:]
        for trade in trades {
            let symbol = trade.event.symbol
            for account in [trade.buyAccount, trade.sellAccount] {
                openings[BalanceKey(account: account, asset: Balances.cashAsset)] = options.openingCash
                openings[BalanceKey(account: account, asset: symbol)] = options.openingShares
            }
        }
        let keys = Array(openings.keys)

        // 1. Lock and read the existing balances the batch touches, in (account, asset) order.
        var balances = try lockBalances(keys, connection: connection)

        // 2. Open the pairs never seen before. Rows this transaction inserts are its own until commit; a pair
        //    another settler opened concurrently is not returned (ON CONFLICT waited for it), so lock-read it.
        let missing = keys.filter { balances[$0] == nil }
        if !missing.isEmpty {
            let opened = try connection.execute(
                """
                WITH opened AS (
                    INSERT INTO balance_openings (account, asset, amount)
                    SELECT account, asset, amount
                    FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS t(account, asset, amount)
                    ORDER BY account, asset
                    ON CONFLICT DO NOTHING
                    RETURNING account, asset, amount
                )
                INSERT INTO balances (account, asset, amount) SELECT account, asset, amount FROM opened
                RETURNING account, asset, amount
                """,
                [
                    PostgresArrayLiteral.int64(missing.map(\.account)),
                    PostgresArrayLiteral.text(missing.map(\.asset)),
                    PostgresArrayLiteral.int64(missing.map { openings[$0]! }),
                ])
            try Self.readBalances(opened, into: &balances)
            let openedElsewhere = missing.filter { balances[$0] == nil }
            if !openedElsewhere.isEmpty {
                balances.merge(try lockBalances(openedElsewhere, connection: connection)) { _, new in new }
            }
        }
        guard balances.count == keys.count else {
            throw PostgresError(
                code: .badResult, message: "have \(balances.count) balances, expected \(keys.count) after opening")
        }

        // 3. Trades settled before (by trade id or source event id) are redeliveries.
        let done = try connection.execute(
            """
            SELECT trade_id, source_event_id FROM settlements
            WHERE trade_id = ANY($1::text[]) OR source_event_id = ANY($2::text[])
            """,
            [
                PostgresArrayLiteral.text(trades.map(\.event.tradeID)),
                PostgresArrayLiteral.text(trades.map(\.event.eventID)),
            ])
        var settledIDs = Set<String>()
        for row in done.rows {
            if let tradeID = row[0] { settledIDs.insert(tradeID) }
            if let eventID = row[1] { settledIDs.insert(eventID) }
        }

        // 4. Delivery versus payment in batch order, in memory.
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(trades.count)
        var changed = Set<BalanceKey>()
        for trade in trades
        where !settledIDs.contains(trade.event.tradeID) && !settledIDs.contains(trade.event.eventID) {
            let outcome = Self.deliverVersusPayment(trade, balances: &balances)
            for movement in outcome.movements { changed.insert(movement.key) }
            outcomes.append(outcome)
        }
        guard !outcomes.isEmpty else { return [] }

        // 5. Write balances, settlements and movements.
        if !changed.isEmpty {
            let changedKeys = Array(changed)
            let update = try connection.execute(
                """
                UPDATE balances AS b SET amount = u.amount
                FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(account, asset, amount)
                WHERE b.account = u.account AND b.asset = u.asset
                """,
                [
                    PostgresArrayLiteral.int64(changedKeys.map(\.account)),
                    PostgresArrayLiteral.text(changedKeys.map(\.asset)),
                    PostgresArrayLiteral.int64(changedKeys.map { balances[$0]! }),
                ])
            guard update.rowsAffected == changedKeys.count else {
                throw PostgresError(
                    code: .badResult,
                    message: "updated \(update.rowsAffected) balances, expected \(changedKeys.count)")
            }
        }
        var movementTradeIDs: [String] = []
        var movementSeqs: [Int64] = []
        var movementAccounts: [Int64] = []
        var movementAssets: [String] = []
        var movementAmounts: [Int64] = []
        for outcome in outcomes {
            for (index, movement) in outcome.movements.enumerated() {
                movementTradeIDs.append(outcome.trade.event.tradeID)
                movementSeqs.append(Int64(index + 1))
                movementAccounts.append(movement.key.account)
                movementAssets.append(movement.key.asset)
                movementAmounts.append(movement.amount)
            }
        }
        try connection.execute(
            """
            WITH inserted AS (
                INSERT INTO settlements (
                    trade_id, source_event_id, symbol, price, quantity, notional,
                    buy_account, sell_account, trade_timestamp_ns, status, reason)
                SELECT * FROM unnest(
                    $1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
                    $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[])
                RETURNING trade_id
            )
            INSERT INTO settlement_movements (trade_id, seq, account, asset, amount)
            SELECT * FROM unnest($12::text[], $13::smallint[], $14::bigint[], $15::text[], $16::bigint[])
            """,
            [
                PostgresArrayLiteral.text(outcomes.map(\.trade.event.tradeID)),
                PostgresArrayLiteral.text(outcomes.map(\.trade.event.eventID)),
                PostgresArrayLiteral.text(outcomes.map(\.trade.event.symbol)),
                PostgresArrayLiteral.int64(outcomes.map(\.trade.event.price)),
                PostgresArrayLiteral.int64(outcomes.map(\.trade.event.quantity)),
                PostgresArrayLiteral.int64(outcomes.map(\.trade.event.notional)),
                PostgresArrayLiteral.int64(outcomes.map(\.trade.buyAccount)),
                PostgresArrayLiteral.int64(outcomes.map(\.trade.sellAccount)),
                PostgresArrayLiteral.int64(outcomes.map(\.trade.event.tradeTimestampNs)),
                PostgresArrayLiteral.text(outcomes.map { $0.failure == nil ? "settled" : "failed" }),
                PostgresArrayLiteral.text(outcomes.map(\.failure)),
                PostgresArrayLiteral.text(movementTradeIDs),
                PostgresArrayLiteral.int64(movementSeqs),
                PostgresArrayLiteral.int64(movementAccounts),
                PostgresArrayLiteral.text(movementAssets),
                PostgresArrayLiteral.int64(movementAmounts),
            ])

        let timestampNs = now()
        return outcomes.map { message(for: $0, timestampNs: timestampNs) }
    }

    /// `SELECT ... FOR UPDATE` of the given balances in (account, asset) order.
    private func lockBalances(_ keys: [BalanceKey], connection: PostgresConnection) throws -> [BalanceKey: Int64] {
        let locked = try connection.execute(
            """
            SELECT b.account, b.asset, b.amount
            FROM balances AS b
            JOIN unnest($1::bigint[], $2::text[]) AS k(account, asset)
              ON b.account = k.account AND b.asset = k.asset
            ORDER BY b.account, b.asset
            FOR UPDATE OF b
            """,
            [PostgresArrayLiteral.int64(keys.map(\.account)), PostgresArrayLiteral.text(keys.map(\.asset))])
        var balances: [BalanceKey: Int64] = [:]
        balances.reserveCapacity(keys.count)
        try Self.readBalances(locked, into: &balances)
        return balances
    }

    /// Reads (account, asset, amount) rows.
    private static func readBalances(_ result: PostgresResult, into balances: inout [BalanceKey: Int64]) throws {
        for row in 0..<result.rowCount {
            guard let account = try result.int64(row, 0), let asset = result.string(row, 1),
                let amount = try result.int64(row, 2)
            else { throw PostgresError(code: .badResult, message: "NULL in balances") }
            balances[BalanceKey(account: account, asset: asset)] = amount
        }
    }

    /// All four movements or none. Checks the buyer's cash and the seller's shares before moving anything,
    /// so a self-trade (buyer = seller) needs the same cover as any other trade.
    static func deliverVersusPayment(_ trade: ValidTrade, balances: inout [BalanceKey: Int64]) -> Outcome {
        let event = trade.event
        let buyerCash = BalanceKey(account: trade.buyAccount, asset: Balances.cashAsset)
        let sellerCash = BalanceKey(account: trade.sellAccount, asset: Balances.cashAsset)
        let sellerShares = BalanceKey(account: trade.sellAccount, asset: event.symbol)
        let buyerShares = BalanceKey(account: trade.buyAccount, asset: event.symbol)
        let movements: [(key: BalanceKey, amount: Int64)] = [
            (buyerCash, -event.notional), (sellerCash, event.notional),
            (sellerShares, -event.quantity), (buyerShares, event.quantity),
        ]
        func failed(_ reason: String) -> Outcome { Outcome(trade: trade, movements: [], failure: reason) }

        let buyerCashBalance = balances[buyerCash]!
        guard buyerCashBalance >= event.notional else {
            return failed(
                "insufficient \(Balances.cashAsset): buyer account \(trade.buyAccount) has balance "
                    + "\(buyerCashBalance), requires \(event.notional)")
        }
        let sellerSharesBalance = balances[sellerShares]!
        guard sellerSharesBalance >= event.quantity else {
            return failed(
                "insufficient \(event.symbol): seller account \(trade.sellAccount) has balance "
                    + "\(sellerSharesBalance), requires \(event.quantity)")
        }
        // The four keys repeat for a self-trade, so apply to a small copy of just these balances.
        var updated: [BalanceKey: Int64] = [:]
        for movement in movements {
            let current = updated[movement.key] ?? balances[movement.key]!
            let (sum, overflow) = current.addingReportingOverflow(movement.amount)
            guard !overflow, sum >= 0 else {
                return failed(
                    "balance of \(movement.key.asset) on account \(movement.key.account) would overflow "
                        + "adding \(movement.amount) to \(current)")
            }
            updated[movement.key] = sum
        }
        for (key, amount) in updated { balances[key] = amount }
        return Outcome(trade: trade, movements: movements, failure: nil)
    }

    private func message(for outcome: Outcome, timestampNs: Int64) -> OutboundMessage {
        let event = outcome.trade.event
        let eventID = "settled-\(event.tradeID)"
        let settled = TradeSettled(
            eventID: eventID, timestampNs: timestampNs, tradeID: event.tradeID, sourceEventID: event.eventID,
            tradeTimestampNs: event.tradeTimestampNs, symbol: event.symbol, price: event.price,
            quantity: event.quantity, notional: event.notional, buyAccount: UInt64(outcome.trade.buyAccount),
            sellAccount: UInt64(outcome.trade.sellAccount), status: outcome.failure == nil ? "settled" : "failed",
            reason: outcome.failure,
            movements: outcome.movements.map {
                Movement(account: UInt64($0.key.account), asset: $0.key.asset, amount: $0.amount)
            })
        return OutboundMessage(
            topic: Topic.tradeSettled, key: Array(event.symbol.utf8), value: EventJSON.encode(settled),
            headers: [EventHeader.eventID: eventID])
    }
}
