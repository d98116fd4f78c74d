/// Latency percentiles of a run, in nanoseconds (HdrHistogram, 3 significant digits). All 0 when nothing was
/// acknowledged.
public struct LatencySummary: Sendable, Codable, Hashable {
    public var p50: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64

    public init(p50: UInt64 = 0, p99: UInt64 = 0, p999: UInt64 = 0, max: UInt64 = 0) {
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }
}

/// What a run did. At the end of `run()`, `sent == acknowledged + failed` and
/// `acknowledged == accepted + rejected`; `duplicates` and `fills` are parts of `acknowledged`' answers.
public struct LoadSummary: Sendable, Codable, Hashable {
    /// Commands the generator issued: handed to a client, or (open loop) due but refused locally because
    /// `openLoopInFlightMax` were in flight (those count as failed `overloaded`).
    public var sent: Int
    /// Commands answered by the exchange (accepted or rejected, duplicate or not); each is a line of the ack log.
    public var acknowledged: Int
    public var accepted: Int
    public var rejected: Int
    /// Acknowledgements that were the remembered outcome of an earlier attempt (`CommandResult.isDuplicate`).
    public var duplicates: Int
    /// Commands that got no answer: the client's error after its retry budget (or a local refusal).
    public var failed: Int
    /// Fills reported in the answers.
    public var fills: Int
    /// Rejections by `RejectReason` name, e.g. `staleClientOrderID` (expected after a failover retry).
    public var rejectedByReason: [String: Int]
    /// Failures by `ExchangeClientError.Code` name, e.g. `timeout`, `overloaded`.
    public var failedByCode: [String: Int]
    /// From the first command to the last answer (or the end of the drain).
    public var elapsedSeconds: Double
    /// `acknowledged / elapsedSeconds`.
    public var throughputPerSecond: Double
    /// From send (closed loop) or intended start (open loop) to acknowledgement.
    public var latencyNanoseconds: LatencySummary

    public init(
        sent: Int = 0, acknowledged: Int = 0, accepted: Int = 0, rejected: Int = 0, duplicates: Int = 0,
        failed: Int = 0, fills: Int = 0, rejectedByReason: [String: Int] = [:], failedByCode: [String: Int] = [:],
        elapsedSeconds: Double = 0, throughputPerSecond: Double = 0, latencyNanoseconds: LatencySummary = .init()
    ) {
        self.sent = sent
        self.acknowledged = acknowledged
        self.accepted = accepted
        self.rejected = rejected
        self.duplicates = duplicates
        self.failed = failed
        self.fills = fills
        self.rejectedByReason = rejectedByReason
        self.failedByCode = failedByCode
        self.elapsedSeconds = elapsedSeconds
        self.throughputPerSecond = throughputPerSecond
        self.latencyNanoseconds = latencyNanoseconds
    }
}

/// Counts so far, for a live display.
public struct LoadProgress: Sendable, Hashable {
    public var sent: Int
    public var acknowledged: Int
    public var failed: Int

    public init(sent: Int = 0, acknowledged: Int = 0, failed: Int = 0) {
        self.sent = sent
        self.acknowledged = acknowledged
        self.failed = failed
    }
}
