public import ExchangeCore

/// The static setup of one matching engine (one shard's state machine).
public struct EngineConfiguration: Sendable, Hashable {
    /// The instruments this engine trades, in a fixed order (the order breaks ties in timed work).
    /// Range: 1...500,000 instruments, distinct symbols, each valid.
    public var instruments: [InstrumentRules]
    /// Outcomes remembered per participant for retried commands. Default: 1,024. Range: 1...65,536.
    public var sessionWindowPerParticipant: Int
    /// Live orders (resting plus untriggered stops) the engine holds at most; more are rejected
    /// with `.capacityExceeded`. Default: 10,000,000. Range: 1...1,000,000,000.
    public var maximumLiveOrders: Int

    public init(
        instruments: [InstrumentRules], sessionWindowPerParticipant: Int = 1_024,
        maximumLiveOrders: Int = 10_000_000
    ) {
        self.instruments = instruments
        self.sessionWindowPerParticipant = sessionWindowPerParticipant
        self.maximumLiveOrders = maximumLiveOrders
    }

    /// Checks every range above.
    public func validate() throws(EngineConfigurationError) {
        guard (1...500_000).contains(instruments.count) else {
            throw EngineConfigurationError(field: "instruments", reason: "must list 1...500000 instruments")
        }
        var seen = Set<Symbol>()
        for rules in instruments {
            do {
                try rules.validate()
            } catch {
                throw EngineConfigurationError(field: "instruments.\(rules.symbol).\(error.field)", reason: error.reason)
            }
            guard seen.insert(rules.symbol).inserted else {
                throw EngineConfigurationError(field: "instruments.\(rules.symbol)", reason: "symbol listed twice")
            }
        }
        guard (1...65_536).contains(sessionWindowPerParticipant) else {
            throw EngineConfigurationError(field: "sessionWindowPerParticipant", reason: "must be in 1...65536")
        }
        guard (1...1_000_000_000).contains(maximumLiveOrders) else {
            throw EngineConfigurationError(field: "maximumLiveOrders", reason: "must be in 1...1000000000")
        }
    }
}

/// A configuration field outside its range.
public struct EngineConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public var description: String { "engine configuration: \(field) \(reason)" }
}
