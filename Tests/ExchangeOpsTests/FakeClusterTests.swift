import Cluster
import ClusterConfig
import ExchangeClient
import ExchangeOps
import Foundation
import Synchronization
import Testing

/// Three fake nodes on ephemeral ports serving `/status`, `/shards/S/state`, `/shards/S/audit` (pages of 2 lines
/// whatever the limit, to exercise paging) and `/shards/S/transfer-leader`, from shared mutable state.
final class FakeCluster: Sendable {
    struct State {
        var statuses: [UInt64: NodeStatus] = [:]
        var shardStates: [UInt64: [UInt32: ShardState]] = [:]
        var audits: [UInt64: [UInt32: [AuditEntry]]] = [:]
        /// When set, a transfer ends with this node leading in the term after the target's (a primary taking
        /// leadership back).
        var transferReturnsTo: UInt64?
    }

    let state = Mutex(State())
    private(set) nonisolated(unsafe) var servers: [UInt64: FakeHTTPServer] = [:]

    static let auditPageLines = 2

    static func start() async throws -> FakeCluster {
        let cluster = FakeCluster()
        for node in UInt64(1)...3 {
            cluster.servers[node] = try await FakeHTTPServer.start { [cluster] method, uri in
                cluster.respond(node: node, method: method, uri: uri)
            }
        }
        return cluster
    }

    func definition() throws -> ClusterDefinition {
        try ClusterFixture.definition(metricsPorts: (1...3).map { servers[UInt64($0)]!.port })
    }

    func stop() async { for server in servers.values { await server.stop() } }

    func respond(node: UInt64, method: String, uri: String) -> FakeHTTPServer.Response {
        let parts = uri.split(separator: "?", maxSplits: 1)
        let path = parts[0].split(separator: "/")
        var query: [String: String] = [:]
        for item in parts.count > 1 ? parts[1].split(separator: "&") : [] {
            let pair = item.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { query[String(pair[0])] = String(pair[1]) }
        }
        return state.withLock { state in
            if path == ["status"] {
                guard let status = state.statuses[node] else { return .text("not yet", status: 503) }
                return .json(String(decoding: try! status.jsonBytes(), as: UTF8.self))
            }
            guard path.count == 3, path[0] == "shards", let shard = UInt32(path[1]),
                let shardState = state.shardStates[node]?[shard]
            else {
                return .json(#"{"error":"unknown_shard","message":"no such shard"}"#, status: 404)
            }
            switch path[2] {
            case "state":
                return .json(String(decoding: try! JSONEncoder().encode(shardState), as: UTF8.self))
            case "audit":
                let from = UInt64(query["from"] ?? "0") ?? 0
                let records = (state.audits[node]?[shard] ?? []).filter { $0.index >= from }
                var page = Array(records.prefix(Self.auditPageLines))
                var next = "-"
                if records.count > page.count {
                    // Never split an index across pages.
                    let cut = records[page.count].index
                    page.removeAll { $0.index >= cut }
                    next = String(cut)
                }
                let lines =
                    ["# audit shard=\(shard) applied=\(shardState.appliedIndex) next=\(next)"] + page.map(\.line)
                return .text(lines.joined(separator: "\n") + "\n")
            case "transfer-leader":
                guard method == "POST", let target = UInt64(query["to"] ?? "") else { return .text("", status: 400) }
                guard state.statuses[node]?.shards.first(where: { $0.shardID == shard })?.role == .leader else {
                    return .json(#"{"error":"not_leader","leaderID":0}"#, status: 409)
                }
                let winner = state.transferReturnsTo ?? target
                for id in state.statuses.keys {
                    let position = state.statuses[id]!.shards.firstIndex { $0.shardID == shard }!
                    state.statuses[id]!.shards[position].role = id == winner ? .leader : .follower
                    state.statuses[id]!.shards[position].leaderID = winner
                    state.statuses[id]!.shards[position].term += state.transferReturnsTo == nil ? 1 : 2
                }
                return .json(#"{"shardID":\#(shard),"from":\#(node),"to":\#(target)}"#)
            default:
                return .text("", status: 404)
            }
        }
    }

    /// Every node healthy at applied 10, every replica with `Fixture.goodRecords` and equal hashes.
    func setGood() {
        state.withLock { state in
            for node in UInt64(1)...3 {
                state.statuses[node] = ClusterFixture.status(node: node, applied: 10)
                for shard in UInt32(1)...3 {
                    state.shardStates[node, default: [:]][shard] = ShardState(
                        shardID: shard, appliedIndex: 10, stateHash: "00000000000000a\(shard)",
                        checkpoints: Fixture.checkpoints)
                    state.audits[node, default: [:]][shard] = Fixture.goodRecords
                }
            }
        }
    }
}

@Suite struct FakeClusterTests {
    @Test func clusterStatusRecordsUnreachableNodes() async throws {
        let cluster = try await FakeCluster.start()
        cluster.setGood()
        let definition = try cluster.definition()
        let healthy = await fetchClusterStatus(definition, timeout: .seconds(5))
        #expect(healthy.isHealthy)
        #expect(healthy.shards.map(\.leaderID) == [1, 2, 3])
        await cluster.servers[2]!.stop()
        let degraded = await fetchClusterStatus(definition, timeout: .seconds(5))
        await cluster.stop()
        #expect(!degraded.isHealthy)
        #expect(degraded.nodes.map(\.isReachable) == [true, false, true])
        #expect(degraded.nodes[1].error?.code == .connectionRefused)
    }

    @Test func verifyPassesOnAGoodClusterAndPages() async throws {
        let cluster = try await FakeCluster.start()
        cluster.setGood()
        let acks = Fixture.goodAcks
        let report = await Verifier.fetchAndCheck(
            definition: try cluster.definition(), acks: acks, timeout: .seconds(5))
        let auditRequests = cluster.servers[1]!.requests.withLock { $0.filter { $0.contains("/shards/1/audit") } }
        await cluster.stop()
        #expect(report.passed, "\(report.violations)")
        #expect(report.replicas.count == 9)
        #expect(report.replicas.allSatisfy { $0.records == 5 })
        // 5 records over indices 3,4,4,6,7 in pages of at most 2 lines: 3 | 4,4 | 6,7.
        #expect(auditRequests.count == 3)
    }

    @Test func verifyReportsMissingAckAndUnreachableReplica() async throws {
        let cluster = try await FakeCluster.start()
        cluster.setGood()
        cluster.state.withLock { $0.audits[3]![1]!.removeAll { $0.clientOrderID == 103 } }
        let definition = try cluster.definition()
        var report = await Verifier.fetchAndCheck(definition: definition, acks: Fixture.goodAcks, timeout: .seconds(5))
        #expect(report.violations.contains { $0.kind == .missingAck && $0.nodeID == 3 && $0.logIndex == 7 })
        #expect(!report.passed)

        await cluster.servers[2]!.stop()
        report = await Verifier.fetchAndCheck(definition: definition, acks: [], timeout: .milliseconds(600))
        await cluster.stop()
        #expect(report.violations.filter { $0.kind == .unreachable }.count == 3)
        #expect(report.violations.contains { $0.kind == .notQuiescent })
    }

    @Test func verifyWaitsForQuiescence() async throws {
        let cluster = try await FakeCluster.start()
        cluster.setGood()
        cluster.state.withLock { $0.statuses[3]!.shards[0].appliedIndex = 9 }
        let definition = try cluster.definition()
        async let verified = Verifier.fetchAndCheck(
            definition: definition, acks: Fixture.goodAcks, timeout: .seconds(20))
        // Let node 3 catch up once the verifier has seen it behind at least once.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while cluster.servers[3]!.requests.withLock({ $0.filter { $0 == "GET /status" }.count }) < 2,
            clock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(10))
        }
        cluster.state.withLock { $0.statuses[3]!.shards[0].appliedIndex = 10 }
        let report = await verified
        await cluster.stop()
        #expect(report.passed, "\(report.violations)")
    }

    @Test func transferLeadership() async throws {
        let cluster = try await FakeCluster.start()
        cluster.setGood()
        let definition = try cluster.definition()
        let result = try await ExchangeOps.transferLeadership(
            definition: definition, shard: 1, to: 2, timeout: .seconds(5))
        #expect(!result.alreadyLeader)
        #expect(result.from == 1)
        let status = await fetchClusterStatus(definition, timeout: .seconds(5))
        #expect(status.leadership(of: 1)?.leaderID == 2)
        let again = try await ExchangeOps.transferLeadership(
            definition: definition, shard: 1, to: 2, timeout: .seconds(5))
        #expect(again.alreadyLeader)
        await #expect {
            _ = try await ExchangeOps.transferLeadership(definition: definition, shard: 9, to: 2, timeout: .seconds(5))
        } throws: { ($0 as? OpsError)?.code == .unknownShard }
        await #expect {
            _ = try await ExchangeOps.transferLeadership(definition: definition, shard: 1, to: 7, timeout: .seconds(5))
        } throws: { ($0 as? OpsError)?.code == .notReplica }
        // The primary (node 3 of shard 3) takes leadership back: the transfer is reported as superseded.
        cluster.state.withLock { $0.transferReturnsTo = 3 }
        await #expect {
            _ = try await ExchangeOps.transferLeadership(definition: definition, shard: 3, to: 1, timeout: .seconds(5))
        } throws: { error in
            guard let error = error as? OpsError else { return false }
            return error.code == .transferSuperseded && error.message.contains("the primary takes leadership back")
        }
        cluster.state.withLock { state in
            for id in UInt64(1)...3 { state.statuses[id]!.shards[1].role = .follower }
        }
        await #expect {
            _ = try await ExchangeOps.transferLeadership(definition: definition, shard: 2, to: 3, timeout: .seconds(5))
        } throws: { ($0 as? OpsError)?.code == .noLeader }
        await cluster.stop()
    }
}
