import ClusterConfig
import ExchangeClient
import ExchangeCore
import Glibc
import Matching
import Testing
import Wire

@testable import Cluster

/// Three real `exchanged node` processes on loopback, driven through the client port.
final class ProcessCluster {
    let root: String
    let basePort: Int
    var pids: [UInt64: pid_t] = [:]
    let binary: String

    init() throws {
        var template = Array("/tmp/exchanged-test-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        basePort = 20_000 + Int(getpid() % 10_000) * 4
        binary = try ProcessCluster.findBinary()
        let config = """
            version: 1
            cluster: process-test
            dataDirectory: \(root)/data
            nodes:
              - { id: 1, raftAddress: "127.0.0.1:\(basePort + 1)", clientAddress: "127.0.0.1:\(basePort + 11)", metricsAddress: "127.0.0.1:\(basePort + 21)", region: local, zone: a }
              - { id: 2, raftAddress: "127.0.0.1:\(basePort + 2)", clientAddress: "127.0.0.1:\(basePort + 12)", metricsAddress: "127.0.0.1:\(basePort + 22)", region: local, zone: b }
              - { id: 3, raftAddress: "127.0.0.1:\(basePort + 3)", clientAddress: "127.0.0.1:\(basePort + 13)", metricsAddress: "127.0.0.1:\(basePort + 23)", region: local, zone: c }
            shards:
              - id: 1
                symbols: [AAPL]
                replicas: [{ node: 1, role: primary }, { node: 2, role: standby }, { node: 3, role: voter }]
            instruments:
              - { symbol: AAPL, referencePrice: 10000 }
            durability:
              fsync: true
            replication:
              mode: regional
            """
        let file = fopen(root + "/cluster.yaml", "w")!
        fputs(config, file)
        fclose(file)
    }

    static func findBinary() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        var directory = length > 0 ? String(cString: buffer) : CommandLine.arguments[0]
        for _ in 0..<6 {
            directory = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
            if directory.isEmpty { break }
            let candidate = directory + "/exchanged"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw ProcessClusterError(message: "exchanged binary not found next to the test bundle; build it first")
    }

    func start(_ node: UInt64) throws {
        var pid: pid_t = 0
        let arguments = [binary, "node", "--config", root + "/cluster.yaml", "--id", "\(node)"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, root + "/node\(node).log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, root + "/node\(node).log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let status = posix_spawn(&pid, binary, &actions, nil, &argv, environ)
        guard status == 0 else { throw ProcessClusterError(message: "posix_spawn failed: \(status)") }
        pids[node] = pid
    }

    func kill(_ node: UInt64, signal: Int32 = SIGKILL) {
        guard let pid = pids.removeValue(forKey: node) else { return }
        Glibc.kill(pid, signal)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    func stopAll() {
        for node in Array(pids.keys) { kill(node, signal: SIGTERM) }
        removeTree(root)
    }

    func clientPort(_ node: UInt64) -> Int { basePort + 10 + Int(node) }

    /// Sends `request` to `node` and returns the answer (nil if the node is not reachable).
    func ask(_ node: UInt64, _ request: ClientRequest) -> ClientResponse? {
        guard let client = try? RawClient(port: clientPort(node)) else { return nil }
        client.send(request)
        return try? client.receive()
    }

    /// Waits (polling, with a deadline) until `condition` holds.
    func eventually(seconds: Double = 30, _ condition: () -> Bool) -> Bool {
        let deadline = NodeRuntime.monotonicNanoseconds() + UInt64(seconds * 1e9)
        while NodeRuntime.monotonicNanoseconds() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    func log(_ node: UInt64) -> String {
        guard let file = fopen(root + "/node\(node).log", "r") else { return "" }
        defer { fclose(file) }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), file) != nil { text += String(cString: buffer) }
        return text
    }
}

struct ProcessClusterError: Error { let message: String }

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

@Suite(.serialized) struct ProcessClusterTests {
    static func order(_ clientOrderID: UInt64) -> ClientRequest {
        ClientRequest(
            requestID: clientOrderID,
            body: .newOrder(
                NewOrderRequest(
                    participant: ParticipantID(5), clientOrderID: ClientOrderID(clientOrderID), account: AccountID(5),
                    symbol: Symbol("AAPL"), side: clientOrderID % 2 == 0 ? .buy : .sell,
                    price: Price(clientOrderID % 2 == 0 ? 9_000 : 11_000), quantity: Quantity(1))))
    }

    static func isAccepted(_ response: ClientResponse?) -> CommandResult? {
        if case .commandResult(let result) = response?.body, result.outcome == .accepted { return result }
        return nil
    }

    @Test func killMinusNineTheLeaderAndNoAcknowledgedOrderIsLost() throws {
        let cluster = try ProcessCluster()
        defer { cluster.stopAll() }
        for node in [1, 2, 3] as [UInt64] { try cluster.start(node) }
        // Node 1 (primary) accepts orders once the cluster is up.
        #expect(cluster.eventually { Self.isAccepted(cluster.ask(1, Self.order(1))) != nil }, "\(cluster.log(1))")
        var acknowledged: Set<UInt64> = [1]
        for clientOrderID in 2...30 as ClosedRange<UInt64> {
            if Self.isAccepted(cluster.ask(1, Self.order(clientOrderID))) != nil { acknowledged.insert(clientOrderID) }
        }
        #expect(acknowledged.count == 30)

        // kill -9 the leader; the standby takes over; every acknowledged order is still there
        // (a retry answers "duplicate"), and new orders go through.
        cluster.kill(1)
        #expect(cluster.eventually { Self.isAccepted(cluster.ask(2, Self.order(31))) != nil }, "\(cluster.log(2))")
        for clientOrderID in acknowledged.sorted() {
            let again = Self.isAccepted(cluster.ask(2, Self.order(clientOrderID)))
            #expect(again?.isDuplicate == true, "order \(clientOrderID) after failover: \(String(describing: again))")
        }
        // A follower redirects to the new leader.
        if case .notLeader(let redirect) = cluster.ask(3, Self.order(32))?.body {
            #expect(redirect.leaderNodeID == 2)
        } else {
            Issue.record("node 3 did not redirect")
        }

        // The old leader restarts from its files, catches up and leads again (it is the primary).
        try cluster.start(1)
        #expect(cluster.eventually { Self.isAccepted(cluster.ask(1, Self.order(33))) != nil }, "\(cluster.log(1))")
        let replay = Self.isAccepted(cluster.ask(1, Self.order(31)))
        #expect(replay?.isDuplicate == true)
    }

    /// The client library against real processes: it follows the failover by itself, and what it
    /// was told is acknowledged stays acknowledged.
    @Test func theClientLibraryRidesThroughAKillMinusNine() async throws {
        let cluster = try ProcessCluster()
        defer { cluster.stopAll() }
        for node in [1, 2, 3] as [UInt64] { try cluster.start(node) }
        #expect(cluster.eventually { Self.isAccepted(cluster.ask(1, Self.order(1))) != nil }, "\(cluster.log(1))")
        let definition = try ClusterDefinition.load(path: cluster.root + "/cluster.yaml")
        let client = try ExchangeClient(
            cluster: definition,
            configuration: ExchangeClientConfiguration(requestTimeout: .seconds(3), retryBudget: 20))
        defer { client.shutdown() }
        var acknowledged: [UInt64: CommandResult] = [:]
        for clientOrderID in 100...160 as ClosedRange<UInt64> {
            if clientOrderID == 130 { cluster.kill(1) }
            guard case .newOrder(let order) = Self.order(clientOrderID).body else { continue }
            do {
                let result = try await client.submit(order)
                #expect(result.outcome == .accepted, "order \(clientOrderID): \(result)")
                acknowledged[clientOrderID] = result
            } catch {
                Issue.record("order \(clientOrderID): \(error)")
            }
        }
        #expect(acknowledged.count == 61)
        // Every acknowledged order is known to the new leader, with the same order id.
        for (clientOrderID, first) in acknowledged.sorted(by: { $0.key < $1.key }) {
            let again = Self.isAccepted(cluster.ask(2, Self.order(clientOrderID)))
            #expect(again?.isDuplicate == true && again?.orderID == first.orderID, "order \(clientOrderID)")
        }
    }
}
