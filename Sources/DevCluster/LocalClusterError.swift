/// An operating error of the local process supervisor: a process that could not be started or did not stop, a node
/// that died, a cluster that found no leader in time.
public struct LocalClusterError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The cluster definition could not be read or is invalid.
        case badDefinition
        /// The node id is not in the definition.
        case unknownNode
        /// A file or directory under the root could not be created or written.
        case fileSystem
        /// `posix_spawn` failed, or the `exchanged` binary was not found.
        case spawnFailed
        /// The node is already running (start) or not running (kill, pause, resume).
        case wrongState
        /// `kill(2)` failed.
        case signalFailed
        /// A process or a condition did not finish before its deadline.
        case timedOut
        /// A node process exited while the cluster was expected to be up.
        case nodeExited
        /// The wait was cancelled.
        case cancelled
    }

    public var code: Code
    public var message: String
    /// `errno` or the `posix_spawn` return value, when a system call failed.
    public var systemError: Int32?

    public init(code: Code, message: String, systemError: Int32? = nil) {
        self.code = code
        self.message = message
        self.systemError = systemError
    }

    public var description: String {
        if let systemError { return "\(code.rawValue): \(message) (errno \(systemError))" }
        return "\(code.rawValue): \(message)"
    }
}
