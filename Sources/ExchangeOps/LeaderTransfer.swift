public import ClusterConfig
public import Raft

/// The outcome of `transferLeadership`.
public struct LeaderTransferResult: Sendable, Hashable, Codable {
    public var shardID: UInt32
    /// The leader before the transfer.
    public var from: NodeID
    public var to: NodeID
    /// True when `to` already led the shard: nothing was done.
    public var alreadyLeader: Bool
    /// From the POST to the first status showing `to` as leader.
    public var elapsedMilliseconds: Int64
}

/// Moves the leadership of `shard` to `target`: finds the current leader, asks it to transfer, then polls the
/// target's `/status` until it leads the shard or `timeout` passes.
///
/// - Throws: `unknownShard` (not in the configuration), `notReplica` (target is not a voter of the shard),
///   `noLeader`, `transferRefused`, `transferSuperseded` (a newer term has another leader, e.g. the primary
///   took leadership back), `timeout`, and the HTTP errors of the leader call.
public func transferLeadership(
    definition: ClusterDefinition, shard shardID: UInt32, to target: NodeID, timeout: Duration
) async throws(OpsError) -> LeaderTransferResult {
    guard let shard = definition.shard(id: shardID) else {
        let known = definition.shards.map { String($0.id) }.joined(separator: ", ")
        throw OpsError(.unknownShard, "shard \(shardID) is not defined (shards: \(known))")
    }
    guard let targetNode = definition.node(id: target) else {
        throw OpsError(.notReplica, "node \(target) is not defined in cluster \(definition.cluster)")
    }
    guard let role = shard.role(of: target) else {
        throw OpsError(.notReplica, "node \(target) hosts no replica of shard \(shardID)")
    }
    guard role.isVoter else {
        throw OpsError(.notReplica, "node \(target) is a learner of shard \(shardID) and cannot lead it")
    }
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    func remaining() -> Duration { max(.milliseconds(50), clock.now.duration(to: deadline)) }
    let status = await fetchClusterStatus(definition, timeout: min(remaining(), .seconds(2)))
    guard let leadership = status.leadership(of: shardID), let leaderID = leadership.leaderID else {
        throw OpsError(.noLeader, "shard \(shardID) has no single leader now; retry once it has one")
    }
    if leaderID == target {
        return LeaderTransferResult(
            shardID: shardID, from: leaderID, to: target, alreadyLeader: true, elapsedMilliseconds: 0)
    }
    guard let leaderNode = definition.node(id: leaderID) else {
        throw OpsError(.noLeader, "shard \(shardID)'s leader \(leaderID) is not in the configuration")
    }
    let start = clock.now
    _ = try await ShardEndpoints.transferLeader(
        host: dialHost(leaderNode.metricsAddress), port: Int(leaderNode.metricsAddress.port), shard: shardID,
        to: target, timeout: min(remaining(), .seconds(5)))
    let host = dialHost(targetNode.metricsAddress)
    let port = Int(targetNode.metricsAddress.port)
    while clock.now < deadline {
        if let node = try? await fetchNodeStatus(host: host, port: port, timeout: min(remaining(), .seconds(2))),
            let replica = node.shards.first(where: { $0.shardID == shardID })
        {
            if replica.role == .leader {
                return LeaderTransferResult(
                    shardID: shardID, from: leaderID, to: target, alreadyLeader: false,
                    elapsedMilliseconds: start.duration(to: clock.now).milliseconds)
            }
            if replica.term > leadership.highestTerm, replica.leaderID != 0, replica.leaderID != target {
                let hint =
                    replica.leaderID == shard.primary
                    ? "; the primary takes leadership back while it is healthy and caught up" : ""
                throw OpsError(
                    .transferSuperseded,
                    "node \(replica.leaderID) leads shard \(shardID) in term \(replica.term), not node \(target) "
                        + "(node \(leaderID) led in term \(leadership.highestTerm))\(hint)")
            }
        }
        try? await Task.sleep(for: .milliseconds(20))
    }
    throw OpsError(.timeout, "node \(target) did not become leader of shard \(shardID) within \(timeout)")
}
