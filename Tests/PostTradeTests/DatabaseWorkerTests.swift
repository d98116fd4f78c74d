import Foundation
import PostTrade
import Postgres
import Testing

@Suite(.serialized, .postgresServer)
struct DatabaseWorkerTests {
    // MARK: Clearing

    @Test func clearingNovatesIntoTwoLegsAgainstTheCCPAndRedeliveryChangesNothing() throws {
        try TestDatabase.with { database in
            let clearing = ClearingLogic(now: { 42 })
            let trades = (0..<3).map { Records.executed($0, price: 250, quantity: 4, buy: 7, sell: 9) }
            let records = trades.enumerated().map {
                Records.record($1, topic: Topic.tradeExecuted, offset: Int64($0))
            }
            let messages = try RuntimeSimulation.runBatch(clearing, records, connection: database.connection)
            #expect(messages.count == 3)
            #expect(messages.allSatisfy { $0.topic == Topic.tradeCleared && $0.key == Array("AAPL".utf8) })
            let cleared = try Records.decode(TradeCleared.self, messages[0])
            #expect(cleared.eventID == "cleared-\(trades[0].tradeID)")
            #expect(messages[0].headers[EventHeader.eventID] == cleared.eventID)
            #expect(cleared.sourceEventID == trades[0].eventID && cleared.tradeTimestampNs == trades[0].timestampNs)
            #expect(cleared.timestampNs == 42 && cleared.notional == 1_000)
            #expect(
                cleared.legs == [
                    ClearedLeg(
                        side: "buy", account: 7, participant: 3, counterparty: "CCP", quantity: 4, amount: 1_000),
                    ClearedLeg(
                        side: "sell", account: 9, participant: 4, counterparty: "CCP", quantity: 4, amount: 1_000),
                ])
            let legs = try database.connection.execute(
                """
                SELECT side, account, counterparty, quantity, amount FROM cleared_legs
                WHERE trade_id = $1 ORDER BY side
                """,
                [PostgresValue(trades[0].tradeID)])
            #expect(legs.rows == [["buy", "7", "CCP", "4", "1000"], ["sell", "9", "CCP", "4", "1000"]])
            #expect(try database.count("cleared_trades") == 3 && database.count("cleared_legs") == 6)
            #expect(try database.count("outbox") == 3)

            // The same batch again (the runtime crashed before Kafka saw the commit): no effect, no message.
            let again = try RuntimeSimulation.runBatch(clearing, records, connection: database.connection)
            #expect(again.isEmpty)
            // A duplicate inside one batch, and the same trade at a new offset.
            let duplicated = [
                records[0], Records.record(trades[1], topic: Topic.tradeExecuted, offset: 10), records[0],
            ]
            #expect(try RuntimeSimulation.runBatch(clearing, duplicated, connection: database.connection).isEmpty)
            #expect(try database.count("cleared_trades") == 3 && database.count("cleared_legs") == 6)
            #expect(try database.count("outbox") == 3)
            #expect(try database.count("dead_letters") == 0)
        }
    }

    @Test func invalidRecordsBecomeDeadLettersWithReasonsAndTheRestIsProcessed() throws {
        try TestDatabase.with { database in
            let clearing = ClearingLogic()
            var unknownVersion =
                try JSONSerialization.jsonObject(
                    with: JSONEncoder().encode(Records.executed(1))) as! [String: Any]
            unknownVersion["version"] = 2
            var unknownType = unknownVersion
            unknownType["version"] = 1
            unknownType["type"] = "trade.busted"
            let overflow = Records.executed(7, price: Int64.max / 2, quantity: 3)
            let records = [
                Records.record(Records.executed(0), topic: Topic.tradeExecuted, offset: 0),
                Records.record(bytes: Array("{not json".utf8), topic: Topic.tradeExecuted, offset: 1),
                Records.record(
                    bytes: Array(try JSONSerialization.data(withJSONObject: unknownVersion)),
                    topic: Topic.tradeExecuted,
                    offset: 2),
                Records.record(
                    bytes: Array(try JSONSerialization.data(withJSONObject: unknownType)), topic: Topic.tradeExecuted,
                    offset: 3),
                Records.record(Records.executed(4, price: -5), topic: Topic.tradeExecuted, offset: 4),
                Records.record(Records.executed(5, buy: 0), topic: Topic.tradeExecuted, offset: 5),
                Records.record(bytes: nil, topic: Topic.tradeExecuted, offset: 6),
                Records.record(overflow, topic: Topic.tradeExecuted, offset: 7),
                Records.record(
                    bytes: Array(#"{"type":"trade.executed","version":1,"event_id":"x"}"#.utf8),
                    topic: Topic.tradeExecuted, offset: 8),
                Records.record(Records.executed(9, buy: 5, sell: 5), topic: Topic.tradeExecuted, offset: 9),
                Records.record(Records.executed(10, symbol: "AA\u{0}PL"), topic: Topic.tradeExecuted, offset: 10),
                Records.record(
                    bytes: Array(#"{"type":"trade.\u0000x","version":1,"event_id":"x"}"#.utf8),
                    topic: Topic.tradeExecuted, offset: 11),
            ]
            let messages = try RuntimeSimulation.runBatch(clearing, records, connection: database.connection)
            let cleared = messages.filter { $0.topic == Topic.tradeCleared }
            let dead = messages.filter { $0.topic == Topic.deadLetter }
            #expect(cleared.count == 2)  // offsets 0 and 9 (a self-trade is cleared)
            #expect(dead.count == 10)
            let reasons = Dictionary(
                uniqueKeysWithValues: dead.map {
                    ($0.headers[EventHeader.sourceOffset] ?? "?", $0.headers[EventHeader.reason] ?? "")
                })
            #expect(reasons["1"]?.hasPrefix("malformed JSON") == true)
            #expect(reasons["2"] == "unknown version 2 of trade.executed (supported: 1)")
            #expect(reasons["3"] == "unknown event type 'trade.busted' (expected trade.executed)")
            #expect(reasons["4"] == "price must be positive, got -5")
            #expect(reasons["5"] == "buy account is 0")
            #expect(reasons["6"] == "record has no value")
            #expect(reasons["7"]?.contains("overflows") == true)
            #expect(reasons["8"]?.hasPrefix("invalid trade.executed v1 payload: missing field") == true)
            #expect(reasons["10"] == "symbol contains a NUL character")
            #expect(reasons["11"] == "unknown event type 'trade.\\0x' (expected trade.executed)")
            for message in dead {
                #expect(message.headers[EventHeader.sourceTopic] == Topic.tradeExecuted)
                #expect(message.headers[EventHeader.sourcePartition] == "0")
                let offset = Int(message.headers[EventHeader.sourceOffset] ?? "") ?? -1
                #expect(message.value == (records[offset].value ?? []))
            }
            #expect(try database.count("dead_letters", where: "worker = 'clearing'") == 10)
            #expect(try database.count("cleared_trades") == 2)
            // Redelivered: nothing new, dead letters included.
            #expect(try RuntimeSimulation.runBatch(clearing, records, connection: database.connection).isEmpty)
            #expect(try database.count("dead_letters") == 10 && database.count("outbox") == 12)
        }
    }

    // MARK: Settlement

    @Test func settlementMovesAllFourBalancesAndConservesEveryAsset() throws {
        try TestDatabase.with { database in
            let connection = database.connection
            let clearing = ClearingLogic()
            let settlement = SettlementLogic(options: SettlementOptions(openingCash: 1_000_000, openingShares: 1_000))
            let executed = [
                Records.executed(0, symbol: "AAPL", price: 100, quantity: 10, buy: 1, sell: 2),
                Records.executed(1, symbol: "MSFT", price: 300, quantity: 5, buy: 2, sell: 3),
                Records.executed(2, symbol: "AAPL", price: 101, quantity: 20, buy: 3, sell: 1),
                Records.executed(3, symbol: "AAPL", price: 99, quantity: 1, buy: 4, sell: 4),  // self-trade
            ]
            let cleared = try RuntimeSimulation.runBatch(
                clearing,
                executed.enumerated().map { Records.record($1, topic: Topic.tradeExecuted, offset: Int64($0)) },
                connection: connection)
            let input = Records.consumed(cleared, topic: Topic.tradeCleared)
            let settled = try RuntimeSimulation.runBatch(settlement, input, connection: connection)
            #expect(settled.count == 4)
            let first = try Records.decode(TradeSettled.self, settled[0])
            #expect(
                first.status == "settled" && first.reason == nil && first.eventID == "settled-\(executed[0].tradeID)")
            #expect(
                Set(first.movements) == [
                    Movement(account: 1, asset: "CASH", amount: -1_000),
                    Movement(account: 2, asset: "CASH", amount: 1_000),
                    Movement(account: 2, asset: "AAPL", amount: -10), Movement(account: 1, asset: "AAPL", amount: 10),
                ])
            let balances = try connection.execute("SELECT account, asset, amount FROM balances ORDER BY account, asset")
            #expect(
                balances.rows
                    == [
                        ["1", "AAPL", "990"], ["1", "CASH", "1001020"],
                        ["2", "AAPL", "990"], ["2", "CASH", "999500"], ["2", "MSFT", "1005"],
                        ["3", "AAPL", "1020"], ["3", "CASH", "999480"], ["3", "MSFT", "995"],
                        ["4", "AAPL", "1000"], ["4", "CASH", "1000000"],
                    ].map { $0.map { Optional($0) } })
            #expect(try database.count("settlement_movements") == 16)
            let conservation = try connection.execute(
                """
                SELECT count(*) FROM (SELECT asset, sum(amount) AS s FROM balances GROUP BY asset) AS b
                JOIN (SELECT asset, sum(amount) AS s FROM balance_openings GROUP BY asset) AS o USING (asset)
                WHERE b.s <> o.s
                """)
            #expect(try conservation.int64(0, 0) == 0)

            // Redelivery: nothing moves, nothing is emitted.
            let snapshot = try connection.execute("SELECT * FROM balances ORDER BY account, asset")
            #expect(try RuntimeSimulation.runBatch(settlement, input, connection: connection).isEmpty)
            #expect(try connection.execute("SELECT * FROM balances ORDER BY account, asset") == snapshot)
            #expect(try database.count("settlements") == 4)
            // The same source event under another trade id (in the batch, and against the table): skipped.
            var renamed = try Records.decode(TradeCleared.self, cleared[0])
            renamed.tradeID = "renamed"
            let fresh = Records.executed(9, price: 10, quantity: 1, buy: 1, sell: 2)
            var freshCleared = renamed
            freshCleared.tradeID = fresh.tradeID
            freshCleared.eventID = "cleared-\(fresh.tradeID)"
            freshCleared.price = 10
            freshCleared.quantity = 1
            freshCleared.notional = 10
            freshCleared.legs = freshCleared.legs.map {
                ClearedLeg(
                    side: $0.side, account: $0.account, participant: $0.participant, counterparty: $0.counterparty,
                    quantity: 1, amount: 10)
            }
            var freshTwin = freshCleared
            freshTwin.tradeID = "twin"
            let mixed = [
                Records.record(renamed, topic: Topic.tradeCleared, offset: 20),
                Records.record(freshCleared, topic: Topic.tradeCleared, offset: 21),
                Records.record(freshTwin, topic: Topic.tradeCleared, offset: 22),
            ]
            let mixedSettled = try RuntimeSimulation.runBatch(settlement, mixed, connection: connection)
            #expect(mixedSettled.count == 1)
            #expect(try database.count("settlements") == 5)
        }
    }

    @Test func settlementRefusesWhenABalanceWouldGoNegativeAndMovesNothing() throws {
        try TestDatabase.with { database in
            let connection = database.connection
            let clearing = ClearingLogic()
            let settlement = SettlementLogic(options: SettlementOptions(openingCash: 5_000, openingShares: 100))
            let executed = [
                Records.executed(0, price: 100, quantity: 60, buy: 1, sell: 2),  // buyer cash 5000 < 6000
                Records.executed(1, price: 10, quantity: 150, buy: 1, sell: 2),  // seller shares 100 < 150
                Records.executed(2, price: 10, quantity: 50, buy: 1, sell: 2),  // fine
            ]
            let cleared = try RuntimeSimulation.runBatch(
                clearing,
                executed.enumerated().map { Records.record($1, topic: Topic.tradeExecuted, offset: Int64($0)) },
                connection: connection)
            let settled = try RuntimeSimulation.runBatch(
                settlement, Records.consumed(cleared, topic: Topic.tradeCleared), connection: connection
            ).map { try Records.decode(TradeSettled.self, $0) }
            #expect(settled.map(\.status) == ["failed", "failed", "settled"])
            #expect(settled[0].reason == "insufficient CASH: buyer account 1 has balance 5000, requires 6000")
            #expect(settled[1].reason == "insufficient AAPL: seller account 2 has balance 100, requires 150")
            #expect(settled[0].movements.isEmpty && settled[1].movements.isEmpty)
            let balances = try connection.execute("SELECT account, asset, amount FROM balances ORDER BY account, asset")
            #expect(
                balances.rows
                    == [["1", "AAPL", "150"], ["1", "CASH", "4500"], ["2", "AAPL", "50"], ["2", "CASH", "5500"]]
                    .map { $0.map { Optional($0) } })
            let failed = try connection.execute(
                "SELECT trade_id, reason FROM settlements WHERE status = 'failed' ORDER BY trade_id")
            #expect(failed.rowCount == 2)
            #expect(try database.count("settlement_movements", where: "trade_id = '\(executed[0].tradeID)'") == 0)
        }
    }

    // MARK: Ledger

    @Test func ledgerJournalsSumToZeroAndFailedSettlementsGetNoEntries() throws {
        try TestDatabase.with { database in
            let connection = database.connection
            let settlement = SettlementLogic(options: SettlementOptions(openingCash: 1_000, openingShares: 10))
            let ledger = LedgerLogic()
            let executed = [
                Records.executed(0, price: 50, quantity: 4, buy: 1, sell: 2),
                Records.executed(1, price: 500, quantity: 4, buy: 1, sell: 2),  // fails: cash 800 < 2000
            ]
            let cleared = try RuntimeSimulation.runBatch(
                ClearingLogic(),
                executed.enumerated().map { Records.record($1, topic: Topic.tradeExecuted, offset: Int64($0)) },
                connection: connection)
            let settled = try RuntimeSimulation.runBatch(
                settlement, Records.consumed(cleared, topic: Topic.tradeCleared), connection: connection)
            let input = Records.consumed(settled, topic: Topic.tradeSettled)
            #expect(try RuntimeSimulation.runBatch(ledger, input, connection: connection).isEmpty)
            let entries = try connection.execute(
                """
                SELECT journal, seq, account, counterparty, asset, amount FROM journal_entries
                WHERE trade_id = $1 ORDER BY journal, seq
                """, [PostgresValue(executed[0].tradeID)])
            #expect(
                entries.rows
                    == [
                        ["cash", "1", "1", "CCP", "CASH", "-200"], ["cash", "2", "CCP", "1", "CASH", "200"],
                        ["cash", "3", "CCP", "2", "CASH", "-200"], ["cash", "4", "2", "CCP", "CASH", "200"],
                        ["securities", "1", "2", "CCP", "AAPL", "-4"], ["securities", "2", "CCP", "2", "AAPL", "4"],
                        ["securities", "3", "CCP", "1", "AAPL", "-4"], ["securities", "4", "1", "CCP", "AAPL", "4"],
                    ].map { $0.map { Optional($0) } })
            let sums = try connection.execute(
                """
                SELECT count(*) FROM (
                    SELECT sum(amount) FROM journal_entries GROUP BY trade_id, journal HAVING sum(amount) <> 0
                ) AS x
                """
            )
            #expect(try sums.int64(0, 0) == 0)
            let statuses = try connection.execute("SELECT trade_id, status FROM ledger_trades ORDER BY trade_id")
            #expect(statuses.rows.map { $0[1] } == ["settled", "failed"])
            #expect(try database.count("journal_entries", where: "trade_id = '\(executed[1].tradeID)'") == 0)
            // Redelivery changes nothing.
            #expect(try RuntimeSimulation.runBatch(ledger, input, connection: connection).isEmpty)
            #expect(try database.count("journal_entries") == 8 && database.count("ledger_trades") == 2)
            // A settled event whose movements do not match DvP is a dead letter.
            var forged = try Records.decode(TradeSettled.self, settled[0])
            forged.tradeID = "forged"
            forged.eventID = "settled-forged"
            forged.movements[0].amount = -1
            let dead = try RuntimeSimulation.runBatch(
                ledger, [Records.record(forged, topic: Topic.tradeSettled, offset: 99)], connection: connection)
            #expect(dead.map(\.topic) == [Topic.deadLetter])
            #expect(dead.first?.headers[EventHeader.reason]?.contains("movements") == true)
        }
    }

    // MARK: Atomicity

    struct Crash: Error {}

    @Test func aBatchThatFailsMidwayLeavesNoEffect() throws {
        try TestDatabase.with { database in
            let records = (0..<50).map {
                Records.record(Records.executed($0), topic: Topic.tradeExecuted, offset: Int64($0))
            }
            // The runtime throws after the logic ran (e.g. the outbox insert failed).
            #expect(throws: Crash.self) {
                try database.connection.transaction { connection in
                    let messages = try ClearingLogic().process(records, connection: connection)
                    #expect(messages.count == 50)
                    throw Crash()
                }
            }
            #expect(try database.count("cleared_trades") == 0 && database.count("cleared_legs") == 0)

            // The connection dies in the middle of the transaction.
            let doomed = try database.newConnection()
            try doomed.execute("BEGIN")
            _ = try ClearingLogic().process(records, connection: doomed)
            doomed.close()
            #expect(try database.count("cleared_trades") == 0 && database.count("outbox") == 0)

            // Settlement: a database error midway (a balance row deleted under our feet is not needed; a
            // statement error inside the batch) rolls back the openings and balances too.
            let cleared = try RuntimeSimulation.runBatch(ClearingLogic(), records, connection: database.connection)
            let settlement = SettlementLogic(
                options: SettlementOptions(openingCash: 1_000_000_000, openingShares: 1_000_000))
            #expect(throws: (any Error).self) {
                try database.connection.transaction { connection in
                    _ = try settlement.process(
                        Records.consumed(cleared, topic: Topic.tradeCleared), connection: connection)
                    try connection.execute("SELECT 1 / 0")
                }
            }
            #expect(try database.count("balances") == 0 && database.count("balance_openings") == 0)
            #expect(try database.count("settlements") == 0)
            // And the batch then succeeds when redelivered.
            let settled = try RuntimeSimulation.runBatch(
                settlement, Records.consumed(cleared, topic: Topic.tradeCleared), connection: database.connection)
            #expect(settled.count == 50)
        }
    }
}
