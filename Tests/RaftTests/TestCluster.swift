import Raft

/// Builds a configuration for tests.
func makeConfiguration(
    id: NodeID, voters: [NodeID], learners: [NodeID] = [], preVote: Bool = false, checkQuorum: Bool = false,
    seed: UInt64 = 1, geo: Bool = false, locations: [NodeID: NodeLocation] = [:],
    priorities: [NodeID: Int] = [:], maxInflight: Int = 256, maxMessageBytes: Int = 1 << 20,
    maxUncommittedBytes: Int = 64 << 20
) -> RaftConfiguration {
    var configuration = RaftConfiguration(
        id: id, membership: Membership(voters: voters, learners: learners), preVote: preVote,
        checkQuorum: checkQuorum, requireTwoRegionQuorum: geo)
    configuration.randomSeed = seed
    configuration.locations = locations
    configuration.electionPriorities = priorities
    configuration.maxInflightMessages = maxInflight
    configuration.maxMessageBytes = maxMessageBytes
    configuration.maxUncommittedBytes = maxUncommittedBytes
    return configuration
}

/// A deterministic in-test network and storage: every `Ready` is persisted (in memory), then its messages are
/// queued, its committed entries recorded, and `advance` is called.
struct TestCluster {
    var nodes: [NodeID: RaftNode] = [:]
    var storage: [NodeID: [Entry]] = [:]
    var hardStates: [NodeID: HardState] = [:]
    var snapshots: [NodeID: Snapshot] = [:]
    var applied: [NodeID: [Entry]] = [:]
    var readStates: [NodeID: [ReadState]] = [:]
    var queue: [Message] = []
    /// Every message ever released by a Ready, in order.
    var sent: [Message] = []
    /// Every Ready handled, in order, with the node that produced it.
    var readies: [(node: NodeID, ready: Ready)] = []
    /// Nodes cut off from everyone.
    var isolated: Set<NodeID> = []
    /// Directed links that drop messages.
    var cutLinks: Set<[NodeID]> = []
    /// Optional filter: return false to drop a message.
    var filter: (@Sendable (Message) -> Bool)?
    /// Optional rewrite of every delivered message.
    var rewrite: (@Sendable (Message) -> Message)?

    init(_ configurations: [RaftConfiguration]) {
        for configuration in configurations {
            nodes[configuration.id] = RaftNode(configuration: configuration, restoring: .empty)
            storage[configuration.id] = []
            applied[configuration.id] = []
        }
    }

    subscript(id: NodeID) -> RaftNode {
        get { nodes[id]! }
        set { nodes[id] = newValue }
    }

    /// Handles one Ready of `id` if there is one; returns it.
    @discardableResult
    mutating func process(_ id: NodeID) -> Ready? {
        guard nodes[id]!.hasReady else { return nil }
        let ready = nodes[id]!.ready()
        readies.append((id, ready))
        if let hardState = ready.hardState { hardStates[id] = hardState }
        if let snapshot = ready.snapshot {
            snapshots[id] = snapshot
            storage[id] = []
        }
        if let first = ready.entries.first {
            storage[id]!.removeAll { $0.index >= first.index }
            storage[id]!.append(contentsOf: ready.entries)
        }
        for message in ready.messages {
            sent.append(message)
            queue.append(message)
        }
        applied[id]!.append(contentsOf: ready.committedEntries)
        readStates[id, default: []].append(contentsOf: ready.readStates)
        nodes[id]!.advance(ready)
        return ready
    }

    func isDelivered(_ message: Message) -> Bool {
        if isolated.contains(message.from) || isolated.contains(message.to) { return false }
        if cutLinks.contains([message.from, message.to]) { return false }
        if nodes[message.to] == nil { return false }
        return filter?(message) ?? true
    }

    /// Processes Readys and delivers messages until nothing moves.
    mutating func stabilize(maxRounds: Int = 10_000) {
        for _ in 0..<maxRounds {
            var moved = false
            for id in nodes.keys.sorted() where process(id) != nil { moved = true }
            let batch = queue
            queue = []
            for message in batch where isDelivered(message) {
                nodes[message.to]!.step(rewrite?(message) ?? message)
                moved = true
            }
            if !moved { return }
        }
        preconditionFailure("cluster did not stabilize")
    }

    mutating func tick(_ id: NodeID, times: Int = 1) {
        for _ in 0..<times { nodes[id]!.tick() }
    }

    /// Ticks every node once and stabilizes, `times` times.
    mutating func tickAll(times: Int = 1) {
        for _ in 0..<times {
            for id in nodes.keys.sorted() { nodes[id]!.tick() }
            stabilize()
        }
    }

    /// Makes `id` leader by campaigning it (no waiting for timeouts).
    mutating func elect(_ id: NodeID) {
        nodes[id]!.campaign()
        stabilize()
    }

    var leaders: [NodeID] { nodes.keys.sorted().filter { nodes[$0]!.status.role == .leader } }

    func appliedData(_ id: NodeID) -> [[UInt8]] {
        applied[id]!.filter { $0.kind == .normal }.map(\.data)
    }

    mutating func propose(_ id: NodeID, _ byte: UInt8) -> ProposalResult {
        nodes[id]!.propose([byte])
    }
}

extension ProposalResult {
    var acceptedIndex: UInt64? {
        if case .accepted(let index, _) = self { return index }
        return nil
    }
}
