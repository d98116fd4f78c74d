/// Where a replica runs. Used by the geo commit rule (`requireTwoRegionQuorum`).
public struct NodeLocation: Sendable, Hashable {
    public var region: String
    public var zone: String

    public init(region: String, zone: String = "") {
        self.region = region
        self.zone = zone
    }
}

/// Everything a `RaftNode` needs besides its persisted state.
///
/// Settings that trade safety or availability (`preVote`, `checkQuorum`, `requireTwoRegionQuorum`) have no
/// default: the caller states them explicitly.
public struct RaftConfiguration: Sendable, Hashable {
    /// This replica's id. Range: 1...UInt64.max (0 means "none" on the wire).
    public var id: NodeID
    /// The membership used when neither the restored snapshot nor the restored log carries one.
    /// A replica joining an existing group is started with the membership it joins (including itself).
    /// Range: at least one voter; no id in both `voters` and `learners`; no duplicates.
    public var membership: Membership
    /// Base election timeout T; a follower campaigns after a random timeout in [T, 2T) ticks
    /// (plus T per distinct higher election priority among the voters). Default: 10. Range: 2...100_000,
    /// and greater than `heartbeatTicks`.
    public var electionTimeoutTicks: Int = 10
    /// A leader sends heartbeats every this many ticks. Default: 1. Range: 1..<electionTimeoutTicks.
    public var heartbeatTicks: Int = 1
    /// Run a pre-vote round before bumping the term, so a partitioned replica does not disrupt the group.
    /// No default (explicit).
    public var preVote: Bool
    /// A leader that has not heard from a quorum within an election timeout steps down; a follower that heard
    /// from a leader within the election timeout ignores vote requests (except leader-transfer campaigns).
    /// No default (explicit).
    public var checkQuorum: Bool
    /// Cap on append messages in flight to one follower while pipelining. Default: 256. Range: 1...65_536.
    public var maxInflightMessages: Int = 256
    /// Cap on entry bytes per append message, and the snapshot chunk size (at least one entry is always sent).
    /// Default: 1 MiB. Range: 1...(1 << 30).
    public var maxMessageBytes: Int = 1 << 20
    /// Cap on the leader's proposed-but-uncommitted payload bytes; further proposals are refused.
    /// Default: 64 MiB. Range: 1...(1 << 40).
    public var maxUncommittedBytes: Int = 64 << 20
    /// Cap on the bytes of committed entries handed out in one `Ready` (at least one entry is always handed out);
    /// the rest follows in the next ones. Default: 64 MiB. Range: 1...(1 << 40).
    public var maxCommittedBytesPerReady: Int = 64 << 20
    /// Seed of the internal PRNG that randomises election timeouts. Default: 0 (mixed with `id`). Range: any.
    public var randomSeed: UInt64 = 0
    /// Every node of the cluster that may send to this replica, as the cluster's configuration lists them, in
    /// addition to the replicas named by any membership this replica has seen. A lagging replica may not yet know
    /// the configuration that added its new leader; with this set it still accepts the leader's messages.
    /// Messages from any other id are dropped as `unknownSender`. Default: empty. Range: any ids but 0.
    public var clusterNodes: Set<NodeID> = []
    /// Election priority per replica; a missing id has priority 0. Higher campaigns first: a replica waits one
    /// extra election timeout per distinct higher priority among the voters. Default: empty. Range: 0...1_000.
    public var electionPriorities: [NodeID: Int] = [:]
    /// Region and zone per replica. Default: empty. Range: any; with `requireTwoRegionQuorum` every initial voter
    /// needs a region and the voters span at least two regions.
    public var locations: [NodeID: NodeLocation] = [:]
    /// Geo mode: an entry commits only when the replicas that acknowledged it form a quorum spanning at least
    /// two regions (replicas without a `locations` entry count for no region). Elections and ReadIndex use plain
    /// majorities. No default (explicit).
    public var requireTwoRegionQuorum: Bool

    public init(
        id: NodeID, membership: Membership, preVote: Bool, checkQuorum: Bool, requireTwoRegionQuorum: Bool
    ) {
        self.id = id
        self.membership = membership
        self.preVote = preVote
        self.checkQuorum = checkQuorum
        self.requireTwoRegionQuorum = requireTwoRegionQuorum
    }

    /// Checks every field against its documented range.
    public func validate() throws(RaftConfigurationError) {
        func fail(_ field: RaftConfigurationError.Field, _ message: String) -> RaftConfigurationError {
            RaftConfigurationError(field: field, message: message)
        }
        if id == 0 { throw fail(.id, "id must be non-zero") }
        if let problem = membership.validationProblem { throw fail(.membership, problem) }
        if !(2...100_000).contains(electionTimeoutTicks) {
            throw fail(.electionTimeoutTicks, "electionTimeoutTicks must be in 2...100000")
        }
        if heartbeatTicks < 1 || heartbeatTicks >= electionTimeoutTicks {
            throw fail(.heartbeatTicks, "heartbeatTicks must be in 1..<electionTimeoutTicks")
        }
        if !(1...65_536).contains(maxInflightMessages) {
            throw fail(.maxInflightMessages, "maxInflightMessages must be in 1...65536")
        }
        if !(1...(1 << 30)).contains(maxMessageBytes) {
            throw fail(.maxMessageBytes, "maxMessageBytes must be in 1...2^30")
        }
        if !(1...(1 << 40)).contains(maxUncommittedBytes) {
            throw fail(.maxUncommittedBytes, "maxUncommittedBytes must be in 1...2^40")
        }
        if !(1...(1 << 40)).contains(maxCommittedBytesPerReady) {
            throw fail(.maxCommittedBytesPerReady, "maxCommittedBytesPerReady must be in 1...2^40")
        }
        for (_, priority) in electionPriorities where !(0...1_000).contains(priority) {
            throw fail(.electionPriorities, "every election priority must be in 0...1000")
        }
        if clusterNodes.contains(0) {
            throw fail(.clusterNodes, "clusterNodes must not contain 0")
        }
        if requireTwoRegionQuorum {
            var regions = Set<String>()
            for voter in membership.voters {
                guard let region = locations[voter]?.region, !region.isEmpty else {
                    throw fail(.locations, "requireTwoRegionQuorum needs a region for every voter")
                }
                regions.insert(region)
            }
            if regions.count < 2 {
                throw fail(.requireTwoRegionQuorum, "requireTwoRegionQuorum needs voters in at least two regions")
            }
        }
    }
}

/// A configuration field out of its documented range.
public struct RaftConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The offending field.
    public enum Field: String, Sendable, Hashable {
        case id, membership, electionTimeoutTicks, heartbeatTicks, maxInflightMessages, maxMessageBytes
        case maxUncommittedBytes, maxCommittedBytesPerReady, electionPriorities, clusterNodes, locations, requireTwoRegionQuorum
    }

    public var field: Field
    public var message: String

    public var description: String { "invalid Raft configuration field \(field.rawValue): \(message)" }
}

extension Membership {
    /// Every replica that votes in the current (or outgoing, while joint) configuration.
    public var allVoters: Set<NodeID> { Set(voters).union(outgoingVoters) }

    /// Every replica of the group (voters of both halves and learners).
    public var allMembers: Set<NodeID> { allVoters.union(learners) }

    /// True while a joint-consensus change is in progress.
    public var isJoint: Bool { !outgoingVoters.isEmpty }

    var validationProblem: String? {
        if voters.isEmpty { return "membership needs at least one voter" }
        if Set(voters).count != voters.count { return "duplicate voter" }
        if Set(learners).count != learners.count { return "duplicate learner" }
        if Set(outgoingVoters).count != outgoingVoters.count { return "duplicate outgoing voter" }
        if !Set(voters).isDisjoint(with: learners) { return "a replica is both voter and learner" }
        if voters.contains(0) || learners.contains(0) || outgoingVoters.contains(0) { return "node id 0" }
        return nil
    }

    /// Encodes the membership as the payload of a `.configuration` entry (little-endian counts and ids).
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24 + 8 * (voters.count + outgoingVoters.count + learners.count))
        func put(_ value: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
        for list in [voters, outgoingVoters, learners] {
            put(UInt64(list.count))
            for id in list { put(id) }
        }
        return bytes
    }

    /// Decodes a payload made by `encoded()`; nil when the bytes are not a well-formed membership.
    public init?(encoded bytes: [UInt8]) {
        var position = 0
        func take() -> UInt64? {
            guard position + 8 <= bytes.count else { return nil }
            var value: UInt64 = 0
            for offset in 0..<8 { value |= UInt64(bytes[position + offset]) << (8 * offset) }
            position += 8
            return value
        }
        var lists: [[NodeID]] = []
        for _ in 0..<3 {
            guard let count = take(), count <= UInt64(bytes.count / 8) else { return nil }
            var list: [NodeID] = []
            for _ in 0..<count {
                guard let id = take() else { return nil }
                list.append(id)
            }
            lists.append(list)
        }
        guard position == bytes.count else { return nil }
        self.init(voters: lists[0], outgoingVoters: lists[1], learners: lists[2])
        if validationProblem != nil { return nil }
    }
}
