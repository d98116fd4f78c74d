import ArgumentParser
import ExchangeCore
import Histogram
import Matching
import Workloads

/// `exchange-bench w1`: workload W1, the matching state machine alone on one core.
///
/// The stream is generated first, by running the generator against an engine (which also gives
/// the reference digest). Then `--runs` throughput runs each apply it to a fresh engine, timed
/// as a whole; then one latency run times every command. Prefill commands (the initial resting
/// population) are applied before timing starts in every run.
struct W1Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w1",
        abstract: "W1: one order book, one core (the matching state machine alone)."
    )

    @Option(
        help: "a (mixed), b (deep), c (sweep) or d (many symbols).",
        transform: { text throws(ValidationError) in
            guard let scenario = W1Scenario(rawValue: text) else {
                throw ValidationError("--scenario must be a, b, c or d")
            }
            return scenario
        })
    var scenario: W1Scenario

    @Option(help: "Timed throughput runs; the median is reported.")
    var runs = 5

    @Option(help: "Measured commands (default: the scenario's count in WORKLOADS.md).")
    var commands: Int?

    @Option(help: "Seed of the generator.")
    var seed: UInt64 = 1

    @Flag(help: "Print one JSON object on the last line.")
    var json = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        if let commands, commands < 1 { throw ValidationError("--commands must be at least 1") }
    }

    func run() throws {
        let measured = commands ?? scenario.defaultCommandCount
        log("\(scenario.workloadName): generating \(grouped(measured)) commands (seed \(seed)) against the engine")
        let generationStart = MonotonicClock.nanoseconds()
        let workload: W1Workload
        do {
            workload = try W1Generator.generate(scenario: scenario, measuredCommands: measured, seed: seed) {
                done, total in log("  generated \(grouped(done)) / \(grouped(total))")
            }
        } catch {
            log("error: \(error)")
            throw ExitCode.failure
        }
        let generationSeconds = Double(MonotonicClock.nanoseconds() - generationStart) / 1e9
        let statistics = workload.statistics
        if statistics.rejects > 0 {
            log("warning: \(statistics.rejects) commands were rejected; first: \(statistics.firstReject ?? "?")")
        }

        var throughputRuns: [RunResult] = []
        for index in 0..<runs {
            let result = Self.throughputRun(workload)
            log("  run \(index + 1)/\(runs): \(grouped(Int(result.commandsPerSecond))) commands/s")
            throughputRuns.append(result)
        }
        log("  latency run")
        let latency = Self.latencyRun(workload)
        let clockOverhead = MonotonicClock.pairOverheadNanoseconds()
        let probeCount = max(200_000, workload.prefillCount)
        log("  memory probe: \(grouped(probeCount)) more passive orders")
        let marginalBytes = Self.marginalBytesPerOrder(workload, count: probeCount)

        // Determinism: the same stream must give the same events and final state every time.
        var failures: [String] = []
        if latency.digest != statistics.digest {
            failures.append("event digest differs: generation \(statistics.digest), latency run \(latency.digest)")
        }
        for (index, run) in (throughputRuns + [latency.run]).enumerated() {
            let name = index < throughputRuns.count ? "throughput run \(index + 1)" : "latency run"
            if run.events != statistics.events {
                failures.append("\(name) emitted \(run.events) events, generation \(statistics.events)")
            }
            if run.stateHash != throughputRuns[0].stateHash {
                failures.append(
                    "\(name) ends in state hash \(hex(run.stateHash)), run 1 in \(hex(throughputRuns[0].stateHash))")
            }
            if run.restingOrders != statistics.finalRestingOrders {
                failures.append(
                    "\(name) ends with \(run.restingOrders) live orders, "
                        + "generation with \(statistics.finalRestingOrders)")
            }
        }

        let rates = throughputRuns.map(\.commandsPerSecond).sorted()
        let median =
            rates.count % 2 == 1 ? rates[rates.count / 2] : (rates[rates.count / 2 - 1] + rates[rates.count / 2]) / 2
        let last = throughputRuns[throughputRuns.count - 1]
        let bytesPerOrder = last.heapGrowthBytes.map { Double($0) / Double(max(last.restingOrders, 1)) }
        let report = Report(
            workload: workload, measured: measured, runs: runs, generationSeconds: generationSeconds,
            throughputRuns: throughputRuns, medianThroughput: median, latency: latency,
            bytesPerRestingOrder: bytesPerOrder, marginalBytesPerOrder: marginalBytes, probeOrders: probeCount,
            clockOverheadNanoseconds: clockOverhead, failures: failures)
        print(report.table())
        if json { print(report.json()) }

        if !failures.isEmpty {
            for failure in failures { log("NONDETERMINISM: \(failure)") }
            throw ExitCode.failure
        }
    }

    // MARK: Runs

    struct RunResult {
        var commandsPerSecond: Double
        var events: Int
        var stateHash: UInt64
        var restingOrders: Int
        /// Heap in use with the engine alive at the end, minus before the engine was created.
        var heapGrowthBytes: Int?
    }

    struct LatencyResult {
        var run: RunResult
        var histogram: Histogram<UInt64>
        var digest: String
    }

    /// Applies the whole stream to a fresh engine; the measured part is timed as one block.
    static func throughputRun(_ workload: W1Workload) -> RunResult {
        var events: [Event] = []
        events.reserveCapacity(4_096)
        let heapBefore = HeapUsage.bytesInUse()
        var engine = workload.makeEngine()
        var eventCount = 0
        workload.apply(0..<workload.prefillCount, to: &engine, events: &events) { eventCount += $0.count }

        let commands = workload.commands
        let start = MonotonicClock.nanoseconds()
        for index in workload.prefillCount..<commands.count {
            events.removeAll(keepingCapacity: true)
            engine.apply(
                commands[index], timestamp: W1Workload.timestamp(at: index), sequence: W1Workload.sequence(at: index),
                into: &events)
            eventCount &+= events.count
        }
        let end = MonotonicClock.nanoseconds()

        let heapAfter = HeapUsage.bytesInUse()
        let heapGrowth = heapBefore.flatMap { before in heapAfter.map { $0 - before } }
        return RunResult(
            commandsPerSecond: Double(workload.measuredCount) / (Double(end - start) / 1e9), events: eventCount,
            stateHash: engine.stateHash(), restingOrders: engine.liveOrderCount, heapGrowthBytes: heapGrowth)
    }

    /// Applies the whole stream to a fresh engine, timing every measured command with two clock
    /// reads, and digests every event (outside the timed part).
    static func latencyRun(_ workload: W1Workload) -> LatencyResult {
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: highestTrackableNanoseconds,
            numberOfSignificantValueDigits: .three)
        var digest = EventDigest()
        var events: [Event] = []
        events.reserveCapacity(4_096)
        var engine = workload.makeEngine()
        workload.apply(0..<workload.prefillCount, to: &engine, events: &events) { digest.add(contentsOf: $0) }

        let commands = workload.commands
        let start = MonotonicClock.nanoseconds()
        for index in workload.prefillCount..<commands.count {
            events.removeAll(keepingCapacity: true)
            let before = MonotonicClock.nanoseconds()
            engine.apply(
                commands[index], timestamp: W1Workload.timestamp(at: index), sequence: W1Workload.sequence(at: index),
                into: &events)
            let after = MonotonicClock.nanoseconds()
            _ = histogram.record(min(after &- before, highestTrackableNanoseconds))
            digest.add(contentsOf: events)
        }
        let end = MonotonicClock.nanoseconds()
        let run = RunResult(
            commandsPerSecond: Double(workload.measuredCount) / (Double(end - start) / 1e9),
            events: digest.eventCount, stateHash: engine.stateHash(), restingOrders: engine.liveOrderCount,
            heapGrowthBytes: nil)
        return LatencyResult(run: run, histogram: histogram, digest: digest.finalizeHex())
    }

    /// Heap growth per order when `count` more passive orders join a book that holds the
    /// prefill: the marginal cost of a resting order, growth slack of the engine's pools
    /// included. `nil` where the heap cannot be measured.
    static func marginalBytesPerOrder(_ workload: W1Workload, count: Int) -> Double? {
        let probe = workload.passiveProbeOrders(count: count)
        var events: [Event] = []
        events.reserveCapacity(4_096)
        var engine = workload.makeEngine()
        workload.apply(0..<workload.prefillCount, to: &engine, events: &events)
        let liveBefore = engine.liveOrderCount
        guard let before = HeapUsage.bytesInUse() else { return nil }
        for (offset, command) in probe.enumerated() {
            let index = workload.prefillCount + offset
            events.removeAll(keepingCapacity: true)
            engine.apply(
                command, timestamp: W1Workload.timestamp(at: index), sequence: W1Workload.sequence(at: index),
                into: &events)
        }
        guard let after = HeapUsage.bytesInUse() else { return nil }
        let added = engine.liveOrderCount - liveBefore
        precondition(added == count, "probe orders must all rest: \(added) of \(count) did")
        return Double(after - before) / Double(added)
    }

    /// Latencies above one minute are recorded as one minute.
    static let highestTrackableNanoseconds: UInt64 = 60_000_000_000
}

func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
