public import Cluster
public import ClusterConfig

/// What the shards say they executed and how far their outbox publishers got: the "executed" side of
/// post-trade reconciliation.
public struct ExecutedTrades: Sendable, Hashable, Codable {
    public struct Shard: Sendable, Hashable, Codable {
        public var shardID: UInt32
        /// Trades the shard executed since its outbox started (highest among the replicas that answered).
        public var tradesExecuted: UInt64?
        /// Events committed and not yet recorded as published (from the same replica).
        public var pendingEvents: Int?
        public var publishedThrough: UInt64?
        /// Why no replica answered, or why the shard has no outbox.
        public var error: String?
    }

    public var shards: [Shard]

    /// Sum over the shards; nil when any shard did not answer.
    public var total: UInt64? {
        var sum: UInt64 = 0
        for shard in shards {
            guard let trades = shard.tradesExecuted else { return nil }
            sum += trades
        }
        return sum
    }

    /// Every shard answered and has nothing left to publish.
    public var fullyPublished: Bool { shards.allSatisfy { $0.pendingEvents == 0 } }

    /// Asks every replica of every shard (`GET /shards/{S}/state`) and keeps, per shard, the answer of the
    /// replica that applied the most (replicas apply the same log; the most advanced one saw every trade that
    /// the others saw). Never throws: a shard nobody answers for carries the last error.
    public static func fetch(_ definition: ClusterDefinition, timeout: Duration) async -> ExecutedTrades {
        var result: [Shard] = []
        for shard in definition.shards {
            var best: (applied: UInt64, outbox: ShardStateReport.Outbox)?
            var lastError: String?
            for replica in shard.replicas {
                guard let node = definition.node(id: replica.node) else { continue }
                do {
                    let state = try await ShardEndpoints.fetchState(
                        host: dialHost(node.metricsAddress), port: Int(node.metricsAddress.port), shard: shard.id,
                        timeout: timeout)
                    guard let outbox = state.outbox else {
                        lastError = "node \(node.id) keeps no outbox for shard \(shard.id) (postTrade.outbox is off)"
                        continue
                    }
                    if best == nil || state.appliedIndex > best!.applied { best = (state.appliedIndex, outbox) }
                } catch {
                    lastError = "node \(node.id): \(error)"
                }
            }
            result.append(
                Shard(
                    shardID: shard.id, tradesExecuted: best?.outbox.tradesExecuted,
                    pendingEvents: best?.outbox.pendingEvents, publishedThrough: best?.outbox.publishedThrough,
                    error: best == nil ? (lastError ?? "no replica answered") : nil))
        }
        return ExecutedTrades(shards: result)
    }
}
