public import Wire

/// An operating error of `ExchangeClient` (CONVENTIONS 5b): a code, a message and the number of attempts made.
///
/// Business refusals are never errors: an order the exchange refuses comes back as a `CommandResult` whose outcome
/// is `.rejected(reason)`.
public struct ExchangeClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The request cannot be sent: unknown symbol, or a participant other than the configured one. Nothing
        /// was sent on the network.
        case invalidRequest
        /// The configuration given to `init` is out of range (the message names the field).
        case invalidConfiguration
        /// No node led the shard within the retry budget (unknown leader hints, too many redirects, or
        /// `RetryLater(leaderTransferInProgress / shuttingDown)` every time).
        case noLeader
        /// No answer within `requestTimeout` on the last attempt.
        case timeout
        /// The TCP connection to the last node tried could not be opened.
        case connectionFailed
        /// The connection closed before the answer arrived. The command may or may not have executed; a retry with
        /// the same client order id tells (`CommandResult.isDuplicate`).
        case connectionLost
        /// `RetryLater(overloaded)` on every attempt, or more callers waiting for a request slot of one connection
        /// than `maxWaitingCallersPerConnection`.
        case overloaded
        /// The node answered with a `ProtocolError` frame of this code and closed the connection. Not retried: the
        /// same request would break the protocol again.
        case protocolError(ProtocolErrorCode)
        /// The node sent bytes this client cannot decode, or an answer of the wrong kind; the connection is closed.
        case malformedResponse
        /// The calling task was cancelled while backing off.
        case cancelled
        /// `shutdown()` was called.
        case shutdown
    }

    public var code: Code
    public var message: String
    /// Attempts made for the request (sends to a node, including redirects); 0 when nothing was sent.
    public var attempts: Int

    public init(_ code: Code, _ message: String, attempts: Int = 0) {
        self.code = code
        self.message = message
        self.attempts = attempts
    }

    public var description: String { "ExchangeClientError(\(code), attempts: \(attempts)): \(message)" }

    /// Failures after which the same request may be sent again (to another replica) without risk: the exchange
    /// de-duplicates by client order id.
    var isRetryable: Bool {
        switch code {
        case .timeout, .connectionFailed, .connectionLost: true
        default: false
        }
    }
}
