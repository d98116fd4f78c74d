import ExchangeCore
import Matching
import Testing

/// §7 volatility breaker, §8 price band and reference price. (Reopening auction prices: AuctionTranscripts.)
@Suite("Price band and breaker transcripts")
struct BandAndBreakerTranscripts {
    /// Reference 100, band ±10%, breaker off.
    private static func banded(tick: Int64 = 1) -> InstrumentRules {
        InstrumentRules(
            symbol: TX.acme, tickSize: tick, priceBandBasisPoints: 1_000, referencePrice: Price(100 * tick),
            breakerThresholdBasisPoints: 0)
    }

    private static let reopen = TX.sec(1_300)

    // MARK: Price band (§8)

    @Test func limitPricesMustLieWithinTheBandInclusive() throws {
        var t = try EngineTranscript([Self.banded()])
        let b1 = t.limit(1, .buy, 10, at: 90)
        #expect(t.send(b1) == [t.accepted(b1), t.delta(.buy, 90, 10)])
        let b2 = t.limit(2, .buy, 10, at: 89)
        #expect(t.send(b2) == [t.rejected(b2, .priceOutsideBand)])
        let s3 = t.limit(3, .sell, 10, at: 110)
        #expect(t.send(s3) == [t.accepted(s3), t.delta(.sell, 110, 10)])
        let s4 = t.limit(4, .sell, 10, at: 111)
        #expect(t.send(s4) == [t.rejected(s4, .priceOutsideBand)])
    }

    @Test func stopLimitsAreCheckedOnTheirLimitPriceAndStopsNotAtAll() throws {
        var t = try EngineTranscript([Self.banded()])
        let st1 = t.stopLimit(1, .buy, 10, at: 111, stop: 105)
        #expect(t.send(st1) == [t.rejected(st1, .priceOutsideBand)])
        let st2 = t.stop(2, .buy, 10, stop: 150)
        #expect(t.send(st2) == [t.accepted(st2)])
        let st3 = t.stopLimit(3, .buy, 10, at: 105, stop: 150)
        #expect(t.send(st3) == [t.accepted(st3)])
    }

    @Test func marketOrdersAreNotBandChecked() throws {
        var t = try EngineTranscript([Self.banded()])
        t.send(t.limit(1, .sell, 10, at: 110))
        let m2 = t.market(2, .buy, 10)
        #expect(
            t.send(m2) == [
                t.accepted(m2),
                t.trade(0, price: 110, quantity: 10, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 110, 0),
            ])
    }

    @Test func theReferenceFollowsEveryTrade() throws {
        var t = try EngineTranscript([Self.banded()])
        t.tradeOnce(at: 105)
        #expect(t.engine.symbolStatus(TX.acme)?.referencePrice == Price(105))
        let b1 = t.limit(1, .buy, 10, at: 94)
        #expect(t.send(b1) == [t.rejected(b1, .priceOutsideBand)])
        let b2 = t.limit(2, .buy, 10, at: 95)
        #expect(t.send(b2) == [t.accepted(b2), t.delta(.buy, 95, 10)])
        let s3 = t.limit(3, .sell, 10, at: 116)
        #expect(t.send(s3) == [t.rejected(s3, .priceOutsideBand)])
        let s4 = t.limit(4, .sell, 10, at: 115)
        #expect(t.send(s4) == [t.accepted(s4), t.delta(.sell, 115, 10)])
    }

    @Test func setPriceBandChangesTheBandAndOptionallyTheReference() throws {
        var t = try EngineTranscript([Self.banded()])
        #expect(
            t.send(.setPriceBand(TX.acme, basisPoints: 500, referencePrice: .zero))
                == [t.priceBandSet(500, reference: 100)])
        let b1 = t.limit(1, .buy, 10, at: 94)
        #expect(t.send(b1) == [t.rejected(b1, .priceOutsideBand)])
        let b2 = t.limit(2, .buy, 10, at: 95)
        #expect(t.send(b2) == [t.accepted(b2), t.delta(.buy, 95, 10)])
        let s3 = t.limit(3, .sell, 10, at: 106)
        #expect(t.send(s3) == [t.rejected(s3, .priceOutsideBand)])

        #expect(
            t.send(.setPriceBand(TX.acme, basisPoints: 1_000, referencePrice: Price(200)))
                == [t.priceBandSet(1_000, reference: 200)])
        #expect(
            t.engine.symbolStatus(TX.acme)
                == SymbolStatus(
                    symbol: TX.acme, status: .trading, referencePrice: Price(200), priceBandBasisPoints: 1_000,
                    lastTradePrice: nil))
        let b4 = t.limit(4, .buy, 10, at: 179)
        #expect(t.send(b4) == [t.rejected(b4, .priceOutsideBand)])
        let s5 = t.limit(5, .sell, 10, at: 221)
        #expect(t.send(s5) == [t.rejected(s5, .priceOutsideBand)])
        let s6 = t.limit(6, .sell, 10, at: 220)
        #expect(t.send(s6) == [t.accepted(s6), t.delta(.sell, 220, 10)])

        #expect(
            t.send(.setPriceBand(TX.acme, basisPoints: 0, referencePrice: .zero))
                == [t.priceBandSet(0, reference: 200)])
        let s7 = t.limit(7, .sell, 10, at: 10_000)
        #expect(t.send(s7) == [t.accepted(s7), t.delta(.sell, 10_000, 10)])
        let b8 = t.limit(8, .buy, 10, at: 1)
        #expect(t.send(b8) == [t.accepted(b8), t.delta(.buy, 1, 10)])
    }

    @Test func setPriceBandValidationFirstFailingCheckWins() throws {
        var t = try EngineTranscript([Self.banded(tick: 5)])
        let nope = Symbol("NOPE")
        let before = t.observe()
        func reject(_ symbol: Symbol, _ bp: Int64, _ reference: Int64, _ reason: RejectReason) {
            let events = t.send(.setPriceBand(symbol, basisPoints: bp, referencePrice: Price(reference)))
            #expect(events == [t.operatorRejected(reason, symbol: symbol)], "\(symbol) \(bp) \(reference)")
        }
        reject(nope, -1, -5, .unknownSymbol)
        reject(TX.acme, -1, -5, .invalidPriceBand)
        reject(TX.acme, 100_001, 0, .invalidPriceBand)
        reject(TX.acme, 1_000, -5, .invalidPrice)
        reject(TX.acme, 1_000, 102, .invalidPrice)
        reject(TX.acme, 1_000, Price.maximum.rawValue + 5, .invalidPrice)
        #expect(t.observe() == before)

        #expect(
            t.send(.setPriceBand(TX.acme, basisPoints: 100_000, referencePrice: Price.maximum))
                == [t.priceBandSet(100_000, reference: Price.maximum.rawValue)])
    }

    // MARK: Breaker (§7)

    /// Trade at 100 (orders 900/901) at second 1000, then asks s3 10@105 and s4 10@111.
    private func breakerBook(_ t: inout EngineTranscript) {
        t.tradeOnce(at: 100)
        t.send(t.limit(3, .sell, 10, at: 105))
        t.send(t.limit(4, .sell, 10, at: 111))
    }

    @Test func aBreachingTradeHaltsBeforeTheFillAndALimitAggressorRestsCrossed() throws {
        var t = try EngineTranscript([TX.breaker()])
        breakerBook(&t)
        let b5 = t.limit(5, .buy, 30, at: 111)
        #expect(
            t.send(b5) == [
                t.accepted(b5),
                t.trade(0, price: 105, quantity: 10, aggressor: .buy, buy: 5, sell: 3, buyLeaves: 20, sellLeaves: 0),
                t.delta(.sell, 105, 0),
                t.halted(.volatility, reopenAt: Self.reopen),
                t.delta(.buy, 111, 20),
            ])
        #expect(t.bids() == [t.resting(5, leaves: 20)])
        #expect(t.asks() == [t.resting(4, leaves: 10)])
        #expect(
            t.engine.symbolStatus(TX.acme)
                == SymbolStatus(
                    symbol: TX.acme, status: .halted(.volatility, reopenAt: Self.reopen),
                    referencePrice: Price(105), priceBandBasisPoints: 0, lastTradePrice: Price(105)))

        #expect(t.send(.heartbeat, at: TX.sec(1_299)) == [])
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.auction(price: 111, volume: 10, imbalance: 10),
                t.trade(0, price: 111, quantity: 10, aggressor: nil, buy: 5, sell: 4, buyLeaves: 10, sellLeaves: 0),
                t.delta(.buy, 111, 10),
                t.delta(.sell, 111, 0),
                t.resumed(),
            ])
        #expect(
            t.engine.symbolStatus(TX.acme)
                == SymbolStatus(
                    symbol: TX.acme, status: .trading, referencePrice: Price(111), priceBandBasisPoints: 0,
                    lastTradePrice: Price(111)))
    }

    @Test func anIOCOrMarketAggressorIsCancelledWhenTheBreakerHalts() throws {
        for type in [OrderType.limit, .market] {
            var t = try EngineTranscript([TX.breaker()])
            breakerBook(&t)
            let b5 = type == .limit ? t.limit(5, .buy, 30, at: 111, tif: .ioc) : t.market(5, .buy, 30)
            #expect(
                t.send(b5) == [
                    t.accepted(b5),
                    t.trade(
                        0, price: 105, quantity: 10, aggressor: .buy, buy: 5, sell: 3, buyLeaves: 20, sellLeaves: 0),
                    t.delta(.sell, 105, 0),
                    t.halted(.volatility, reopenAt: Self.reopen),
                    t.cancelled(5, 20, leaves: 0, .halted),
                ])
            #expect(
                t.send(.heartbeat, at: Self.reopen) == [t.auction(price: 105, volume: 0, imbalance: 0), t.resumed()])
            #expect(t.asks() == [t.resting(4, leaves: 10)])
        }
    }

    @Test func aMoveOfExactlyTheThresholdDoesNotHalt() throws {
        var up = try EngineTranscript([TX.breaker()])
        up.tradeOnce(at: 100)
        up.send(up.limit(3, .sell, 10, at: 110))
        let b4 = up.limit(4, .buy, 10, at: 110)
        #expect(
            up.send(b4) == [
                up.accepted(b4),
                up.trade(0, price: 110, quantity: 10, aggressor: .buy, buy: 4, sell: 3, buyLeaves: 0, sellLeaves: 0),
                up.delta(.sell, 110, 0),
            ])

        var down = try EngineTranscript([TX.breaker()])
        down.tradeOnce(at: 100)
        down.send(down.limit(3, .buy, 10, at: 90))
        let s4 = down.limit(4, .sell, 10, at: 90)
        #expect(
            down.send(s4) == [
                down.accepted(s4),
                down.trade(0, price: 90, quantity: 10, aggressor: .sell, buy: 3, sell: 4, buyLeaves: 0, sellLeaves: 0),
                down.delta(.buy, 90, 0),
            ])
    }

    @Test func aFallBelowTheWindowMaximumHalts() throws {
        var t = try EngineTranscript([TX.breaker()])
        t.tradeOnce(at: 100)
        t.tradeOnce(at: 105, sellID: 902, buyID: 903)
        t.send(t.limit(5, .buy, 10, at: 95))
        t.send(t.limit(6, .buy, 10, at: 94))
        let s7 = t.limit(7, .sell, 20, at: 94, tif: .ioc)
        #expect(
            t.send(s7) == [
                t.accepted(s7),
                t.trade(0, price: 95, quantity: 10, aggressor: .sell, buy: 5, sell: 7, buyLeaves: 0, sellLeaves: 10),
                t.delta(.buy, 95, 0),
                t.halted(.volatility, reopenAt: Self.reopen),
                t.cancelled(7, 10, leaves: 0, .halted),
            ])
        #expect(t.bids() == [t.resting(6, leaves: 10)])
    }

    @Test func theWindowCoversWholeSeconds() throws {
        let first = Timestamp(nanoseconds: TX.sec(1_000).rawValue + 500_000_000)
        let lastInWindow = Timestamp(nanoseconds: TX.sec(1_059).rawValue + 999_999_999)

        var inside = try EngineTranscript([TX.breaker()], start: first)
        inside.tradeOnce(at: 100)
        inside.send(inside.limit(3, .sell, 10, at: 111))
        let b4 = inside.limit(4, .buy, 10, at: 111, tif: .ioc)
        #expect(
            inside.send(b4, at: lastInWindow) == [
                inside.accepted(b4),
                inside.halted(.volatility, reopenAt: lastInWindow.adding(seconds: 300)),
                inside.cancelled(4, 10, leaves: 0, .halted),
            ])

        var outside = try EngineTranscript([TX.breaker()], start: first)
        outside.tradeOnce(at: 100)
        outside.send(outside.limit(3, .sell, 10, at: 111))
        let b5 = outside.limit(5, .buy, 10, at: 111, tif: .ioc)
        #expect(
            outside.send(b5, at: TX.sec(1_060)) == [
                outside.accepted(b5),
                outside.trade(
                    0, price: 111, quantity: 10, aggressor: .buy, buy: 5, sell: 3, buyLeaves: 0, sellLeaves: 0),
                outside.delta(.sell, 111, 0),
            ])
    }

    @Test func theFirstTradeIntoAnEmptyWindowNeverHalts() throws {
        var t = try EngineTranscript([TX.breaker()])
        t.send(t.limit(1, .sell, 10, at: 150))
        let b2 = t.limit(2, .buy, 10, at: 150)
        #expect(
            t.send(b2) == [
                t.accepted(b2),
                t.trade(0, price: 150, quantity: 10, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 150, 0),
            ])
        #expect(t.engine.symbolStatus(TX.acme)?.status == .trading)
    }

    @Test func aZeroThresholdDisablesTheBreaker() throws {
        var t = try EngineTranscript([TX.plain()])
        t.tradeOnce(at: 100)
        t.send(t.limit(1, .sell, 10, at: 200))
        let b2 = t.limit(2, .buy, 10, at: 200)
        #expect(
            t.send(b2) == [
                t.accepted(b2),
                t.trade(0, price: 200, quantity: 10, aggressor: .buy, buy: 2, sell: 1, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 200, 0),
            ])
    }

    @Test func aHaltedSymbolAcceptsOnlyCancels() throws {
        var t = try EngineTranscript([TX.breaker()])
        breakerBook(&t)
        t.send(t.limit(5, .buy, 30, at: 111))
        let before = t.observe()
        let b6 = t.limit(6, .buy, 10, at: 100)
        #expect(t.send(b6) == [t.rejected(b6, .symbolHalted)])
        let st7 = t.stop(7, .buy, 10, stop: 120)
        #expect(t.send(st7) == [t.rejected(st7, .symbolHalted)])
        let r = t.replace(5, price: 110, quantity: 20)
        #expect(t.send(r) == [t.rejected(r, .symbolHalted)])
        #expect(t.observe() == before)

        #expect(t.send(t.cancel(5)) == [t.cancelled(5, 20, leaves: 0, .requested), t.delta(.buy, 111, 0)])
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [t.auction(price: 105, volume: 0, imbalance: 0), t.resumed()])
    }

    @Test func expiryStillHappensWhileHalted() throws {
        var t = try EngineTranscript([TX.breaker()])
        breakerBook(&t)
        t.send(t.limit(6, .sell, 10, at: 120, tif: .gtd, expireAt: TX.sec(1_100)))
        t.send(t.limit(7, .sell, 10, at: 121, tif: .day))
        t.send(t.limit(5, .buy, 30, at: 111, tif: .ioc))
        #expect(t.engine.symbolStatus(TX.acme)?.status == .halted(.volatility, reopenAt: Self.reopen))
        #expect(t.send(.heartbeat, at: TX.sec(1_100)) == [t.expired(6, leaves: 10), t.delta(.sell, 120, 0)])
        #expect(t.send(.endOfSession) == [t.expired(7, leaves: 10), t.delta(.sell, 121, 0)])
    }

    @Test func expiryRunsBeforeTheReopeningInTheSameCall() throws {
        var t = try EngineTranscript([TX.breaker()])
        breakerBook(&t)
        t.send(t.limit(5, .buy, 30, at: 111, tif: .gtd, expireAt: Self.reopen))
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.expired(5, leaves: 20),
                t.delta(.buy, 111, 0),
                t.auction(price: 105, volume: 0, imbalance: 0),
                t.resumed(),
            ])
    }

    @Test func aFOKFailsInsteadOfHalting() throws {
        var t = try EngineTranscript([TX.breaker()])
        breakerBook(&t)
        let before = t.observe()
        let b5 = t.limit(5, .buy, 20, at: 111, tif: .fok)
        #expect(t.send(b5) == [t.accepted(b5), t.cancelled(5, 20, leaves: 0, .fillOrKill)])
        #expect(t.observe() == before)
        #expect(t.engine.symbolStatus(TX.acme)?.status == .trading)
    }

    @Test func aFOKPassesWhenTheBreachingOrderLiesBeyondItsFill() throws {
        var t = try EngineTranscript([TX.breaker()])
        breakerBook(&t)
        let b5 = t.limit(5, .buy, 10, at: 111, tif: .fok)
        #expect(
            t.send(b5) == [
                t.accepted(b5),
                t.trade(0, price: 105, quantity: 10, aggressor: .buy, buy: 5, sell: 3, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 105, 0),
            ])
        #expect(t.engine.symbolStatus(TX.acme)?.status == .trading)
    }

    @Test func theFOKCheckCountsItsOwnFillsInTheWindow() throws {
        var t = try EngineTranscript([TX.breaker()])
        t.send(t.limit(1, .sell, 10, at: 100))
        t.send(t.limit(2, .sell, 10, at: 111))
        let b3 = t.limit(3, .buy, 20, at: 111, tif: .fok)
        #expect(t.send(b3) == [t.accepted(b3), t.cancelled(3, 20, leaves: 0, .fillOrKill)])
        #expect(t.engine.symbolStatus(TX.acme)?.status == .trading)

        var ok = try EngineTranscript([TX.breaker()])
        ok.send(ok.limit(1, .sell, 10, at: 100))
        ok.send(ok.limit(2, .sell, 10, at: 110))
        let b4 = ok.limit(4, .buy, 20, at: 110, tif: .fok)
        #expect(
            ok.send(b4) == [
                ok.accepted(b4),
                ok.trade(0, price: 100, quantity: 10, aggressor: .buy, buy: 4, sell: 1, buyLeaves: 10, sellLeaves: 0),
                ok.delta(.sell, 100, 0),
                ok.trade(1, price: 110, quantity: 10, aggressor: .buy, buy: 4, sell: 2, buyLeaves: 0, sellLeaves: 0),
                ok.delta(.sell, 110, 0),
            ])
    }

    @Test func aTriggeredStopThatHaltsEndsTheTriggerLoopUntilTheReopening() throws {
        var t = try EngineTranscript([TX.breaker()])
        t.tradeOnce(at: 100)
        t.send(t.limit(3, .sell, 10, at: 105))
        t.send(t.limit(4, .sell, 10, at: 112))
        t.send(t.stop(5, .buy, 10, stop: 104))
        t.send(t.stop(6, .buy, 5, stop: 104))
        let b7 = t.limit(7, .buy, 10, at: 105)
        #expect(
            t.send(b7) == [
                t.accepted(b7),
                t.trade(0, price: 105, quantity: 10, aggressor: .buy, buy: 7, sell: 3, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 105, 0),
                t.triggered(5, stop: 104, last: 105),
                t.halted(.volatility, reopenAt: Self.reopen),
                t.cancelled(5, 10, leaves: 0, .halted),
            ])
        #expect(t.engine.untriggeredStops(TX.acme)?.map(\.orderID) == [OrderID(6)])

        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.auction(price: 105, volume: 0, imbalance: 0),
                t.resumed(),
                t.triggered(6, stop: 104, last: 105),
                t.trade(0, price: 112, quantity: 5, aggressor: .buy, buy: 6, sell: 4, buyLeaves: 0, sellLeaves: 5),
                t.delta(.sell, 112, 5),
            ])
    }

    @Test func aReplaceThatBreachesHaltsAndRests() throws {
        var t = try EngineTranscript([TX.breaker()])
        t.tradeOnce(at: 100)
        t.send(t.limit(3, .sell, 10, at: 111))
        t.send(t.limit(4, .buy, 10, at: 99))
        let r = t.replace(4, price: 111, quantity: 10)
        #expect(
            t.send(r) == [
                t.replaced(r, leaves: 10, kept: false),
                t.delta(.buy, 99, 0),
                t.halted(.volatility, reopenAt: Self.reopen),
                t.delta(.buy, 111, 10),
            ])
    }

    // MARK: Manual halt and resume (§10)

    @Test func manualHaltAndResume() throws {
        var t = try EngineTranscript([TX.breaker()])
        #expect(t.send(.halt(TX.acme)) == [t.halted(.manual)])
        #expect(t.engine.symbolStatus(TX.acme)?.status == .halted(.manual, reopenAt: .zero))
        #expect(t.send(.halt(TX.acme)) == [t.operatorRejected(.symbolHalted)])
        let b1 = t.limit(1, .buy, 10, at: 99)
        #expect(t.send(b1) == [t.rejected(b1, .symbolHalted)])
        #expect(t.send(.heartbeat, at: TX.sec(100_000)) == [])
        #expect(t.send(.resume(TX.acme)) == [t.auction(price: 100, volume: 0, imbalance: 0), t.resumed()])
        #expect(t.engine.symbolStatus(TX.acme)?.status == .trading)
        #expect(t.send(.resume(TX.acme)) == [t.operatorRejected(.symbolNotHalted)])
        let nope = Symbol("NOPE")
        #expect(t.send(.halt(nope)) == [t.operatorRejected(.unknownSymbol, symbol: nope)])
        #expect(t.send(.resume(nope)) == [t.operatorRejected(.unknownSymbol, symbol: nope)])
    }

    @Test func aManualHaltOfABreakerHaltCancelsTheAutomaticReopening() throws {
        var t = try EngineTranscript([TX.breaker()])
        breakerBook(&t)
        t.send(t.limit(5, .buy, 30, at: 111))
        #expect(t.send(.halt(TX.acme)) == [t.halted(.manual)])
        #expect(t.send(.heartbeat, at: TX.sec(1_400)) == [])
        #expect(t.engine.symbolStatus(TX.acme)?.status == .halted(.manual, reopenAt: .zero))
        #expect(
            t.send(.resume(TX.acme)) == [
                t.auction(price: 111, volume: 10, imbalance: 10),
                t.trade(0, price: 111, quantity: 10, aggressor: nil, buy: 5, sell: 4, buyLeaves: 10, sellLeaves: 0),
                t.delta(.buy, 111, 10),
                t.delta(.sell, 111, 0),
                t.resumed(),
            ])
    }

    @Test func reopeningsRunByReopenTimeThenConfigurationOrder() throws {
        func halt(_ t: inout EngineTranscript, _ symbol: Symbol, base: UInt64, at time: Timestamp) {
            t.tradeOnce(at: 100, sellID: base, buyID: base + 1, symbol: symbol, time: time)
            t.send(t.limit(base + 2, .sell, 10, at: 111, symbol: symbol), at: time)
            let events = t.send(t.limit(base + 3, .buy, 10, at: 111, tif: .ioc, symbol: symbol), at: time)
            #expect(events.contains(t.halted(.volatility, reopenAt: time.adding(seconds: 300), symbol: symbol)))
        }
        let config = [TX.breaker(TX.zeta), TX.breaker(TX.acme)]

        var same = try EngineTranscript(config)
        halt(&same, TX.acme, base: 10, at: TX.sec(1_000))
        halt(&same, TX.zeta, base: 20, at: TX.sec(1_000))
        #expect(
            same.send(.heartbeat, at: TX.sec(1_300)) == [
                same.auction(price: 100, volume: 0, imbalance: 0, symbol: TX.zeta),
                same.resumed(symbol: TX.zeta),
                same.auction(price: 100, volume: 0, imbalance: 0, symbol: TX.acme),
                same.resumed(symbol: TX.acme),
            ])

        var apart = try EngineTranscript(config)
        halt(&apart, TX.acme, base: 10, at: TX.sec(1_000))
        halt(&apart, TX.zeta, base: 20, at: TX.sec(1_001))
        #expect(
            apart.send(.heartbeat, at: TX.sec(1_400)) == [
                apart.auction(price: 100, volume: 0, imbalance: 0, symbol: TX.acme),
                apart.resumed(symbol: TX.acme),
                apart.auction(price: 100, volume: 0, imbalance: 0, symbol: TX.zeta),
                apart.resumed(symbol: TX.zeta),
            ])
    }
}
