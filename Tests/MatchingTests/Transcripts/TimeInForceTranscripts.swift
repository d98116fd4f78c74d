import ExchangeCore
import Matching
import Testing

/// §4.1, §4.3, §9, §11: market, IOC, FOK, GTC, DAY, GTD, post-only.
@Suite("Time in force transcripts")
struct TimeInForceTranscripts {
    // MARK: Market and IOC

    @Test func aMarketOrderSweepsLevelsUntilFilled() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 50, at: 101))
        t.send(t.limit(2, .sell, 50, at: 105))
        let m3 = t.market(3, .buy, 80)
        #expect(
            t.send(m3) == [
                t.accepted(m3),
                t.trade(0, price: 101, quantity: 50, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 30, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.trade(1, price: 105, quantity: 30, aggressor: .buy, buy: 3, sell: 2, buyLeaves: 0, sellLeaves: 20),
                t.delta(.sell, 105, 20),
            ])
        #expect(t.asks() == [t.resting(2, leaves: 20)])
    }

    @Test func aMarketOrdersRemainderIsCancelledUnfilled() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 50, at: 101))
        let m2 = t.market(2, .buy, 80)
        #expect(
            t.send(m2) == [
                t.accepted(m2),
                t.trade(0, price: 101, quantity: 50, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 30, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.cancelled(2, 30, leaves: 0, .unfilled),
            ])
        #expect(t.engine.liveOrderCount == 0)
        #expect(t.engine.order(OrderID(2)) == nil)
    }

    @Test func aMarketOrderOnAnEmptyBookIsCancelledWhole() throws {
        var t = try EngineTranscript()
        let m1 = t.market(1, .sell, 10)
        #expect(t.send(m1) == [t.accepted(m1), t.cancelled(1, 10, leaves: 0, .unfilled)])
        #expect(t.engine.book(TX.acme) == OrderBookView(symbol: TX.acme, bids: [], asks: []))
    }

    @Test func anIOCLimitTradesWhatCrossesAndCancelsTheRest() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 50, at: 101))
        t.send(t.limit(2, .sell, 50, at: 103))
        let b3 = t.limit(3, .buy, 80, at: 102, tif: .ioc)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.trade(0, price: 101, quantity: 50, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 30, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.cancelled(3, 30, leaves: 0, .unfilled),
            ])
        #expect(t.bids() == [])
        #expect(t.asks() == [t.resting(2, leaves: 50)])
    }

    @Test func anIOCThatCrossesNothingIsCancelledWhole() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 50, at: 101))
        let b2 = t.limit(2, .buy, 10, at: 100, tif: .ioc)
        #expect(t.send(b2) == [t.accepted(b2), t.cancelled(2, 10, leaves: 0, .unfilled)])
    }

    // MARK: Fill or kill (§4.3)

    @Test func aMarketFOKFillsInFullOrNotAtAll() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 50, at: 101))
        t.send(t.limit(2, .sell, 50, at: 102))
        let before = t.observe()
        let m3 = t.market(3, .buy, 120, tif: .fok)
        #expect(t.send(m3) == [t.accepted(m3), t.cancelled(3, 120, leaves: 0, .fillOrKill)])
        #expect(t.observe() == before)

        let m4 = t.market(4, .buy, 100, tif: .fok)
        #expect(
            t.send(m4) == [
                t.accepted(m4),
                t.trade(0, price: 101, quantity: 50, aggressor: .buy, buy: 4, sell: 1, buyLeaves: 50, sellLeaves: 0),
                t.delta(.sell, 101, 0),
                t.trade(1, price: 102, quantity: 50, aggressor: .buy, buy: 4, sell: 2, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 102, 0),
            ])
    }

    @Test func aFOKLimitCountsOnlyWhatCrossesItsLimit() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 50, at: 101))
        t.send(t.limit(2, .sell, 50, at: 103))
        let b3 = t.limit(3, .buy, 80, at: 102, tif: .fok)
        #expect(t.send(b3) == [t.accepted(b3), t.cancelled(3, 80, leaves: 0, .fillOrKill)])
        #expect(t.asks() == [t.resting(1, leaves: 50), t.resting(2, leaves: 50)])
    }

    @Test func aFOKCountsHiddenIcebergQuantity() throws {
        var t = try EngineTranscript()
        let s1 = t.limit(1, .sell, 30, at: 101, display: 10)
        #expect(t.send(s1) == [t.accepted(s1), t.delta(.sell, 101, 10)])
        let tooMuch = t.limit(2, .buy, 31, at: 101, tif: .fok)
        #expect(t.send(tooMuch) == [t.accepted(tooMuch), t.cancelled(2, 31, leaves: 0, .fillOrKill)])

        let b3 = t.limit(3, .buy, 30, at: 101, tif: .fok)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.trade(0, price: 101, quantity: 10, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 20, sellLeaves: 20),
                t.delta(.sell, 101, 10),
                t.trade(1, price: 101, quantity: 10, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 10, sellLeaves: 10),
                t.delta(.sell, 101, 10),
                t.trade(2, price: 101, quantity: 10, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
            ])
    }

    @Test func aFOKUnderCancelOldestSkipsOwnOrdersInTheCheckAndCancelsThemWhileMatching() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 40, at: 101, account: 11))
        t.send(t.limit(2, .sell, 60, at: 101))
        let before = t.observe()
        let tooMuch = t.limit(3, .buy, 70, at: 101, tif: .fok, stp: .cancelOldest)
        #expect(t.send(tooMuch) == [t.accepted(tooMuch), t.cancelled(3, 70, leaves: 0, .fillOrKill)])
        #expect(t.observe() == before)

        let b4 = t.limit(4, .buy, 60, at: 101, tif: .fok, stp: .cancelOldest)
        #expect(
            t.send(b4) == [
                t.accepted(b4),
                t.cancelled(1, 40, leaves: 0, .selfTradePrevention),
                t.delta(.sell, 101, 60),
                t.trade(0, price: 101, quantity: 60, aggressor: .buy, buy: 4, sell: 2, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
            ])
    }

    @Test(arguments: [SelfTradePrevention.cancelNewest, .cancelBoth, .decrement])
    func aFOKFailsWhenItWouldMeetItsOwnOrder(mode: SelfTradePrevention) throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 40, at: 101, account: 11))
        t.send(t.limit(2, .sell, 60, at: 101))
        let before = t.observe()
        let b3 = t.limit(3, .buy, 50, at: 101, tif: .fok, stp: mode)
        #expect(t.send(b3) == [t.accepted(b3), t.cancelled(3, 50, leaves: 0, .fillOrKill)])
        #expect(t.observe() == before)
    }

    @Test func aFOKPassesWhenItsOwnOrderLiesBeyondTheFill() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 60, at: 101))
        t.send(t.limit(2, .sell, 40, at: 102, account: 11))
        // SPEC: the walk of §4.3 ends as soon as the remaining quantity reaches 0, so an own order
        // behind enough liquidity never fails the check.
        let b3 = t.limit(3, .buy, 60, at: 102, tif: .fok, stp: .cancelNewest)
        #expect(
            t.send(b3) == [
                t.accepted(b3),
                t.trade(0, price: 101, quantity: 60, aggressor: .buy, buy: 3, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 101, 0),
            ])
        #expect(t.asks() == [t.resting(2, leaves: 40)])
    }

    // MARK: GTC and DAY (§11)

    @Test func gtcOrdersSurviveTheEndOfSession() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 10, at: 99))
        #expect(t.send(.endOfSession) == [])
        #expect(t.bids() == [t.resting(1, leaves: 10)])
    }

    @Test func dayOrdersExpireAtTheEndOfSessionInAscendingOrderID() throws {
        var t = try EngineTranscript([TX.plain(TX.acme), TX.plain(TX.beta)])
        t.send(t.limit(7, .buy, 10, at: 99, tif: .day))
        t.send(t.limit(3, .sell, 20, at: 105, tif: .day, symbol: TX.beta))
        t.send(t.limit(9, .sell, 50, at: 102, tif: .day))
        t.send(t.limit(4, .sell, 10, at: 103))
        t.send(t.limit(2, .buy, 5, at: 99, tif: .day))
        t.send(t.limit(6, .buy, 8, at: 99))
        let b10 = t.limit(10, .buy, 20, at: 102, tif: .ioc)
        #expect(
            t.send(b10) == [
                t.accepted(b10),
                t.trade(0, price: 102, quantity: 20, aggressor: .buy, buy: 10, sell: 9, buyLeaves: 0, sellLeaves: 30),
                t.delta(.sell, 102, 30),
            ])
        let st5 = t.stop(5, .buy, 10, stop: 110, tif: .day)
        #expect(t.send(st5) == [t.accepted(st5)])

        #expect(
            t.send(.endOfSession, at: TX.sec(2_000)) == [
                t.expired(2, leaves: 5),
                t.delta(.buy, 99, 18),
                t.expired(3, leaves: 20, symbol: TX.beta),
                t.delta(.sell, 105, 0, symbol: TX.beta),
                t.expired(5, leaves: 10),
                t.expired(7, leaves: 10),
                t.delta(.buy, 99, 8),
                t.expired(9, leaves: 30),
                t.delta(.sell, 102, 0),
            ])
        #expect(t.bids() == [t.resting(6, leaves: 8)])
        #expect(t.asks() == [t.resting(4, leaves: 10)])
        #expect(t.engine.untriggeredStops(TX.acme) == [])
        #expect(t.engine.liveOrderCount == 2)
        #expect(t.send(.endOfSession) == [])
    }

    // MARK: GTD (§9)

    @Test func aGTDOrderExpiresWhenACommandsTimeReachesItsExpiry() throws {
        var t = try EngineTranscript()
        let b1 = t.limit(1, .buy, 10, at: 99, tif: .gtd, expireAt: TX.sec(1_100))
        #expect(t.send(b1) == [t.accepted(b1), t.delta(.buy, 99, 10)])
        #expect(t.send(.heartbeat, at: Timestamp(nanoseconds: TX.sec(1_100).rawValue - 1)) == [])
        #expect(t.bids() == [t.resting(1, leaves: 10)])
        #expect(t.send(.heartbeat, at: TX.sec(1_100)) == [t.expired(1, leaves: 10), t.delta(.buy, 99, 0)])
        #expect(t.engine.order(OrderID(1)) == nil)
        #expect(t.send(.heartbeat, at: TX.sec(1_200)) == [])
    }

    @Test func gtdOrdersExpireByExpiryTimeThenOrderID() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 10, at: 98, tif: .gtd, expireAt: TX.sec(1_060)))
        t.send(t.limit(3, .buy, 30, at: 97, tif: .gtd, expireAt: TX.sec(1_050)))
        t.send(t.limit(2, .buy, 20, at: 97, tif: .gtd, expireAt: TX.sec(1_050)))
        t.send(t.limit(4, .buy, 40, at: 97, tif: .gtd, expireAt: TX.sec(1_070)))
        #expect(
            t.send(.heartbeat, at: TX.sec(1_065)) == [
                t.expired(2, leaves: 20),
                t.delta(.buy, 97, 70),
                t.expired(3, leaves: 30),
                t.delta(.buy, 97, 40),
                t.expired(1, leaves: 10),
                t.delta(.buy, 98, 0),
            ])
        #expect(t.send(.heartbeat, at: TX.sec(1_070)) == [t.expired(4, leaves: 40), t.delta(.buy, 97, 0)])
    }

    @Test func gtdOrderingSpansSymbols() throws {
        var t = try EngineTranscript([TX.plain(TX.acme), TX.plain(TX.beta)])
        t.send(t.limit(2, .buy, 20, at: 97, tif: .gtd, expireAt: TX.sec(1_050), symbol: TX.beta))
        t.send(t.limit(3, .sell, 30, at: 103, tif: .gtd, expireAt: TX.sec(1_040), symbol: TX.beta))
        t.send(t.limit(1, .buy, 10, at: 98, tif: .gtd, expireAt: TX.sec(1_050)))
        t.send(t.stop(4, .sell, 40, stop: 90, tif: .gtd, expireAt: TX.sec(1_050)))
        #expect(
            t.send(.heartbeat, at: TX.sec(1_100)) == [
                t.expired(3, leaves: 30, symbol: TX.beta),
                t.delta(.sell, 103, 0, symbol: TX.beta),
                t.expired(1, leaves: 10),
                t.delta(.buy, 98, 0),
                t.expired(2, leaves: 20, symbol: TX.beta),
                t.delta(.buy, 97, 0, symbol: TX.beta),
                t.expired(4, leaves: 40),
            ])
    }

    @Test func gtdExpiryRunsBeforeTheCommand() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101, tif: .gtd, expireAt: TX.sec(1_100)))
        let b2 = t.limit(2, .buy, 10, at: 101)
        #expect(
            t.send(b2, at: TX.sec(1_100)) == [
                t.expired(1, leaves: 10),
                t.delta(.sell, 101, 0),
                t.accepted(b2),
                t.delta(.buy, 101, 10),
            ])
    }

    @Test func gtdExpiryRunsEvenWhenTheCommandIsRejected() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101, tif: .gtd, expireAt: TX.sec(1_100)))
        let cancel = t.cancel(99, participant: 2)
        #expect(
            t.send(cancel, at: TX.sec(1_100)) == [
                t.expired(1, leaves: 10),
                t.delta(.sell, 101, 0),
                t.rejected(cancel, .unknownOrder),
            ])
    }

    @Test func aPartiallyFilledGTDOrderExpiresWithItsLeaves() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 50, at: 101, tif: .gtd, expireAt: TX.sec(1_100)))
        t.send(t.limit(2, .buy, 20, at: 101, tif: .ioc))
        #expect(t.send(.heartbeat, at: TX.sec(1_200)) == [t.expired(1, leaves: 30), t.delta(.sell, 101, 0)])
    }

    @Test func anUntriggeredGTDStopExpiresWithoutABookDelta() throws {
        var t = try EngineTranscript()
        let st1 = t.stop(1, .buy, 10, stop: 110, tif: .gtd, expireAt: TX.sec(1_100))
        #expect(t.send(st1) == [t.accepted(st1)])
        #expect(t.send(.heartbeat, at: TX.sec(1_100)) == [t.expired(1, leaves: 10)])
        #expect(t.engine.untriggeredStops(TX.acme) == [])
        #expect(t.engine.liveOrderCount == 0)
    }

    @Test func endOfSessionDoesNotExpireGTDOrders() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 10, at: 99, tif: .gtd, expireAt: TX.sec(5_000)))
        #expect(t.send(.endOfSession) == [])
        #expect(t.bids() == [t.resting(1, leaves: 10)])
    }

    // MARK: Post-only

    @Test func postOnlyRestsOrIsRejectedWhenItWouldTrade() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101))
        let b2 = t.limit(2, .buy, 10, at: 100, postOnly: true)
        #expect(t.send(b2) == [t.accepted(b2), t.delta(.buy, 100, 10)])
        let b3 = t.limit(3, .buy, 10, at: 101, postOnly: true)
        #expect(t.send(b3) == [t.rejected(b3, .postOnlyWouldTrade)])
        let b4 = t.limit(4, .buy, 10, at: 102, postOnly: true)
        #expect(t.send(b4) == [t.rejected(b4, .postOnlyWouldTrade)])
        let s5 = t.limit(5, .sell, 10, at: 100, postOnly: true)
        #expect(t.send(s5) == [t.rejected(s5, .postOnlyWouldTrade)])
        let s6 = t.limit(6, .sell, 10, at: 101, tif: .day, postOnly: true)
        #expect(t.send(s6) == [t.accepted(s6), t.delta(.sell, 101, 20)])
        let s7 = t.limit(7, .sell, 10, at: 109, tif: .gtd, postOnly: true, expireAt: TX.sec(2_000))
        #expect(t.send(s7) == [t.accepted(s7), t.delta(.sell, 109, 10)])
        #expect(t.asks() == [t.resting(1, leaves: 10), t.resting(6, leaves: 10), t.resting(7, leaves: 10)])
        #expect(t.engine.order(OrderID(6))?.postOnly == true)
    }

    @Test func postOnlyRestsOnAnEmptyOppositeSide() throws {
        var t = try EngineTranscript()
        let b1 = t.limit(1, .buy, 10, at: 500, postOnly: true)
        #expect(t.send(b1) == [t.accepted(b1), t.delta(.buy, 500, 10)])
    }
}
