import Foundation

/// The runner's shared signals: stop requests, "new outbox rows" wake-ups and thread completion.
/// One `NSCondition` guards them all; every wait except ``join(_:)`` is bounded by a deadline.
///
/// `@unchecked Sendable`: all mutable state is read and written under `condition`.
final class RunnerControl: @unchecked Sendable {
    private let condition = NSCondition()
    private var consumeStopRequested = false
    private var relayStopRequested = false
    private var outboxGeneration: UInt64 = 0
    private var finishedThreads: Set<String> = []

    var isConsumeStopRequested: Bool { locked { consumeStopRequested } }
    var isRelayStopRequested: Bool { locked { relayStopRequested } }
    var currentOutboxGeneration: UInt64 { locked { outboxGeneration } }

    func requestConsumeStop() { signalling { consumeStopRequested = true } }
    func requestRelayStop() { signalling { relayStopRequested = true } }

    /// The consume thread committed new outbox rows.
    func outboxChanged() { signalling { outboxGeneration &+= 1 } }

    func threadFinished(_ name: String) { signalling { _ = finishedThreads.insert(name) } }

    /// Waits until thread `name` called ``threadFinished(_:)``.
    func join(_ name: String) {
        condition.lock()
        defer { condition.unlock() }
        while !finishedThreads.contains(name) { condition.wait() }
    }

    /// Waits until the outbox generation differs from `seen`, a relay stop is requested, or `timeout` passed.
    func waitForOutbox(after seen: UInt64, timeout: Duration) {
        let deadline = Date(timeIntervalSinceNow: timeout.seconds)
        condition.lock()
        defer { condition.unlock() }
        while outboxGeneration == seen, !relayStopRequested {
            if !condition.wait(until: deadline) { return }
        }
    }

    /// Backoff sleep that ends early when `stopRequested` turns true.
    func backoff(_ duration: Duration, until stopRequested: (RunnerControl) -> Bool) {
        let deadline = Date(timeIntervalSinceNow: duration.seconds)
        condition.lock()
        defer { condition.unlock() }
        while !stopRequested(self) {
            if !condition.wait(until: deadline) { return }
        }
    }

    /// Predicates for ``backoff(_:until:)``, read with the lock already held.
    static let consumeStop: @Sendable (RunnerControl) -> Bool = { $0.consumeStopRequested }
    static let relayStop: @Sendable (RunnerControl) -> Bool = { $0.relayStopRequested }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    /// Changes state and wakes every waiter.
    private func signalling(_ body: () -> Void) {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        body()
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    func doubled(max: Duration) -> Duration { Swift.min(self * 2, max) }
}
