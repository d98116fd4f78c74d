import ArgumentParser

/// The exchange daemon.
@main
struct Exchanged: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchanged",
        abstract: "The exchange daemon.",
        discussion: "`node` runs one cluster node. `dev` (the whole local cluster) and the workers come next.",
        subcommands: [NodeCommand.self])
}
