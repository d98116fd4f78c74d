import ExchangeCore
import Foundation
import Raft
import Yams

extension ClusterDefinition {
    /// Top-level keys, in the order they are checked.
    static let topLevelKeys = [
        "version", "cluster", "dataDirectory", "nodes", "shards", "instruments", "timing", "raft", "batching",
        "durability", "snapshots", "stateHash", "replication", "dr", "transport", "postTrade",
    ]

    /// Largest file `load(path:)` reads.
    public static let maximumFileBytes = 16 << 20

    /// Reads, parses and validates the cluster definition at `path`.
    /// - Throws: `ClusterConfigError` (`unreadableFile` when the file cannot be read); nothing else changes.
    public static func load(path: String) throws(ClusterConfigError) -> ClusterDefinition {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ClusterConfigError(
                code: .unreadableFile, path: "", source: path,
                message: "cannot read the file: \(error.localizedDescription)")
        }
        guard data.count <= maximumFileBytes else {
            throw ClusterConfigError(
                code: .unreadableFile, path: "", source: path,
                message: "the file has \(data.count) bytes, more than the limit of \(maximumFileBytes)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ClusterConfigError(code: .yamlSyntax, path: "", source: path, message: "the file is not UTF-8 text")
        }
        return try parse(yaml: text, source: path)
    }

    /// Parses and validates a cluster definition.
    /// - Parameter source: names the text in errors (usually its file path).
    /// - Throws: the first `ClusterConfigError` (see its documentation for the order of checks).
    public static func parse(yaml: String, source: String) throws(ClusterConfigError) -> ClusterDefinition {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, source: source)
        } catch {
            throw ClusterConfigError(code: .yamlSyntax, path: "", source: source, message: "invalid YAML: \(error)")
        }
        guard let root else {
            throw ClusterConfigError(
                code: .missingKey, path: "", source: source, message: "the document is empty; expected a mapping")
        }
        let reader = YAMLReader(source: source)
        let definition = try read(root, reader)
        try definition.validate(source: source, positions: reader.positions)
        return definition
    }

    static func syntaxError(_ error: YamlError, source: String) -> ClusterConfigError {
        func make(_ problem: String, _ mark: Mark?) -> ClusterConfigError {
            let position = SourcePosition(mark)
            return ClusterConfigError(
                code: .yamlSyntax, path: "", source: source, line: position?.line, column: position?.column,
                message: "invalid YAML: \(problem)")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return make(context.map { "\($0.text) \(problem)" } ?? problem, mark)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let position = SourcePosition(context.mark)
            return ClusterConfigError(
                code: .duplicate, path: "", source: source, line: position?.line, column: position?.column,
                message: "duplicate key \(duplicates.joined(separator: ", ")) in one mapping")
        case .reader(let problem, _, _, _):
            return make(problem, nil)
        default:
            return make("\(error)", nil)
        }
    }

    // MARK: Reading (kinds and keys; ranges and rules are in validate)

    static func read(_ root: Node, _ reader: YAMLReader) throws(ClusterConfigError) -> ClusterDefinition {
        let top = try reader.mapping(root, "", keys: topLevelKeys)
        let version: Int = try top.requiredInteger("version", Int.min...Int.max)
        guard version == ClusterConfigFormat.version else {
            throw reader.error(
                .unsupportedVersion, "version",
                "version \(version) is not supported; this build reads version \(ClusterConfigFormat.version)",
                at: reader.positions["version"])
        }
        let cluster = try top.requiredString("cluster")
        var dataDirectory = "data"
        if let node = top.optional("dataDirectory") { dataDirectory = try reader.string(node, "dataDirectory") }

        var nodes: [NodeDefinition] = []
        for (index, node) in try reader.sequence(top.required("nodes"), "nodes").enumerated() {
            nodes.append(try readNode(node, YAMLReader.element("nodes", index), reader))
        }
        var shards: [ShardDefinition] = []
        for (index, node) in try reader.sequence(top.required("shards"), "shards").enumerated() {
            shards.append(try readShard(node, YAMLReader.element("shards", index), reader))
        }
        var instruments: [InstrumentRules] = []
        for (index, node) in try reader.sequence(top.required("instruments"), "instruments").enumerated() {
            instruments.append(try readInstrument(node, YAMLReader.element("instruments", index), reader))
        }

        var timing = TimingSettings()
        if let node = top.optional("timing") {
            let fields = try reader.mapping(
                node, "timing", keys: ["tickMilliseconds", "electionTicks", "heartbeatTicks"])
            timing.tickMilliseconds = try fields.integer(
                "tickMilliseconds", Limits.tickMilliseconds, default: timing.tickMilliseconds)
            timing.electionTicks = try fields.integer(
                "electionTicks", Limits.electionTicks, default: timing.electionTicks)
            timing.heartbeatTicks = try fields.integer(
                "heartbeatTicks", Int.min...Int.max, default: timing.heartbeatTicks)
        }
        var raft = RaftSettings()
        if let node = top.optional("raft") {
            let fields = try reader.mapping(
                node, "raft",
                keys: [
                    "preVote", "checkQuorum", "maxInflightMessages", "maxMessageBytes", "maxUncommittedBytes",
                    "maxCommittedBytesPerReady",
                ])
            raft.preVote = try fields.bool("preVote", default: raft.preVote)
            raft.checkQuorum = try fields.bool("checkQuorum", default: raft.checkQuorum)
            raft.maxInflightMessages = try fields.integer(
                "maxInflightMessages", Limits.maxInflightMessages, default: raft.maxInflightMessages)
            raft.maxMessageBytes = try fields.integer(
                "maxMessageBytes", Limits.maxMessageBytes, default: raft.maxMessageBytes)
            raft.maxUncommittedBytes = try fields.integer(
                "maxUncommittedBytes", Limits.maxUncommittedBytes, default: raft.maxUncommittedBytes)
            raft.maxCommittedBytesPerReady = try fields.integer(
                "maxCommittedBytesPerReady", Limits.maxCommittedBytesPerReady, default: raft.maxCommittedBytesPerReady)
        }
        var batching = BatchingSettings()
        if let node = top.optional("batching") {
            let fields = try reader.mapping(
                node, "batching",
                keys: ["maxCommandsPerEntry", "maxEntryBytes", "maxBatchDelayMicroseconds", "maxPendingCommands"])
            batching.maxCommandsPerEntry = try fields.integer(
                "maxCommandsPerEntry", Limits.maxCommandsPerEntry, default: batching.maxCommandsPerEntry)
            batching.maxEntryBytes = try fields.integer(
                "maxEntryBytes", Limits.maxEntryBytes, default: batching.maxEntryBytes)
            batching.maxBatchDelayMicroseconds = try fields.integer(
                "maxBatchDelayMicroseconds", Limits.maxBatchDelayMicroseconds,
                default: batching.maxBatchDelayMicroseconds)
            batching.maxPendingCommands = try fields.integer(
                "maxPendingCommands", Limits.maxPendingCommands, default: batching.maxPendingCommands)
        }
        let durabilityFields = try reader.mapping(
            top.required("durability"), "durability", keys: ["fsync", "acknowledgeWithoutFsync"])
        let fsync = try reader.bool(durabilityFields.required("fsync"), "durability.fsync")
        var acknowledged = false
        if let node = durabilityFields.optional("acknowledgeWithoutFsync") {
            acknowledged = try reader.bool(node, "durability.acknowledgeWithoutFsync")
            if fsync {
                throw reader.error(
                    .invalidValue, "durability.acknowledgeWithoutFsync", "only allowed together with fsync: false",
                    at: reader.positions["durability.acknowledgeWithoutFsync"])
            }
        }
        if !fsync && !acknowledged {
            throw reader.error(
                .missingKey, "durability.acknowledgeWithoutFsync",
                "fsync: false can lose acknowledged commands when replicas crash; state "
                    + "acknowledgeWithoutFsync: true to accept that",
                at: reader.positions["durability.fsync"])
        }
        let durability = DurabilitySettings(fsync: fsync, acknowledgeWithoutFsync: acknowledged)

        var snapshots = SnapshotSettings()
        if let node = top.optional("snapshots") {
            let fields = try reader.mapping(node, "snapshots", keys: ["everyEntries", "keep"])
            snapshots.everyEntries = try fields.integer(
                "everyEntries", Limits.snapshotEveryEntries, default: snapshots.everyEntries)
            snapshots.keep = try fields.integer("keep", Limits.snapshotKeep, default: snapshots.keep)
        }
        var stateHash = StateHashSettings()
        if let node = top.optional("stateHash") {
            let fields = try reader.mapping(node, "stateHash", keys: ["everyEntries"])
            stateHash.everyEntries = try fields.integer(
                "everyEntries", Limits.stateHashEveryEntries, default: stateHash.everyEntries)
        }
        let replicationFields = try reader.mapping(top.required("replication"), "replication", keys: ["mode"])
        let modeText = try replicationFields.requiredString("mode")
        guard let mode = ReplicationMode(rawValue: modeText) else {
            throw reader.error(
                .invalidValue, "replication.mode", "'\(modeText)' is not one of regional, geo",
                at: reader.positions["replication.mode"])
        }
        var dr: DisasterRecoverySettings?
        if let node = top.optional("dr") {
            let fields = try reader.mapping(node, "dr", keys: ["region", "maxLagMilliseconds"])
            dr = DisasterRecoverySettings(
                region: try fields.requiredString("region"),
                maxLagMilliseconds: try fields.integer(
                    "maxLagMilliseconds", Limits.drMaxLagMilliseconds, default: 1_000))
        }
        var transport = TransportSettings()
        if let node = top.optional("transport") {
            let fields = try reader.mapping(
                node, "transport",
                keys: [
                    "maxFrameBytes", "peerQueueBytes", "connectTimeoutMilliseconds",
                    "reconnectBackoffMinimumMilliseconds", "reconnectBackoffMaximumMilliseconds",
                ])
            transport.maxFrameBytes = try fields.integer(
                "maxFrameBytes", Limits.maxFrameBytes, default: transport.maxFrameBytes)
            transport.peerQueueBytes = try fields.integer(
                "peerQueueBytes", Limits.peerQueueBytes, default: transport.peerQueueBytes)
            transport.connectTimeoutMilliseconds = try fields.integer(
                "connectTimeoutMilliseconds", Limits.transportMilliseconds,
                default: transport.connectTimeoutMilliseconds)
            transport.reconnectBackoffMinimumMilliseconds = try fields.integer(
                "reconnectBackoffMinimumMilliseconds", Limits.transportMilliseconds,
                default: transport.reconnectBackoffMinimumMilliseconds)
            transport.reconnectBackoffMaximumMilliseconds = try fields.integer(
                "reconnectBackoffMaximumMilliseconds", Limits.transportMilliseconds,
                default: transport.reconnectBackoffMaximumMilliseconds)
        }
        var postTrade = PostTradeSettings()
        if let node = top.optional("postTrade") {
            let fields = try reader.mapping(
                node, "postTrade", keys: ["outbox", "kafkaBootstrap", "topicPartitions", "topicReplicationFactor"])
            postTrade.outbox = try fields.bool("outbox", default: false)
            if let bootstrap = fields.optional("kafkaBootstrap") {
                postTrade.kafkaBootstrap = try reader.string(bootstrap, "postTrade.kafkaBootstrap")
            }
            postTrade.topicPartitions = try fields.integer("topicPartitions", 1...1_024, default: 4)
            postTrade.topicReplicationFactor = try fields.integer("topicReplicationFactor", 1...16, default: 3)
        }
        var definition = ClusterDefinition(
            cluster: cluster, nodes: nodes, shards: shards, instruments: instruments, durability: durability,
            replication: ReplicationSettings(mode: mode), dataDirectory: dataDirectory, timing: timing, raft: raft,
            batching: batching, snapshots: snapshots, stateHash: stateHash, dr: dr, transport: transport,
            version: version)
        definition.postTrade = postTrade
        return definition
    }

    static func readNode(_ node: Node, _ path: String, _ reader: YAMLReader) throws(ClusterConfigError)
        -> NodeDefinition
    {
        let fields = try reader.mapping(
            node, path,
            keys: ["id", "raftAddress", "clientAddress", "metricsAddress", "region", "zone", "dataDirectory"])
        let id: NodeID = try fields.requiredInteger("id", 1...NodeID.max)
        func address(_ key: String, dialled: Bool) throws(ClusterConfigError) -> NetworkAddress {
            let text = try fields.requiredString(key)
            let path = fields.path(key)
            switch NetworkAddress.parse(text, dialled: dialled) {
            case .success(let address): return address
            case .failure(let problem):
                throw reader.error(problem.code, path, problem.reason, at: reader.positions[path])
            }
        }
        let raftAddress = try address("raftAddress", dialled: true)
        let clientAddress = try address("clientAddress", dialled: true)
        let metricsAddress = try address("metricsAddress", dialled: false)
        let region = try fields.requiredString("region")
        let zone = try fields.requiredString("zone")
        var dataDirectory: String?
        if let value = fields.optional("dataDirectory") {
            dataDirectory = try reader.string(value, fields.path("dataDirectory"))
        }
        return NodeDefinition(
            id: id, raftAddress: raftAddress, clientAddress: clientAddress, metricsAddress: metricsAddress,
            region: region, zone: zone, dataDirectory: dataDirectory)
    }

    static func readShard(_ node: Node, _ path: String, _ reader: YAMLReader) throws(ClusterConfigError)
        -> ShardDefinition
    {
        let fields = try reader.mapping(node, path, keys: ["id", "symbols", "replicas"])
        let id: UInt32 = try fields.requiredInteger("id", 1...UInt32.max)
        var symbols: [Symbol] = []
        let symbolsPath = fields.path("symbols")
        for (index, item) in try reader.sequence(fields.required("symbols"), symbolsPath).enumerated() {
            let itemPath = YAMLReader.element(symbolsPath, index)
            let text = try reader.string(item, itemPath)
            do {
                symbols.append(try Symbol(validating: text))
            } catch {
                throw reader.error(
                    .invalidValue, itemPath, "'\(text)' is not a symbol (1-16 printable ASCII characters, no space)",
                    at: reader.positions[itemPath])
            }
        }
        var replicas: [ReplicaDefinition] = []
        let replicasPath = fields.path("replicas")
        for (index, item) in try reader.sequence(fields.required("replicas"), replicasPath).enumerated() {
            let itemPath = YAMLReader.element(replicasPath, index)
            let replica = try reader.mapping(item, itemPath, keys: ["node", "role"])
            let nodeID: NodeID = try replica.requiredInteger("node", 1...NodeID.max)
            let roleText = try replica.requiredString("role")
            guard let role = ReplicaRole(rawValue: roleText) else {
                throw reader.error(
                    .invalidValue, replica.path("role"), "'\(roleText)' is not one of primary, standby, voter, learner",
                    at: reader.positions[replica.path("role")])
            }
            replicas.append(ReplicaDefinition(node: nodeID, role: role))
        }
        return ShardDefinition(id: id, symbols: symbols, replicas: replicas)
    }

    static let instrumentKeys = [
        "symbol", "tickSize", "lotSize", "minimumQuantity", "maximumQuantity", "priceBandBasisPoints",
        "referencePrice", "breakerThresholdBasisPoints", "breakerWindowSeconds", "breakerCoolingOffSeconds",
    ]

    static func readInstrument(_ node: Node, _ path: String, _ reader: YAMLReader) throws(ClusterConfigError)
        -> InstrumentRules
    {
        let fields = try reader.mapping(node, path, keys: instrumentKeys)
        let text = try fields.requiredString("symbol")
        let symbol: Symbol
        do {
            symbol = try Symbol(validating: text)
        } catch {
            throw reader.error(
                .invalidValue, fields.path("symbol"), "'\(text)' is not a symbol (1-16 printable ASCII characters)",
                at: reader.positions[fields.path("symbol")])
        }
        let all = Int64.min...Int64.max
        let tickSize = try fields.integer("tickSize", all, default: 1)
        let lotSize = try fields.integer("lotSize", all, default: 1)
        let minimumQuantity: Int64? = try fields.optional("minimumQuantity").map { (value) throws(ClusterConfigError) in
            try reader.integer(value, fields.path("minimumQuantity"), all)
        }
        let maximumQuantity = try fields.integer("maximumQuantity", all, default: 1_000_000_000)
        let band = try fields.integer("priceBandBasisPoints", all, default: 1_000)
        let referencePrice = try fields.requiredInteger("referencePrice", all)
        let threshold = try fields.integer("breakerThresholdBasisPoints", all, default: 1_000)
        let window = try fields.integer("breakerWindowSeconds", all, default: 60)
        let coolingOff = try fields.integer("breakerCoolingOffSeconds", all, default: 300)
        return InstrumentRules(
            symbol: symbol, tickSize: tickSize, lotSize: lotSize, minimumQuantity: minimumQuantity.map { Quantity($0) },
            maximumQuantity: Quantity(maximumQuantity), priceBandBasisPoints: band,
            referencePrice: Price(referencePrice), breakerThresholdBasisPoints: threshold,
            breakerWindowSeconds: window, breakerCoolingOffSeconds: coolingOff)
    }
}
