import Raft
import Simulation
import Testing

/// The checkers can fail: deliberately broken shells and hand-made histories must be caught.
@Suite("Checkers catch bugs")
struct CheckerTests {
    func sweep(_ flaws: ShellFlaws, seeds: ClosedRange<UInt64>) -> [Violation] {
        seeds.flatMap { seed -> [Violation] in
            var options = SimulationOptions(seed: seed)
            options.flaws = flaws
            options.excluded = ciExclusions
            return Simulator.run(options).violations
        }
    }

    /// A shell that sends (acknowledges) before its writes are synced is caught acknowledging a client
    /// command that is not durable on a quorum.
    @Test func acknowledgingBeforePersistingIsCaught() {
        let violations = sweep(.sendBeforeSync, seeds: 1...10)
        #expect(violations.contains { $0.kind == .acknowledgedBeforeDurable })
    }

    @Test func neverSyncingIsCaught() {
        let violations = sweep(.neverSync, seeds: 1...5)
        #expect(violations.contains { $0.kind == .acknowledgedBeforeDurable })
    }

    /// An application that loses its de-duplication table on restart applies retried commands twice.
    @Test func forgettingDeduplicationIsCaught() {
        let violations = sweep(.forgetDeduplication, seeds: 1...40)
        #expect(violations.contains { $0.kind == .appliedTwice || $0.kind == .acknowledgedLost })
    }

    @Test func twoLeadersInOneTermAreCaught() {
        var checker = InvariantChecker()
        checker.observeLeader(1, term: 3, image: DiskImage())
        checker.observeLeader(1, term: 3, image: DiskImage())
        #expect(checker.violations.isEmpty)
        checker.observeLeader(2, term: 3, image: DiskImage())
        #expect(checker.violations.map(\.kind) == [.twoLeadersInOneTerm])
    }

    @Test func logMatchingAndTruncationOfCommittedEntriesAreCaught() {
        var checker = InvariantChecker()
        let entries = (1...3).map { Entry(term: 1, index: UInt64($0), data: [UInt8($0)]) }
        var disk = SimulatedDisk()
        checker.observeWrite(1, batch: entries, before: disk.current)
        disk.write(.entries(entries))
        var machine = CounterStateMachine()
        for entry in entries {
            let outcome = machine.apply(entry)
            checker.observeApply(1, entry: entry, outcome: outcome, stateDigest: machine.stateDigest, commit: 3)
        }
        #expect(checker.violations.isEmpty)
        // Same index and term, other content: log matching broken.
        checker.observeWrite(2, batch: [Entry(term: 1, index: 2, data: [9])], before: DiskImage())
        #expect(checker.violations.last?.kind == .logMatching)
        // Overwriting committed entry 2 with another term.
        checker.observeWrite(1, batch: [Entry(term: 2, index: 2, data: [7])], before: disk.current)
        #expect(checker.violations.contains { $0.kind == .committedEntryTruncated })
    }

    @Test func divergentApplyAndLeaderCompletenessAreCaught() {
        var checker = InvariantChecker()
        var first = CounterStateMachine()
        let entry = Entry(term: 1, index: 1, data: CounterCommand(id: 1, amount: 5).encoded())
        checker.observeApply(1, entry: entry, outcome: first.apply(entry), stateDigest: first.stateDigest, commit: 1)
        var second = CounterStateMachine()
        let other = Entry(term: 1, index: 1, data: CounterCommand(id: 2, amount: 5).encoded())
        checker.observeApply(2, entry: other, outcome: second.apply(other), stateDigest: second.stateDigest, commit: 1)
        #expect(checker.violations.contains { $0.kind == .divergentApply })
        // A leader whose log lacks committed entry 1.
        checker.observeLeader(3, term: 2, image: DiskImage())
        #expect(checker.violations.contains { $0.kind == .leaderCompleteness })
    }

    @Test func commitRegressionAndVoteChangesAreCaught() {
        var checker = InvariantChecker()
        checker.observeHardState(
            1, old: HardState(term: 2, vote: 1, commit: 5), new: HardState(term: 2, vote: 1, commit: 4), lastIndex: 9)
        #expect(checker.violations.map(\.kind) == [.commitDecreased])
        checker.observeHardState(
            1, old: HardState(term: 2, vote: 1, commit: 5), new: HardState(term: 2, vote: 3, commit: 5), lastIndex: 9)
        #expect(checker.violations.last?.kind == .termOrVoteRegressed)
        checker.observeAcknowledgement(1, command: 7, index: 4, term: 2, durableOnQuorum: false, detail: "test")
        #expect(checker.violations.last?.kind == .acknowledgedBeforeDurable)
    }

    /// The simulated disk loses unsynced writes on a crash and may tear the last one it keeps.
    @Test func diskLosesUnsyncedWritesOnCrash() {
        var disk = SimulatedDisk()
        let synced = (1...3).map { Entry(term: 1, index: UInt64($0)) }
        disk.write(.entries(synced))
        disk.write(.hardState(HardState(term: 1, vote: 1, commit: 3)))
        disk.sync()
        disk.write(.entries((4...6).map { Entry(term: 1, index: UInt64($0)) }))
        #expect(disk.current.lastIndex == 6)
        var random = SimulationRandom(seed: 1)
        let outcome = disk.crash(random: &random, keepUnsyncedProbability: 0, tearProbability: 0)
        #expect(outcome.lost == 1)
        #expect(disk.durable.lastIndex == 3)
        #expect(disk.current.lastIndex == 3)
        #expect(disk.durable.hardState.commit == 3)
        // Keeping the unsynced batch but tearing it leaves a strict prefix.
        var tearing = SimulatedDisk(image: disk.durable)
        tearing.write(.entries((4...9).map { Entry(term: 2, index: UInt64($0)) }))
        let torn = tearing.crash(random: &random, keepUnsyncedProbability: 1, tearProbability: 1)
        if torn.torn {
            #expect(tearing.durable.lastIndex < 9)
        }
        #expect(tearing.durable.lastIndex >= 3)
    }
}
