public import ClusterConfig
public import ExchangeCore

/// What the client needs to know about a cluster: which shard owns each symbol, and where each shard's replicas
/// take client connections, in the order to try them (the primary first).
public struct ClusterRoutes: Sendable, Hashable {
    /// One replica a client may send to: its node id (0 when unknown) and its client address.
    public struct Replica: Sendable, Hashable {
        public var node: UInt64
        public var address: NetworkAddress

        public init(node: UInt64, address: NetworkAddress) {
            self.node = node
            self.address = address
        }
    }

    /// Replicas per shard id, in try order (the first is the leader believed at start).
    public private(set) var shards: [UInt32: [Replica]]
    /// The shard id of every routable symbol.
    public private(set) var symbols: [Symbol: UInt32]

    /// Routes from an explicit table.
    ///
    /// - Throws: `invalidConfiguration` when a shard has no replica, a symbol names an undefined shard, or a port
    ///   is 0.
    public init(shards: [UInt32: [Replica]], symbols: [Symbol: UInt32]) throws(ExchangeClientError) {
        for (shard, replicas) in shards {
            guard !replicas.isEmpty else {
                throw ExchangeClientError(.invalidConfiguration, "shard \(shard) has no replica")
            }
            for replica in replicas where replica.address.port == 0 || replica.address.host.isEmpty {
                throw ExchangeClientError(
                    .invalidConfiguration, "shard \(shard): replica address \(replica.address) is not dialable")
            }
        }
        for (symbol, shard) in symbols where shards[shard] == nil {
            throw ExchangeClientError(.invalidConfiguration, "symbol \(symbol) maps to undefined shard \(shard)")
        }
        self.shards = shards
        self.symbols = symbols
    }

    /// Routes of a validated cluster definition: every shard's voters in priority order (primary, standby, other
    /// voters) at their nodes' `clientAddress`. Learners never lead, so they are left out.
    public init(cluster: ClusterDefinition) throws(ExchangeClientError) {
        var shards: [UInt32: [Replica]] = [:]
        var symbols: [Symbol: UInt32] = [:]
        for shard in cluster.shards {
            shards[shard.id] = shard.voters.compactMap { node in
                cluster.node(id: node).map { Replica(node: node, address: $0.clientAddress) }
            }
            for symbol in shard.symbols { symbols[symbol] = shard.id }
        }
        try self.init(shards: shards, symbols: symbols)
    }

    func shard(for symbol: Symbol) -> UInt32? { symbols[symbol] }

    /// The replica after `address` in `shard`'s try order (cyclic); the first one when `address` is not a replica.
    func candidate(after address: NetworkAddress, in shard: UInt32) -> NetworkAddress {
        let replicas = shards[shard]!
        guard let index = replicas.firstIndex(where: { $0.address == address }) else { return replicas[0].address }
        return replicas[(index + 1) % replicas.count].address
    }

    /// The client address of node `node` if it is a replica of `shard`.
    func address(ofNode node: UInt64, in shard: UInt32) -> NetworkAddress? {
        guard node != 0 else { return nil }
        return shards[shard]?.first { $0.node == node }?.address
    }
}

extension NetworkAddress {
    /// Parses the `host:port` (or `[ipv6]:port`) of a `NotLeader` hint; nil when it is not one.
    init?(leaderHint text: String) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            if host.contains(":") { return nil }
        }
        guard !host.isEmpty, let number = UInt16(port), number != 0 else { return nil }
        self.init(host: host.lowercased(), port: number)
    }
}
