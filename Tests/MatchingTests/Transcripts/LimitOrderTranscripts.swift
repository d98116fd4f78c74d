import ExchangeCore
import Matching
import Testing

/// §4: price-time priority, trades at the resting price, partial fills, resting remainders; §12 views.
@Suite("Limit order transcripts")
struct LimitOrderTranscripts {
    @Test func aLimitOrderThatDoesNotCrossRests() throws {
        var t = try EngineTranscript()
        let s1 = t.limit(1, .sell, 100, at: 101)
        #expect(t.send(s1) == [t.accepted(s1), t.delta(.sell, 101, 100)])
        let b2 = t.limit(2, .buy, 40, at: 100)
        #expect(t.send(b2) == [t.accepted(b2), t.delta(.buy, 100, 40)])

        #expect(t.engine.bestAsk(TX.acme) == TX.level(101, 100, orders: 1))
        #expect(t.engine.bestBid(TX.acme) == TX.level(100, 40, orders: 1))
        #expect(t.asks() == [t.resting(1, leaves: 100)])
        #expect(t.bids() == [t.resting(2, leaves: 40)])
        #expect(t.engine.liveOrderCount == 2)
        #expect(t.engine.symbolStatus(TX.acme)?.lastTradePrice == nil)
    }

    @Test func ordersAtOnePriceAddUpInOneLevel() throws {
        var t = try EngineTranscript()
        let b1 = t.limit(1, .buy, 10, at: 99)
        let b2 = t.limit(2, .buy, 20, at: 99)
        let b3 = t.limit(3, .buy, 5, at: 98)
        #expect(t.send(b1) == [t.accepted(b1), t.delta(.buy, 99, 10)])
        #expect(t.send(b2) == [t.accepted(b2), t.delta(.buy, 99, 30)])
        #expect(t.send(b3) == [t.accepted(b3), t.delta(.buy, 98, 5)])
        #expect(
            t.engine.depth(TX.acme, levels: 10)
                == BookDepth(
                    symbol: TX.acme, bids: [TX.level(99, 30, orders: 2), TX.level(98, 5, orders: 1)], asks: []))
        #expect(t.bids() == [t.resting(1, leaves: 10), t.resting(2, leaves: 20), t.resting(3, leaves: 5)])
    }

    @Test func betterPriceFirstThenEarlierOrderAndEveryTradeAtTheRestingPrice() throws {
        var t = try EngineTranscript()
        let s1 = t.limit(1, .sell, 100, at: 101)
        let s2 = t.limit(2, .sell, 100, at: 101)
        let s3 = t.limit(3, .sell, 100, at: 100)
        let s4 = t.limit(4, .sell, 50, at: 102)
        for order in [s1, s2, s3, s4] { t.send(order) }

        let b5 = t.limit(5, .buy, 250, at: 101)
        #expect(
            t.send(b5) == [
                t.accepted(b5),
                t.trade(0, price: 100, quantity: 100, aggressor: .buy, buy: 5, sell: 3, buyLeaves: 150, sellLeaves: 0),
                t.delta(.sell, 100, 0),
                t.trade(1, price: 101, quantity: 100, aggressor: .buy, buy: 5, sell: 1, buyLeaves: 50, sellLeaves: 0),
                t.delta(.sell, 101, 100),
                t.trade(2, price: 101, quantity: 50, aggressor: .buy, buy: 5, sell: 2, buyLeaves: 0, sellLeaves: 50),
                t.delta(.sell, 101, 50),
            ])
        #expect(t.asks() == [t.resting(2, leaves: 50), t.resting(4, leaves: 50)])
        #expect(t.bids() == [])
        #expect(t.engine.order(OrderID(5)) == nil)
        #expect(t.engine.order(OrderID(1)) == nil)
        let status = try #require(t.engine.symbolStatus(TX.acme))
        #expect(status.lastTradePrice == Price(101))
        #expect(status.referencePrice == Price(101))
    }

    @Test func aBuyLimitFarAboveTheAskTradesAtTheAsk() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101))
        let b2 = t.limit(2, .buy, 10, at: 109)
        #expect(
            t.send(b2) == [
                t.accepted(b2),
                t.trade(0, price: 101, quantity: 10, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
            ])
    }

    @Test func aSellAggressorWalksTheBidsDownAndRestsTheRemainder() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 50, at: 100))
        t.send(t.limit(2, .buy, 50, at: 99))
        t.send(t.limit(3, .buy, 50, at: 98))
        let s4 = t.limit(4, .sell, 120, at: 99)
        #expect(
            t.send(s4) == [
                t.accepted(s4),
                t.trade(0, price: 100, quantity: 50, aggressor: .sell, buy: 1, sell: 4, buyLeaves: 0, sellLeaves: 70),
                t.delta(.buy, 100, 0),
                t.trade(1, price: 99, quantity: 50, aggressor: .sell, buy: 2, sell: 4, buyLeaves: 0, sellLeaves: 20),
                t.delta(.buy, 99, 0),
                t.delta(.sell, 99, 20),
            ])
        #expect(t.bids() == [t.resting(3, leaves: 50)])
        #expect(t.asks() == [t.resting(4, leaves: 20)])
        #expect(t.engine.bestBid(TX.acme) == TX.level(98, 50, orders: 1))
        #expect(t.engine.bestAsk(TX.acme) == TX.level(99, 20, orders: 1))
    }

    @Test func aPartiallyFilledRestingOrderKeepsItsPlace() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 100, at: 101))
        t.send(t.limit(2, .sell, 100, at: 101))
        let b3 = t.limit(3, .buy, 30, at: 101)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.trade(0, price: 101, quantity: 30, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 0, sellLeaves: 70),
                t.delta(.sell, 101, 170),
            ])
        #expect(t.asks() == [t.resting(1, leaves: 70), t.resting(2, leaves: 100)])

        let b4 = t.limit(4, .buy, 100, at: 101)
        #expect(
            t.send(b4) == [
                t.accepted(b4),
                t.trade(0, price: 101, quantity: 70, aggressor: .buy, buy: 4, sell: 1, buyLeaves: 30, sellLeaves: 0),
                t.delta(.sell, 101, 100),
                t.trade(1, price: 101, quantity: 30, aggressor: .buy, buy: 4, sell: 2, buyLeaves: 0, sellLeaves: 70),
                t.delta(.sell, 101, 70),
            ])
        #expect(t.asks() == [t.resting(2, leaves: 70)])
        let status = try #require(t.engine.order(OrderID(2)))
        #expect(status.quantity == Quantity(100))
        #expect(status.leavesQuantity == Quantity(70))
        #expect(status.filledQuantity == Quantity(30))
    }

    @Test func theAggressorsRemainderRestsAtItsLimit() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 100, at: 101))
        let b2 = t.limit(2, .buy, 150, at: 102)
        #expect(
            t.send(b2) == [
                t.accepted(b2),
                t.trade(0, price: 101, quantity: 100, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 50, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.delta(.buy, 102, 50),
            ])
        #expect(t.engine.bestBid(TX.acme) == TX.level(102, 50, orders: 1))
        #expect(t.engine.bestAsk(TX.acme) == nil)
        #expect(
            t.engine.order(OrderID(2))
                == OrderStatus(
                    orderID: OrderID(2), participant: b2.participant, clientOrderID: b2.clientOrderID,
                    account: b2.account, symbol: TX.acme, side: .buy, type: .limit, timeInForce: .gtc,
                    price: Price(102), stopPrice: .zero, quantity: Quantity(150), leavesQuantity: Quantity(50),
                    visibleQuantity: Quantity(50), displayQuantity: .zero, filledQuantity: Quantity(100),
                    postOnly: false, selfTradePrevention: .none, expireAt: .zero, state: .resting))
    }

    @Test func aTradeCarriesBothSidesAccountsAndParticipants() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101, participant: 7, account: 70))
        let b2 = t.limit(2, .buy, 10, at: 101, participant: 8, account: 80)
        let events = t.send(b2)
        let expected = Event.Trade(
            id: TradeID(sequence: 2, index: 0), symbol: TX.acme, price: Price(101), quantity: Quantity(10),
            aggressor: .buy, buyOrderID: OrderID(2), sellOrderID: OrderID(1), buyAccount: AccountID(80),
            sellAccount: AccountID(70), buyParticipant: ParticipantID(8), sellParticipant: ParticipantID(7),
            buyLeaves: .zero, sellLeaves: .zero, timestamp: TX.sec(1_000))
        #expect(events == [t.accepted(b2), .trade(expected), t.delta(.sell, 101, 0)])
    }

    @Test func tradeIDsUseTheCallsSequenceAndCountFromZero() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101), sequence: 10)
        t.send(t.limit(2, .sell, 10, at: 102), sequence: 11)
        let b3 = t.limit(3, .buy, 20, at: 102)
        let events = t.send(b3, sequence: 25)
        let ids = events.compactMap { event -> TradeID? in
            if case .trade(let trade) = event { return trade.id }
            return nil
        }
        #expect(ids == [TradeID(sequence: 25, index: 0), TradeID(sequence: 25, index: 1)])
        #expect(t.engine.lastSequence == 25)
    }

    @Test func timeNeverGoesBackwards() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101), at: TX.sec(2_000))
        let b2 = t.limit(2, .buy, 10, at: 101)
        let events = t.send(b2, at: TX.sec(1_500))
        let stamps = events.compactMap { event -> Timestamp? in
            if case .trade(let trade) = event { return trade.timestamp }
            return nil
        }
        #expect(stamps == [TX.sec(2_000)])
    }

    @Test func symbolsHaveSeparateBooks() throws {
        var t = try EngineTranscript([TX.plain(TX.acme), TX.plain(TX.beta)])
        t.send(t.limit(1, .sell, 10, at: 101))
        let b2 = t.limit(2, .buy, 10, at: 101, symbol: TX.beta)
        #expect(t.send(b2) == [t.accepted(b2), t.delta(.buy, 101, 10, symbol: TX.beta)])
        #expect(t.engine.bestAsk(TX.acme) == TX.level(101, 10, orders: 1))
        #expect(t.engine.bestBid(TX.beta) == TX.level(101, 10, orders: 1))
        #expect(t.engine.bestAsk(TX.beta) == nil)
        #expect(t.engine.liveOrderCount == 2)
    }

    // MARK: Views (§12)

    @Test func viewsOfAFreshEngine() throws {
        let t = try EngineTranscript([TX.plain(TX.acme, reference: 250)])
        let unknown = Symbol("NOPE")
        #expect(t.engine.bestBid(TX.acme) == nil)
        #expect(t.engine.bestAsk(TX.acme) == nil)
        // SPEC: views of a known symbol with an empty book are empty, not nil; nil means an unknown symbol.
        #expect(t.engine.depth(TX.acme, levels: 5) == BookDepth(symbol: TX.acme, bids: [], asks: []))
        #expect(t.engine.book(TX.acme) == OrderBookView(symbol: TX.acme, bids: [], asks: []))
        #expect(t.engine.untriggeredStops(TX.acme) == [])
        #expect(
            t.engine.symbolStatus(TX.acme)
                == SymbolStatus(
                    symbol: TX.acme, status: .trading, referencePrice: Price(250), priceBandBasisPoints: 0,
                    lastTradePrice: nil))
        #expect(t.engine.bestBid(unknown) == nil)
        #expect(t.engine.bestAsk(unknown) == nil)
        #expect(t.engine.depth(unknown, levels: 5) == nil)
        #expect(t.engine.book(unknown) == nil)
        #expect(t.engine.untriggeredStops(unknown) == nil)
        #expect(t.engine.symbolStatus(unknown) == nil)
        #expect(t.engine.order(OrderID(1)) == nil)
        #expect(t.engine.liveOrderCount == 0)
        #expect(t.engine.lastSequence == 0)
    }

    @Test func depthShowsAtMostTheRequestedLevelsBestFirst() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 103))
        t.send(t.limit(2, .sell, 20, at: 101))
        t.send(t.limit(3, .sell, 30, at: 102))
        t.send(t.limit(4, .buy, 40, at: 98))
        t.send(t.limit(5, .buy, 50, at: 99))
        t.send(t.limit(6, .buy, 60, at: 97))
        t.send(t.limit(7, .buy, 70, at: 99))
        #expect(
            t.engine.depth(TX.acme, levels: 2)
                == BookDepth(
                    symbol: TX.acme, bids: [TX.level(99, 120, orders: 2), TX.level(98, 40, orders: 1)],
                    asks: [TX.level(101, 20, orders: 1), TX.level(102, 30, orders: 1)]))
        #expect(
            t.engine.depth(TX.acme, levels: 10)
                == BookDepth(
                    symbol: TX.acme,
                    bids: [TX.level(99, 120, orders: 2), TX.level(98, 40, orders: 1), TX.level(97, 60, orders: 1)],
                    asks: [TX.level(101, 20, orders: 1), TX.level(102, 30, orders: 1), TX.level(103, 10, orders: 1)]))
        #expect(
            t.engine.book(TX.acme)
                == OrderBookView(
                    symbol: TX.acme,
                    bids: [
                        t.resting(5, leaves: 50), t.resting(7, leaves: 70), t.resting(4, leaves: 40),
                        t.resting(6, leaves: 60),
                    ],
                    asks: [t.resting(2, leaves: 20), t.resting(3, leaves: 30), t.resting(1, leaves: 10)]))
    }

    @Test func viewsChangeNothing() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101))
        t.send(t.limit(2, .buy, 10, at: 99))
        let hash = t.engine.stateHash()
        _ = t.engine.bestBid(TX.acme)
        _ = t.engine.bestAsk(TX.acme)
        _ = t.engine.depth(TX.acme, levels: 3)
        _ = t.engine.book(TX.acme)
        _ = t.engine.order(OrderID(1))
        _ = t.engine.symbolStatus(TX.acme)
        _ = t.engine.untriggeredStops(TX.acme)
        _ = t.engine.liveOrderCount
        #expect(t.engine.stateHash() == hash)
    }
}
