public import Cluster
import ClusterConfig
import ExchangeOps
public import Raft

extension LocalCluster {
    /// The `/status` of every running node that answers within `timeout`.
    public func fetchStatuses(timeout: Duration = .milliseconds(500)) async -> [NodeID: NodeStatus] {
        let targets: [(NodeID, String, Int)] = definition.nodes.filter { isRunning($0.id) && !isPaused($0.id) }.map {
            let host = $0.metricsAddress.isUnspecified ? "127.0.0.1" : $0.metricsAddress.host
            return ($0.id, host, Int($0.metricsAddress.port))
        }
        return await withTaskGroup(of: (NodeID, NodeStatus?).self) { group in
            for (node, host, port) in targets {
                group.addTask { (node, try? await fetchNodeStatus(host: host, port: port, timeout: timeout)) }
            }
            var statuses: [NodeID: NodeStatus] = [:]
            for await (node, status) in group { if let status { statuses[node] = status } }
            return statuses
        }
    }

    /// Polls `/status` of every running node until every shard has a leader (see `ShardLeaders.leaders`) and
    /// returns them.
    ///
    /// - Throws: `nodeExited` as soon as a node exits that was not stopped through this supervisor (with the tail
    ///   of its log), `timedOut` (naming the shards without a leader), `cancelled`.
    @discardableResult
    public func waitUntilEveryShardHasLeader(
        timeout: Duration = .seconds(30), pollInterval: Duration = .milliseconds(100)
    ) async throws(LocalClusterError) -> [UInt32: ShardLeader] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var leaders: [UInt32: ShardLeader] = [:]
        while true {
            if let (node, status) = unexpectedExits().first {
                throw LocalClusterError(
                    code: .nodeExited, message: "node \(node) \(status); its log ends with:\n\(logTail(node))")
            }
            leaders = ShardLeaders.leaders(definition: definition, statuses: await fetchStatuses())
            if leaders.count == definition.shards.count { return leaders }
            if clock.now >= deadline { break }
            do { try await Task.sleep(for: pollInterval) } catch {
                throw LocalClusterError(code: .cancelled, message: "waiting for shard leaders was cancelled")
            }
        }
        let missing = definition.shards.map(\.id).filter { leaders[$0] == nil }.sorted()
        throw LocalClusterError(
            code: .timedOut,
            message: "no leader after \(timeout) for shards \(missing.map(String.init).joined(separator: ", "))")
    }
}
