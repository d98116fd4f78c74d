import ExchangeCore
import Matching
import Testing

@Suite struct EngineSmokeTests {
    let symbol = Symbol("ACME")

    func engine() throws -> MatchingEngine {
        try MatchingEngine(
            configuration: EngineConfiguration(instruments: [InstrumentRules(symbol: symbol, referencePrice: Price(100))]))
    }

    func limit(_ id: UInt64, _ side: Side, _ price: Int64, _ quantity: Int64, participant: UInt32 = 1) -> Command {
        .newOrder(
            NewOrder(
                participant: ParticipantID(participant), clientOrderID: ClientOrderID(id), orderID: OrderID(id),
                account: AccountID(UInt64(participant)), symbol: symbol, side: side, price: Price(price),
                quantity: Quantity(quantity)))
    }

    @Test func crossingOrdersTradeAtTheRestingPrice() throws {
        var e = try engine()
        _ = e.apply(limit(1, .sell, 101, 10), timestamp: Timestamp(nanoseconds: 1), sequence: 1)
        let events = e.apply(limit(2, .buy, 102, 4, participant: 2), timestamp: Timestamp(nanoseconds: 2), sequence: 2)
        let trades = events.compactMap { if case .trade(let t) = $0 { t } else { nil } }
        #expect(trades.count == 1)
        #expect(trades.first?.price == Price(101))
        #expect(trades.first?.quantity == Quantity(4))
        #expect(e.bestAsk(symbol) == PriceLevelView(price: Price(101), quantity: Quantity(6), orderCount: 1))
        #expect(e.bestBid(symbol) == nil)
        let restored = try MatchingEngine(snapshot: e.snapshot())
        #expect(restored.stateHash() == e.stateHash())
        #expect(restored.book(symbol) == e.book(symbol))
    }
}
