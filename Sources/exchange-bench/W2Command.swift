import ArgumentParser
import ExchangeClient
import ExchangeOps
import LoadGenerator

/// `exchange-bench w2`: one replicated shard (WORKLOADS.md W2). Three `exchanged node` processes,
/// fsync on, the W1a-style mix of `exchange-load` over the client protocol: closed loop with 1, 16
/// and 256 outstanding commands, then open loop at 25 %, 50 % and 75 % of the closed-loop maximum;
/// with the fsync and loopback round-trip baselines measured in the same run. At the end every
/// acknowledgement of the run is verified against every replica (`exchangectl verify`).
struct W2Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w2",
        abstract: "W2: one replicated shard, 3 voters as processes, fsync on (ack throughput and latency).")

    @Flag(help: "Print one JSON object on the last line.")
    var json = false

    @Option(help: "Seconds of load per mode.")
    var seconds: Double = 10

    @Option(help: "Closed-loop depths (outstanding commands), comma-separated.")
    var closed = "1,16,256"

    @Option(help: "Open-loop rates in percent of the closed-loop maximum, comma-separated.")
    var open = "25,50,75"

    @Option(help: "Parent of the scratch directory (data of the 3 nodes; removed at the end). Default: $TMPDIR or /tmp.")
    var directory: String?

    func validate() throws {
        guard seconds >= 0.5 && seconds <= 600 else { throw ValidationError("--seconds must be in 0.5...600") }
        guard let depths = Self.numbers(closed), !depths.isEmpty, depths.allSatisfy({ (1...65_536).contains($0) }) else {
            throw ValidationError("--closed must be a comma-separated list of depths in 1...65536")
        }
        guard let rates = Self.numbers(open), rates.allSatisfy({ (1...100).contains($0) }) else {
            throw ValidationError("--open must be a comma-separated list of percentages in 1...100")
        }
    }

    static func numbers(_ text: String) -> [Int]? {
        if text.isEmpty { return [] }
        let values = text.split(separator: ",").map { Int($0.filter { $0 != " " }) }
        return values.contains(nil) ? nil : values.map { $0! }
    }

    struct Row {
        var mode: String
        var summary: LoadSummary
    }

    func run() async throws {
        let scratch = try ScratchDirectory(purpose: "w2", parent: directory)
        defer {
            log("removing \(scratch.path)")
            scratch.remove()
        }
        log("baselines: fsync of a 4 KiB append, loopback round trip")
        let fsyncBaseline = try Baselines.fsyncAppendMedianNanoseconds(directory: scratch.path)
        let rttBaseline = try Baselines.loopbackRoundTripMedianNanoseconds()
        log("starting 3 nodes in \(scratch.path)")
        let bench = try await BenchCluster.start(scratch: scratch, symbols: 4)
        var rows: [Row] = []
        var ackLogs: [String] = []
        do {
            for depth in Self.numbers(closed)! {
                let ackLog = scratch.path + "/acks-closed-\(depth).log"
                ackLogs.append(ackLog)
                log("closed loop, \(depth) outstanding, \(seconds) s")
                let generator = try LoadGenerator(
                    cluster: bench.definition,
                    options: bench.loadOptions(.closed(outstanding: depth), seconds: seconds, ackLog: ackLog))
                rows.append(Row(mode: "closed-\(depth)", summary: try await generator.run()))
            }
            let maximum = rows.map(\.summary.throughputPerSecond).max() ?? 0
            for percent in Self.numbers(open)! {
                let rate = max(1, Int(maximum * Double(percent) / 100))
                let ackLog = scratch.path + "/acks-open-\(percent).log"
                ackLogs.append(ackLog)
                log("open loop at \(percent)% of \(Int(maximum))/s = \(rate)/s, \(seconds) s")
                let generator = try LoadGenerator(
                    cluster: bench.definition,
                    options: bench.loadOptions(.open(commandsPerSecond: rate), seconds: seconds, ackLog: ackLog))
                rows.append(Row(mode: "open-\(percent)", summary: try await generator.run()))
            }
        } catch {
            await bench.stop()
            throw error
        }
        var acks: [AckRecord] = []
        for path in ackLogs { acks += try AckLog.read(path: path) }
        log("verifying \(acks.count) acknowledgements on every replica")
        let verdict = await Verifier.fetchAndCheck(definition: bench.definition, acks: acks, timeout: .seconds(60))
        await bench.stop()

        let base = fsyncBaseline + rttBaseline
        var text = "W2 one replicated shard (3 voters as processes, fsync on)\n"
        text += "  baselines: fsync 4 KiB append \(Self.micros(fsyncBaseline)), loopback round trip \(Self.micros(rttBaseline))\n"
        text += "  mode        acks/s       p50        p99      p99.9        max   p50/(fsync+rtt)  failed\n"
        for row in rows {
            let latency = row.summary.latencyNanoseconds
            let ratio = base > 0 ? Double(latency.p50) / Double(base) : 0
            text += "  " + Self.pad(row.mode, 10) + Self.left(String(Int(row.summary.throughputPerSecond)), 8)
            text += Self.left(Self.micros(latency.p50), 11) + Self.left(Self.micros(latency.p99), 11)
            text += Self.left(Self.micros(latency.p999), 11) + Self.left(Self.micros(latency.max), 11)
            text += Self.left(String(format2(ratio)), 17) + Self.left(String(row.summary.failed), 8) + "\n"
        }
        text += "  verify: \(verdict.passed ? "passed" : "FAILED") (\(verdict.acksChecked) acks on \(verdict.replicas.count) replicas)\n"
        print(text, terminator: "")
        if json {
            var object = JSONObject()
            object.add("workload", "W2")
            object.add(
                "results",
                rawArray: rows.map { row in
                    var entry = JSONObject()
                    entry.add("mode", row.mode)
                    entry.add("throughput_per_s", row.summary.throughputPerSecond, decimals: 0)
                    var latency = JSONObject()
                    latency.add("p50", row.summary.latencyNanoseconds.p50)
                    latency.add("p99", row.summary.latencyNanoseconds.p99)
                    latency.add("p999", row.summary.latencyNanoseconds.p999)
                    latency.add("max", row.summary.latencyNanoseconds.max)
                    entry.add("latency_ns", latency)
                    entry.add("acknowledged", row.summary.acknowledged)
                    entry.add("failed", row.summary.failed)
                    return entry.text
                })
            var baseline = JSONObject()
            baseline.add("fsync", fsyncBaseline)
            baseline.add("rtt", rttBaseline)
            object.add("baseline_ns", baseline)
            object.add("seconds_per_mode", seconds, decimals: 1)
            object.add("verified", verdict.passed)
            print(object.text)
        }
        if !verdict.passed {
            log("verify failed:\n\(verdict.render())")
            throw ExitCode.failure
        }
    }

    static func micros(_ nanoseconds: UInt64) -> String {
        let value = Double(nanoseconds) / 1_000
        return value >= 10_000 ? "\(Int(value / 1_000)) ms" : "\(format1(value)) us"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }

    static func left(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

func format1(_ value: Double) -> String {
    let scaled = (value * 10).rounded() / 10
    return String(scaled)
}

func format2(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    return String(scaled)
}
