import ExchangeCore
import Matching
import Raft
import Storage
import Testing

@testable import Cluster

/// Three nodes, each hosting a replica of two shards (multi-raft), one simulated disk per node.
final class HostHarness {
    let nodes: [NodeID] = [1, 2, 3]
    let shards: [UInt32] = [1, 2]
    var hosts: [NodeID: ShardHost] = [:]
    var disks: [NodeID: SimulatedFileSystem] = [:]
    var inflight: [(shard: UInt32, message: Message)] = []
    var applied: [NodeID: [(shard: UInt32, command: AppliedCommand)]] = [:]
    var clock: Int64 = 1_000_000_000

    init() throws {
        for node in nodes {
            disks[node] = SimulatedFileSystem()
            try start(node)
        }
    }

    func start(_ node: NodeID) throws {
        let replicas = try shards.map { shard in
            var configuration = RaftConfiguration(
                id: node, membership: Membership(voters: nodes), preVote: true, checkQuorum: true,
                requireTwoRegionQuorum: false)
            configuration.randomSeed = UInt64(shard) &* 1_000 &+ node
            // Shard 1's primary is node 1, shard 2's is node 2.
            configuration.electionPriorities = shard == 1 ? [1: 2, 2: 1] : [2: 2, 3: 1]
            return try ShardReplica.open(
                shardID: shard, raftConfiguration: configuration, engineConfiguration: ShardHarness.engineConfiguration,
                options: ShardReplicaOptions(snapshotEveryEntries: 50, stateHashEveryEntries: 4),
                fileSystem: disks[node]!, directory: "/node\(node)/shard\(shard)",
                walOptions: WriteAheadLogOptions(groupID: UInt64(shard), segmentBytes: 16_384)
            ).replica
        }
        hosts[node] = ShardHost(nodeID: node, replicas: replicas)
    }

    func leader(of shard: UInt32) -> NodeID? {
        hosts.first { $0.value.replicas[shard]?.isLeader == true }?.key
    }

    func round() throws {
        clock += 1_000_000
        let messages = inflight
        inflight.removeAll()
        for (shard, message) in messages { hosts[message.to]?.step(shard: shard, message) }
        for node in nodes {
            guard let host = hosts[node] else { continue }
            host.tick()
            let output = try host.drain(now: Timestamp(nanoseconds: clock))
            inflight += output.messages
            applied[node, default: []] += output.applied
        }
    }

    func runUntil(maxRounds: Int = 3_000, _ condition: () -> Bool) throws -> Bool {
        for _ in 0..<maxRounds {
            if condition() { return true }
            try round()
        }
        return condition()
    }
}

@Suite struct ShardHostTests {
    @Test func twoShardsOnThreeNodesCommitWithOneSyncRoundPerPass() throws {
        let harness = try HostHarness()
        #expect(try harness.runUntil { harness.leader(of: 1) != nil && harness.leader(of: 2) != nil })
        // Each shard's primary leads it (election priorities).
        #expect(try harness.runUntil { harness.leader(of: 1) == 1 && harness.leader(of: 2) == 2 })
        for number in 1...40 as ClosedRange<UInt64> {
            for shard in harness.shards {
                let leader = harness.hosts[harness.leader(of: shard)!]!
                let result = leader.submit(
                    shard: shard, ShardHarness.order(number % 4 + 1, number, number % 2 == 0 ? .buy : .sell, price: 10_000),
                    origin: CommandOrigin(connection: UInt64(shard), requestID: number))
                #expect(result == .queued)
            }
            if number % 5 == 0 { try harness.round() }
        }
        #expect(
            try harness.runUntil {
                harness.shards.allSatisfy { shard in
                    harness.applied[harness.leader(of: shard)!, default: []].filter {
                        $0.shard == shard && $0.command.origin != nil
                    }.count == 40
                }
            })
        #expect(
            try harness.runUntil {
                harness.shards.allSatisfy { shard in
                    Set(harness.hosts.values.map { $0.replicas[shard]!.appliedIndex }).count == 1
                }
            })
        for shard in harness.shards {
            let hashes = Set(harness.hosts.values.map { $0.replicas[shard]!.engine.stateHash() })
            #expect(hashes.count == 1, "shard \(shard)")
        }
        for host in harness.hosts.values { #expect(host.syncRounds > 0 && host.unknownShardMessages == 0) }
    }

    @Test func aFailedFsyncIsFatalForTheNode() throws {
        let harness = try HostHarness()
        #expect(try harness.runUntil { harness.leader(of: 1) == 1 })
        let host = harness.hosts[1]!
        _ = host.submit(shard: 1, ShardHarness.order(1, 1, .buy, price: 10_000), origin: CommandOrigin(connection: 1, requestID: 1))
        harness.disks[1]!.failNextSync()
        var failure: HostFailure?
        do {
            for _ in 0..<100 { _ = try host.drain(now: Timestamp(nanoseconds: harness.clock)) ; host.tick() }
        } catch {
            failure = error
        }
        #expect(failure?.error.code == .storage)
        #expect(failure?.error.walError?.storageError?.code == .syncFailed)
        // No acknowledgement was produced for the command whose entry was never durable.
        #expect(harness.applied[1, default: []].allSatisfy { $0.command.origin?.requestID != 1 })
    }
}
