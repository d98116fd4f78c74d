import Dispatch
import Foundation
public import Kafka
public import Logging
public import Postgres
import PostTrade

/// The post-trade side of a local cluster, for `exchanged dev` and tests: a private PostgreSQL (Debian's server,
/// fsync on, migrated), librdkafka's mock Kafka cluster in this process with every topic, and the three workers as
/// `exchanged worker` child processes (`LocalWorkers`).
///
/// `@unchecked Sendable`: the server object is touched only by `start`/`restartPostgres`/`stop`, which callers do
/// not run concurrently; the mock cluster and `LocalWorkers` are thread-safe.
public final class PostTradeStack: @unchecked Sendable {
    public static let workerNames = ["clearing", "settlement", "ledger"]

    public let postgres: LocalPostgresServer
    public let kafka: KafkaMockCluster
    public let workers: LocalWorkers
    public let connectionString: String
    public var bootstrapServers: String { kafka.bootstrapServers }
    /// `--kafka <bootstrap>` for every node.
    public var nodeArguments: [String] { ["--kafka", kafka.bootstrapServers] }

    private init(postgres: LocalPostgresServer, kafka: KafkaMockCluster, workers: LocalWorkers) {
        self.postgres = postgres
        self.kafka = kafka
        self.workers = workers
        self.connectionString = postgres.connectionString
    }

    /// Starts PostgreSQL (and migrates it) and the mock Kafka with every topic of `Topic.all`. Workers are
    /// started separately (`startWorkers`), so that a caller can pass crash points.
    ///
    /// - Parameters:
    ///   - root: worker logs go to `<root>/logs/worker-<name>.log`.
    ///   - binary: the `exchanged` executable (default: this process's own).
    public static func start(
        root: String, brokers: Int = 3, partitions: Int = 4, binary: String? = nil,
        logger: Logger = Logger(label: "exchange.dev-post-trade")
    ) async throws -> PostTradeStack {
        let postgres = LocalPostgresServer(logger: logger)
        let box = ServerBox(postgres)
        try await Self.onThread { try box.server.start() }
        let kafka: KafkaMockCluster
        do {
            kafka = try KafkaMockCluster(brokerCount: brokers)
            for topic in Topic.all {
                try kafka.createTopic(name: topic, partitions: Int32(partitions), replicationFactor: Int32(min(3, brokers)))
            }
        } catch {
            postgres.stop()
            throw error
        }
        let connectionString = postgres.connectionString
        do {
            try await Self.onThread {
                let connection = try PostgresConnection(connectionString: connectionString)
                _ = try Migrations.apply(connection: connection)
            }
        } catch {
            kafka.close()
            postgres.stop()
            throw error
        }
        let workers = try LocalWorkers(
            root: root, arguments: ["--kafka", kafka.bootstrapServers, "--postgres", connectionString],
            binary: binary, logger: logger)
        return PostTradeStack(postgres: postgres, kafka: kafka, workers: workers)
    }

    /// Starts every worker that is not running; `crashAt[name]` adds `--crash-at` for that worker.
    public func startWorkers(crashAt: [String: String] = [:]) async throws(LocalClusterError) {
        for name in Self.workerNames where !workers.isRunning(name) {
            try await workers.start(name, extra: crashAt[name].map { ["--crash-at", $0] } ?? [])
        }
    }

    /// Workers that exited although nobody stopped them.
    public func exitedWorkers() -> [String: ProcessExitStatus] {
        var result: [String: ProcessExitStatus] = [:]
        for name in Self.workerNames { if let status = workers.exitStatus(name) { result[name] = status } }
        return result
    }

    /// Stops PostgreSQL (fast shutdown: every session is cut) and starts it again on the same data and port:
    /// the "database restart mid-stream" fault.
    public func restartPostgres() async throws {
        let box = ServerBox(postgres)
        try await Self.onThread {
            box.server.stop(keepingData: true)
            try box.server.start()
        }
    }

    /// Stops the workers, then Kafka and PostgreSQL.
    public func stop() async {
        await workers.stopAll()
        kafka.close()
        let box = ServerBox(postgres)
        try? await Self.onThread { box.server.stop() }
    }

    /// Carries the (non-Sendable) server to the thread that starts or stops it; only one thread uses it at a time.
    struct ServerBox: @unchecked Sendable {
        let server: LocalPostgresServer
        init(_ server: LocalPostgresServer) { self.server = server }
    }

    /// Runs blocking work (libpq, pg_ctl) on a thread of its own, not on the cooperative pool.
    static func onThread(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                do {
                    try body()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }
}
