import ArgumentParser
import ClusterConfig
import ExchangeOps

/// `exchangectl reconcile`: executed vs cleared vs settled vs journaled, journal sums and balance conservation.
struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reconcile the post-trade pipeline against what the shards executed.",
        discussion: """
            Asks every shard how many trades it executed (GET /shards/{S}/state, outbox section) and whether its \
            publisher got everything to Kafka, then checks the workers' database: every executed trade cleared \
            (two legs), settled (four movements) and journaled exactly once, every journal nets to zero, balances \
            are conserved. Waits up to --wait seconds for trades in flight. Exit 0 when everything reconciles, \
            1 on any break, 64 bad arguments, 65/66 bad or unreadable config.
            """)

    @OptionGroup var config: ConfigOption

    @Option(name: .long, help: "libpq connection string of the post-trade database.")
    var postgres: String

    @Option(name: .long, help: "Seconds to wait for the pipeline to drain before reporting breaks. Range: 0...3600.")
    var wait: Int = 30

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard (0...3_600).contains(wait) else { throw ValidationError("--wait must be 0...3600") }
        guard !postgres.isEmpty else { throw ValidationError("--postgres must not be empty") }
    }

    func run() async throws {
        let definition = try config.load()
        let check = await PostTradeCheck.run(definition: definition, postgres: postgres, wait: .seconds(wait))
        if json {
            printJSON(try jsonBytes(check))
        } else {
            print(check.render())
        }
        if !check.passed { throw ExitCode(1) }
    }
}
