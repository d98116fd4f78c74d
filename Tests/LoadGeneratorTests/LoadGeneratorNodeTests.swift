import ClusterConfig
import ExchangeClient
import NIOConcurrencyHelpers
import Testing

@testable import LoadGenerator

/// The generator against a real one-node cluster in this process (Raft, fsynced WAL, client server on loopback).
@Suite(.serialized) struct LoadGeneratorNodeTests {
    /// Collects what `onAck` reports.
    final class AckCollector: Sendable {
        let records = NIOLockedValueBox<[(AckRecord, UInt64, UInt64)]>([])
        var handler: LoadOptions.AckHandler {
            { record, latency, now in self.records.withLockedValue { $0.append((record, latency, now)) } }
        }
    }

    /// Checks the summary's arithmetic and the ack log against it; returns the ack log's records.
    func checkConsistency(
        _ summary: LoadSummary, ackLog path: String, collector: AckCollector, participants: Int, node: InProcessNode
    ) throws -> [AckRecord] {
        #expect(summary.sent == summary.acknowledged + summary.failed, "\(summary)")
        #expect(summary.acknowledged == summary.accepted + summary.rejected, "\(summary)")
        #expect(summary.rejectedByReason.values.reduce(0, +) == summary.rejected, "\(summary)")
        #expect(summary.failedByCode.values.reduce(0, +) == summary.failed, "\(summary)")
        #expect(summary.duplicates <= summary.acknowledged)
        #expect(summary.elapsedSeconds > 0)
        #expect(summary.throughputPerSecond > 0)
        let latency = summary.latencyNanoseconds
        #expect(latency.p50 > 0 && latency.p50 <= latency.p99)
        #expect(latency.p99 <= latency.p999 && latency.p999 <= latency.max)

        let records = try AckLog.read(path: path)
        #expect(records.count == summary.acknowledged, "one ack log line per acknowledged command")
        let applied = node.appliedIndex ?? 0
        var identities: Set<[UInt64]> = []
        for record in records {
            #expect(record.logIndex > 0 && record.logIndex <= applied, "\(record)")
            #expect(record.shard == 1)
            #expect((1...UInt32(participants)).contains(record.participant))
            #expect(InProcessNode.symbols.contains(record.symbol))
            identities.insert([UInt64(record.participant), record.clientOrderID])
        }
        #expect(identities.count == records.count, "every acknowledged command has its own client order id")
        let accepted = records.filter { $0.rejectReason == nil }.count
        #expect(accepted == summary.accepted)
        let reported = collector.records.withLockedValue { $0 }
        #expect(reported.count == summary.acknowledged, "onAck is called once per acknowledgement")
        #expect(Set(reported.map(\.0)) == Set(records))
        #expect(reported.allSatisfy { $0.1 > 0 && $0.2 > 0 })
        return records
    }

    @Test func closedLoopAgainstARealNode() async throws {
        let node = InProcessNode()
        let ackLog = temporaryPath("closed")
        do {
            try await node.start()
            let collector = AckCollector()
            var options = LoadOptions(
                mode: .closed(outstanding: 8), duration: .seconds(60), maxCommands: 600, participants: 3, seed: 11,
                ackLogPath: ackLog, onAck: collector.handler)
            options.restingOrdersPerBot = 20
            let generator = try LoadGenerator(cluster: node.definition, options: options)
            let summary = try await generator.run()
            print("closed loop: \(summary)")
            #expect(summary.sent == 600, "maxCommands ends the run")
            #expect(summary.failed == 0, "\(summary.failedByCode)")
            #expect(summary.accepted > summary.acknowledged / 2, "\(summary)")
            let records = try checkConsistency(
                summary, ackLog: ackLog, collector: collector, participants: 3, node: node)
            let kinds = Set(records.map(\.kind))
            #expect(kinds.contains(.newOrder) && kinds.contains(.replace), "\(kinds)")
            #expect(generator.progress.acknowledged == summary.acknowledged)
            do {
                _ = try await generator.run()
                Issue.record("a second run was allowed")
            } catch {
                #expect(error.code == .alreadyRunning)
            }
        } catch {
            Issue.record("\(error)")
        }
        await node.stop()
        removeTree(ackLog)
    }

    @Test func openLoopAgainstARealNode() async throws {
        let node = InProcessNode()
        let ackLog = temporaryPath("open")
        do {
            try await node.start()
            let collector = AckCollector()
            let options = LoadOptions(
                mode: .open(commandsPerSecond: 500), duration: .seconds(1), participants: 2, seed: 3,
                ackLogPath: ackLog, onAck: collector.handler)
            let summary = try await LoadGenerator(cluster: node.definition, options: options).run()
            print("open loop: \(summary)")
            // Command n is due at n / rate: exactly rate x duration commands fall inside the run.
            #expect(summary.sent == 500, "\(summary)")
            #expect(summary.failed == 0, "\(summary.failedByCode)")
            _ = try checkConsistency(summary, ackLog: ackLog, collector: collector, participants: 2, node: node)
        } catch {
            Issue.record("\(error)")
        }
        await node.stop()
        removeTree(ackLog)
    }

    @Test func openLoopCountsCommandsBeyondTheInFlightCapAsOverloaded() async throws {
        let node = InProcessNode()
        let ackLog = temporaryPath("cap")
        do {
            try await node.start()
            let collector = AckCollector()
            var options = LoadOptions(
                mode: .open(commandsPerSecond: 2_000), duration: .milliseconds(500), participants: 2, seed: 4,
                ackLogPath: ackLog, onAck: collector.handler)
            options.openLoopInFlightMax = 1
            let summary = try await LoadGenerator(cluster: node.definition, options: options).run()
            #expect(summary.sent == 1_000, "\(summary)")
            // Every answer takes a replicated, fsynced commit: far more than the 0.5 ms between two starts.
            #expect(summary.failedByCode["overloaded", default: 0] > 0, "\(summary)")
            #expect(Set(summary.failedByCode.keys).isSubset(of: ["overloaded"]), "\(summary.failedByCode)")
            #expect(summary.acknowledged >= 1)
            _ = try checkConsistency(summary, ackLog: ackLog, collector: collector, participants: 2, node: node)
        } catch {
            Issue.record("\(error)")
        }
        await node.stop()
        removeTree(ackLog)
    }

    @Test func failuresAreCountedByCodeAndNeverAcknowledged() async throws {
        // Nothing listens on the definition's client port 2: every command fails to connect.
        let cluster = try ClusterDefinition.parse(yaml: InProcessNode.yaml(dataDirectory: "/tmp/unused"), source: "t")
        let ackLog = temporaryPath("failures")
        let collector = AckCollector()
        let options = LoadOptions(
            mode: .closed(outstanding: 2), duration: .seconds(60), maxCommands: 10, participants: 2, seed: 9,
            ackLogPath: ackLog,
            client: ExchangeClientConfiguration(
                retryBudget: 1, backoffInitial: .milliseconds(1), backoffMax: .milliseconds(1)),
            onAck: collector.handler)
        let summary = try await LoadGenerator(cluster: cluster, options: options).run()
        #expect(summary.sent == 10)
        #expect(summary.failed == 10)
        #expect(summary.failedByCode == ["connectionFailed": 10], "\(summary.failedByCode)")
        #expect(summary.acknowledged == 0 && summary.latencyNanoseconds == LatencySummary())
        #expect(try AckLog.read(path: ackLog).isEmpty)
        #expect(collector.records.withLockedValue { $0.isEmpty })
        removeTree(ackLog)
    }

    @Test func stopEndsTheRunEarlyWithTheSummarySoFar() async throws {
        let node = InProcessNode()
        let ackLog = temporaryPath("stop")
        do {
            try await node.start()
            let collector = AckCollector()
            let options = LoadOptions(
                mode: .closed(outstanding: 4), duration: .seconds(600), participants: 2, seed: 5, ackLogPath: ackLog,
                onAck: collector.handler)
            let generator = try LoadGenerator(cluster: node.definition, options: options)
            async let running = generator.run()
            // Wait (deadline 20 s) until some acknowledgements arrived, then ask to stop.
            let deadline = ContinuousClock.now + .seconds(20)
            while generator.progress.acknowledged < 50 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            generator.stop()
            let summary = try await running
            #expect(summary.acknowledged >= 50)
            #expect(summary.elapsedSeconds < 600)
            _ = try checkConsistency(summary, ackLog: ackLog, collector: collector, participants: 2, node: node)
        } catch {
            Issue.record("\(error)")
        }
        await node.stop()
        removeTree(ackLog)
    }
}
