import ExchangeCore
import Raft

/// Ranges shared by the YAML reader (which reports them with a line number) and `validate()`.
enum Limits {
    static let nodeCount = 1...1_000
    static let shardCount = 1...10_000
    static let learnersPerShard = 0...16
    static let votersPerShard = 1...7
    static let tickMilliseconds = 1...1_000
    static let electionTicks = 2...100_000
    static let maxInflightMessages = 1...65_536
    static let maxMessageBytes = 1...(64 << 20)
    static let maxUncommittedBytes = 1...(1 << 40)
    static let maxCommittedBytesPerReady = 1...(1 << 40)
    static let maxCommandsPerEntry = 1...65_536
    static let maxEntryBytes = 1_024...(64 << 20)
    static let maxBatchDelayMicroseconds = 0...100_000
    static let maxPendingCommands = 1...1_048_576
    static let snapshotEveryEntries = 1...1_000_000_000
    static let snapshotKeep = 1...100
    static let stateHashEveryEntries = 1...1_000_000
    static let drMaxLagMilliseconds = 1...3_600_000
    static let maxFrameBytes = 65_536...(1 << 30)
    static let peerQueueBytes = (1 << 20)...(1 << 32)
    static let transportMilliseconds = 1...60_000
    /// Room for frame, envelope and message headers around the largest entry or snapshot chunk.
    static let frameOverheadBytes = 65_536
}

extension ClusterDefinition {
    /// Checks every range and rule of the format on a definition built in code (`parse` already did).
    /// - Throws: the first violation, with `source` set to the cluster name and no line numbers.
    public func validate() throws(ClusterConfigError) {
        try validate(source: cluster, positions: [:])
    }

    static func isLabel(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2E || byte == 0x5F || byte == 0x2D
            }
    }

    static func isClusterName(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
    }

    static func isPath(_ text: String) -> Bool { !text.isEmpty && !text.utf8.contains(0) }

    func validate(source: String, positions: [String: SourcePosition]) throws(ClusterConfigError) {
        func position(_ path: String) -> SourcePosition? {
            var path = Substring(path)
            while true {
                if let position = positions[String(path)] { return position }
                guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
                path = path[..<cut]
            }
        }
        func fail(_ code: ClusterConfigError.Code, _ path: String, _ reason: String) -> ClusterConfigError {
            let at = position(path)
            return ClusterConfigError(
                code: code, path: path, source: source, line: at?.line, column: at?.column,
                message: path.isEmpty ? reason : "\(path): \(reason)")
        }
        func range(_ value: Int, _ limits: ClosedRange<Int>, _ path: String) throws(ClusterConfigError) {
            guard limits.contains(value) else {
                throw fail(.outOfRange, path, "\(value) is out of range \(limits.lowerBound)...\(limits.upperBound)")
            }
        }

        // Document.
        guard version == ClusterConfigFormat.version else {
            throw fail(
                .unsupportedVersion, "version",
                "version \(version) is not supported; this build reads version \(ClusterConfigFormat.version)")
        }
        guard Self.isClusterName(cluster) else {
            throw fail(.invalidValue, "cluster", "'\(cluster)' is not 1-64 characters of printable ASCII")
        }
        guard Self.isPath(dataDirectory) else {
            throw fail(.invalidValue, "dataDirectory", "must be a non-empty path without NUL bytes")
        }

        // Nodes.
        guard Limits.nodeCount.contains(nodes.count) else {
            throw fail(.outOfRange, "nodes", "\(nodes.count) nodes; the cluster needs 1...1000")
        }
        var nodeIndex: [NodeID: Int] = [:]
        var addressOwner: [NetworkAddress: String] = [:]
        var directoryOwner: [String: String] = [:]
        for (index, node) in nodes.enumerated() {
            let path = "nodes[\(index)]"
            guard node.id != 0 else { throw fail(.outOfRange, "\(path).id", "0 is out of range 1...\(NodeID.max)") }
            if let other = nodeIndex[node.id] {
                throw fail(.duplicate, "\(path).id", "node id \(node.id) is already used by nodes[\(other)]")
            }
            nodeIndex[node.id] = index
            for (key, address, dialled) in [
                ("raftAddress", node.raftAddress, true), ("clientAddress", node.clientAddress, true),
                ("metricsAddress", node.metricsAddress, false),
            ] {
                let fieldPath = "\(path).\(key)"
                guard address.port != 0 else { throw fail(.outOfRange, fieldPath, "port 0 is out of range 1...65535") }
                guard !(dialled && address.isUnspecified) else {
                    throw fail(.invalidValue, fieldPath, "\(address) is a wildcard address; give a reachable host")
                }
                if let owner = addressOwner[address] {
                    throw fail(.duplicate, fieldPath, "\(address) is already used by \(owner)")
                }
                addressOwner[address] = fieldPath
            }
            guard Self.isLabel(node.region) else {
                throw fail(
                    .invalidValue, "\(path).region", "'\(node.region)' is not 1-64 characters of A-Z a-z 0-9 . _ -")
            }
            guard Self.isLabel(node.zone) else {
                throw fail(.invalidValue, "\(path).zone", "'\(node.zone)' is not 1-64 characters of A-Z a-z 0-9 . _ -")
            }
            if let own = node.dataDirectory, !Self.isPath(own) {
                throw fail(.invalidValue, "\(path).dataDirectory", "must be a non-empty path without NUL bytes")
            }
            let directory = node.dataDirectory ?? Self.joined(dataDirectory, "node-\(node.id)")
            if let owner = directoryOwner[directory] {
                throw fail(
                    .duplicate, "\(path).dataDirectory", "\(directory) is already the data directory of \(owner)")
            }
            directoryOwner[directory] = path
        }

        // Shards.
        guard Limits.shardCount.contains(shards.count) else {
            throw fail(.outOfRange, "shards", "\(shards.count) shards; the cluster needs 1...10000")
        }
        var shardIndex: [UInt32: Int] = [:]
        var symbolOwner: [Symbol: String] = [:]
        for (index, shard) in shards.enumerated() {
            let path = "shards[\(index)]"
            guard shard.id != 0 else {
                throw fail(
                    .outOfRange, "\(path).id", "0 is out of range 1...\(UInt32.max) (0 is the control plane's group)")
            }
            if let other = shardIndex[shard.id] {
                throw fail(.duplicate, "\(path).id", "shard id \(shard.id) is already used by shards[\(other)]")
            }
            shardIndex[shard.id] = index
            guard !shard.symbols.isEmpty else {
                throw fail(.invalidValue, "\(path).symbols", "a shard needs at least one symbol")
            }
            for (symbolIndex, symbol) in shard.symbols.enumerated() {
                let symbolPath = "\(path).symbols[\(symbolIndex)]"
                guard symbol.isValid else { throw fail(.invalidValue, symbolPath, "not a valid symbol") }
                if let owner = symbolOwner[symbol] {
                    throw fail(
                        .duplicate, symbolPath, "symbol \(symbol) is already in \(owner); a symbol is in one shard")
                }
                symbolOwner[symbol] = symbolPath
            }
            var seen: [NodeID: Int] = [:]
            var primary: Int?
            var standby: Int?
            for (replicaIndex, replica) in shard.replicas.enumerated() {
                let replicaPath = "\(path).replicas[\(replicaIndex)]"
                guard nodeIndex[replica.node] != nil else {
                    throw fail(.unknownReference, "\(replicaPath).node", "node \(replica.node) is not defined in nodes")
                }
                if let other = seen[replica.node] {
                    throw fail(
                        .duplicate, "\(replicaPath).node",
                        "node \(replica.node) already holds \(path).replicas[\(other)]; "
                            + "a node holds one replica per shard")
                }
                seen[replica.node] = replicaIndex
                switch replica.role {
                case .primary:
                    if let other = primary {
                        throw fail(
                            .duplicate, "\(replicaPath).role",
                            "a second primary (\(path).replicas[\(other)] is one); a shard has exactly one")
                    }
                    primary = replicaIndex
                case .standby:
                    if let other = standby {
                        throw fail(
                            .duplicate, "\(replicaPath).role",
                            "a second standby (\(path).replicas[\(other)] is one); a shard has at most one")
                    }
                    standby = replicaIndex
                case .voter, .learner:
                    break
                }
            }
            guard primary != nil else {
                throw fail(.invalidValue, "\(path).replicas", "no primary; a shard has exactly one")
            }
            let voterCount = shard.replicas.filter(\.role.isVoter).count
            guard voterCount % 2 == 1, Limits.votersPerShard.contains(voterCount) else {
                throw fail(
                    .invalidValue, "\(path).replicas",
                    "\(voterCount) voters (primary + standby + voter); the count must be odd and in 1...7")
            }
            let learnerCount = shard.replicas.count - voterCount
            guard Limits.learnersPerShard.contains(learnerCount) else {
                throw fail(.outOfRange, "\(path).replicas", "\(learnerCount) learners; a shard has at most 16")
            }
        }

        // Instruments.
        var rulesOwner: [Symbol: Int] = [:]
        for (index, rules) in instruments.enumerated() {
            let path = "instruments[\(index)]"
            guard symbolOwner[rules.symbol] != nil else {
                throw fail(.unknownReference, "\(path).symbol", "symbol \(rules.symbol) is not in any shard")
            }
            if let other = rulesOwner[rules.symbol] {
                throw fail(
                    .duplicate, "\(path).symbol", "symbol \(rules.symbol) already has rules in instruments[\(other)]")
            }
            rulesOwner[rules.symbol] = index
            do {
                try rules.validate()
            } catch {
                throw fail(.outOfRange, "\(path).\(error.field)", "\(error.reason) (symbol \(rules.symbol))")
            }
        }
        for (index, shard) in shards.enumerated() {
            for (symbolIndex, symbol) in shard.symbols.enumerated() where rulesOwner[symbol] == nil {
                throw fail(
                    .unknownReference, "shards[\(index)].symbols[\(symbolIndex)]",
                    "symbol \(symbol) has no rules in instruments")
            }
        }

        // Settings.
        try range(timing.tickMilliseconds, Limits.tickMilliseconds, "timing.tickMilliseconds")
        try range(timing.electionTicks, Limits.electionTicks, "timing.electionTicks")
        guard (1..<timing.electionTicks).contains(timing.heartbeatTicks) else {
            throw fail(
                .outOfRange, "timing.heartbeatTicks",
                "\(timing.heartbeatTicks) is out of range 1...\(timing.electionTicks - 1) (below timing.electionTicks)")
        }
        try range(raft.maxInflightMessages, Limits.maxInflightMessages, "raft.maxInflightMessages")
        try range(raft.maxMessageBytes, Limits.maxMessageBytes, "raft.maxMessageBytes")
        try range(raft.maxUncommittedBytes, Limits.maxUncommittedBytes, "raft.maxUncommittedBytes")
        try range(raft.maxCommittedBytesPerReady, Limits.maxCommittedBytesPerReady, "raft.maxCommittedBytesPerReady")
        try range(batching.maxCommandsPerEntry, Limits.maxCommandsPerEntry, "batching.maxCommandsPerEntry")
        try range(batching.maxEntryBytes, Limits.maxEntryBytes, "batching.maxEntryBytes")
        try range(
            batching.maxBatchDelayMicroseconds, Limits.maxBatchDelayMicroseconds, "batching.maxBatchDelayMicroseconds")
        try range(batching.maxPendingCommands, Limits.maxPendingCommands, "batching.maxPendingCommands")
        guard batching.maxEntryBytes <= raft.maxUncommittedBytes else {
            throw fail(
                .invalidValue, "batching.maxEntryBytes",
                "\(batching.maxEntryBytes) exceeds raft.maxUncommittedBytes (\(raft.maxUncommittedBytes)); "
                    + "a full entry could never be proposed")
        }
        if durability.fsync && durability.acknowledgeWithoutFsync {
            throw fail(.invalidValue, "durability.acknowledgeWithoutFsync", "only allowed together with fsync: false")
        }
        if !durability.fsync && !durability.acknowledgeWithoutFsync {
            throw fail(
                .missingKey, "durability.acknowledgeWithoutFsync",
                "fsync: false can lose acknowledged commands when replicas crash; state "
                    + "acknowledgeWithoutFsync: true to accept that")
        }
        try range(snapshots.everyEntries, Limits.snapshotEveryEntries, "snapshots.everyEntries")
        try range(snapshots.keep, Limits.snapshotKeep, "snapshots.keep")
        try range(stateHash.everyEntries, Limits.stateHashEveryEntries, "stateHash.everyEntries")

        // Replication mode and DR.
        let regionOf = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0.region) })
        for (index, shard) in shards.enumerated() {
            let regions = Set(shard.voters.compactMap { regionOf[$0] })
            switch replication.mode {
            case .geo where regions.count < 2:
                throw fail(
                    .invalidValue, "shards[\(index)].replicas",
                    "replication.mode geo needs the voters in at least two regions; all are in "
                        + regions.sorted().joined())
            case .regional where regions.count > 1:
                throw fail(
                    .invalidValue, "shards[\(index)].replicas",
                    "replication.mode regional keeps a shard's voters in one region, found "
                        + "\(regions.sorted().joined(separator: ", ")); use mode geo for cross-region quorums")
            default:
                break
            }
        }
        if let dr {
            guard replication.mode == .regional else {
                throw fail(.invalidValue, "dr", "a DR region is only used with replication.mode regional")
            }
            guard Set(regionOf.values).contains(dr.region) else {
                throw fail(.unknownReference, "dr.region", "no node is in region \(dr.region)")
            }
            try range(dr.maxLagMilliseconds, Limits.drMaxLagMilliseconds, "dr.maxLagMilliseconds")
            for (index, shard) in shards.enumerated() {
                for (replicaIndex, replica) in shard.replicas.enumerated()
                where replica.role.isVoter && regionOf[replica.node] == dr.region {
                    throw fail(
                        .invalidValue, "shards[\(index)].replicas[\(replicaIndex)].role",
                        "node \(replica.node) is in the DR region \(dr.region); replicas there must be learners")
                }
                guard shard.learners.contains(where: { regionOf[$0] == dr.region }) else {
                    throw fail(
                        .invalidValue, "shards[\(index)].replicas", "no learner in the DR region \(dr.region)")
                }
            }
        }

        // Transport.
        try range(transport.maxFrameBytes, Limits.maxFrameBytes, "transport.maxFrameBytes")
        try range(transport.peerQueueBytes, Limits.peerQueueBytes, "transport.peerQueueBytes")
        try range(
            transport.connectTimeoutMilliseconds, Limits.transportMilliseconds, "transport.connectTimeoutMilliseconds")
        try range(
            transport.reconnectBackoffMinimumMilliseconds, Limits.transportMilliseconds,
            "transport.reconnectBackoffMinimumMilliseconds")
        try range(
            transport.reconnectBackoffMaximumMilliseconds,
            transport.reconnectBackoffMinimumMilliseconds...Limits.transportMilliseconds.upperBound,
            "transport.reconnectBackoffMaximumMilliseconds")
        let largestPayload = max(raft.maxMessageBytes, batching.maxEntryBytes)
        guard transport.maxFrameBytes >= largestPayload + Limits.frameOverheadBytes else {
            throw fail(
                .invalidValue, "transport.maxFrameBytes",
                "\(transport.maxFrameBytes) cannot carry the largest entry or message (\(largestPayload) bytes, "
                    + "from raft.maxMessageBytes and batching.maxEntryBytes) plus "
                    + "\(Limits.frameOverheadBytes) bytes of headers"
            )
        }

        // Every replica's Raft configuration.
        for shard in shards {
            for replica in shard.replicas {
                do {
                    _ = try raftConfiguration(for: shard.id, node: replica.node)
                } catch {
                    let at = position(error.path)
                    throw ClusterConfigError(
                        code: error.code, path: error.path, source: source, line: at?.line, column: at?.column,
                        message: error.message)
                }
            }
        }
    }
}
