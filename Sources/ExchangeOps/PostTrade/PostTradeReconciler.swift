public import ClusterConfig
import Dispatch
public import PostTrade
import Postgres

import Foundation

/// Post-trade reconciliation of a running cluster: what the shards executed against what the workers cleared,
/// settled and journaled in PostgreSQL (`Reconciliation`), plus journal sums and balance conservation.
public struct PostTradeCheck: Sendable, Codable, Hashable {
    public var executed: ExecutedTrades
    public var report: ReconciliationReport?
    /// Why the database could not be read, if it could not.
    public var databaseError: String?
    /// Seconds spent waiting for the pipeline to drain.
    public var waitedSeconds: Double

    /// Every shard answered and published everything, the database was read, and nothing is broken.
    public var passed: Bool {
        executed.total != nil && executed.fullyPublished && (report?.isClean ?? false)
    }

    public func render() -> String {
        var lines: [String] = []
        let executedText = executed.total.map(String.init) ?? "unknown"
        if let report {
            lines.append(
                "executed \(executedText)  cleared \(report.clearedCount)  settled \(report.settledCount)"
                    + "  settlement failed \(report.settlementFailedCount)  journaled \(report.journaledCount)"
                    + "  dead letters \(report.deadLetterCount)")
        } else {
            lines.append("executed \(executedText); database unreadable: \(databaseError ?? "-")")
        }
        for shard in executed.shards {
            if let error = shard.error {
                lines.append("  shard \(shard.shardID): \(error)")
            } else if let pending = shard.pendingEvents, pending > 0 {
                lines.append("  shard \(shard.shardID): \(pending) events not yet published")
            }
        }
        if let report {
            if report.isClean {
                lines.append("journals net to zero; balances conserved")
            } else {
                for item in report.breaks.prefix(20) { lines.append("  break: \(item)") }
                if report.breaks.count > 20 { lines.append("  ... \(report.breaks.count - 20) more") }
            }
        }
        lines.append("reconcile: \(passed ? "PASSED" : "FAILED")")
        return lines.joined(separator: "\n")
    }

    /// Reconciles, retrying until it passes or `wait` is over (trades in flight through the pipeline are
    /// "missing" until the workers catch up). The database is read on a thread of its own (libpq blocks).
    public static func run(
        definition: ClusterDefinition, postgres: String, wait: Duration, requestTimeout: Duration = .seconds(5)
    ) async -> PostTradeCheck {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: wait)
        while true {
            let executed = await ExecutedTrades.fetch(definition, timeout: requestTimeout)
            let total = executed.total.map { Int($0) }
            let read = await readDatabase(postgres, executedCount: total)
            let report: ReconciliationReport? = try? read.get()
            var check = PostTradeCheck(executed: executed, report: report, databaseError: nil, waitedSeconds: 0)
            if case .failure(let error) = read { check.databaseError = "\(error)" }
            let elapsed = clock.now - start
            check.waitedSeconds =
                Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            if check.passed || clock.now >= deadline { return check }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    struct DatabaseFailure: Error, CustomStringConvertible {
        var description: String
    }

    static func readDatabase(_ postgres: String, executedCount: Int?) async -> Result<ReconciliationReport, DatabaseFailure> {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                do {
                    let connection = try PostgresConnection(connectionString: postgres)
                    let report = try Reconciliation.run(connection: connection, executedCount: executedCount)
                    continuation.resume(returning: .success(report))
                } catch {
                    continuation.resume(returning: .failure(DatabaseFailure(description: "\(error)")))
                }
            }
            thread.start()
        }
    }
}
