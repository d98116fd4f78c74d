import ExchangeCore
import Matching
import Raft
import Storage
import Testing
import Wire

@testable import Cluster

/// The shard outbox: committed events stay in every replica's state (and snapshots) until the leader records
/// in the log that the publisher got them to Kafka.
@Suite struct ShardOutboxTests {
    static let options = ShardReplicaOptions(snapshotEveryEntries: 8, stateHashEveryEntries: 5, keepsOutbox: true)

    /// Crossing orders: every pair trades.
    static func submitPairs(_ harness: ShardHarness, _ leader: ShardReplica, from first: UInt64, count: UInt64) {
        for number in first..<(first + count) {
            let buy = ShardHarness.order(1, number * 2, .buy, price: 10_000)
            let sell = ShardHarness.order(2, number * 2 + 1, .sell, price: 10_000)
            _ = leader.submit(buy, origin: CommandOrigin(connection: 1, requestID: number * 2))
            _ = leader.submit(sell, origin: CommandOrigin(connection: 1, requestID: number * 2 + 1))
            harness.round()
        }
    }

    static func trades(in entries: some Sequence<OutboxEntry>) -> [TradeID] {
        entries.flatMap { $0.events }.compactMap { if case .trade(let trade) = $0 { trade.id } else { nil } }
    }

    static func settled(_ harness: ShardHarness) -> Bool {
        let applied = harness.replicas.values.map(\.appliedIndex)
        return Set(applied).count == 1 && harness.replicas.values.allSatisfy { $0.appliedIndex == $0.status.commitIndex }
    }

    @Test func everyReplicaKeepsTheSameOutboxAndDropsWhatTheLeaderMarksPublished() throws {
        let harness = try ShardHarness(options: Self.options)
        let leader = try #require(harness.electLeader())
        Self.submitPairs(harness, leader, from: 1, count: 20)
        #expect(harness.runUntil { Self.trades(in: leader.outbox.entries).count == 20 && Self.settled(harness) })
        let outboxes = harness.replicas.values.map(\.outbox)
        #expect(Set(outboxes).count == 1, "every replica computes the same outbox")
        #expect(leader.outbox.tradesExecuted == 20)
        #expect(leader.outbox.publishedThrough == 0)
        // No book deltas or duplicates are kept; accepted orders and trades are.
        let events = leader.outbox.entries.flatMap(\.events)
        #expect(events.allSatisfy(ShardOutbox.keeps))
        #expect(events.filter { if case .accepted = $0 { true } else { false } }.count == 40)
        // The new entries were handed out once, in order.
        let handed = leader.takeNewOutboxEntries()
        #expect(handed.map(\.logIndex) == leader.outbox.entries.map(\.logIndex))
        #expect(leader.takeNewOutboxEntries().isEmpty)

        // The publisher got half of them to Kafka: the mark goes through the log to every replica.
        let half = leader.outbox.entries[leader.outbox.entries.startIndex + handed.count / 2].logIndex
        leader.recordPublished(through: half)
        #expect(harness.runUntil { harness.replicas.values.allSatisfy { $0.outbox.publishedThrough == half } })
        for replica in harness.replicas.values {
            #expect(replica.outbox.entries.allSatisfy { $0.logIndex > half })
        }
        #expect(Set(harness.replicas.values.map(\.outbox)).count == 1)
        // A mark never goes backwards.
        leader.recordPublished(through: half - 1)
        for _ in 0..<20 { harness.round() }
        #expect(harness.replicas.values.allSatisfy { $0.outbox.publishedThrough == half })
    }

    @Test func snapshotsAndCompactionKeepUnpublishedEventsForARestartedOrLaggingReplica() throws {
        let harness = try ShardHarness(options: Self.options)
        let leader = try #require(harness.electLeader())
        Self.submitPairs(harness, leader, from: 1, count: 5)
        #expect(harness.runUntil { Self.settled(harness) })
        // Replica 3 is down while the others snapshot (every 8 entries) and compact their logs.
        harness.crash(3)
        Self.submitPairs(harness, leader, from: 6, count: 40)
        #expect(harness.runUntil { Self.trades(in: leader.outbox.entries).count == 45 })
        #expect(leader.status.snapshotIndex > 8, "the leader compacted its log")
        try harness.start(3)
        #expect(harness.runUntil { harness.replicas[3]!.appliedIndex == leader.appliedIndex && Self.settled(harness) })
        // Replica 3 caught up through a snapshot, yet has every unpublished event of the entries it skipped.
        #expect(harness.replicas[3]!.outbox == leader.outbox)
        #expect(Self.trades(in: harness.replicas[3]!.outbox.entries).count == 45)

        // Every replica restarts from its own snapshot + log: same outbox again.
        for id in harness.ids {
            harness.replicas[id] = nil
            try harness.start(id)
        }
        #expect(harness.runUntil { harness.leader != nil && Self.settled(harness) })
        let outboxes = harness.replicas.values.map(\.outbox)
        #expect(Set(outboxes).count == 1)
        #expect(Self.trades(in: outboxes[0].entries).count == 45)
        #expect(outboxes[0].tradesExecuted == 45)
    }

    @Test func aNewLeaderStillHasEverythingAfterTheLastRecordedMark() throws {
        let harness = try ShardHarness(options: Self.options)
        let first = try #require(harness.electLeader())
        Self.submitPairs(harness, first, from: 1, count: 10)
        #expect(harness.runUntil { Self.trades(in: first.outbox.entries).count == 10 && Self.settled(harness) })
        let mark = first.outbox.entries.last!.logIndex
        first.recordPublished(through: mark)
        #expect(harness.runUntil { harness.replicas.values.allSatisfy { $0.outbox.publishedThrough == mark } })
        Self.submitPairs(harness, first, from: 11, count: 10)
        #expect(harness.runUntil { Self.trades(in: first.outbox.entries).count == 10 && Self.settled(harness) })
        let firstID = first.status.id
        harness.crash(firstID)
        let second = try #require(harness.electLeader())
        #expect(second.status.id != firstID)
        #expect(second.outbox.publishedThrough == mark)
        #expect(Self.trades(in: second.outbox.entries).count == 10, "exactly the trades after the mark")
        // The new leader records its own publisher's progress.
        second.resetOutboxMarks()
        second.recordPublished(through: second.outbox.entries.last!.logIndex)
        #expect(harness.runUntil { second.outbox.pendingEntryCount == 0 })
    }

    @Test func snapshotFormatRoundTripsAndReadsBareEngineSnapshots() throws {
        let engine = try MatchingEngine(configuration: ShardHarness.engineConfiguration)
        let trade = Event.Trade(
            id: TradeID(sequence: 5 << 16, index: 0), symbol: Symbol("AAPL"), price: Price(10_000),
            quantity: Quantity(3), aggressor: .buy, buyOrderID: OrderID(7), sellOrderID: OrderID(6),
            buyAccount: AccountID(1), sellAccount: AccountID(2), buyParticipant: ParticipantID(1),
            sellParticipant: ParticipantID(2), buyLeaves: Quantity(0), sellLeaves: Quantity(4),
            timestamp: Timestamp(nanoseconds: 42))
        var outbox = ShardOutbox()
        _ = outbox.append(logIndex: 4, timestamp: Timestamp(nanoseconds: 40), events: [.expired(Event.Expired(orderID: OrderID(3), symbol: Symbol("AAPL"), leavesQuantity: Quantity(1)))])
        _ = outbox.append(logIndex: 5, timestamp: Timestamp(nanoseconds: 42), events: [.trade(trade)])
        outbox.markPublished(through: 4)
        let snapshot = ShardSnapshot(engine: engine.snapshot(), outbox: outbox)
        let decoded = try ShardSnapshot(decoding: snapshot.encoded())
        #expect(decoded == snapshot)
        #expect(decoded.outbox.publishedThrough == 4 && decoded.outbox.pendingEntryCount == 1)
        let bare = try ShardSnapshot(decoding: engine.snapshot())
        #expect(bare.outbox == ShardOutbox() && bare.engine == engine.snapshot())
        // Truncated or trailing bytes are refused with a typed error.
        let bytes = snapshot.encoded()
        #expect(throws: WireError.self) { try ShardSnapshot(decoding: Array(bytes.dropLast())) }
        #expect(throws: WireError.self) { try ShardSnapshot(decoding: bytes + [0]) }
        #expect(throws: WireError.self) { try ShardSnapshot(decoding: Array("XSHD".utf8) + [9, 0]) }
    }
}
