public import Cluster
public import ClusterConfig
public import Raft

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Fetches `GET /status` from one node and decodes its `NodeStatus`.
///
/// - Throws: the `OpsHTTPClient` errors, `badStatus` for a non-200 answer (503 before the node published a
///   status), `malformedResponse` when the body is not a `NodeStatus`.
public func fetchNodeStatus(host: String, port: Int, timeout: Duration) async throws(OpsError) -> NodeStatus {
    let response = try await OpsHTTPClient.get(host: host, port: port, path: "/status", timeout: timeout)
    do {
        return try NodeStatus(jsonBytes: response.body)
    } catch {
        throw OpsError(.malformedResponse, "GET /status on \(host):\(port): not a node status: \(error)")
    }
}

/// The host to dial for a listening address: a node bound to `0.0.0.0`/`::` is reached on loopback.
func dialHost(_ address: NetworkAddress) -> String {
    guard address.isUnspecified else { return address.host }
    return address.host == "0.0.0.0" ? "127.0.0.1" : "::1"
}

/// Fetches `/status` from every node of `definition` concurrently; a node that does not answer is recorded with
/// its error. Never throws.
public func fetchClusterStatus(_ definition: ClusterDefinition, timeout: Duration) async -> ClusterStatusReport {
    // The child tasks return plain values (no typed throws inside the group's closures: a release build
    // of Swift 6.3 trapped in the collection loop when they did).
    let answers = await withTaskGroup(of: NodeAnswer.self) { group in
        for (position, node) in definition.nodes.enumerated() {
            let host = dialHost(node.metricsAddress)
            let port = Int(node.metricsAddress.port)
            group.addTask { await NodeAnswer.fetch(position: position, host: host, port: port, timeout: timeout) }
        }
        var answers: [Int: Result<NodeStatus, OpsError>] = [:]
        for await answer in group { answers[answer.position] = answer.result }
        return answers
    }
    let results = definition.nodes.indices.map { answers[$0] }
    let nodes = zip(definition.nodes, results).map { node, result in
        switch result! {
        case .success(let status):
            ClusterStatusReport.NodeReport(
                nodeID: node.id, address: node.metricsAddress.description, status: status, error: nil)
        case .failure(let error):
            ClusterStatusReport.NodeReport(
                nodeID: node.id, address: node.metricsAddress.description, status: nil, error: error)
        }
    }
    return ClusterStatusReport(definition: definition, nodes: nodes)
}

/// One node's `/status` answer, or why there is none.
struct NodeAnswer: Sendable {
    var position: Int
    var result: Result<NodeStatus, OpsError>

    static func fetch(position: Int, host: String, port: Int, timeout: Duration) async -> NodeAnswer {
        do {
            return NodeAnswer(position: position, result: .success(try await fetchNodeStatus(host: host, port: port, timeout: timeout)))
        } catch {
            return NodeAnswer(position: position, result: .failure(error))
        }
    }
}

/// What every node of a cluster reported, with the leadership of every shard derived from it.
///
/// Built by `fetchClusterStatus(_:timeout:)`, or from fixtures with `init(definition:nodes:)` (pure).
public struct ClusterStatusReport: Sendable, Hashable, Codable {
    /// One node's answer: its status, or why it has none.
    public struct NodeReport: Sendable, Hashable, Codable {
        public var nodeID: NodeID
        /// The metrics address dialled.
        public var address: String
        public var status: NodeStatus?
        public var error: OpsError?

        public init(nodeID: NodeID, address: String, status: NodeStatus?, error: OpsError?) {
            self.nodeID = nodeID
            self.address = address
            self.status = status
            self.error = error
        }

        public var isReachable: Bool { status != nil }
    }

    /// A replica that says it leads a shard, and in which term.
    public struct LeaderClaim: Sendable, Hashable, Codable {
        public var nodeID: NodeID
        public var term: UInt64

        public init(nodeID: NodeID, term: UInt64) {
            self.nodeID = nodeID
            self.term = term
        }
    }

    /// The leadership of one shard as seen by the answering replicas.
    public struct ShardLeadership: Sendable, Hashable, Codable {
        public var shardID: UInt32
        /// Every replica reporting `leader`, sorted by term descending then node id.
        public var leaders: [LeaderClaim]
        /// The highest term any answering replica of the shard reports.
        public var highestTerm: UInt64
        /// The single leader of `highestTerm`; nil when there is none or more than one.
        public var leaderID: NodeID?
        /// Exactly one leader in the highest term.
        public var isHealthy: Bool { leaderID != nil }
    }

    /// One replica row: the shard, the node and what that node says about it.
    public struct ReplicaRow: Sendable, Hashable, Codable {
        public enum State: Sendable, Hashable, Codable {
            case ok
            case stopped(code: String)
            case unreachable
            /// The node answered but does not report this shard.
            case missing

            /// Encoded as its text (`ok`, `stopped: <code>`, `unreachable`, `missing`).
            public init(from decoder: any Decoder) throws {
                let text = try decoder.singleValueContainer().decode(String.self)
                switch text {
                case "ok": self = .ok
                case "unreachable": self = .unreachable
                case "missing": self = .missing
                default:
                    guard text.hasPrefix("stopped: ") else {
                        throw DecodingError.dataCorrupted(
                            .init(codingPath: decoder.codingPath, debugDescription: "unknown state '\(text)'"))
                    }
                    self = .stopped(code: String(text.dropFirst("stopped: ".count)))
                }
            }

            public func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                try container.encode(text)
            }

            public var text: String {
                switch self {
                case .ok: "ok"
                case .stopped(let code): "stopped: \(code)"
                case .unreachable: "unreachable"
                case .missing: "missing"
                }
            }
        }

        public var shardID: UInt32
        public var nodeID: NodeID
        /// From the cluster configuration (`primary`, `standby`, `voter`, `learner`) or the node's own report.
        public var replicaRole: String
        public var shard: NodeStatus.Shard?
        /// Entries behind the leader's log, from the shard leader's follower view; 0 for the leader itself; nil
        /// when there is no leader or it does not list this node.
        public var lagEntries: UInt64?
        public var state: State

        public var stateText: String { state.text }
    }

    public var cluster: String
    /// One per configured node, in file order.
    public var nodes: [NodeReport]
    /// One per shard (configured or reported), sorted by shard id.
    public var shards: [ShardLeadership]
    /// One per (shard, node), sorted by shard id then node id.
    public var rows: [ReplicaRow]

    /// Every node answered.
    public var allNodesReachable: Bool { nodes.allSatisfy(\.isReachable) }
    /// Every node answered and every shard has exactly one leader in its highest term.
    public var isHealthy: Bool { allNodesReachable && shards.allSatisfy(\.isHealthy) }

    /// The report as one JSON object with sorted keys: the fields above plus `healthy` and `allNodesReachable`.
    public func jsonBytes(pretty: Bool = false) throws -> [UInt8] {
        struct Output: Encodable {
            var cluster: String
            var healthy: Bool
            var allNodesReachable: Bool
            var nodes: [NodeReport]
            var shards: [ShardLeadership]
            var rows: [ReplicaRow]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return Array(
            try encoder.encode(
                Output(
                    cluster: cluster, healthy: isHealthy, allNodesReachable: allNodesReachable, nodes: nodes,
                    shards: shards, rows: rows)))
    }

    /// The leadership entry of `shardID`, if the shard is known.
    public func leadership(of shardID: UInt32) -> ShardLeadership? { shards.first { $0.shardID == shardID } }

    /// Derives leaderships and rows from the node reports. Pure.
    public init(definition: ClusterDefinition, nodes: [NodeReport]) {
        cluster = definition.cluster
        self.nodes = nodes
        var replicaNodes: [UInt32: [NodeID: String]] = [:]
        for shard in definition.shards {
            for replica in shard.replicas { replicaNodes[shard.id, default: [:]][replica.node] = replica.role.rawValue }
        }
        var reported: [UInt32: [NodeID: NodeStatus.Shard]] = [:]
        for node in nodes {
            for shard in node.status?.shards ?? [] {
                reported[shard.shardID, default: [:]][node.nodeID] = shard
                if replicaNodes[shard.shardID]?[node.nodeID] == nil {
                    replicaNodes[shard.shardID, default: [:]][node.nodeID] = shard.replicaRole ?? "?"
                }
            }
        }
        let reachable = Set(nodes.filter(\.isReachable).map(\.nodeID))
        var shards: [ShardLeadership] = []
        var rows: [ReplicaRow] = []
        for shardID in replicaNodes.keys.sorted() {
            let replicas = reported[shardID] ?? [:]
            let highestTerm = replicas.values.map(\.term).max() ?? 0
            let leaders = replicas.filter { $0.value.role == .leader }
                .map { LeaderClaim(nodeID: $0.key, term: $0.value.term) }
                .sorted { ($0.term, $1.nodeID) > ($1.term, $0.nodeID) }
            let current = leaders.filter { $0.term == highestTerm }
            let leaderID = current.count == 1 ? current[0].nodeID : nil
            shards.append(
                ShardLeadership(shardID: shardID, leaders: leaders, highestTerm: highestTerm, leaderID: leaderID))
            let followerView = leaderID.flatMap { replicas[$0] }?.followers ?? []
            for (nodeID, role) in replicaNodes[shardID]!.sorted(by: { $0.key < $1.key }) {
                let shard = replicas[nodeID]
                let state: ReplicaRow.State
                if !reachable.contains(nodeID) {
                    state = .unreachable
                } else if let shard {
                    state = shard.stopped.map { .stopped(code: $0.code) } ?? .ok
                } else {
                    state = .missing
                }
                let lag: UInt64? =
                    nodeID == leaderID ? 0 : followerView.first { $0.nodeID == nodeID }?.lagEntries
                rows.append(
                    ReplicaRow(
                        shardID: shardID, nodeID: nodeID, replicaRole: role, shard: shard, lagEntries: lag,
                        state: state))
            }
        }
        self.shards = shards
        self.rows = rows
    }
}
