import CLibPQ
import Foundation
import Glibc
public import Logging

/// A throw-away PostgreSQL server for tests and `exchanged dev`: a private data directory under
/// `/tmp`, a free TCP port on 127.0.0.1 only, its unix socket inside the data directory, and
/// `trust` authentication for user `postgres` (so only use it where every local user may connect).
///
/// When the process runs as root (CI does; `initdb` and `postgres` refuse root), the server runs as
/// the unprivileged user `postgres` through `runuser`, and the directory is chowned to that user.
/// `fsync` stays on (set explicitly), so timings resemble a real deployment.
///
/// - Important: every method blocks (it runs `initdb` and waits for the server). Call it from a
///   synchronous test or a dedicated thread, never from a NIO event loop or the cooperative pool.
///   Call `stop()` when done; `deinit` stops a server that is still running, but a crashed process
///   leaves the server behind (its data directory is named `/tmp/exchange-pg-*`).
///
/// Restart: `stop(keepingData: true)` shuts the server down but keeps its data directory and port; the
/// next `start()` runs `postgres` again on that directory and port (no `initdb`), so committed data
/// survives, as after a server restart or crash recovery in production.
public final class LocalPostgresServer {
    /// Settings for the local server.
    public struct Configuration: Sendable {
        /// Directory holding `initdb` and `postgres`. Default: `/usr/lib/postgresql/15/bin` (Debian).
        public var binDirectory: String = "/usr/lib/postgresql/15/bin"
        /// Unprivileged user that runs the server when this process is root. Default: `postgres`.
        public var unprivilegedUser: String = "postgres"
        /// How long `start()` waits for the server to accept connections. Default: 60 s; range 1...600 s.
        public var startTimeoutSeconds: Int = 60
        /// How long `stop()` waits after a fast shutdown before an immediate one. Default: 30 s; range 1...600 s.
        public var stopTimeoutSeconds: Int = 30
        /// Interval between readiness and exit polls. Default: 20 ms; range 1...1000 ms.
        public var pollIntervalMilliseconds: Int = 20
        /// Ports tried when the chosen free port is taken before the server binds it. Default: 3; range 1...20.
        public var portAttemptsMax: Int = 3

        public init() {}

        func validate() {
            precondition((1...600).contains(startTimeoutSeconds), "startTimeoutSeconds out of range")
            precondition((1...600).contains(stopTimeoutSeconds), "stopTimeoutSeconds out of range")
            precondition((1...1000).contains(pollIntervalMilliseconds), "pollIntervalMilliseconds out of range")
            precondition((1...20).contains(portAttemptsMax), "portAttemptsMax out of range")
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    private var baseDirectory: String?
    private var serverProcess: Process?
    /// The TCP port on 127.0.0.1; 0 until `start()` succeeds.
    public private(set) var port: Int = 0

    public init(
        configuration: Configuration = Configuration(), logger: Logger = Logger(label: "exchange.postgres.local")
    ) {
        configuration.validate()
        self.configuration = configuration
        self.logger = logger
    }

    deinit {
        stop()
    }

    public var isRunning: Bool { serverProcess?.isRunning ?? false }

    /// The data directory, valid while the server runs and after `stop(keepingData: true)`.
    public var dataDirectory: String? { baseDirectory.map { $0 + "/data" } }

    /// libpq connection string for database `postgres` as user `postgres` over TCP.
    /// - Important: valid only after `start()` returned.
    public var connectionString: String {
        precondition(port != 0, "connectionString read before start()")
        return "host=127.0.0.1 port=\(port) user=postgres dbname=postgres connect_timeout=10"
    }

    /// Creates the data directory, runs `initdb`, starts `postgres` and waits until it accepts connections.
    ///
    /// After `stop(keepingData: true)`, starts `postgres` again on the kept data directory and port instead
    /// (no `initdb`); if that fails the data is kept, so `start()` can be retried or `stop()` clean up.
    /// - Throws: `serverFailed` with the tail of the relevant log.
    public func start() throws(PostgresError) {
        precondition(serverProcess == nil, "start() called while the server is running")
        let restarting = baseDirectory != nil
        do {
            if restarting {
                try restartUnchecked()
            } else {
                try startUnchecked()
            }
        } catch {
            stop(keepingData: restarting)
            throw error
        }
    }

    /// The command prefix that runs a server binary as the unprivileged user when this process is root
    /// (after giving that user the directory `base`); empty otherwise.
    private func runAsPrefix(owning base: String) throws(PostgresError) -> [String] {
        guard geteuid() == 0 else { return [] }
        guard let account = getpwnam(configuration.unprivilegedUser) else {
            throw PostgresError(
                code: .serverFailed,
                message: "running as root and user \(configuration.unprivilegedUser) does not exist")
        }
        guard chown(base, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
            throw PostgresError(code: .serverFailed, message: "chown \(base): \(Self.errnoText())")
        }
        return ["/usr/sbin/runuser", "-u", configuration.unprivilegedUser, "--"]
    }

    private func serverArguments(data: String, port: Int) -> [String] {
        [
            configuration.binDirectory + "/postgres", "-D", data, "-p", String(port),
            "-k", data, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on",
        ]
    }

    /// Starts `postgres` on the kept data directory and the same port.
    private func restartUnchecked() throws(PostgresError) {
        guard let base = baseDirectory, port != 0 else {
            preconditionFailure("restart without a kept data directory and port")
        }
        let runAsPrefix = try runAsPrefix(owning: base)
        let serverLog = base + "/server.log"
        let process = try launch(
            runAsPrefix + serverArguments(data: base + "/data", port: port), logPath: serverLog,
            workingDirectory: base)
        serverProcess = process
        guard try waitUntilReady(process: process, port: port, logPath: serverLog) else {
            serverProcess = nil
            throw PostgresError(
                code: .serverFailed, message: "postgres exited during restart: \(Self.tail(of: serverLog))")
        }
        logger.info(
            "local postgres restarted",
            metadata: ["postgres.port": "\(port)", "postgres.data_directory": "\(base)/data"])
    }

    private func startUnchecked() throws(PostgresError) {
        let base = try Self.makeTemporaryDirectory()
        baseDirectory = base
        let data = base + "/data"
        let runAsPrefix = try runAsPrefix(owning: base)

        let initdbLog = base + "/initdb.log"
        let initdb = try launch(
            runAsPrefix + [
                configuration.binDirectory + "/initdb", "-D", data, "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--no-locale",
            ],
            logPath: initdbLog, workingDirectory: base)
        initdb.waitUntilExit()
        guard initdb.terminationReason == .exit, initdb.terminationStatus == 0 else {
            throw PostgresError(
                code: .serverFailed,
                message: "initdb failed (status \(initdb.terminationStatus)): \(Self.tail(of: initdbLog))")
        }

        let serverLog = base + "/server.log"
        var lastError: PostgresError?
        for attempt in 1...configuration.portAttemptsMax {
            let candidatePort = try Self.freePort()
            let process = try launch(
                runAsPrefix + serverArguments(data: data, port: candidatePort), logPath: serverLog,
                workingDirectory: base)
            serverProcess = process
            if try waitUntilReady(process: process, port: candidatePort, logPath: serverLog) {
                port = candidatePort
                logger.info(
                    "local postgres started",
                    metadata: ["postgres.port": "\(candidatePort)", "postgres.data_directory": "\(data)"])
                return
            }
            serverProcess = nil
            let log = Self.tail(of: serverLog)
            lastError = PostgresError(code: .serverFailed, message: "postgres exited during start-up: \(log)")
            // Someone else took the port between our probe and the server's bind: try another one.
            guard log.contains("could not bind") || log.contains("could not create any TCP/IP sockets") else { break }
            logger.warning("local postgres port taken, retrying", metadata: ["postgres.attempt": "\(attempt)"])
        }
        throw lastError ?? PostgresError(code: .serverFailed, message: "postgres did not start")
    }

    /// Polls `PQping` until the server accepts connections (true), exits (false), or the deadline passes (throws).
    private func waitUntilReady(process: Process, port: Int, logPath: String) throws(PostgresError) -> Bool {
        let deadline = ContinuousClock.now + .seconds(configuration.startTimeoutSeconds)
        let pingString = "host=127.0.0.1 port=\(port) user=postgres dbname=postgres connect_timeout=2"
        while ContinuousClock.now < deadline {
            if !process.isRunning { return false }
            if PQping(pingString) == PQPING_OK { return true }
            usleep(useconds_t(configuration.pollIntervalMilliseconds * 1000))
        }
        throw PostgresError(
            code: .serverFailed,
            message: "postgres not ready after \(configuration.startTimeoutSeconds) s: \(Self.tail(of: logPath))")
    }

    /// Fast shutdown (SIGINT to the postmaster: roll back open transactions, checkpoint, exit), then
    /// waits; after `stopTimeoutSeconds` an immediate shutdown (SIGQUIT). Removes the directory.
    /// Safe to call when not started or already stopped.
    public func stop() {
        stop(keepingData: false)
    }

    /// Like `stop()`, but with `keepingData` the data directory and port are kept for a later `start()`
    /// (a restart). `stop()` afterwards removes them.
    public func stop(keepingData: Bool) {
        if let process = serverProcess {
            serverProcess = nil
            let postmasterPID = dataDirectory.flatMap(Self.postmasterPID(dataDirectory:))
            if process.isRunning {
                if let postmasterPID {
                    kill(postmasterPID, SIGINT)
                } else {
                    process.interrupt()
                }
                let deadline = ContinuousClock.now + .seconds(configuration.stopTimeoutSeconds)
                while process.isRunning, ContinuousClock.now < deadline {
                    usleep(useconds_t(configuration.pollIntervalMilliseconds * 1000))
                }
                if process.isRunning {
                    logger.warning("local postgres ignored fast shutdown; sending SIGQUIT")
                    if let postmasterPID { kill(postmasterPID, SIGQUIT) } else { process.terminate() }
                }
                process.waitUntilExit()
            }
            logger.info("local postgres stopped", metadata: ["postgres.port": "\(port)"])
        }
        guard !keepingData else { return }
        if let baseDirectory {
            try? FileManager.default.removeItem(atPath: baseDirectory)
            self.baseDirectory = nil
        }
        port = 0
    }

    // MARK: - Process helpers

    private func launch(_ arguments: [String], logPath: String, workingDirectory: String) throws(PostgresError)
        -> Process
    {
        precondition(!arguments.isEmpty)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        process.standardInput = FileHandle.nullDevice
        do {
            if !FileManager.default.fileExists(atPath: logPath) {
                _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            }
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            try log.seekToEnd()
            process.standardOutput = log
            process.standardError = log
            try process.run()
            try log.close()
        } catch {
            throw PostgresError(code: .serverFailed, message: "cannot run \(arguments[0]): \(error)")
        }
        return process
    }

    private static func makeTemporaryDirectory() throws(PostgresError) -> String {
        var template = Array("/tmp/exchange-pg-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
        }
        guard let created else {
            throw PostgresError(code: .serverFailed, message: "mkdtemp: \(errnoText())")
        }
        return created
    }

    /// Asks the kernel for a free port on 127.0.0.1 (bind to port 0), then releases it for the server.
    private static func freePort() throws(PostgresError) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresError(code: .serverFailed, message: "socket: \(errnoText())") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw PostgresError(code: .serverFailed, message: "bind: \(errnoText())") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw PostgresError(code: .serverFailed, message: "getsockname: \(errnoText())") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// First line of `postmaster.pid`: the postmaster's process id.
    private static func postmasterPID(dataDirectory: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let firstLine = text.split(separator: "\n").first
        else { return nil }
        return pid_t(firstLine.trimmingCharacters(in: .whitespaces))
    }

    private static func tail(of path: String, bytesMax: Int = 2000) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no log at \(path))" }
        return PostgresError.trimmed(String(text.suffix(bytesMax)))
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
