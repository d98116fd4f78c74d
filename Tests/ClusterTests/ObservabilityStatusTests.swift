@testable import Cluster
@testable import Raft
import Testing

/// Helpers shared by the observability tests.
enum ObservabilityTestSupport {
    static func raftStatus(
        id: NodeID, role: RaftRole, term: UInt64, leader: NodeID, commit: UInt64, applied: UInt64, last: UInt64,
        snapshot: UInt64 = 0, progress: [NodeID: (match: UInt64, state: ReplicationState)] = [:],
        transferee: NodeID = 0
    ) -> RaftStatus {
        RaftStatus(
            id: id, term: term, vote: leader, role: role, leader: leader, commitIndex: commit, appliedIndex: applied,
            lastIndex: last, snapshotIndex: snapshot, membership: Membership(voters: [1, 2, 3]),
            leadTransferee: transferee,
            progress: progress.mapValues {
                FollowerProgress(
                    match: $0.match, next: $0.match + 1, state: $0.state, inflightMessages: 0, recentActive: true,
                    isLearner: false)
            },
            droppedMessages: [:])
    }

    /// A node 1 that leads shard 1 (followers 2 and 3) and follows in shard 2.
    static func sampleStatus() -> NodeStatus {
        var counters = NodeTransportCounters()
        var peer2 = NodeTransportCounters.Peer()
        peer2.connected = true
        peer2.queuedMessages = 4
        peer2.queuedBytes = 512
        counters.peers[2] = peer2
        counters.peers[3] = NodeTransportCounters.Peer()
        return NodeStatus.make(
            nodeID: 1, cluster: "test-cluster", uptimeSeconds: 12.5,
            raft: [
                2: raftStatus(id: 1, role: .follower, term: 4, leader: 2, commit: 50, applied: 49, last: 51),
                1: raftStatus(
                    id: 1, role: .leader, term: 7, leader: 1, commit: 100, applied: 98, last: 120, snapshot: 10,
                    progress: [3: (90, .probe), 2: (120, .replicate)]),
            ],
            replicaRoles: [1: "primary", 2: "standby"],
            stopped: [2: ShardReplicaError(.stateHashMismatch, "hashes differ", logIndex: 49)],
            transport: counters)
    }

    /// Prometheus text exposition as `name{labels}` -> value (comments skipped).
    static func samples(_ exposition: [UInt8]) -> [String: Double] {
        var result: [String: Double] = [:]
        for line in String(decoding: exposition, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            result[String(line[..<space])] = value
        }
        return result
    }
}

@Suite struct ObservabilityStatusTests {
    @Test func makeSortsShardsAndComputesFollowerLag() {
        let status = ObservabilityTestSupport.sampleStatus()
        #expect(status.nodeID == 1)
        #expect(status.cluster == "test-cluster")
        #expect(status.shards.map(\.shardID) == [1, 2])

        let leader = status.shards[0]
        #expect(leader.role == .leader)
        #expect(leader.replicaRole == "primary")
        #expect(leader.term == 7)
        #expect(leader.leaderID == 1)
        #expect(leader.commitIndex == 100)
        #expect(leader.appliedIndex == 98)
        #expect(leader.lastIndex == 120)
        #expect(leader.snapshotIndex == 10)
        #expect(leader.leadTransferee == nil)
        #expect(leader.stopped == nil)
        #expect(leader.followers.map(\.nodeID) == [2, 3])
        #expect(leader.followers.map(\.matchIndex) == [120, 90])
        #expect(leader.followers.map(\.lagEntries) == [0, 30])
        #expect(leader.followers.map(\.replication) == ["replicate", "probe"])

        let follower = status.shards[1]
        #expect(follower.role == .follower)
        #expect(follower.replicaRole == "standby")
        #expect(follower.leaderID == 2)
        #expect(follower.followers.isEmpty)
        #expect(follower.stopped?.code == "state_hash_mismatch")
        #expect(follower.stopped?.logIndex == 49)

        #expect(status.peers.map(\.nodeID) == [2, 3])
        #expect(status.peers.map(\.connected) == [true, false])
        #expect(status.peers.map(\.queuedMessages) == [4, 0])
        #expect(status.peers.map(\.queuedBytes) == [512, 0])
    }

    @Test func lagIsZeroWhenMatchIsAheadAndFollowersOnlyForLeader() {
        // A stale progress entry whose match exceeds the last index must not underflow.
        let leader = ObservabilityTestSupport.raftStatus(
            id: 1, role: .leader, term: 2, leader: 1, commit: 5, applied: 5, last: 5, progress: [2: (7, .replicate)],
            transferee: 2)
        // A follower's progress map is ignored even if non-empty.
        let follower = ObservabilityTestSupport.raftStatus(
            id: 1, role: .candidate, term: 3, leader: 0, commit: 5, applied: 5, last: 5, progress: [2: (1, .probe)])
        let status = NodeStatus.make(
            nodeID: 1, cluster: "c", uptimeSeconds: 0, raft: [1: leader, 2: follower])
        #expect(status.shards[0].followers.map(\.lagEntries) == [0])
        #expect(status.shards[0].leadTransferee == 2)
        #expect(status.shards[1].role == .candidate)
        #expect(status.shards[1].followers.isEmpty)
        #expect(status.peers.isEmpty)
    }

    @Test func jsonRoundTripsAndIsStable() throws {
        let status = ObservabilityTestSupport.sampleStatus()
        let bytes = try status.jsonBytes()
        #expect(try NodeStatus(jsonBytes: bytes) == status)
        #expect(try status.jsonBytes() == bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        // Sorted keys: "cluster" < "nodeID" < "peers" < "shards" < "uptimeSeconds" at the top level.
        let order = ["\"cluster\"", "\"nodeID\"", "\"peers\"", "\"shards\"", "\"uptimeSeconds\""].map {
            text.firstRange(of: $0)?.lowerBound
        }
        #expect(order.allSatisfy { $0 != nil })
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
        #expect(text.contains("\"role\":\"leader\""))
        #expect(text.contains("\"lagEntries\":30"))
    }
}

@Suite struct ObservabilityMetricsTests {
    static func metrics() -> NodeMetrics {
        NodeMetrics(nodeID: 1, shardReplicas: [1: [1, 2, 3], 2: [1, 2, 3]], peers: [2, 3])
    }

    @Test func gaugesFollowTheStatus() {
        let metrics = Self.metrics()
        metrics.update(from: ObservabilityTestSupport.sampleStatus())
        let samples = ObservabilityTestSupport.samples(metrics.exposition())
        #expect(samples["exchange_raft_term{shard=\"1\"}"] == 7)
        #expect(samples["exchange_commit_index{shard=\"1\"}"] == 100)
        #expect(samples["exchange_applied_index{shard=\"1\"}"] == 98)
        #expect(samples["exchange_last_index{shard=\"1\"}"] == 120)
        #expect(samples["exchange_is_leader{shard=\"1\"}"] == 1)
        #expect(samples["exchange_is_leader{shard=\"2\"}"] == 0)
        #expect(samples["exchange_follower_lag_entries{shard=\"1\",follower=\"3\"}"] == 30)
        #expect(samples["exchange_follower_lag_entries{shard=\"1\",follower=\"2\"}"] == 0)
        #expect(samples["exchange_follower_lag_entries{shard=\"2\",follower=\"3\"}"] == 0)
        #expect(samples["exchange_follower_lag_entries{shard=\"1\",follower=\"1\"}"] == nil)
        #expect(samples["exchange_replica_stopped{shard=\"2\",reason=\"state_hash_mismatch\"}"] == 1)
        #expect(samples["exchange_replica_stopped{shard=\"2\",reason=\"storage\"}"] == 0)
        #expect(samples["exchange_replica_stopped{shard=\"1\",reason=\"state_hash_mismatch\"}"] == 0)
        #expect(samples["exchange_peer_connected{peer=\"2\"}"] == 1)
        #expect(samples["exchange_peer_connected{peer=\"3\"}"] == 0)
        #expect(samples["exchange_transport_queued_messages{peer=\"2\"}"] == 4)
        #expect(samples["exchange_transport_queued_bytes{peer=\"2\"}"] == 512)
    }

    @Test func electionsAndLeaderChangesAreDerivedFromSuccessiveStatuses() {
        let metrics = Self.metrics()
        func publish(term: UInt64, leader: NodeID) {
            let role: RaftRole = leader == 1 ? .leader : .follower
            let raft = ObservabilityTestSupport.raftStatus(
                id: 1, role: role, term: term, leader: leader, commit: 1, applied: 1, last: 1)
            metrics.update(from: NodeStatus.make(nodeID: 1, cluster: "c", uptimeSeconds: 0, raft: [1: raft]))
        }
        publish(term: 5, leader: 0)  // baseline: a restored term is no election
        publish(term: 6, leader: 2)  // one election, first leader known
        publish(term: 6, leader: 2)
        publish(term: 8, leader: 0)  // two more terms, leader unknown (no change counted)
        publish(term: 8, leader: 1)  // this node leads
        let samples = ObservabilityTestSupport.samples(metrics.exposition())
        #expect(samples["exchange_elections_total{shard=\"1\"}"] == 3)
        #expect(samples["exchange_leader_changes_total{shard=\"1\"}"] == 2)
        #expect(samples["exchange_elections_total{shard=\"2\"}"] == 0)
    }

    @Test func eventCountersAndHistograms() {
        let metrics = Self.metrics()
        metrics.recordSubmit(shard: 1, .queued)
        metrics.recordSubmit(shard: 1, .queued)
        metrics.recordSubmit(shard: 1, .notLeader(leaderHint: 2))
        metrics.recordSubmit(shard: 1, .retryLater(.overloaded))
        metrics.recordSubmit(shard: 9, .queued)  // not a configured shard: ignored
        metrics.recordProposals(shard: 2, count: 5)
        metrics.recordDropped(shard: 2, reason: .leadershipLost, count: 3)
        metrics.observeSync(seconds: 0.002)
        metrics.observeCommit(shard: 1, seconds: 0.004)
        metrics.observeApply(shard: 2, seconds: 0.000_3)
        let samples = ObservabilityTestSupport.samples(metrics.exposition())
        #expect(samples["exchange_proposals_total{shard=\"1\"}"] == 2)
        #expect(samples["exchange_proposals_total{shard=\"2\"}"] == 5)
        #expect(samples["exchange_proposals_total{shard=\"9\"}"] == nil)
        #expect(samples["exchange_dropped_commands_total{shard=\"1\",reason=\"not_leader\"}"] == 1)
        #expect(samples["exchange_dropped_commands_total{shard=\"1\",reason=\"overloaded\"}"] == 1)
        #expect(samples["exchange_dropped_commands_total{shard=\"1\",reason=\"transfer_in_progress\"}"] == 0)
        #expect(samples["exchange_dropped_commands_total{shard=\"2\",reason=\"leadership_lost\"}"] == 3)
        #expect(samples["exchange_fsync_latency_seconds_count"] == 1)
        #expect(samples["exchange_fsync_latency_seconds_bucket{le=\"0.0025\"}"] == 1)
        #expect(samples["exchange_fsync_latency_seconds_bucket{le=\"0.001\"}"] == 0)
        #expect(samples["exchange_commit_latency_seconds_count{shard=\"1\"}"] == 1)
        #expect(samples["exchange_apply_latency_seconds_count{shard=\"2\"}"] == 1)
        #expect(samples["exchange_apply_latency_seconds_count{shard=\"1\"}"] == 0)
    }

    @Test func transportDropsAreCountedAsDifferences() {
        let metrics = Self.metrics()
        var counters = NodeTransportCounters()
        var peer = NodeTransportCounters.Peer()
        peer.droppedQueueFull = 3
        counters.peers[2] = peer
        counters.droppedInboundFull = 2
        metrics.update(from: counters)
        peer.droppedQueueFull = 10
        peer.droppedTooLarge = 1
        counters.peers[2] = peer
        counters.peers[7] = peer  // not a configured peer: ignored
        counters.droppedInboundFull = 2
        metrics.update(from: counters)
        let samples = ObservabilityTestSupport.samples(metrics.exposition())
        #expect(samples["exchange_transport_messages_dropped_total{peer=\"2\",reason=\"queue_full\"}"] == 10)
        #expect(samples["exchange_transport_messages_dropped_total{peer=\"2\",reason=\"too_large\"}"] == 1)
        #expect(samples["exchange_transport_messages_dropped_total{peer=\"3\",reason=\"queue_full\"}"] == 0)
        #expect(samples["exchange_transport_messages_dropped_total{peer=\"7\",reason=\"queue_full\"}"] == nil)
        #expect(samples["exchange_transport_local_messages_dropped_total{reason=\"inbound_full\"}"] == 2)
    }

    @Test func hostOutputCountsDroppedCommandsPerShard() {
        let metrics = Self.metrics()
        var output = HostOutput()
        let dropped = DroppedCommand(origin: CommandOrigin(connection: 1, requestID: 1), leaderHint: 2)
        output.dropped = [(1, dropped), (1, dropped), (2, dropped)]
        metrics.record(output)
        let samples = ObservabilityTestSupport.samples(metrics.exposition())
        #expect(samples["exchange_dropped_commands_total{shard=\"1\",reason=\"leadership_lost\"}"] == 2)
        #expect(samples["exchange_dropped_commands_total{shard=\"2\",reason=\"leadership_lost\"}"] == 1)
        #expect(samples["exchange_applied_commands_total{shard=\"1\"}"] == 0)
    }

    @Test func severalNodesKeepSeparateRegistries() {
        let first = Self.metrics()
        let second = Self.metrics()
        first.recordProposals(shard: 1, count: 4)
        #expect(ObservabilityTestSupport.samples(first.exposition())["exchange_proposals_total{shard=\"1\"}"] == 4)
        #expect(ObservabilityTestSupport.samples(second.exposition())["exchange_proposals_total{shard=\"1\"}"] == 0)
    }
}
