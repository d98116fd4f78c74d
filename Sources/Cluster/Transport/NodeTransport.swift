public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
public import Raft
import Wire

/// TCP transport of Raft messages between the nodes of one cluster (docs/PROTOCOL.md section 6).
///
/// **Connections.** Every node dials every configured peer and keeps one *outbound* connection per peer; it
/// sends only on connections it dialled and receives on connections it accepted. Two nodes therefore hold two
/// TCP connections, one per direction, with no tie-breaking: a node that restarts simply dials again, and the
/// acceptor replaces an older accepted connection from the same peer with the newer one. The dialler sends
/// `Handshake` (cluster, own id, expected peer id, version range); the acceptor answers `HandshakeAccept`, or
/// `HandshakeReject` (1 wrong cluster, 2 unknown node, 3 wrong peer, 4 no common version) and closes; a
/// connection arriving while the transport stops is closed without an answer.
/// No Raft frame is accepted before the handshake; any frame that fails to decode or comes out of order closes
/// that connection and nothing else.
///
/// **Threads.** `send` may be called from any thread and never blocks beyond a short lock: it encodes the
/// frame on the caller's thread and appends it to the peer's bounded queue (`outboundQueueMessagesMax`,
/// `outboundQueueBytesMax`; drops are counted, Raft tolerates loss). The connection's event loop drains the queue,
/// coalescing up to `writeBatchBytesMax` of frames into one write+flush, and stops draining while the channel is
/// not writable (a slow peer fills its bounded queue, never memory). Received messages go into one bounded
/// inbound queue that the node loop empties with `drainInbound`; `onInbound` is called (on an event loop) when
/// that queue stops being empty, so a node loop can sleep until there is work.
///
/// **Reconnect.** A failed dial or a lost connection is redialled after an exponential backoff with jitter
/// (`ReconnectBackoff`); messages sent meanwhile wait in the bounded queue.
///
/// - Important: call `start()` once, then `stop()` once; `stop()` must complete before the process exits or the
///   event loop group passed in is shut down.
public final class NodeTransport: Sendable {
    /// Why `send` did not queue a message.
    public enum DropReason: Sendable, Hashable {
        case unknownPeer
        case notRunning
        case queueFull
        case tooLarge
    }

    public enum SendResult: Sendable, Hashable {
        case queued
        case dropped(DropReason)
    }

    private enum Phase { case created, starting, running, stopped }

    private struct State {
        var phase = Phase.created
        var serverChannel: (any Channel)?
        var openChannels: [ObjectIdentifier: any Channel] = [:]
        var acceptedByPeer: [NodeID: any Channel] = [:]
        var counters = NodeTransportCounters()
        var stopCalled = false
    }

    public let configuration: NodeTransportConfiguration
    let logger: Logger
    let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let links: [NodeID: PeerLink]
    let inbound: InboundQueue
    private let onInbound: (@Sendable () -> Void)?
    private let backoff: ReconnectBackoff
    private let state = NIOLockedValueBox(State())

    /// - Parameters:
    ///   - group: event loops to run on; when nil the transport creates `eventLoopThreads` threads and shuts them
    ///     down in `stop()`.
    ///   - onInbound: called on an event loop whenever the inbound queue goes from empty to non-empty. It must not
    ///     block (wake the node loop and return).
    public init(
        configuration: NodeTransportConfiguration, group: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "exchange.node-transport"),
        onInbound: (@Sendable () -> Void)? = nil
    ) throws(NodeTransportError) {
        try configuration.validate()
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "node.id"] = "\(configuration.nodeID)"
        self.logger = logger
        if let group {
            self.group = group
            ownsGroup = false
        } else {
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)
            ownsGroup = true
        }
        var links: [NodeID: PeerLink] = [:]
        for (id, address) in configuration.peers {
            links[id] = PeerLink(
                peerID: id, address: address, messagesMax: configuration.outboundQueueMessagesMax,
                bytesMax: configuration.outboundQueueBytesMax)
        }
        self.links = links
        inbound = InboundQueue(
            messagesMax: configuration.inboundQueueMessagesMax, bytesMax: configuration.inboundQueueBytesMax)
        self.onInbound = onInbound
        backoff = ReconnectBackoff(
            initialMilliseconds: configuration.reconnectBackoffInitialMilliseconds,
            maximumMilliseconds: configuration.reconnectBackoffMaxMilliseconds)
    }

    // MARK: Lifecycle

    /// Binds the listener and starts dialling every peer whose port is known.
    ///
    /// - Throws: `.invalidState` when called twice or after `stop()`; `.bindFailed` when the address is taken.
    public func start() async throws(NodeTransportError) {
        let fresh = state.withLockedValue { state in
            guard state.phase == .created else { return false }
            state.phase = .starting
            return true
        }
        guard fresh else { throw NodeTransportError(.invalidState, "start() may be called once, before stop()") }
        let maxFrameBytes = configuration.maxFrameBytes
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(NodeFrameDecoder(maxFrameBytes: maxFrameBytes)))
                    try channel.pipeline.syncOperations.addHandler(AcceptedConnectionHandler(transport: self))
                }
            }
        let server: any Channel
        do {
            server = try await bootstrap.bind(host: configuration.listenHost, port: configuration.listenPort).get()
        } catch {
            state.withLockedValue { $0.phase = .stopped }
            throw NodeTransportError(
                .bindFailed, "cannot listen on \(configuration.listenHost):\(configuration.listenPort)",
                underlying: error)
        }
        let stoppedMeanwhile = state.withLockedValue { state in
            guard state.phase == .starting else { return true }
            state.phase = .running
            state.serverChannel = server
            return false
        }
        if stoppedMeanwhile {
            try? await server.close()
            throw NodeTransportError(.invalidState, "stop() was called during start()")
        }
        logger.info(
            "node transport listening",
            metadata: ["transport.address": "\(server.localAddress.map { "\($0)" } ?? "?")"])
        for link in links.values {
            link.start()
            dial(link)
        }
    }

    /// The port the listener is bound to (the ephemeral one when `listenPort` is 0); nil before `start()`.
    public var boundPort: Int? {
        state.withLockedValue { $0.serverChannel?.localAddress?.port }
    }

    /// Closes the listener and every connection, cancels pending redials, drops queued messages and, when the
    /// transport created its event loops, shuts them down. Idempotent: a second call returns at once.
    public func stop() async {
        let (firstCall, server): (Bool, (any Channel)?) = state.withLockedValue { state in
            let server = state.serverChannel
            let firstCall = !state.stopCalled
            state.stopCalled = true
            state.phase = .stopped
            state.serverChannel = nil
            return (firstCall, server)
        }
        guard firstCall else { return }
        try? await server?.close()
        var pendingConnects: [EventLoopFuture<any Channel>] = []
        var channels: [any Channel] = []
        for link in links.values {
            let (scheduled, connect, channel) = link.stop()
            scheduled?.cancel()
            if let connect { pendingConnects.append(connect) }
            if let channel { channels.append(channel) }
        }
        for connect in pendingConnects {
            if let channel = try? await connect.get() { channels.append(channel) }
        }
        channels += state.withLockedValue { Array($0.openChannels.values) }
        for channel in channels {
            channel.close(promise: nil)
            try? await channel.closeFuture.get()
        }
        if ownsGroup {
            do {
                try await group.shutdownGracefully()
            } catch {
                logger.warning("event loop shutdown failed", metadata: ["error": "\(error)"])
            }
        }
        logger.info("node transport stopped")
    }

    private var isRunning: Bool { state.withLockedValue { $0.phase == .running } }

    // MARK: Sending

    /// Queues `message` for node `message.to`, as a Raft frame of `group`. Never blocks; call from any thread.
    ///
    /// The frame is encoded here, on the caller's thread. It is dropped (and counted) when the peer is unknown,
    /// the transport is not running, the peer's queue is full (also when the peer has been down long enough to
    /// fill it) or the frame exceeds `maxFrameBytes`.
    @discardableResult
    public func send(_ message: Message, group: UInt32) -> SendResult {
        guard let link = links[message.to] else {
            state.withLockedValue { $0.counters.droppedUnknownPeer += 1 }
            return .dropped(.unknownPeer)
        }
        // Length field, version, kind, group id, message.
        let frameBytes = Frame.headerByteCount + 4 + RaftWire.encodedByteCount(of: message)
        guard frameBytes <= configuration.maxFrameBytes, frameBytes <= configuration.outboundQueueBytesMax else {
            link.countTooLarge()
            return .dropped(.tooLarge)
        }
        let frame = NodeMessage.raft(RaftEnvelope(group: RaftGroupID(group), message: message)).encodedFrame()
        assert(frame.count == frameBytes, "Raft frame size disagrees with RaftWire.encodedByteCount")
        switch link.enqueue(frame) {
        case .queued(let channel):
            if let channel {
                channel.eventLoop.execute { self.drain(link) }
            }
            return .queued
        case .full:
            return .dropped(.queueFull)
        case .notRunning:
            state.withLockedValue { $0.counters.droppedNotRunning += 1 }
            return .dropped(.notRunning)
        }
    }

    /// Writes the peer's queue into its channel in batches of at most `writeBatchBytesMax`, while the channel
    /// is writable. Runs on the channel's event loop.
    func drain(_ link: PeerLink) {
        while let batch = link.takeBatch(maxBytes: configuration.writeBatchBytesMax) {
            let buffer = NodeFrameBytes.buffer(
                batch.frames, byteCount: batch.byteCount, allocator: batch.channel.allocator)
            batch.channel.writeAndFlush(buffer, promise: nil)
            if !batch.more { return }
        }
    }

    // MARK: Receiving

    /// Takes up to `maxMessages` received messages, oldest first. Never blocks; meant for the node loop.
    public func drainInbound(maxMessages: Int = .max) -> [InboundRaftMessage] {
        inbound.drain(maxMessages: maxMessages)
    }

    func deliver(from peer: NodeID, envelope: RaftEnvelope, byteCount: Int) {
        links[peer]?.countReceived(bytes: byteCount)
        let message = InboundRaftMessage(
            from: peer, group: envelope.group.rawValue, message: envelope.message, byteCount: byteCount)
        switch inbound.push(message) {
        case .queuedFirst: onInbound?()
        case .queued: break
        case .full: state.withLockedValue { $0.counters.droppedInboundFull += 1 }
        }
    }

    // MARK: Peers

    /// Sets (or changes) a peer's address and dials it now if it was not connected. Unknown ids are ignored:
    /// the set of peers is fixed by the configuration.
    public func updatePeerAddress(_ peer: NodeID, _ address: PeerAddress) {
        guard let link = links[peer] else { return }
        if link.updateAddress(address) { dial(link) }
    }

    /// A snapshot of every counter.
    public var counters: NodeTransportCounters {
        var counters = state.withLockedValue { state in
            var counters = state.counters
            counters.openConnections = state.openChannels.count
            return counters
        }
        counters.inboundQueued = inbound.count
        for (id, link) in links { counters.peers[id] = link.counters }
        return counters
    }

    // MARK: Dialling (internal, used by the handlers)

    func dial(_ link: PeerLink) {
        guard isRunning, let address = link.beginDial() else { return }
        let maxFrameBytes = configuration.maxFrameBytes
        let future = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(configuration.connectTimeoutMilliseconds)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(NodeFrameDecoder(maxFrameBytes: maxFrameBytes)))
                    try channel.pipeline.syncOperations.addHandler(
                        DialledConnectionHandler(transport: self, link: link))
                }
            }
            .connect(host: address.host, port: address.port)
        guard link.dialStarted(future) else {
            future.whenSuccess { $0.close(promise: nil) }
            return
        }
        future.whenFailure { [self] error in
            logger.debug(
                "dial failed",
                metadata: ["peer.id": "\(link.peerID)", "peer.address": "\(address)", "error": "\(error)"])
            if link.dialFailed() { scheduleRedial(link) }
        }
    }

    func scheduleRedial(_ link: PeerLink) {
        guard isRunning else { return }
        let loop = group.next()
        link.scheduleRedial(backoff: backoff) { delay in
            loop.scheduleTask(in: .milliseconds(Int64(delay))) { [self] in dial(link) }
        }
    }

    /// Registers an active channel so that `stop()` closes it; false when the transport is not running.
    func channelOpened(_ channel: any Channel) -> Bool {
        state.withLockedValue { state in
            guard state.phase == .running else { return false }
            state.openChannels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func channelClosed(_ channel: any Channel, acceptedFrom peer: NodeID?) {
        state.withLockedValue { state in
            state.openChannels[ObjectIdentifier(channel)] = nil
            if let peer, let current = state.acceptedByPeer[peer], current === channel {
                state.acceptedByPeer[peer] = nil
            }
        }
    }

    /// Records an accepted handshake; returns the older connection from the same peer, which the caller closes.
    func acceptedEstablished(_ channel: any Channel, from peer: NodeID) -> (any Channel)? {
        state.withLockedValue { state in
            state.counters.acceptedConnections += 1
            let previous = state.acceptedByPeer[peer]
            state.acceptedByPeer[peer] = channel
            return previous
        }
    }

    var knownPeers: Set<NodeID> { Set(links.keys) }

    func countRejectSent(_ reason: HandshakeReject.Reason) {
        state.withLockedValue { $0.counters.handshakeRejectsSent[reason, default: 0] += 1 }
    }

    func countRejectReceived(_ reason: HandshakeReject.Reason) {
        state.withLockedValue { $0.counters.handshakeRejectsReceived[reason, default: 0] += 1 }
    }

    func countDecodeError() {
        state.withLockedValue { $0.counters.decodeErrors += 1 }
    }

    func countHandshakeTimeout() {
        state.withLockedValue { $0.counters.handshakeTimeouts += 1 }
    }
}
