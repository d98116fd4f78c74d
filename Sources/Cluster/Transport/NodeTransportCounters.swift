public import Raft
public import Wire

/// A snapshot of the transport's counters, for metrics and tests. Counts only grow (except the queue gauges).
public struct NodeTransportCounters: Sendable, Hashable {
    /// Counters of one configured peer.
    public struct Peer: Sendable, Hashable {
        /// Raft messages and frame bytes handed to this peer's connection (written to the socket buffer).
        public var messagesSent = 0
        public var bytesSent = 0
        /// Raft messages and frame bytes received from this peer (on connections it dialled).
        public var messagesReceived = 0
        public var bytesReceived = 0
        /// Write batches (one write+flush each) on the dialled connection; `messagesSent / writeBatches` is the
        /// mean batch size.
        public var writeBatches = 0
        /// Dialled connections whose handshake was accepted.
        public var connects = 0
        /// Dials that failed: TCP connect error or timeout, handshake rejected, timed out or answered wrongly.
        public var connectFailures = 0
        /// Established dialled connections that were lost.
        public var disconnects = 0
        /// `send` refused: the queue held `outboundQueueMessagesMax` messages or `outboundQueueBytesMax` bytes.
        public var droppedQueueFull = 0
        /// `send` refused: the frame would exceed `maxFrameBytes` or the whole byte bound.
        public var droppedTooLarge = 0
        /// Gauges: messages and bytes waiting for the connection now.
        public var queuedMessages = 0
        public var queuedBytes = 0
        /// Whether the dialled connection to the peer has completed its handshake now.
        public var connected = false

        public init() {}
    }

    public var peers: [NodeID: Peer] = [:]
    /// Handshakes this node refused as acceptor, by reason.
    public var handshakeRejectsSent: [HandshakeReject.Reason: Int] = [:]
    /// Rejections this node received as dialler, by reason.
    public var handshakeRejectsReceived: [HandshakeReject.Reason: Int] = [:]
    /// Inbound connections whose handshake was accepted.
    public var acceptedConnections = 0
    /// Connections closed because a frame did not decode or came out of order (a Raft frame before the
    /// handshake, a handshake after it, a frame on the dialled side).
    public var decodeErrors = 0
    /// Connections closed because the handshake did not finish within `connectTimeoutMilliseconds`.
    public var handshakeTimeouts = 0
    /// `send` to a node that is not a configured peer.
    public var droppedUnknownPeer = 0
    /// `send` before `start()` or after `stop()`.
    public var droppedNotRunning = 0
    /// Received messages dropped because the inbound queue was full.
    public var droppedInboundFull = 0
    /// Gauge: received messages waiting for `drainInbound`.
    public var inboundQueued = 0
    /// Gauge: open TCP connections, dialled and accepted (0 after `stop()`).
    public var openConnections = 0

    public init() {}

    /// Sum of `handshakeRejectsSent`.
    public var totalHandshakeRejectsSent: Int { handshakeRejectsSent.values.reduce(0, +) }
}
