import Cluster
import Raft
import Testing

/// Helpers shared by the transport tests.
enum TransportTestSupport {
    static let cluster = "test-cluster"

    static func configuration(
        _ nodeID: NodeID, cluster: String = cluster, peers: [NodeID], listenPort: Int = 0,
        queueMessages: Int = 8_192, queueBytes: Int = 64 << 20
    ) -> NodeTransportConfiguration {
        NodeTransportConfiguration(
            clusterName: cluster, nodeID: nodeID, listenHost: "127.0.0.1", listenPort: listenPort,
            peers: Dictionary(uniqueKeysWithValues: peers.map { ($0, PeerAddress(host: "127.0.0.1", port: 0)) }),
            outboundQueueMessagesMax: queueMessages, outboundQueueBytesMax: queueBytes,
            reconnectBackoffInitialMilliseconds: 10, reconnectBackoffMaxMilliseconds: 200,
            connectTimeoutMilliseconds: 2_000)
    }

    /// Starts a transport and returns it with its bound port.
    static func started(_ configuration: NodeTransportConfiguration) async throws -> (NodeTransport, Int) {
        let transport = try NodeTransport(configuration: configuration)
        try await transport.start()
        let port = try #require(transport.boundPort)
        return (transport, port)
    }

    /// Polls `condition` until it holds or `seconds` pass (a deadline, not a sleep used as synchronisation).
    static func waitUntil(
        seconds: Double = 10, _ condition: () -> Bool
    ) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    /// Drains `transport` until `count` messages arrived or the deadline passes.
    static func receive(_ count: Int, from transport: NodeTransport, seconds: Double = 10) async
        -> [InboundRaftMessage]
    {
        var received: [InboundRaftMessage] = []
        _ = await waitUntil(seconds: seconds) {
            received += transport.drainInbound()
            return received.count >= count
        }
        return received
    }

    /// A varied set of Raft messages from `from` to `to`: votes, appends with entries, heartbeats, a snapshot
    /// chunk, a rejection.
    static func sampleMessages(from: NodeID, to: NodeID, count: Int, seed: UInt64) -> [Message] {
        (0..<count).map { i in
            let n = UInt64(i) &+ seed
            switch i % 5 {
            case 0:
                return Message(kind: .vote, from: from, to: to, term: n, logTerm: n / 2, index: n * 3)
            case 1:
                return Message(
                    kind: .append, from: from, to: to, term: n, logTerm: n, index: n,
                    entries: [
                        Entry(term: n, index: n + 1, kind: .normal, data: Array(repeating: UInt8(i & 0xFF), count: i)),
                        Entry(term: n, index: n + 2, kind: .noop),
                    ],
                    commit: n / 3)
            case 2:
                return Message(kind: .heartbeat, from: from, to: to, term: n, commit: n, context: n ^ 0xABCD)
            case 3:
                return Message(
                    kind: .snapshot, from: from, to: to, term: n, logTerm: n, index: n,
                    snapshot: SnapshotChunk(
                        metadata: SnapshotMetadata(index: n, term: n, membership: Membership(voters: [1, 2, 3])),
                        offset: n, data: [1, 2, 3, UInt8(i & 0xFF)], isLast: i % 2 == 0))
            default:
                return Message(
                    kind: .appendResponse, from: from, to: to, term: n, index: n, reject: true, rejectHint: n - 1)
            }
        }
    }
}

extension TransportTestSupport {
    static func connected(_ a: NodeTransport, _ aID: NodeID, _ b: NodeTransport, _ bID: NodeID) -> Bool {
        a.counters.peers[bID]?.connected == true && b.counters.peers[aID]?.connected == true
    }

    /// Two started transports (nodes 1 and 2, plus `extraPeers` known to both but never started) that know each
    /// other's ports and have connected both ways.
    static func connectedPair(extraPeers: [NodeID] = []) async throws -> (NodeTransport, NodeTransport, Int, Int) {
        let (a, portA) = try await started(configuration(1, peers: [2] + extraPeers))
        let (b, portB) = try await started(configuration(2, peers: [1] + extraPeers))
        a.updatePeerAddress(2, PeerAddress(host: "127.0.0.1", port: portB))
        b.updatePeerAddress(1, PeerAddress(host: "127.0.0.1", port: portA))
        let ok = await waitUntil { connected(a, 1, b, 2) }
        #expect(ok, "nodes 1 and 2 did not connect")
        return (a, b, portA, portB)
    }
}

/// Real loopback TCP between transports on ephemeral ports.
@Suite("Transport over loopback TCP")
struct TransportLoopbackTests {
    typealias Support = TransportTestSupport

    @Test("messages for several groups round-trip exactly, both ways")
    func exchangeBothWays() async throws {
        let (a, b, _, _) = try await Support.connectedPair()
        let groups: [UInt32] = [1, 7, 0xFFFF_FFFF]
        var sentByA: [(UInt32, Message)] = []
        var sentByB: [(UInt32, Message)] = []
        for (index, message) in Support.sampleMessages(from: 1, to: 2, count: 60, seed: 11).enumerated() {
            let group = groups[index % groups.count]
            #expect(a.send(message, group: group) == .queued)
            sentByA.append((group, message))
        }
        for (index, message) in Support.sampleMessages(from: 2, to: 1, count: 45, seed: 1_000).enumerated() {
            let group = groups[(index + 1) % groups.count]
            #expect(b.send(message, group: group) == .queued)
            sentByB.append((group, message))
        }
        let atB = await Support.receive(sentByA.count, from: b)
        let atA = await Support.receive(sentByB.count, from: a)
        // One connection per direction keeps each direction in order.
        #expect(atB.map(\.from) == Array(repeating: 1, count: sentByA.count))
        #expect(atB.map(\.group) == sentByA.map(\.0))
        #expect(atB.map(\.message) == sentByA.map(\.1))
        #expect(atA.map(\.from) == Array(repeating: 2, count: sentByB.count))
        #expect(atA.map(\.group) == sentByB.map(\.0))
        #expect(atA.map(\.message) == sentByB.map(\.1))

        let countersA = a.counters
        let countersB = b.counters
        #expect(countersA.peers[2]?.messagesSent == sentByA.count)
        #expect(countersB.peers[1]?.messagesReceived == sentByA.count)
        #expect(countersA.peers[2]?.bytesSent == countersB.peers[1]?.bytesReceived)
        #expect(countersA.peers[2]?.messagesReceived == sentByB.count)
        #expect((countersA.peers[2]?.writeBatches ?? 0) >= 1)
        #expect(countersA.decodeErrors == 0 && countersB.decodeErrors == 0)
        #expect(countersA.acceptedConnections == 1 && countersB.acceptedConnections == 1)
        #expect(countersA.openConnections == 2)
        await a.stop()
        await b.stop()
        #expect(a.counters.openConnections == 0 && b.counters.openConnections == 0)
        #expect(a.boundPort == nil)
    }

    @Test("a peer of another cluster is rejected and nothing it sends is delivered")
    func wrongClusterRejected() async throws {
        let (a, portA) = try await Support.started(Support.configuration(1, peers: [3]))
        let (c, _) = try await Support.started(Support.configuration(3, cluster: "other-cluster", peers: [1]))
        c.updatePeerAddress(1, PeerAddress(host: "127.0.0.1", port: portA))
        for message in Support.sampleMessages(from: 3, to: 1, count: 5, seed: 1) {
            #expect(c.send(message, group: 1) == .queued)
        }
        let rejected = await Support.waitUntil {
            a.counters.handshakeRejectsSent[.wrongCluster, default: 0] >= 1
                && c.counters.handshakeRejectsReceived[.wrongCluster, default: 0] >= 1
        }
        #expect(rejected)
        #expect(c.counters.peers[1]?.connected == false)
        #expect(c.counters.peers[1]?.messagesSent == 0)
        #expect((c.counters.peers[1]?.connectFailures ?? 0) >= 1)
        #expect(a.drainInbound().isEmpty)
        #expect(a.counters.acceptedConnections == 0)
        await c.stop()
        await a.stop()
    }

    @Test("a node that is not among the peers is rejected")
    func unknownNodeRejected() async throws {
        let (a, portA) = try await Support.started(Support.configuration(1, peers: [2]))
        let (stranger, _) = try await Support.started(Support.configuration(9, peers: [1]))
        stranger.updatePeerAddress(1, PeerAddress(host: "127.0.0.1", port: portA))
        stranger.send(Message(kind: .heartbeat, from: 9, to: 1, term: 1), group: 1)
        let rejected = await Support.waitUntil {
            a.counters.handshakeRejectsSent[.unknownNode, default: 0] >= 1
                && stranger.counters.handshakeRejectsReceived[.unknownNode, default: 0] >= 1
        }
        #expect(rejected)
        #expect(a.counters.totalHandshakeRejectsSent == a.counters.handshakeRejectsSent[.unknownNode])
        #expect(a.drainInbound().isEmpty)
        await stranger.stop()
        await a.stop()
    }

    @Test("a peer that restarts on the same port is redialled and messages flow again")
    func reconnectAfterRestart() async throws {
        let (a, b, portA, portB) = try await Support.connectedPair()
        a.send(Message(kind: .heartbeat, from: 1, to: 2, term: 1), group: 5)
        #expect(await Support.receive(1, from: b).count == 1)

        await b.stop()
        let lost = await Support.waitUntil { a.counters.peers[2]?.connected == false }
        #expect(lost)

        var configuration = Support.configuration(2, peers: [1], listenPort: portB)
        configuration.peers[1] = PeerAddress(host: "127.0.0.1", port: portA)
        let (restarted, port) = try await Support.started(configuration)
        #expect(port == portB)
        let reconnected = await Support.waitUntil {
            Support.connected(a, 1, restarted, 2) && (a.counters.peers[2]?.connects ?? 0) >= 2
        }
        #expect(reconnected)
        #expect((a.counters.peers[2]?.disconnects ?? 0) >= 1)

        let message = Message(kind: .append, from: 1, to: 2, term: 2, index: 9, entries: [Entry(term: 2, index: 10)])
        #expect(a.send(message, group: 5) == .queued)
        let atRestarted = await Support.receive(1, from: restarted)
        #expect(atRestarted.last?.message == message)
        #expect(atRestarted.last?.group == 5)

        let reply = Message(kind: .appendResponse, from: 2, to: 1, term: 2, index: 10)
        #expect(restarted.send(reply, group: 5) == .queued)
        let atA = await Support.receive(1, from: a)
        #expect(atA.map(\.message) == [reply])
        await restarted.stop()
        await a.stop()
    }

    @Test("with the peer down, sends beyond the queue bound are dropped and counted")
    func boundedQueueWhilePeerDown() async throws {
        // A port nobody listens on: bind it, read it back, stop.
        let (gone, deadPort) = try await Support.started(Support.configuration(2, peers: [1]))
        await gone.stop()

        var configuration = Support.configuration(1, peers: [2, 3], queueMessages: 10, queueBytes: 4_096)
        configuration.peers[2] = PeerAddress(host: "127.0.0.1", port: deadPort)
        let (a, _) = try await Support.started(configuration)

        // Count bound: node 2 (down, redialled with backoff).
        var queued = 0
        var droppedFull = 0
        for i in 0..<1_000 {
            switch a.send(Message(kind: .heartbeat, from: 1, to: 2, term: UInt64(i)), group: 1) {
            case .queued: queued += 1
            case .dropped(.queueFull): droppedFull += 1
            case .dropped: Issue.record("unexpected drop reason")
            }
        }
        #expect(queued == 10)
        #expect(droppedFull == 990)
        let failedDials = await Support.waitUntil { (a.counters.peers[2]?.connectFailures ?? 0) >= 2 }
        #expect(failedDials, "the dead peer is redialled")
        var peer2 = try #require(a.counters.peers[2])
        #expect(peer2.queuedMessages == 10)
        #expect(peer2.droppedQueueFull == 990)
        #expect(peer2.connected == false)

        // Byte bound: node 3 (address unknown), 1,000-byte entries against a 4,096-byte queue.
        let big = Message(
            kind: .append, from: 1, to: 3, term: 1,
            entries: [Entry(term: 1, index: 1, data: Array(repeating: 7, count: 1_000))])
        var bigQueued = 0
        for _ in 0..<100 where a.send(big, group: 2) == .queued { bigQueued += 1 }
        let peer3 = try #require(a.counters.peers[3])
        #expect(bigQueued == 3)
        #expect(peer3.queuedBytes <= 4_096)
        #expect(peer3.droppedQueueFull == 97)

        // A frame larger than the whole queue is refused as too large; unknown peers are refused too.
        let huge = Message(
            kind: .append, from: 1, to: 3, term: 1,
            entries: [Entry(term: 1, index: 1, data: Array(repeating: 7, count: 5_000))])
        #expect(a.send(huge, group: 2) == .dropped(.tooLarge))
        #expect(a.send(Message(kind: .heartbeat, from: 1, to: 42, term: 1), group: 1) == .dropped(.unknownPeer))
        peer2 = try #require(a.counters.peers[2])
        #expect(peer2.queuedBytes <= 4_096)
        #expect(a.counters.droppedUnknownPeer == 1)
        #expect(a.counters.peers[3]?.droppedTooLarge == 1)

        await a.stop()
        #expect(a.send(Message(kind: .heartbeat, from: 1, to: 2, term: 1), group: 1) == .dropped(.notRunning))
    }

    @Test("start twice is refused, and a taken port fails to bind")
    func lifecycleErrors() async throws {
        let (a, portA) = try await Support.started(Support.configuration(1, peers: [2]))
        await #expect(throws: NodeTransportError.self) { try await a.start() }
        let clash = try NodeTransport(configuration: Support.configuration(2, peers: [1], listenPort: portA))
        do {
            try await clash.start()
            Issue.record("binding a port in use succeeded")
        } catch {
            #expect(error.code == .bindFailed)
        }
        await clash.stop()
        await a.stop()
        await a.stop()  // idempotent
    }
}
