/// Renders a `ClusterStatusReport` as the fixed-width table `exchangectl status` prints. Pure.
public enum StatusTable {
    public static let columns = [
        "SHARD", "NODE", "RAFT", "REPLICA", "TERM", "LEADER", "COMMIT", "APPLIED", "LAST", "LAG", "STATE",
    ]

    /// The cells of each row, in `columns` order.
    public static func cells(_ report: ClusterStatusReport) -> [[String]] {
        report.rows.map { row in
            let shard = row.shard
            return [
                String(row.shardID), String(row.nodeID), shard.map { $0.role.rawValue } ?? "-", row.replicaRole,
                shard.map { String($0.term) } ?? "-",
                shard.map { $0.leaderID == 0 ? "none" : String($0.leaderID) } ?? "-",
                shard.map { String($0.commitIndex) } ?? "-", shard.map { String($0.appliedIndex) } ?? "-",
                shard.map { String($0.lastIndex) } ?? "-", row.lagEntries.map { String($0) } ?? "-", row.stateText,
            ]
        }
    }

    /// The table, then one line per unreachable node and per shard without a single leader.
    public static func render(_ report: ClusterStatusReport) -> String {
        let rows = [columns] + cells(report)
        var widths = [Int](repeating: 0, count: columns.count)
        for row in rows { for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) } }
        var lines = rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column])
            }.joined(separator: "  ")
        }
        for node in report.nodes where !node.isReachable {
            lines.append("node \(node.nodeID) (\(node.address)) unreachable: \(node.error?.description ?? "no answer")")
        }
        for shard in report.shards where !shard.isHealthy {
            let claims = shard.leaders.map { "node \($0.nodeID) in term \($0.term)" }
            lines.append(
                "shard \(shard.shardID): no single leader in term \(shard.highestTerm)"
                    + (claims.isEmpty ? " (no replica leads)" : " (leaders: \(claims.joined(separator: ", ")))"))
        }
        lines.append(report.isHealthy ? "cluster \(report.cluster): healthy" : "cluster \(report.cluster): NOT healthy")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
