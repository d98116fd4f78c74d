public import ExchangeCore
public import Raft

/// What a replica does in its shard's Raft group.
public enum ReplicaRole: String, Sendable, Hashable, CaseIterable {
    /// The preferred leader (highest election priority); leadership returns to it once it has caught up.
    /// Exactly one per shard.
    case primary
    /// The hot standby: a voter that applies in lockstep and is the preferred successor (second priority).
    /// At most one per shard.
    case standby
    /// Any other voter (priority 0).
    case voter
    /// A non-voting copy (e.g. a DR replica in another region); never counts towards a quorum.
    case learner

    /// True for every role but `learner`.
    public var isVoter: Bool { self != .learner }

    /// Raft election priority: primary 2, standby 1, others 0.
    public var electionPriority: Int {
        switch self {
        case .primary: 2
        case .standby: 1
        case .voter, .learner: 0
        }
    }
}

/// One replica of a shard: which node runs it, in which role.
public struct ReplicaDefinition: Sendable, Hashable {
    /// The hosting node. Default: none (required). Must be a node of `nodes`; a node appears at most once per shard.
    public var node: NodeID
    /// Default: none (required). One of `primary`, `standby`, `voter`, `learner`.
    public var role: ReplicaRole

    public init(node: NodeID, role: ReplicaRole) {
        self.node = node
        self.role = role
    }
}

/// A shard: a set of symbols matched by one deterministic state machine replicated by one Raft group.
public struct ShardDefinition: Sendable, Hashable {
    /// Shard id, also the Raft group id on the node transport. Default: none (required).
    /// Range: 1...4_294_967_295 (0 is reserved for the control plane's meta group), unique.
    public var id: UInt32
    /// The symbols this shard owns. Default: none (required). Range: non-empty; every symbol is in exactly one
    /// shard and has an entry in `instruments`.
    public var symbols: [Symbol]
    /// The replicas. Default: none (required). Range: exactly one primary, at most one standby, a node at most
    /// once; the voters (primary + standby + voters) number 1, 3, 5 or 7; learners 0...16.
    public var replicas: [ReplicaDefinition]

    public init(id: UInt32, symbols: [Symbol], replicas: [ReplicaDefinition]) {
        self.id = id
        self.symbols = symbols
        self.replicas = replicas
    }

    /// The primary's node, if the shard has one (a validated definition always has).
    public var primary: NodeID? { replicas.first { $0.role == .primary }?.node }
    /// The standby's node, if any.
    public var standby: NodeID? { replicas.first { $0.role == .standby }?.node }
    /// Voting nodes in priority order: primary, standby, then voters in file order.
    public var voters: [NodeID] {
        replicas.filter { $0.role == .primary }.map(\.node) + replicas.filter { $0.role == .standby }.map(\.node)
            + replicas.filter { $0.role == .voter }.map(\.node)
    }
    /// Learner nodes in file order.
    public var learners: [NodeID] { replicas.filter { $0.role == .learner }.map(\.node) }
    /// The initial Raft membership of the group.
    public var membership: Membership { Membership(voters: voters, learners: learners) }
    /// The role of `node` in this shard, or nil if it hosts no replica of it.
    public func role(of node: NodeID) -> ReplicaRole? { replicas.first { $0.node == node }?.role }
}

/// A replica that a node hosts: the shard and the node's role in it.
public struct HostedReplica: Sendable, Hashable {
    public var shard: UInt32
    public var role: ReplicaRole

    public init(shard: UInt32, role: ReplicaRole) {
        self.shard = shard
        self.role = role
    }
}
