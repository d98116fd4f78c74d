import ArgumentParser
import ClusterConfig
import ExchangeClient
import ExchangeOps

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `exchangectl`: the operator CLI. Read commands take `--json`.
///
/// Exit codes: 0 success; 1 the cluster is not healthy / verification failed / the operation failed;
/// 64 bad arguments; 65 malformed config or ack log; 66 unreadable config or ack log.
@main
struct ExchangeCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchangectl",
        abstract: "Operate an exchange cluster.",
        subcommands: [Status.self, TransferLeader.self, Verify.self, Reconcile.self])
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The cluster definition (YAML).")
    var config: String = "cluster-config/local.yaml"

    /// Loads the definition, or prints the error and exits 66 (unreadable) or 65 (malformed).
    func load() throws -> ClusterDefinition {
        do {
            return try ClusterDefinition.load(path: config)
        } catch {
            printError("exchangectl: \(error)")
            throw ExitCode(error.code == .unreadableFile ? 66 : 65)
        }
    }
}

func printError(_ text: String) {
    var standardError = StandardError()
    print(text, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        _ = string.withCString { fputs($0, stderr) }
    }
}

func printJSON(_ bytes: [UInt8]) {
    print(String(decoding: bytes, as: UTF8.self))
}

func jsonBytes(_ value: some Encodable) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    return Array(try encoder.encode(value))
}

func seconds(_ value: Double, _ name: String) throws -> Duration {
    guard value > 0, value <= 86_400 else { throw ValidationError("--\(name) must be in (0, 86400] seconds") }
    return .milliseconds(Int64(value * 1_000))
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One row per replica: roles, term, leader, indices, lag, state.",
        discussion: "Exit 0 when every node answered and every shard has exactly one leader in its highest term.")

    @OptionGroup var options: ConfigOption
    @Flag(help: "Print one JSON object instead of the table.") var json = false
    @Option(help: "Seconds to wait for each node.") var timeout: Double = 2

    func run() async throws {
        let timeout = try seconds(timeout, "timeout")
        let definition = try options.load()
        let report = await fetchClusterStatus(definition, timeout: timeout)
        if json {
            printJSON(try report.jsonBytes(pretty: true))
        } else {
            print(StatusTable.render(report), terminator: "")
        }
        if !report.isHealthy { throw ExitCode(1) }
    }
}

struct TransferLeader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer-leader", abstract: "Move a shard's leadership to another voter and wait for it.")

    @OptionGroup var options: ConfigOption
    @Option(help: "The shard id.") var shard: UInt32
    @Option(help: "The node id that should lead the shard.") var to: UInt64
    @Option(help: "Seconds to wait for the new leader.") var timeout: Double = 10
    @Flag(help: "Print the result as JSON.") var json = false

    func run() async throws {
        let timeout = try seconds(timeout, "timeout")
        let definition = try options.load()
        do {
            let result = try await transferLeadership(definition: definition, shard: shard, to: to, timeout: timeout)
            if json {
                printJSON(try jsonBytes(result))
            } else if result.alreadyLeader {
                print("node \(to) already leads shard \(shard); nothing done")
            } else {
                let elapsed = result.elapsedMilliseconds
                print("shard \(shard): leadership moved from node \(result.from) to node \(to) in \(elapsed) ms")
            }
        } catch let error as OpsError {
            printError("exchangectl: transfer-leader: \(error)")
            throw ExitCode(1)
        }
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every acknowledged command against every replica's audit trail and state hash.",
        discussion: "Stop the load first. Exit 0 only if there is no violation and every replica answered.")

    @OptionGroup var options: ConfigOption
    @Option(help: "The ack log written by exchange-load.") var acks: String
    @Option(help: "Seconds to wait for the cluster to become quiescent.") var timeout: Double = 30
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        let timeout = try seconds(timeout, "timeout")
        let records: [AckRecord]
        do {
            records = try AckLog.read(path: acks)
        } catch {
            printError("exchangectl: \(error)")
            throw ExitCode(error.line == 0 && error.message.hasPrefix("cannot") ? 66 : 65)
        }
        let definition = try options.load()
        let report = await Verifier.fetchAndCheck(definition: definition, acks: records, timeout: timeout)
        if json {
            printJSON(try jsonBytes(VerifyOutput(report)))
        } else {
            print(report.render(), terminator: "")
        }
        if !report.passed { throw ExitCode(1) }
    }
}

/// The JSON of `verify`: the report plus `passed`.
struct VerifyOutput: Encodable {
    var passed: Bool
    var report: VerifyReport

    init(_ report: VerifyReport) {
        passed = report.passed
        self.report = report
    }
}
