public import Raft

/// A TCP endpoint as written in the file: `host:port`, where host is a DNS name, an IPv4 literal or a bracketed
/// IPv6 literal (`[::1]:7101`).
public struct NetworkAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name (lower-cased) or IP literal, without brackets.
    public var host: String
    /// Range: 1...65535.
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// True for `0.0.0.0` and `::`: fine to bind (metrics), useless to dial (Raft and client addresses).
    public var isUnspecified: Bool { host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0" }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// One node (process) of the cluster. A node hosts replicas of any number of shards.
public struct NodeDefinition: Sendable, Hashable {
    /// Node id, sent in the node handshake and used as the Raft replica id.
    /// Default: none (required). Range: 1...UInt64.max, unique in the cluster.
    public var id: NodeID
    /// Where the other nodes dial this node's Raft transport; the node binds it. Default: none (required). `host:port`,
    /// port 1...65535, not `0.0.0.0`/`::`; no two addresses of the cluster are equal.
    public var raftAddress: NetworkAddress
    /// Where clients (gateway, `exchange-load`, `exchangectl`) reach this node's client protocol.
    /// Default: none (required).
    /// Same rules as `raftAddress`.
    public var clientAddress: NetworkAddress
    /// Prometheus endpoint (HTTP `GET /metrics`). Default: none (required).
    /// Range: `host:port`, port 1...65535 (`0.0.0.0` allowed); unique in the cluster.
    public var metricsAddress: NetworkAddress
    /// Region label. Default: none (required). 1-64 characters of `A-Z a-z 0-9 . _ -`.
    public var region: String
    /// Zone label (failure domain inside the region). Default: none (required). Same characters as `region`.
    public var zone: String
    /// Where this node keeps its logs, snapshots and hard state. Default: nil, meaning
    /// `<ClusterDefinition.dataDirectory>/node-<id>` (see `ClusterDefinition.dataDirectory(for:)`).
    /// Range: a non-empty path without NUL; unique in the cluster once resolved.
    public var dataDirectory: String?

    public init(
        id: NodeID, raftAddress: NetworkAddress, clientAddress: NetworkAddress, metricsAddress: NetworkAddress,
        region: String, zone: String, dataDirectory: String? = nil
    ) {
        self.id = id
        self.raftAddress = raftAddress
        self.clientAddress = clientAddress
        self.metricsAddress = metricsAddress
        self.region = region
        self.zone = zone
        self.dataDirectory = dataDirectory
    }

    /// The node's location for the Raft geo commit rule.
    public var location: NodeLocation { NodeLocation(region: region, zone: zone) }
}
