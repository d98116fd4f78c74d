public import ExchangeCore
public import Matching

/// A generated W1 stream: the commands, the engine configuration they run against, and what the
/// generator saw while producing them.
///
/// `commands[0..<prefillCount]` build the initial resting population (every symbol gets
/// `restingTargetPerSymbol` passive orders); they are applied before timing starts and are not
/// counted as measured commands. Command `i` (0-based, prefill included) is applied with
/// `sequence(at: i)` and `timestamp(at: i)`.
public struct W1Workload: Sendable {
    public let scenario: W1Scenario
    public let seed: UInt64
    public let parameters: W1Parameters
    public let configuration: EngineConfiguration
    public let commands: [Command]
    public let prefillCount: Int
    public let statistics: W1Statistics

    /// Commands after the prefill: the ones that are timed.
    public var measuredCount: Int { commands.count - prefillCount }

    /// Log time of command 0: 2023-11-14T22:13:20Z in nanoseconds.
    public static let startTimestampNanoseconds: Int64 = 1_700_000_000_000_000_000
    /// Log time advances 1 µs per command.
    public static let commandSpacingNanoseconds: Int64 = 1_000

    /// Log time of command `index` (prefill included).
    @inlinable
    public static func timestamp(at index: Int) -> Timestamp {
        Timestamp(nanoseconds: startTimestampNanoseconds + Int64(index) * commandSpacingNanoseconds)
    }

    /// Sequence of command `index`: `index + 1`.
    @inlinable
    public static func sequence(at index: Int) -> UInt64 {
        UInt64(index + 1)
    }

    /// A fresh engine for this workload's configuration.
    public func makeEngine() -> MatchingEngine {
        do {
            return try MatchingEngine(configuration: configuration)
        } catch {
            preconditionFailure("W1 configuration was validated when generated: \(error)")
        }
    }

    /// Applies `commands[range]` to `engine` with their sequence and timestamp, clearing `events`
    /// before each command and passing every command's events to `observe`.
    public func apply(
        _ range: Range<Int>, to engine: inout MatchingEngine, events: inout [Event],
        observe: (_ events: [Event]) -> Void = { _ in }
    ) {
        for index in range {
            events.removeAll(keepingCapacity: true)
            engine.apply(
                commands[index], timestamp: Self.timestamp(at: index), sequence: Self.sequence(at: index),
                into: &events)
            observe(events)
        }
    }
}

/// What the generator saw while running its stream against a `MatchingEngine`.
public struct W1Statistics: Sendable {
    /// Measured commands by kind as emitted (after population control), indexed by
    /// `W1CommandKind.rawValue`.
    public var emitted: [Int] = Array(repeating: 0, count: W1CommandKind.allCases.count)
    /// Measured commands by kind as drawn from the nominal mix (before population control).
    public var drawn: [Int] = Array(repeating: 0, count: W1CommandKind.allCases.count)
    /// Rejections (a correct engine and generator produce none) and the first one, described.
    public var rejects = 0
    public var firstReject: String?
    /// Trades in measured commands, and the part caused by marketable orders.
    public var trades = 0
    public var marketableTrades = 0
    /// Distinct prices traded per marketable order, summed.
    public var marketableLevelsTraded = 0
    /// Marketable orders that traded at least once.
    public var marketableThatTraded = 0
    /// Events of the whole stream (prefill included) and their SHA-256 (`EventDigest`).
    public var events = 0
    public var digest = ""
    /// Resting orders, sampled after every measured command (all symbols together).
    public var restingMinimum = Int.max
    public var restingMaximum = 0
    public var restingSum = 0
    /// At the end of the stream, from the engine's own views.
    public var finalRestingOrders = 0
    public var finalPriceLevels = 0

    public init() {}

    public func emittedFraction(_ kind: W1CommandKind) -> Double {
        let total = emitted.reduce(0, +)
        return total == 0 ? 0 : Double(emitted[kind.rawValue]) / Double(total)
    }

    public func restingAverage(measured: Int) -> Double {
        measured == 0 ? 0 : Double(restingSum) / Double(measured)
    }
}

extension W1Workload {
    /// `count` passive GTC limit orders to add after the prefill (command index `prefillCount`
    /// onwards) to measure the marginal memory of a resting order: one extra participant
    /// (`participantCount + 1`), order ids from 2^40 up, symbols round-robin, sides alternating,
    /// prices walking the passive range. None of them trades.
    public func passiveProbeOrders(count: Int) -> [Command] {
        let participant = ParticipantID(UInt32(parameters.participantCount + 1))
        var orders: [Command] = []
        orders.reserveCapacity(count)
        for index in 0..<count {
            let symbol = W1Generator.symbol(index % parameters.symbolCount, of: parameters.symbolCount)
            let side: Side = (index / parameters.symbolCount) % 2 == 0 ? .buy : .sell
            let offset = 1 + Int64(index / parameters.symbolCount / 2) % parameters.priceRangeTicks
            let price = side == .buy ? parameters.centerPriceTicks - offset : parameters.centerPriceTicks + offset
            orders.append(
                .newOrder(
                    NewOrder(
                        participant: participant, clientOrderID: ClientOrderID(UInt64(index + 1)),
                        orderID: OrderID((1 << 40) + UInt64(index)), account: AccountID(UInt64(participant.rawValue)),
                        symbol: symbol, side: side, price: Price(price), quantity: Quantity(100))))
        }
        return orders
    }
}
