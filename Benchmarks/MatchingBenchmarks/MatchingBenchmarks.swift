import Benchmark
import ExchangeCore
import Matching
import Workloads

// W1-style streams replayed through the matching engine, 1,000 commands per benchmark
// iteration (`scalingFactor: .kilo`), so that the scaled `mallocCountTotal` reads as heap
// allocations per command (steady-state target: 0; WORKLOADS.md, W1).
//
// Setup generates the stream with the shared W1 generator (Sources/Workloads) and applies its
// prefill; every iteration then applies the next 1,000 commands of the same stream to the same
// engine, so the book stays at the scenario's steady state. The stream is long enough for
// warm-up plus `maxIterations`; running past its end is a programmer error (trap).
//
// Run: swift package benchmark --target MatchingBenchmarks

/// One engine replaying one pre-generated stream, one slice per iteration.
///
/// `@unchecked Sendable`: the benchmark harness hands it from the setup task to the benchmark
/// closure, and only one thread uses it at a time.
final class W1Replay: @unchecked Sendable {
    let workload: W1Workload
    private var engine: MatchingEngine
    private var events: [Event] = []
    private var next: Int

    init(scenario: W1Scenario, measuredCommands: Int) throws {
        workload = try W1Generator.generate(scenario: scenario, measuredCommands: measuredCommands, seed: 1)
        engine = workload.makeEngine()
        events.reserveCapacity(4_096)
        workload.apply(0..<workload.prefillCount, to: &engine, events: &events)
        next = workload.prefillCount
    }

    /// Applies the next command of the stream; returns how many events it emitted.
    @inline(__always)
    func applyNext() -> Int {
        precondition(next < workload.commands.count, "W1 benchmark stream exhausted: raise measuredCommands")
        events.removeAll(keepingCapacity: true)
        engine.apply(
            workload.commands[next], timestamp: W1Workload.timestamp(at: next), sequence: W1Workload.sequence(at: next),
            into: &events)
        next += 1
        return events.count
    }
}

let benchmarks: @Sendable () -> Void = {
    let warmupIterations = 20
    let maxIterations = 900
    // Commands per stream: every iteration (warm-up included) takes 1,000.
    let measuredCommands = (warmupIterations + maxIterations) * 1_000 + 10_000

    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: warmupIterations,
        scalingFactor: .kilo,
        maxDuration: .seconds(30),
        maxIterations: maxIterations
    )

    for (scenario, name) in [(W1Scenario.a, "W1a mixed"), (W1Scenario.b, "W1b deep")] {
        Benchmark("\(name), per 1k commands", configuration: configuration) { benchmark, replay in
            var events = 0
            for _ in benchmark.scaledIterations {
                events &+= replay.applyNext()
            }
            blackHole(events)
        } setup: {
            try W1Replay(scenario: scenario, measuredCommands: measuredCommands)
        }
    }
}
