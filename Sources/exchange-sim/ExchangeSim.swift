import ArgumentParser
import Simulation

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// Runs the deterministic cluster simulator over a range of seeds, or one seed, or the named scenarios.
///
/// Prints seeds run, steps, faults injected by kind and violations; with `--json` the last line is the
/// report object of WORKLOADS.md. Exits non-zero on any violation; every failing run prints the exact
/// command that replays it.
struct ExchangeSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange-sim",
        abstract: "Deterministic Raft cluster simulator (seeded swarm testing with fault injection)."
    )

    @Option(help: "Number of seeds to run (with --from). Default: 100.")
    var seeds: Int?

    @Option(help: "First seed of the range. Default: 1.")
    var from: UInt64 = 1

    @Option(help: "Run exactly this seed (replay) and print its details.")
    var seed: UInt64?

    @Option(help: "Fault phase length in steps (default: drawn by each seed, 200...600).")
    var steps: Int?

    @Option(name: .customLong("liveness-ticks"), help: "Liveness bound after healing, in ticks. Default: 3000.")
    var livenessTicks: Int = 3000

    @Option(
        help: ArgumentHelp(
            "A deliberate shell bug, to see the checkers fail: send-before-sync, forget-deduplication, never-sync."))
    var flaw: [String] = []

    @Option(
        help: ArgumentHelp(
            "Comma-separated swarm features to switch off: "
                + SwarmFeature.allCases.map(\.rawValue).joined(separator: ", ") + "."))
    var exclude: String?

    @Flag(help: "Run the named regression scenarios instead of seeds.")
    var scenarios = false

    @Flag(help: "Print the event log of a --seed run.")
    var trace = false

    @Flag(help: "Print the report as one JSON object on the last line.")
    var json = false

    func validate() throws {
        if let seeds, seeds < 1 { throw ValidationError("--seeds must be at least 1") }
        if let steps, !(1...1_000_000).contains(steps) { throw ValidationError("--steps must be in 1...1000000") }
        if !(100...1_000_000).contains(livenessTicks) {
            throw ValidationError("--liveness-ticks must be in 100...1000000")
        }
        for name in flaw where Self.flaws[name] == nil {
            throw ValidationError("unknown --flaw \(name); known: \(Self.flaws.keys.sorted().joined(separator: ", "))")
        }
        for name in excludedNames where SwarmFeature(rawValue: name) == nil {
            throw ValidationError("unknown --exclude \(name)")
        }
        if seed != nil && seeds != nil { throw ValidationError("--seed and --seeds exclude each other") }
    }

    var excludedNames: [String] {
        (exclude ?? "").split(separator: ",").map { String($0) }
    }

    static let flaws: [String: ShellFlaws] = [
        "send-before-sync": .sendBeforeSync, "forget-deduplication": .forgetDeduplication, "never-sync": .neverSync,
    ]

    func run() throws {
        var template = SimulationOptions(seed: 0)
        template.faultSteps = steps
        template.livenessTicksMax = livenessTicks
        for name in flaw { template.flaws.insert(Self.flaws[name]!) }
        template.excluded = Set(excludedNames.compactMap(SwarmFeature.init(rawValue:)))
        if scenarios {
            try runScenarios()
            return
        }
        let first = seed ?? from
        let count = seed == nil ? (seeds ?? 100) : 1
        template.keepEventLog = trace
        let clock = ContinuousClock()
        let started = clock.now
        let report = SweepReport.run(first: first, count: count, template: template) { result in
            if seed != nil { Self.describe(result, trace: trace) }
            if !result.passed {
                printError("FAIL seed \(result.options.seed): \(result.violations.count) violation(s)")
                for violation in result.violations.prefix(5) { printError("  \(violation)") }
                printError("  replay: \(result.options.replayCommand)")
            }
        }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("seeds run:   \(report.seeds) (\(first)...\(first + UInt64(report.seeds) - 1))")
        print("steps:       \(report.steps)")
        print("commands:    \(report.acknowledged) acknowledged of \(report.proposed) proposed")
        print("faults:")
        for kind in report.faults.keys.sorted() {
            print("  \(kind.padding(toLength: 22)) \(report.faults[kind]!)")
        }
        print("violations:  \(report.violations)")
        print("time:        \(format2(seconds)) s (\(format2(Double(report.seeds) / max(seconds, 1e-9))) seeds/s)")
        for failure in report.failures {
            print("replay: \(failure.options.replayCommand)")
        }
        if json { print(report.json) }
        if report.violations > 0 { throw ExitCode(1) }
    }

    func runScenarios() throws {
        var failed = 0
        let first = seed ?? from
        let count = seed == nil ? (seeds ?? 1) : 1
        for scenario in RegressionScenario.allCases {
            var failedSeeds: [UInt64] = []
            var steps = 0
            for offset in 0..<count {
                let scenarioSeed = first + UInt64(offset)
                let outcome = scenario.run(seed: scenarioSeed)
                steps += outcome.steps
                if !outcome.passed {
                    failedSeeds.append(scenarioSeed)
                    print("FAIL \(scenario.rawValue) seed \(scenarioSeed): \(outcome.summary)")
                    for violation in outcome.violations.prefix(5) { print("  \(violation)") }
                }
            }
            print("\(failedSeeds.isEmpty ? "pass" : "FAIL") \(scenario.rawValue): \(count) seed(s), \(steps) steps")
            failed += failedSeeds.count
        }
        if json {
            print("{\"scenarios\":\(RegressionScenario.allCases.count),\"seeds\":\(count),\"failed\":\(failed)}")
        }
        if failed > 0 { throw ExitCode(1) }
    }

    static func describe(_ result: SimulationResult, trace: Bool) {
        let p = result.parameters
        print(
            "seed \(result.options.seed): \(p.voters) voters, \(p.learners) learners, \(p.spares) spares, "
                + "\(p.faultSteps) fault steps, loss \(format2(p.network.lossProbability)), "
                + "delay \(p.network.delayTicksMin)...\(p.network.delayTicksMax), preVote \(p.preVote), "
                + "checkQuorum \(p.checkQuorum), window \(p.maxInflightMessages), priorities "
                + "\(result.electionPriorities.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }), "
                + "fsync failure \(format2(p.syncFailureProbability * 100))%/Ready, disk full "
                + "\(format2(p.diskFullProbability * 100))%/step")
        print(
            "  steps \(result.steps), acknowledged \(result.acknowledged)/\(result.proposed), committed index "
                + "\(result.committedIndex), trace digest \(String(result.traceDigest, radix: 16)) "
                + "(\(result.traceEvents) events)")
        if trace { for line in result.eventLog { print("  " + line) } }
    }
}

func printError(_ line: String) {
    var standardError = StandardError()
    print(line, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        fputs(string, stderr)
    }
}

func format2(_ value: Double) -> String {
    let scaled = Int((value * 100).rounded())
    let fraction = abs(scaled % 100)
    return "\(scaled / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
