import Foundation
import NIOConcurrencyHelpers

/// Where a fault test may make a worker kill itself (`raise(SIGKILL)`), named as in `EXCHANGE_CRASH_AT`.
public enum CrashPoint: String, Sendable, Hashable, CaseIterable {
    /// Records polled and processed (right after ``WorkerLogic/process(_:connection:)``), before the database
    /// transaction commits. Hit once per batch.
    case afterConsume = "after-consume"
    /// The database transaction committed, before the Kafka offset commit and before the relay is woken.
    /// Hit once per committed batch.
    case afterDatabaseCommit = "after-db-commit"
    /// The relay got every delivery report of a round, before it deletes the rows from the outbox. Hit once per
    /// relay round.
    case afterProduce = "after-produce"
}

/// "Kill this process the `hit`-th time it reaches `point`", parsed from `EXCHANGE_CRASH_AT="<point>:<n>"`
/// (for example `after-db-commit:3`).
public struct CrashPlan: Sendable, Hashable, CustomStringConvertible {
    public static let environmentVariable = "EXCHANGE_CRASH_AT"

    public var point: CrashPoint
    /// 1-based; range 1...1,000,000,000.
    public var hit: Int

    public init(point: CrashPoint, hit: Int) {
        self.point = point
        self.hit = hit
    }

    /// Parses `<point>:<n>`.
    public init(parsing text: String) throws(WorkerRuntimeError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let points = CrashPoint.allCases.map(\.rawValue).joined(separator: ", ")
        guard parts.count == 2 else {
            throw WorkerRuntimeError(
                code: .invalidCrashPlan,
                message: "\(Self.environmentVariable)='\(text)': expected <point>:<n> with point one of \(points)")
        }
        guard let point = CrashPoint(rawValue: String(parts[0])) else {
            throw WorkerRuntimeError(
                code: .invalidCrashPlan,
                message: "\(Self.environmentVariable)='\(text)': unknown point '\(parts[0])'; expected one of \(points)"
            )
        }
        guard let hit = Int(parts[1]), (1...1_000_000_000).contains(hit) else {
            throw WorkerRuntimeError(
                code: .invalidCrashPlan,
                message: "\(Self.environmentVariable)='\(text)': n must be an integer in 1...1000000000")
        }
        self.init(point: point, hit: hit)
    }

    /// The plan in `environment[EXCHANGE_CRASH_AT]` (the process environment when `nil`); `nil` when unset or
    /// empty.
    public static func fromEnvironment(_ environment: [String: String]? = nil) throws(WorkerRuntimeError) -> CrashPlan?
    {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard let text = environment[environmentVariable], !text.isEmpty else { return nil }
        return try CrashPlan(parsing: text)
    }

    public var description: String { "\(point.rawValue):\(hit)" }
}

/// Counts hits of the planned point and kills the process on the planned one. Thread-safe.
final class CrashSwitch: Sendable {
    private struct Armed {
        var plan: CrashPlan?
        var hits = 0
    }
    private let armed = NIOLockedValueBox(Armed())

    /// Sets the plan (at start, before the threads run) and resets the count.
    func arm(_ plan: CrashPlan?) {
        armed.withLockedValue { $0 = Armed(plan: plan) }
    }

    func reached(_ point: CrashPoint) {
        let fire: CrashPlan? = armed.withLockedValue { armed in
            guard let plan = armed.plan, plan.point == point else { return nil }
            armed.hits += 1
            return armed.hits == plan.hit ? plan : nil
        }
        guard let fire else { return }
        FileHandle.standardError.write(Data("exchange: crash point \(fire) reached, raising SIGKILL\n".utf8))
        raise(SIGKILL)
    }
}
