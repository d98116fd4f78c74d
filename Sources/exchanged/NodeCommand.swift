import ArgumentParser
import Cluster
import ClusterConfig
import Dispatch
import Foundation
import ExchangeCore
import Glibc
import Kafka
import Logging
import Matching
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostTrade
import Prometheus
import Raft
import Storage
import Systemd

/// `exchanged node --config FILE --id NODE`: one node of the cluster, hosting its replicas of every
/// shard the file gives it, until SIGTERM or SIGINT.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run one node: its shard replicas, the transport to its peers, the client port and /metrics.")

    @Option(name: .long, help: "The cluster definition (YAML), e.g. cluster-config/local.yaml.")
    var config: String

    @Option(name: .long, help: "This node's id in the definition.")
    var id: UInt64

    @Option(name: .long, help: "Base data directory (overrides the file's dataDirectory; the node uses <base>/node-<id>).")
    var data: String?

    @Option(
        name: .long,
        help: "Kafka bootstrap servers for the outbox publisher (overrides postTrade.kafkaBootstrap of the file).")
    var kafka: String?

    func run() async throws {
        // SIGTERM / SIGINT are caught from the first instruction: one that arrives during recovery or
        // startup is acted on as soon as the node can stop cleanly.
        let stopSignals = NodeStopSignals()
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "exchange.node")
        logger[metadataKey: "node.id"] = "\(id)"

        var definition: ClusterDefinition
        do { definition = try ClusterDefinition.load(path: config) } catch {
            throw ValidationError("\(error)")
        }
        if let data { definition.dataDirectory = data }
        guard let node = definition.node(id: id) else {
            throw ValidationError("node \(id) is not defined in \(config)")
        }
        guard definition.durability.fsync else {
            throw ValidationError(
                "\(config): durability.fsync is false, which this build does not support: every batch is fsynced")
        }
        guard let dataDirectory = definition.dataDirectory(for: id) else {
            throw ValidationError("no data directory for node \(id)")
        }
        let fileSystem = POSIXFileSystem()
        try Self.makeDirectories(dataDirectory, fileSystem: fileSystem)

        // Every shard this node hosts, recovered from disk.
        var replicas: [ShardReplica] = []
        var roles: [UInt32: String] = [:]
        for hosted in definition.replicas(on: id) {
            guard let shard = definition.shard(id: hosted.shard) else { continue }
            let raftConfiguration = try definition.raftConfiguration(for: hosted.shard, node: id)
            let rules = shard.symbols.compactMap { definition.instrumentRules(for: $0) }
            let options = ShardReplicaOptions(
                maxCommandsPerEntry: definition.batching.maxCommandsPerEntry,
                maxQueuedCommands: definition.batching.maxPendingCommands,
                snapshotEveryEntries: UInt64(definition.snapshots.everyEntries),
                stateHashEveryEntries: UInt64(definition.stateHash.everyEntries),
                keepsOutbox: definition.postTrade.outbox)
            let (replica, report) = try ShardReplica.open(
                shardID: hosted.shard, raftConfiguration: raftConfiguration,
                engineConfiguration: EngineConfiguration(instruments: rules), options: options,
                fileSystem: fileSystem, directory: "\(dataDirectory)/shard-\(hosted.shard)",
                walOptions: WriteAheadLogOptions(groupID: UInt64(hosted.shard)))
            logger.info(
                "shard recovered",
                metadata: ["shard.id": "\(hosted.shard)", "shard.role": "\(hosted.role.rawValue)", "report": "\(report)"])
            if let truncation = report.truncation {
                logger.warning("torn tail cut at recovery", metadata: ["shard.id": "\(hosted.shard)", "cut": "\(truncation)"])
            }
            replicas.append(replica)
            roles[hosted.shard] = hosted.role.rawValue
        }
        guard !replicas.isEmpty else { throw ValidationError("node \(id) hosts no replica in \(config)") }

        // Transport to the other nodes; it wakes the loop when messages arrive.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let runtimeHolder = RuntimeHolder()
        var peers: [NodeID: PeerAddress] = [:]
        for peer in definition.nodes where peer.id != id {
            peers[peer.id] = PeerAddress(host: peer.raftAddress.host, port: Int(peer.raftAddress.port))
        }
        let transport = try NodeTransport(
            configuration: NodeTransportConfiguration(
                clusterName: definition.cluster, nodeID: id, listenHost: node.raftAddress.host,
                listenPort: Int(node.raftAddress.port), peers: peers, maxFrameBytes: definition.transport.maxFrameBytes,
                outboundQueueBytesMax: definition.transport.peerQueueBytes,
                reconnectBackoffInitialMilliseconds: definition.transport.reconnectBackoffMinimumMilliseconds,
                reconnectBackoffMaxMilliseconds: definition.transport.reconnectBackoffMaximumMilliseconds,
                connectTimeoutMilliseconds: definition.transport.connectTimeoutMilliseconds),
            group: group, logger: logger, onInbound: { runtimeHolder.wake() })
        try await transport.start()

        var shardReplicas: [UInt32: [NodeID]] = [:]
        for replica in replicas {
            shardReplicas[replica.shardID] = definition.shard(id: replica.shardID)?.replicas.map(\.node) ?? []
        }
        let metrics = NodeMetrics(nodeID: id, shardReplicas: shardReplicas, peers: Array(peers.keys))
        let host = ShardHost(nodeID: id, replicas: replicas)
        // The outbox publisher: the leaders' committed events to Kafka.
        var publisher: KafkaOutboxPublisher?
        if definition.postTrade.outbox, let bootstrap = kafka ?? definition.postTrade.kafkaBootstrap {
            do {
                publisher = try KafkaOutboxPublisher(
                    configuration: KafkaConfiguration(bootstrapServers: bootstrap, clientID: "exchange-node-\(id)"),
                    logger: logger)
            } catch {
                throw ValidationError("kafka: \(error)")
            }
            publisher?.start()
            logger.info("outbox publisher started", metadata: ["kafka": "\(bootstrap)"])
            Self.createTopics(
                bootstrap: bootstrap, partitions: definition.postTrade.topicPartitions,
                replicationFactor: definition.postTrade.topicReplicationFactor, logger: logger)
        } else if definition.postTrade.outbox {
            logger.warning("postTrade.outbox is on but no Kafka is configured: the outbox fills until one is")
        }
        let runtime = try NodeRuntime(
            host: host, transport: transport,
            options: NodeRuntimeOptions(tickMilliseconds: definition.timing.tickMilliseconds), metrics: metrics,
            outboxSink: publisher, logger: logger)
        runtimeHolder.set(runtime)
        runtime.start()

        var shardOfSymbol: [Symbol: UInt32] = [:]
        for shard in definition.shards { for symbol in shard.symbols { shardOfSymbol[symbol] = shard.id } }
        var clientAddresses: [NodeID: String] = [:]
        for other in definition.nodes { clientAddresses[other.id] = other.clientAddress.description }
        let clientServer = try ClientServer(
            configuration: ClientServerConfiguration(
                host: node.clientAddress.host, port: Int(node.clientAddress.port)),
            runtime: runtime, shardOfSymbol: shardOfSymbol, clientAddresses: clientAddresses, group: group,
            logger: logger)
        _ = try await clientServer.start()

        // /metrics, /status, /healthz; the status is refreshed from the loop every 100 ms.
        let statusBox = NodeStatusBox()
        let statusServer = try StatusServer(
            configuration: StatusServerConfiguration(
                host: node.metricsAddress.host, port: Int(node.metricsAddress.port)),
            registry: metrics.registry, group: group, logger: logger, status: { statusBox.current },
            shardAdmin: { request, done in
                runtime.inspect({ host in request.respond(host: host) }) { response in
                    done(response ?? .text(.serviceUnavailable, "the node loop is not running"))
                }
            })
        try await statusServer.start()
        let started = NodeRuntime.monotonicNanoseconds()
        let cluster = definition.cluster
        let replicaRoles = roles
        let refresher = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(100)) { _ in
            let counters = transport.counters
            runtime.inspect({ host in
                NodeStatus.make(
                    host: host, cluster: cluster,
                    uptimeSeconds: Double(NodeRuntime.monotonicNanoseconds() - started) / 1e9, replicaRoles: replicaRoles,
                    transport: counters)
            }) { status in
                guard let status else { return }
                statusBox.publish(status)
                metrics.update(from: status)
                metrics.update(from: counters)
            }
        }

        // systemd: READY once serving; WATCHDOG while the loop is healthy.
        let notifier = SystemdNotifier()
        _ = try? notifier.ready(status: "serving \(replicas.count) shard replicas")
        var watchdog: RepeatedTask?
        if let interval = notifier.watchdogInterval {
            let half = TimeAmount.nanoseconds(Int64(interval.components.seconds) * 500_000_000
                + interval.components.attoseconds / 2_000_000_000)
            watchdog = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: half) { _ in
                if runtime.failure == nil { _ = try? notifier.watchdog() }
            }
        }
        logger.info(
            "node serving",
            metadata: [
                "raft": "\(node.raftAddress)", "client": "\(node.clientAddress)", "metrics": "\(node.metricsAddress)",
            ])

        let reason = await stopSignals.wait(runtime: runtime)
        logger.notice("stopping", metadata: ["reason": "\(reason)"])
        _ = try? notifier.stopping(status: "stopping: \(reason)")
        watchdog?.cancel()
        refresher.cancel()
        await clientServer.stop()
        runtime.stop()
        publisher?.stop()
        await transport.stop()
        await statusServer.stop()
        try await group.shutdownGracefully()
        if let failure = runtime.failure {
            logger.critical("exiting after a storage failure", metadata: ["error": "\(failure)"])
            throw ExitCode(70)
        }
    }

    /// Creates every post-trade topic that does not exist yet, on a thread of its own (the admin call blocks);
    /// a failure is logged, not fatal: the topics may be managed elsewhere (or the Kafka is a mock that has them).
    static func createTopics(bootstrap: String, partitions: Int, replicationFactor: Int, logger: Logger) {
        let thread = Thread {
            do {
                let admin = try KafkaAdmin(
                    configuration: KafkaConfiguration(bootstrapServers: bootstrap, clientID: "exchange-admin"),
                    logger: logger)
                let created = try admin.createTopics(
                    Topic.all.map {
                        KafkaTopicSpecification(
                            name: $0, partitions: Int32(partitions), replicationFactor: Int32(replicationFactor))
                    }, timeout: .seconds(30))
                let new = created.filter { $0.value == .created }.keys.sorted()
                if !new.isEmpty { logger.notice("kafka topics created", metadata: ["topics": "\(new)"]) }
            } catch {
                logger.warning(
                    "could not create the post-trade topics (they must exist already)", metadata: ["error": "\(error)"])
            }
        }
        thread.start()
    }

    static func makeDirectories(_ path: String, fileSystem: POSIXFileSystem) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            try fileSystem.createDirectory(current)
        }
    }
}

/// The runtime, once created, for the transport's wake-up callback (created before it).
final class RuntimeHolder: Sendable {
    private let box = NIOLockedValueBox<NodeRuntime?>(nil)
    func set(_ runtime: NodeRuntime) { box.withLockedValue { $0 = runtime } }
    func wake() { box.withLockedValue { $0 }?.wake() }
}

/// SIGTERM and SIGINT, caught from the start of the process (dispatch signal sources; the default
/// actions are ignored), and a storage failure of the loop: the reasons a node stops.
final class NodeStopSignals: @unchecked Sendable {
    // @unchecked Sendable: every mutable field is guarded by `lock`.
    private let lock = NIOLock()
    private var reason: String?
    private var continuation: CheckedContinuation<String, Never>?
    private var sources: [any DispatchSourceSignal] = []
    private var timer: (any DispatchSourceTimer)?
    private let queue = DispatchQueue(label: "exchange.signals")

    init() {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak self] in self?.stop(name) }
            source.resume()
            sources.append(source)
        }
    }

    /// Returns the first stop reason: a signal (also one that came before this call), or a storage
    /// failure of `runtime`'s loop.
    func wait(runtime: NodeRuntime) async -> String {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(200), repeating: .milliseconds(200))
        timer.setEventHandler { [weak self] in if runtime.failure != nil { self?.stop("storage failure") } }
        timer.resume()
        lock.withLock { self.timer = timer }
        return await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let already: String? = lock.withLock {
                if let reason { return reason }
                self.continuation = continuation
                return nil
            }
            if let already { continuation.resume(returning: already) }
        }
    }

    /// Returns the first stop signal (also one that came before this call).
    func waitForSignal() async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let already: String? = lock.withLock {
                if let reason { return reason }
                self.continuation = continuation
                return nil
            }
            if let already { continuation.resume(returning: already) }
        }
    }

    private func stop(_ why: String) {
        let waiting: CheckedContinuation<String, Never>? = lock.withLock {
            if reason == nil { reason = why }
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(returning: why)
    }
}
