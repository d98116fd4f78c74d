import ExchangeCore
import Glibc
import Matching
import NIOCore
import NIOPosix
import Raft
import Testing
import Wire

@testable import Cluster

/// A blocking TCP client speaking raw client-protocol frames (what any other-language client does).
final class RawClient {
    let socketDescriptor: Int32
    var decoder = FrameDecoder(maxFrameBytes: 1 << 20)

    init(port: Int) throws {
        socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socketDescriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXErrorCode(rawValue: errno).map { POSIXError($0) } ?? POSIXError(.EIO) }
    }

    deinit { close(socketDescriptor) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(socketDescriptor, $0.baseAddress, $0.count, 0) }
    }

    func send(_ request: ClientRequest) {
        var bytes: [UInt8] = []
        request.encodeFrame(into: &bytes)
        send(bytes)
    }

    /// The next response, or nil when the server closed the connection (or 10 s passed).
    func receive() throws -> ClientResponse? {
        while true {
            if let frame = try decoder.next() { return try ClientResponse(decoding: frame) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(socketDescriptor, &buffer, buffer.count, 0)
            if count <= 0 { return nil }
            decoder.append(buffer[0..<count])
        }
    }
}

struct POSIXError: Error { let code: POSIXErrorCode; init(_ code: POSIXErrorCode) { self.code = code } }

@Suite(.serialized) struct ClientServerTests {
    @Test func ordersOverTheClientProtocol() async throws {
        let cluster = try RuntimeCluster()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var servers: [ClientServer] = []
        do {
            try await cluster.startAll()
            #expect(cluster.eventually { cluster.leader(of: 1) == 1 })
            var ports: [NodeID: Int] = [:]
            // Ports first (so NOT_LEADER can name them), then the servers with the address map.
            for node in [1, 3] as [NodeID] {
                let probe = try ClientServer(
                    configuration: ClientServerConfiguration(), runtime: cluster.runtimes[node]!,
                    shardOfSymbol: [:], clientAddresses: [:], group: group)
                ports[node] = try await probe.start()
                await probe.stop()
            }
            let addresses = ports.mapValues { "127.0.0.1:\($0)" }
            for node in [1, 3] as [NodeID] {
                let server = try ClientServer(
                    configuration: ClientServerConfiguration(port: ports[node]!), runtime: cluster.runtimes[node]!,
                    shardOfSymbol: [Symbol("AAPL"): 1, Symbol("MSFT"): 2], clientAddresses: addresses, group: group)
                _ = try await server.start()
                servers.append(server)
            }
            try scenario(leaderPort: ports[1]!, followerPort: ports[3]!)
        } catch {
            Issue.record("\(error)")
        }
        for server in servers { await server.stop() }
        await cluster.stopAll()
        try await group.shutdownGracefully()
    }

    func scenario(leaderPort: Int, followerPort: Int) throws {
        let client = try RawClient(port: leaderPort)
        client.send(ClientRequest(requestID: 1, body: .ping))
        #expect(try client.receive() == ClientResponse(requestID: 1, body: .pong))

        let order = NewOrderRequest(
            participant: ParticipantID(7), clientOrderID: ClientOrderID(1), account: AccountID(7),
            symbol: Symbol("AAPL"), side: .buy, price: Price(9_900), quantity: Quantity(5))
        client.send(ClientRequest(requestID: 2, body: .newOrder(order)))
        let answer = try #require(try client.receive())
        #expect(answer.requestID == 2)
        guard case .commandResult(let result) = answer.body else {
            Issue.record("\(answer)")
            return
        }
        #expect(result.outcome == .accepted && result.orderState == .resting && result.leavesQuantity == Quantity(5))
        #expect(result.logIndex > 0 && result.orderID.rawValue > 0)

        client.send(
            ClientRequest(
                requestID: 3,
                body: .orderStatus(OrderStatusQuery(participant: ParticipantID(7), symbol: Symbol("AAPL"), orderID: result.orderID))))
        let status = try #require(try client.receive())
        if case .orderStatus(let found) = status.body {
            #expect(found.status?.orderID == result.orderID)
        } else {
            Issue.record("\(status)")
        }

        var unknown = order
        unknown.symbol = Symbol("ZZZZ")
        unknown.clientOrderID = ClientOrderID(2)
        client.send(ClientRequest(requestID: 4, body: .newOrder(unknown)))
        if case .commandResult(let rejected) = try #require(try client.receive()).body {
            #expect(rejected.outcome == .rejected(.unknownSymbol))
        }

        // A follower names the leader and its client address.
        let follower = try RawClient(port: followerPort)
        var another = order
        another.clientOrderID = ClientOrderID(3)
        follower.send(ClientRequest(requestID: 9, body: .newOrder(another)))
        let redirect = try #require(try follower.receive())
        if case .notLeader(let notLeader) = redirect.body {
            #expect(notLeader.leaderNodeID == 1 && notLeader.leaderAddress == "127.0.0.1:\(leaderPort)")
        } else {
            Issue.record("\(redirect)")
        }

        // Garbage: a protocol error, then the connection is closed; the node carries on.
        let bad = try RawClient(port: leaderPort)
        bad.send([0x09, 0, 0, 0, 0x01, 0x00, 0x21, 1, 2, 3, 4, 5, 6])  // a new order of 6 bytes
        let error = try #require(try bad.receive())
        if case .protocolError = error.body {} else { Issue.record("\(error)") }
        #expect(try bad.receive() == nil)
        client.send(ClientRequest(requestID: 5, body: .ping))
        #expect(try client.receive() == ClientResponse(requestID: 5, body: .pong))
    }
}
