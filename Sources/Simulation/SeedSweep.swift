/// Totals over a range of seeds.
public struct SweepReport: Sendable {
    public var seeds = 0
    public var steps = 0
    public var faults: [String: Int] = [:]
    public var violations = 0
    public var acknowledged = 0
    public var proposed = 0
    /// The failing runs (up to `failuresKept`), each with its replay command.
    public var failures: [SimulationResult] = []
    public var failuresKept = 10

    public init() {}

    public mutating func add(_ result: SimulationResult) {
        seeds += 1
        steps += result.steps
        for (kind, count) in result.faults { faults[kind, default: 0] += count }
        violations += result.violations.count
        acknowledged += result.acknowledged
        proposed += result.proposed
        if !result.passed, failures.count < failuresKept { failures.append(result) }
    }

    /// The report object of WORKLOADS.md (`seeds`, `steps`, `faults`, `violations`), plus `acknowledged`
    /// and `failing_seeds`.
    public var json: String {
        let faultMembers = faults.keys.sorted().map { "\"\($0)\":\(faults[$0]!)" }.joined(separator: ",")
        let failing = failures.map { String($0.options.seed) }.joined(separator: ",")
        return "{\"seeds\":\(seeds),\"steps\":\(steps),\"faults\":{\(faultMembers)},\"violations\":\(violations),"
            + "\"acknowledged\":\(acknowledged),\"proposed\":\(proposed),\"failing_seeds\":[\(failing)]}"
    }

    /// Runs `count` seeds from `first` with the same options otherwise.
    public static func run(
        first: UInt64, count: Int, template: SimulationOptions = SimulationOptions(seed: 0),
        progress: ((SimulationResult) -> Void)? = nil
    ) -> SweepReport {
        var report = SweepReport()
        for offset in 0..<count {
            var options = template
            options.seed = first &+ UInt64(offset)
            let result = Simulator.run(options)
            progress?(result)
            report.add(result)
        }
        return report
    }
}
