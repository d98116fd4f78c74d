import Cluster
import ClusterConfig
import ExchangeOps
import Foundation
import Testing

enum ClusterFixture {
    /// The local cluster of `cluster-config/local.yaml` (3 nodes, 3 shards; node N is primary of shard N), with
    /// the given metrics ports.
    static func definition(metricsPorts: [Int]) throws -> ClusterDefinition {
        let nodes = (1...3).map { id in
            """
              - id: \(id)
                raftAddress: 127.0.0.1:\(17_100 + id)
                clientAddress: 127.0.0.1:\(17_200 + id)
                metricsAddress: 127.0.0.1:\(metricsPorts[id - 1])
                region: local
                zone: z\(id)
            """
        }.joined(separator: "\n")
        let yaml = """
            version: 1
            cluster: opstest
            nodes:
            \(nodes)
            shards:
              - id: 1
                symbols: [AAPL]
                replicas:
                  - { node: 1, role: primary }
                  - { node: 2, role: standby }
                  - { node: 3, role: voter }
              - id: 2
                symbols: [AMZN]
                replicas:
                  - { node: 2, role: primary }
                  - { node: 3, role: standby }
                  - { node: 1, role: voter }
              - id: 3
                symbols: [META]
                replicas:
                  - { node: 3, role: primary }
                  - { node: 1, role: standby }
                  - { node: 2, role: voter }
            instruments:
              - { symbol: AAPL, tickSize: 100, referencePrice: 1900000 }
              - { symbol: AMZN, tickSize: 100, referencePrice: 1850000 }
              - { symbol: META, tickSize: 100, referencePrice: 5000000 }
            durability:
              fsync: true
            replication:
              mode: regional
            """
        return try ClusterDefinition.parse(yaml: yaml, source: "fixture")
    }

    static let roles: [UInt32: [UInt64: String]] = [
        1: [1: "primary", 2: "standby", 3: "voter"],
        2: [2: "primary", 3: "standby", 1: "voter"],
        3: [3: "primary", 1: "standby", 2: "voter"],
    ]

    /// Node `node`'s status when node S leads shard S in term 2 with everything applied at `applied`.
    static func status(node: UInt64, applied: UInt64 = 50, leaders: [UInt32: UInt64] = [1: 1, 2: 2, 3: 3])
        -> NodeStatus
    {
        let shards = (1...3).map { (shardID: UInt32) -> NodeStatus.Shard in
            let leader = leaders[shardID] ?? 0
            let isLeader = leader == node
            let followers =
                isLeader
                ? (1...3).filter { $0 != node }.map {
                    NodeStatus.Follower(
                        nodeID: $0, matchIndex: applied - $0, nextIndex: applied - $0 + 1, lagEntries: $0,
                        replication: "replicate", isLearner: false, recentActive: true)
                } : []
            return NodeStatus.Shard(
                shardID: shardID, role: isLeader ? .leader : .follower, replicaRole: roles[shardID]![node], term: 2,
                leaderID: leader, commitIndex: applied, appliedIndex: applied, lastIndex: applied, snapshotIndex: 0,
                followers: followers)
        }
        return NodeStatus(nodeID: node, cluster: "opstest", uptimeSeconds: 1, shards: shards, peers: [])
    }

    static func report(_ statuses: [UInt64: NodeStatus], definition: ClusterDefinition) -> ClusterStatusReport {
        ClusterStatusReport(
            definition: definition,
            nodes: definition.nodes.map { node in
                ClusterStatusReport.NodeReport(
                    nodeID: node.id, address: node.metricsAddress.description, status: statuses[node.id],
                    error: statuses[node.id] == nil ? OpsError(.connectionRefused, "connection refused") : nil)
            })
    }
}

@Suite struct StatusReportTests {
    let definition: ClusterDefinition

    init() throws { definition = try ClusterFixture.definition(metricsPorts: [19_101, 19_102, 19_103]) }

    @Test func healthyClusterHasOneLeaderPerShard() throws {
        let report = ClusterFixture.report(
            [1: ClusterFixture.status(node: 1), 2: ClusterFixture.status(node: 2), 3: ClusterFixture.status(node: 3)],
            definition: definition)
        #expect(report.isHealthy)
        #expect(report.shards.map(\.leaderID) == [1, 2, 3])
        #expect(report.rows.count == 9)
        // Lag from the leader's follower view: node 1 leads shard 1; node 3 is 3 entries behind.
        let row = try #require(report.rows.first { $0.shardID == 1 && $0.nodeID == 3 })
        #expect(row.lagEntries == 3)
        #expect(row.replicaRole == "voter")
        #expect(report.rows.first { $0.shardID == 1 && $0.nodeID == 1 }?.lagEntries == 0)
    }

    @Test func tableRendering() {
        let report = ClusterFixture.report(
            [1: ClusterFixture.status(node: 1), 2: ClusterFixture.status(node: 2), 3: ClusterFixture.status(node: 3)],
            definition: definition)
        let lines = StatusTable.render(report).split(separator: "\n").map(String.init)
        #expect(lines.count == 11)
        #expect(lines[0].hasPrefix("SHARD  NODE  RAFT      REPLICA  TERM  LEADER  COMMIT  APPLIED  LAST  LAG  STATE"))
        #expect(
            lines[1].split(separator: " ") == ["1", "1", "leader", "primary", "2", "1", "50", "50", "50", "0", "ok"])
        #expect(
            lines[3].split(separator: " ") == ["1", "3", "follower", "voter", "2", "1", "50", "50", "50", "3", "ok"])
        #expect(lines.last == "cluster opstest: healthy")
    }

    @Test func unreachableNodeMakesClusterUnhealthy() {
        let report = ClusterFixture.report(
            [1: ClusterFixture.status(node: 1), 2: ClusterFixture.status(node: 2)], definition: definition)
        #expect(!report.isHealthy)
        #expect(report.shards.map(\.leaderID) == [1, 2, nil])
        let text = StatusTable.render(report)
        #expect(text.contains("node 3 (127.0.0.1:19103) unreachable"))
        #expect(text.contains("shard 3: no single leader in term 2 (no replica leads)"))
        #expect(report.rows.filter { $0.state == .unreachable }.map(\.nodeID) == [3, 3, 3])
        #expect(text.hasSuffix("cluster opstest: NOT healthy\n"))
    }

    @Test func twoLeadersInTheSameTermIsUnhealthyButStaleLeaderIsNot() {
        var two = ClusterFixture.status(node: 2)
        two.shards[0].role = .leader
        var report = ClusterFixture.report(
            [1: ClusterFixture.status(node: 1), 2: two, 3: ClusterFixture.status(node: 3)], definition: definition)
        #expect(report.shards[0].leaderID == nil)
        #expect(report.shards[0].leaders.map(\.nodeID) == [1, 2])
        #expect(!report.isHealthy)

        // A deposed leader in an older term next to the new leader in a higher term: one leader in the highest term.
        var old = ClusterFixture.status(node: 1)
        old.shards[0].term = 1
        var new = ClusterFixture.status(node: 2, leaders: [1: 2, 2: 2, 3: 3])
        new.shards[0].term = 2
        var third = ClusterFixture.status(node: 3, leaders: [1: 2, 2: 2, 3: 3])
        third.shards[0].term = 2
        report = ClusterFixture.report([1: old, 2: new, 3: third], definition: definition)
        #expect(report.shards[0].leaderID == 2)
        #expect(report.shards[0].highestTerm == 2)
        #expect(report.isHealthy)
    }

    @Test func stoppedReplicaIsShownWithItsCode() {
        var three = ClusterFixture.status(node: 3)
        three.shards[1].stopped = .init(code: "state_hash_mismatch", message: "boom", logIndex: 40)
        let report = ClusterFixture.report(
            [1: ClusterFixture.status(node: 1), 2: ClusterFixture.status(node: 2), 3: three], definition: definition)
        #expect(report.rows.first { $0.shardID == 2 && $0.nodeID == 3 }?.stateText == "stopped: state_hash_mismatch")
        #expect(StatusTable.render(report).contains("stopped: state_hash_mismatch"))
    }

    @Test func jsonIsOneObjectThatRoundTrips() throws {
        let report = ClusterFixture.report(
            [1: ClusterFixture.status(node: 1), 2: ClusterFixture.status(node: 2)], definition: definition)
        let bytes = try report.jsonBytes()
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        #expect(object?["healthy"] as? Bool == false)
        #expect((object?["rows"] as? [Any])?.count == 9)
        let decoded = try JSONDecoder().decode(ClusterStatusReport.self, from: Data(bytes))
        #expect(decoded == report)
    }

    @Test func quiescence() {
        let statuses: [UInt64: NodeStatus] = [
            1: ClusterFixture.status(node: 1), 2: ClusterFixture.status(node: 2), 3: ClusterFixture.status(node: 3),
        ]
        #expect(Verifier.quiescenceProblems(ClusterFixture.report(statuses, definition: definition)).isEmpty)
        var behind = statuses
        behind[3]!.shards[0].appliedIndex = 49
        let problems = Verifier.quiescenceProblems(ClusterFixture.report(behind, definition: definition))
        #expect(problems.map(\.shardID) == [1])
    }
}
