import ExchangeCore
import Testing

/// One out-of-range change to otherwise valid rules and the field `validate()` must name.
struct InvalidRulesCase: Sendable, CustomTestStringConvertible {
    var field: String
    var label: String
    var change: @Sendable (inout InstrumentRules) -> Void

    var testDescription: String { "\(field): \(label)" }
}

private let symbol = Symbol("AAPL")

private func validRules() -> InstrumentRules {
    InstrumentRules(symbol: symbol, tickSize: 5, lotSize: 10, referencePrice: Price(10_000))
}

private let invalidCases: [InvalidRulesCase] = [
    .init(field: "symbol", label: "empty") { $0.symbol = Symbol(low: 0, high: 0) },
    .init(field: "symbol", label: "space") { $0.symbol = Symbol(low: 0x2041, high: 0) },
    .init(field: "tickSize", label: "zero") { $0.tickSize = 0 },
    .init(field: "tickSize", label: "negative") { $0.tickSize = -5 },
    .init(field: "tickSize", label: "above 10^12") { $0.tickSize = 1_000_000_000_001 },
    .init(field: "lotSize", label: "zero") { $0.lotSize = 0 },
    .init(field: "lotSize", label: "above 10^12") { $0.lotSize = 1_000_000_000_001 },
    .init(field: "maximumQuantity", label: "above 10^15") { $0.maximumQuantity = Quantity(1_000_000_000_000_001) },
    .init(field: "minimumQuantity", label: "zero") { $0.minimumQuantity = .zero },
    .init(field: "minimumQuantity", label: "above maximum") {
        $0.minimumQuantity = Quantity(1_000)
        $0.maximumQuantity = Quantity(999)
    },
    .init(field: "priceBandBasisPoints", label: "negative") { $0.priceBandBasisPoints = -1 },
    .init(field: "priceBandBasisPoints", label: "above 100000") { $0.priceBandBasisPoints = 100_001 },
    .init(field: "referencePrice", label: "zero") { $0.referencePrice = .zero },
    .init(field: "referencePrice", label: "negative") { $0.referencePrice = Price(-10) },
    .init(field: "referencePrice", label: "off tick") { $0.referencePrice = Price(10_002) },
    .init(field: "referencePrice", label: "above Price.maximum") {
        $0.referencePrice = Price(Price.maximum.rawValue + 5)
    },
    .init(field: "breakerThresholdBasisPoints", label: "negative") { $0.breakerThresholdBasisPoints = -1 },
    .init(field: "breakerThresholdBasisPoints", label: "above 100000") { $0.breakerThresholdBasisPoints = 100_001 },
    .init(field: "breakerWindowSeconds", label: "zero") { $0.breakerWindowSeconds = 0 },
    .init(field: "breakerWindowSeconds", label: "above 3600") { $0.breakerWindowSeconds = 3_601 },
    .init(field: "breakerCoolingOffSeconds", label: "zero") { $0.breakerCoolingOffSeconds = 0 },
    .init(field: "breakerCoolingOffSeconds", label: "above 86400") { $0.breakerCoolingOffSeconds = 86_401 },
]

@Suite("InstrumentRules.validate")
struct InstrumentRulesTests {
    @Test("defaults")
    func defaults() throws {
        let rules = InstrumentRules(symbol: symbol, referencePrice: Price(100))
        #expect(rules.tickSize == 1)
        #expect(rules.lotSize == 1)
        #expect(rules.minimumQuantity == Quantity(1))
        #expect(rules.maximumQuantity == Quantity(1_000_000_000))
        #expect(rules.priceBandBasisPoints == 1_000)
        #expect(rules.breakerThresholdBasisPoints == 1_000)
        #expect(rules.breakerWindowSeconds == 60)
        #expect(rules.breakerCoolingOffSeconds == 300)
        try rules.validate()
        // The minimum quantity defaults to one lot.
        #expect(validRules().minimumQuantity == Quantity(10))
    }

    @Test("the edges of every range are accepted")
    func boundaries() throws {
        var rules = validRules()
        rules.tickSize = 1_000_000_000_000
        rules.lotSize = 1_000_000_000_000
        rules.minimumQuantity = Quantity(1_000_000_000_000_000)
        rules.maximumQuantity = Quantity(1_000_000_000_000_000)
        rules.referencePrice = Price.maximum
        rules.priceBandBasisPoints = 100_000
        rules.breakerThresholdBasisPoints = 100_000
        rules.breakerWindowSeconds = 3_600
        rules.breakerCoolingOffSeconds = 86_400
        try rules.validate()

        rules = validRules()
        rules.tickSize = 1
        rules.lotSize = 1
        rules.minimumQuantity = Quantity(1)
        rules.maximumQuantity = Quantity(1)
        rules.referencePrice = Price(1)
        rules.priceBandBasisPoints = 0
        rules.breakerThresholdBasisPoints = 0
        rules.breakerWindowSeconds = 1
        rules.breakerCoolingOffSeconds = 1
        try rules.validate()
    }

    @Test("an out-of-range field is named in the error", arguments: invalidCases)
    func invalidField(_ testCase: InvalidRulesCase) {
        var rules = validRules()
        testCase.change(&rules)
        let error = #expect(throws: InstrumentRulesError.self) { try rules.validate() }
        #expect(error?.field == testCase.field)
        #expect(error?.symbol == rules.symbol)
        #expect(error?.reason.isEmpty == false)
    }

    @Test("the first violated field wins, in declaration order")
    func firstViolationWins() {
        var rules = validRules()
        rules.lotSize = 0
        rules.breakerWindowSeconds = 0
        let lotError = #expect(throws: InstrumentRulesError.self) { try rules.validate() }
        #expect(lotError?.field == "lotSize")
        rules.tickSize = 0
        let tickError = #expect(throws: InstrumentRulesError.self) { try rules.validate() }
        #expect(tickError?.field == "tickSize")
    }

    @Test("a lot size above the default maximum quantity needs a larger maximum")
    func lotAboveMaximum() {
        let rules = InstrumentRules(symbol: symbol, lotSize: 2_000_000_000, referencePrice: Price(100))
        let error = #expect(throws: InstrumentRulesError.self) { try rules.validate() }
        #expect(error?.field == "minimumQuantity")
    }

    @Test("the description names the instrument, the field and the rule")
    func description() {
        var rules = validRules()
        rules.breakerWindowSeconds = 0
        let error = #expect(throws: InstrumentRulesError.self) { try rules.validate() }
        #expect(error?.description == "instrument AAPL: breakerWindowSeconds must be in 1...3600")
    }
}
