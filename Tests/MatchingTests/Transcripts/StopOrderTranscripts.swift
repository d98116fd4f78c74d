import ExchangeCore
import Matching
import Testing

/// §6 (and §3 check 12): stop and stop-limit orders.
@Suite("Stop order transcripts")
struct StopOrderTranscripts {
    @Test func aStopIsStoredOutsideTheBook() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        let st1 = t.stop(1, .buy, 10, stop: 105)
        #expect(t.send(st1) == [t.accepted(st1)])
        let st2 = t.stopLimit(2, .sell, 10, at: 95, stop: 96)
        #expect(t.send(st2) == [t.accepted(st2)])

        #expect(t.engine.bestBid(TX.acme) == nil)
        #expect(t.engine.bestAsk(TX.acme) == nil)
        #expect(t.engine.book(TX.acme) == OrderBookView(symbol: TX.acme, bids: [], asks: []))
        let stops = try #require(t.engine.untriggeredStops(TX.acme))
        #expect(stops.map(\.orderID) == [OrderID(1), OrderID(2)])
        #expect(stops.map(\.state) == [.untriggeredStop, .untriggeredStop])
        #expect(stops.map(\.stopPrice) == [Price(105), Price(96)])
        #expect(stops.map(\.leavesQuantity) == [Quantity(10), Quantity(10)])
        #expect(t.engine.order(OrderID(1))?.type == .stop)
        #expect(t.engine.order(OrderID(2))?.type == .stopLimit)
        #expect(t.engine.liveOrderCount == 2)
    }

    @Test func aStopWhoseConditionAlreadyHoldsIsRejected() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        for (id, side, stop) in [(1, Side.buy, 100), (2, .buy, 99), (3, .sell, 100), (4, .sell, 101)]
            as [(UInt64, Side, Int64)]
        {
            let order = t.stop(id, side, 10, stop: stop)
            #expect(t.send(order) == [t.rejected(order, .stopWouldTriggerImmediately)])
        }
        let limitBuy = t.stopLimit(5, .buy, 10, at: 105, stop: 100)
        #expect(t.send(limitBuy) == [t.rejected(limitBuy, .stopWouldTriggerImmediately)])
        let limitSell = t.stopLimit(6, .sell, 10, at: 95, stop: 100)
        #expect(t.send(limitSell) == [t.rejected(limitSell, .stopWouldTriggerImmediately)])

        let buy = t.stop(7, .buy, 10, stop: 101)
        #expect(t.send(buy) == [t.accepted(buy)])
        let sell = t.stop(8, .sell, 10, stop: 99)
        #expect(t.send(sell) == [t.accepted(sell)])
        #expect(t.engine.liveOrderCount == 2)
    }

    @Test func beforeTheFirstTradeNoStopTriggersImmediately() throws {
        var t = try EngineTranscript()
        let buy = t.stop(1, .buy, 10, stop: 1)
        #expect(t.send(buy) == [t.accepted(buy)])
        let sell = t.stopLimit(2, .sell, 10, at: 900, stop: 1_000)
        #expect(t.send(sell) == [t.accepted(sell)])
    }

    @Test func aBuyStopTriggersWhenTheLastTradeReachesItsStopPrice() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.limit(1, .sell, 10, at: 102))
        t.send(t.limit(2, .sell, 50, at: 104))
        t.send(t.stop(3, .buy, 20, stop: 102))
        t.send(t.stop(5, .buy, 10, stop: 105))
        let b4 = t.limit(4, .buy, 10, at: 102)
        #expect(
            t.send(b4) == [
                t.accepted(b4),
                t.trade(0, price: 102, quantity: 10, aggressor: .buy, buy: 4, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 102, 0),
                t.triggered(3, stop: 102, last: 102),
                t.trade(1, price: 104, quantity: 20, aggressor: .buy, buy: 3, sell: 2, buyLeaves: 0, sellLeaves: 30),
                t.delta(.sell, 104, 30),
            ])
        #expect(t.engine.untriggeredStops(TX.acme)?.map(\.orderID) == [OrderID(5)])
        #expect(t.engine.order(OrderID(3)) == nil)
        #expect(t.engine.symbolStatus(TX.acme)?.lastTradePrice == Price(104))
    }

    @Test func aSellStopTriggersWhenTheLastTradeFallsToItsStopPrice() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.limit(1, .buy, 10, at: 98))
        t.send(t.limit(2, .buy, 30, at: 96))
        t.send(t.stop(3, .sell, 15, stop: 98))
        let s4 = t.limit(4, .sell, 10, at: 98)
        #expect(
            t.send(s4) == [
                t.accepted(s4),
                t.trade(0, price: 98, quantity: 10, aggressor: .sell, buy: 1, sell: 4, buyLeaves: 0, sellLeaves: 0),
                t.delta(.buy, 98, 0),
                t.triggered(3, stop: 98, last: 98),
                t.trade(1, price: 96, quantity: 15, aggressor: .sell, buy: 2, sell: 3, buyLeaves: 15, sellLeaves: 0),
                t.delta(.buy, 96, 15),
            ])
    }

    @Test func aTriggeredStopIsAMarketOrderThatCancelsWhatItCannotFill() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.limit(1, .sell, 10, at: 101))
        t.send(t.stop(2, .buy, 30, stop: 101))
        let b3 = t.limit(3, .buy, 10, at: 101, tif: .ioc)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.trade(0, price: 101, quantity: 10, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.triggered(2, stop: 101, last: 101),
                t.cancelled(2, 30, leaves: 0, .unfilled),
            ])
        #expect(t.engine.liveOrderCount == 0)
    }

    @Test func buyStopsTriggerLowestStopFirstThenEarliestAcceptedThenSellStops() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 100, at: 105))
        t.send(t.limit(2, .buy, 100, at: 95))
        t.send(t.stop(13, .buy, 5, stop: 103))
        t.send(t.stop(12, .buy, 5, stop: 101))
        t.send(t.stop(11, .buy, 5, stop: 101))
        t.send(t.stop(14, .sell, 5, stop: 110))
        let b7 = t.limit(7, .buy, 1, at: 105, tif: .ioc)
        #expect(
            t.send(b7) == [
                t.accepted(b7),
                t.trade(0, price: 105, quantity: 1, aggressor: .buy, buy: 7, sell: 1, buyLeaves: 0, sellLeaves: 99),
                t.delta(.sell, 105, 99),
                t.triggered(12, stop: 101, last: 105),
                t.trade(1, price: 105, quantity: 5, aggressor: .buy, buy: 12, sell: 1, buyLeaves: 0, sellLeaves: 94),
                t.delta(.sell, 105, 94),
                t.triggered(11, stop: 101, last: 105),
                t.trade(2, price: 105, quantity: 5, aggressor: .buy, buy: 11, sell: 1, buyLeaves: 0, sellLeaves: 89),
                t.delta(.sell, 105, 89),
                t.triggered(13, stop: 103, last: 105),
                t.trade(3, price: 105, quantity: 5, aggressor: .buy, buy: 13, sell: 1, buyLeaves: 0, sellLeaves: 84),
                t.delta(.sell, 105, 84),
                t.triggered(14, stop: 110, last: 105),
                t.trade(4, price: 95, quantity: 5, aggressor: .sell, buy: 2, sell: 14, buyLeaves: 95, sellLeaves: 0),
                t.delta(.buy, 95, 95),
            ])
        #expect(t.engine.untriggeredStops(TX.acme) == [])
    }

    @Test func sellStopsTriggerHighestStopFirstThenEarliestAccepted() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 100, at: 90))
        t.send(t.stop(21, .sell, 5, stop: 95))
        t.send(t.stop(22, .sell, 5, stop: 98))
        t.send(t.stop(20, .sell, 5, stop: 98))
        let s3 = t.limit(3, .sell, 1, at: 90, tif: .ioc)
        #expect(
            t.send(s3) == [
                t.accepted(s3),
                t.trade(0, price: 90, quantity: 1, aggressor: .sell, buy: 1, sell: 3, buyLeaves: 99, sellLeaves: 0),
                t.delta(.buy, 90, 99),
                t.triggered(22, stop: 98, last: 90),
                t.trade(1, price: 90, quantity: 5, aggressor: .sell, buy: 1, sell: 22, buyLeaves: 94, sellLeaves: 0),
                t.delta(.buy, 90, 94),
                t.triggered(20, stop: 98, last: 90),
                t.trade(2, price: 90, quantity: 5, aggressor: .sell, buy: 1, sell: 20, buyLeaves: 89, sellLeaves: 0),
                t.delta(.buy, 90, 89),
                t.triggered(21, stop: 95, last: 90),
                t.trade(3, price: 90, quantity: 5, aggressor: .sell, buy: 1, sell: 21, buyLeaves: 84, sellLeaves: 0),
                t.delta(.buy, 90, 84),
            ])
    }

    @Test func aTriggeredStopsTradesCanTriggerTheNextStop() throws {
        var t = try EngineTranscript()
        t.send(t.stop(1, .buy, 10, stop: 103))
        t.send(t.limit(2, .sell, 10, at: 103))
        t.send(t.limit(3, .sell, 10, at: 106))
        t.send(t.stop(4, .buy, 5, stop: 106))
        let b5 = t.limit(5, .buy, 10, at: 103)
        #expect(
            t.send(b5) == [
                t.accepted(b5),
                t.trade(0, price: 103, quantity: 10, aggressor: .buy, buy: 5, sell: 2, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 103, 0),
                t.triggered(1, stop: 103, last: 103),
                t.trade(1, price: 106, quantity: 10, aggressor: .buy, buy: 1, sell: 3, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 106, 0),
                t.triggered(4, stop: 106, last: 106),
                t.cancelled(4, 5, leaves: 0, .unfilled),
            ])
        #expect(t.engine.liveOrderCount == 0)
    }

    @Test func aTriggeredStopLimitRestsBehindOrdersAlreadyAtItsPrice() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.limit(6, .buy, 20, at: 103))
        t.send(t.stopLimit(2, .buy, 10, at: 103, stop: 101))
        let s7 = t.limit(7, .sell, 5, at: 103, tif: .ioc)
        #expect(
            t.send(s7) == [
                t.accepted(s7),
                t.trade(0, price: 103, quantity: 5, aggressor: .sell, buy: 6, sell: 7, buyLeaves: 15, sellLeaves: 0),
                t.delta(.buy, 103, 15),
                t.triggered(2, stop: 101, last: 103),
                t.delta(.buy, 103, 25),
            ])
        #expect(t.bids() == [t.resting(6, leaves: 15), t.resting(2, leaves: 10)])
        #expect(t.engine.order(OrderID(2))?.state == .resting)
        #expect(t.engine.untriggeredStops(TX.acme) == [])
    }

    @Test func aTriggeredStopLimitTradesThenRestsWithItsOwnTimeInForce() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.limit(1, .sell, 10, at: 102))
        t.send(t.limit(2, .sell, 10, at: 104))
        t.send(t.stopLimit(3, .buy, 20, at: 103, stop: 101, tif: .day))
        let b4 = t.limit(4, .buy, 5, at: 102)
        #expect(
            t.send(b4) == [
                t.accepted(b4),
                t.trade(0, price: 102, quantity: 5, aggressor: .buy, buy: 4, sell: 1, buyLeaves: 0, sellLeaves: 5),
                t.delta(.sell, 102, 5),
                t.triggered(3, stop: 101, last: 102),
                t.trade(1, price: 102, quantity: 5, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 15, sellLeaves: 0),
                t.delta(.sell, 102, 0),
                t.delta(.buy, 103, 15),
            ])
        #expect(t.send(.endOfSession) == [t.expired(3, leaves: 15), t.delta(.buy, 103, 0)])
    }

    @Test func aTriggeredIOCStopLimitCancelsItsRemainder() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.limit(1, .sell, 10, at: 101))
        t.send(t.limit(2, .sell, 10, at: 104))
        t.send(t.stopLimit(3, .buy, 20, at: 103, stop: 101, tif: .ioc))
        let b4 = t.limit(4, .buy, 5, at: 101)
        #expect(
            t.send(b4) == [
                t.accepted(b4),
                t.trade(0, price: 101, quantity: 5, aggressor: .buy, buy: 4, sell: 1, buyLeaves: 0, sellLeaves: 5),
                t.delta(.sell, 101, 5),
                t.triggered(3, stop: 101, last: 101),
                t.trade(1, price: 101, quantity: 5, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 15, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.cancelled(3, 15, leaves: 0, .unfilled),
            ])
    }

    @Test func aTriggeredFOKStopIsKilledWhenItCannotFillInFull() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.limit(1, .sell, 10, at: 101))
        t.send(t.stop(2, .buy, 20, stop: 101, tif: .fok))
        let b3 = t.limit(3, .buy, 5, at: 101, tif: .ioc)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.trade(0, price: 101, quantity: 5, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 0, sellLeaves: 5),
                t.delta(.sell, 101, 5),
                t.triggered(2, stop: 101, last: 101),
                t.cancelled(2, 20, leaves: 0, .fillOrKill),
            ])
        #expect(t.asks() == [t.resting(1, leaves: 5)])
    }

    @Test func anAggressorRestsBeforeTheStopsItTriggersRun() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.limit(1, .sell, 5, at: 101))
        t.send(t.limit(4, .sell, 10, at: 102))
        t.send(t.stop(2, .buy, 3, stop: 101))
        let b3 = t.limit(3, .buy, 15, at: 101)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.trade(0, price: 101, quantity: 5, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 10, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.delta(.buy, 101, 10),
                t.triggered(2, stop: 101, last: 101),
                t.trade(1, price: 102, quantity: 3, aggressor: .buy, buy: 2, sell: 4, buyLeaves: 0, sellLeaves: 7),
                t.delta(.sell, 102, 7),
            ])
    }

    @Test func triggersRunAfterMatchingStoppedBySelfTradePrevention() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.limit(1, .sell, 5, at: 101))
        t.send(t.limit(2, .sell, 5, at: 101, account: 11))
        t.send(t.stop(3, .buy, 2, stop: 101, account: 33))
        let b5 = t.limit(5, .buy, 10, at: 101, stp: .cancelNewest)
        #expect(
            t.send(b5) == [
                t.accepted(b5),
                t.trade(0, price: 101, quantity: 5, aggressor: .buy, buy: 5, sell: 1, buyLeaves: 5, sellLeaves: 0),
                t.delta(.sell, 101, 5),
                t.cancelled(5, 5, leaves: 0, .selfTradePrevention),
                t.triggered(3, stop: 101, last: 101),
                t.trade(1, price: 101, quantity: 2, aggressor: .buy, buy: 3, sell: 2, buyLeaves: 0, sellLeaves: 3),
                t.delta(.sell, 101, 3),
            ])
    }

    @Test func cancellingAnUntriggeredStopEmitsNoBookDelta() throws {
        var t = try EngineTranscript()
        t.tradeOnce(at: 100)
        t.send(t.stop(1, .buy, 10, stop: 105))
        let cancel = t.cancel(1)
        #expect(t.send(cancel) == [t.cancelled(1, 10, leaves: 0, .requested)])
        #expect(t.engine.liveOrderCount == 0)
        #expect(t.engine.untriggeredStops(TX.acme) == [])
    }

    @Test func stopsWatchOnlyTheirOwnSymbol() throws {
        var t = try EngineTranscript([TX.plain(TX.acme), TX.plain(TX.beta)])
        t.send(t.stop(1, .buy, 10, stop: 101))
        t.send(t.limit(2, .sell, 1, at: 150, symbol: TX.beta))
        let b3 = t.limit(3, .buy, 1, at: 150, symbol: TX.beta)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.trade(
                    0, price: 150, quantity: 1, aggressor: .buy, buy: 3, sell: 2, buyLeaves: 0, sellLeaves: 0,
                    symbol: TX.beta),
                t.delta(.sell, 150, 0, symbol: TX.beta),
            ])
        #expect(t.engine.untriggeredStops(TX.acme)?.map(\.orderID) == [OrderID(1)])
    }
}
