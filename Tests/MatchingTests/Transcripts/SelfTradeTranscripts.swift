import ExchangeCore
import Matching
import Testing

/// §4 step 1: self-trade prevention. The buyer is account 11; sells marked `account: 11` are its own.
@Suite("Self-trade prevention transcripts")
struct SelfTradeTranscripts {
    /// s1 10@100 (other account), s2 10@101 (own account 11), s3 10@101 (other account).
    private func ownOrderBetweenOthers() throws -> EngineTranscript {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 100))
        t.send(t.limit(2, .sell, 10, at: 101, account: 11))
        t.send(t.limit(3, .sell, 10, at: 101))
        return t
    }

    @Test func modeNoneAllowsSelfTrades() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101, account: 11))
        let b2 = t.limit(2, .buy, 10, at: 101)
        let events = t.send(b2)
        #expect(
            events == [
                t.accepted(b2),
                t.trade(0, price: 101, quantity: 10, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
            ])
        guard case .trade(let trade) = events.dropFirst().first else {
            Issue.record("no trade")
            return
        }
        #expect(trade.buyAccount == AccountID(11))
        #expect(trade.sellAccount == AccountID(11))
    }

    @Test func cancelNewestCancelsTheAggressorAndKeepsTheRestingOrder() throws {
        var t = try ownOrderBetweenOthers()
        let b4 = t.limit(4, .buy, 30, at: 101, stp: .cancelNewest)
        #expect(
            t.send(b4) == [
                t.accepted(b4),
                t.trade(0, price: 100, quantity: 10, aggressor: .buy, buy: 4, sell: 1, buyLeaves: 20, sellLeaves: 0),
                t.delta(.sell, 100, 0),
                t.cancelled(4, 20, leaves: 0, .selfTradePrevention),
            ])
        #expect(t.asks() == [t.resting(2, leaves: 10), t.resting(3, leaves: 10)])
        #expect(t.bids() == [])
    }

    @Test func cancelOldestCancelsTheRestingOrderAndKeepsMatching() throws {
        var t = try ownOrderBetweenOthers()
        let b4 = t.limit(4, .buy, 30, at: 101, stp: .cancelOldest)
        #expect(
            t.send(b4) == [
                t.accepted(b4),
                t.trade(0, price: 100, quantity: 10, aggressor: .buy, buy: 4, sell: 1, buyLeaves: 20, sellLeaves: 0),
                t.delta(.sell, 100, 0),
                t.cancelled(2, 10, leaves: 0, .selfTradePrevention),
                t.delta(.sell, 101, 10),
                t.trade(1, price: 101, quantity: 10, aggressor: .buy, buy: 4, sell: 3, buyLeaves: 10, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.delta(.buy, 101, 10),
            ])
        #expect(t.bids() == [t.resting(4, leaves: 10)])
    }

    @Test func cancelBothCancelsTheRestingOrderThenTheAggressor() throws {
        var t = try ownOrderBetweenOthers()
        let b4 = t.limit(4, .buy, 30, at: 101, stp: .cancelBoth)
        #expect(
            t.send(b4) == [
                t.accepted(b4),
                t.trade(0, price: 100, quantity: 10, aggressor: .buy, buy: 4, sell: 1, buyLeaves: 20, sellLeaves: 0),
                t.delta(.sell, 100, 0),
                t.cancelled(2, 10, leaves: 0, .selfTradePrevention),
                t.delta(.sell, 101, 10),
                t.cancelled(4, 20, leaves: 0, .selfTradePrevention),
            ])
        #expect(t.asks() == [t.resting(3, leaves: 10)])
        #expect(t.engine.liveOrderCount == 1)
    }

    @Test func decrementWithTheLargerAggressorKeepsMatching() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101, account: 11))
        t.send(t.limit(2, .sell, 10, at: 101))
        let b3 = t.limit(3, .buy, 25, at: 101, stp: .decrement)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.cancelled(1, 10, leaves: 0, .selfTradePrevention),
                t.delta(.sell, 101, 10),
                t.cancelled(3, 10, leaves: 15, .selfTradePrevention),
                t.trade(0, price: 101, quantity: 10, aggressor: .buy, buy: 3, sell: 2, buyLeaves: 5, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.delta(.buy, 101, 5),
            ])
        let status = try #require(t.engine.order(OrderID(3)))
        #expect(status.quantity == Quantity(25))
        #expect(status.leavesQuantity == Quantity(5))
        #expect(status.filledQuantity == Quantity(10))
    }

    @Test func decrementWithTheLargerRestingOrderEndsTheAggressor() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 30, at: 101, account: 11))
        let b2 = t.limit(2, .buy, 10, at: 101, stp: .decrement)
        #expect(
            t.send(b2) == [
                t.accepted(b2),
                t.cancelled(1, 10, leaves: 20, .selfTradePrevention),
                t.delta(.sell, 101, 20),
                t.cancelled(2, 10, leaves: 0, .selfTradePrevention),
            ])
        #expect(t.asks() == [t.resting(1, leaves: 20)])
        #expect(t.engine.order(OrderID(1))?.filledQuantity == .zero)
        #expect(t.bids() == [])
    }

    @Test func decrementOfEqualQuantitiesRemovesBoth() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101, account: 11))
        let b2 = t.limit(2, .buy, 10, at: 101, stp: .decrement)
        #expect(
            t.send(b2) == [
                t.accepted(b2),
                t.cancelled(1, 10, leaves: 0, .selfTradePrevention),
                t.delta(.sell, 101, 0),
                t.cancelled(2, 10, leaves: 0, .selfTradePrevention),
            ])
        #expect(t.engine.liveOrderCount == 0)
    }

    @Test func decrementOfAnIcebergShrinksItsPeakOnlyBelowTheLeavesAndKeepsItsPlace() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 100, at: 101, display: 30, account: 11))
        t.send(t.limit(2, .sell, 20, at: 101))
        let b3 = t.limit(3, .buy, 50, at: 101, stp: .decrement)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.cancelled(1, 50, leaves: 50, .selfTradePrevention),
                t.delta(.sell, 101, 50),
                t.cancelled(3, 50, leaves: 0, .selfTradePrevention),
            ])
        #expect(t.asks() == [t.resting(1, leaves: 50, visible: 30), t.resting(2, leaves: 20)])

        let b4 = t.limit(4, .buy, 40, at: 101, stp: .decrement)
        #expect(
            t.send(b4) == [
                t.accepted(b4),
                t.cancelled(1, 40, leaves: 10, .selfTradePrevention),
                t.delta(.sell, 101, 30),
                t.cancelled(4, 40, leaves: 0, .selfTradePrevention),
            ])
        #expect(t.asks() == [t.resting(1, leaves: 10, visible: 10), t.resting(2, leaves: 20)])
    }

    @Test func theAggressorsModeDecidesNotTheRestingOrders() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101, stp: .cancelNewest, account: 11))
        let b2 = t.limit(2, .buy, 10, at: 101)
        #expect(
            t.send(b2) == [
                t.accepted(b2),
                t.trade(0, price: 101, quantity: 10, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
            ])
    }

    @Test func preventionComparesAccountsNotParticipants() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101, participant: 1, account: 12))
        let b2 = t.limit(2, .buy, 10, at: 101, stp: .cancelBoth, participant: 1, account: 11)
        #expect(
            t.send(b2) == [
                t.accepted(b2),
                t.trade(0, price: 101, quantity: 10, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
            ])
    }

    @Test func aMarketOrderStoppedBySelfTradePreventionIsNotCancelledAsUnfilled() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101, account: 11))
        let m2 = t.market(2, .buy, 10, stp: .cancelNewest)
        #expect(t.send(m2) == [t.accepted(m2), t.cancelled(2, 10, leaves: 0, .selfTradePrevention)])
        #expect(t.asks() == [t.resting(1, leaves: 10)])
    }

    @Test func cancelOldestClearsSeveralOwnOrdersAcrossLevels() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 10, at: 99, account: 22))
        t.send(t.limit(2, .buy, 10, at: 99))
        t.send(t.limit(3, .buy, 10, at: 98, account: 22))
        let s4 = t.market(4, .sell, 30, stp: .cancelOldest)
        #expect(
            t.send(s4) == [
                t.accepted(s4),
                t.cancelled(1, 10, leaves: 0, .selfTradePrevention),
                t.delta(.buy, 99, 10),
                t.trade(0, price: 99, quantity: 10, aggressor: .sell, buy: 2, sell: 4, buyLeaves: 0, sellLeaves: 20),
                t.delta(.buy, 99, 0),
                t.cancelled(3, 10, leaves: 0, .selfTradePrevention),
                t.delta(.buy, 98, 0),
                t.cancelled(4, 20, leaves: 0, .unfilled),
            ])
        #expect(t.engine.liveOrderCount == 0)
    }
}
