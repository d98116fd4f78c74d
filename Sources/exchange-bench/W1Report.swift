import Histogram
import Workloads

/// The figures of one `exchange-bench w1` invocation, as a table and as the JSON line of
/// WORKLOADS.md (fixed keys first, extra keys after).
struct Report {
    var workload: W1Workload
    var measured: Int
    var runs: Int
    var generationSeconds: Double
    var throughputRuns: [W1Command.RunResult]
    var medianThroughput: Double
    var latency: W1Command.LatencyResult
    /// `nil` where the heap cannot be measured (see `HeapUsage`).
    var bytesPerRestingOrder: Double?
    /// Heap growth per order of `probeOrders` passive orders added to the prefilled book.
    var marginalBytesPerOrder: Double?
    var probeOrders: Int
    var clockOverheadNanoseconds: UInt64
    var failures: [String]

    var percentiles: (p50: UInt64, p99: UInt64, p9999: UInt64, max: UInt64) {
        let histogram = latency.histogram
        return (
            histogram.valueAtPercentile(50), histogram.valueAtPercentile(99), histogram.valueAtPercentile(99.99),
            histogram.max
        )
    }

    var title: String {
        switch workload.scenario {
        case .a: "mixed"
        case .b: "deep"
        case .c: "sweep"
        case .d: "many symbols"
        }
    }

    func table() -> String {
        let statistics = workload.statistics
        let parameters = workload.parameters
        let last = throughputRuns[throughputRuns.count - 1]
        let p = percentiles
        let marketable = statistics.emitted[W1CommandKind.marketable.rawValue]
        func percent(_ kind: W1CommandKind) -> String {
            fixed(100 * statistics.emittedFraction(kind), decimals: 1) + "%"
        }
        var lines: [(String, String)] = [
            (
                "commands",
                "\(grouped(measured)) measured, after a prefill of \(grouped(workload.prefillCount)) resting orders"
            ),
            (
                "symbols",
                "\(grouped(parameters.symbolCount)), \(parameters.participantCount) participants, seed \(workload.seed)"
            ),
            ("throughput (median)", "\(grouped(Int(medianThroughput))) commands/s over \(runs) runs"),
            ("throughput runs", throughputRuns.map { grouped(Int($0.commandsPerSecond)) }.joined(separator: "  ")),
            ("latency p50 / p99", "\(grouped(Int(p.p50))) / \(grouped(Int(p.p99))) ns"),
            ("latency p99.99 / max", "\(grouped(Int(p.p9999))) / \(grouped(Int(p.max))) ns"),
            ("clock overhead", "\(clockOverheadNanoseconds) ns per pair of clock reads (included above)"),
            (
                "bytes / resting order",
                bytesPerRestingOrder.map { perOrder in
                    "\(fixed(perOrder, decimals: 1)) (heap growth \(grouped(last.heapGrowthBytes ?? 0)) B "
                        + "/ \(grouped(last.restingOrders)) resting orders, glibc mallinfo2)"
                } ?? "unavailable (no mallinfo2 on this platform)"
            ),
            (
                "marginal bytes / order",
                marginalBytesPerOrder.map { perOrder in
                    "\(fixed(perOrder, decimals: 1)) (heap growth per order when \(grouped(probeOrders)) "
                        + "passive orders join the prefilled book)"
                } ?? "unavailable"
            ),
            ("digest (SHA-256)", latency.digest),
            ("events", "\(grouped(statistics.events)) per run, prefill included"),
            (
                "mix emitted",
                "new \(percent(.newLimit))  replace \(percent(.replace))  "
                    + "cancel \(percent(.cancel))  marketable \(percent(.marketable))"
            ),
            (
                "mix nominal",
                "new \(parameters.mix.newLimit)%  replace \(parameters.mix.replace)%  "
                    + "cancel \(parameters.mix.cancel)%  marketable \(parameters.mix.marketable)%"
            ),
            (
                "resting orders",
                "avg \(grouped(Int(statistics.restingAverage(measured: measured)))), "
                    + "min \(grouped(statistics.restingMinimum)), max \(grouped(statistics.restingMaximum)); "
                    + "at the end \(grouped(statistics.finalRestingOrders)) "
                    + "on \(grouped(statistics.finalPriceLevels)) levels"
            ),
            (
                "marketable orders",
                "\(fixed(ratio(statistics.marketableTrades, marketable), decimals: 2)) trades each, "
                    + fixed(ratio(statistics.marketableLevelsTraded, statistics.marketableThatTraded), decimals: 2)
                    + " levels per one that traded"
            ),
            ("rejects", "\(statistics.rejects)"),
            ("instrument rules", "tick 1, lot 1, price band off (0 bp), volatility breaker off (0 bp)"),
            ("generation", "\(fixed(generationSeconds, decimals: 1)) s (stream run once against the engine)"),
        ]
        if !failures.isEmpty {
            lines.append(("DETERMINISM", "FAILED: " + failures.joined(separator: "; ")))
        } else {
            lines.append(
                ("determinism", "digest equal in generation and latency runs; events, state hash equal in all runs"))
        }
        let width = lines.map(\.0.count).max() ?? 0
        var text = "\(workload.scenario.workloadName) \(title)\n"
        for (name, value) in lines {
            text += "  " + name + String(repeating: " ", count: width - name.count) + "  " + value + "\n"
        }
        return text
    }

    func json() -> String {
        let statistics = workload.statistics
        let p = percentiles
        var object = JSONObject()
        object.add("workload", workload.scenario.workloadName)
        object.add("commands", measured)
        object.add("runs", runs)
        object.add("throughput_per_s", Int(medianThroughput.rounded()))
        var latencyObject = JSONObject()
        latencyObject.add("p50", p.p50)
        latencyObject.add("p99", p.p99)
        latencyObject.add("p9999", p.p9999)
        latencyObject.add("max", p.max)
        object.add("latency_ns", latencyObject)
        if let bytesPerRestingOrder {
            object.add("bytes_per_resting_order", bytesPerRestingOrder, decimals: 1)
        } else {
            object.addNull("bytes_per_resting_order")
        }
        object.add("digest", latency.digest)
        // Extra keys.
        object.add("seed", workload.seed)
        object.add("prefill_commands", workload.prefillCount)
        object.add(
            "throughput_runs_per_s", rawArray: throughputRuns.map { String(Int($0.commandsPerSecond.rounded())) })
        object.add("bytes_per_resting_order_method", "heap_growth_mallinfo2")
        if let marginalBytesPerOrder {
            object.add("marginal_bytes_per_order", marginalBytesPerOrder, decimals: 1)
        }
        if let growth = throughputRuns[throughputRuns.count - 1].heapGrowthBytes {
            object.add("heap_growth_bytes", growth)
        }
        object.add("resting_orders", statistics.finalRestingOrders)
        object.add("price_levels", statistics.finalPriceLevels)
        object.add("events", statistics.events)
        var mix = JSONObject()
        for kind in W1CommandKind.allCases {
            mix.add(kind.description, statistics.emittedFraction(kind), decimals: 4)
        }
        object.add("mix", mix)
        object.add("rejects", statistics.rejects)
        object.add(
            "marketable_trades_per_order",
            ratio(statistics.marketableTrades, statistics.emitted[W1CommandKind.marketable.rawValue]), decimals: 3)
        object.add("clock_overhead_ns", clockOverheadNanoseconds)
        object.add("price_band_bp", 0)
        object.add("breaker_bp", 0)
        object.add("deterministic", failures.isEmpty)
        return object.text
    }

    private func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }
}
