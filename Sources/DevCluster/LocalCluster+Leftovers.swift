public import Glibc
public import Raft

extension LocalCluster {
    /// Writes `<root>/pids`: one `node pid` line per running child (removed when none runs).
    func writePidFile() {
        let lines: [String] = children.withLock { children in
            children.sorted { $0.key < $1.key }.compactMap { node, state in
                if case .running(let pid, _) = state { "\(node) \(pid)" } else { nil }
            }
        }
        if lines.isEmpty {
            unlink(pidFilePath)
        } else {
            try? FileTree.replace(pidFilePath, with: lines.joined(separator: "\n") + "\n")
        }
    }

    /// Node processes of this definition and root that no supervisor of this process started: left behind by a
    /// supervisor that was killed (without the parent-death signal) or by another process on the same root.
    ///
    /// Found by their command line (`node --config <definitionPath> ... --data <root>/data`) in `/proc`, so a pid
    /// reused by an unrelated process is never taken for a node.
    public func leftoverProcesses() -> [(node: NodeID, pid: pid_t)] {
        let own = Set(
            children.withLock { $0.values.compactMap { if case .running(let pid, _) = $0 { pid } else { nil } } })
        var found: [(node: NodeID, pid: pid_t)] = []
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = pid_t(name), pid != getpid(), !own.contains(pid) else { continue }
            guard let arguments = Self.commandLine(of: pid), let node = nodeID(inCommandLine: arguments) else {
                continue
            }
            found.append((node, pid))
        }
        return found.sorted { $0.node < $1.node }
    }

    /// The node id if `arguments` is `... node --config <definitionPath> --id N --data <root>/data`.
    func nodeID(inCommandLine arguments: [String]) -> NodeID? {
        func value(after flag: String) -> String? {
            guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else { return nil }
            return arguments[index + 1]
        }
        guard arguments.contains("node"), value(after: "--config") == definitionPath,
            value(after: "--data") == dataDirectory, let id = value(after: "--id")
        else { return nil }
        return NodeID(id)
    }

    /// SIGKILLs every leftover node process (see `leftoverProcesses()`) and waits until each is gone (their new
    /// parent reaps them), at most 5 s. Returns the pids it killed. `start` calls it once before the first node.
    @discardableResult
    public func killLeftovers() async -> [pid_t] {
        leftoversChecked.withLock { $0 = true }
        // Several rounds: a process caught in the middle of an exec (the `dev-child` wrapper becoming the node)
        // may show no command line for a moment.
        var killed: [pid_t] = []
        for round in 0..<3 {
            let leftovers = leftoverProcesses()
            if leftovers.isEmpty && round > 0 { break }
            for (node, pid) in leftovers {
                logger.warning(
                    "killing a leftover node process", metadata: ["node.id": "\(node)", "process.pid": "\(pid)"])
                Glibc.kill(pid, SIGKILL)
                killed.append(pid)
            }
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(5))
            while clock.now < deadline, leftovers.contains(where: { Self.isAlive($0.pid) }) {
                try? await Task.sleep(for: .milliseconds(10))
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return killed
    }

    func killLeftoversOnce() async {
        let first = leftoversChecked.withLock { checked in
            defer { checked = true }
            return !checked
        }
        if first { await killLeftovers() }
    }

    /// True if `pid` exists and is not a zombie.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard Glibc.kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = FileTree.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
    }

    static func commandLine(of pid: pid_t) -> [String]? {
        guard let text = FileTree.read("/proc/\(pid)/cmdline"), !text.isEmpty else { return nil }
        return text.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
    }
}
