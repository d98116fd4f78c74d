import Cluster
import ClusterConfig
import ExchangeCore
import Glibc
import Matching
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Storage

/// A one-node cluster in this process: real Raft (one voter), real WAL files with fsync in a temporary directory,
/// the real client server on an ephemeral port, and the `ClusterDefinition` that routes to it.
///
/// - Important: call `stop()` on every path (the tests use `defer`-like do/catch blocks).
final class InProcessNode: @unchecked Sendable {
    // @unchecked Sendable: set up once in `start()`, then only read; `stop()` is called by the owning test.
    let root: String
    private(set) var definition: ClusterDefinition!
    private var runtime: NodeRuntime?
    private var transport: NodeTransport?
    private var server: ClientServer?
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static let symbols = ["AAPL", "MSFT"]

    init() {
        var template = Array("/tmp/load-generator-test-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    /// The definition with the node's real ports (1-3 before they are known: the file must name some port).
    static func yaml(raftPort: Int = 1, clientPort: Int = 2, metricsPort: Int = 3, dataDirectory: String) -> String {
        """
        version: 1
        cluster: load-test
        dataDirectory: \(dataDirectory)
        nodes:
          - id: 1
            raftAddress: "127.0.0.1:\(raftPort)"
            clientAddress: "127.0.0.1:\(clientPort)"
            metricsAddress: "127.0.0.1:\(metricsPort)"
            region: local
            zone: a
        shards:
          - id: 1
            symbols: [\(symbols.joined(separator: ", "))]
            replicas:
              - { node: 1, role: primary }
        instruments:
          - { symbol: AAPL, tickSize: 100, referencePrice: 1900000 }
          - { symbol: MSFT, tickSize: 100, referencePrice: 4200000 }
        timing:
          tickMilliseconds: 5
          electionTicks: 4
          heartbeatTicks: 1
        durability:
          fsync: true
        replication:
          mode: regional
        """
    }

    /// Starts the node and waits (deadline 20 s) until it leads its shard.
    func start() async throws {
        let draft = try ClusterDefinition.parse(yaml: Self.yaml(dataDirectory: root), source: "draft")
        let raftConfiguration = try draft.raftConfiguration(for: 1, node: 1)
        let shard = draft.shard(id: 1)!
        let rules = shard.symbols.compactMap { draft.instrumentRules(for: $0) }
        let replica = try ShardReplica.open(
            shardID: 1, raftConfiguration: raftConfiguration,
            engineConfiguration: EngineConfiguration(instruments: rules), options: ShardReplicaOptions(),
            fileSystem: POSIXFileSystem(), directory: root + "/shard-1", walOptions: WriteAheadLogOptions(groupID: 1)
        ).replica

        let holder = NIOLockedValueBox<NodeRuntime?>(nil)
        let transport = try NodeTransport(
            configuration: NodeTransportConfiguration(clusterName: "load-test", nodeID: 1, listenPort: 0),
            group: group, onInbound: { holder.withLockedValue { $0 }?.wake() })
        try await transport.start()
        self.transport = transport
        let runtime = try NodeRuntime(
            host: ShardHost(nodeID: 1, replicas: [replica]), transport: transport,
            options: NodeRuntimeOptions(tickMilliseconds: 5))
        holder.withLockedValue { $0 = runtime }
        runtime.start()
        self.runtime = runtime

        var shardOfSymbol: [Symbol: UInt32] = [:]
        for symbol in shard.symbols { shardOfSymbol[symbol] = 1 }
        let server = try ClientServer(
            configuration: ClientServerConfiguration(port: 0), runtime: runtime, shardOfSymbol: shardOfSymbol,
            clientAddresses: [:], group: group)
        let clientPort = try await server.start()
        self.server = server

        definition = try ClusterDefinition.parse(
            yaml: Self.yaml(
                raftPort: transport.boundPort ?? 1, clientPort: clientPort, metricsPort: 9,
                dataDirectory: root),
            source: "load-test")
        let deadline = NodeRuntime.monotonicNanoseconds() + 20_000_000_000
        while runtime.inspect({ $0.replicas[1]!.isLeader }) != true {
            guard NodeRuntime.monotonicNanoseconds() < deadline else {
                throw NodeStartError(message: "the single node did not become leader within 20 s")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The shard's applied index on the node.
    var appliedIndex: UInt64? { runtime?.inspect { $0.replicas[1]!.appliedIndex } }

    func stop() async {
        if let server { await server.stop() }
        runtime?.stop()
        if let transport { await transport.stop() }
        try? await group.shutdownGracefully()
        server = nil
        runtime = nil
        transport = nil
        removeTree(root)
    }
}

struct NodeStartError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A fresh temporary file path (the file is created empty).
func temporaryPath(_ name: String) -> String {
    var template = Array("/tmp/load-generator-\(name)-XXXXXX".utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    close(descriptor)
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

func removeTree(_ path: String) {
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
