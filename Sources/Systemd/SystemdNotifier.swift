import CSystemd
import Glibc

/// Tells systemd's service manager about this process through `sd_notify(3)`: readiness, a status
/// line for `systemctl status`, watchdog keep-alives and shutdown.
///
/// When the process was not started by systemd (no `NOTIFY_SOCKET` in the environment) every call
/// does nothing and returns false, so callers need no special case. Stateless, hence `Sendable`.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Whether systemd asked for notifications (`NOTIFY_SOCKET` is set).
    public var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// `READY=1`: start-up is complete (for `Type=notify` units). Optionally with a status line.
    @discardableResult
    public func ready(status: String? = nil) throws(SystemdError) -> Bool {
        try send(["READY=1"] + (status.map { ["STATUS=" + Self.oneLine($0)] } ?? []))
    }

    /// `STATUS=...`: a free-form line shown by `systemctl status`.
    @discardableResult
    public func status(_ text: String) throws(SystemdError) -> Bool {
        try send(["STATUS=" + Self.oneLine(text)])
    }

    /// `WATCHDOG=1`: the keep-alive. Send it at least every `watchdogInterval / 2`.
    @discardableResult
    public func watchdog() throws(SystemdError) -> Bool {
        try send(["WATCHDOG=1"])
    }

    /// `STOPPING=1`: a clean shutdown has begun.
    @discardableResult
    public func stopping(status: String? = nil) throws(SystemdError) -> Bool {
        try send(["STOPPING=1"] + (status.map { ["STATUS=" + Self.oneLine($0)] } ?? []))
    }

    /// The watchdog timeout systemd enforces for this process (`WatchdogSec=`), or nil when the
    /// watchdog is off or meant for another process.
    public var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds))
    }

    /// Sends `assignments` (each `KEY=value`, no newlines) as one datagram.
    /// - Returns: true when sent, false when systemd did not ask for notifications.
    public func send(_ assignments: [String]) throws(SystemdError) -> Bool {
        precondition(assignments.allSatisfy { !$0.contains("\n") && $0.contains("=") }, "malformed sd_notify line")
        let result = sd_notify(0, assignments.joined(separator: "\n"))
        if result < 0 {
            throw SystemdError(errno: -result, message: "sd_notify failed: " + String(cString: strerror(-result)))
        }
        return result > 0
    }

    /// Status lines must be one line: newlines become spaces.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}

/// `sd_notify` failed (for example, the notification socket is gone).
public struct SystemdError: Error, Sendable, Hashable, CustomStringConvertible {
    public var errno: Int32
    public var message: String

    public var description: String { "SystemdError(errno: \(errno)): \(message)" }
}
