import ArgumentParser
import Foundation
import Kafka
import PostTrade

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `exchanged kafka-mock`: librdkafka's in-process mock Kafka cluster as a process, for tests and local runs.
///
/// Prints exactly one first line `bootstrap=<servers>` on stdout, then reads one command per line on stdin and
/// answers each with one line, `ok <command>` or `error <message>`:
/// - `down <broker id>` / `up <broker id>`: take a broker off the network and back;
/// - `topic <name> <partitions>`: create a topic (an existing one is left alone);
/// - `quit`: stop.
///
/// Exits 0 on `quit`, at the end of stdin, and on SIGTERM or SIGINT. (An `AsyncParsableCommand`, so a
/// `ParsableCommand`, whose blocking stdin loop runs on a dedicated thread.)
struct KafkaMockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-mock",
        abstract: "Run a mock Kafka cluster with every post-trade topic; control it on stdin.",
        discussion: """
            First stdout line: bootstrap=<host:port,...>. Commands on stdin, one per line: \
            down <id> | up <id> | topic <name> <partitions> | quit. Each is answered with `ok <command>` or \
            `error <message>`.
            """)

    @Option(help: "Number of mock brokers (1...16); broker ids are 1...n.")
    var brokers: Int = 3

    @Option(help: "Partitions of every topic in Topic.all (1...1000).")
    var partitions: Int = 4

    @Option(help: "Replication factor of created topics (1...brokers). Default: min(3, brokers).")
    var replicationFactor: Int?

    func validate() throws {
        // ValidationError exits with EX_USAGE (64).
        guard (1...16).contains(brokers) else {
            throw ValidationError("--brokers must be in 1...16, got \(brokers)")
        }
        guard (1...1000).contains(partitions) else {
            throw ValidationError("--partitions must be in 1...1000, got \(partitions)")
        }
        if let replicationFactor, !(1...brokers).contains(replicationFactor) {
            throw ValidationError("--replication-factor must be in 1...\(brokers), got \(replicationFactor)")
        }
    }

    /// The stdin loop blocks, so it runs on a thread of its own, never on the cooperative pool.
    func run() async throws {
        let brokers = brokers
        let partitions = Int32(partitions)
        let replication = Int32(replicationFactor ?? min(3, brokers))
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                continuation.resume(
                    with: Result {
                        try Self.serve(brokers: brokers, partitions: partitions, replicationFactor: replication)
                    })
            }
            thread.name = "kafka-mock-stdin"
            thread.start()
        }
    }

    private static func serve(brokers: Int, partitions: Int32, replicationFactor: Int32) throws {
        let cluster = try KafkaMockCluster(brokerCount: brokers)
        for topic in Topic.all {
            try cluster.createTopic(name: topic, partitions: partitions, replicationFactor: replicationFactor)
        }
        let signals = KafkaMockSignals(cluster: cluster)
        signals.install()

        KafkaMockOutput.line("bootstrap=\(cluster.bootstrapServers)")
        while let line = readLine(strippingNewline: true) {
            let command = line.trimmingCharacters(in: .whitespaces)
            if command.isEmpty { continue }
            if command == "quit" {
                KafkaMockOutput.line("ok quit")
                break
            }
            do {
                try execute(command, cluster: cluster, brokers: brokers, replicationFactor: replicationFactor)
                KafkaMockOutput.line("ok \(command)")
            } catch {
                KafkaMockOutput.line("error \(error)")
            }
        }
        withExtendedLifetime(signals) { cluster.close() }
    }

    struct CommandError: Error, CustomStringConvertible {
        var description: String
    }

    static func execute(
        _ command: String, cluster: KafkaMockCluster, brokers: Int, replicationFactor: Int32
    ) throws {
        let words = command.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        switch (words.first, words.count) {
        case ("down", 2), ("up", 2):
            guard let id = Int32(words[1]), (1...Int32(brokers)).contains(id) else {
                throw CommandError(description: "broker id must be in 1...\(brokers), got '\(words[1])'")
            }
            if words[0] == "down" { try cluster.setBrokerDown(id) } else { try cluster.setBrokerUp(id) }
        case ("topic", 3):
            guard let count = Int32(words[2]), (1...1000).contains(count), !words[1].isEmpty else {
                throw CommandError(description: "partitions must be in 1...1000, got '\(words[2])'")
            }
            try cluster.createTopic(name: words[1], partitions: count, replicationFactor: replicationFactor)
        default:
            throw CommandError(
                description:
                    "unknown command '\(command)'; expected down <id>, up <id>, topic <name> <partitions>, quit")
        }
    }
}

/// Line output that reaches a pipe at once.
private enum KafkaMockOutput {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}

/// SIGTERM/SIGINT: close the cluster and exit 0. Handled on a dispatch queue, not in a signal handler.
/// Keep the instance alive while the command runs: it owns the dispatch sources.
private final class KafkaMockSignals {
    private let cluster: KafkaMockCluster
    private let sources: [any DispatchSourceSignal]

    init(cluster: KafkaMockCluster) {
        self.cluster = cluster
        let queue = DispatchQueue(label: "exchanged.kafka-mock.signals")
        self.sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
    }

    func install() {
        for source in sources {
            signal(Int32(source.handle), SIG_IGN)
            source.setEventHandler { [cluster] in
                cluster.close()
                exit(0)
            }
            source.resume()
        }
    }
}
