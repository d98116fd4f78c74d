import Dispatch
import ExchangeClient
import Histogram
import Matching
import NIOConcurrencyHelpers
import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `CLOCK_MONOTONIC` in nanoseconds: the clock of latencies, open-loop schedules and `onAck`.
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Microseconds since the Unix epoch: the base of a run's client order ids, so that a later run of the same
/// participants starts above every id an earlier run used.
func wallClockMicroseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1_000
}

/// The stable name of a client error code in `LoadSummary.failedByCode`.
func failureName(_ code: ExchangeClientError.Code) -> String {
    switch code {
    case .invalidRequest: "invalidRequest"
    case .invalidConfiguration: "invalidConfiguration"
    case .noLeader: "noLeader"
    case .timeout: "timeout"
    case .connectionFailed: "connectionFailed"
    case .connectionLost: "connectionLost"
    case .overloaded: "overloaded"
    case .protocolError(let error): "protocolError(\(error))"
    case .malformedResponse: "malformedResponse"
    case .cancelled: "cancelled"
    case .shutdown: "shutdown"
    }
}

/// Writes ack records on a dedicated serial queue, so that no `fputs` or `fflush` runs on the cooperative pool.
///
/// `@unchecked Sendable`: the `AckLogWriter` (not thread-safe) is only touched by blocks on `queue`.
final class AckLogSink: @unchecked Sendable {
    private let writer: AckLogWriter
    private let queue: DispatchQueue

    init(path: String) throws(LoadGeneratorError) {
        do {
            writer = try AckLogWriter(path: path)
        } catch {
            throw LoadGeneratorError(.ackLog, error.description)
        }
        queue = DispatchQueue(label: "exchange.load.ack-log")
    }

    /// Queues `records` for writing, after every batch queued before.
    func write(_ records: [AckRecord]) {
        queue.async { [self] in
            for record in records { self.writer.append(record) }
        }
    }

    /// Waits until every queued batch is written and the file is flushed.
    func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                self.writer.flush()
                continuation.resume()
            }
        }
    }
}

/// The counters, latency histogram and ack buffer of a run, behind one lock (taken once per command answer).
final class LoadRecorder: Sendable {
    /// Ack records buffered before they go to the ack log's queue in one batch.
    static let ackBatchCountMax = 512
    /// Latencies above it are recorded as it (1 hour in ns).
    static let latencyNanosecondsMax: UInt64 = 3_600_000_000_000

    struct State {
        var summary = LoadSummary()
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: LoadRecorder.latencyNanosecondsMax,
            numberOfSignificantValueDigits: .three)
        var pendingAcks: [AckRecord] = []
        var inFlight = 0
        var isStopped = false
        var isRunning = false
        var maxCommands: Int?
    }

    private let state: NIOLockedValueBox<State>
    private let sink: AckLogSink?

    init(sink: AckLogSink?, maxCommands: Int?) {
        self.sink = sink
        var initial = State()
        initial.maxCommands = maxCommands
        if sink != nil { initial.pendingAcks.reserveCapacity(Self.ackBatchCountMax) }
        state = NIOLockedValueBox(initial)
    }

    /// Marks the recorder running; false when it already was (a generator runs once).
    func beginRun() -> Bool {
        state.withLockedValue { state in
            if state.isRunning { return false }
            state.isRunning = true
            return true
        }
    }

    /// Stops further starts; true the first time.
    @discardableResult
    func stop() -> Bool {
        state.withLockedValue { state in
            defer { state.isStopped = true }
            return !state.isStopped
        }
    }

    var isStopped: Bool { state.withLockedValue { $0.isStopped } }

    /// Reserves the start of one command: false once stopped or when `maxCommands` were issued (then it also
    /// stops). `inFlightMax`: refuse (counting a failed `overloaded`) when that many are in flight.
    enum Start { case go, refused, end }

    func reserveStart(inFlightMax: Int = .max) -> Start {
        state.withLockedValue { state in
            if state.isStopped { return .end }
            if let maxCommands = state.maxCommands, state.summary.sent >= maxCommands {
                state.isStopped = true
                return .end
            }
            state.summary.sent += 1
            if state.inFlight >= inFlightMax {
                state.summary.failed += 1
                state.summary.failedByCode["overloaded", default: 0] += 1
                return .refused
            }
            state.inFlight += 1
            return .go
        }
    }

    func acknowledged(_ record: AckRecord, result: CommandResult, latencyNanoseconds: UInt64) {
        state.withLockedValue { state in
            state.inFlight -= 1
            state.summary.acknowledged += 1
            switch result.outcome {
            case .accepted:
                state.summary.accepted += 1
            case .rejected(let reason):
                state.summary.rejected += 1
                state.summary.rejectedByReason["\(reason)", default: 0] += 1
            }
            if result.isDuplicate { state.summary.duplicates += 1 }
            state.summary.fills += result.fills.count
            _ = state.histogram.record(min(max(latencyNanoseconds, 1), Self.latencyNanosecondsMax))
            guard let sink else { return }
            state.pendingAcks.append(record)
            guard state.pendingAcks.count >= Self.ackBatchCountMax else { return }
            // Handed to the serial queue under the lock, so batches are written in the order they were cut.
            sink.write(state.pendingAcks)
            state.pendingAcks.removeAll(keepingCapacity: true)
        }
    }

    func failed(_ code: ExchangeClientError.Code) {
        state.withLockedValue { state in
            state.inFlight -= 1
            state.summary.failed += 1
            state.summary.failedByCode[failureName(code), default: 0] += 1
        }
    }

    var progress: LoadProgress {
        state.withLockedValue {
            LoadProgress(sent: $0.summary.sent, acknowledged: $0.summary.acknowledged, failed: $0.summary.failed)
        }
    }

    /// Writes the buffered acks and flushes the ack log.
    func flush() async {
        guard let sink else { return }
        state.withLockedValue { state in
            if !state.pendingAcks.isEmpty {
                sink.write(state.pendingAcks)
                state.pendingAcks.removeAll(keepingCapacity: true)
            }
        }
        await sink.flush()
    }

    /// The summary so far, with `elapsedNanoseconds` as the run's length.
    func summary(elapsedNanoseconds: UInt64) -> LoadSummary {
        state.withLockedValue { state in
            var summary = state.summary
            summary.elapsedSeconds = Double(elapsedNanoseconds) / 1e9
            summary.throughputPerSecond =
                summary.elapsedSeconds > 0 ? Double(summary.acknowledged) / summary.elapsedSeconds : 0
            if state.histogram.totalCount > 0 {
                summary.latencyNanoseconds = LatencySummary(
                    p50: state.histogram.valueAtPercentile(50), p99: state.histogram.valueAtPercentile(99),
                    p999: state.histogram.valueAtPercentile(99.9), max: state.histogram.max)
            }
            return summary
        }
    }
}
