import ClusterConfig
import ExchangeClient
import Testing

@testable import LoadGenerator

/// One invalid option set and the field its error must name (shown by name in the test report).
struct InvalidOptions: Sendable, CustomTestStringConvertible {
    var options: LoadOptions
    var field: String
    var testDescription: String { field }

    init(_ options: LoadOptions, _ field: String) {
        self.options = options
        self.field = field
    }
}

@Suite struct LoadOptionsTests {
    @Test func defaultsAreValid() throws {
        try LoadOptions().validate()
        try LoadOptions(mode: .open(commandsPerSecond: 1_000), maxCommands: 1, participants: 1).validate()
    }

    @Test(arguments: [
        InvalidOptions(LoadOptions(mode: .closed(outstanding: 0)), "outstanding"),
        InvalidOptions(LoadOptions(mode: .closed(outstanding: 65_537)), "outstanding"),
        InvalidOptions(LoadOptions(mode: .open(commandsPerSecond: 0)), "rate"),
        InvalidOptions(LoadOptions(duration: .zero), "duration"),
        InvalidOptions(LoadOptions(duration: .seconds(-1)), "duration"),
        InvalidOptions(LoadOptions(maxCommands: 0), "maxCommands"),
        InvalidOptions(LoadOptions(participants: 0), "participants"),
        InvalidOptions(LoadOptions(participants: 10_001), "participants"),
        InvalidOptions(LoadOptions(symbols: []), "symbols"),
        InvalidOptions(LoadOptions(symbols: ["AAPL", "AAPL"]), "twice"),
        InvalidOptions(LoadOptions(ackLogPath: ""), "ackLogPath"),
        InvalidOptions(LoadOptions(client: ExchangeClientConfiguration(retryBudget: -1)), "retryBudget"),
    ])
    func invalidOptionsAreRefused(_ invalid: InvalidOptions) {
        #expect {
            try invalid.options.validate()
        } throws: { error in
            guard let error = error as? LoadGeneratorError else { return false }
            return error.code == .invalidOptions && error.message.contains(invalid.field)
        }
    }

    @Test func invalidTickerIsAnUnknownSymbol() {
        #expect(throws: LoadGeneratorError.self) { try LoadOptions(symbols: ["AAPL", "BAD SYMBOL"]).validate() }
        do {
            try LoadOptions(symbols: ["BAD SYMBOL"]).validate()
            Issue.record("a symbol with a space was accepted")
        } catch {
            #expect(error.code == .unknownSymbol)
        }
    }

    @Test func optionsAreCheckedAgainstTheCluster() throws {
        let cluster = try ClusterDefinition.parse(yaml: InProcessNode.yaml(dataDirectory: "/tmp/unused"), source: "t")
        do {
            _ = try LoadGenerator(cluster: cluster, options: LoadOptions(symbols: ["AAPL", "TSLA"]))
            Issue.record("a symbol the cluster does not trade was accepted")
        } catch {
            #expect(error.code == .unknownSymbol)
            #expect(error.message.contains("TSLA"))
        }
        do {
            _ = try LoadGenerator(
                cluster: cluster, options: LoadOptions(ackLogPath: "/nonexistent-directory/acks.log"))
            Issue.record("an ack log in a missing directory was accepted")
        } catch {
            #expect(error.code == .ackLog)
        }
        let generator = try LoadGenerator(cluster: cluster, options: LoadOptions(participants: 3))
        #expect(generator.shardOfSymbol == ["AAPL": 1, "MSFT": 1])
        #expect(generator.progress == LoadProgress())
    }
}
