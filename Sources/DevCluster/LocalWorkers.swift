public import Glibc
public import Logging

/// Supervises post-trade worker processes (`exchanged worker <name> ...`) for `exchanged dev` and tests, the way
/// `LocalCluster` supervises nodes: started through `exchanged dev-child` so they die with the supervisor, logs
/// appended to `<root>/logs/worker-<name>.log`, every child reaped.
///
/// Thread-safe; waits poll `waitpid(WNOHANG)` with `Task.sleep`, never blocking the cooperative pool.
public final class LocalWorkers: Sendable {
    enum ChildState: Sendable {
        case running(pid: pid_t)
        case exited(pid: pid_t, status: ProcessExitStatus)
    }

    public let root: String
    public let binary: String
    /// Arguments after `worker <name>` for every worker (for example `--kafka B --postgres C`).
    public let arguments: [String]
    let logger: Logger
    let children = Locked<[String: ChildState]>([:])

    public init(
        root: String, arguments: [String], binary: String? = nil,
        logger: Logger = Logger(label: "exchange.dev-workers")
    ) throws(LocalClusterError) {
        guard let executable = binary ?? ParentDeathWrapper.executablePath() else {
            throw LocalClusterError(code: .spawnFailed, message: "cannot read /proc/self/exe")
        }
        self.root = LocalCluster.absolute(root)
        self.binary = executable
        self.arguments = arguments
        self.logger = logger
        try FileTree.makeDirectories(self.root + "/logs")
    }

    deinit {
        children.withLock { children in
            for case .running(let pid) in children.values {
                Glibc.kill(pid, SIGKILL)
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            }
            children.removeAll()
        }
    }

    public func logPath(for name: String) -> String { root + "/logs/worker-\(name).log" }

    /// Starts `exchanged worker <name> <arguments> <extra>`.
    public func start(_ name: String, extra: [String] = []) async throws(LocalClusterError) {
        if isRunning(name) { throw LocalClusterError(code: .wrongState, message: "worker \(name) is already running") }
        let command = ["worker", name] + arguments + extra
        let spawnArguments = [binary, "dev-child", "--parent-pid", "\(getpid())", "--"] + command
        let logPath = logPath(for: name)
        try FileTree.append("=== \(LocalCluster.timestamp()) starting: \(spawnArguments.joined(separator: " "))\n", to: logPath)
        let result = await SpawnThread.shared.run { ProcessSpawner.spawn(arguments: spawnArguments, logPath: logPath) }
        let pid = try result.get()
        children.withLock { $0[name] = .running(pid: pid) }
        logger.info("worker started", metadata: ["worker": "\(name)", "process.pid": "\(pid)"])
    }

    public func isRunning(_ name: String) -> Bool {
        _ = reap(name)
        return children.withLock { if case .running = $0[name] { true } else { false } }
    }

    public func pid(_ name: String) -> pid_t? {
        children.withLock { if case .running(let pid) = $0[name] { pid } else { nil } }
    }

    /// How the worker's last process ended; nil while it runs or if it never ran.
    public func exitStatus(_ name: String) -> ProcessExitStatus? {
        _ = reap(name)
        return children.withLock { if case .exited(_, let status) = $0[name] { status } else { nil } }
    }

    /// Sends `signal` and waits until the process is reaped.
    @discardableResult
    public func kill(_ name: String, signal: Int32 = SIGKILL, timeout: Duration = .seconds(10)) async throws(LocalClusterError)
        -> ProcessExitStatus
    {
        guard let pid = pid(name) else {
            throw LocalClusterError(code: .wrongState, message: "worker \(name) is not running")
        }
        if Glibc.kill(pid, signal) != 0, errno != ESRCH {
            throw LocalClusterError(code: .signalFailed, message: "kill(\(pid), \(signal))", systemError: errno)
        }
        return try await waitForExit(name, timeout: timeout)
    }

    /// Waits until the worker's process has exited (on its own, e.g. at a crash point) and returns how.
    public func waitForExit(_ name: String, timeout: Duration) async throws(LocalClusterError) -> ProcessExitStatus {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if let status = reap(name) { return status }
            if clock.now >= deadline {
                throw LocalClusterError(code: .timedOut, message: "worker \(name) still running after \(timeout)")
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// SIGTERM to every running worker, SIGKILL after `timeout`; reaps them all.
    public func stopAll(timeout: Duration = .seconds(10)) async {
        let running = children.withLock { $0.compactMap { name, state in if case .running = state { name } else { nil } } }
        for name in running { if let pid = pid(name) { Glibc.kill(pid, SIGTERM) } }
        for name in running {
            if (try? await waitForExit(name, timeout: timeout)) == nil {
                logger.warning("worker did not stop in time; SIGKILL", metadata: ["worker": "\(name)"])
                _ = try? await kill(name, signal: SIGKILL, timeout: .seconds(30))
            }
        }
    }

    private func reap(_ name: String) -> ProcessExitStatus? {
        children.withLock { children in
            switch children[name] {
            case .running(let pid):
                var raw: Int32 = 0
                let result = waitpid(pid, &raw, WNOHANG)
                if result == pid {
                    let status = ProcessExitStatus(waitStatus: raw)
                    children[name] = .exited(pid: pid, status: status)
                    return status
                }
                if result < 0 && errno == ECHILD {
                    let status = ProcessExitStatus.exited(code: -1)
                    children[name] = .exited(pid: pid, status: status)
                    return status
                }
                return nil
            case .exited(_, let status): return status
            case nil: return nil
            }
        }
    }
}
