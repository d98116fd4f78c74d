import ClusterConfig
import Dispatch
import ExchangeClient
import ExchangeCore
import Glibc
import Matching
import NIOCore
import NIOEmbedded
import NIOPosix
import Raft
import Testing
import Wire

@testable import Cluster

private let aapl = Symbol("AAPL")
private let msft = Symbol("MSFT")

/// A blocking raw-socket client of the client port, with an optional small receive buffer (set
/// before connecting) to play a client that does not read.
private final class StreamClient: @unchecked Sendable {
    // @unchecked Sendable: used by one thread at a time.
    let socketDescriptor: Int32
    var decoder = FrameDecoder(maxFrameBytes: 1 << 20)

    init(port: Int, receiveBufferBytes: Int32? = nil) throws {
        socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBufferBytes {
            setsockopt(socketDescriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(socketDescriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(socketDescriptor) }

    func send(_ request: ClientRequest) {
        let bytes = request.encodedFrame()
        _ = bytes.withUnsafeBytes { Glibc.send(socketDescriptor, $0.baseAddress, $0.count, 0) }
    }

    /// The next response, or nil when the server closed the connection (or 20 s passed).
    func receive() throws -> ClientResponse? {
        while true {
            if let frame = try decoder.next() { return try ClientResponse(decoding: frame) }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let count = recv(socketDescriptor, &buffer, buffer.count, 0)
            if count <= 0 { return nil }
            decoder.append(buffer[0..<count])
        }
    }

    /// Subscribes and returns the `Subscribed` log index.
    func subscribe(requestID: UInt64, participant: UInt32?, symbol: Symbol?) throws -> UInt64? {
        send(
            ClientRequest(
                requestID: requestID,
                body: .subscribe(SubscribeRequest(participant: participant.map { ParticipantID($0) }, symbol: symbol))))
        guard let answer = try receive(), answer.requestID == requestID, case .subscribed(let subscribed) = answer.body
        else { return nil }
        return subscribed.logIndex
    }

    /// Reports until (and including) the first that `last` accepts; nil if anything else came.
    func reports(requestID: UInt64, until last: (ExecutionReport) -> Bool) throws -> [ExecutionReport]? {
        var reports: [ExecutionReport] = []
        while let response = try receive() {
            guard response.requestID == requestID, case .executionReport(let report) = response.body else {
                Issue.record("unexpected frame \(response)")
                return nil
            }
            reports.append(report)
            if last(report) { return reports }
        }
        Issue.record("the stream ended after \(reports.count) reports")
        return nil
    }
}

/// A `RuntimeCluster` with a client port on every node.
private final class StreamCluster: @unchecked Sendable {
    // @unchecked Sendable: only the test's task touches the dictionaries.
    let cluster: RuntimeCluster
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    var servers: [NodeID: ClientServer] = [:]
    var ports: [NodeID: Int] = [:]

    init() throws { cluster = try RuntimeCluster() }

    func start(configuration: ClientServerConfiguration = ClientServerConfiguration()) async throws {
        try await cluster.startAll()
        for node in cluster.nodes {
            let server = try ClientServer(
                configuration: configuration, runtime: cluster.runtimes[node]!,
                shardOfSymbol: [aapl: 1, msft: 2], clientAddresses: [:], group: group)
            ports[node] = try await server.start()
            servers[node] = server
        }
        #expect(cluster.eventually { cluster.leader(of: 1) == 1 && cluster.leader(of: 2) == 2 })
    }

    func stop() async {
        for server in servers.values { await server.stop() }
        await cluster.stopAll()
        try? await group.shutdownGracefully()
    }

    func feed(_ node: NodeID) -> ExecutionFeed { cluster.runtimes[node]!.executionFeed }

    /// Submits at the shard's leader; the applied command, or nil.
    func submit(shard: UInt32, _ command: Command) async -> AppliedCommand? {
        let outcome = await cluster.submit(shard == 1 ? 1 : 2, shard: shard, command)
        if case .applied(let applied) = outcome { return applied }
        Issue.record("submit: \(outcome)")
        return nil
    }

    static func order(
        _ participant: UInt32, _ clientOrderID: UInt64, _ side: Side, price: Int64, quantity: Int64 = 10,
        symbol: Symbol = aapl
    ) -> Command {
        .newOrder(
            NewOrder(
                participant: ParticipantID(participant), clientOrderID: ClientOrderID(clientOrderID),
                orderID: OrderID(0), account: AccountID(UInt64(participant)), symbol: symbol, side: side,
                price: Price(price), quantity: Quantity(quantity)))
    }
}

/// Runs `body` against a started `StreamCluster` and always stops it.
private func withStreamCluster(
    _ configuration: ClientServerConfiguration = ClientServerConfiguration(),
    _ body: (StreamCluster) async throws -> Void
) async throws {
    let streams = try StreamCluster()
    do {
        try await streams.start(configuration: configuration)
        try await body(streams)
    } catch {
        await streams.stop()
        throw error
    }
    await streams.stop()
}

private func isAccepted(_ report: ExecutionReport, clientOrderID: UInt64) -> Bool {
    if case .accepted(let accepted) = report.event { return accepted.clientOrderID == ClientOrderID(clientOrderID) }
    return false
}

/// The participants an event concerns (test-side oracle for the filter).
private func concerns(_ event: Event, _ participant: ParticipantID, ownedOrders: Set<OrderID>) -> Bool {
    switch event {
    case .accepted(let e): e.participant == participant
    case .rejected(let e): e.participant == participant
    case .duplicate(let e): e.participant == participant
    case .trade(let e): e.buyParticipant == participant || e.sellParticipant == participant
    case .cancelled(let e): ownedOrders.contains(e.orderID)
    case .replaced(let e): e.participant == participant
    case .expired(let e): ownedOrders.contains(e.orderID)
    case .triggered(let e): ownedOrders.contains(e.orderID)
    default: false
    }
}

@Suite(.serialized) struct ExecutionStreamTests {
    /// Participant and symbol filters, log order, exactly once, and a follower's stream equal to
    /// the leader's.
    @Test func participantStreamOnLeaderAndFollower() async throws {
        try await withStreamCluster { streams in
            // An order before anyone subscribes: its events must not appear.
            _ = await streams.submit(shard: 1, StreamCluster.order(7, 1, .buy, price: 9_000))

            let leaderOwn = try StreamClient(port: streams.ports[1]!)
            let leaderAll = try StreamClient(port: streams.ports[1]!)
            let followerOwn = try StreamClient(port: streams.ports[3]!)
            let followerAll = try StreamClient(port: streams.ports[3]!)
            let starts = [
                try leaderOwn.subscribe(requestID: 11, participant: 7, symbol: aapl),
                try leaderAll.subscribe(requestID: 12, participant: nil, symbol: aapl),
                try followerOwn.subscribe(requestID: 13, participant: 7, symbol: aapl),
                try followerAll.subscribe(requestID: 14, participant: nil, symbol: aapl),
            ]
            #expect(starts.allSatisfy { $0 != nil })
            let leaderStart = max(starts[0] ?? 0, starts[1] ?? 0)
            // A follower may not have applied the first order yet when it answers: its stream then
            // starts earlier, and holds that order. Streams are compared after the later start.
            let common = starts.compactMap { $0 }.max() ?? 0
            #expect(streams.feed(1).counters.active == 2 && streams.feed(3).counters.active == 2)

            // 7 buys 10; 8 sells 4 into it; 9 rests a sell; 7 trades on MSFT; 7 cancels; sentinel.
            let own = try #require(await streams.submit(shard: 1, StreamCluster.order(7, 2, .buy, price: 10_000)))
            let ownOrder = OrderID(own.sequence)
            _ = await streams.submit(shard: 1, StreamCluster.order(8, 1, .sell, price: 10_000, quantity: 4))
            _ = await streams.submit(shard: 1, StreamCluster.order(9, 1, .sell, price: 10_100, quantity: 5))
            _ = await streams.submit(shard: 2, StreamCluster.order(7, 3, .buy, price: 10_000, symbol: msft))
            let cancel = try #require(
                await streams.submit(
                    shard: 1,
                    .cancel(
                        CancelOrder(
                            participant: ParticipantID(7), clientOrderID: ClientOrderID(4), orderID: ownOrder,
                            symbol: aapl))))
            #expect(cancel.events.contains { if case .cancelled = $0 { true } else { false } })
            _ = await streams.submit(shard: 1, StreamCluster.order(7, 5, .buy, price: 9_500, quantity: 1))

            let sentinel = { (report: ExecutionReport) in isAccepted(report, clientOrderID: 5) }
            let leaderOwnReports = try #require(try leaderOwn.reports(requestID: 11, until: sentinel))
            let followerOwnReports = try #require(try followerOwn.reports(requestID: 13, until: sentinel))
            let leaderAllReports = try #require(try leaderAll.reports(requestID: 12, until: sentinel))
            let followerAllReports = try #require(try followerAll.reports(requestID: 14, until: sentinel))

            #expect(leaderOwnReports.allSatisfy { $0.logIndex > leaderStart })
            #expect(common <= leaderOwnReports.first?.logIndex ?? 0)
            // Participant 7's AAPL reports: accepted, the trade, the cancel, the sentinel's accepted.
            let kinds = leaderOwnReports.map(\.event.encodingTag)
            #expect(kinds == [.accepted, .trade, .cancelled, .accepted])
            if case .trade(let trade) = leaderOwnReports[1].event {
                #expect(trade.buyOrderID == ownOrder && trade.quantity == Quantity(4))
            }
            if case .cancelled(let cancelled) = leaderOwnReports[2].event {
                #expect(cancelled.orderID == ownOrder && cancelled.cancelledQuantity == Quantity(6))
            }
            // A follower serves the same stream.
            #expect(followerOwnReports.filter { $0.logIndex > common } == leaderOwnReports)
            #expect(followerAllReports.filter { $0.logIndex > common } == leaderAllReports)
            #expect(followerOwnReports.allSatisfy { $0.logIndex > starts[2] ?? 0 })
            #expect(followerAllReports.allSatisfy { $0.logIndex > starts[3] ?? 0 })

            for reports in [leaderOwnReports, leaderAllReports, followerOwnReports, followerAllReports] {
                // In log order, none twice.
                let positions = reports.map { [$0.logIndex, UInt64($0.eventIndex)] }
                #expect(positions == positions.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) })
                #expect(Set(positions).count == positions.count)
                #expect(reports.allSatisfy { $0.event.symbol == aapl })
            }
            // The unfiltered stream holds exactly 7's reports where 7 is concerned, and others too.
            let ownedOrders: Set<OrderID> = [ownOrder]
            #expect(
                leaderAllReports.filter { concerns($0.event, ParticipantID(7), ownedOrders: ownedOrders) }
                    == leaderOwnReports)
            #expect(
                leaderAllReports.contains {
                    if case .accepted(let a) = $0.event { a.participant == ParticipantID(9) } else { false }
                })
            #expect(leaderAllReports.contains { $0.event.encodingTag == .bookDelta })
        }
    }

    /// A subscriber that never reads is cut off at its backlog bound; another keeps receiving and
    /// the shard keeps committing.
    @Test func slowConsumerIsDisconnectedOthersCarryOn() async throws {
        try await withStreamCluster { streams in
            // A second client port on the leader with a small backlog bound and socket buffer.
            let tight = try ClientServer(
                configuration: ClientServerConfiguration(
                    subscriptionBacklogBytesMax: 32_768, streamCloseGraceMilliseconds: 60_000,
                    socketSendBufferBytes: 4_096),
                runtime: streams.cluster.runtimes[1]!, shardOfSymbol: [aapl: 1, msft: 2], clientAddresses: [:],
                group: streams.group)
            let tightPort = try await tight.start()
            let slow = try StreamClient(port: tightPort, receiveBufferBytes: 4_096)
            let normal = try StreamClient(port: streams.ports[1]!)
            #expect(try slow.subscribe(requestID: 1, participant: nil, symbol: aapl) != nil)
            #expect(try normal.subscribe(requestID: 2, participant: nil, symbol: aapl) != nil)
            let feed = streams.feed(1)
            #expect(feed.counters.active == 2)

            // The normal subscriber reads all along, on its own thread, up to the sentinel order.
            let reading = Task.detached {
                await withCheckedContinuation { (done: CheckedContinuation<[ExecutionReport]?, Never>) in
                    DispatchQueue(label: "normal-subscriber").async {
                        let reports = try? normal.reports(requestID: 2) {
                            if case .accepted(let a) = $0.event { a.participant == ParticipantID(21) } else { false }
                        }
                        done.resume(returning: reports ?? nil)
                    }
                }
            }

            // Resting orders (nothing crosses) until the slow one is cut off, in concurrent rounds.
            var next: UInt64 = 1
            var rounds = 0
            while feed.counters.slowConsumers == 0 && rounds < 100 {
                rounds += 1
                let first = next
                next += 50
                await withTaskGroup(of: Void.self) { tasks in
                    for number in first..<first + 50 {
                        tasks.addTask {
                            let side: Side = number % 2 == 0 ? .buy : .sell
                            let price: Int64 = side == .buy ? 9_500 - Int64(number % 50) : 10_500 + Int64(number % 50)
                            _ = await streams.submit(shard: 1, StreamCluster.order(20, number, side, price: price))
                        }
                    }
                }
            }
            #expect(feed.counters.slowConsumers == 1)
            #expect(feed.counters.active == 1)

            // The loop still commits, and the normal subscriber got every report, the last included.
            let last = try #require(await streams.submit(shard: 1, StreamCluster.order(21, 1, .buy, price: 9_100)))
            #expect(last.events.contains { if case .accepted = $0 { true } else { false } })
            let received = try #require(await reading.value)
            #expect(received.last?.logIndex == last.logIndex)
            // Every order of participant 20 is accounted for (accepted, or rejected when its client order id
            // arrived behind a higher one of the concurrent round), the sentinel last.
            let outcomes = received.filter {
                switch $0.event {
                case .accepted(let a): a.participant == ParticipantID(20)
                case .rejected(let r): r.participant == ParticipantID(20)
                default: false
                }
            }
            #expect(outcomes.count == Int(next - 1), "\(received.filter { $0.event.encodingTag == .rejected })")

            // The slow one, reading at last: a prefix of the stream, the error, then the end.
            var slowReports = 0
            var error: ProtocolError?
            while error == nil, let response = try slow.receive() {
                switch response.body {
                case .executionReport: slowReports += 1
                case .protocolError(let protocolError):
                    #expect(response.requestID == 1)
                    error = protocolError
                default: Issue.record("unexpected \(response)")
                }
            }
            #expect(error?.code == .slowConsumer)
            #expect(slowReports < received.count)
            #expect(try slow.receive() == nil)
            await tight.stop()
        }
    }

    /// Subscriptions end with their connection; a connection holds a bounded number of them.
    @Test func closingTheConnectionRemovesItsSubscriptions() async throws {
        try await withStreamCluster(ClientServerConfiguration(maxSubscriptionsPerConnection: 2)) { streams in
            let feed = streams.feed(2)
            do {
                let client = try StreamClient(port: streams.ports[2]!)
                #expect(try client.subscribe(requestID: 1, participant: 7, symbol: aapl) != nil)
                #expect(try client.subscribe(requestID: 2, participant: nil, symbol: nil) == 0)
                #expect(feed.counters.active == 2)
                // A request id of an active subscription is in use.
                client.send(ClientRequest(requestID: 2, body: .ping))
                let duplicate = try #require(try client.receive())
                if case .protocolError(let error) = duplicate.body {
                    #expect(error.code == .duplicateRequestID)
                } else {
                    Issue.record("\(duplicate)")
                }
                #expect(try client.receive() == nil)
            }
            #expect(streams.cluster.eventually { feed.counters.active == 0 })
            #expect(feed.counters.removed == 2)

            let greedy = try StreamClient(port: streams.ports[2]!)
            #expect(try greedy.subscribe(requestID: 1, participant: nil, symbol: msft) != nil)
            #expect(try greedy.subscribe(requestID: 2, participant: nil, symbol: aapl) != nil)
            greedy.send(ClientRequest(requestID: 3, body: .subscribe(SubscribeRequest(participant: nil, symbol: aapl))))
            let refused = try #require(try greedy.receive())
            if case .protocolError(let error) = refused.body {
                #expect(error.code == .tooManySubscriptions && refused.requestID == 3)
            } else {
                Issue.record("\(refused)")
            }
            #expect(try greedy.receive() == nil)
            #expect(streams.cluster.eventually { feed.counters.active == 0 })

            // A symbol outside the shard map: NotLeader, nothing registered.
            let lost = try StreamClient(port: streams.ports[2]!)
            lost.send(
                ClientRequest(
                    requestID: 1, body: .subscribe(SubscribeRequest(participant: nil, symbol: Symbol("ZZZZ")))))
            if case .notLeader = try #require(try lost.receive()).body {} else { Issue.record("not a NotLeader") }
            #expect(feed.counters.opened == 4)
        }
    }

    /// A node that stops ends its streams: the connection closes after the queued reports.
    @Test func stoppingTheNodeEndsTheStream() async throws {
        try await withStreamCluster { streams in
            let client = try StreamClient(port: streams.ports[3]!)
            #expect(try client.subscribe(requestID: 1, participant: 7, symbol: aapl) != nil)
            _ = await streams.submit(shard: 1, StreamCluster.order(7, 1, .buy, price: 9_000))
            let reports = try #require(try client.reports(requestID: 1) { isAccepted($0, clientOrderID: 1) })
            #expect(reports.count == 1)
            let feed = streams.feed(3)
            #expect(feed.counters.active == 1)
            await streams.cluster.stop(3)
            #expect(try client.receive() == nil)
            #expect(feed.counters.active == 0 && feed.counters.removed == 1)
        }
    }

    /// `ExchangeClient.subscribe` against real nodes: its participant's reports, in order.
    @Test func exchangeClientSubscribes() async throws {
        try await withStreamCluster { streams in
            let address = { (node: NodeID) in NetworkAddress(host: "127.0.0.1", port: UInt16(streams.ports[node]!)) }
            let routes = try ClusterRoutes(
                shards: [
                    // The follower first: the subscription is served there, the order redirected.
                    1: [3, 1, 2].map { ClusterRoutes.Replica(node: $0, address: address($0)) },
                    2: [2, 3, 1].map { ClusterRoutes.Replica(node: $0, address: address($0)) },
                ],
                symbols: [aapl: 1, msft: 2])
            let client = try ExchangeClient(
                routes: routes, configuration: ExchangeClientConfiguration(participant: ParticipantID(7)))
            defer { client.shutdown() }
            let subscription = try await client.subscribe(symbol: aapl)
            let first = try await client.submit(
                NewOrderRequest(
                    participant: ParticipantID(7), clientOrderID: ClientOrderID(1), account: AccountID(7), symbol: aapl,
                    side: .buy, price: Price(10_000), quantity: Quantity(10)))
            _ = await streams.submit(shard: 1, StreamCluster.order(8, 1, .sell, price: 10_000, quantity: 10))
            var received: [ExecutionReport] = []
            for try await report in subscription.reports {
                received.append(report)
                if report.event.encodingTag == .trade { break }
            }
            #expect(received.map(\.event.encodingTag) == [.accepted, .trade])
            #expect(received.first?.logIndex == first.logIndex)
            #expect(received.allSatisfy { $0.logIndex > subscription.startLogIndex })
        }
    }
}

/// The fan-out's pieces without a cluster: one encoding, filtered and re-addressed per subscriber.
@Suite struct ExecutionBatchTests {
    @Test func framesAreFilteredAndCarryTheSubscriptionsRequestID() throws {
        var batch = ExecutionBatch()
        let time = Timestamp(nanoseconds: 9)
        let reports = [
            ExecutionReport(logIndex: 5, eventIndex: 0, timestamp: time, event: .resumed(aapl)),
            ExecutionReport(logIndex: 5, eventIndex: 1, timestamp: time, event: .resumed(msft)),
            ExecutionReport(logIndex: 6, eventIndex: 0, timestamp: time, event: .resumed(aapl)),
        ]
        batch.append(shard: 1, report: reports[0], symbol: aapl, owners: (ParticipantID(7), nil))
        batch.append(shard: 2, report: reports[1], symbol: msft, owners: (ParticipantID(8), ParticipantID(7)))
        batch.append(shard: 1, report: reports[2], symbol: aapl, owners: (nil, nil))

        func decoded(_ filter: ExecutionFilter, requestID: UInt64) throws -> [ClientResponse] {
            guard let buffer = batch.frames(matching: filter, requestID: requestID, allocator: ByteBufferAllocator())
            else { return [] }
            var decoder = FrameDecoder(maxFrameBytes: 1 << 16)
            decoder.append(buffer.readableBytesView)
            var responses: [ClientResponse] = []
            while let frame = try decoder.next() { responses.append(try ClientResponse(decoding: frame)) }
            return responses
        }
        #expect(
            try decoded(ExecutionFilter(participant: nil, symbol: nil), requestID: 42)
                == reports.map { ClientResponse(requestID: 42, body: .executionReport($0)) })
        #expect(
            try decoded(ExecutionFilter(participant: ParticipantID(7), symbol: nil), requestID: 3)
                == reports[0...1].map { ClientResponse(requestID: 3, body: .executionReport($0)) })
        #expect(
            try decoded(ExecutionFilter(participant: nil, symbol: aapl), requestID: 4)
                == [reports[0], reports[2]].map { ClientResponse(requestID: 4, body: .executionReport($0)) })
        #expect(try decoded(ExecutionFilter(participant: ParticipantID(8), symbol: aapl), requestID: 5).isEmpty)
    }
}

/// Records what the feed hands it; everything runs on an `EmbeddedEventLoop` the test drives.
private final class RecordingSubscriber: ExecutionSubscriber, @unchecked Sendable {
    // @unchecked Sendable: the test's thread only.
    let eventLoop: any EventLoop
    let filter = ExecutionFilter(participant: nil, symbol: nil)
    var batches = 0
    var ended: ExecutionStreamEnd?

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func deliver(_ batch: ExecutionBatch) {
        #expect(ended == nil)
        batches += 1
    }

    func end(_ reason: ExecutionStreamEnd) { ended = reason }
}

@Suite struct ExecutionFeedTests {
    private static func batch() -> ExecutionBatch {
        var batch = ExecutionBatch()
        batch.append(
            shard: 1,
            report: ExecutionReport(
                logIndex: 1, eventIndex: 0, timestamp: Timestamp(nanoseconds: 1), event: .resumed(aapl)),
            symbol: aapl, owners: (nil, nil))
        return batch
    }

    /// A subscriber whose event loop does not take the batches is dropped at the bound; the feed
    /// never queues more for it, and the others are not affected.
    @Test func subscriberFallingBehindOnItsEventLoopIsEnded() throws {
        let stuckLoop = EmbeddedEventLoop()
        let liveLoop = EmbeddedEventLoop()
        let feed = ExecutionFeed()
        let stuck = RecordingSubscriber(eventLoop: stuckLoop)
        let live = RecordingSubscriber(eventLoop: liveLoop)
        #expect(feed.add(stuck) != nil && feed.add(live) != nil)
        for _ in 0..<ExecutionFeed.queuedBatchesMax {
            feed.publish(Self.batch())
            liveLoop.run()
        }
        #expect(feed.counters.slowConsumers == 0 && feed.counters.active == 2)
        feed.publish(Self.batch())
        liveLoop.run()
        #expect(feed.counters.slowConsumers == 1 && feed.counters.active == 1)
        stuckLoop.run()
        #expect(stuck.batches == ExecutionFeed.queuedBatchesMax && stuck.ended == .fellBehind)
        #expect(live.batches == ExecutionFeed.queuedBatchesMax + 1 && live.ended == nil)

        feed.finish()
        liveLoop.run()
        #expect(live.ended == .nodeStopping && feed.counters.active == 0)
        #expect(feed.add(RecordingSubscriber(eventLoop: liveLoop)) == nil)
        try stuckLoop.syncShutdownGracefully()
        try liveLoop.syncShutdownGracefully()
    }
}
