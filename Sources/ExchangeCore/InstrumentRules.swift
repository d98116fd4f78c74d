/// Per-symbol trading rules. All fields are integers; bands and thresholds are basis points.
public struct InstrumentRules: Sendable, Hashable {
    public var symbol: Symbol
    /// Prices must be positive multiples of this. Default: 1. Range: 1...10^12.
    public var tickSize: Int64
    /// Quantities must be positive multiples of this. Default: 1. Range: 1...10^12.
    public var lotSize: Int64
    /// Smallest order quantity. Default: 1 lot. Range: 1...maximumQuantity.
    public var minimumQuantity: Quantity
    /// Largest order quantity. Default: 10^9. Range: minimumQuantity...10^15.
    public var maximumQuantity: Quantity
    /// Price band half-width around the reference price, in basis points; 0 disables the band.
    /// Default: 1,000 (±10%). Range: 0...100,000.
    public var priceBandBasisPoints: Int64
    /// Reference price before the first trade (e.g. the previous close). Range: positive, on tick.
    public var referencePrice: Price
    /// Volatility breaker: a move larger than this within `breakerWindowSeconds` halts the symbol;
    /// 0 disables it. Default: 1,000 (10%). Range: 0...100,000.
    public var breakerThresholdBasisPoints: Int64
    /// Rolling window of the breaker in whole seconds of log time. Default: 60. Range: 1...3,600.
    public var breakerWindowSeconds: Int64
    /// How long a breaker halt lasts before the reopening auction, in seconds of log time.
    /// Default: 300. Range: 1...86,400.
    public var breakerCoolingOffSeconds: Int64

    public init(
        symbol: Symbol,
        tickSize: Int64 = 1,
        lotSize: Int64 = 1,
        minimumQuantity: Quantity? = nil,
        maximumQuantity: Quantity = Quantity(1_000_000_000),
        priceBandBasisPoints: Int64 = 1_000,
        referencePrice: Price,
        breakerThresholdBasisPoints: Int64 = 1_000,
        breakerWindowSeconds: Int64 = 60,
        breakerCoolingOffSeconds: Int64 = 300
    ) {
        self.symbol = symbol
        self.tickSize = tickSize
        self.lotSize = lotSize
        self.minimumQuantity = minimumQuantity ?? Quantity(lotSize)
        self.maximumQuantity = maximumQuantity
        self.priceBandBasisPoints = priceBandBasisPoints
        self.referencePrice = referencePrice
        self.breakerThresholdBasisPoints = breakerThresholdBasisPoints
        self.breakerWindowSeconds = breakerWindowSeconds
        self.breakerCoolingOffSeconds = breakerCoolingOffSeconds
    }

    /// Checks every range above; returns the first violated field.
    public func validate() throws(InstrumentRulesError) {
        func check(_ ok: Bool, _ field: String, _ reason: String) throws(InstrumentRulesError) {
            if !ok { throw InstrumentRulesError(symbol: symbol, field: field, reason: reason) }
        }
        try check(symbol.isValid, "symbol", "must be 1-16 printable ASCII bytes")
        try check((1...1_000_000_000_000).contains(tickSize), "tickSize", "must be in 1...10^12")
        try check((1...1_000_000_000_000).contains(lotSize), "lotSize", "must be in 1...10^12")
        try check(maximumQuantity.rawValue <= 1_000_000_000_000_000, "maximumQuantity", "must be at most 10^15")
        try check(
            minimumQuantity.rawValue >= 1 && minimumQuantity <= maximumQuantity,
            "minimumQuantity", "must be in 1...maximumQuantity")
        try check((0...100_000).contains(priceBandBasisPoints), "priceBandBasisPoints", "must be in 0...100000")
        try check(
            referencePrice.rawValue > 0 && referencePrice.rawValue % tickSize == 0
                && referencePrice.rawValue <= Price.maximum.rawValue,
            "referencePrice", "must be positive, at most 10^13 and a multiple of tickSize")
        try check(
            (0...100_000).contains(breakerThresholdBasisPoints), "breakerThresholdBasisPoints",
            "must be in 0...100000")
        try check((1...3_600).contains(breakerWindowSeconds), "breakerWindowSeconds", "must be in 1...3600")
        try check(
            (1...86_400).contains(breakerCoolingOffSeconds), "breakerCoolingOffSeconds", "must be in 1...86400")
    }
}

/// A field of `InstrumentRules` outside its range.
public struct InstrumentRulesError: Error, Equatable, Sendable, CustomStringConvertible {
    public var symbol: Symbol
    public var field: String
    public var reason: String
    public var description: String { "instrument \(symbol): \(field) \(reason)" }
}
