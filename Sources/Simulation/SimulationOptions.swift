public import Raft

/// How one seed runs. Everything not here is drawn from the seed.
public struct SimulationOptions: Sendable, Hashable {
    public var seed: UInt64
    /// Overrides the fault phase length the seed draws (200...600 steps). Default: nil.
    public var faultSteps: Int?
    /// The liveness bound: after healing, a leader must apply every outstanding command within this many
    /// ticks. Default: 3000. Range: 100...1_000_000.
    public var livenessTicksMax: Int = 3000
    /// Deliberate shell bugs (checker tests only). Default: none.
    public var flaws: ShellFlaws = []
    /// Swarm features switched off (see `SwarmFeature`). Default: none.
    public var excluded: Set<SwarmFeature> = []
    /// Keep a readable event log (slow; for debugging a seed). Default: false.
    public var keepEventLog: Bool = false

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// The command line that replays exactly this run.
    public var replayCommand: String {
        var command = "exchange-sim --seed \(seed)"
        if let faultSteps { command += " --steps \(faultSteps)" }
        if livenessTicksMax != 3000 { command += " --liveness-ticks \(livenessTicksMax)" }
        if flaws.contains(.sendBeforeSync) { command += " --flaw send-before-sync" }
        if flaws.contains(.forgetDeduplication) { command += " --flaw forget-deduplication" }
        if flaws.contains(.neverSync) { command += " --flaw never-sync" }
        if !excluded.isEmpty {
            command += " --exclude " + excluded.map(\.rawValue).sorted().joined(separator: ",")
        }
        return command
    }
}

/// What one seed's run did.
public struct SimulationResult: Sendable {
    public var options: SimulationOptions
    public var parameters: SwarmParameters
    /// Simulated ticks run (fault phase plus liveness phase).
    public var steps: Int
    public var faults: [String: Int]
    public var violations: [Violation]
    /// Digest of the event trace: a replay of the same options must produce the same value.
    public var traceDigest: UInt64
    public var traceEvents: Int
    public var acknowledged: Int
    public var proposed: Int
    public var committedIndex: UInt64
    public var eventLog: [String]
    public var electionPriorities: [NodeID: Int]

    public var passed: Bool { violations.isEmpty }
}
