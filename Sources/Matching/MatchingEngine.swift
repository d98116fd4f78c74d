public import ExchangeCore

// TEMPORARY API SKELETON: being implemented; signatures are final.

/// The deterministic matching state machine of one shard.
public struct MatchingEngine: Sendable {
    public let configuration: EngineConfiguration

    public init(configuration: EngineConfiguration) throws(EngineConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
    }

    /// Applies one command stamped with log time and sequence, appending its events to `events`.
    public mutating func apply(
        _ command: Command, timestamp: Timestamp, sequence: UInt64, into events: inout [Event]
    ) { fatalError("not yet") }

    /// Convenience for tests and tools: returns the events of one command.
    public mutating func apply(_ command: Command, timestamp: Timestamp, sequence: UInt64) -> [Event] {
        var events: [Event] = []
        apply(command, timestamp: timestamp, sequence: sequence, into: &events)
        return events
    }

    public func bestBid(_ symbol: Symbol) -> PriceLevelView? { fatalError("not yet") }
    public func bestAsk(_ symbol: Symbol) -> PriceLevelView? { fatalError("not yet") }
    /// L2: up to `levels` levels per side, best first.
    public func depth(_ symbol: Symbol, levels: Int) -> BookDepth? { fatalError("not yet") }
    /// L3: every resting order, best level first, FIFO within a level.
    public func book(_ symbol: Symbol) -> OrderBookView? { fatalError("not yet") }
    /// Untriggered stop orders of a symbol, by ascending order id.
    public func untriggeredStops(_ symbol: Symbol) -> [OrderStatus]? { fatalError("not yet") }
    public func order(_ id: OrderID) -> OrderStatus? { fatalError("not yet") }
    public func symbolStatus(_ symbol: Symbol) -> SymbolStatus? { fatalError("not yet") }
    /// Resting orders plus untriggered stops.
    public var liveOrderCount: Int { fatalError("not yet") }
    /// Sequence of the last applied command (0 before the first).
    public var lastSequence: UInt64 { fatalError("not yet") }

    /// The full state, versioned binary.
    public func snapshot() -> [UInt8] { fatalError("not yet") }
    /// Restores a state written by `snapshot()`; bad bytes are a typed error.
    public init(snapshot bytes: [UInt8]) throws(SnapshotError) { fatalError("not yet") }
    /// 64-bit hash of the state, equal on replicas that applied the same commands.
    public func stateHash() -> UInt64 { fatalError("not yet") }
}

/// Why snapshot bytes could not be restored.
public struct SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case badMagic, unsupportedVersion, truncated, malformed, checksumMismatch
    }
    public var code: Code
    public var offset: Int
    public var message: String
    public init(code: Code, offset: Int, message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }
    public var description: String { "snapshot \(code) at byte \(offset): \(message)" }
}
