public import Postgres

/// What ``Reconciliation/run(connection:executedTradeIDs:executedCount:)`` found. Every count that should be
/// zero and is not also appears as one line in ``breaks``.
public struct ReconciliationReport: Sendable, Codable, Hashable {
    /// A trade settlement refused, with its reason.
    public struct FailedSettlement: Sendable, Codable, Hashable {
        public var tradeID: String
        public var reason: String
    }

    /// An asset whose balances do not add up to its openings (value was created or destroyed).
    public struct AssetImbalance: Sendable, Codable, Hashable {
        public var asset: String
        /// Decimal sums (they may exceed 64 bits).
        public var balanceSum: String
        public var openingSum: String
    }

    /// How many ids each sample list holds at most.
    public static let sampleCountMax = 20

    public var executedCount: Int?
    public var clearedCount: Int
    public var settledCount: Int
    public var settlementFailedCount: Int
    /// Trades with a `ledger_trades` row (settled with journals, and failed without).
    public var journaledCount: Int
    public var deadLetterCount: Int

    /// Executed but not cleared (needs the executed ids, or the executed count for the number only).
    public var missingClearedCount: Int
    public var missingCleared: [String]
    /// Cleared but not settled (neither settled nor failed).
    public var missingSettledCount: Int
    public var missingSettled: [String]
    /// Settled or failed but not in the ledger.
    public var missingJournaledCount: Int
    public var missingJournaled: [String]
    /// Rows whose predecessor is missing: settlements without a cleared trade, ledger rows without a settlement.
    public var orphanCount: Int
    /// Ledger status differing from the settlement status.
    public var statusMismatchCount: Int

    /// Cleared trades without exactly two legs.
    public var badLegCount: Int
    /// Settled trades without exactly four movements, or failed ones with any.
    public var badMovementCount: Int
    /// (trade, journal) pairs not summing to zero, plus settled trades without exactly 8 entries and failed
    /// ones with any.
    public var journalImbalanceCount: Int
    public var journalImbalances: [String]
    /// Per asset, sum(balances) − sum(openings) ≠ 0.
    public var assetImbalances: [AssetImbalance]
    /// (account, asset) whose balance ≠ opening + sum of its settlement movements.
    public var balanceDriftCount: Int
    /// Failed settlements, at most ``sampleCountMax``.
    public var failedSettlements: [FailedSettlement]

    public var breaks: [String]
    /// `breaks.isEmpty`; stored so that it appears in the JSON form.
    public var isClean: Bool
}

/// Cross-checks the post-trade tables of one database (all three workers' tables, from migration 1):
/// executed → cleared → settled → journaled, legs, movements, zero-sum journals and conservation.
public enum Reconciliation {
    /// - Parameters:
    ///   - executedTradeIDs: trade ids known to have executed (from the shards or the topic); nil to skip.
    ///   - executedCount: the number of executed trades, when the ids are not at hand; nil to skip.
    /// - Important: reads only; run it on a quiet database (or accept in-flight trades as missing).
    public static func run(
        connection: PostgresConnection, executedTradeIDs: Set<String>? = nil, executedCount: Int? = nil
    ) throws -> ReconciliationReport {
        let counts = try connection.execute(
            """
            SELECT (SELECT count(*) FROM cleared_trades),
                   (SELECT count(*) FROM settlements WHERE status = 'settled'),
                   (SELECT count(*) FROM settlements WHERE status = 'failed'),
                   (SELECT count(*) FROM ledger_trades),
                   (SELECT count(*) FROM dead_letters)
            """)
        let clearedCount = try int(counts, 0)
        var report = ReconciliationReport(
            executedCount: executedTradeIDs?.count ?? executedCount, clearedCount: clearedCount,
            settledCount: try int(counts, 1), settlementFailedCount: try int(counts, 2),
            journaledCount: try int(counts, 3), deadLetterCount: try int(counts, 4),
            missingClearedCount: 0, missingCleared: [], missingSettledCount: 0, missingSettled: [],
            missingJournaledCount: 0, missingJournaled: [], orphanCount: 0, statusMismatchCount: 0, badLegCount: 0,
            badMovementCount: 0, journalImbalanceCount: 0, journalImbalances: [], assetImbalances: [],
            balanceDriftCount: 0, failedSettlements: [], breaks: [], isClean: false)
        let limit = PostgresValue(ReconciliationReport.sampleCountMax)

        if let executedTradeIDs {
            (report.missingClearedCount, report.missingCleared) = try sample(
                connection,
                """
                SELECT e.trade_id, count(*) OVER ()
                FROM unnest($1::text[]) AS e(trade_id)
                WHERE NOT EXISTS (SELECT 1 FROM cleared_trades AS c WHERE c.trade_id = e.trade_id)
                ORDER BY e.trade_id LIMIT $2
                """, [PostgresArrayLiteral.text(executedTradeIDs.sorted()), limit])
            let unexpected = try connection.execute(
                """
                SELECT count(*) FROM cleared_trades AS c
                WHERE NOT (c.trade_id = ANY($1::text[]))
                """, [PostgresArrayLiteral.text(executedTradeIDs.sorted())])
            report.orphanCount += try int(unexpected, 0)
        } else if let executedCount {
            report.missingClearedCount = max(0, executedCount - clearedCount)
            if clearedCount > executedCount { report.orphanCount += clearedCount - executedCount }
        }
        (report.missingSettledCount, report.missingSettled) = try sample(
            connection,
            """
            SELECT c.trade_id, count(*) OVER () FROM cleared_trades AS c
            WHERE NOT EXISTS (SELECT 1 FROM settlements AS s WHERE s.trade_id = c.trade_id)
            ORDER BY c.trade_id LIMIT $1
            """, [limit])
        (report.missingJournaledCount, report.missingJournaled) = try sample(
            connection,
            """
            SELECT s.trade_id, count(*) OVER () FROM settlements AS s
            WHERE NOT EXISTS (SELECT 1 FROM ledger_trades AS l WHERE l.trade_id = s.trade_id)
            ORDER BY s.trade_id LIMIT $1
            """, [limit])

        let checks = try connection.execute(
            """
            SELECT
              (SELECT count(*) FROM settlements AS s
                WHERE NOT EXISTS (SELECT 1 FROM cleared_trades AS c WHERE c.trade_id = s.trade_id))
              + (SELECT count(*) FROM ledger_trades AS l
                WHERE NOT EXISTS (SELECT 1 FROM settlements AS s WHERE s.trade_id = l.trade_id)),
              (SELECT count(*) FROM ledger_trades AS l JOIN settlements AS s USING (trade_id)
                WHERE l.status <> s.status),
              (SELECT count(*) FROM (
                 SELECT c.trade_id FROM cleared_trades AS c LEFT JOIN cleared_legs AS g USING (trade_id)
                 GROUP BY c.trade_id
                 HAVING count(g.trade_id) <> 2
                    OR count(*) FILTER (WHERE g.side = 'buy') <> 1) AS bad),
              (SELECT count(*) FROM (
                 SELECT s.trade_id FROM settlements AS s LEFT JOIN settlement_movements AS m USING (trade_id)
                 GROUP BY s.trade_id, s.status
                 HAVING count(m.trade_id) <> CASE s.status WHEN 'settled' THEN 4 ELSE 0 END
                    OR coalesce(sum(m.amount) FILTER (WHERE m.asset = 'CASH'), 0) <> 0
                    OR coalesce(sum(m.amount) FILTER (WHERE m.asset <> 'CASH'), 0) <> 0) AS bad),
              (SELECT count(*) FROM balances AS b
                 JOIN balance_openings AS o USING (account, asset)
                 LEFT JOIN (SELECT account, asset, sum(amount) AS moved FROM settlement_movements
                            GROUP BY account, asset) AS m USING (account, asset)
                 WHERE b.amount <> o.amount + coalesce(m.moved, 0))
              + (SELECT count(*) FROM balance_openings AS o
                 WHERE NOT EXISTS (SELECT 1 FROM balances AS b WHERE b.account = o.account AND b.asset = o.asset))
            """)
        report.orphanCount += try int(checks, 0)
        report.statusMismatchCount = try int(checks, 1)
        report.badLegCount = try int(checks, 2)
        report.badMovementCount = try int(checks, 3)
        report.balanceDriftCount = try int(checks, 4)

        (report.journalImbalanceCount, report.journalImbalances) = try sample(
            connection,
            """
            WITH per_journal AS (
                SELECT l.trade_id, j.journal, sum(e.amount) AS total, count(e.trade_id) AS entries
                FROM ledger_trades AS l
                CROSS JOIN (VALUES ('cash'), ('securities')) AS j(journal)
                LEFT JOIN journal_entries AS e ON e.trade_id = l.trade_id AND e.journal = j.journal
                GROUP BY l.trade_id, l.status, j.journal
                HAVING coalesce(sum(e.amount), 0) <> 0
                    OR count(e.trade_id) <> CASE l.status WHEN 'settled' THEN 4 ELSE 0 END
            )
            SELECT trade_id || ' ' || journal || ': ' || entries || ' entries summing to ' || coalesce(total, 0),
                   count(*) OVER ()
            FROM per_journal ORDER BY trade_id, journal LIMIT $1
            """, [limit])

        let assets = try connection.execute(
            """
            SELECT asset, coalesce(b.total, 0)::text, coalesce(o.total, 0)::text
            FROM (SELECT asset, sum(amount) AS total FROM balances GROUP BY asset) AS b
            FULL JOIN (SELECT asset, sum(amount) AS total FROM balance_openings GROUP BY asset) AS o USING (asset)
            WHERE coalesce(b.total, 0) <> coalesce(o.total, 0)
            ORDER BY asset
            """)
        report.assetImbalances = assets.rows.map {
            ReconciliationReport.AssetImbalance(asset: $0[0] ?? "", balanceSum: $0[1] ?? "", openingSum: $0[2] ?? "")
        }

        let failed = try connection.execute(
            "SELECT trade_id, reason FROM settlements WHERE status = 'failed' ORDER BY trade_id LIMIT $1", [limit])
        report.failedSettlements = failed.rows.map {
            ReconciliationReport.FailedSettlement(tradeID: $0[0] ?? "", reason: $0[1] ?? "")
        }

        report.breaks = breaks(of: report)
        report.isClean = report.breaks.isEmpty
        return report
    }

    static func breaks(of report: ReconciliationReport) -> [String] {
        var breaks: [String] = []
        func add(_ count: Int, _ text: String, _ sample: [String] = []) {
            guard count > 0 else { return }
            breaks.append(
                sample.isEmpty ? "\(count) \(text)" : "\(count) \(text) (e.g. \(sample.joined(separator: ", ")))")
        }
        add(report.missingClearedCount, "executed trades not cleared", report.missingCleared)
        add(report.missingSettledCount, "cleared trades not settled", report.missingSettled)
        add(report.missingJournaledCount, "settled trades not journaled", report.missingJournaled)
        add(
            report.orphanCount,
            "rows without their predecessor (settled not cleared, journaled not settled, "
                + "or cleared not executed)")
        add(report.statusMismatchCount, "ledger statuses differing from the settlement status")
        add(report.badLegCount, "cleared trades without exactly one buy and one sell leg")
        add(report.badMovementCount, "settlements with a wrong set of movements")
        add(
            report.journalImbalanceCount, "journals not summing to zero or with a wrong entry count",
            report.journalImbalances)
        for imbalance in report.assetImbalances {
            breaks.append(
                "asset \(imbalance.asset) not conserved: balances sum to \(imbalance.balanceSum), "
                    + "openings to \(imbalance.openingSum)")
        }
        add(report.balanceDriftCount, "balances differing from opening + settlement movements")
        add(report.deadLetterCount, "dead letters recorded")
        add(
            report.settlementFailedCount, "failed settlements",
            report.failedSettlements.map { "\($0.tradeID): \($0.reason)" })
        return breaks
    }

    private static func int(_ result: PostgresResult, _ column: Int) throws -> Int {
        Int(try result.int64(0, column) ?? 0)
    }

    /// Runs a query returning (text, count(*) OVER ()) rows; returns the total and the texts.
    private static func sample(_ connection: PostgresConnection, _ sql: String, _ parameters: [PostgresValue?])
        throws -> (Int, [String])
    {
        let result = try connection.execute(sql, parameters)
        guard result.rowCount > 0 else { return (0, []) }
        return (Int(try result.int64(0, 1) ?? 0), result.rows.compactMap { $0[0] })
    }
}

/// End-to-end lag of journaled trades: `journaled_at` (ledger commit clock) minus the trade's log time.
public struct LagStatistics: Sendable, Codable, Hashable {
    public var count: Int
    public var p50Ms: Double
    public var p99Ms: Double
    public var maxMs: Double

    public init(count: Int, p50Ms: Double, p99Ms: Double, maxMs: Double) {
        self.count = count
        self.p50Ms = p50Ms
        self.p99Ms = p99Ms
        self.maxMs = maxMs
    }

    /// Measures over every `ledger_trades` row; zeros when there is none.
    public static func measure(connection: PostgresConnection) throws -> LagStatistics {
        let result = try connection.execute(
            """
            SELECT count(*),
                   coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY lag_ms), 0),
                   coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_ms), 0),
                   coalesce(max(lag_ms), 0)
            FROM (SELECT (extract(epoch FROM journaled_at) * 1000 - trade_timestamp_ns / 1000000.0)::float8 AS lag_ms
                  FROM ledger_trades) AS lags
            """)
        func double(_ column: Int) throws -> Double {
            guard let text = result.string(0, column), let value = Double(text) else {
                throw PostgresError(code: .badResult, message: "lag column \(column) is not a number")
            }
            return value
        }
        return LagStatistics(
            count: Int(try result.int64(0, 0) ?? 0), p50Ms: try double(1), p99Ms: try double(2), maxMs: try double(3))
    }
}
