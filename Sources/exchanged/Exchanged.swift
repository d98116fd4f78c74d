import ArgumentParser

/// The exchange daemon.
@main
struct Exchanged: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchanged",
        abstract: "The exchange daemon.",
        discussion: """
            `node` runs one cluster node; `worker` one post-trade worker (clearing, settlement, ledger); `dev` the \
            whole cluster locally with PostgreSQL, a mock Kafka, the workers and trading bots; `kafka-mock` \
            librdkafka's mock Kafka cluster alone.
            """,
        subcommands: [
            NodeCommand.self, WorkerCommand.self, DevCommand.self, DevChildCommand.self, KafkaMockCommand.self,
        ])
}
