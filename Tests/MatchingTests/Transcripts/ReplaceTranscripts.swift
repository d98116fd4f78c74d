import ExchangeCore
import Matching
import Testing

/// §5: cancel/replace. (Replace validation order: ValidationTranscripts.)
@Suite("Replace transcripts")
struct ReplaceTranscripts {
    /// b1 100@99, b2 100@99, b3 50@98.
    private func threeBids() throws -> EngineTranscript {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 100, at: 99))
        t.send(t.limit(2, .buy, 100, at: 99))
        t.send(t.limit(3, .buy, 50, at: 98))
        return t
    }

    @Test func reducingAtTheSamePriceKeepsPriority() throws {
        var t = try threeBids()
        let r = t.replace(1, price: 99, quantity: 60)
        #expect(t.send(r) == [t.replaced(r, leaves: 60, kept: true), t.delta(.buy, 99, 160)])
        #expect(t.bids() == [t.resting(1, leaves: 60), t.resting(2, leaves: 100), t.resting(3, leaves: 50)])
        let status = try #require(t.engine.order(OrderID(1)))
        #expect(status.quantity == Quantity(60))
        #expect(status.leavesQuantity == Quantity(60))
        #expect(status.filledQuantity == .zero)
    }

    @Test func anUnchangedReplaceKeepsPriorityAndStillEmitsTheDelta() throws {
        var t = try threeBids()
        let r = t.replace(1, price: 99, quantity: 100)
        #expect(t.send(r) == [t.replaced(r, leaves: 100, kept: true), t.delta(.buy, 99, 200)])
        #expect(t.bids() == [t.resting(1, leaves: 100), t.resting(2, leaves: 100), t.resting(3, leaves: 50)])
    }

    @Test func increasingLosesPriority() throws {
        var t = try threeBids()
        let r = t.replace(1, price: 99, quantity: 150)
        #expect(
            t.send(r) == [t.replaced(r, leaves: 150, kept: false), t.delta(.buy, 99, 100), t.delta(.buy, 99, 250)])
        #expect(t.bids() == [t.resting(2, leaves: 100), t.resting(1, leaves: 150), t.resting(3, leaves: 50)])
    }

    @Test func aPriceChangeLosesPriorityEvenWhenReducing() throws {
        var t = try threeBids()
        let r = t.replace(2, price: 98, quantity: 50)
        #expect(
            t.send(r) == [t.replaced(r, leaves: 50, kept: false), t.delta(.buy, 99, 100), t.delta(.buy, 98, 100)])
        #expect(
            t.bids() == [t.resting(1, leaves: 100), t.resting(3, leaves: 50), t.resting(2, price: 98, leaves: 50)])
        #expect(t.engine.order(OrderID(2))?.price == Price(98))
    }

    @Test func aReplaceThatCrossesTradesAsAnAggressorWithoutAccepted() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 100, at: 99))
        t.send(t.limit(2, .buy, 100, at: 99))
        t.send(t.limit(4, .sell, 30, at: 100))
        t.send(t.limit(5, .sell, 30, at: 101))
        let r = t.replace(1, price: 101, quantity: 100)
        #expect(
            t.send(r) == [
                t.replaced(r, leaves: 100, kept: false),
                t.delta(.buy, 99, 100),
                t.trade(0, price: 100, quantity: 30, aggressor: .buy, buy: 1, sell: 4, buyLeaves: 70, sellLeaves: 0),
                t.delta(.sell, 100, 0),
                t.trade(1, price: 101, quantity: 30, aggressor: .buy, buy: 1, sell: 5, buyLeaves: 40, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.delta(.buy, 101, 40),
            ])
        let status = try #require(t.engine.order(OrderID(1)))
        #expect(status.quantity == Quantity(100))
        #expect(status.leavesQuantity == Quantity(40))
        #expect(status.filledQuantity == Quantity(60))
        #expect(t.bids() == [t.resting(1, price: 101, leaves: 40), t.resting(2, leaves: 100)])
    }

    @Test func aSellReplacedDownThroughTheBidTradesAsASellAggressor() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 20, at: 99))
        t.send(t.limit(2, .sell, 30, at: 101))
        let r = t.replace(2, price: 99, quantity: 30)
        #expect(
            t.send(r) == [
                t.replaced(r, leaves: 30, kept: false),
                t.delta(.sell, 101, 0),
                t.trade(0, price: 99, quantity: 20, aggressor: .sell, buy: 1, sell: 2, buyLeaves: 0, sellLeaves: 10),
                t.delta(.buy, 99, 0),
                t.delta(.sell, 99, 10),
            ])
    }

    @Test func quantityIsTheNewTotalIncludingWhatFilled() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 100, at: 99))
        t.send(t.limit(2, .sell, 40, at: 99, tif: .ioc))
        let atFilled = t.replace(1, price: 99, quantity: 40)
        #expect(t.send(atFilled) == [t.rejected(atFilled, .invalidQuantity)])
        let belowFilled = t.replace(1, price: 99, quantity: 30)
        #expect(t.send(belowFilled) == [t.rejected(belowFilled, .invalidQuantity)])

        let r = t.replace(1, price: 99, quantity: 41)
        #expect(t.send(r) == [t.replaced(r, leaves: 1, kept: true), t.delta(.buy, 99, 1)])
        let status = try #require(t.engine.order(OrderID(1)))
        #expect(status.quantity == Quantity(41))
        #expect(status.leavesQuantity == Quantity(1))
        #expect(status.filledQuantity == Quantity(40))

        let up = t.replace(1, price: 99, quantity: 150)
        #expect(
            t.send(up) == [t.replaced(up, leaves: 110, kept: false), t.delta(.buy, 99, 0), t.delta(.buy, 99, 110)])
    }

    @Test func quantityCancelledBySelfTradeDecrementDoesNotCountAsFilled() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 100, at: 99))
        let s2 = t.limit(2, .sell, 30, at: 99, stp: .decrement, account: 11)
        #expect(
            t.send(s2) == [
                t.accepted(s2),
                t.cancelled(1, 30, leaves: 70, .selfTradePrevention),
                t.delta(.buy, 99, 70),
                t.cancelled(2, 30, leaves: 0, .selfTradePrevention),
            ])
        let status = try #require(t.engine.order(OrderID(1)))
        #expect(status.filledQuantity == .zero)
        #expect(status.leavesQuantity == Quantity(70))

        // filled = 100 - 70 - 30 = 0, so 30 is a valid new total and leaves 30 (<= 70) keep priority.
        let r = t.replace(1, price: 99, quantity: 30)
        #expect(t.send(r) == [t.replaced(r, leaves: 30, kept: true), t.delta(.buy, 99, 30)])
    }

    @Test func anIcebergKeepsItsPeakRulesWhenReplaced() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 300, at: 101, display: 100))
        t.send(t.limit(2, .sell, 50, at: 101))
        let r1 = t.replace(1, price: 101, quantity: 250)
        #expect(t.send(r1) == [t.replaced(r1, leaves: 250, kept: true), t.delta(.sell, 101, 150)])
        #expect(t.asks() == [t.resting(1, leaves: 250, visible: 100), t.resting(2, leaves: 50)])

        let r2 = t.replace(1, price: 101, quantity: 80)
        #expect(t.send(r2) == [t.replaced(r2, leaves: 80, kept: true), t.delta(.sell, 101, 130)])
        #expect(t.asks() == [t.resting(1, leaves: 80, visible: 80), t.resting(2, leaves: 50)])

        let r3 = t.replace(1, price: 101, quantity: 400)
        #expect(
            t.send(r3) == [t.replaced(r3, leaves: 400, kept: false), t.delta(.sell, 101, 50), t.delta(.sell, 101, 150)])
        #expect(t.asks() == [t.resting(2, leaves: 50), t.resting(1, leaves: 400, visible: 100)])
        #expect(t.engine.order(OrderID(1))?.displayQuantity == Quantity(100))
    }

    @Test func aReplaceThatTradesRunsTriggers() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.stop(1, .buy, 5, stop: 101))
        t.send(t.limit(2, .sell, 10, at: 101))
        t.send(t.limit(3, .buy, 10, at: 99))
        let r = t.replace(3, price: 101, quantity: 10)
        #expect(
            t.send(r) == [
                t.replaced(r, leaves: 10, kept: false),
                t.delta(.buy, 99, 0),
                t.trade(0, price: 101, quantity: 10, aggressor: .buy, buy: 3, sell: 2, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.triggered(1, stop: 101, last: 101),
                t.cancelled(1, 5, leaves: 0, .unfilled),
            ])
    }

    @Test func aReplacedOrderKeepsItsTimeInForceAndExpiry() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 10, at: 99, tif: .day))
        t.send(t.limit(2, .buy, 10, at: 97, tif: .gtd, expireAt: TX.sec(1_100)))
        let r1 = t.replace(1, price: 98, quantity: 20)
        #expect(
            t.send(r1) == [t.replaced(r1, leaves: 20, kept: false), t.delta(.buy, 99, 0), t.delta(.buy, 98, 20)])
        let r2 = t.replace(2, price: 96, quantity: 10)
        #expect(
            t.send(r2) == [t.replaced(r2, leaves: 10, kept: false), t.delta(.buy, 97, 0), t.delta(.buy, 96, 10)])
        #expect(t.engine.order(OrderID(1))?.timeInForce == .day)
        #expect(t.engine.order(OrderID(2))?.expireAt == TX.sec(1_100))
        #expect(t.send(.endOfSession) == [t.expired(1, leaves: 20), t.delta(.buy, 98, 0)])
        #expect(t.send(.heartbeat, at: TX.sec(1_100)) == [t.expired(2, leaves: 10), t.delta(.buy, 96, 0)])
    }

    @Test func aReplaceThatMeetsItsOwnAccountUsesTheOrdersSelfTradeMode() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 10, at: 99, stp: .cancelNewest))
        t.send(t.limit(2, .sell, 10, at: 100, account: 11))
        let r = t.replace(1, price: 100, quantity: 10)
        #expect(
            t.send(r) == [
                t.replaced(r, leaves: 10, kept: false),
                t.delta(.buy, 99, 0),
                t.cancelled(1, 10, leaves: 0, .selfTradePrevention),
            ])
        #expect(t.engine.order(OrderID(1)) == nil)
        #expect(t.asks() == [t.resting(2, leaves: 10)])
    }

    @Test func anUntriggeredStopIsNotReplaceable() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.stopLimit(1, .buy, 10, at: 105, stop: 104))
        let before = t.observe()
        let r = t.replace(1, price: 106, quantity: 10)
        #expect(t.send(r) == [t.rejected(r, .orderNotReplaceable)])
        #expect(t.observe() == before)
    }
}
