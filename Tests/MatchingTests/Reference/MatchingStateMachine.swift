import ExchangeCore
import Matching

/// What the differential and property tests need from an engine, so that the same checks run on
/// the fast `MatchingEngine` and on `ReferenceEngine`.
protocol MatchingStateMachine {
    mutating func apply(_ command: Command, timestamp: Timestamp, sequence: UInt64) -> [Event]
    func bestBid(_ symbol: Symbol) -> PriceLevelView?
    func bestAsk(_ symbol: Symbol) -> PriceLevelView?
    func depth(_ symbol: Symbol, levels: Int) -> BookDepth?
    func book(_ symbol: Symbol) -> OrderBookView?
    func untriggeredStops(_ symbol: Symbol) -> [OrderStatus]?
    func order(_ id: OrderID) -> OrderStatus?
    func symbolStatus(_ symbol: Symbol) -> SymbolStatus?
    var liveOrderCount: Int { get }
}

extension MatchingEngine: MatchingStateMachine {}
extension ReferenceEngine: MatchingStateMachine {}
