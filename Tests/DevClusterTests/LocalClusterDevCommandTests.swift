import Foundation
import Glibc
import Testing

@testable import DevCluster

/// `exchanged dev` as a child process of the test, on a test definition with free ports.
@Suite(.serialized) struct LocalClusterDevCommandTests {
    /// Spawns `exchanged arguments...` with its output in `<root>/dev-output.txt`.
    static func spawnExchanged(_ arguments: [String], root: String) async throws -> pid_t {
        let binary = try LocalCluster.findBinary()
        let output = root + "/dev-output.txt"
        return try await SpawnThread.shared.run {
            ProcessSpawner.spawn(arguments: [binary] + arguments, logPath: output)
        }.get()
    }

    /// Waits for `pid` to exit (at most `timeout`); SIGKILLs and reaps it past the deadline and returns nil.
    static func waitForExit(_ pid: pid_t, timeout: Duration) async -> ProcessExitStatus? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var status: Int32 = 0
        while clock.now < deadline {
            if waitpid(pid, &status, WNOHANG) == pid { return ProcessExitStatus(waitStatus: status) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        Glibc.kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return nil
    }

    /// A spawned child gets stdin, stdout and stderr and nothing else of the test process: an inherited socket
    /// (the in-process mock Kafka's connections) would stay open for the child's whole life.
    @Test func spawnedChildInheritsNoOtherFileDescriptor() async throws {
        let root = try LocalCluster.makeTemporaryDirectory(prefix: "spawn-fds-")
        defer { LocalCluster.removeTree(root) }
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)  // no O_CLOEXEC: exactly what a library might leave behind
        defer { close(ends[0]); close(ends[1]) }
        let output = root + "/fds.txt"
        let pid = try await SpawnThread.shared.run {
            ProcessSpawner.spawn(arguments: ["/bin/sh", "-c", "ls /proc/$$/fd"], logPath: output)
        }.get()
        let status = await Self.waitForExit(pid, timeout: .seconds(30))
        #expect(status == .exited(code: 0))
        let listed = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(listed.sorted() == ["0", "1", "2"], "pipe fds \(ends): \(listed)")
    }

    @Test func devExitAfterLoadPrintsTheSummaryAndPassesVerification() async throws {
        let root = try LocalCluster.makeTemporaryDirectory(prefix: "dev-command-test-")
        defer { LocalCluster.removeTree(root) }
        let definition = try LocalCluster.writeTestDefinition(root: root, nodes: 3, shards: 2, symbolsPerShard: 2)
        let pid = try await Self.spawnExchanged(
            [
                "dev", "--exit-after-load", "--load-seconds", "3", "--closed", "16", "--participants", "4",
                "--config", definition, "--root", root + "/dev",
            ], root: root)
        let status = await Self.waitForExit(pid, timeout: .seconds(60))
        let output = FileTree.read(root + "/dev-output.txt") ?? ""
        #expect(status == .exited(code: 0), "\(output)")
        #expect(output.contains("every shard has a leader"), "\(output)")
        #expect(output.contains("summary:") && output.contains("latency    p50"), "\(output)")
        #expect(output.contains("violations: 0"), "\(output)")
        #expect(output.contains("/status") && output.contains("/metrics"), "\(output)")
        #expect(output.contains("cluster stopped"), "\(output)")
        #expect(FileTree.read(root + "/dev/acks.log")?.isEmpty == false)
        #expect(FileTree.read(root + "/dev/pids") == nil, "every node was stopped")
    }

    /// `exchanged dev` killed with SIGKILL takes its nodes with it (parent-death signal).
    @Test func nodesDieWithAKilledDevSupervisor() async throws {
        let root = try LocalCluster.makeTemporaryDirectory(prefix: "dev-command-test-")
        defer { LocalCluster.removeTree(root) }
        let definition = try LocalCluster.writeTestDefinition(root: root, nodes: 3, shards: 1)
        let pid = try await Self.spawnExchanged(
            ["dev", "--load-seconds", "0", "--config", definition, "--root", root + "/dev"], root: root)
        var nodePIDs: [pid_t] = []
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(20))
        while clock.now < deadline {
            let output = FileTree.read(root + "/dev-output.txt") ?? ""
            if output.contains("running; Ctrl-C") {
                let pids = FileTree.read(root + "/dev/pids") ?? ""
                nodePIDs = pids.split(separator: "\n").compactMap {
                    $0.split(separator: " ").last.flatMap { pid_t($0) }
                }
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(nodePIDs.count == 3, "\(FileTree.read(root + "/dev-output.txt") ?? "")")
        Glibc.kill(pid, SIGKILL)
        #expect(await Self.waitForExit(pid, timeout: .seconds(10)) == .signaled(signal: SIGKILL))
        for node in nodePIDs {
            let gone = await LocalClusterTests.eventually(timeout: .seconds(10)) { !LocalCluster.isAlive(node) }
            #expect(gone, "node pid \(node) outlived its supervisor")
            if !gone { Glibc.kill(node, SIGKILL) }
        }
    }

    @Test func devStopsEveryNodeOnSIGTERMAndExitsZero() async throws {
        let root = try LocalCluster.makeTemporaryDirectory(prefix: "dev-command-test-")
        defer { LocalCluster.removeTree(root) }
        let definition = try LocalCluster.writeTestDefinition(root: root, nodes: 3, shards: 1)
        let pid = try await Self.spawnExchanged(
            ["dev", "--load-seconds", "0", "--config", definition, "--root", root + "/dev"], root: root)
        let ready = await LocalClusterTests.eventually(timeout: .seconds(20)) {
            (FileTree.read(root + "/dev-output.txt") ?? "").contains("running; Ctrl-C")
        }
        #expect(ready, "\(FileTree.read(root + "/dev-output.txt") ?? "")")
        let nodePIDs = (FileTree.read(root + "/dev/pids") ?? "").split(separator: "\n").compactMap {
            $0.split(separator: " ").last.flatMap { pid_t($0) }
        }
        Glibc.kill(pid, SIGTERM)
        let status = await Self.waitForExit(pid, timeout: .seconds(20))
        let output = FileTree.read(root + "/dev-output.txt") ?? ""
        #expect(status == .exited(code: 0), "\(output)")
        #expect(output.contains("SIGTERM: stopping every node") && output.contains("cluster stopped"), "\(output)")
        for node in nodePIDs { #expect(!LocalCluster.isAlive(node), "node pid \(node)") }
    }

    /// A node that dies on its own: `exchanged dev` says so with the end of its log, stops the others, exits 1.
    @Test func aNodeDyingOnItsOwnStopsDevWithStatusOne() async throws {
        let root = try LocalCluster.makeTemporaryDirectory(prefix: "dev-command-test-")
        defer { LocalCluster.removeTree(root) }
        let definition = try LocalCluster.writeTestDefinition(root: root, nodes: 3, shards: 1)
        let pid = try await Self.spawnExchanged(
            ["dev", "--load-seconds", "0", "--config", definition, "--root", root + "/dev"], root: root)
        let ready = await LocalClusterTests.eventually(timeout: .seconds(20)) {
            (FileTree.read(root + "/dev-output.txt") ?? "").contains("running; Ctrl-C")
        }
        #expect(ready, "\(FileTree.read(root + "/dev-output.txt") ?? "")")
        let nodePIDs = (FileTree.read(root + "/dev/pids") ?? "").split(separator: "\n").compactMap {
            $0.split(separator: " ").last.flatMap { pid_t($0) }
        }
        let victim = try #require(nodePIDs.last)
        Glibc.kill(victim, SIGKILL)
        let status = await Self.waitForExit(pid, timeout: .seconds(20))
        let output = FileTree.read(root + "/dev-output.txt") ?? ""
        #expect(status == .exited(code: 1), "\(output)")
        #expect(output.contains("node 3 killed by signal 9 (SIGKILL) unexpectedly"), "\(output)")
        #expect(output.contains("node serving"), "the tail of the node's log: \(output)")
        #expect(output.contains("cluster stopped"), "\(output)")
        for node in nodePIDs { #expect(!LocalCluster.isAlive(node), "node pid \(node)") }
    }
}
