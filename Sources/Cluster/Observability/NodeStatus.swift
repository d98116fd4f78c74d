#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Raft

/// A point-in-time view of one node for operators: what `GET /status` serves and `exchangectl status` shows.
///
/// Built by the node loop with `make(...)` (pure: no clock, no I/O) and published to a `NodeStatusBox`, which the
/// status server reads. Arrays are sorted by id and the JSON keys are sorted, so the same status always encodes to
/// the same bytes. Node id 0 means "none" or "unknown", as in Raft.
public struct NodeStatus: Codable, Sendable, Hashable {
    /// The Raft role of this node's replica of a shard.
    public enum Role: String, Codable, Sendable, Hashable, CaseIterable {
        case follower
        case preCandidate = "pre_candidate"
        case candidate
        case leader
        case learner

        public init(_ role: RaftRole) {
            switch role {
            case .follower: self = .follower
            case .preCandidate: self = .preCandidate
            case .candidate: self = .candidate
            case .leader: self = .leader
            case .learner: self = .learner
            }
        }
    }

    /// The leader's view of one other replica of the shard.
    public struct Follower: Codable, Sendable, Hashable {
        public var nodeID: NodeID
        /// Highest log index known to be replicated on that replica.
        public var matchIndex: UInt64
        public var nextIndex: UInt64
        /// Entries the replica is behind the leader's log: `lastIndex - matchIndex` (0 when it is not behind).
        public var lagEntries: UInt64
        /// `probe`, `replicate` or `snapshot`.
        public var replication: String
        public var isLearner: Bool
        /// Heard from since the leader's last check-quorum round.
        public var recentActive: Bool

        public init(
            nodeID: NodeID, matchIndex: UInt64, nextIndex: UInt64, lagEntries: UInt64, replication: String,
            isLearner: Bool, recentActive: Bool
        ) {
            self.nodeID = nodeID
            self.matchIndex = matchIndex
            self.nextIndex = nextIndex
            self.lagEntries = lagEntries
            self.replication = replication
            self.isLearner = isLearner
            self.recentActive = recentActive
        }
    }

    /// Why a replica stopped (it no longer takes part until the node restarts).
    public struct Stopped: Codable, Sendable, Hashable {
        /// `state_hash_mismatch`, `undecodable_entry`, `storage`, `bad_snapshot` or `invalid_options`.
        public var code: String
        public var message: String
        public var logIndex: UInt64?

        public init(code: String, message: String, logIndex: UInt64? = nil) {
            self.code = code
            self.message = message
            self.logIndex = logIndex
        }

        public init(_ error: ShardReplicaError) {
            self.init(code: Self.code(error.code), message: error.description, logIndex: error.logIndex)
        }

        /// The stable string of a stop reason, also the `reason` label of `exchange_replica_stopped`.
        public static func code(_ code: ShardReplicaError.Code) -> String {
            switch code {
            case .invalidOptions: "invalid_options"
            case .stateHashMismatch: "state_hash_mismatch"
            case .undecodableEntry: "undecodable_entry"
            case .storage: "storage"
            case .badSnapshot: "bad_snapshot"
            }
        }

        /// Every value `code(_:)` returns, so that metrics can create one series per reason up front.
        public static let allCodes: [String] = [
            code(.invalidOptions), code(.stateHashMismatch), code(.undecodableEntry), code(.storage),
            code(.badSnapshot),
        ]
    }

    /// This node's replica of one shard.
    public struct Shard: Codable, Sendable, Hashable {
        public var shardID: UInt32
        public var role: Role
        /// The replica's role in the cluster configuration (`primary`, `standby`, `voter`, `learner`), if known.
        public var replicaRole: String?
        public var term: UInt64
        /// The leader this replica knows, or 0.
        public var leaderID: NodeID
        public var commitIndex: UInt64
        public var appliedIndex: UInt64
        public var lastIndex: UInt64
        public var snapshotIndex: UInt64
        /// The node leadership is being transferred to, when a transfer is in progress.
        public var leadTransferee: NodeID?
        /// The other replicas, sorted by node id; empty unless this replica leads.
        public var followers: [Follower]
        public var stopped: Stopped?
        /// With the post-trade outbox: events committed and not yet recorded as in Kafka, and the log index
        /// through which everything is (`ShardOutbox`); nil without an outbox.
        public var outboxPendingEvents: Int?
        public var outboxPublishedThrough: UInt64?

        public init(
            shardID: UInt32, role: Role, replicaRole: String? = nil, term: UInt64, leaderID: NodeID,
            commitIndex: UInt64, appliedIndex: UInt64, lastIndex: UInt64, snapshotIndex: UInt64,
            leadTransferee: NodeID? = nil, followers: [Follower] = [], stopped: Stopped? = nil
        ) {
            self.shardID = shardID
            self.role = role
            self.replicaRole = replicaRole
            self.term = term
            self.leaderID = leaderID
            self.commitIndex = commitIndex
            self.appliedIndex = appliedIndex
            self.lastIndex = lastIndex
            self.snapshotIndex = snapshotIndex
            self.leadTransferee = leadTransferee
            self.followers = followers
            self.stopped = stopped
        }
    }

    /// The transport's view of one configured peer.
    public struct Peer: Codable, Sendable, Hashable {
        public var nodeID: NodeID
        /// The connection this node dialled to the peer has completed its handshake.
        public var connected: Bool
        /// Messages and bytes waiting in the peer's bounded outbound queue.
        public var queuedMessages: Int
        public var queuedBytes: Int

        public init(nodeID: NodeID, connected: Bool, queuedMessages: Int, queuedBytes: Int) {
            self.nodeID = nodeID
            self.connected = connected
            self.queuedMessages = queuedMessages
            self.queuedBytes = queuedBytes
        }
    }

    public var nodeID: NodeID
    public var cluster: String
    /// Seconds since the node process started.
    public var uptimeSeconds: Double
    /// Hosted shards, sorted by shard id.
    public var shards: [Shard]
    /// Configured peers, sorted by node id; empty when no transport counters were given.
    public var peers: [Peer]

    public init(nodeID: NodeID, cluster: String, uptimeSeconds: Double, shards: [Shard], peers: [Peer]) {
        self.nodeID = nodeID
        self.cluster = cluster
        self.uptimeSeconds = uptimeSeconds
        self.shards = shards
        self.peers = peers
    }

    /// Builds a status from each hosted replica's `RaftStatus` and what the node knows besides. Pure.
    ///
    /// - Parameters:
    ///   - raft: per shard id, the replica's `RaftStatus`.
    ///   - replicaRoles: per shard id, this node's role in the cluster configuration (`primary`, `standby`, ...).
    ///   - stopped: per shard id, the error that stopped the replica.
    ///   - transport: the transport's counters, for per-peer connection state and queue depths.
    public static func make(
        nodeID: NodeID, cluster: String, uptimeSeconds: Double, raft: [UInt32: RaftStatus],
        replicaRoles: [UInt32: String] = [:], stopped: [UInt32: ShardReplicaError] = [:],
        transport: NodeTransportCounters? = nil
    ) -> NodeStatus {
        let shards = raft.keys.sorted().map { shardID -> Shard in
            let status = raft[shardID]!
            var followers: [Follower] = []
            if status.role == .leader {
                followers = status.progress.keys.sorted().map { nodeID in
                    let progress = status.progress[nodeID]!
                    return Follower(
                        nodeID: nodeID, matchIndex: progress.match, nextIndex: progress.next,
                        lagEntries: status.lastIndex > progress.match ? status.lastIndex - progress.match : 0,
                        replication: replicationName(progress.state), isLearner: progress.isLearner,
                        recentActive: progress.recentActive)
                }
            }
            return Shard(
                shardID: shardID, role: Role(status.role), replicaRole: replicaRoles[shardID], term: status.term,
                leaderID: status.leader, commitIndex: status.commitIndex, appliedIndex: status.appliedIndex,
                lastIndex: status.lastIndex, snapshotIndex: status.snapshotIndex,
                leadTransferee: status.leadTransferee == 0 ? nil : status.leadTransferee, followers: followers,
                stopped: stopped[shardID].map(Stopped.init))
        }
        let peers = (transport?.peers ?? [:]).sorted { $0.key < $1.key }.map { nodeID, counters in
            Peer(
                nodeID: nodeID, connected: counters.connected, queuedMessages: counters.queuedMessages,
                queuedBytes: counters.queuedBytes)
        }
        return NodeStatus(nodeID: nodeID, cluster: cluster, uptimeSeconds: uptimeSeconds, shards: shards, peers: peers)
    }

    private static func replicationName(_ state: ReplicationState) -> String {
        switch state {
        case .probe: "probe"
        case .replicate: "replicate"
        case .snapshot: "snapshot"
        }
    }

    // MARK: JSON

    /// The status as JSON with sorted keys (stable output for the same status).
    public func jsonBytes(pretty: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    /// Decodes what `jsonBytes()` produced (for `exchangectl` and tests).
    public init(jsonBytes: [UInt8]) throws {
        self = try JSONDecoder().decode(NodeStatus.self, from: Data(jsonBytes))
    }
}

extension NodeStatus {
    /// The status of every replica `host` holds. Call on the node loop's thread (`ShardHost` is not thread-safe).
    public static func make(
        host: ShardHost, cluster: String, uptimeSeconds: Double, replicaRoles: [UInt32: String] = [:],
        transport: NodeTransportCounters? = nil
    ) -> NodeStatus {
        var raft: [UInt32: RaftStatus] = [:]
        var stopped: [UInt32: ShardReplicaError] = [:]
        for (shardID, replica) in host.replicas {
            raft[shardID] = replica.status
            if let failure = replica.stopped { stopped[shardID] = failure }
        }
        var status = make(
            nodeID: host.nodeID, cluster: cluster, uptimeSeconds: uptimeSeconds, raft: raft,
            replicaRoles: replicaRoles, stopped: stopped, transport: transport)
        for index in status.shards.indices {
            guard let replica = host.replicas[status.shards[index].shardID], replica.options.keepsOutbox else { continue }
            status.shards[index].outboxPendingEvents = replica.outbox.pendingEventCount
            status.shards[index].outboxPublishedThrough = replica.outbox.publishedThrough
        }
        return status
    }
}
