/// How a child process ended, decoded from a `waitpid` status.
public enum ProcessExitStatus: Sendable, Hashable, CustomStringConvertible {
    /// `exit(code)` or a return from main.
    case exited(code: Int32)
    /// Killed by a signal.
    case signaled(signal: Int32)

    /// Decodes `WIFEXITED`/`WEXITSTATUS`/`WTERMSIG` (macros that do not import into Swift).
    public init(waitStatus: Int32) {
        let termination = waitStatus & 0x7f
        if termination == 0 {
            self = .exited(code: (waitStatus >> 8) & 0xff)
        } else {
            self = .signaled(signal: termination)
        }
    }

    /// True for `exit(0)`.
    public var isSuccess: Bool { self == .exited(code: 0) }

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(ProcessExitStatus.signalName(signal)))"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case 1: "SIGHUP"
        case 2: "SIGINT"
        case 3: "SIGQUIT"
        case 4: "SIGILL"
        case 5: "SIGTRAP"
        case 6: "SIGABRT"
        case 7: "SIGBUS"
        case 8: "SIGFPE"
        case 9: "SIGKILL"
        case 11: "SIGSEGV"
        case 13: "SIGPIPE"
        case 15: "SIGTERM"
        default: "signal \(signal)"
        }
    }
}
