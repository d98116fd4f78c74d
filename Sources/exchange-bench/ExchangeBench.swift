import ArgumentParser

/// The one tool that runs the project's benchmark workloads (/work/shared/WORKLOADS.md).
///
/// Every workload prints a readable table, and with `--json` one JSON object on its last line
/// whose keys are fixed by WORKLOADS.md. Progress goes to standard error.
@main
struct ExchangeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange-bench",
        abstract: "Runs the benchmark workloads of docs/PERFORMANCE.md.",
        discussion: """
            Implemented: w1 (matching), raft (consensus core), storage (write-ahead log on the real disk, \
            with W5), w2 (one replicated shard of real processes), w3 (failover drill), w4 (post-trade pipeline), \
            w5 (recovery).
            """,
        subcommands: [
            W1Command.self, RaftCommand.self, StorageCommand.self, W2Command.self, W3Command.self, W4Command.self,
            W5Command.self,
        ]
    )
}
