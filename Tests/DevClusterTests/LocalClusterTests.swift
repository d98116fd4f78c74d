import Cluster
import ClusterConfig
import ExchangeOps
import Glibc
import Raft
import Testing

@testable import DevCluster

/// Real `exchanged node` processes on loopback, supervised by `LocalCluster`.
@Suite(.serialized) struct LocalClusterTests {
    /// A fresh root with a 3-node, 1-shard definition on free ports, and its supervisor.
    static func makeCluster(shards: Int = 1) throws -> LocalCluster {
        let root = try LocalCluster.makeTemporaryDirectory(prefix: "local-cluster-test-")
        let path = try LocalCluster.writeTestDefinition(root: root, nodes: 3, shards: shards, symbolsPerShard: 2)
        return try LocalCluster(definitionPath: path, root: root, binary: LocalCluster.findBinary())
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
    static func eventually(
        timeout: Duration = .seconds(15), _ condition: () async -> Bool
    ) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    /// True when `pid` is neither running nor a zombie of this process.
    static func isGone(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        return reaped == -1 && errno == ECHILD && !LocalCluster.isAlive(pid)
    }

    static func status(of cluster: LocalCluster, _ node: NodeID, timeout: Duration = .milliseconds(300)) async
        -> NodeStatus?
    {
        guard let address = cluster.definition.node(id: node)?.metricsAddress else { return nil }
        return try? await fetchNodeStatus(host: address.host, port: Int(address.port), timeout: timeout)
    }

    @Test func startPauseResumeKillRestartAndStopAllLeaveNoChild() async throws {
        let cluster = try Self.makeCluster()
        defer { LocalCluster.removeTree(cluster.root) }
        try await cluster.startAll()
        #expect(cluster.nodeIDs.allSatisfy { cluster.isRunning($0) })
        let leaders = try await cluster.waitUntilEveryShardHasLeader(timeout: .seconds(20))
        let leader = try #require(leaders[1]).nodeID
        let follower = try #require(cluster.nodeIDs.first { $0 != leader })
        let pidFile = try #require(FileTree.read(cluster.pidFilePath))
        #expect(pidFile.split(separator: "\n").count == 3, "\(pidFile)")

        // SIGSTOP: the follower stops answering, the shard keeps its leader; SIGCONT: it answers again.
        try cluster.pause(follower)
        #expect(cluster.isPaused(follower) && cluster.isRunning(follower))
        #expect(await Self.status(of: cluster, follower) == nil)
        try await cluster.waitUntilEveryShardHasLeader(timeout: .seconds(10))
        try cluster.resume(follower)
        #expect(!cluster.isPaused(follower))
        #expect(
            await Self.eventually { await Self.status(of: cluster, follower) != nil }, "\(cluster.logTail(follower))")

        // kill -9 and restart the follower: it comes back and follows a leader (the same one, or itself once
        // leadership returns to it if it is the primary).
        let killed = try await cluster.kill(follower)
        #expect(killed == .signaled(signal: SIGKILL))
        #expect(!cluster.isRunning(follower))
        #expect(cluster.exitStatus(follower) == .signaled(signal: SIGKILL))
        #expect(cluster.unexpectedExits().isEmpty)
        try await cluster.start(follower)
        #expect(
            await Self.eventually {
                (await Self.status(of: cluster, follower)?.shards.first?.leaderID ?? 0) != 0
            }, "\(cluster.logTail(follower))")

        // A clean restart (SIGTERM) of the leader exits 0, and the shard gets a leader again.
        try await cluster.waitUntilEveryShardHasLeader(timeout: .seconds(20))
        let oldPID = try #require(cluster.pid(leader))
        try await cluster.restart(leader, signal: SIGTERM)
        #expect(cluster.isRunning(leader) && cluster.pid(leader) != oldPID)
        #expect(Self.isGone(oldPID))
        try await cluster.waitUntilEveryShardHasLeader(timeout: .seconds(20))
        #expect(cluster.log(leader).components(separatedBy: "=== ").count - 1 == 2, "two start markers")

        // stopAll, also with a paused node: every child stopped and reaped. (`exchanged node` handles SIGTERM only
        // once it serves, so wait until every node answers /status first.)
        #expect(await Self.eventually { await cluster.fetchStatuses().count == 3 })
        try cluster.pause(follower)
        let pids = cluster.nodeIDs.compactMap { cluster.pid($0) }
        #expect(pids.count == 3)
        let stopped = await cluster.stopAll(timeout: .seconds(10))
        #expect(stopped.count == 3)
        let allClean = stopped.values.allSatisfy { $0.isSuccess }
        #expect(allClean, "\(stopped), leader \(leader), paused \(follower)")
        for pid in pids { #expect(Self.isGone(pid), "pid \(pid)") }
        #expect(cluster.nodeIDs.allSatisfy { !cluster.isRunning($0) })
        #expect(FileTree.read(cluster.pidFilePath) == nil)
        #expect(cluster.unexpectedExits().isEmpty)
    }

    @Test func aNodeThatDiesOnItsOwnIsReported() async throws {
        let cluster = try Self.makeCluster()
        defer { LocalCluster.removeTree(cluster.root) }
        try await cluster.startAll()
        try await cluster.waitUntilEveryShardHasLeader(timeout: .seconds(20))
        let pid = try #require(cluster.pid(2))
        Glibc.kill(pid, SIGKILL)
        #expect(await Self.eventually { cluster.unexpectedExits()[2] == .signaled(signal: SIGKILL) })
        await #expect(throws: LocalClusterError.self) {
            try await cluster.waitUntilEveryShardHasLeader(timeout: .seconds(5))
        }
        do {
            try await cluster.waitUntilEveryShardHasLeader(timeout: .seconds(5))
        } catch {
            #expect(error.code == .nodeExited && error.message.contains("node 2"), "\(error)")
        }
        await cluster.stopAll()
        #expect(Self.isGone(pid))
    }

    /// Nodes left by another supervisor on the same root (a killed `exchanged dev`) are found by their command
    /// line and killed before a new supervisor starts any node.
    @Test func leftoverNodesOfTheSameRootAreKilled() async throws {
        let first = try Self.makeCluster()
        defer { LocalCluster.removeTree(first.root) }
        try await first.startAll()
        try await first.waitUntilEveryShardHasLeader(timeout: .seconds(20))
        let pids = first.nodeIDs.compactMap { first.pid($0) }
        let second = try LocalCluster(
            definitionPath: first.definitionPath, root: first.root, binary: LocalCluster.findBinary())
        let found = second.leftoverProcesses()
        #expect(found.map(\.node) == [1, 2, 3])
        #expect(Set(found.map(\.pid)) == Set(pids))
        // A supervisor of another root sees none of them.
        let other = try Self.makeCluster()
        defer { LocalCluster.removeTree(other.root) }
        #expect(other.leftoverProcesses().isEmpty)

        try await second.startAll()  // kills the leftovers first
        #expect(await Self.eventually { first.nodeIDs.allSatisfy { !first.isRunning($0) } })
        try await second.waitUntilEveryShardHasLeader(timeout: .seconds(20))
        await second.stopAll()
        await first.stopAll()
        for pid in pids { #expect(Self.isGone(pid)) }
    }

    @Test func testDefinitionsUseDistinctFreePorts() throws {
        let root = try LocalCluster.makeTemporaryDirectory(prefix: "local-cluster-test-")
        defer { LocalCluster.removeTree(root) }
        let path = try LocalCluster.writeTestDefinition(root: root, nodes: 5, shards: 4, symbolsPerShard: 3)
        let definition = try ClusterDefinition.load(path: path)
        #expect(definition.nodes.count == 5)
        #expect(definition.shards.count == 4)
        #expect(definition.shards.allSatisfy { $0.symbols.count == 3 && $0.voters.count == 3 })
        #expect(definition.shards.map(\.primary) == [1, 2, 3, 4])
        let ports = definition.nodes.flatMap { [$0.raftAddress.port, $0.clientAddress.port, $0.metricsAddress.port] }
        #expect(Set(ports).count == 15)
        #expect(definition.dataDirectory == root + "/data")
    }
}

/// `ShardLeaders.leaders` as transcripts: statuses in, leaders out.
@Suite struct ShardLeadersTests {
    static let definition: ClusterDefinition = {
        let root = try! LocalCluster.makeTemporaryDirectory(prefix: "shard-leaders-test-")
        defer { LocalCluster.removeTree(root) }
        return try! ClusterDefinition.load(
            path: LocalCluster.writeTestDefinition(root: root, nodes: 3, shards: 2))
    }()

    static func status(_ node: NodeID, _ shards: [(UInt32, NodeStatus.Role, term: UInt64, leader: NodeID)])
        -> NodeStatus
    {
        NodeStatus(
            nodeID: node, cluster: "dev-test", uptimeSeconds: 1,
            shards: shards.map {
                NodeStatus.Shard(
                    shardID: $0.0, role: $0.1, term: $0.term, leaderID: $0.leader, commitIndex: 0, appliedIndex: 0,
                    lastIndex: 0, snapshotIndex: 0)
            }, peers: [])
    }

    @Test func aLeaderCountsOnceAnotherReplicaFollowsIt() {
        let alone = ShardLeaders.leaders(
            definition: Self.definition,
            statuses: [1: Self.status(1, [(1, .leader, term: 2, leader: 1)])])
        #expect(alone.isEmpty)

        let followed = ShardLeaders.leaders(
            definition: Self.definition,
            statuses: [
                1: Self.status(1, [(1, .leader, term: 2, leader: 1), (2, .follower, term: 1, leader: 0)]),
                2: Self.status(2, [(1, .follower, term: 2, leader: 1), (2, .candidate, term: 1, leader: 0)]),
            ])
        #expect(followed == [1: ShardLeader(shardID: 1, nodeID: 1, term: 2, confirmations: 1)])
    }

    @Test func theHighestTermWinsWhenTwoNodesClaimToLead() {
        let leaders = ShardLeaders.leaders(
            definition: Self.definition,
            statuses: [
                1: Self.status(1, [(1, .leader, term: 2, leader: 1)]),
                2: Self.status(2, [(1, .leader, term: 3, leader: 2)]),
                3: Self.status(3, [(1, .follower, term: 3, leader: 2)]),
            ])
        #expect(leaders[1]?.nodeID == 2)
        #expect(leaders[1]?.term == 3)
        let table = ShardLeaders.table(definition: Self.definition, leaders: leaders)
        #expect(table.contains("node 2") && table.split(separator: "\n").count == 3, "\(table)")
    }
}
