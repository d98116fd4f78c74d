import ArgumentParser
import ClusterConfig
import Dispatch
import ExchangeClient
import LoadGenerator
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Darwin)
    @preconcurrency import Darwin
#endif

/// `exchange-load`: trading bots against a cluster; prints a summary (and with `--json` the `LoadSummary` as the
/// last line) and writes every acknowledgement to `--acks`. Ctrl-C stops early and still reports.
@main
struct ExchangeLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange-load",
        abstract: "Drive a cluster with trading bots (W1a mix) and record every acknowledgement.",
        discussion: """
            Closed loop (--closed N, the default with 16): N commands in flight across the bots.
            Open loop (--rate R): R commands started per second whatever the answers; latency counts from each
            command's intended start. Ctrl-C stops early; the summary is still printed and the ack log flushed.
            """)

    @Option(name: .long, help: "The cluster definition (YAML), e.g. cluster-config/local.yaml.")
    var config: String

    @Option(name: .long, help: "Closed loop: commands in flight in total (1...65536). Default: 16.")
    var closed: Int?

    @Option(name: .long, help: "Open loop: commands started per second (1...10000000).")
    var rate: Int?

    @Option(name: .long, help: "Seconds to send for (may be fractional). Default: 10.")
    var duration: Double = 10

    @Option(name: .long, help: "Stop after this many commands were started.")
    var commands: Int?

    @Option(name: .long, help: "Bots; bot i trades as participant i. Default: 8.")
    var participants: Int = 8

    @Option(name: .long, help: "Seed of the bots' order flows. Default: 1.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Comma-separated symbols to trade. Default: every symbol of the definition.")
    var symbols: String?

    @Option(name: .long, help: "Write every acknowledgement to this file (ack log v1).")
    var acks: String?

    @Flag(name: .long, help: "Print the summary as one JSON object on the last line too.")
    var json = false

    @Flag(name: .long, help: "No progress lines on standard error.")
    var quiet = false

    func validate() throws {
        _ = try makeOptions()
    }

    /// The generator's options from the arguments; every range error is a `ValidationError` (exit code 64).
    func makeOptions() throws -> LoadOptions {
        if closed != nil && rate != nil { throw ValidationError("give either --closed or --rate, not both") }
        guard duration.isFinite, duration > 0, duration <= 7 * 86_400 else {
            throw ValidationError("--duration \(duration) must be more than 0 and at most 604800 seconds")
        }
        let mode: LoadMode = rate.map { .open(commandsPerSecond: $0) } ?? .closed(outstanding: closed ?? 16)
        var symbolList: [String]?
        if let symbols {
            symbolList = symbols.split(separator: ",").map { String($0).trimmingSpaces }
            if symbolList!.isEmpty || symbolList!.contains(where: \.isEmpty) {
                throw ValidationError("--symbols '\(symbols)' must be a comma-separated list of symbols")
            }
        }
        let options = LoadOptions(
            mode: mode, duration: .nanoseconds(Int64(duration * 1e9)), maxCommands: commands,
            participants: participants, seed: seed, symbols: symbolList, ackLogPath: acks)
        do {
            try options.validate()
        } catch {
            throw ValidationError(error.message)
        }
        return options
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .notice
            return handler
        }
        let logger = Logger(label: "exchange.load")
        let definition: ClusterDefinition
        do {
            definition = try ClusterDefinition.load(path: config)
        } catch {
            throw ValidationError("--config \(config): \(error)")
        }
        let options = try makeOptions()
        let generator: LoadGenerator
        do {
            generator = try LoadGenerator(cluster: definition, options: options, logger: logger)
        } catch {
            throw ValidationError(error.description)
        }

        // Ctrl-C (and SIGTERM): stop starting commands; the run drains and reports. A second one exits at once.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let signalQueue = DispatchQueue(label: "exchange.load.signals")
        let interrupts = InterruptCounter()
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler {
                if interrupts.increment() > 1 {
                    fputs("exchange-load: interrupted again, exiting without a summary\n", stderr)
                    Self.exitNow(130)
                }
                fputs("exchange-load: stopping (Ctrl-C again to exit at once)\n", stderr)
                generator.stop()
            }
            source.resume()
            sources.append(source)
        }
        var progressTimer: (any DispatchSourceTimer)?
        if !quiet && isatty(STDERR_FILENO) != 0 {
            let timer = DispatchSource.makeTimerSource(queue: signalQueue)
            timer.schedule(deadline: .now() + .seconds(1), repeating: .seconds(1))
            timer.setEventHandler {
                let progress = generator.progress
                fputs(
                    "sent \(progress.sent)  acknowledged \(progress.acknowledged)  failed \(progress.failed)\n",
                    stderr)
            }
            timer.resume()
            progressTimer = timer
        }

        let summary: LoadSummary
        do {
            summary = try await generator.run()
        } catch {
            throw ValidationError(error.description)
        }
        progressTimer?.cancel()
        for source in sources { source.cancel() }

        print(Self.describe(summary, options: generator.options))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(summary)
            print(String(decoding: data, as: UTF8.self))
        }
        fflush(stdout)
    }

    static func exitNow(_ code: Int32) -> Never {
        #if canImport(Glibc)
            Glibc.exit(code)
        #else
            Darwin.exit(code)
        #endif
    }

    /// The readable summary.
    static func describe(_ summary: LoadSummary, options: LoadOptions) -> String {
        func milliseconds(_ nanoseconds: UInt64) -> String { fixed(Double(nanoseconds) / 1e6, 3) + " ms" }
        func counts(_ table: [String: Int]) -> String {
            guard !table.isEmpty else { return "none" }
            return table.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        let mode =
            switch options.mode {
            case .closed(let outstanding): "closed loop, \(outstanding) outstanding"
            case .open(let rate): "open loop, \(rate) commands/s"
            }
        let latency = summary.latencyNanoseconds
        let answers =
            "accepted \(summary.accepted), rejected \(summary.rejected), duplicates \(summary.duplicates)"
        let percentiles =
            "p50 \(milliseconds(latency.p50))  p99 \(milliseconds(latency.p99))  "
            + "p99.9 \(milliseconds(latency.p999))  max \(milliseconds(latency.max))"
        return """
            exchange-load: \(mode), \(options.participants) bots, seed \(options.seed)
              sent          \(summary.sent)
              acknowledged  \(summary.acknowledged) (\(answers))
              failed        \(summary.failed)
              fills         \(summary.fills)
              rejected by   \(counts(summary.rejectedByReason))
              failed by     \(counts(summary.failedByCode))
              elapsed       \(fixed(summary.elapsedSeconds, 3)) s
              throughput    \(fixed(summary.throughputPerSecond, 1)) acks/s
              latency       \(percentiles)
            """
    }

    /// `value` with `digits` decimals, without Foundation's formatters.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        var fraction = String(Int(scaled - Double(whole) * scale))
        while fraction.count < digits { fraction = "0" + fraction }
        return (value < 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + fraction : "")
    }
}

/// Counts interrupts; touched from the signal queue only, locked anyway because the handler closure is `@Sendable`.
final class InterruptCounter: @unchecked Sendable {
    // @unchecked Sendable: `count` is guarded by `lock`.
    private var count = 0
    private let lock = NSLockLike()

    func increment() -> Int {
        lock.withLock {
            count += 1
            return count
        }
    }
}

/// A pthread mutex (FoundationEssentials has no NSLock).
final class NSLockLike: @unchecked Sendable {
    // @unchecked Sendable: a pthread mutex is thread-safe by definition.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
