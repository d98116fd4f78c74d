import ArgumentParser
import DevCluster
import ExchangeClient
import ExchangeOps
@preconcurrency import Glibc
import LoadGenerator

/// `exchange-bench w3`: the failover drill (WORKLOADS.md W3). Three `exchanged node` processes under
/// an open-loop load at 50 % of the closed-loop maximum; `--drills` times kill -9 of the leader, and
/// as many planned transfers of the leadership to the hot standby. The gap of a drill is the
/// longest interval without any acknowledgement that spans the fault (from the last ack before it to
/// the first after the service resumed); at the end every acknowledgement is verified on every
/// replica, which gives the lost and applied-twice counts.
struct W3Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w3",
        abstract: "W3: failover drill, kill -9 of the leader and planned transfer to the standby, under load.")

    @Flag(help: "Print one JSON object on the last line.")
    var json = false

    @Option(help: "Drills of each kind (crash and planned transfer).")
    var drills = 20

    @Option(help: "Load in commands/s. Default: 50% of a 3-second closed-loop (256 outstanding) maximum measured first.")
    var rate: Int?

    @Option(help: "Parent of the scratch directory (data of the 3 nodes; removed at the end). Default: $TMPDIR or /tmp.")
    var directory: String?

    func validate() throws {
        guard (1...1_000).contains(drills) else { throw ValidationError("--drills must be in 1...1000") }
        if let rate, !(1...10_000_000).contains(rate) { throw ValidationError("--rate must be in 1...10000000") }
    }

    func run() async throws {
        let scratch = try ScratchDirectory(purpose: "w3", parent: directory)
        defer {
            log("removing \(scratch.path)")
            scratch.remove()
        }
        log("starting 3 nodes in \(scratch.path)")
        let bench = try await BenchCluster.start(scratch: scratch, symbols: 4)
        do {
            try await drill(bench, scratch: scratch)
        } catch {
            await bench.stop()
            throw error
        }
        await bench.stop()
    }

    private func drill(_ bench: BenchCluster, scratch: ScratchDirectory) async throws {
        var load = rate ?? 0
        var ackLogs: [String] = []
        if rate == nil {
            let ackLog = scratch.path + "/acks-probe.log"
            ackLogs.append(ackLog)
            let probe = try LoadGenerator(
                cluster: bench.definition,
                options: bench.loadOptions(.closed(outstanding: 256), seconds: 3, ackLog: ackLog))
            let summary = try await probe.run()
            load = max(1, Int(summary.throughputPerSecond / 2))
            log("closed-loop maximum \(Int(summary.throughputPerSecond))/s; drilling at \(load)/s")
        }
        let times = AckTimes()
        let ackLog = scratch.path + "/acks-drill.log"
        ackLogs.append(ackLog)
        let generator = try LoadGenerator(
            cluster: bench.definition,
            options: bench.loadOptions(
                .open(commandsPerSecond: load), seconds: 3_600, ackLog: ackLog,
                onAck: { _, _, monotonic in times.add(monotonic) }))
        let running = Task { try await generator.run() }

        var crashGaps: [Double] = []
        var transferGaps: [Double] = []
        let window: UInt64 = 1_000_000_000
        for round in 1...drills {
            // Crash: kill -9 the leader, wait until acknowledgements flow again, restart it.
            try await bench.settle()
            try await Task.sleep(for: .milliseconds(200))
            guard let leader = await bench.leader() else { throw ExitCodeError(message: "no leader before drill") }
            let crashAt = MonotonicClock.nanoseconds()
            try await bench.cluster.kill(leader, signal: SIGKILL)
            crashGaps.append(try await Self.gap(times, after: crashAt, window: window))
            try await bench.cluster.start(leader)
            // Planned: transfer the leadership to the standby (node 2); the primary takes it back after.
            try await bench.settle()
            try await Task.sleep(for: .milliseconds(200))
            let transferAt = MonotonicClock.nanoseconds()
            // Straight to the leader's endpoint: the primary takes the lead back as soon as it is caught up,
            // often before a poll could see the standby lead.
            guard let primary = bench.definition.node(id: 1) else { throw ExitCodeError(message: "no node 1") }
            _ = try await ShardEndpoints.transferLeader(
                host: primary.metricsAddress.host, port: Int(primary.metricsAddress.port), shard: 1, to: 2,
                timeout: .seconds(5))
            transferGaps.append(try await Self.gap(times, after: transferAt, window: window))
            log(
                "drill \(round): crash gap \(format1(crashGaps.last!)) ms, transfer gap \(format1(transferGaps.last!)) ms")
        }
        generator.stop()
        let summary = try await running.value
        try await bench.settle()
        var acks: [AckRecord] = []
        for path in ackLogs { acks += try AckLog.read(path: path) }
        log("verifying \(acks.count) acknowledgements on every replica")
        let verdict = await Verifier.fetchAndCheck(definition: bench.definition, acks: acks, timeout: .seconds(60))
        let lost = verdict.violations.filter { $0.kind == .missingAck || $0.kind == .missingOriginal }.count
        let duplicated = verdict.violations.filter { $0.kind == .appliedTwice }.count

        var text = "W3 failover drill (3 voters as processes, open loop at \(load)/s, \(drills) drills each)\n"
        text += "  crash (kill -9 leader)     gap p50 \(format1(percentile(crashGaps, 0.5))) ms"
        text += "  p99 \(format1(percentile(crashGaps, 0.99))) ms  max \(format1(crashGaps.max() ?? 0)) ms\n"
        text += "  planned transfer           gap p50 \(format1(percentile(transferGaps, 0.5))) ms"
        text += "  p99 \(format1(percentile(transferGaps, 0.99))) ms  max \(format1(transferGaps.max() ?? 0)) ms\n"
        text += "  acknowledged \(summary.acknowledged), failed \(summary.failed), lost \(lost), applied twice \(duplicated)\n"
        text += "  verify: \(verdict.passed ? "passed" : "FAILED") (\(verdict.acksChecked) acks)\n"
        print(text, terminator: "")
        if json {
            var object = JSONObject()
            object.add("workload", "W3")
            object.add("drills", drills)
            var crash = JSONObject()
            crash.add("p50", percentile(crashGaps, 0.5), decimals: 1)
            crash.add("p99", percentile(crashGaps, 0.99), decimals: 1)
            crash.add("max", crashGaps.max() ?? 0, decimals: 1)
            object.add("crash_gap_ms", crash)
            var transfer = JSONObject()
            transfer.add("p50", percentile(transferGaps, 0.5), decimals: 1)
            transfer.add("p99", percentile(transferGaps, 0.99), decimals: 1)
            transfer.add("max", transferGaps.max() ?? 0, decimals: 1)
            object.add("transfer_gap_ms", transfer)
            object.add("lost", lost)
            object.add("duplicated", duplicated)
            object.add("load_per_s", load)
            object.add("acknowledged", summary.acknowledged)
            object.add("failed", summary.failed)
            object.add("verified", verdict.passed)
            print(object.text)
        }
        if !verdict.passed {
            log("verify failed:\n\(verdict.render())")
            throw ExitCode.failure
        }
    }

    /// Waits until acknowledgements flow again past `after + window` (at most 30 s), then returns the
    /// fault's gap in milliseconds.
    static func gap(_ times: AckTimes, after fault: UInt64, window: UInt64) async throws -> Double {
        let deadline = fault + 30_000_000_000
        while MonotonicClock.nanoseconds() < deadline {
            if times.latest() > fault + window, let gap = times.gap(after: fault, window: window) {
                return Double(gap) / 1e6
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ExitCodeError(message: "no acknowledgement within 30 s of the fault")
    }
}
