import Glibc

extension LocalCluster {
    /// Writes `<root>/cluster.yaml`, a loopback cluster definition whose ports are free right now, and returns its
    /// path. For tests and benchmarks, so that concurrent runs do not collide on ports.
    ///
    /// Ports come from binding port-0 sockets (all held until every port is chosen, so none repeats), then closed;
    /// another process could take one in between, which is unlikely on loopback within milliseconds.
    /// Shard `k` (1-based) has symbols `T<k>S1`, `T<k>S2`, ... with reference price 10,000 and tick 1, and its
    /// replicas on consecutive nodes starting at node `((k - 1) % nodes) + 1`: primary, standby, then voters.
    ///
    /// - Parameters:
    ///   - nodes: 1...7. Default: 3.
    ///   - shards: Default: 1.
    ///   - symbolsPerShard: Default: 1.
    ///   - replicasPerShard: voters per shard, 1, 3, 5 or 7, at most `nodes`. Default: 3 if `nodes >= 3`, else 1.
    ///   - cluster: the cluster name. Default: `dev-test`.
    ///   - snapshotEveryEntries: `snapshots.everyEntries` (nil: the default, 100,000); small values make a
    ///     restarted replica catch up by snapshot.
    ///   - postTradeOutbox: `postTrade.outbox` (the nodes get Kafka through `nodeArguments`). Default: false.
    public static func writeTestDefinition(
        root: String, nodes: Int = 3, shards: Int = 1, symbolsPerShard: Int = 1, replicasPerShard: Int? = nil,
        cluster: String = "dev-test", snapshotEveryEntries: Int? = nil, postTradeOutbox: Bool = false
    ) throws(LocalClusterError) -> String {
        let replicas = replicasPerShard ?? (nodes >= 3 ? 3 : 1)
        precondition((1...7).contains(nodes), "nodes must be 1...7")
        precondition(
            [1, 3, 5, 7].contains(replicas) && replicas <= nodes, "replicasPerShard must be 1, 3, 5 or 7, <= nodes")
        precondition(shards >= 1 && symbolsPerShard >= 1, "at least one shard and one symbol per shard")
        let root = absolute(root)
        try FileTree.makeDirectories(root)
        let ports = try FreePorts.reserve(count: nodes * 3)
        var yaml = """
            version: 1
            cluster: \(cluster)
            dataDirectory: \(root)/data
            nodes:

            """
        for index in 0..<nodes {
            let zone = ["a", "b", "c", "d", "e", "f", "g"][index]
            yaml += "  - { id: \(index + 1), raftAddress: \"127.0.0.1:\(ports[index * 3])\", "
            yaml += "clientAddress: \"127.0.0.1:\(ports[index * 3 + 1])\", "
            yaml += "metricsAddress: \"127.0.0.1:\(ports[index * 3 + 2])\", region: local, zone: \(zone) }\n"
        }
        yaml += "shards:\n"
        var symbols: [String] = []
        for shard in 1...shards {
            let names = (1...symbolsPerShard).map { "T\(shard)S\($0)" }
            symbols += names
            yaml += "  - id: \(shard)\n    symbols: [\(names.joined(separator: ", "))]\n    replicas:\n"
            for offset in 0..<replicas {
                let node = (shard - 1 + offset) % nodes + 1
                let role = offset == 0 ? "primary" : offset == 1 ? "standby" : "voter"
                yaml += "      - { node: \(node), role: \(role) }\n"
            }
        }
        yaml += "instruments:\n"
        for symbol in symbols { yaml += "  - { symbol: \(symbol), tickSize: 1, referencePrice: 10000 }\n" }
        yaml += """
            timing:
              tickMilliseconds: 10
              electionTicks: 10
              heartbeatTicks: 1
            durability:
              fsync: true
            replication:
              mode: regional

            """
        if let snapshotEveryEntries { yaml += "snapshots:\n  everyEntries: \(snapshotEveryEntries)\n" }
        if postTradeOutbox { yaml += "postTrade:\n  outbox: true\n" }
        let path = root + "/cluster.yaml"
        try FileTree.create(path, with: yaml)
        return path
    }

    /// The `exchanged` binary of this build, for tests: the first `exchanged` in the directories above the running
    /// executable (the test bundle sits in the build directory next to it).
    public static func findBinary(named name: String = "exchanged") throws(LocalClusterError) -> String {
        var directory = ParentDeathWrapper.executablePath() ?? CommandLine.arguments[0]
        for _ in 0..<6 {
            directory = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
            if directory.isEmpty { break }
            let candidate = directory + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw LocalClusterError(
            code: .spawnFailed, message: "\(name) not found above \(CommandLine.arguments[0]); build it first")
    }

    /// Removes `path` and everything under it (for `--fresh` and test cleanup).
    public static func removeTree(_ path: String) { FileTree.removeTree(path) }

    /// A fresh directory `<base>/<prefix>XXXXXX` (mkdtemp).
    public static func makeTemporaryDirectory(prefix: String = "dev-cluster-", base: String = "/tmp")
        throws(LocalClusterError) -> String
    {
        var template = Array("\(base)/\(prefix)XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard made else {
            throw LocalClusterError(code: .fileSystem, message: "mkdtemp in \(base)", systemError: errno)
        }
        return FileTree.string(fromNulTerminated: template)
    }
}

/// Free loopback TCP ports, found by binding port 0.
enum FreePorts {
    static func reserve(count: Int) throws(LocalClusterError) -> [Int] {
        var descriptors: [Int32] = []
        defer { for descriptor in descriptors { close(descriptor) } }
        var ports: [Int] = []
        while ports.count < count {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else {
                throw LocalClusterError(code: .fileSystem, message: "socket", systemError: errno)
            }
            descriptors.append(descriptor)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
                }
            }
            guard bound else {
                throw LocalClusterError(code: .fileSystem, message: "bind 127.0.0.1:0", systemError: errno)
            }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}
