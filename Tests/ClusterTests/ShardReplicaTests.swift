import ExchangeCore
import Matching
import Raft
import Storage
import Testing
import Wire

@testable import Cluster

/// Three replicas of one shard in one process: messages passed by hand, each replica on its own
/// simulated disk, the real storage and recovery underneath.
final class ShardHarness {
    let shardID: UInt32 = 1
    let ids: [NodeID] = [1, 2, 3]
    var replicas: [NodeID: ShardReplica] = [:]
    var disks: [NodeID: SimulatedFileSystem] = [:]
    var inflight: [Message] = []
    var applied: [NodeID: [AppliedCommand]] = [:]
    var dropped: [DroppedCommand] = []
    var clock: Int64 = 1_000_000_000
    var random = SplitMix(seed: 7)
    let options: ShardReplicaOptions

    static let symbols: [Symbol] = [Symbol("AAPL"), Symbol("MSFT")]
    static var engineConfiguration: EngineConfiguration {
        EngineConfiguration(instruments: symbols.map { InstrumentRules(symbol: $0, referencePrice: Price(10_000)) })
    }

    init(options: ShardReplicaOptions = ShardReplicaOptions(snapshotEveryEntries: 1_000, stateHashEveryEntries: 5))
        throws
    {
        self.options = options
        for id in ids {
            disks[id] = SimulatedFileSystem()
            try start(id)
        }
    }

    func raftConfiguration(_ id: NodeID) -> RaftConfiguration {
        var configuration = RaftConfiguration(
            id: id, membership: Membership(voters: ids), preVote: true, checkQuorum: true,
            requireTwoRegionQuorum: false)
        configuration.randomSeed = id &* 31
        configuration.electionPriorities = [1: 2, 2: 1]
        return configuration
    }

    func start(_ id: NodeID) throws {
        let (replica, _) = try ShardReplica.open(
            shardID: shardID, raftConfiguration: raftConfiguration(id),
            engineConfiguration: Self.engineConfiguration, options: options, fileSystem: disks[id]!,
            directory: "/node\(id)/shard1", walOptions: WriteAheadLogOptions(groupID: 1, segmentBytes: 16_384))
        replicas[id] = replica
    }

    /// Power loss on `id`: unsynced writes may be lost or torn; the replica is gone until `start`.
    func crash(_ id: NodeID) {
        replicas[id] = nil
        disks[id]!.crash(random: &random)
        inflight.removeAll { $0.to == id }
    }

    var leader: ShardReplica? { replicas.values.first { $0.isLeader } }

    /// One round: tick, deliver, propose, then prepare / sync / finish every replica.
    func round(tick: Bool = true) {
        clock += 1_000_000
        let messages = inflight
        inflight.removeAll()
        for message in messages { replicas[message.to]?.step(message) }
        for id in ids {
            guard let replica = replicas[id] else { continue }
            if tick { replica.tick() }
            dropped += replica.proposeQueued(now: Timestamp(nanoseconds: clock))
            var guardRounds = 0
            while replica.hasReady {
                guardRounds += 1
                precondition(guardRounds < 1_000)
                guard let ready = try? replica.prepare() else { break }
                try! replica.storage.sync()
                let output = replica.finish(ready)
                precondition(output.stopped == nil || replica.stopped != nil)
                inflight += output.messages
                applied[id, default: []] += output.applied
                dropped += output.dropped
            }
        }
    }

    func runUntil(maxRounds: Int = 2_000, _ condition: () -> Bool) -> Bool {
        for _ in 0..<maxRounds {
            if condition() { return true }
            round()
        }
        return condition()
    }

    func electLeader() -> ShardReplica? {
        _ = runUntil { leader != nil }
        return leader
    }

    static func order(_ participant: UInt64, _ clientOrderID: UInt64, _ side: Side, price: Int64, quantity: Int64 = 10)
        -> Command
    {
        .newOrder(
            NewOrder(
                participant: ParticipantID(UInt32(participant)), clientOrderID: ClientOrderID(clientOrderID),
                orderID: OrderID(0), account: AccountID(participant), symbol: Symbol("AAPL"), side: side,
                price: Price(price), quantity: Quantity(quantity)))
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ShardReplicaTests {
    @Test func commandsAreAcknowledgedAfterCommitAndEveryReplicaComputesTheSameState() throws {
        let harness = try ShardHarness()
        let leader = try #require(harness.electLeader())
        #expect(leader.raft.status.id == 1, "the primary (highest priority) leads")
        for number in 1...60 as ClosedRange<UInt64> {
            let command = ShardHarness.order(number % 3 + 1, number, number % 2 == 0 ? .buy : .sell, price: 10_000)
            #expect(leader.submit(command, origin: CommandOrigin(connection: 1, requestID: number)) == .queued)
            if number % 4 == 0 { harness.round() }
        }
        #expect(harness.runUntil { harness.applied[1, default: []].filter { $0.origin != nil }.count == 60 })
        let acknowledged = harness.applied[1]!.filter { $0.origin != nil }
        // In submission order, each with its request id, each accepted with the order id = sequence.
        #expect(acknowledged.map { $0.origin!.requestID } == Array(1...60))
        for outcome in acknowledged {
            guard case .newOrder(let order) = outcome.command else {
                Issue.record("not a new order")
                continue
            }
            #expect(order.orderID.rawValue == outcome.sequence)
            #expect(outcome.events.contains { if case .accepted = $0 { true } else { false } })
        }
        // An acknowledged command is durable on a quorum: at least one follower has applied it too,
        // and all replicas converge on the same state.
        #expect(harness.runUntil { Set(harness.replicas.values.map(\.appliedIndex)).count == 1 })
        let hashes = Set(harness.replicas.values.map { $0.engine.stateHash() })
        #expect(hashes.count == 1)
        #expect(harness.replicas.values.allSatisfy { $0.stateHashChecks > 0 })
        #expect(harness.replicas.values.allSatisfy { $0.stopped == nil })
    }

    @Test func aCrashedFollowerRecoversFromItsDiskAndCatchesUp() throws {
        let harness = try ShardHarness()
        let leader = try #require(harness.electLeader())
        for number in 1...20 as ClosedRange<UInt64> {
            _ = leader.submit(ShardHarness.order(1, number, .buy, price: 9_000 + Int64(number)), origin: CommandOrigin(connection: 1, requestID: number))
        }
        #expect(harness.runUntil { Set(harness.replicas.values.map(\.appliedIndex)).count == 1 && leader.queuedCommandCount == 0 })
        harness.crash(3)
        for number in 21...40 as ClosedRange<UInt64> {
            _ = leader.submit(ShardHarness.order(2, number, .sell, price: 10_500 + Int64(number)), origin: CommandOrigin(connection: 1, requestID: number))
        }
        #expect(harness.runUntil { harness.applied[1, default: []].filter { $0.origin != nil }.count == 40 })
        try harness.start(3)
        #expect(harness.runUntil { harness.replicas[3]!.appliedIndex == leader.appliedIndex })
        #expect(harness.replicas[3]!.engine.stateHash() == leader.engine.stateHash())
        #expect(harness.replicas[3]!.engine.liveOrderCount == 40)
    }

    @Test func aLaggingReplicaCatchesUpBySnapshot() throws {
        let harness = try ShardHarness(options: ShardReplicaOptions(snapshotEveryEntries: 10, stateHashEveryEntries: 3))
        let leader = try #require(harness.electLeader())
        harness.crash(3)
        for number in 1...80 as ClosedRange<UInt64> {
            _ = leader.submit(ShardHarness.order(number % 5 + 1, number, number % 2 == 0 ? .buy : .sell, price: 10_000 + Int64(number % 7)), origin: CommandOrigin(connection: 1, requestID: number))
            harness.round()
        }
        #expect(harness.runUntil { harness.applied[1, default: []].filter { $0.origin != nil }.count == 80 })
        #expect(leader.raft.status.snapshotIndex > 0)
        try harness.start(3)
        #expect(harness.runUntil { harness.replicas[3]!.appliedIndex == leader.appliedIndex })
        #expect(harness.replicas[3]!.raft.status.snapshotIndex > 0)
        #expect(harness.replicas[3]!.engine.stateHash() == leader.engine.stateHash())
        // And it survives a crash right after: recovery from its installed snapshot and log.
        harness.crash(3)
        try harness.start(3)
        #expect(harness.runUntil { harness.replicas[3]!.appliedIndex == leader.appliedIndex })
        #expect(harness.replicas[3]!.engine.stateHash() == leader.engine.stateHash())
    }

    @Test func aRetryAfterLeaderFailoverIsNeverAppliedTwice() throws {
        let harness = try ShardHarness()
        let first = try #require(harness.electLeader())
        let command = ShardHarness.order(4, 77, .buy, price: 9_500)
        _ = first.submit(command, origin: CommandOrigin(connection: 9, requestID: 1))
        #expect(harness.runUntil { harness.applied[1, default: []].contains { $0.origin?.requestID == 1 } })
        harness.crash(1)
        #expect(harness.runUntil { harness.leader != nil })
        let second = try #require(harness.leader)
        #expect(second.raft.status.id != 1)
        // The client did not hear the answer and retries the same client order id at the new leader.
        _ = second.submit(command, origin: CommandOrigin(connection: 9, requestID: 2))
        let secondID = second.raft.status.id
        #expect(harness.runUntil { harness.applied[secondID, default: []].contains { $0.origin?.requestID == 2 } })
        let retry = try #require(harness.applied[secondID]!.first { $0.origin?.requestID == 2 })
        #expect(retry.events.contains { if case .duplicate = $0 { true } else { false } })
        #expect(second.engine.liveOrderCount == 1)
    }

    @Test func aDivergedReplicaStopsOnTheStateHashCheck() throws {
        let harness = try ShardHarness(options: ShardReplicaOptions(snapshotEveryEntries: 1_000, stateHashEveryEntries: 2))
        let leader = try #require(harness.electLeader())
        // Corrupt replica 3's state behind Raft's back: an order no one committed.
        harness.replicas[3]!.testOnlyApply(ShardHarness.order(8, 1, .sell, price: 12_000))
        for number in 1...10 as ClosedRange<UInt64> {
            _ = leader.submit(ShardHarness.order(1, number, .buy, price: 9_000), origin: CommandOrigin(connection: 1, requestID: number))
        }
        #expect(harness.runUntil { harness.replicas[3]!.stopped != nil })
        #expect(harness.replicas[3]!.stopped?.code == .stateHashMismatch)
        #expect(harness.replicas[1]!.stopped == nil && harness.replicas[2]!.stopped == nil)
    }

    @Test func submitAnswersNotLeaderAndAppliesBackPressure() throws {
        let harness = try ShardHarness(options: ShardReplicaOptions(maxQueuedCommands: 3))
        let leader = try #require(harness.electLeader())
        let follower = harness.replicas.values.first { !$0.isLeader }!
        #expect(harness.runUntil { follower.status.leader == leader.status.id })
        #expect(follower.submit(ShardHarness.order(1, 1, .buy, price: 1), origin: CommandOrigin(connection: 1, requestID: 1))
            == .notLeader(leaderHint: leader.raft.status.id))
        for number in 1...3 as ClosedRange<UInt64> {
            #expect(leader.submit(ShardHarness.order(1, number, .buy, price: 9_000), origin: CommandOrigin(connection: 1, requestID: number)) == .queued)
        }
        #expect(leader.submit(ShardHarness.order(1, 4, .buy, price: 9_000), origin: CommandOrigin(connection: 1, requestID: 4)) == .retryLater(.overloaded))
    }
}
