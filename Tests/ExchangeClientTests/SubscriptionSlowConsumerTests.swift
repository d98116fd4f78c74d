import ClusterConfig
import ExchangeCore
import Matching
import Testing
import Wire

@testable import ExchangeClient

/// How `ExchangeClient.subscribe` ends when the node cuts the subscription off.
@Suite struct SubscriptionSlowConsumerTests {
    @Test func slowConsumerErrorEndsTheStreamWithItsCode() async throws {
        let symbol = Symbol("AAPL")
        let report = ExecutionReport(
            logIndex: 9, eventIndex: 0, timestamp: Timestamp(nanoseconds: 1), event: .resumed(symbol))
        let node = try await FakeNode.start { _, _ in
            .respondAllThenClose([
                .subscribed(Subscribed(logIndex: 8)), .executionReport(report),
                .protocolError(ProtocolError(code: .slowConsumer, message: "fell behind")),
            ])
        }
        defer { Task { await node.stop() } }
        let client = try ExchangeClient(
            routes: try ClusterRoutes(
                shards: [1: [ClusterRoutes.Replica(node: 1, address: node.address)]], symbols: [symbol: 1]),
            configuration: ExchangeClientConfiguration(participant: ParticipantID(7), retryBudget: 0))
        defer { client.shutdown() }

        let subscription = try await client.subscribe(symbol: symbol)
        #expect(subscription.startLogIndex == 8)
        var received: [ExecutionReport] = []
        let error = await #expect(throws: ExchangeClientError.self) {
            for try await report in subscription.reports { received.append(report) }
        }
        #expect(received == [report])
        #expect(error?.code == .protocolError(.slowConsumer))
    }
}
