/// How Raft time is driven. YAML section `timing` (optional; every field has a default).
public struct TimingSettings: Sendable, Hashable {
    /// Wall-clock length of one Raft tick, in milliseconds. Default: 10. Range: 1...1_000.
    public var tickMilliseconds: Int = 10
    /// Base election timeout in ticks (`RaftConfiguration.electionTimeoutTicks`). Default: 10. Range: 2...100_000.
    public var electionTicks: Int = 10
    /// Leader heartbeat interval in ticks (`RaftConfiguration.heartbeatTicks`). Default: 1.
    /// Range: 1...electionTicks - 1.
    public var heartbeatTicks: Int = 1

    public init() {}
}

/// Raft protocol switches and flow-control limits. YAML section `raft` (optional).
public struct RaftSettings: Sendable, Hashable {
    /// Pre-vote round before a campaign. Default: true (the safe setting; `false` must be written out).
    public var preVote: Bool = true
    /// Leaders step down without a quorum; followers with a live leader ignore votes. Default: true (the safe
    /// setting; `false` must be written out).
    public var checkQuorum: Bool = true
    /// `RaftConfiguration.maxInflightMessages`. Default: 256. Range: 1...65_536.
    public var maxInflightMessages: Int = 256
    /// `RaftConfiguration.maxMessageBytes` (entry bytes per append, and the snapshot chunk size).
    /// Default: 1_048_576 (1 MiB). Range: 1...67_108_864 (64 MiB, the wire's chunk limit).
    public var maxMessageBytes: Int = 1 << 20
    /// `RaftConfiguration.maxUncommittedBytes`. Default: 67_108_864 (64 MiB). Range: 1...2^40, and at least
    /// `batching.maxEntryBytes`.
    public var maxUncommittedBytes: Int = 64 << 20
    /// `RaftConfiguration.maxCommittedBytesPerReady`. Default: 67_108_864 (64 MiB). Range: 1...2^40.
    public var maxCommittedBytesPerReady: Int = 64 << 20

    public init() {}
}

/// How a shard leader packs client commands into log entries. YAML section `batching` (optional).
public struct BatchingSettings: Sendable, Hashable {
    /// Most commands in one log entry. Default: 1_024. Range: 1...65_536 (the shard entry format's limit).
    public var maxCommandsPerEntry: Int = 1_024
    /// Most payload bytes in one log entry. Default: 1_048_576 (1 MiB). Range: 1_024...67_108_864 (64 MiB).
    public var maxEntryBytes: Int = 1 << 20
    /// How long the leader may hold a non-full batch waiting for more commands, in microseconds; 0 proposes
    /// whatever is queued at once (batches still form while a sync is in flight). Default: 0. Range: 0...100_000.
    public var maxBatchDelayMicroseconds: Int = 0
    /// Bound of the per-shard queue of commands waiting to be proposed; when full, clients get back-pressure.
    /// Default: 65_536. Range: 1...1_048_576.
    public var maxPendingCommands: Int = 65_536

    public init() {}
}

/// Whether writes reach stable storage before they count. YAML section `durability`: REQUIRED, no defaults,
/// because turning fsync off trades the RPO-zero promise for speed.
public struct DurabilitySettings: Sendable, Hashable {
    /// fsync the log before acknowledging (to the leader, and through it to clients). Default: none (required).
    public var fsync: Bool
    /// Must be present and `true` exactly when `fsync` is false: the file states that acknowledged commands may
    /// be lost when several replicas crash. Default: false (absent). Range: absent, or `true` with `fsync: false`.
    public var acknowledgeWithoutFsync: Bool

    public init(fsync: Bool, acknowledgeWithoutFsync: Bool = false) {
        self.fsync = fsync
        self.acknowledgeWithoutFsync = acknowledgeWithoutFsync
    }
}

/// State-machine snapshots and log compaction. YAML section `snapshots` (optional).
public struct SnapshotSettings: Sendable, Hashable {
    /// A replica snapshots its state (and compacts its log) after this many applied entries.
    /// Default: 100_000. Range: 1...1_000_000_000.
    public var everyEntries: Int = 100_000
    /// How many snapshots a replica keeps on disk. Default: 2. Range: 1...100.
    public var keep: Int = 2

    public init() {}
}

/// Cross-replica state-hash checks. YAML section `stateHash` (optional). Cannot be disabled.
public struct StateHashSettings: Sendable, Hashable {
    /// The leader puts its state hash into the log every this many entries; followers compare and halt on a
    /// mismatch. Default: 1_000. Range: 1...1_000_000.
    public var everyEntries: Int = 1_000

    public init() {}
}

/// Where quorums live. See ARCHITECTURE.md section 5.
public enum ReplicationMode: String, Sendable, Hashable, CaseIterable {
    /// Every shard's voters are in one region (spread over its zones); other regions hold learners (DR).
    case regional
    /// Every commit quorum spans two regions (`RaftConfiguration.requireTwoRegionQuorum`); each shard's voters must
    /// be in at least two regions. (To stay available after losing a region, spread voters over three.)
    case geo
}

/// YAML section `replication`: REQUIRED, because the mode decides what a region loss costs.
public struct ReplicationSettings: Sendable, Hashable {
    /// Default: none (required). `regional` or `geo`.
    public var mode: ReplicationMode

    public init(mode: ReplicationMode) { self.mode = mode }
}

/// Asynchronous disaster recovery in `regional` mode. YAML section `dr` (optional; absent means no DR region).
public struct DisasterRecoverySettings: Sendable, Hashable {
    /// The DR region. Default: none (required in the section). Range: the region of some node; holds no voter of
    /// any shard and at least one learner of every shard.
    public var region: String
    /// Learner lag above which the node raises its DR-lag alert metric, in milliseconds of log time.
    /// Default: 1_000. Range: 1...3_600_000.
    public var maxLagMilliseconds: Int = 1_000

    public init(region: String, maxLagMilliseconds: Int = 1_000) {
        self.region = region
        self.maxLagMilliseconds = maxLagMilliseconds
    }
}

/// The node-to-node transport. YAML section `transport` (optional).
public struct TransportSettings: Sendable, Hashable {
    /// Largest node-to-node frame accepted, in bytes. Default: 134_217_728 (128 MiB). Range: 65_536...1_073_741_824,
    /// and at least max(`raft.maxMessageBytes`, `batching.maxEntryBytes`) + 65_536.
    public var maxFrameBytes: Int = 128 << 20
    /// Bound of the bytes queued for one peer; beyond it messages to that peer are dropped (Raft retries).
    /// Default: 67_108_864 (64 MiB). Range: 1_048_576...4_294_967_296.
    public var peerQueueBytes: Int = 64 << 20
    /// Timeout of one connection attempt, in milliseconds. Default: 1_000. Range: 1...60_000.
    public var connectTimeoutMilliseconds: Int = 1_000
    /// First reconnect delay, doubled per failure, in milliseconds. Default: 50. Range: 1...60_000.
    public var reconnectBackoffMinimumMilliseconds: Int = 50
    /// Cap of the reconnect delay, in milliseconds. Default: 2_000.
    /// Range: reconnectBackoffMinimumMilliseconds...60_000.
    public var reconnectBackoffMaximumMilliseconds: Int = 2_000

    public init() {}
}

/// The post-trade pipeline's hook in the shards. YAML section `postTrade` (optional; absent = off).
public struct PostTradeSettings: Sendable, Hashable {
    /// Every shard keeps an outbox of its committed events (part of the replicated state and the snapshots)
    /// until the leader's publisher records them as delivered to Kafka. Must not change while a cluster has
    /// data (replicas would disagree on their snapshots). Default: false.
    public var outbox: Bool = false
    /// Kafka `bootstrap.servers` the leaders publish to; a node's `--kafka` option overrides it. Without
    /// either, an outbox still fills (and is published once a node has a Kafka). Default: none.
    public var kafkaBootstrap: String?
    /// Partitions of each topic when the publisher creates missing topics. Default: 4. Range: 1...1_024.
    public var topicPartitions: Int = 4
    /// Replication factor of created topics. Default: 3. Range: 1...16.
    public var topicReplicationFactor: Int = 3

    public init() {}
}
