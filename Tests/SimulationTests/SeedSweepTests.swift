import Foundation
import Raft
import Simulation
import Testing

/// Swarm features the CI sweep leaves out: none (the Raft liveness bugs the sweep found are fixed, and their
/// seeds are regression tests below).
let ciExclusions: Set<SwarmFeature> = []

@Suite("Seed sweep")
struct SeedSweepTests {
    /// `SIM_SEEDS` (default 2000) seeds from `SIM_FROM` (default 1), every invariant checked on every step.
    @Test func seedRangeHasNoViolations() {
        let environment = ProcessInfo.processInfo.environment
        let count = environment["SIM_SEEDS"].flatMap(Int.init) ?? 2000
        let first = environment["SIM_FROM"].flatMap(UInt64.init) ?? 1
        var template = SimulationOptions(seed: 0)
        template.excluded = ciExclusions
        let report = SweepReport.run(first: first, count: count, template: template)
        for failure in report.failures {
            let details = failure.violations.prefix(3).map(\.description).joined(separator: "\n")
            Issue.record("seed \(failure.options.seed) failed; replay: \(failure.options.replayCommand)\n\(details)")
        }
        #expect(report.seeds == count)
        #expect(report.violations == 0)
        // The sweep really injected faults and really committed client commands (every kind shows up within
        // a few hundred seeds).
        #expect(report.acknowledged > count * 10)
        guard count >= 500 else { return }
        for kind in ["crash", "restart", "pause", "partition", "isolate", "asymmetric-partition", "flapping-link",
            "clock-drift", "leader-transfer", "membership-change", "message-drop", "message-duplicate",
            "message-reorder", "crash-before-sync", "crash-before-send", "crash-after-apply", "snapshot",
            "snapshot-install", "lost-unsynced-write", "torn-write", "fsync-failed", "fsync-failed-crash-stop",
            "disk-full", "disk-full-crash-stop"]
        {
            #expect(report.faults[kind, default: 0] > 0, "no \(kind) injected in \(count) seeds")
        }
    }

    /// Seeds on which the full swarm once found liveness bugs in the Raft core, kept as regressions:
    /// 2594, 2642, 2672: election priorities without pre-vote; a higher-priority replica with a stale log kept
    /// campaigning and reset the timer of the only replica that could win (fixed: a vote request we reject no
    /// longer restarts our election timer). 5798: a lagging learner never saw the replica that later led in any
    /// configuration and dropped its appends as `unknownSender` (fixed: `RaftConfiguration.clusterNodes`, the
    /// cluster's node list, counts as known senders).
    @Test(arguments: [UInt64(2594), 2642, 2672, 5798])
    func formerRaftLivenessBugSeeds(seed: UInt64) {
        let result = Simulator.run(SimulationOptions(seed: seed))
        #expect(result.passed, "replay: \(result.options.replayCommand)")
    }
}
