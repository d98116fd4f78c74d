/// An operating error of an operator tool call: a stable `code`, a human-readable message and, for HTTP calls,
/// the status and body the node answered with.
///
/// Business outcomes (a violation found by `verify`) are data in reports, never `OpsError`s.
public struct OpsError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// Stable codes; scripts may match on their raw values.
    public enum Code: String, Sendable, Hashable, Codable, CaseIterable {
        /// Nothing listens on the address (ECONNREFUSED).
        case connectionRefused = "connection_refused"
        /// Any other failure to connect (DNS, unreachable network...).
        case connectionFailed = "connection_failed"
        /// No complete answer within the deadline.
        case timeout
        /// The connection closed before the response was complete, or the response was not valid HTTP.
        case connectionClosed = "connection_closed"
        /// The node answered with a status other than the one expected; `httpStatus` and `body` say which.
        case badStatus = "bad_status"
        /// The response body could not be decoded.
        case malformedResponse = "malformed_response"
        /// The response was larger than the client accepts.
        case responseTooLarge = "response_too_large"
        /// The cluster configuration could not be read or is invalid.
        case configuration
        /// The ack log could not be read or is malformed.
        case ackLog = "ack_log"
        /// The shard is not defined in the cluster configuration, or the node hosts no replica of it.
        case unknownShard = "unknown_shard"
        /// The node is not defined, or not a replica of the shard.
        case notReplica = "not_replica"
        /// No replica of the shard reports a leader.
        case noLeader = "no_leader"
        /// A call argument is out of range.
        case invalidArgument = "invalid_argument"
        /// The leader refused the transfer (`not_leader`, `invalid_target`).
        case transferRefused = "transfer_refused"
        /// The transfer ran, but a newer term has another leader than the target (e.g. the primary, which takes
        /// leadership back when it is healthy and caught up).
        case transferSuperseded = "transfer_superseded"
        /// The task was cancelled.
        case cancelled
    }

    public var code: Code
    public var message: String
    /// The HTTP status of a `badStatus` answer.
    public var httpStatus: Int?
    /// The body of a `badStatus` answer (at most 4 KiB of it, as text).
    public var body: String?

    public init(_ code: Code, _ message: String, httpStatus: Int? = nil, body: String? = nil) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.body = body
    }

    public var description: String {
        var text = "\(message) [\(code.rawValue)]"
        if let httpStatus { text += " HTTP \(httpStatus)" }
        if let body, !body.isEmpty { text += ": \(body)" }
        return text
    }
}
