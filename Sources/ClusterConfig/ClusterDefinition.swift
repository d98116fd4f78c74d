public import ExchangeCore
public import Raft

/// The YAML cluster definition format (`cluster-config/*.yaml`).
public enum ClusterConfigFormat {
    /// The `version:` this build reads.
    public static let version = 1
}

/// A whole cluster as `cluster-config/*.yaml` describes it: nodes, shards and their replicas, instrument rules,
/// and the settings every node runs with. Read by `exchanged node`, `exchanged dev`, `exchangectl` and
/// `exchange-load`.
///
/// Obtain one with `load(path:)` or `parse(yaml:source:)`, which return only definitions that pass `validate()`.
/// The format, with every key, default and range, is in `cluster-config/README.md`; each field below says its
/// `Default:` and range too.
public struct ClusterDefinition: Sendable, Hashable {
    /// Format version. Default: none (required). Range: exactly 1 (`ClusterConfigFormat.version`).
    public var version: Int
    /// Cluster name, sent in the node handshake so that a node of another cluster is refused.
    /// Default: none (required).
    /// Range: 1-64 bytes of printable ASCII (0x20...0x7E).
    public var cluster: String
    /// Base directory for node data; a node without its own `dataDirectory` uses `<this>/node-<id>`. Relative
    /// paths are relative to the process's working directory. Default: `data`. Range: non-empty, no NUL.
    public var dataDirectory: String
    /// The nodes. Default: none (required). Range: 1...1_000 nodes; unique ids and addresses.
    public var nodes: [NodeDefinition]
    /// The shards. Default: none (required). Range: 1...10_000 shards; unique ids; every symbol in exactly one shard.
    public var shards: [ShardDefinition]
    /// Trading rules, one per symbol of every shard and none for other symbols.
    /// Default: none (required).
    /// Each entry maps onto `InstrumentRules` (same field names and defaults; `referencePrice` required).
    public var instruments: [InstrumentRules]
    /// Default: see `TimingSettings`.
    public var timing: TimingSettings
    /// Default: see `RaftSettings`.
    public var raft: RaftSettings
    /// Default: see `BatchingSettings`.
    public var batching: BatchingSettings
    /// Default: none (required section).
    public var durability: DurabilitySettings
    /// Default: see `SnapshotSettings`.
    public var snapshots: SnapshotSettings
    /// Default: see `StateHashSettings`.
    public var stateHash: StateHashSettings
    /// Default: none (required section).
    public var replication: ReplicationSettings
    /// Default: nil (no DR region). Only with `replication.mode: regional`.
    public var dr: DisasterRecoverySettings?
    /// Default: see `TransportSettings`.
    public var transport: TransportSettings
    /// Default: see `PostTradeSettings` (off).
    public var postTrade = PostTradeSettings()

    public init(
        cluster: String, nodes: [NodeDefinition], shards: [ShardDefinition], instruments: [InstrumentRules],
        durability: DurabilitySettings, replication: ReplicationSettings, dataDirectory: String = "data",
        timing: TimingSettings = TimingSettings(), raft: RaftSettings = RaftSettings(),
        batching: BatchingSettings = BatchingSettings(), snapshots: SnapshotSettings = SnapshotSettings(),
        stateHash: StateHashSettings = StateHashSettings(), dr: DisasterRecoverySettings? = nil,
        transport: TransportSettings = TransportSettings(), version: Int = ClusterConfigFormat.version
    ) {
        self.version = version
        self.cluster = cluster
        self.dataDirectory = dataDirectory
        self.nodes = nodes
        self.shards = shards
        self.instruments = instruments
        self.timing = timing
        self.raft = raft
        self.batching = batching
        self.durability = durability
        self.snapshots = snapshots
        self.stateHash = stateHash
        self.replication = replication
        self.dr = dr
        self.transport = transport
    }

    // MARK: Lookups (linear scans; build your own dictionaries for hot paths)

    /// The shard that owns `symbol`, or nil.
    public func shard(for symbol: Symbol) -> ShardDefinition? { shards.first { $0.symbols.contains(symbol) } }

    /// The shard with id `id`, or nil.
    public func shard(id: UInt32) -> ShardDefinition? { shards.first { $0.id == id } }

    /// The node with id `id`, or nil.
    public func node(id: NodeID) -> NodeDefinition? { nodes.first { $0.id == id } }

    /// The replicas `node` hosts, in shard order of the file.
    public func replicas(on node: NodeID) -> [HostedReplica] {
        shards.compactMap { shard in shard.role(of: node).map { HostedReplica(shard: shard.id, role: $0) } }
    }

    /// The trading rules of `symbol`, or nil.
    public func instrumentRules(for symbol: Symbol) -> InstrumentRules? { instruments.first { $0.symbol == symbol } }

    /// The node's data directory: its own `dataDirectory`, or `<dataDirectory>/node-<id>`; nil for an unknown node.
    public func dataDirectory(for node: NodeID) -> String? {
        guard let definition = self.node(id: node) else { return nil }
        return definition.dataDirectory ?? Self.joined(dataDirectory, "node-\(node)")
    }

    static func joined(_ base: String, _ leaf: String) -> String {
        base.hasSuffix("/") ? base + leaf : base + "/" + leaf
    }

    /// The Raft configuration of `node`'s replica of shard `shard`, validated.
    ///
    /// Membership: primary, standby, voters as voters (that order), learners as learners. Election priorities:
    /// primary 2, standby 1, others 0. `clusterNodes`: every node of the cluster. `locations`: every node's region
    /// and zone. `requireTwoRegionQuorum`: `replication.mode == .geo`. `randomSeed`: the shard id (mixed with the
    /// node id by Raft), so the groups of one node do not time out in lockstep.
    ///
    /// - Throws: `unknownReference` when the shard is not defined or the node hosts no replica of it;
    ///   `invalidValue` if Raft rejects the result (cannot happen for a definition that passed `validate()`).
    ///   `source` is the cluster name and there is no line number.
    public func raftConfiguration(for shard: UInt32, node: NodeID) throws(ClusterConfigError) -> RaftConfiguration {
        guard let index = shards.firstIndex(where: { $0.id == shard }) else {
            throw ClusterConfigError(
                code: .unknownReference, path: "shards", source: cluster,
                message: "shards: shard \(shard) is not defined")
        }
        let definition = shards[index]
        guard definition.role(of: node) != nil else {
            throw ClusterConfigError(
                code: .unknownReference, path: "shards[\(index)].replicas", source: cluster,
                message: "shards[\(index)].replicas: node \(node) hosts no replica of shard \(shard)")
        }
        var configuration = RaftConfiguration(
            id: node, membership: definition.membership, preVote: raft.preVote, checkQuorum: raft.checkQuorum,
            requireTwoRegionQuorum: replication.mode == .geo)
        configuration.electionTimeoutTicks = timing.electionTicks
        configuration.heartbeatTicks = timing.heartbeatTicks
        configuration.maxInflightMessages = raft.maxInflightMessages
        configuration.maxMessageBytes = raft.maxMessageBytes
        configuration.maxUncommittedBytes = raft.maxUncommittedBytes
        configuration.maxCommittedBytesPerReady = raft.maxCommittedBytesPerReady
        configuration.randomSeed = UInt64(shard)
        configuration.clusterNodes = Set(nodes.map(\.id))
        for replica in definition.replicas where replica.role.electionPriority > 0 {
            configuration.electionPriorities[replica.node] = replica.role.electionPriority
        }
        for node in nodes { configuration.locations[node.id] = node.location }
        do {
            try configuration.validate()
        } catch {
            throw ClusterConfigError(
                code: .invalidValue, path: "shards[\(index)]", source: cluster,
                message: "shards[\(index)]: the Raft configuration of node \(node): \(error.message)")
        }
        return configuration
    }
}
