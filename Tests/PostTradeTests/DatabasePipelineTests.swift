import Foundation
import PostTrade
import Postgres
import Testing

@Suite(.serialized, .postgresServer)
struct DatabasePipelineTests {
    /// Clearing → settlement → ledger in process, in batches, the way the runtime chains them through Kafka.
    private func runPipeline(
        _ executed: [TradeExecuted], batchSize: Int, connection: PostgresConnection,
        settlementOptions: SettlementOptions = SettlementOptions(
            openingCash: 1_000_000_000_000, openingShares: 1_000_000_000)
    ) throws -> (clearing: Duration, settlement: Duration, ledger: Duration) {
        let clearing = ClearingLogic()
        let settlement = SettlementLogic(options: settlementOptions)
        let ledger = LedgerLogic()
        let clock = ContinuousClock()
        var durations: (clearing: Duration, settlement: Duration, ledger: Duration) = (.zero, .zero, .zero)
        var offset: Int64 = 0
        for start in stride(from: 0, to: executed.count, by: batchSize) {
            let batch = executed[start..<min(start + batchSize, executed.count)].enumerated().map {
                Records.record($1, topic: Topic.tradeExecuted, offset: offset + Int64($0))
            }
            var cleared: [OutboundMessage] = []
            durations.clearing += try clock.measure {
                cleared = try RuntimeSimulation.runBatch(clearing, batch, connection: connection)
            }
            var settled: [OutboundMessage] = []
            durations.settlement += try clock.measure {
                settled = try RuntimeSimulation.runBatch(
                    settlement, Records.consumed(cleared, topic: Topic.tradeCleared, firstOffset: offset),
                    connection: connection)
            }
            durations.ledger += try clock.measure {
                _ = try RuntimeSimulation.runBatch(
                    ledger, Records.consumed(settled, topic: Topic.tradeSettled, firstOffset: offset),
                    connection: connection)
            }
            offset += Int64(batch.count)
        }
        return durations
    }

    private func trades(_ count: Int, accounts: UInt64 = 50, symbols: [String] = ["AAPL", "MSFT", "NVDA", "TSLA"])
        -> [TradeExecuted]
    {
        var generator = SplitMix64(seed: 20_261_206)
        return (0..<count).map { index in
            let buy = generator.next() % accounts + 1
            var sell = generator.next() % accounts + 1
            if sell == buy { sell = sell % accounts + 1 }
            return Records.executed(
                index, symbol: symbols[Int(generator.next() % UInt64(symbols.count))],
                price: Int64(generator.next() % 10_000 + 1), quantity: Int64(generator.next() % 500 + 1), buy: buy,
                sell: sell)
        }
    }

    @Test func fullPipelineReconcilesCleanAndReportsBreaks() throws {
        try TestDatabase.with { database in
            let connection = database.connection
            let executed = trades(600)
            _ = try runPipeline(executed, batchSize: 128, connection: connection)

            let ids = Set(executed.map(\.tradeID))
            let report = try Reconciliation.run(connection: connection, executedTradeIDs: ids)
            #expect(report.breaks == [])
            #expect(report.isClean)
            #expect(report.clearedCount == 600 && report.settledCount == 600 && report.journaledCount == 600)
            #expect(report.settlementFailedCount == 0 && report.deadLetterCount == 0)
            #expect(try Reconciliation.run(connection: connection, executedCount: 600).isClean)
            let json = try JSONEncoder().encode(report)
            #expect(try JSONDecoder().decode(ReconciliationReport.self, from: json) == report)

            let lag = try LagStatistics.measure(connection: connection)
            #expect(lag.count == 600)
            #expect(lag.p50Ms > 0 && lag.p50Ms <= lag.p99Ms && lag.p99Ms <= lag.maxMs)

            // A trade executed but never seen by clearing.
            var missing = ids
            missing.insert("9-9-9")
            let missingReport = try Reconciliation.run(connection: connection, executedTradeIDs: missing)
            #expect(missingReport.missingCleared == ["9-9-9"] && !missingReport.isClean)
            #expect(try Reconciliation.run(connection: connection, executedCount: 601).missingClearedCount == 1)

            // Lose one journal entry.
            let victim = executed[17].tradeID
            try connection.execute(
                "DELETE FROM journal_entries WHERE trade_id = $1 AND journal = 'cash' AND seq = 2",
                [PostgresValue(victim)])
            let journalBreak = try Reconciliation.run(connection: connection, executedTradeIDs: ids)
            #expect(!journalBreak.isClean)
            #expect(journalBreak.journalImbalanceCount == 1)
            #expect(journalBreak.journalImbalances.first?.hasPrefix("\(victim) cash: 3 entries") == true)
            #expect(journalBreak.breaks.count == 1)

            // Lose one settlement (with its movements): cleared not settled, the ledger row is an orphan, and
            // the balances no longer match openings + movements.
            let lost = executed[42].tradeID
            try connection.transaction { connection in
                try connection.execute("DELETE FROM settlement_movements WHERE trade_id = $1", [PostgresValue(lost)])
                try connection.execute("DELETE FROM settlements WHERE trade_id = $1", [PostgresValue(lost)])
            }
            let settlementBreak = try Reconciliation.run(connection: connection, executedTradeIDs: ids)
            #expect(settlementBreak.missingSettled == [lost])
            #expect(settlementBreak.orphanCount == 1)
            #expect(settlementBreak.balanceDriftCount == 4)
            #expect(settlementBreak.breaks.contains { $0.hasPrefix("1 cleared trades not settled") })
            print("reconciliation breaks: \(settlementBreak.breaks)")
        }
    }

    @Test func failedSettlementsAreBreaksWithReasons() throws {
        try TestDatabase.with { database in
            let executed = [
                Records.executed(0, price: 100, quantity: 10, buy: 1, sell: 2),
                Records.executed(1, price: 100, quantity: 10, buy: 1, sell: 2),
            ]
            _ = try runPipeline(
                executed, batchSize: 10, connection: database.connection,
                settlementOptions: SettlementOptions(openingCash: 1_500, openingShares: 100))
            let report = try Reconciliation.run(connection: database.connection, executedCount: 2)
            #expect(report.settledCount == 1 && report.settlementFailedCount == 1 && report.journaledCount == 2)
            #expect(
                report.failedSettlements.map(\.reason) == [
                    "insufficient CASH: buyer account 1 has balance 500, requires 1000"
                ])
            #expect(report.breaks.count == 1 && report.breaks[0].hasPrefix("1 failed settlements"))
        }
    }

    /// Throughput of each logic on 20 batches of 1,000 trades (printed, not asserted: speed belongs in
    /// benchmarks), fsync on. "logic" is `process` plus COMMIT; "with runtime" adds this test's stand-in for
    /// the runtime's outbox insert and offset upsert (not tuned; the real runtime's cost will differ).
    @Test func throughputOfEachLogicWithThousandRecordBatches() throws {
        try TestDatabase.with { database in
            let connection = database.connection
            let batches = 20
            let batchSize = 1_000
            let executed = trades(batches * batchSize, accounts: 1_000, symbols: (0..<50).map { "SYM\($0)" })
            let clearing = ClearingLogic()
            let settlement = SettlementLogic(
                options: SettlementOptions(openingCash: 1_000_000_000_000, openingShares: 1_000_000_000))
            let ledger = LedgerLogic()
            let clock = ContinuousClock()
            var logic: [Duration] = [.zero, .zero, .zero]
            var runtime: [Duration] = [.zero, .zero, .zero]
            func stage(_ index: Int, _ worker: some WorkerLogic, _ records: [InboundRecord]) throws -> [OutboundMessage]
            {
                var messages: [OutboundMessage] = []
                logic[index] += try clock.measure {
                    messages = try connection.transaction { connection in
                        try worker.process(records, connection: connection)
                    }
                }
                runtime[index] += try clock.measure {
                    try connection.transaction { connection in
                        try RuntimeSimulation.insertOutbox(messages, connection: connection)
                    }
                }
                return messages
            }
            for batch in 0..<batches {
                let first = batch * batchSize
                let records = executed[first..<first + batchSize].enumerated().map {
                    Records.record($1, topic: Topic.tradeExecuted, offset: Int64(first + $0))
                }
                let cleared = try stage(0, clearing, records)
                let settled = try stage(
                    1, settlement, Records.consumed(cleared, topic: Topic.tradeCleared, firstOffset: Int64(first)))
                _ = try stage(
                    2, ledger, Records.consumed(settled, topic: Topic.tradeSettled, firstOffset: Int64(first)))
            }
            func rate(_ duration: Duration) -> Int {
                let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
                return Int(Double(batches * batchSize) / seconds)
            }
            let names = ["clearing", "settlement", "ledger"]
            for index in 0..<3 {
                print(
                    "post-trade throughput \(names[index]): logic \(rate(logic[index])) trades/s, with runtime "
                        + "\(rate(logic[index] + runtime[index])) trades/s (1,000-record batches, fsync on)")
            }
            print(
                "post-trade throughput all three logics in sequence: \(rate(logic[0] + logic[1] + logic[2])) trades/s")
            let report = try Reconciliation.run(connection: connection, executedCount: batches * batchSize)
            #expect(report.isClean, "\(report.breaks)")
            #expect(report.journaledCount == batches * batchSize)
        }
    }
}

/// Deterministic generator so the trades are the same on every run (seed printed in the trade ids' source).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
