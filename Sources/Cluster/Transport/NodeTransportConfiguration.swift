public import Raft
public import Wire

/// Where a peer node listens for node-to-node connections.
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    /// 1...65,535; 0 means "not known yet": the peer is not dialled until `NodeTransport.updatePeerAddress` gives
    /// its port (tests bind port 0 and learn the real port after `start()`).
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// Settings of a `NodeTransport`. Every field has a default and a checked range; `validate()` names the field.
public struct NodeTransportConfiguration: Sendable, Hashable {
    /// The cluster's name; peers presenting another name are rejected. Default: none (required).
    /// Range: 1-64 bytes of printable ASCII (`Handshake.isValidClusterName`).
    public var clusterName: String
    /// This node. Default: none (required). Range: 1...UInt64.max (0 means "any" in a handshake).
    public var nodeID: NodeID
    /// Interface to listen on. Default: "127.0.0.1". Range: non-empty.
    public var listenHost: String
    /// Port to listen on; 0 picks an ephemeral port (read it back with `NodeTransport.boundPort`).
    /// Default: 0. Range: 0...65,535.
    public var listenPort: Int
    /// Every other node of the cluster and its address. Only these may connect (others are rejected with
    /// `unknownNode`), and this node dials each of them. Default: empty. Range: at most 1,024 peers, none equal
    /// to `nodeID` or 0, hosts non-empty, ports 0...65,535 (0: not dialled until an address is known).
    public var peers: [NodeID: PeerAddress]
    /// Largest whole frame (length field included) sent or accepted. A connection receiving a larger frame is
    /// closed; a larger outgoing message is dropped. Default: `Frame.nodeMaxFrameBytesDefault` (128 MiB).
    /// Range: 1,024...`Frame.absoluteMaxFrameBytes`.
    public var maxFrameBytes: Int
    /// Most messages waiting for one peer's connection; beyond it `send` drops. Default: 8,192.
    /// Range: 1...1,048,576.
    public var outboundQueueMessagesMax: Int
    /// Most encoded bytes waiting for one peer's connection; beyond it `send` drops. NIO's own outbound buffer
    /// adds at most its high watermark (64 KiB) plus one write batch on top. Default: 64 MiB.
    /// Range: 1,024...2^40.
    public var outboundQueueBytesMax: Int
    /// Most bytes coalesced into one write+flush on a peer's connection. Default: 1 MiB.
    /// Range: 1,024...2^30.
    public var writeBatchBytesMax: Int
    /// Most received messages waiting for the node loop (`drainInbound`); beyond it received messages are
    /// dropped and counted. Default: 65,536. Range: 1...16,777,216.
    public var inboundQueueMessagesMax: Int
    /// Most received bytes (frame sizes) waiting for the node loop; beyond it received messages are dropped.
    /// Default: 256 MiB. Range: 1,024...2^40.
    public var inboundQueueBytesMax: Int
    /// First delay before redialling a peer after a failed or dropped connection; it doubles per failure up to
    /// `reconnectBackoffMaxMilliseconds`, and each delay is drawn uniformly from [d/2, d] (jitter).
    /// Default: 50. Range: 1...60,000.
    public var reconnectBackoffInitialMilliseconds: Int
    /// Ceiling of the redial delay. Default: 2,000. Range: `reconnectBackoffInitialMilliseconds`...600,000.
    public var reconnectBackoffMaxMilliseconds: Int
    /// Limit on a TCP connect, and separately on the handshake that follows it (both sides close a connection
    /// whose handshake did not finish in time). Default: 1,000. Range: 1...600,000.
    public var connectTimeoutMilliseconds: Int
    /// Event loop threads when the transport creates its own group (ignored when a group is passed in).
    /// Default: 1. Range: 1...64.
    public var eventLoopThreads: Int

    public init(
        clusterName: String, nodeID: NodeID, listenHost: String = "127.0.0.1", listenPort: Int = 0,
        peers: [NodeID: PeerAddress] = [:], maxFrameBytes: Int = Frame.nodeMaxFrameBytesDefault,
        outboundQueueMessagesMax: Int = 8_192, outboundQueueBytesMax: Int = 64 << 20,
        writeBatchBytesMax: Int = 1 << 20, inboundQueueMessagesMax: Int = 65_536,
        inboundQueueBytesMax: Int = 256 << 20, reconnectBackoffInitialMilliseconds: Int = 50,
        reconnectBackoffMaxMilliseconds: Int = 2_000, connectTimeoutMilliseconds: Int = 1_000,
        eventLoopThreads: Int = 1
    ) {
        self.clusterName = clusterName
        self.nodeID = nodeID
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.peers = peers
        self.maxFrameBytes = maxFrameBytes
        self.outboundQueueMessagesMax = outboundQueueMessagesMax
        self.outboundQueueBytesMax = outboundQueueBytesMax
        self.writeBatchBytesMax = writeBatchBytesMax
        self.inboundQueueMessagesMax = inboundQueueMessagesMax
        self.inboundQueueBytesMax = inboundQueueBytesMax
        self.reconnectBackoffInitialMilliseconds = reconnectBackoffInitialMilliseconds
        self.reconnectBackoffMaxMilliseconds = reconnectBackoffMaxMilliseconds
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.eventLoopThreads = eventLoopThreads
    }

    /// Throws `NodeTransportError(.invalidConfiguration)` naming the first field out of range.
    public func validate() throws(NodeTransportError) {
        func check(_ ok: Bool, _ field: String, _ rule: String) throws(NodeTransportError) {
            if !ok { throw NodeTransportError(.invalidConfiguration, "\(field) must be \(rule)") }
        }
        try check(Handshake.isValidClusterName(clusterName), "clusterName", "1-64 bytes of printable ASCII")
        try check(nodeID != 0, "nodeID", "in 1...UInt64.max")
        try check(!listenHost.isEmpty, "listenHost", "non-empty")
        try check((0...65_535).contains(listenPort), "listenPort", "in 0...65535")
        try check(peers.count <= 1_024, "peers", "at most 1024 entries")
        for (id, address) in peers.sorted(by: { $0.key < $1.key }) {
            try check(id != 0 && id != nodeID, "peers[\(id)]", "a node id other than 0 and nodeID")
            try check(!address.host.isEmpty, "peers[\(id)].host", "non-empty")
            try check((0...65_535).contains(address.port), "peers[\(id)].port", "in 0...65535")
        }
        try check(
            (1_024...Frame.absoluteMaxFrameBytes).contains(maxFrameBytes), "maxFrameBytes",
            "in 1024...\(Frame.absoluteMaxFrameBytes)")
        try check((1...1_048_576).contains(outboundQueueMessagesMax), "outboundQueueMessagesMax", "in 1...1048576")
        try check((1_024...(1 << 40)).contains(outboundQueueBytesMax), "outboundQueueBytesMax", "in 1024...2^40")
        try check((1_024...(1 << 30)).contains(writeBatchBytesMax), "writeBatchBytesMax", "in 1024...2^30")
        try check((1...16_777_216).contains(inboundQueueMessagesMax), "inboundQueueMessagesMax", "in 1...16777216")
        try check((1_024...(1 << 40)).contains(inboundQueueBytesMax), "inboundQueueBytesMax", "in 1024...2^40")
        try check(
            (1...60_000).contains(reconnectBackoffInitialMilliseconds), "reconnectBackoffInitialMilliseconds",
            "in 1...60000")
        try check(
            (reconnectBackoffInitialMilliseconds...600_000).contains(reconnectBackoffMaxMilliseconds),
            "reconnectBackoffMaxMilliseconds", "in reconnectBackoffInitialMilliseconds...600000")
        try check((1...600_000).contains(connectTimeoutMilliseconds), "connectTimeoutMilliseconds", "in 1...600000")
        try check((1...64).contains(eventLoopThreads), "eventLoopThreads", "in 1...64")
    }
}

/// An operating error of the node transport.
public struct NodeTransportError: Error, Sendable, CustomStringConvertible {
    public enum Code: UInt16, Sendable, Hashable {
        case invalidConfiguration = 1
        case bindFailed = 2
        /// `start()` called twice, or after `stop()`.
        case invalidState = 3
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "NodeTransportError(\(code)): \(message): \(underlying)" }
        return "NodeTransportError(\(code)): \(message)"
    }
}
