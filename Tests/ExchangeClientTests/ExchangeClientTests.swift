import ClusterConfig
import ExchangeCore
import Matching
import NIOCore
import NIOPosix
import Testing
import Wire

@testable import ExchangeClient

private let aapl = Symbol("AAPL")
private let msft = Symbol("MSFT")

private func order(_ clientOrderID: UInt64, symbol: Symbol = aapl) -> NewOrderRequest {
    NewOrderRequest(
        participant: ParticipantID(7), clientOrderID: ClientOrderID(clientOrderID), account: AccountID(9),
        symbol: symbol, side: .buy, price: Price(1_500_000), quantity: Quantity(100))
}

/// Shard 1 (AAPL) on `replicas`, in try order.
private func routes(_ replicas: [FakeNode], symbol: Symbol = aapl) throws -> ClusterRoutes {
    try ClusterRoutes(
        shards: [
            1: replicas.enumerated().map {
                ClusterRoutes.Replica(node: UInt64($0.offset + 1), address: $0.element.address)
            }
        ],
        symbols: [symbol: 1])
}

/// Small timeouts and backoffs so that failing paths finish quickly; correctness never depends on them.
private func options(
    retryBudget: Int = 4, maxOutstanding: Int = 64, requestTimeout: Duration = .seconds(10)
) -> ExchangeClientConfiguration {
    ExchangeClientConfiguration(
        participant: ParticipantID(7), maxOutstandingRequestsPerConnection: maxOutstanding,
        requestTimeout: requestTimeout, connectTimeout: .seconds(5), retryBudget: retryBudget,
        backoffInitial: .milliseconds(1), backoffMax: .milliseconds(5))
}

private func newOrder(_ request: ClientRequest) -> NewOrderRequest? {
    if case .newOrder(let order) = request.body { return order }
    return nil
}

@Suite struct ExchangeClientTests {
    @Test func newOrderRoundTrip() async throws {
        let node = try await FakeNode.start { request, _ in .respond(acceptedResult(for: request, orderID: 77)) }
        defer { Task { await node.stop() } }
        let client = try ExchangeClient(routes: try routes([node]), configuration: options())
        defer { client.shutdown() }

        let result = try await client.submit(order(42))
        #expect(result.outcome == .accepted)
        #expect(result.orderID == OrderID(77))
        #expect(result.clientOrderID == ClientOrderID(42))
        #expect(!result.isDuplicate)
        #expect(node.received.count == 1)
        #expect(node.received.first.flatMap(newOrder) == order(42))

        // Request ids are unique per connection; a second request uses the same connection.
        _ = try await client.submit(order(43))
        #expect(Set(node.received.map(\.requestID)).count == 2)
        #expect(node.connectionsAccepted == 1)
        #expect(client.counters.connectionsOpened == 1)
    }

    @Test func routesBySymbolToTheShardsNode() async throws {
        let nodeA = try await FakeNode.start { request, _ in .respond(acceptedResult(for: request, orderID: 1)) }
        let nodeB = try await FakeNode.start { request, _ in .respond(acceptedResult(for: request, orderID: 2)) }
        defer {
            Task {
                await nodeA.stop()
                await nodeB.stop()
            }
        }
        func definition(_ id: UInt64, _ node: FakeNode) -> NodeDefinition {
            NodeDefinition(
                id: id, raftAddress: NetworkAddress(host: "127.0.0.1", port: UInt16(10_000 + id)),
                clientAddress: node.address,
                metricsAddress: NetworkAddress(host: "127.0.0.1", port: UInt16(11_000 + id)),
                region: "r", zone: "z")
        }
        let cluster = ClusterDefinition(
            cluster: "test", nodes: [definition(1, nodeA), definition(2, nodeB)],
            shards: [
                ShardDefinition(id: 1, symbols: [aapl], replicas: [ReplicaDefinition(node: 1, role: .primary)]),
                ShardDefinition(id: 2, symbols: [msft], replicas: [ReplicaDefinition(node: 2, role: .primary)]),
            ],
            instruments: [], durability: DurabilitySettings(fsync: true),
            replication: ReplicationSettings(mode: .regional))
        let client = try ExchangeClient(cluster: cluster, configuration: options())
        defer { client.shutdown() }

        let msftResult = try await client.submit(order(1, symbol: msft))
        #expect(msftResult.orderID == OrderID(2))
        #expect(nodeA.received.isEmpty)
        #expect(nodeB.received.count == 1)

        let aaplResult = try await client.submit(order(2, symbol: aapl))
        #expect(aaplResult.orderID == OrderID(1))
        #expect(nodeA.received.count == 1)
        #expect(nodeB.received.count == 1)
    }

    @Test func followsNotLeaderToTheHintedNode() async throws {
        let leader = try await FakeNode.start { request, _ in .respond(acceptedResult(for: request)) }
        let leaderAddress = leader.address.description
        let follower = try await FakeNode.start { _, _ in
            .respond(.notLeader(NotLeader(group: RaftGroupID(1), leaderNodeID: 2, leaderAddress: leaderAddress)))
        }
        defer {
            Task {
                await leader.stop()
                await follower.stop()
            }
        }
        let client = try ExchangeClient(routes: try routes([follower, leader]), configuration: options())
        defer { client.shutdown() }

        let result = try await client.submit(order(42))
        #expect(result.outcome == .accepted)
        #expect(follower.received.count == 1)
        #expect(leader.received.count == 1)
        #expect(leader.received.first.flatMap(newOrder) == order(42))
        #expect(client.believedLeader(of: 1) == leader.address)
        #expect(client.counters.redirects == 1)

        // The next request goes straight to the leader.
        _ = try await client.submit(order(43))
        #expect(follower.received.count == 1)
        #expect(leader.received.count == 2)
    }

    @Test func notLeaderWithOnlyANodeIDUsesTheRoutes() async throws {
        let leader = try await FakeNode.start { request, _ in .respond(acceptedResult(for: request)) }
        let follower = try await FakeNode.start { _, _ in
            .respond(.notLeader(NotLeader(group: RaftGroupID(1), leaderNodeID: 2, leaderAddress: "")))
        }
        defer {
            Task {
                await leader.stop()
                await follower.stop()
            }
        }
        let client = try ExchangeClient(routes: try routes([follower, leader]), configuration: options())
        defer { client.shutdown() }

        _ = try await client.submit(order(42))
        #expect(leader.received.count == 1)
        #expect(client.counters.retries == 0)
    }

    @Test func leaderDyingMidRequestIsRetriedElsewhereWithTheSameClientOrderID() async throws {
        // The old leader executed the order but died before answering; the new leader remembers it.
        let oldLeader = try await FakeNode.start { _, _ in .close }
        let newLeader = try await FakeNode.start { request, _ in
            .respond(acceptedResult(for: request, orderID: 77, duplicate: true))
        }
        defer {
            Task {
                await oldLeader.stop()
                await newLeader.stop()
            }
        }
        let client = try ExchangeClient(routes: try routes([oldLeader, newLeader]), configuration: options())
        defer { client.shutdown() }

        let result = try await client.submit(order(42))
        #expect(result.isDuplicate)
        #expect(result.orderID == OrderID(77))
        #expect(oldLeader.received.count == 1)
        #expect(newLeader.received.count == 1)
        #expect(oldLeader.received.first.flatMap(newOrder) == order(42))
        #expect(newLeader.received.first.flatMap(newOrder) == order(42))
        #expect(client.counters.retries == 1)
        #expect(client.counters.duplicates == 1)
        #expect(client.believedLeader(of: 1) == newLeader.address)
    }

    @Test func retryLaterThenSuccess() async throws {
        let node = try await FakeNode.start { request, index in
            index == 0 ? .respond(.retryLater(RetryLater(reason: .overloaded))) : .respond(acceptedResult(for: request))
        }
        defer { Task { await node.stop() } }
        let client = try ExchangeClient(routes: try routes([node]), configuration: options())
        defer { client.shutdown() }

        let result = try await client.submit(order(42))
        #expect(result.outcome == .accepted)
        #expect(node.received.count == 2)
        #expect(node.received.map(newOrder) == [order(42), order(42)])
        #expect(client.counters.retries == 1)
    }

    @Test func retryLaterEveryTimeEndsInOverloaded() async throws {
        let node = try await FakeNode.start { _, _ in .respond(.retryLater(RetryLater(reason: .overloaded))) }
        defer { Task { await node.stop() } }
        let client = try ExchangeClient(routes: try routes([node]), configuration: options(retryBudget: 2))
        defer { client.shutdown() }

        let error = await #expect(throws: ExchangeClientError.self) { try await client.submit(order(42)) }
        #expect(error?.code == .overloaded)
        #expect(error?.attempts == 3)
        #expect(node.received.count == 3)
    }

    @Test func backPressureSuspendsTheCallerBeyondTheLimit() async throws {
        let node = try await FakeNode.start { _, _ in .hold }
        defer { Task { await node.stop() } }
        let client = try ExchangeClient(routes: try routes([node]), configuration: options(maxOutstanding: 2))
        defer { client.shutdown() }

        try await withThrowingTaskGroup(of: CommandResult.self) { group in
            for id in 1...3 { group.addTask { try await client.submit(order(UInt64(id))) } }

            try await waitUntil("two requests are held and a third caller waits") {
                node.heldCount == 2 && client.connectionLoad(node.address)?.waiting == 1
            }
            #expect(node.received.count == 2)
            #expect(client.connectionLoad(node.address)?.inFlight == 2)

            node.releaseHeld { acceptedResult(for: $0) }
            try await waitUntil("the third request arrives") { node.received.count == 3 }
            #expect(client.connectionLoad(node.address)?.waiting == 0)

            try await waitUntil("all three are held or answered") { node.heldCount == 2 }
            node.releaseHeld { acceptedResult(for: $0) }
            node.releaseHeld { acceptedResult(for: $0) }
            var clientOrderIDs: Set<UInt64> = []
            for try await result in group { clientOrderIDs.insert(result.clientOrderID.rawValue) }
            #expect(clientOrderIDs == [1, 2, 3])
        }
        #expect(node.received.count == 3)
    }

    @Test func protocolErrorIsTypedAndTheNextCallReconnects() async throws {
        let node = try await FakeNode.start { request, index in
            index == 0 ? .protocolError(.invalidSymbol) : .respond(acceptedResult(for: request))
        }
        defer { Task { await node.stop() } }
        let client = try ExchangeClient(routes: try routes([node]), configuration: options())
        defer { client.shutdown() }

        let error = await #expect(throws: ExchangeClientError.self) { try await client.submit(order(42)) }
        #expect(error?.code == .protocolError(.invalidSymbol))
        #expect(node.received.count == 1)

        let result = try await client.submit(order(43))
        #expect(result.outcome == .accepted)
        #expect(node.connectionsAccepted == 2)
        #expect(client.counters.connectionsOpened == 2)
    }

    @Test func timeoutIsTyped() async throws {
        let node = try await FakeNode.start { _, _ in .hold }
        defer { Task { await node.stop() } }
        let client = try ExchangeClient(
            routes: try routes([node]), configuration: options(retryBudget: 1, requestTimeout: .milliseconds(50)))
        defer { client.shutdown() }

        let error = await #expect(throws: ExchangeClientError.self) { try await client.submit(order(42)) }
        #expect(error?.code == .timeout)
        #expect(error?.attempts == 2)
        #expect(node.received.map(newOrder) == [order(42), order(42)])
        // The timed-out requests still hold their slots until their late answers arrive.
        #expect(client.connectionLoad(node.address)?.inFlight == 2)
        node.releaseHeld { acceptedResult(for: $0) }
        try await waitUntil("the late answer frees its slot") { client.connectionLoad(node.address)?.inFlight == 1 }
    }

    @Test func stuckNodeIsAbandonedAndTheRequestFailsOver() async throws {
        // A stopped leader keeps its socket open and never answers: after its only slot is held by a timed-out
        // request the connection is closed, and the retry goes to the next replica.
        let stuck = try await FakeNode.start { _, _ in .hold }
        let standby = try await FakeNode.start { request, _ in .respond(acceptedResult(for: request)) }
        defer {
            Task {
                await stuck.stop()
                await standby.stop()
            }
        }
        let client = try ExchangeClient(
            routes: try routes([stuck, standby]),
            configuration: options(retryBudget: 2, maxOutstanding: 1, requestTimeout: .milliseconds(50)))
        defer { client.shutdown() }

        let result = try await client.submit(order(42))
        #expect(result.outcome == .accepted)
        #expect(stuck.received.map(newOrder) == [order(42)])
        #expect(standby.received.map(newOrder) == [order(42)])
        #expect(client.believedLeader(of: 1) == standby.address)
        try await waitUntil("the stuck connection is closed") { client.connectionLoad(stuck.address)?.inFlight == 0 }
    }

    @Test func subscriptionStreamsReportsUntilTheConnectionCloses() async throws {
        let reports = (0..<2).map {
            ExecutionReport(
                logIndex: 6, eventIndex: UInt32($0), timestamp: Timestamp(nanoseconds: 1), event: .resumed(aapl))
        }
        let notLeader = try await FakeNode.start { _, _ in
            .respond(.notLeader(NotLeader(group: RaftGroupID(1), leaderNodeID: 2, leaderAddress: "")))
        }
        let leader = try await FakeNode.start { _, _ in
            .respondAllThenClose([.subscribed(Subscribed(logIndex: 5))] + reports.map { .executionReport($0) })
        }
        defer {
            Task {
                await notLeader.stop()
                await leader.stop()
            }
        }
        let client = try ExchangeClient(routes: try routes([notLeader, leader]), configuration: options())
        defer { client.shutdown() }

        let subscription = try await client.subscribe(symbol: aapl)
        #expect(subscription.startLogIndex == 5)
        guard case .subscribe(let request) = leader.received.first?.body else {
            Issue.record("the leader got no subscribe request")
            return
        }
        #expect(request == SubscribeRequest(participant: ParticipantID(7), symbol: aapl))
        var received: [ExecutionReport] = []
        let error = await #expect(throws: ExchangeClientError.self) {
            for try await report in subscription.reports { received.append(report) }
        }
        #expect(received == reports)
        #expect(error?.code == .connectionLost)
    }

    @Test func unreachableNodeIsConnectionFailed() async throws {
        let gone = try await FakeNode.start { _, _ in .hold }
        await gone.stop()
        let client = try ExchangeClient(routes: try routes([gone]), configuration: options(retryBudget: 1))
        defer { client.shutdown() }

        let error = await #expect(throws: ExchangeClientError.self) { try await client.submit(order(42)) }
        #expect(error?.code == .connectionFailed)
        #expect(error?.attempts == 2)
    }

    @Test func invalidRequestsSendNothing() async throws {
        let node = try await FakeNode.start { request, _ in .respond(acceptedResult(for: request)) }
        defer { Task { await node.stop() } }
        let client = try ExchangeClient(routes: try routes([node]), configuration: options())
        defer { client.shutdown() }

        let unknownSymbol = await #expect(throws: ExchangeClientError.self) {
            try await client.submit(order(42, symbol: Symbol("ZZZZ")))
        }
        #expect(unknownSymbol?.code == .invalidRequest)
        var otherParticipant = order(43)
        otherParticipant.participant = ParticipantID(8)
        let wrongParticipant = await #expect(throws: ExchangeClientError.self) {
            try await client.submit(otherParticipant)
        }
        #expect(wrongParticipant?.code == .invalidRequest)
        #expect(client.counters.attempts == 0)
        #expect(client.counters.connectionsOpened == 0)
        #expect(node.connectionsAccepted == 0)
    }

    @Test func invalidConfigurationIsRefused() throws {
        let routes = try ClusterRoutes(
            shards: [1: [ClusterRoutes.Replica(node: 1, address: NetworkAddress(host: "127.0.0.1", port: 1))]],
            symbols: [aapl: 1])
        var configuration = ExchangeClientConfiguration()
        configuration.maxOutstandingRequestsPerConnection = 0
        let error = #expect(throws: ExchangeClientError.self) {
            _ = try ExchangeClient(routes: routes, configuration: configuration)
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(throws: ExchangeClientError.self) {
            _ = try ClusterRoutes(shards: [1: []], symbols: [aapl: 1])
        }
        #expect(throws: ExchangeClientError.self) {
            _ = try ClusterRoutes(shards: [:], symbols: [aapl: 1])
        }
    }

    @Test func leaderHintParsing() {
        #expect(NetworkAddress(leaderHint: "10.0.0.3:7001") == NetworkAddress(host: "10.0.0.3", port: 7001))
        #expect(NetworkAddress(leaderHint: "[::1]:7001") == NetworkAddress(host: "::1", port: 7001))
        #expect(NetworkAddress(leaderHint: "") == nil)
        #expect(NetworkAddress(leaderHint: "host:0") == nil)
        #expect(NetworkAddress(leaderHint: "::1:7001") == nil)
    }

    @Test func backoffDoublesUpToTheCap() {
        let configuration = ExchangeClientConfiguration(
            backoffInitial: .milliseconds(10), backoffMax: .milliseconds(50))
        var random = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            #expect(
                (Duration.milliseconds(5)...Duration.milliseconds(10)).contains(
                    configuration.backoff(retry: 1, using: &random)))
            #expect(
                (Duration.milliseconds(10)...Duration.milliseconds(20)).contains(
                    configuration.backoff(retry: 2, using: &random)))
            #expect(
                (Duration.milliseconds(25)...Duration.milliseconds(50)).contains(
                    configuration.backoff(retry: 9, using: &random)))
        }
    }
}
