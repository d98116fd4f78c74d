public import ClusterConfig
public import Glibc
public import Logging
public import Raft

/// Supervises the nodes of one cluster definition as local `exchanged node` processes: for `exchanged dev`, tests
/// and benchmarks.
///
/// Layout under `root`: `data/node-<id>` (each node's data, passed as `--data <root>/data`), `logs/node-<id>.log`
/// (stdout and stderr, appended across restarts, each start preceded by a marker line) and `pids` (the running
/// children, one `node pid` line each).
///
/// Children never outlive the supervisor:
/// - `stopAll(timeout:)` (and `deinit`, as a last resort) stop and reap every child, so none is left a zombie.
/// - With `parentDeathSignal` (the default), each node is started through `exchanged dev-child`, which arms
///   `PR_SET_PDEATHSIG` (SIGKILL) before it becomes the node: if the supervisor process dies, even by SIGKILL,
///   the kernel kills its nodes. See `ParentDeathWrapper` and `SpawnThread` for why spawns run on one thread.
/// - Without it (a binary other than `exchanged`), a supervisor killed with SIGKILL leaves its nodes running; the
///   next `LocalCluster` on the same root finds them in `<root>/pids` and kills them before it starts any node
///   (checking `/proc/<pid>/cmdline`, so a reused pid is never signalled).
///
/// Thread-safe: every method may be called from any task. Methods that wait do so with `Task.sleep` between
/// non-blocking `waitpid(WNOHANG)` polls, never blocking the cooperative pool.
public final class LocalCluster: Sendable {
    /// What the supervisor knows of one node's process.
    enum ChildState: Sendable {
        case running(pid: pid_t, paused: Bool)
        case exited(pid: pid_t, status: ProcessExitStatus)
    }

    /// The cluster definition file, as an absolute path.
    public let definitionPath: String
    /// The definition read from `definitionPath`.
    public let definition: ClusterDefinition
    /// Where data, logs and the pid file live.
    public let root: String
    /// The `exchanged` executable.
    public let binary: String
    /// Start nodes through `exchanged dev-child` so that they die with the supervisor.
    public let parentDeathSignal: Bool
    /// Extra arguments of every `exchanged node` (for example `--kafka <bootstrap>`).
    public let nodeArguments: [String]
    let logger: Logger
    let children = Locked<[NodeID: ChildState]>([:])
    let leftoversChecked = Locked<Bool>(false)
    /// Nodes stopped through `kill`, `restart` or `stopAll` since their last start: their exit is no surprise.
    let stoppedOnPurpose = Locked<Set<NodeID>>([])

    /// - Parameters:
    ///   - definitionPath: a cluster definition (YAML); made absolute.
    ///   - root: the directory for data, logs and pids; created if missing.
    ///   - binary: the `exchanged` executable. Default: this process's own executable (right when called from
    ///     `exchanged`); tests pass `LocalCluster.findBinary()`.
    ///   - parentDeathSignal: start nodes through `exchanged dev-child` (needs `binary` to be `exchanged`).
    ///     Default: true.
    public init(
        definitionPath: String, root: String, binary: String? = nil, parentDeathSignal: Bool = true,
        nodeArguments: [String] = [], logger: Logger = Logger(label: "exchange.dev-cluster")
    ) throws(LocalClusterError) {
        self.nodeArguments = nodeArguments
        let absoluteDefinition = Self.absolute(definitionPath)
        do {
            definition = try ClusterDefinition.load(path: absoluteDefinition)
        } catch {
            throw LocalClusterError(code: .badDefinition, message: "\(error)")
        }
        self.definitionPath = absoluteDefinition
        self.root = Self.absolute(root)
        guard let executable = binary ?? ParentDeathWrapper.executablePath() else {
            throw LocalClusterError(code: .spawnFailed, message: "cannot read /proc/self/exe")
        }
        guard access(executable, X_OK) == 0 else {
            throw LocalClusterError(code: .spawnFailed, message: "\(executable) is not executable", systemError: errno)
        }
        self.binary = executable
        self.parentDeathSignal = parentDeathSignal
        self.logger = logger
        try FileTree.makeDirectories(self.root + "/logs")
        try FileTree.makeDirectories(self.root + "/data")
    }

    deinit {
        // Last resort for a supervisor dropped without stopAll (a failing test): SIGKILL and reap, which takes
        // milliseconds, so blocking here is acceptable.
        children.withLock { children in
            for (_, state) in children {
                guard case .running(let pid, _) = state else { continue }
                Glibc.kill(pid, SIGKILL)
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            }
            children.removeAll()
        }
        unlink(pidFilePath)
    }

    // MARK: Paths

    /// `<root>/data`, passed to every node as `--data`.
    public var dataDirectory: String { root + "/data" }
    /// `<root>/data/node-<id>`.
    public func dataDirectory(for node: NodeID) -> String { dataDirectory + "/node-\(node)" }
    /// `<root>/logs/node-<id>.log`.
    public func logPath(for node: NodeID) -> String { root + "/logs/node-\(node).log" }
    /// `<root>/pids`.
    public var pidFilePath: String { root + "/pids" }
    /// Every node id of the definition, ascending.
    public var nodeIDs: [NodeID] { definition.nodes.map(\.id).sorted() }

    // MARK: Starting

    /// Starts `node` as a child process.
    ///
    /// - Throws: `unknownNode`, `wrongState` if it is running, `spawnFailed`, `fileSystem`.
    public func start(_ node: NodeID) async throws(LocalClusterError) {
        guard definition.node(id: node) != nil else {
            throw LocalClusterError(code: .unknownNode, message: "node \(node) is not in \(definitionPath)")
        }
        await killLeftoversOnce()
        if isRunning(node) { throw LocalClusterError(code: .wrongState, message: "node \(node) is already running") }
        let command = ["node", "--config", definitionPath, "--id", "\(node)", "--data", dataDirectory] + nodeArguments
        let arguments =
            parentDeathSignal
            ? [binary, "dev-child", "--parent-pid", "\(getpid())", "--"] + command : [binary] + command
        let logPath = logPath(for: node)
        try FileTree.makeDirectories(root + "/logs")
        try FileTree.makeDirectories(dataDirectory)
        try FileTree.append("=== \(Self.timestamp()) starting: \(arguments.joined(separator: " "))\n", to: logPath)
        let result = await SpawnThread.shared.run { ProcessSpawner.spawn(arguments: arguments, logPath: logPath) }
        let pid = try result.get()
        children.withLock { $0[node] = .running(pid: pid, paused: false) }
        _ = stoppedOnPurpose.withLock { $0.remove(node) }
        writePidFile()
        logger.info("node started", metadata: ["node.id": "\(node)", "process.pid": "\(pid)"])
    }

    /// Starts every node of the definition that is not running.
    public func startAll() async throws(LocalClusterError) {
        for node in nodeIDs where !isRunning(node) { try await start(node) }
    }

    // MARK: Signals

    /// Sends `signal` to `node` and waits until the process has exited and is reaped.
    ///
    /// A paused node gets SIGCONT first (except for SIGKILL), so that a catchable signal is handled. Returns how it
    /// ended.
    /// - Throws: `wrongState` if it is not running, `timedOut` if it is still alive after `timeout` (it keeps
    ///   running and stays supervised), `signalFailed`.
    @discardableResult
    public func kill(
        _ node: NodeID, signal: Int32 = SIGKILL, timeout: Duration = .seconds(10)
    ) async throws(LocalClusterError) -> ProcessExitStatus {
        _ = stoppedOnPurpose.withLock { $0.insert(node) }
        try send(signal, to: node, alsoContinue: signal != SIGKILL)
        return try await waitForExit(node, timeout: timeout)
    }

    /// Freezes `node` with SIGSTOP (a process that stops answering, as in a long GC pause or a hung disk).
    public func pause(_ node: NodeID) throws(LocalClusterError) {
        try send(SIGSTOP, to: node, alsoContinue: false)
        children.withLock { if case .running(let pid, _) = $0[node] { $0[node] = .running(pid: pid, paused: true) } }
    }

    /// Thaws a paused node with SIGCONT.
    public func resume(_ node: NodeID) throws(LocalClusterError) {
        try send(SIGCONT, to: node, alsoContinue: false)
        children.withLock { if case .running(let pid, _) = $0[node] { $0[node] = .running(pid: pid, paused: false) } }
    }

    /// Stops `node` with `signal` (SIGTERM: a clean stop; SIGKILL: a crash), waits for it, and starts it again.
    public func restart(
        _ node: NodeID, signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)
    ) async throws(LocalClusterError) {
        if isRunning(node) { try await kill(node, signal: signal, timeout: timeout) }
        try await start(node)
    }

    /// Stops every running node: SIGTERM (paused ones get SIGCONT first), waits until `timeout`, then SIGKILL for
    /// what is left, and reaps every child. Returns how each stopped node ended.
    @discardableResult
    public func stopAll(timeout: Duration = .seconds(10)) async -> [NodeID: ProcessExitStatus] {
        let running = nodeIDs.filter { isRunning($0) }
        stoppedOnPurpose.withLock { $0.formUnion(running) }
        for node in running { try? send(SIGTERM, to: node, alsoContinue: true) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var results: [NodeID: ProcessExitStatus] = [:]
        while clock.now < deadline {
            for node in running where results[node] == nil {
                if let status = reap(node) { results[node] = status }
            }
            if results.count == running.count { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        for node in running where results[node] == nil {
            logger.warning("node did not stop in time; SIGKILL", metadata: ["node.id": "\(node)"])
            try? send(SIGKILL, to: node, alsoContinue: false)
            if let status = try? await waitForExit(node, timeout: .seconds(30)) { results[node] = status }
        }
        writePidFile()
        return results
    }

    // MARK: State

    /// True while `node`'s process is alive (reaps it if it has exited).
    public func isRunning(_ node: NodeID) -> Bool {
        _ = reap(node)
        return children.withLock { if case .running = $0[node] { true } else { false } }
    }

    /// True while `node` is stopped by `pause`.
    public func isPaused(_ node: NodeID) -> Bool {
        children.withLock { if case .running(_, true) = $0[node] { true } else { false } }
    }

    /// The pid of `node`'s process while it runs.
    public func pid(_ node: NodeID) -> pid_t? {
        children.withLock { if case .running(let pid, _) = $0[node] { pid } else { nil } }
    }

    /// How `node`'s last process ended; nil while it runs or if it never ran.
    public func exitStatus(_ node: NodeID) -> ProcessExitStatus? {
        _ = reap(node)
        return children.withLock { if case .exited(_, let status) = $0[node] { status } else { nil } }
    }

    /// Every started node whose process has exited, with how it ended (reaps them). For supervisors that must
    /// notice a node dying on its own.
    public func exitedNodes() -> [NodeID: ProcessExitStatus] {
        var result: [NodeID: ProcessExitStatus] = [:]
        for node in nodeIDs { if let status = exitStatus(node) { result[node] = status } }
        return result
    }

    /// Nodes that exited although nobody stopped them through this supervisor (a crash, a storage failure, a
    /// port already in use), with how they ended.
    public func unexpectedExits() -> [NodeID: ProcessExitStatus] {
        let onPurpose = stoppedOnPurpose.withLock { $0 }
        return exitedNodes().filter { !onPurpose.contains($0.key) }
    }

    /// The whole log of `node` (every start of it).
    public func log(_ node: NodeID) -> String { FileTree.read(logPath(for: node)) ?? "" }

    /// The last `lines` lines of `node`'s log.
    public func logTail(_ node: NodeID, lines: Int = 20) -> String {
        let all = log(node).split(separator: "\n", omittingEmptySubsequences: false)
        return all.suffix(lines + 1).joined(separator: "\n")
    }

    // MARK: Internals

    private func send(_ signal: Int32, to node: NodeID, alsoContinue: Bool) throws(LocalClusterError) {
        let failure: LocalClusterError? = children.withLock { children in
            guard case .running(let pid, let paused) = children[node] else {
                return LocalClusterError(code: .wrongState, message: "node \(node) is not running")
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                children[node] = .exited(pid: pid, status: ProcessExitStatus(waitStatus: status))
                return LocalClusterError(code: .wrongState, message: "node \(node) has already exited")
            }
            // A stopped process keeps a catchable signal pending until SIGCONT: thaw it first, so that the signal
            // arrives at a running process, as it would in production.
            if alsoContinue && paused {
                Glibc.kill(pid, SIGCONT)
                children[node] = .running(pid: pid, paused: false)
            }
            if Glibc.kill(pid, signal) != 0 {
                return LocalClusterError(code: .signalFailed, message: "kill(\(pid), \(signal))", systemError: errno)
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Reaps `node` if it has exited; returns its status then.
    private func reap(_ node: NodeID) -> ProcessExitStatus? {
        let (status, changed): (ProcessExitStatus?, Bool) = children.withLock { children in
            switch children[node] {
            case .running(let pid, _):
                var raw: Int32 = 0
                let result = waitpid(pid, &raw, WNOHANG)
                if result == pid {
                    let status = ProcessExitStatus(waitStatus: raw)
                    children[node] = .exited(pid: pid, status: status)
                    return (status, true)
                }
                if result < 0 && errno == ECHILD {
                    // Reaped by someone else (a waitpid(-1) elsewhere in the process): the status is lost.
                    let status = ProcessExitStatus.exited(code: -1)
                    children[node] = .exited(pid: pid, status: status)
                    return (status, true)
                }
                return (nil, false)
            case .exited(_, let status):
                return (status, false)
            case nil:
                return (nil, false)
            }
        }
        if changed { writePidFile() }
        return status
    }

    private func waitForExit(_ node: NodeID, timeout: Duration) async throws(LocalClusterError) -> ProcessExitStatus {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if let status = reap(node), !isRunningUnreaped(node) {
                writePidFile()
                return status
            }
            if clock.now >= deadline {
                throw LocalClusterError(code: .timedOut, message: "node \(node) still running after \(timeout)")
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    private func isRunningUnreaped(_ node: NodeID) -> Bool {
        children.withLock { if case .running = $0[node] { true } else { false } }
    }

    /// `path` made absolute against the working directory, without `.`, `..` or repeated slashes.
    public static func absolute(_ path: String) -> String {
        var full = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: 4096)
            if getcwd(&buffer, buffer.count) != nil {
                full = FileTree.string(fromNulTerminated: buffer) + "/" + path
            }
        }
        var components: [Substring] = []
        for component in full.split(separator: "/") {
            if component == "." { continue }
            if component == ".." {
                _ = components.popLast()
                continue
            }
            components.append(component)
        }
        return "/" + components.joined(separator: "/")
    }

    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return FileTree.string(fromNulTerminated: buffer)
    }
}
