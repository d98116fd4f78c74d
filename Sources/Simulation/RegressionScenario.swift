import Raft

/// What a named scenario found.
public struct ScenarioOutcome: Sendable {
    /// No violation and every expectation of the script held.
    public var passed: Bool { violations.isEmpty && failedExpectations.isEmpty }
    public var failedExpectations: [String]
    public var violations: [Violation]
    public var steps: Int

    public var summary: String {
        passed
            ? "\(steps) steps, all checks held"
            : "\(steps) steps, \(violations.count) violation(s); failed: \(failedExpectations.joined(separator: "; "))"
    }
}

/// Named regression scenarios for the classic Raft bugs, scripted on a calm simulated cluster. Each
/// forces the situation in which the bug would show, then requires every invariant checker to hold, the
/// script's own expectations to hold, and the healed cluster to finish every command (liveness).
public enum RegressionScenario: String, Sendable, CaseIterable {
    /// Raft paper figure 8: an entry of an earlier term replicated to a majority by a later leader must not
    /// count as committed until an entry of that leader's term is.
    case figure8Commit = "figure-8-commit"
    /// A follower holding a stale suffix must not commit (apply) past what the leader verified it matches.
    case commitPastVerifiedPrefix = "commit-past-verified-prefix"
    /// Duplicated and reordered (stale) appends must never truncate a committed entry.
    case truncationOfCommittedEntry = "truncation-of-committed-entry"
    /// Crashes between writing and syncing: nothing may be acknowledged that is not durable on a quorum.
    case acknowledgementBeforeFsync = "acknowledgement-before-fsync"
    /// Crashes after applying, before the applied index is durable: re-delivered entries apply once.
    case crashBetweenApplyAndAppliedIndex = "crash-between-apply-and-applied-index"
    /// A leader cut off with uncommitted entries steps down; its entries are never acknowledged; retries
    /// land exactly once.
    case leaderStepsDownWithUncommitted = "leader-steps-down-with-uncommitted-entries"
    /// A lagging follower crashes while installing a snapshot, restarts and catches up.
    case snapshotDuringCrash = "snapshot-arriving-during-crash"
    /// The leader removes itself from the group; the rest carries on.
    case removingTheLeader = "removing-the-leader"
    /// A candidate must not win with a learner's vote.
    case learnerAskedToVote = "learner-asked-to-vote"

    public func run(seed: UInt64 = 1) -> ScenarioOutcome {
        var script = ScenarioScript()
        var simulator: Simulator
        switch self {
        case .figure8Commit: simulator = script.figure8(seed: seed)
        case .commitPastVerifiedPrefix: simulator = script.commitPastVerifiedPrefix(seed: seed)
        case .truncationOfCommittedEntry: simulator = script.truncation(seed: seed)
        case .acknowledgementBeforeFsync: simulator = script.acknowledgementBeforeFsync(seed: seed)
        case .crashBetweenApplyAndAppliedIndex: simulator = script.crashAfterApply(seed: seed)
        case .leaderStepsDownWithUncommitted: simulator = script.leaderStepsDown(seed: seed)
        case .snapshotDuringCrash: simulator = script.snapshotDuringCrash(seed: seed)
        case .removingTheLeader: simulator = script.removingTheLeader(seed: seed)
        case .learnerAskedToVote: simulator = script.learnerAskedToVote(seed: seed)
        }
        return ScenarioOutcome(
            failedExpectations: script.failures, violations: simulator.violations, steps: Int(simulator.now))
    }
}

/// The scripts. Each returns the simulator after healing and settling (the liveness phase).
struct ScenarioScript {
    var failures: [String] = []

    mutating func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { failures.append(message()) }
    }

    mutating func leader(_ simulator: inout Simulator, among candidates: [NodeID]? = nil) -> NodeID? {
        let leader = simulator.runUntilLeader(among: candidates.map(Set.init))
        expect(leader != nil, "no leader elected among \(candidates.map { "\($0)" } ?? "all") at \(simulator.now)")
        return leader
    }

    mutating func figure8(seed: UInt64) -> Simulator {
        var simulator = Simulator.scripted(voters: 5, seed: seed)
        guard let first = leader(&simulator) else { return simulator }
        let buddy = simulator.others(than: first)[0]
        // The first leader reaches only one follower: its entry lands on 2 of 5.
        simulator.cut(first, from: simulator.others(than: first, buddy))
        let (stranded, _) = simulator.propose(on: first)
        simulator.run(ticks: 3)
        expect(!simulator.isAcknowledged(stranded), "an entry on 2 of 5 replicas was acknowledged")
        simulator.crash(first)
        simulator.cut(buddy, from: simulator.others(than: buddy))
        // A second leader among the other three appends an entry of its own term at the same index, alone.
        guard let second = leader(&simulator, among: simulator.others(than: first, buddy)) else { return simulator }
        simulator.cut(second, from: simulator.others(than: second))
        simulator.propose(on: second)
        simulator.run(ticks: 2)
        simulator.crash(second)
        simulator.reconnectAll()
        // The first comes back and may win again: it re-replicates its old-term entry to a majority, then dies
        // before an entry of its new term commits; the second comes back and may overwrite that index.
        simulator.restart(first)
        if let third = simulator.runUntilLeader(among: Set(simulator.others(than: second))) {
            simulator.run(ticks: 1)
            simulator.crash(third)
        }
        simulator.restart(second)
        simulator.healAndSettle()
        expect(simulator.outstandingCommands == 0, "commands still outstanding after settling")
        return simulator
    }

    mutating func commitPastVerifiedPrefix(seed: UInt64) -> Simulator {
        var simulator = Simulator.scripted(voters: 5, seed: seed)
        guard let first = leader(&simulator) else { return simulator }
        let buddy = simulator.others(than: first)[0]
        simulator.cut(first, from: simulator.others(than: first, buddy))
        for _ in 0..<3 { simulator.propose(on: first) }
        simulator.run(ticks: 3)
        simulator.crash(first)
        // The buddy keeps a stale suffix while the other three commit different entries at those indices.
        simulator.cut(buddy, from: simulator.others(than: buddy))
        guard let second = leader(&simulator, among: simulator.others(than: first, buddy)) else { return simulator }
        let fresh = (0..<3).map { _ in simulator.propose(on: second).command }
        _ = simulator.run(ticksMax: 200) { simulator in fresh.allSatisfy(simulator.isAcknowledged) }
        expect(fresh.allSatisfy(simulator.isAcknowledged), "the second leader did not commit its entries")
        // Heartbeats carry a commit index beyond the buddy's verified prefix: it must not apply its stale entries.
        simulator.reconnectAll()
        simulator.run(ticks: 50)
        simulator.restart(first)
        simulator.healAndSettle()
        return simulator
    }

    mutating func truncation(seed: UInt64) -> Simulator {
        var simulator = Simulator.scripted(voters: 3, seed: seed)
        var profile = NetworkProfile()
        profile.delayTicksMax = 4
        profile.duplicateProbability = 0.5
        profile.reorderProbability = 0.5
        profile.reorderTicksMax = 25
        simulator.setNetworkProfile(profile)
        guard let first = leader(&simulator) else { return simulator }
        var leaderID = first
        for round in 0..<80 {
            if let current = simulator.leader { leaderID = current }
            simulator.propose(on: leaderID)
            simulator.run(ticks: 1)
            if round == 40 {
                // A new term in the middle, so stale appends of the old term still fly around.
                let target = simulator.others(than: leaderID)[0]
                simulator.transferLeadership(from: leaderID, to: target)
            }
        }
        simulator.healAndSettle()
        expect(simulator.proposed > 0, "nothing proposed")
        return simulator
    }

    mutating func acknowledgementBeforeFsync(seed: UInt64) -> Simulator {
        var simulator = Simulator.scripted(voters: 3, seed: seed)
        guard leader(&simulator) != nil else { return simulator }
        for round in 0..<30 {
            guard let current = simulator.leader else {
                simulator.run(ticks: 5)
                continue
            }
            for _ in 0..<3 { simulator.propose(on: current) }
            let victims = round % 3 == 2 ? [current] : simulator.others(than: current)
            for victim in victims.prefix(1 + round % 2) {
                simulator.scheduleCrash(victim, at: round % 2 == 0 ? .beforeSync : .beforeSend)
            }
            simulator.run(ticks: 4)
            for id in simulator.replicaIDs where simulator.state(of: id) == .crashed { simulator.restart(id) }
            simulator.run(ticks: 4)
        }
        expect(simulator.faults["crash-before-sync", default: 0] > 0, "no crash hit between write and sync")
        simulator.healAndSettle()
        return simulator
    }

    mutating func crashAfterApply(seed: UInt64) -> Simulator {
        var simulator = Simulator.scripted(voters: 3, seed: seed)
        guard leader(&simulator) != nil else { return simulator }
        for round in 0..<25 {
            guard let current = simulator.leader else {
                simulator.run(ticks: 5)
                continue
            }
            for _ in 0..<3 { simulator.propose(on: current) }
            let victim = round % 4 == 3 ? current : simulator.others(than: current)[round % 2]
            simulator.scheduleCrash(victim, at: .afterApply)
            simulator.run(ticks: 5)
            for id in simulator.replicaIDs where simulator.state(of: id) == .crashed { simulator.restart(id) }
            simulator.run(ticks: 5)
        }
        expect(simulator.faults["crash-after-apply", default: 0] > 0, "no crash hit between apply and persist")
        simulator.healAndSettle()
        return simulator
    }

    mutating func leaderStepsDown(seed: UInt64) -> Simulator {
        var simulator = Simulator.scripted(voters: 3, seed: seed, checkQuorum: true)
        guard let first = leader(&simulator) else { return simulator }
        simulator.cut(first, from: simulator.others(than: first))
        let proposals = (0..<3).map { _ in simulator.propose(on: first) }
        let stranded = proposals.map(\.command)
        simulator.run(ticks: 40)
        expect(simulator.status(of: first)?.role != .leader, "a leader cut off from its quorum kept leading")
        // Clients retry through the new leader; the cut-off leader's own entries must never commit.
        for case .accepted(let index, let term) in proposals.compactMap(\.result) {
            expect(simulator.committedTerm(at: index) != term, "the cut-off leader's entry \(index) committed")
        }
        let second = simulator.runUntilLeader(among: Set(simulator.others(than: first)))
        expect(second != nil, "the majority side elected no leader")
        simulator.reconnectAll()
        simulator.healAndSettle()
        expect(stranded.allSatisfy(simulator.isAcknowledged), "retried commands were not acknowledged")
        for case .accepted(let index, let term) in proposals.compactMap(\.result) {
            expect(simulator.committedTerm(at: index) != term, "the cut-off leader's entry \(index) committed")
        }
        return simulator
    }

    mutating func snapshotDuringCrash(seed: UInt64) -> Simulator {
        var simulator = Simulator.scripted(voters: 3, seed: seed)
        guard let first = leader(&simulator) else { return simulator }
        let lagging = simulator.others(than: first)[0]
        simulator.cut(lagging, from: simulator.others(than: lagging))
        let commands = (0..<30).map { _ in simulator.propose(on: first).command }
        _ = simulator.run(ticksMax: 300) { simulator in commands.allSatisfy(simulator.isAcknowledged) }
        expect(commands.allSatisfy(simulator.isAcknowledged), "the majority did not commit")
        for id in simulator.others(than: lagging) { simulator.takeSnapshot(on: id) }
        simulator.crashOnSnapshotInstall = lagging
        simulator.reconnectAll()
        let crashed = simulator.run(ticksMax: 300) { $0.state(of: lagging) == .crashed }
        expect(crashed, "the lagging follower never received the snapshot")
        simulator.restart(lagging)
        simulator.healAndSettle()
        let leaderCommit = simulator.leader.flatMap { simulator.status(of: $0)?.commitIndex } ?? 0
        expect(simulator.machine(of: lagging).appliedIndex == leaderCommit, "the lagging follower did not catch up")
        return simulator
    }

    mutating func removingTheLeader(seed: UInt64) -> Simulator {
        var simulator = Simulator.scripted(voters: 3, seed: seed)
        guard let first = leader(&simulator) else { return simulator }
        simulator.propose(on: first)
        simulator.run(ticks: 10)
        let rest = simulator.others(than: first)
        let result = simulator.changeMembership(on: first, voters: rest, learners: [])
        if case .accepted = result {
        } else {
            expect(false, "the leader refused to remove itself: \(String(describing: result))")
        }
        let retired = simulator.run(ticksMax: 500) { $0.state(of: first) == .absent }
        expect(retired, "the removal of the leader never committed")
        let second = simulator.runUntilLeader(among: Set(rest))
        expect(second != nil, "no leader among the remaining voters")
        if let second { simulator.propose(on: second) }
        simulator.healAndSettle()
        return simulator
    }

    mutating func learnerAskedToVote(seed: UInt64) -> Simulator {
        var simulator = Simulator.scripted(voters: 2, learners: 1, seed: seed, preVote: false, checkQuorum: true)
        guard let first = leader(&simulator, among: [1, 2]) else { return simulator }
        let other: NodeID = first == 1 ? 2 : 1
        simulator.propose(on: first)
        simulator.run(ticks: 10)
        simulator.crash(other)
        // The leader loses its quorum and steps down; with one voter of two and a learner, nobody may win.
        simulator.run(ticks: 40)
        let requested = simulator.votesRequested
        var someoneLed = false
        for _ in 0..<200 {
            simulator.run(ticks: 1)
            if simulator.leader != nil { someoneLed = true }
        }
        expect(simulator.votesRequested > requested, "nobody campaigned while the quorum was gone")
        expect(!someoneLed, "a replica became leader with one voter of two (and a learner's vote)")
        simulator.restart(other)
        simulator.healAndSettle()
        return simulator
    }
}
