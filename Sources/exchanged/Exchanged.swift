import ArgumentParser

/// The exchange daemon.
@main
struct Exchanged: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchanged",
        abstract: "The exchange daemon.",
        discussion:
            "`node` runs one cluster node; `dev` runs the whole cluster locally with trading bots. The workers come next.",
        subcommands: [NodeCommand.self, WorkerCommand.self, DevCommand.self, DevChildCommand.self, KafkaMockCommand.self])
}
