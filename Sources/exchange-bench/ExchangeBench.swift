import ArgumentParser

/// The one tool that runs the project's benchmark workloads (/work/shared/WORKLOADS.md).
///
/// Every workload prints a readable table, and with `--json` one JSON object on its last line
/// whose keys are fixed by WORKLOADS.md. Progress goes to standard error.
struct ExchangeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange-bench",
        abstract: "Runs the benchmark workloads of docs/PERFORMANCE.md.",
        discussion: """
            Implemented: w1 (matching), raft (consensus core), storage (write-ahead log on the real disk, \
            with W5), w5 (recovery). The other workloads of WORKLOADS.md (w2, w3, w4) will be \
            subcommands of this tool.
            """,
        subcommands: [W1Command.self, RaftCommand.self, StorageCommand.self, W5Command.self]
    )
}
