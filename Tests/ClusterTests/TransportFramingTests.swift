import Cluster
import NIOCore
import NIOEmbedded
import NIOPosix
import Raft
import Testing
import Wire

/// The frame decoder on `EmbeddedChannel`, the handshake rules, the backoff and the configuration checks.
@Suite("Transport framing and rules")
struct TransportFramingTests {
    static func raftFrame(group: UInt32, _ message: Message) -> [UInt8] {
        NodeMessage.raft(RaftEnvelope(group: RaftGroupID(group), message: message)).encodedFrame()
    }

    static let messages = TransportTestSupport.sampleMessages(from: 1, to: 2, count: 10, seed: 3)

    @Test("decoder: frames fed byte by byte come out whole")
    func byteByByte() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(NodeFrameDecoder(maxFrameBytes: 1 << 16)))
        let bytes = Self.messages.enumerated().flatMap { Self.raftFrame(group: UInt32($0.offset), $0.element) }
        var frames: [Frame] = []
        for byte in bytes {
            var buffer = channel.allocator.buffer(capacity: 1)
            buffer.writeInteger(byte)
            try channel.writeInbound(buffer)
            while let frame = try channel.readInbound(as: Frame.self) { frames.append(frame) }
        }
        #expect(frames.count == Self.messages.count)
        for (index, frame) in frames.enumerated() {
            let decoded = try NodeMessage(decoding: frame)
            #expect(decoded == .raft(RaftEnvelope(group: RaftGroupID(UInt32(index)), message: Self.messages[index])))
        }
        #expect(try channel.finish().isClean)
    }

    @Test("decoder: many frames in one read, and a split across reads")
    func coalescedAndSplit() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(NodeFrameDecoder(maxFrameBytes: 1 << 16)))
        let bytes = Self.messages.flatMap { Self.raftFrame(group: 9, $0) }
        let cut = bytes.count / 2 + 3
        var first = channel.allocator.buffer(capacity: cut)
        first.writeBytes(bytes[..<cut])
        var second = channel.allocator.buffer(capacity: bytes.count - cut)
        second.writeBytes(bytes[cut...])
        try channel.writeInbound(first)
        var count = 0
        while try channel.readInbound(as: Frame.self) != nil { count += 1 }
        #expect(count > 0 && count < Self.messages.count)
        try channel.writeInbound(second)
        while try channel.readInbound(as: Frame.self) != nil { count += 1 }
        #expect(count == Self.messages.count)
        #expect(try channel.finish().isClean)
    }

    @Test("decoder: an oversized length fails as soon as the length field arrives")
    func oversizedFrame() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(NodeFrameDecoder(maxFrameBytes: 1_024)))
        var buffer = channel.allocator.buffer(capacity: 4)
        buffer.writeInteger(UInt32(5_000), endianness: .little)
        #expect(throws: WireError.self) { try channel.writeInbound(buffer) }
        _ = try? channel.finish()
    }

    @Test("decoder: an unknown frame kind and a short length are refused")
    func badHeaders() throws {
        for header in [[3, 0, 0, 0, 1, 0, 0x7F] as [UInt8], [2, 0, 0, 0], [3, 0, 0, 0, 9, 0, 4]] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(NodeFrameDecoder(maxFrameBytes: 1_024)))
            var buffer = channel.allocator.buffer(capacity: header.count)
            buffer.writeBytes(header)
            #expect(throws: WireError.self) { try channel.writeInbound(buffer) }
            _ = try? channel.finish()
        }
    }

    @Test("handshake rules: each reject reason, and accept")
    func handshakeTranscript() {
        func answer(_ handshake: Handshake) -> HandshakeAnswer {
            HandshakePolicy.answer(to: handshake, clusterName: "prod", nodeID: 2, knownPeers: [1, 3])
        }
        func reason(_ answer: HandshakeAnswer) -> HandshakeReject.Reason? {
            if case .reject(let reject) = answer { return reject.reason }
            return nil
        }
        #expect(reason(answer(Handshake(clusterName: "test", nodeID: 1, peerNodeID: 2))) == .wrongCluster)
        #expect(reason(answer(Handshake(clusterName: "prod", nodeID: 7, peerNodeID: 2))) == .unknownNode)
        #expect(reason(answer(Handshake(clusterName: "prod", nodeID: 2, peerNodeID: 2))) == .unknownNode)
        #expect(reason(answer(Handshake(clusterName: "prod", nodeID: 1, peerNodeID: 3))) == .wrongPeer)
        #expect(
            reason(
                answer(Handshake(clusterName: "prod", nodeID: 1, peerNodeID: 2, minimumVersion: 2, maximumVersion: 5)))
                == .noCommonVersion)
        #expect(
            answer(Handshake(clusterName: "prod", nodeID: 1, peerNodeID: 2, minimumVersion: 1, maximumVersion: 9))
                == .accept(HandshakeAccept(clusterName: "prod", nodeID: 2, version: 1)))
        #expect(
            answer(Handshake(clusterName: "prod", nodeID: 3, peerNodeID: 0))
                == .accept(HandshakeAccept(clusterName: "prod", nodeID: 2, version: 1)))
        let accept = HandshakeAccept(clusterName: "prod", nodeID: 2, version: 1)
        #expect(HandshakePolicy.isAcceptable(accept, clusterName: "prod", expectedPeer: 2))
        #expect(!HandshakePolicy.isAcceptable(accept, clusterName: "prod", expectedPeer: 3))
        #expect(!HandshakePolicy.isAcceptable(accept, clusterName: "dev", expectedPeer: 2))
    }

    @Test("backoff doubles up to the ceiling and jitters within [d/2, d]")
    func backoff() {
        let backoff = ReconnectBackoff(initialMilliseconds: 50, maximumMilliseconds: 2_000)
        #expect(
            (1...8).map { backoff.ceilingMilliseconds(attempt: $0) } == [50, 100, 200, 400, 800, 1_600, 2_000, 2_000])
        #expect(backoff.ceilingMilliseconds(attempt: 1_000) == 2_000)
        var random = SystemRandomNumberGenerator()
        for attempt in 1...12 {
            let ceiling = backoff.ceilingMilliseconds(attempt: attempt)
            let delay = backoff.delayMilliseconds(attempt: attempt, using: &random)
            #expect(delay >= ceiling / 2 && delay <= ceiling)
        }
    }

    @Test("configuration: defaults are valid and each bad field is named")
    func configurationValidation() {
        let good = NodeTransportConfiguration(
            clusterName: "prod", nodeID: 1, peers: [2: PeerAddress(host: "h", port: 7000)])
        #expect(throws: Never.self) { try good.validate() }
        func field(_ change: (inout NodeTransportConfiguration) -> Void) -> String {
            var configuration = good
            change(&configuration)
            do {
                try configuration.validate()
                return "valid"
            } catch {
                return String(error.message.prefix(while: { $0 != " " }))
            }
        }
        #expect(field { $0.clusterName = "" } == "clusterName")
        #expect(field { $0.nodeID = 0 } == "nodeID")
        #expect(field { $0.listenPort = 70_000 } == "listenPort")
        #expect(field { $0.peers[1] = PeerAddress(host: "h", port: 1) } == "peers[1]")
        #expect(field { $0.peers[2] = PeerAddress(host: "h", port: -1) } == "peers[2].port")
        #expect(field { $0.maxFrameBytes = 10 } == "maxFrameBytes")
        #expect(field { $0.outboundQueueMessagesMax = 0 } == "outboundQueueMessagesMax")
        #expect(field { $0.outboundQueueBytesMax = 0 } == "outboundQueueBytesMax")
        #expect(field { $0.writeBatchBytesMax = 0 } == "writeBatchBytesMax")
        #expect(field { $0.inboundQueueMessagesMax = 0 } == "inboundQueueMessagesMax")
        #expect(field { $0.inboundQueueBytesMax = 0 } == "inboundQueueBytesMax")
        #expect(field { $0.reconnectBackoffInitialMilliseconds = 0 } == "reconnectBackoffInitialMilliseconds")
        #expect(field { $0.reconnectBackoffMaxMilliseconds = 10 } == "reconnectBackoffMaxMilliseconds")
        #expect(field { $0.connectTimeoutMilliseconds = 0 } == "connectTimeoutMilliseconds")
        #expect(field { $0.eventLoopThreads = 0 } == "eventLoopThreads")
    }
}

/// Raw TCP clients that misbehave against a running transport.
@Suite("Transport against malformed peers")
struct TransportMalformedPeerTests {
    typealias Support = TransportTestSupport

    /// Connects a bare channel to `port`, writes `bytes`, and waits for the transport to close it.
    static func sendRawAndAwaitClose(_ bytes: [UInt8], port: Int, group: any EventLoopGroup) async throws -> Bool {
        let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try await channel.writeAndFlush(buffer)
        let closed = await Support.waitUntil { !channel.isActive }
        try? await channel.close()
        return closed
    }

    @Test("a malformed frame closes that connection only; the cluster keeps working")
    func malformedFrameClosesConnection() async throws {
        let (a, b, portA, _) = try await Support.connectedPair(extraPeers: [3])
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        // A Raft frame before any handshake.
        let early = TransportFramingTests.raftFrame(group: 1, Message(kind: .heartbeat, from: 3, to: 1, term: 1))
        #expect(try await Self.sendRawAndAwaitClose(early, port: portA, group: group))
        #expect(await Support.waitUntil { a.counters.decodeErrors == 1 })

        // A valid handshake as node 3, then a Raft frame whose payload is cut short (length still consistent).
        let handshake = NodeMessage.handshake(Handshake(clusterName: Support.cluster, nodeID: 3, peerNodeID: 1))
            .encodedFrame()
        var truncated = TransportFramingTests.raftFrame(group: 1, Message(kind: .heartbeat, from: 3, to: 1, term: 1))
        truncated.removeLast(5)
        let newLength = UInt32(truncated.count - 4)
        for i in 0..<4 { truncated[i] = UInt8(truncatingIfNeeded: newLength >> (8 * UInt32(i))) }
        #expect(try await Self.sendRawAndAwaitClose(handshake + truncated, port: portA, group: group))
        #expect(await Support.waitUntil { a.counters.decodeErrors == 2 })
        #expect(a.counters.acceptedConnections == 2)

        // Garbage that is not even a frame header.
        #expect(try await Self.sendRawAndAwaitClose(Array(repeating: 0xFF, count: 16), port: portA, group: group))
        #expect(await Support.waitUntil { a.counters.decodeErrors == 3 })
        #expect(a.drainInbound().isEmpty)

        // Node 2's connection is untouched and still delivers.
        #expect(a.counters.peers[2]?.connected == true)
        let message = Message(kind: .heartbeat, from: 2, to: 1, term: 4, commit: 3)
        #expect(b.send(message, group: 8) == .queued)
        let atA = await Support.receive(1, from: a)
        #expect(atA.map(\.message) == [message])
        #expect(b.counters.peers[1]?.disconnects == 0)

        try await group.shutdownGracefully()
        await a.stop()
        await b.stop()
    }

    @Test("a connection that never sends its handshake is closed after the timeout")
    func silentConnectionTimesOut() async throws {
        var configuration = Support.configuration(1, peers: [2])
        configuration.connectTimeoutMilliseconds = 100
        let (a, portA) = try await Support.started(configuration)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        #expect(try await Self.sendRawAndAwaitClose([], port: portA, group: group))
        #expect(a.counters.handshakeTimeouts == 1)
        #expect(a.counters.decodeErrors == 0)
        try await group.shutdownGracefully()
        await a.stop()
    }
}

/// A fake peer that accepts the handshake and then never reads again (a stalled node).
final class StalledPeerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let nodeID: NodeID
    private var answered = false

    init(nodeID: NodeID) { self.nodeID = nodeID }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        let accept = NodeMessage.handshakeAccept(
            HandshakeAccept(clusterName: TransportTestSupport.cluster, nodeID: nodeID, version: 1))
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeBytes(accept.encodedFrame())
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }
}

@Suite("Transport against a slow peer")
struct TransportSlowPeerTests {
    typealias Support = TransportTestSupport

    @Test("a peer that stops reading fills only its bounded queue; the rest is dropped and counted")
    func stalledPeerBoundsMemory() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StalledPeerHandler(nodeID: 2))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let stalledPort = try #require(server.localAddress?.port)

        let queueBytes = 1 << 20
        var configuration = Support.configuration(1, peers: [2], queueBytes: queueBytes)
        configuration.peers[2] = PeerAddress(host: "127.0.0.1", port: stalledPort)
        let (a, _) = try await Support.started(configuration)
        #expect(await Support.waitUntil { a.counters.peers[2]?.connected == true })

        let entry = Entry(term: 1, index: 1, data: Array(repeating: 0x5A, count: 16 << 10))
        let total = 5_000  // about 80 MiB offered, far beyond the queue and the kernel's socket buffers
        var dropped = 0
        for i in 0..<total {
            let message = Message(kind: .append, from: 1, to: 2, term: 1, index: UInt64(i), entries: [entry])
            if case .dropped(let reason) = a.send(message, group: 1) {
                #expect(reason == .queueFull)
                dropped += 1
            }
        }
        let peer = try #require(a.counters.peers[2])
        #expect(dropped > 0)
        #expect(peer.droppedQueueFull == dropped)
        #expect(peer.queuedBytes <= queueBytes)
        // What left the queue went into the socket (kernel buffers plus NIO's watermark and one batch), which
        // a stalled reader bounds: it is far less than what was offered.
        #expect(peer.messagesSent + peer.queuedMessages + dropped == total)
        #expect(peer.bytesSent < total * (16 << 10) / 2)
        #expect(peer.connected)

        await a.stop()
        try await server.close()
        try await group.shutdownGracefully()
    }
}
