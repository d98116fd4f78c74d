/// Deliberate bugs in the simulated shell, for proving that the checkers catch them.
public struct ShellFlaws: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Sends a `Ready`'s messages before syncing its writes, and syncs only at the end of the step:
    /// a follower acknowledges entries it may lose, so a leader may acknowledge a client too early.
    public static let sendBeforeSync = ShellFlaws(rawValue: 1 << 0)
    /// Restores the state machine from a snapshot without its de-duplication table.
    public static let forgetDeduplication = ShellFlaws(rawValue: 1 << 1)
    /// Never syncs: writes stay in the page cache until a crash throws them away.
    public static let neverSync = ShellFlaws(rawValue: 1 << 2)
}

/// Parts of the swarm that can be switched off, e.g. to keep a known bug of the core out of a CI sweep
/// while it is being fixed. Excluding something is always explicit (`--exclude` on the command line).
public enum SwarmFeature: String, Sendable, Hashable, CaseIterable {
    /// Membership changes of the voter set (joint consensus): promoting a learner, demoting or removing a
    /// voter. Learners are still added and removed.
    case voterChange = "voter-change"
    /// Log compaction by application snapshots (and so snapshot transfer to lagging followers).
    case snapshots
    /// In-flight append windows smaller than the default 256 messages.
    case narrowWindow = "narrow-window"
    /// Membership changes of any kind.
    case membership
    /// Leader transfers.
    case transfer
    /// Crashes (and so lost and torn unsynced writes).
    case crash
    /// Storage faults: failed fsyncs and full disks (each crash-stops the replica), bit flips in durable
    /// records (the replica's recovery refuses; it stays down for good).
    case storageFaults = "storage-faults"
    /// Message loss.
    case loss
    /// Election priorities (drawn for about a third of the seeds).
    case priorities
    /// Election priorities on seeds that draw no pre-vote.
    case prioritiesWithoutPreVote = "priorities-without-prevote"
}

/// What a seed draws for its run (swarm testing: every seed has its own cluster and fault mix).
public struct SwarmParameters: Sendable, Hashable {
    public var voters: Int
    public var learners: Int
    /// Replicas that start outside the group and may be added by membership changes.
    public var spares: Int
    public var faultSteps: Int
    public var network: NetworkProfile
    public var preVote: Bool
    public var checkQuorum: Bool
    public var electionTimeoutTicks: Int
    public var heartbeatTicks: Int
    public var maxMessageBytes: Int
    public var maxInflightMessages: Int
    /// Per-step probabilities of each fault.
    public var crashProbability: Double
    /// Probability that a crash hits in the middle of handling a `Ready` (after writing, before the
    /// sync; after syncing, before sending; after applying, before `advance`).
    public var midReadyCrashProbability: Double
    public var restartProbability: Double
    public var pauseProbability: Double
    public var resumeProbability: Double
    public var partitionProbability: Double
    public var healProbability: Double
    public var flapProbability: Double
    public var driftProbability: Double
    public var membershipChangeProbability: Double
    public var transferProbability: Double
    public var snapshotProbability: Double
    /// Per-`Ready` probability that its fsync fails (EIO); the replica crash-stops, as PostgreSQL does.
    public var syncFailureProbability: Double
    /// Per-step probability that a running replica's disk fills up (capacity set just above its usage)
    /// for `diskFullTicksMax` ticks at most; a write that needs space fails and the replica crash-stops.
    public var diskFullProbability: Double
    public var diskFullTicksMax: Int
    /// Probability that a restart is preceded by a bit flip in a durable log record of the crashed replica
    /// (at most once per run, only while every configuration has at least 3 voters; membership changes stop
    /// then). Its recovery must refuse and it stays down for good.
    public var bitFlipProbability: Double
    /// Client proposals per step (probability of one new command).
    public var proposalProbability: Double
    /// Max replicas down (crashed or paused) at once; the liveness phase restarts them all.
    public var downMax: Int

    /// Draws a seed's parameters.
    public init(random: inout SimulationRandom, excluding excluded: Set<SwarmFeature> = []) {
        voters = random.inRange(1...7)
        learners = random.inRange(0...2)
        spares = random.inRange(0...2)
        faultSteps = random.inRange(200...600)
        var network = NetworkProfile()
        network.delayTicksMin = 1
        network.delayTicksMax = random.inRange(1...6)
        network.lossProbability = random.chance(0.3) ? 0 : random.unit() * 0.3
        network.duplicateProbability = random.chance(0.5) ? 0 : random.unit() * 0.1
        network.reorderProbability = random.chance(0.5) ? 0 : random.unit() * 0.3
        network.reorderTicksMax = random.inRange(0...8)
        self.network = network
        preVote = random.chance(0.75)
        checkQuorum = random.chance(0.75)
        electionTimeoutTicks = random.inRange(8...20)
        heartbeatTicks = random.inRange(1...3)
        maxMessageBytes = random.chance(0.5) ? 1 << 20 : random.inRange(64...512)
        maxInflightMessages = random.chance(0.5) ? 256 : random.inRange(1...8)
        func rate(_ maximum: Double) -> Double { random.chance(0.25) ? 0 : random.unit() * maximum }
        crashProbability = rate(0.02)
        midReadyCrashProbability = rate(0.01)
        restartProbability = 0.02 + random.unit() * 0.1
        pauseProbability = rate(0.01)
        resumeProbability = 0.02 + random.unit() * 0.1
        partitionProbability = rate(0.02)
        healProbability = 0.01 + random.unit() * 0.05
        flapProbability = rate(0.01)
        driftProbability = rate(0.02)
        membershipChangeProbability = rate(0.02)
        transferProbability = rate(0.01)
        snapshotProbability = rate(0.03)
        // Two draws that once chose the disk model's crash behaviour (now the file system's): kept so that
        // every seed keeps its cluster shape and fault mix.
        _ = random.unit()
        _ = random.unit()
        proposalProbability = 0.1 + random.unit() * 0.6
        downMax = random.inRange(0...3)
        // Storage faults, drawn last (after every older draw) so that older fields keep their values.
        syncFailureProbability = random.chance(0.4) ? 0 : random.unit() * 0.01
        diskFullProbability = random.chance(0.4) ? 0 : random.unit() * 0.01
        diskFullTicksMax = random.inRange(10...200)
        bitFlipProbability = random.chance(0.7) ? 0 : random.unit() * 0.2
        // Draws above happen whatever is excluded, so excluding a feature keeps the rest of a seed's shape.
        if excluded.contains(.snapshots) { snapshotProbability = 0 }
        if excluded.contains(.narrowWindow) { maxInflightMessages = 256 }
        if excluded.contains(.membership) { membershipChangeProbability = 0 }
        if excluded.contains(.transfer) { transferProbability = 0 }
        if excluded.contains(.crash) {
            crashProbability = 0
            midReadyCrashProbability = 0
        }
        if excluded.contains(.loss) { self.network.lossProbability = 0 }
        if excluded.contains(.storageFaults) {
            syncFailureProbability = 0
            diskFullProbability = 0
            bitFlipProbability = 0
        }
    }
}
