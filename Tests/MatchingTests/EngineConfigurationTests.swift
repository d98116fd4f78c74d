import ExchangeCore
import Matching
import Testing

// EngineConfiguration lives in the Matching target, so its tests live here rather than in
// ExchangeCoreTests (which may import ExchangeCore only).

private func rules(_ symbol: StaticString) -> InstrumentRules {
    InstrumentRules(symbol: Symbol(symbol), tickSize: 1, lotSize: 1, referencePrice: Price(100))
}

private func configurationError(_ configuration: EngineConfiguration) -> EngineConfigurationError? {
    #expect(throws: EngineConfigurationError.self) { try configuration.validate() }
}

@Suite("EngineConfiguration.validate")
struct EngineConfigurationTests {
    @Test("defaults are valid")
    func defaults() throws {
        let configuration = EngineConfiguration(instruments: [rules("AAPL"), rules("MSFT")])
        #expect(configuration.sessionWindowPerParticipant == 1_024)
        #expect(configuration.maximumLiveOrders == 10_000_000)
        try configuration.validate()
    }

    @Test("at least one instrument")
    func noInstruments() {
        let error = configurationError(EngineConfiguration(instruments: []))
        #expect(error?.field == "instruments")
        #expect(error?.description == "engine configuration: instruments must list 1...500000 instruments")
    }

    @Test("at most 500,000 instruments")
    func tooManyInstruments() throws {
        var instruments = Array(repeating: rules("A"), count: 500_001)
        let error = configurationError(EngineConfiguration(instruments: instruments))
        #expect(error?.field == "instruments")
        // The count is checked first: one fewer gets as far as the duplicate check.
        instruments.removeLast()
        let duplicate = configurationError(EngineConfiguration(instruments: instruments))
        #expect(duplicate?.field == "instruments.A")
    }

    @Test("a symbol listed twice is refused, naming the symbol")
    func duplicateSymbols() {
        var second = rules("AAPL")
        second.tickSize = 5
        let error = configurationError(EngineConfiguration(instruments: [rules("AAPL"), rules("MSFT"), second]))
        #expect(error?.field == "instruments.AAPL")
        #expect(error?.reason == "symbol listed twice")
    }

    @Test("an invalid instrument is named by symbol and field")
    func invalidInstrument() {
        var bad = rules("MSFT")
        bad.tickSize = 0
        let error = configurationError(EngineConfiguration(instruments: [rules("AAPL"), bad]))
        #expect(error?.field == "instruments.MSFT.tickSize")
        #expect(error?.reason == "must be in 1...10^12")

        var badBand = rules("IBM")
        badBand.priceBandBasisPoints = 100_001
        #expect(
            configurationError(EngineConfiguration(instruments: [badBand]))?.field
                == "instruments.IBM.priceBandBasisPoints")
    }

    @Test("instrument errors come before the engine-wide fields")
    func instrumentsFirst() {
        var bad = rules("AAPL")
        bad.lotSize = 0
        let error = configurationError(
            EngineConfiguration(instruments: [bad], sessionWindowPerParticipant: 0, maximumLiveOrders: 0))
        #expect(error?.field == "instruments.AAPL.lotSize")
    }

    @Test(
        "session window range 1...65536",
        arguments: [(0, false), (-1, false), (1, true), (65_536, true), (65_537, false)])
    func sessionWindow(value: Int, valid: Bool) throws {
        let configuration = EngineConfiguration(instruments: [rules("AAPL")], sessionWindowPerParticipant: value)
        if valid {
            try configuration.validate()
        } else {
            #expect(configurationError(configuration)?.field == "sessionWindowPerParticipant")
        }
    }

    @Test(
        "live order capacity range 1...10^9",
        arguments: [(0, false), (-5, false), (1, true), (1_000_000_000, true), (1_000_000_001, false)])
    func maximumLiveOrders(value: Int, valid: Bool) throws {
        let configuration = EngineConfiguration(instruments: [rules("AAPL")], maximumLiveOrders: value)
        if valid {
            try configuration.validate()
        } else {
            #expect(configurationError(configuration)?.field == "maximumLiveOrders")
        }
    }

    @Test("the session window is checked before the live order capacity")
    func fieldOrder() {
        let error = configurationError(
            EngineConfiguration(instruments: [rules("AAPL")], sessionWindowPerParticipant: 0, maximumLiveOrders: 0))
        #expect(error?.field == "sessionWindowPerParticipant")
    }
}
