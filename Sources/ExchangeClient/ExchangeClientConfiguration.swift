public import ExchangeCore

/// Options of an `ExchangeClient`. Every field has a `Default:` and a checked `Range:`; `validate()` checks them
/// and `ExchangeClient.init` calls it.
public struct ExchangeClientConfiguration: Sendable, Hashable {
    /// When set, the client refuses (`invalidRequest`, nothing sent) any command whose participant differs, and
    /// `orderStatus` uses it by default. Gateways that trade for many participants leave it nil.
    /// Default: nil. Range: nil or 1...UInt32.max.
    public var participant: ParticipantID?
    /// Requests in flight on one node connection (sent, not yet answered, including answers that timed out but
    /// may still arrive: the node still counts them). A caller beyond it suspends until an answer frees a slot.
    /// Must not exceed the node's own per-connection limit (exceeding that is protocol error 100).
    /// Default: 64. Range: 1...65_536.
    public var maxOutstandingRequestsPerConnection: Int
    /// Callers that may wait for a request slot of one connection; one more gets `overloaded` at once, so the
    /// waiting queue is bounded too. Default: 4_096. Range: 0...1_000_000.
    public var maxWaitingCallersPerConnection: Int
    /// How long one attempt waits for its answer after the request was written. Default: 5 s.
    /// Range: 1 ms...10 min.
    public var requestTimeout: Duration
    /// How long opening a TCP connection may take. Default: 2 s. Range: 1 ms...10 min.
    public var connectTimeout: Duration
    /// Failed attempts (connection failure or loss, timeout, `RetryLater`, a `NotLeader` without a usable hint)
    /// retried before the request fails; 0 = never retry. Default: 8. Range: 0...1_000.
    public var retryBudget: Int
    /// `NotLeader` redirects followed per request (they do not use the retry budget: a good hint is not a
    /// failure). Default: 8. Range: 0...1_000.
    public var maxRedirects: Int
    /// Pause before the first retry; doubled on each further retry up to `backoffMax`, then jittered down by up
    /// to half. Default: 10 ms. Range: 0...`backoffMax`.
    public var backoffInitial: Duration
    /// Longest pause between retries. Default: 500 ms. Range: 0...1 min.
    public var backoffMax: Duration

    public init(
        participant: ParticipantID? = nil, maxOutstandingRequestsPerConnection: Int = 64,
        maxWaitingCallersPerConnection: Int = 4_096, requestTimeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(2), retryBudget: Int = 8, maxRedirects: Int = 8,
        backoffInitial: Duration = .milliseconds(10), backoffMax: Duration = .milliseconds(500)
    ) {
        self.participant = participant
        self.maxOutstandingRequestsPerConnection = maxOutstandingRequestsPerConnection
        self.maxWaitingCallersPerConnection = maxWaitingCallersPerConnection
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.retryBudget = retryBudget
        self.maxRedirects = maxRedirects
        self.backoffInitial = backoffInitial
        self.backoffMax = backoffMax
    }

    /// - Throws: `invalidConfiguration` naming the first field out of range.
    public func validate() throws(ExchangeClientError) {
        func check(_ ok: Bool, _ message: String) throws(ExchangeClientError) {
            if !ok { throw ExchangeClientError(.invalidConfiguration, message) }
        }
        try check(participant.map { $0.rawValue != 0 } ?? true, "participant must not be 0")
        try check(
            (1...65_536).contains(maxOutstandingRequestsPerConnection),
            "maxOutstandingRequestsPerConnection \(maxOutstandingRequestsPerConnection) is outside 1...65536")
        try check(
            (0...1_000_000).contains(maxWaitingCallersPerConnection),
            "maxWaitingCallersPerConnection \(maxWaitingCallersPerConnection) is outside 0...1000000")
        try check(
            (Duration.milliseconds(1)...Duration.seconds(600)).contains(requestTimeout),
            "requestTimeout \(requestTimeout) is outside 1 ms...10 min")
        try check(
            (Duration.milliseconds(1)...Duration.seconds(600)).contains(connectTimeout),
            "connectTimeout \(connectTimeout) is outside 1 ms...10 min")
        try check((0...1_000).contains(retryBudget), "retryBudget \(retryBudget) is outside 0...1000")
        try check((0...1_000).contains(maxRedirects), "maxRedirects \(maxRedirects) is outside 0...1000")
        try check(
            (Duration.zero...Duration.seconds(60)).contains(backoffMax), "backoffMax \(backoffMax) is outside 0...1 min"
        )
        try check(
            (Duration.zero...backoffMax).contains(backoffInitial),
            "backoffInitial \(backoffInitial) is outside 0...backoffMax")
    }

    /// The pause before retry number `retry` (from 1): `backoffInitial * 2^(retry-1)`, capped at `backoffMax`,
    /// then a uniformly random part of up to half of it removed so that clients do not retry in lockstep.
    func backoff(retry: Int, using random: inout some RandomNumberGenerator) -> Duration {
        precondition(retry >= 1)
        var delay = backoffInitial
        var step = 1
        while step < retry && delay < backoffMax {
            delay = delay * 2
            step += 1
        }
        let cappedNanoseconds = min(delay, backoffMax).nanoseconds
        guard cappedNanoseconds > 1 else { return .nanoseconds(cappedNanoseconds) }
        let jitter = Int64.random(in: 0...(cappedNanoseconds / 2), using: &random)
        return .nanoseconds(cappedNanoseconds - jitter)
    }
}

extension Duration {
    /// Whole nanoseconds (saturating at `Int64.max`).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled + attoseconds / 1_000_000_000
    }
}
