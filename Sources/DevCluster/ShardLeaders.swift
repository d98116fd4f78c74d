public import Cluster
public import ClusterConfig
public import Raft

/// A shard's leader, as the nodes' `/status` report it.
public struct ShardLeader: Sendable, Hashable {
    public var shardID: UInt32
    public var nodeID: NodeID
    public var term: UInt64
    /// How many other replicas name `nodeID` as their leader.
    public var confirmations: Int

    public init(shardID: UInt32, nodeID: NodeID, term: UInt64, confirmations: Int) {
        self.shardID = shardID
        self.nodeID = nodeID
        self.term = term
        self.confirmations = confirmations
    }
}

/// Decides from node statuses which shards have a leader. Pure.
public enum ShardLeaders {
    /// The leader of every shard that has one.
    ///
    /// A shard has a leader when a reporting node says it leads the shard (highest term wins if, briefly, two
    /// do) with a replica that has not stopped, and at least one other replica names it as leader, or it is the
    /// shard's only voter. A leader nobody follows yet (just elected, or cut off and about to step down) does not
    /// count.
    public static func leaders(definition: ClusterDefinition, statuses: [NodeID: NodeStatus]) -> [UInt32: ShardLeader] {
        var result: [UInt32: ShardLeader] = [:]
        for shard in definition.shards {
            var replicas: [(node: NodeID, shard: NodeStatus.Shard)] = []
            for (node, status) in statuses {
                if let replica = status.shards.first(where: { $0.shardID == shard.id }) {
                    replicas.append((node, replica))
                }
            }
            let claims = replicas.filter { $0.shard.role == .leader && $0.shard.stopped == nil }
            guard let claim = claims.max(by: { $0.shard.term < $1.shard.term }) else { continue }
            let confirmations = replicas.filter { $0.node != claim.node && $0.shard.leaderID == claim.node }.count
            guard confirmations >= 1 || shard.voters.count == 1 else { continue }
            result[shard.id] = ShardLeader(
                shardID: shard.id, nodeID: claim.node, term: claim.shard.term, confirmations: confirmations)
        }
        return result
    }

    /// A table of shard -> leader for terminals: one row per shard of the definition, `-` where none is known.
    public static func table(definition: ClusterDefinition, leaders: [UInt32: ShardLeader]) -> String {
        var rows = [["SHARD", "SYMBOLS", "LEADER", "TERM", "PRIMARY"]]
        for shard in definition.shards.sorted(by: { $0.id < $1.id }) {
            let leader = leaders[shard.id]
            rows.append([
                "\(shard.id)", shard.symbols.map(\.description).joined(separator: ","),
                leader.map { "node \($0.nodeID)" } ?? "-", leader.map { "\($0.term)" } ?? "-",
                shard.primary.map { "node \($0)" } ?? "-",
            ])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
