import ExchangeCore
import Glibc
import Matching
import NIOConcurrencyHelpers
import Raft
import Storage
import Testing

@testable import Cluster

/// Three node loops in one process: real threads, real TCP between them (loopback), real files.
final class RuntimeCluster: @unchecked Sendable {
    // @unchecked Sendable: only the test's task touches the dictionaries.
    let nodes: [NodeID] = [1, 2, 3]
    let shards: [UInt32] = [1, 2]
    let root: String
    var runtimes: [NodeID: NodeRuntime] = [:]
    var transports: [NodeID: NodeTransport] = [:]
    var ports: [NodeID: Int] = [:]

    init() throws {
        var template = Array("/tmp/node-runtime-test-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    func startAll() async throws {
        for node in nodes { try await start(node) }
        for node in nodes {
            for peer in nodes where peer != node {
                transports[node]!.updatePeerAddress(peer, PeerAddress(host: "127.0.0.1", port: ports[peer]!))
            }
        }
    }

    /// Starts (or restarts, recovering from its files) one node on a fresh ephemeral port (a port
    /// freed by a stopped node may have been taken by any socket since), and tells the others.
    func start(_ node: NodeID) async throws {
        let holder = NIOLockedValueBox<NodeRuntime?>(nil)
        var peers: [NodeID: PeerAddress] = [:]
        for peer in nodes where peer != node {
            peers[peer] = PeerAddress(host: "127.0.0.1", port: ports[peer] ?? 0)
        }
        let transport = try NodeTransport(
            configuration: NodeTransportConfiguration(
                clusterName: "runtime-test", nodeID: node, listenPort: 0, peers: peers,
                reconnectBackoffInitialMilliseconds: 10, reconnectBackoffMaxMilliseconds: 200),
            onInbound: { holder.withLockedValue { $0 }?.wake() })
        try await transport.start()
        ports[node] = transport.boundPort
        for (other, otherTransport) in transports where other != node {
            otherTransport.updatePeerAddress(node, PeerAddress(host: "127.0.0.1", port: ports[node]!))
        }
        let replicas = try shards.map { shard in
            var configuration = RaftConfiguration(
                id: node, membership: Membership(voters: nodes), preVote: true, checkQuorum: true,
                requireTwoRegionQuorum: false)
            configuration.randomSeed = UInt64(shard) &* 7 &+ node
            configuration.electionPriorities = shard == 1 ? [1: 2, 2: 1] : [2: 2, 3: 1]
            configuration.clusterNodes = Set(nodes)
            return try ShardReplica.open(
                shardID: shard, raftConfiguration: configuration, engineConfiguration: ShardHarness.engineConfiguration,
                options: ShardReplicaOptions(snapshotEveryEntries: 64, stateHashEveryEntries: 8),
                fileSystem: POSIXFileSystem(), directory: "\(root)/node\(node)-shard\(shard)",
                walOptions: WriteAheadLogOptions(groupID: UInt64(shard), segmentBytes: 1 << 20)
            ).replica
        }
        let runtime = try NodeRuntime(
            host: ShardHost(nodeID: node, replicas: replicas), transport: transport,
            options: NodeRuntimeOptions(tickMilliseconds: 5))
        holder.withLockedValue { $0 = runtime }
        runtime.start()
        runtimes[node] = runtime
        transports[node] = transport
    }

    /// Stops a node's loop and transport (its files stay, as after kill -9 with the page cache
    /// flushed: every acknowledged write was fsynced).
    func stop(_ node: NodeID) async {
        runtimes[node]?.stop()
        await transports[node]?.stop()
        runtimes[node] = nil
        transports[node] = nil
    }

    func stopAll() async {
        for node in nodes { await stop(node) }
        removeTree(root)
    }

    func leader(of shard: UInt32) -> NodeID? {
        for (node, runtime) in runtimes {
            if runtime.inspect({ $0.replicas[shard]!.isLeader }) == true { return node }
        }
        return nil
    }

    /// Waits (polling, with a deadline) until `condition` holds.
    func eventually(seconds: Double = 20, _ condition: () -> Bool) -> Bool {
        let deadline = NodeRuntime.monotonicNanoseconds() + UInt64(seconds * 1e9)
        while NodeRuntime.monotonicNanoseconds() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    func submit(_ node: NodeID, shard: UInt32, _ command: Command) async -> SubmissionOutcome {
        guard let runtime = runtimes[node] else { return .unavailable }
        return await withCheckedContinuation { continuation in
            runtime.submit(shard: shard, command) { continuation.resume(returning: $0) }
        }
    }

    func appliedIndexAndHash(_ node: NodeID, shard: UInt32) -> (UInt64, UInt64)? {
        runtimes[node]?.inspect { host in
            let replica = host.replicas[shard]!
            return (replica.appliedIndex, replica.engine.stateHash())
        }
    }
}

private func removeTree(_ path: String) {
    if let directory = opendir(path) {
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(directory)
        for name in names { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

@Suite(.serialized) struct NodeRuntimeTests {
    @Test func threeNodesCommitOverTCPSurviveTheLeaderAndRecoverFromDisk() async throws {
        let cluster = try RuntimeCluster()
        do {
            try await cluster.startAll()
            try await scenario(cluster)
        } catch {
            await cluster.stopAll()
            throw error
        }
        await cluster.stopAll()
    }

    func scenario(_ cluster: RuntimeCluster) async throws {
        #expect(cluster.eventually { cluster.leader(of: 1) == 1 && cluster.leader(of: 2) == 2 })

        // 60 orders into shard 1 at its leader: every outcome arrives only after commit and apply.
        var accepted = 0
        for number in 1...60 as ClosedRange<UInt64> {
            let outcome = await cluster.submit(
                1, shard: 1, ShardHarness.order(number % 3 + 1, number, number % 2 == 0 ? .buy : .sell, price: 10_000))
            if case .applied(let applied) = outcome,
                applied.events.contains(where: { if case .accepted = $0 { true } else { false } })
            {
                accepted += 1
            }
        }
        #expect(accepted == 60)
        // A follower refuses with a hint.
        let refused = await cluster.submit(3, shard: 1, ShardHarness.order(1, 1_000, .buy, price: 10_000))
        if case .notLeader(let hint) = refused { #expect(hint == 1) } else { Issue.record("\(refused)") }
        #expect(
            cluster.eventually {
                let states = cluster.nodes.compactMap { cluster.appliedIndexAndHash($0, shard: 1) }
                return states.count == 3 && Set(states.map(\.0)).count == 1 && Set(states.map(\.1)).count == 1
            })

        // The leader of shard 1 goes away: the standby (node 2) takes over; a client's retry of an
        // order it never heard back about is not applied twice.
        await cluster.stop(1)
        #expect(cluster.eventually { cluster.leader(of: 1) == 2 })
        let retry = await cluster.submit(2, shard: 1, ShardHarness.order(60 % 3 + 1, 60, .buy, price: 10_000))
        if case .applied(let applied) = retry {
            #expect(applied.events.contains { if case .duplicate = $0 { true } else { false } })
        } else {
            Issue.record("retry: \(retry)")
        }
        for number in 61...80 as ClosedRange<UInt64> {
            let outcome = await cluster.submit(2, shard: 1, ShardHarness.order(2, number, .sell, price: 10_100))
            if case .applied = outcome {} else { Issue.record("order \(number): \(outcome)") }
        }

        // Node 1 comes back from its files, catches up, and (the primary) leads shard 1 again.
        try await cluster.start(1)
        #expect(
            cluster.eventually {
                let states = cluster.nodes.compactMap { cluster.appliedIndexAndHash($0, shard: 1) }
                return states.count == 3 && Set(states.map(\.0)).count == 1 && Set(states.map(\.1)).count == 1
            })
        #expect(cluster.eventually { cluster.leader(of: 1) == 1 })
    }
}
