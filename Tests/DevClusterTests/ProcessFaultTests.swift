import Cluster
import ClusterConfig
import DevCluster
import ExchangeClient
import ExchangeCore
import ExchangeOps
import Glibc
import LoadGenerator
import Matching
import Raft
import Testing
import Wire

/// Issue 5's proof with real processes: three `exchanged node` processes (two shards, so that every
/// node hosts several Raft groups), trading bots writing an ack log, a fault, and then
/// `exchangectl verify`'s checks: every acknowledged command is on every replica, none applied twice,
/// every replica's state hash equal at the same index.
final class FaultCluster {
    let root: String
    let cluster: LocalCluster
    var definition: ClusterDefinition { cluster.definition }
    private var ackLogs: [String] = []

    init(name: String, snapshotEveryEntries: Int? = nil) async throws {
        root = try LocalCluster.makeTemporaryDirectory(prefix: "fault-\(name)-")
        let path = try LocalCluster.writeTestDefinition(
            root: root, nodes: 3, shards: 2, symbolsPerShard: 2, snapshotEveryEntries: snapshotEveryEntries)
        cluster = try LocalCluster(
            definitionPath: path, root: root, binary: try LocalCluster.findBinary(named: "exchanged"))
        try await cluster.startAll()
        try await cluster.waitUntilEveryShardHasLeader(timeout: .seconds(60))
    }

    /// Runs `body` on a fresh cluster and always stops it (and removes its files) afterwards.
    static func with(
        name: String, snapshotEveryEntries: Int? = nil, _ body: (FaultCluster) async throws -> Void
    ) async throws {
        let fault = try await FaultCluster(name: name, snapshotEveryEntries: snapshotEveryEntries)
        do { try await body(fault) } catch {
            await fault.close()
            throw error
        }
        await fault.close()
    }

    func close() async {
        await cluster.stopAll()
        LocalCluster.removeTree(root)
    }

    /// Bots in a closed loop for `seconds`, acks to a fresh ack log; the summary when they are done.
    func load(seconds: Double, outstanding: Int = 32, seed: UInt64) throws -> LoadGenerator {
        let path = root + "/acks-\(ackLogs.count).log"
        ackLogs.append(path)
        return try LoadGenerator(
            cluster: definition,
            options: LoadOptions(
                mode: .closed(outstanding: outstanding), duration: .milliseconds(Int64(seconds * 1_000)),
                participants: 4, seed: seed, ackLogPath: path,
                client: ExchangeClientConfiguration(requestTimeout: .seconds(2), retryBudget: 200)))
    }

    func acks() throws -> [AckRecord] {
        var all: [AckRecord] = []
        for path in ackLogs { all += try AckLog.read(path: path) }
        return all
    }

    func verify() async throws -> VerifyReport {
        await Verifier.fetchAndCheck(definition: definition, acks: try acks(), timeout: .seconds(60))
    }

    /// The node that leads `shard` by its own status (paused nodes are not asked).
    func leader(of shard: UInt32) async -> (node: NodeID, term: UInt64)? {
        for (node, status) in await cluster.fetchStatuses() {
            if let replica = status.shards.first(where: { $0.shardID == shard }), replica.role == .leader {
                return (node, replica.term)
            }
        }
        return nil
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass.
    func eventually(seconds: Double = 30, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1_000)))
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }
}

@Suite(.serialized) struct ProcessFaultTests {
    @Test func killMinusNineTheLeaderUnderLoadThenRestartItAndVerify() async throws {
        try await FaultCluster.with(name: "kill") { fault in
            let generator = try fault.load(seconds: 4, seed: 1)
            let running = Task { try await generator.run() }
            // Once orders flow, kill -9 the leader of shard 1 (it also hosts a replica of shard 2).
            #expect(await fault.eventually { generator.progress.acknowledged > 200 })
            let victim = try #require(await fault.leader(of: 1))
            try await fault.cluster.kill(victim.node, signal: SIGKILL)
            let summary = try await running.value
            #expect(summary.acknowledged > 200)
            #expect(summary.failed == 0, "\(summary.failedByCode)")
            // Restart the killed replica: it recovers from its files and catches up; the verifier waits for it.
            try await fault.cluster.start(victim.node)
            let report = try await fault.verify()
            #expect(report.passed, "\(report.render())")
            #expect(report.acksChecked == summary.acknowledged)
            #expect(report.replicas.count == 6)
            // The loop's metrics are exported: sync rounds, apply rounds, and the commit latency of the
            // commands the leaders took (summed over the nodes: leadership moved during the run).
            var totals: [String: Double] = [:]
            for node in fault.definition.nodes {
                let metrics = try await OpsHTTPClient.request(
                    "GET", host: node.metricsAddress.host, port: Int(node.metricsAddress.port), path: "/metrics",
                    timeout: .seconds(5)
                ).text
                for line in metrics.split(separator: "\n") where !line.hasPrefix("#") {
                    guard let name = line.split(separator: "{").first?.split(separator: " ").first,
                        name.hasSuffix("_count"), let value = line.split(separator: " ").last.flatMap({ Double($0) })
                    else { continue }
                    totals[String(name), default: 0] += value
                }
            }
            #expect(totals["exchange_fsync_latency_seconds_count", default: 0] > 0, "\(totals)")
            #expect(totals["exchange_apply_latency_seconds_count", default: 0] > 0, "\(totals)")
            #expect(totals["exchange_commit_latency_seconds_count", default: 0] > 0, "\(totals)")
        }
    }

    @Test func aReplicaThatMissedCompactedEntriesCatchesUpBySnapshot() async throws {
        try await FaultCluster.with(name: "snapshot", snapshotEveryEntries: 20) { fault in
            let leader = try #require(await fault.leader(of: 1))
            let follower = try #require(fault.cluster.nodeIDs.first { $0 != leader.node })
            try await fault.cluster.kill(follower, signal: SIGKILL)
            // Many entries while it is down: the others snapshot every 20 entries and compact their logs.
            let generator = try fault.load(seconds: 3, outstanding: 4, seed: 5)
            let summary = try await generator.run()
            #expect(summary.acknowledged > 100 && summary.failed == 0)
            try await fault.cluster.start(follower)
            // The verifier waits until it has caught up; its audit trail marks the snapshot it installed.
            let report = try await fault.verify()
            #expect(report.passed, "\(report.render())")
            let restarted = report.replicas.filter { $0.nodeID == follower && $0.shardID == 1 }
            #expect(restarted.first?.snapshotGaps ?? 0 > 0, "\(report.render())")
        }
    }

    @Test func sigstopTheLeaderAnotherIsElectedAndTheOldOneStepsDownOnSigcont() async throws {
        try await FaultCluster.with(name: "stop") { fault in
            let generator = try fault.load(seconds: 5, seed: 2)
            let running = Task { try await generator.run() }
            #expect(await fault.eventually { generator.progress.acknowledged > 200 })
            let frozen = try #require(await fault.leader(of: 1))
            try fault.cluster.pause(frozen.node)
            // The others elect a new leader in a higher term while the old one is frozen.
            #expect(
                await fault.eventually {
                    if let now = await fault.leader(of: 1) { return now.node != frozen.node && now.term > frozen.term }
                    return false
                })
            let acknowledgedWhileFrozen = generator.progress.acknowledged
            #expect(await fault.eventually { generator.progress.acknowledged > acknowledgedWhileFrozen + 100 })
            try fault.cluster.resume(frozen.node)
            // The old leader wakes up, hears the higher term and steps down.
            #expect(
                await fault.eventually {
                    guard let status = await fault.cluster.fetchStatuses()[frozen.node],
                        let replica = status.shards.first(where: { $0.shardID == 1 })
                    else { return false }
                    // Its old leadership ended: it adopted a higher term (as a follower, or elected anew later).
                    return replica.term > frozen.term
                })
            let summary = try await running.value
            #expect(summary.failed == 0, "\(summary.failedByCode)")
            // No client saw two leaders accept for the same shard: every ack is the command committed at its index
            // on every replica (an ack from a deposed leader would be missing or different there).
            let report = try await fault.verify()
            #expect(report.passed, "\(report.render())")
            #expect(report.acksChecked == summary.acknowledged)
        }
    }

    @Test func losingTheQuorumStopsAcknowledgementsAndOneReturningNodeRestoresService() async throws {
        try await FaultCluster.with(name: "quorum") { fault in
            let warmUp = try fault.load(seconds: 1.5, seed: 3)
            let before = try await warmUp.run()
            #expect(before.acknowledged > 0)
            // Kill both followers of shard 1 (the standby too): shard 1 has no quorum.
            let leader = try #require(await fault.leader(of: 1))
            let followers = fault.cluster.nodeIDs.filter { $0 != leader.node }
            for node in followers { try await fault.cluster.kill(node, signal: SIGKILL) }
            // No acknowledgement without a quorum: a command times out, it is never answered as done.
            let symbol = try #require(fault.definition.shard(id: 1)?.symbols.first)
            let client = try ExchangeClient(
                cluster: fault.definition,
                configuration: ExchangeClientConfiguration(
                    participant: ParticipantID(77), requestTimeout: .milliseconds(500), retryBudget: 2))
            defer { client.shutdown() }
            let order = NewOrderRequest(
                participant: ParticipantID(77), clientOrderID: ClientOrderID(1), account: AccountID(77), symbol: symbol,
                side: .buy, price: Price(9_950), quantity: Quantity(1))
            do throws(ExchangeClientError) {
                let result = try await client.submit(order)
                Issue.record("acknowledged without a quorum: \(result)")
            } catch {
                #expect([.timeout, .noLeader, .connectionLost, .connectionFailed, .overloaded].contains(error.code), "\(error)")
            }
            // The leader without a quorum steps down (check-quorum).
            #expect(await fault.eventually { await fault.leader(of: 1) == nil })
            // One node returns: a quorum again, service resumes, and the retry of the same order is applied once.
            try await fault.cluster.start(followers[0])
            #expect(await fault.eventually { await fault.leader(of: 1) != nil })
            let retried = try await client.submit(order)
            #expect(retried.outcome == .accepted)
            let again = try await client.submit(order)
            #expect(again.isDuplicate && again.orderID == retried.orderID)
            try await fault.cluster.start(followers[1])
            let after = try fault.load(seconds: 1.5, seed: 4)
            let resumed = try await after.run()
            #expect(resumed.acknowledged > 0 && resumed.failed == 0)
            let report = try await fault.verify()
            #expect(report.passed, "\(report.render())")
        }
    }
}
