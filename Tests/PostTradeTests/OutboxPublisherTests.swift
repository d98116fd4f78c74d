import ExchangeCore
import Foundation
import Kafka
import Matching
import PostTrade
import Testing
import Wire

/// `KafkaOutboxPublisher` against librdkafka's mock cluster: every handed-over event reaches Kafka with its
/// headers, progress is reported only for acknowledged entries, and broker faults or a new leadership delay
/// but never lose an event (duplicates are allowed: consumers are idempotent on the event id).
@Suite(.serialized) struct OutboxPublisherTests {
    static func configuration(_ cluster: KafkaMockCluster, client: String) -> KafkaConfiguration {
        KafkaConfiguration(
            bootstrapServers: cluster.bootstrapServers, clientID: client,
            properties: [
                "fetch.wait.max.ms": "10", "reconnect.backoff.ms": "20", "reconnect.backoff.max.ms": "200",
                "auto.offset.reset": "earliest", "log_level": "2", "session.timeout.ms": "6000",
                "heartbeat.interval.ms": "500",
            ])
    }

    /// Entry `index` holds one trade of 10 shares between accounts 1 and 2 on one of three symbols.
    static func entry(_ index: UInt64) -> OutboxEntry {
        let symbol = Symbol(["AAPL", "MSFT", "GOOG"][Int(index % 3)])
        let trade = Event.Trade(
            id: TradeID(sequence: index << 16, index: 0), symbol: symbol, price: Price(10_000), quantity: Quantity(10),
            aggressor: .buy, buyOrderID: OrderID(index << 16), sellOrderID: OrderID(1), buyAccount: AccountID(1),
            sellAccount: AccountID(2), buyParticipant: ParticipantID(1), sellParticipant: ParticipantID(2),
            buyLeaves: Quantity(0), sellLeaves: Quantity(1_000), timestamp: Timestamp(nanoseconds: Int64(index)))
        return OutboxEntry(logIndex: index, timestamp: Timestamp(nanoseconds: Int64(index)), events: [.trade(trade)])
    }

    static func waitFor(_ timeout: Duration, _ condition: () -> Bool) -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: timeout)
        while clock.now < end {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }

    /// Reads `trade.executed` until `expected` distinct event ids arrived (or the timeout).
    static func readTrades(_ cluster: KafkaMockCluster, expected: Int, group: String) throws -> (ids: Set<String>, total: Int, keys: Set<String>) {
        let consumer = try KafkaConsumer(configuration: configuration(cluster, client: group), groupID: group)
        try consumer.subscribe(topics: [Topic.tradeExecuted])
        var ids = Set<String>()
        var keys = Set<String>()
        var total = 0
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: .seconds(30))
        while ids.count < expected, clock.now < end {
            guard let message = try consumer.poll(timeout: .milliseconds(100)), let value = message.value else { continue }
            let trade = try JSONDecoder().decode(TradeExecuted.self, from: Data(value))
            ids.insert(trade.eventID)
            keys.insert(String(decoding: message.key ?? [], as: UTF8.self) + ":" + trade.symbol)
            total += 1
        }
        try consumer.close()
        return (ids, total, keys)
    }

    @Test func everyHandedOverEventReachesKafkaAndProgressFollowsAcknowledgements() throws {
        let cluster = try KafkaMockCluster(brokerCount: 3)
        defer { cluster.close() }
        for topic in Topic.all { try cluster.createTopic(name: topic, partitions: 3, replicationFactor: 3) }
        let publisher = try KafkaOutboxPublisher(configuration: Self.configuration(cluster, client: "publisher"))
        publisher.start()
        defer { publisher.stop() }
        #expect(publisher.deliveredThrough(shard: 1, term: 1) == nil)
        publisher.lead(shard: 1, term: 1, entries: (1...100).map(Self.entry))
        publisher.append(shard: 1, term: 1, entries: (101...200).map(Self.entry))
        // An append for another term (a stale leadership) is ignored.
        publisher.append(shard: 1, term: 7, entries: [Self.entry(999)])
        #expect(Self.waitFor(.seconds(30)) { publisher.deliveredThrough(shard: 1, term: 1) == 200 })
        #expect(publisher.deliveredThrough(shard: 1, term: 2) == nil, "progress is per leadership")
        let read = try Self.readTrades(cluster, expected: 200, group: "reader-1")
        #expect(read.ids.count == 200)
        #expect(!read.ids.contains("1-999-0"))
        #expect(read.keys == ["AAPL:AAPL", "MSFT:MSFT", "GOOG:GOOG"], "keyed by symbol")
        // Each trade is followed by both orders' fills (3 messages per trade).
        #expect(publisher.statistics.messagesProduced == 600)
    }

    @Test func brokersDownThenUpDelayButNeverLoseEvents() throws {
        let cluster = try KafkaMockCluster(brokerCount: 3)
        defer { cluster.close() }
        for topic in Topic.all { try cluster.createTopic(name: topic, partitions: 3, replicationFactor: 3) }
        let publisher = try KafkaOutboxPublisher(configuration: Self.configuration(cluster, client: "publisher"))
        publisher.start()
        defer { publisher.stop() }
        publisher.lead(shard: 2, term: 3, entries: (1...50).map(Self.entry))
        #expect(Self.waitFor(.seconds(30)) { publisher.deliveredThrough(shard: 2, term: 3) == 50 })
        for broker in 1...3 as ClosedRange<Int32> { try cluster.setBrokerDown(broker) }
        publisher.append(shard: 2, term: 3, entries: (51...120).map(Self.entry))
        // Nothing new can be acknowledged while every broker is down.
        #expect(publisher.deliveredThrough(shard: 2, term: 3).map { $0 < 120 } ?? true)
        for broker in 1...3 as ClosedRange<Int32> { try cluster.setBrokerUp(broker) }
        #expect(Self.waitFor(.seconds(60)) { publisher.deliveredThrough(shard: 2, term: 3) == 120 })
        let read = try Self.readTrades(cluster, expected: 120, group: "reader-2")
        #expect(read.ids.count == 120)
    }

    @Test func aNewLeadershipStartsOverFromTheEntriesItIsGiven() throws {
        let cluster = try KafkaMockCluster(brokerCount: 1)
        defer { cluster.close() }
        for topic in Topic.all { try cluster.createTopic(name: topic, partitions: 2, replicationFactor: 1) }
        let publisher = try KafkaOutboxPublisher(configuration: Self.configuration(cluster, client: "publisher"))
        publisher.start()
        defer { publisher.stop() }
        publisher.lead(shard: 1, term: 1, entries: (1...30).map(Self.entry))
        #expect(Self.waitFor(.seconds(30)) { publisher.deliveredThrough(shard: 1, term: 1) == 30 })
        publisher.resign(shard: 1)
        #expect(publisher.deliveredThrough(shard: 1, term: 1) == nil)
        // Leadership comes back with the outbox after a mark at 20: entries 21... are produced again.
        publisher.lead(shard: 1, term: 2, entries: (21...40).map(Self.entry))
        #expect(Self.waitFor(.seconds(30)) { publisher.deliveredThrough(shard: 1, term: 2) == 40 })
        let read = try Self.readTrades(cluster, expected: 40, group: "reader-3")
        #expect(read.ids.count == 40)
        #expect(read.total >= 40)
    }
}
