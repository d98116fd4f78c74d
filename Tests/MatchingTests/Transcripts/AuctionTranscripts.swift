import ExchangeCore
import Matching
import Testing

/// §10: the reopening call auction after a breaker halt: price rules, uncrossing, window, triggers.
///
/// Every book here is crossed by one limit aggressor that the breaker halted (the only way a book crosses).
/// Breaker: 10% over 60 s, 300 s cooling off, so a halt at second 1000 reopens at second 1300.
@Suite("Reopening auction transcripts")
struct AuctionTranscripts {
    private static let reopen = TX.sec(1_300)

    /// Trade at 100; bid c3 20@95; asks a4 30@105, a5 40@112, a6 20@115; g7 buys 100@115, trades 30 at 105,
    /// and halts before 112 (> 110), resting 70 at 115.
    private func maximumVolumeBook(withStop: Bool = false) throws -> EngineTranscript {
        var t = try EngineTranscript([TX.breaker()])
        t.tradeOnce(at: 100)
        t.send(t.limit(3, .buy, 20, at: 95))
        t.send(t.limit(4, .sell, 30, at: 105))
        t.send(t.limit(5, .sell, 40, at: 112))
        t.send(t.limit(6, .sell, 20, at: 115))
        if withStop {
            t.send(t.stop(8, .buy, 5, stop: 113))
            t.send(t.limit(9, .sell, 10, at: 120))
        }
        let g7 = t.limit(7, .buy, 100, at: 115)
        #expect(
            t.send(g7) == [
                t.accepted(g7),
                t.trade(0, price: 105, quantity: 30, aggressor: .buy, buy: 7, sell: 4, buyLeaves: 70, sellLeaves: 0),
                t.delta(.sell, 105, 0),
                t.halted(.volatility, reopenAt: Self.reopen),
                t.delta(.buy, 115, 70),
            ])
        return t
    }

    @Test func theAuctionPriceMaximisesVolume() throws {
        var t = try maximumVolumeBook()
        // 95: 90 vs 0; 112: 70 vs 40; 115: 70 vs 60 -> 115, volume 60, imbalance +10.
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.auction(price: 115, volume: 60, imbalance: 10),
                t.trade(0, price: 115, quantity: 40, aggressor: nil, buy: 7, sell: 5, buyLeaves: 30, sellLeaves: 0),
                t.delta(.buy, 115, 30),
                t.delta(.sell, 112, 0),
                t.trade(1, price: 115, quantity: 20, aggressor: nil, buy: 7, sell: 6, buyLeaves: 10, sellLeaves: 0),
                t.delta(.buy, 115, 10),
                t.delta(.sell, 115, 0),
                t.resumed(),
            ])
        #expect(t.bids() == [t.resting(7, leaves: 10), t.resting(3, leaves: 20)])
        #expect(t.asks() == [])
        #expect(
            t.engine.symbolStatus(TX.acme)
                == SymbolStatus(
                    symbol: TX.acme, status: .trading, referencePrice: Price(115), priceBandBasisPoints: 0,
                    lastTradePrice: Price(115)))
    }

    @Test func triggersRunAfterTheReopening() throws {
        var t = try maximumVolumeBook(withStop: true)
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.auction(price: 115, volume: 60, imbalance: 10),
                t.trade(0, price: 115, quantity: 40, aggressor: nil, buy: 7, sell: 5, buyLeaves: 30, sellLeaves: 0),
                t.delta(.buy, 115, 30),
                t.delta(.sell, 112, 0),
                t.trade(1, price: 115, quantity: 20, aggressor: nil, buy: 7, sell: 6, buyLeaves: 10, sellLeaves: 0),
                t.delta(.buy, 115, 10),
                t.delta(.sell, 115, 0),
                t.resumed(),
                t.triggered(8, stop: 113, last: 115),
                t.trade(2, price: 120, quantity: 5, aggressor: .buy, buy: 8, sell: 9, buyLeaves: 0, sellLeaves: 5),
                t.delta(.sell, 120, 5),
            ])
    }

    @Test func aCommandAtTheReopeningTimeRunsAfterTheAuctionAndContinuesItsTradeIndices() throws {
        var t = try EngineTranscript([TX.breaker()])
        t.tradeOnce(at: 100)
        t.send(t.limit(3, .sell, 10, at: 105))
        t.send(t.limit(4, .sell, 10, at: 111))
        t.send(t.limit(5, .buy, 30, at: 111))
        let s6 = t.limit(6, .sell, 5, at: 111)
        #expect(
            t.send(s6, at: Self.reopen) == [
                t.auction(price: 111, volume: 10, imbalance: 10),
                t.trade(0, price: 111, quantity: 10, aggressor: nil, buy: 5, sell: 4, buyLeaves: 10, sellLeaves: 0),
                t.delta(.buy, 111, 10),
                t.delta(.sell, 111, 0),
                t.resumed(),
                t.accepted(s6),
                t.trade(1, price: 111, quantity: 5, aggressor: .sell, buy: 5, sell: 6, buyLeaves: 5, sellLeaves: 0),
                t.delta(.buy, 111, 5),
            ])
    }

    /// Trade at 100, then the operator moves the reference to `reference`; asks a3 `first`@112 and a4 `second`@114;
    /// g5 buys 50@`limit` and halts at once (112 > 110), resting 50.
    private func referenceBook(
        reference: Int64, first: Int64, second: Int64, limit: Int64
    ) throws -> EngineTranscript {
        var t = try EngineTranscript([TX.breaker()])
        t.tradeOnce(at: 100)
        #expect(
            t.send(.setPriceBand(TX.acme, basisPoints: 0, referencePrice: Price(reference)))
                == [t.priceBandSet(0, reference: reference)])
        t.send(t.limit(3, .sell, first, at: 112))
        t.send(t.limit(4, .sell, second, at: 114))
        let g5 = t.limit(5, .buy, 50, at: limit)
        #expect(
            t.send(g5) == [
                t.accepted(g5), t.halted(.volatility, reopenAt: Self.reopen), t.delta(.buy, limit, 50),
            ])
        return t
    }

    @Test func equalVolumesGoToTheSmallestImbalanceEvenAwayFromTheReference() throws {
        var t = try referenceBook(reference: 116, first: 60, second: 20, limit: 116)
        // 112: 50 vs 60 (-10); 114: 50 vs 80 (-30); 116: 50 vs 80 (-30) -> 112.
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.auction(price: 112, volume: 50, imbalance: -10),
                t.trade(0, price: 112, quantity: 50, aggressor: nil, buy: 5, sell: 3, buyLeaves: 0, sellLeaves: 10),
                t.delta(.buy, 116, 0),
                t.delta(.sell, 112, 10),
                t.resumed(),
            ])
        #expect(t.asks() == [t.resting(3, leaves: 10), t.resting(4, leaves: 20)])
    }

    @Test func equalVolumeAndImbalanceGoToThePriceNearestTheReference() throws {
        var t = try referenceBook(reference: 116, first: 40, second: 20, limit: 116)
        // 112: 50 vs 40 (volume 40); 114 and 116: 50 vs 60 (-10) -> 116 is nearest to 116.
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.auction(price: 116, volume: 50, imbalance: -10),
                t.trade(0, price: 116, quantity: 40, aggressor: nil, buy: 5, sell: 3, buyLeaves: 10, sellLeaves: 0),
                t.delta(.buy, 116, 10),
                t.delta(.sell, 112, 0),
                t.trade(1, price: 116, quantity: 10, aggressor: nil, buy: 5, sell: 4, buyLeaves: 0, sellLeaves: 10),
                t.delta(.buy, 116, 0),
                t.delta(.sell, 114, 10),
                t.resumed(),
            ])
    }

    @Test func equallyNearPricesGoToTheLowerPrice() throws {
        var t = try referenceBook(reference: 115, first: 40, second: 20, limit: 116)
        // 114 and 116 tie on volume 50, imbalance -10 and distance 1 -> 114.
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.auction(price: 114, volume: 50, imbalance: -10),
                t.trade(0, price: 114, quantity: 40, aggressor: nil, buy: 5, sell: 3, buyLeaves: 10, sellLeaves: 0),
                t.delta(.buy, 116, 10),
                t.delta(.sell, 112, 0),
                t.trade(1, price: 114, quantity: 10, aggressor: nil, buy: 5, sell: 4, buyLeaves: 0, sellLeaves: 10),
                t.delta(.buy, 116, 0),
                t.delta(.sell, 114, 10),
                t.resumed(),
            ])
    }

    @Test func aSellSideCrossPicksTheHigherPriceWhenItIsNearerTheReference() throws {
        var t = try EngineTranscript([TX.breaker()])
        t.tradeOnce(at: 100)
        t.send(t.limit(3, .buy, 30, at: 95))
        t.send(t.limit(4, .buy, 40, at: 88))
        let g5 = t.limit(5, .sell, 70, at: 85)
        #expect(
            t.send(g5) == [
                t.accepted(g5),
                t.trade(0, price: 95, quantity: 30, aggressor: .sell, buy: 3, sell: 5, buyLeaves: 0, sellLeaves: 40),
                t.delta(.buy, 95, 0),
                t.halted(.volatility, reopenAt: Self.reopen),
                t.delta(.sell, 85, 40),
            ])
        // 85 and 88: 40 vs 40; reference 95 -> 88.
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.auction(price: 88, volume: 40, imbalance: 0),
                t.trade(0, price: 88, quantity: 40, aggressor: nil, buy: 4, sell: 5, buyLeaves: 0, sellLeaves: 0),
                t.delta(.buy, 88, 0),
                t.delta(.sell, 85, 0),
                t.resumed(),
            ])
        #expect(t.engine.liveOrderCount == 0)
    }

    @Test func icebergsCountInFullButUncrossOnePeakAtATime() throws {
        var t = try EngineTranscript([TX.breaker()])
        t.tradeOnce(at: 100)
        t.send(t.limit(3, .sell, 30, at: 112, display: 10))
        let g4 = t.limit(4, .buy, 25, at: 115)
        #expect(
            t.send(g4) == [
                t.accepted(g4), t.halted(.volatility, reopenAt: Self.reopen), t.delta(.buy, 115, 25),
            ])
        // 112 and 115: 25 vs 30 (-5) each; 112 is nearer the reference 100.
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.auction(price: 112, volume: 25, imbalance: -5),
                t.trade(0, price: 112, quantity: 10, aggressor: nil, buy: 4, sell: 3, buyLeaves: 15, sellLeaves: 20),
                t.delta(.buy, 115, 15),
                t.delta(.sell, 112, 10),
                t.trade(1, price: 112, quantity: 10, aggressor: nil, buy: 4, sell: 3, buyLeaves: 5, sellLeaves: 10),
                t.delta(.buy, 115, 5),
                t.delta(.sell, 112, 10),
                t.trade(2, price: 112, quantity: 5, aggressor: nil, buy: 4, sell: 3, buyLeaves: 0, sellLeaves: 5),
                t.delta(.buy, 115, 0),
                t.delta(.sell, 112, 5),
                t.resumed(),
            ])
        #expect(t.asks() == [t.resting(3, leaves: 5, visible: 5)])
    }

    @Test func anIcebergBidRefillsDuringTheUncrossing() throws {
        var t = try EngineTranscript([TX.breaker()])
        t.tradeOnce(at: 100)
        t.send(t.limit(3, .sell, 30, at: 112))
        let g4 = t.limit(4, .buy, 25, at: 115, display: 10)
        #expect(
            t.send(g4) == [
                t.accepted(g4), t.halted(.volatility, reopenAt: Self.reopen), t.delta(.buy, 115, 10),
            ])
        #expect(
            t.send(.heartbeat, at: Self.reopen) == [
                t.auction(price: 112, volume: 25, imbalance: -5),
                t.trade(0, price: 112, quantity: 10, aggressor: nil, buy: 4, sell: 3, buyLeaves: 15, sellLeaves: 20),
                t.delta(.buy, 115, 10),
                t.delta(.sell, 112, 20),
                t.trade(1, price: 112, quantity: 10, aggressor: nil, buy: 4, sell: 3, buyLeaves: 5, sellLeaves: 10),
                t.delta(.buy, 115, 5),
                t.delta(.sell, 112, 10),
                t.trade(2, price: 112, quantity: 5, aggressor: nil, buy: 4, sell: 3, buyLeaves: 0, sellLeaves: 5),
                t.delta(.buy, 115, 0),
                t.delta(.sell, 112, 5),
                t.resumed(),
            ])
    }

    /// Breaker 10% over a 600 s window with 60 s cooling off, so old trades are still in the window at the reopening.
    /// Trade at 100 (second 1000); asks 10@105 and 10@112; g5 buys 20@112, trades at 105 and halts, resting 10.
    /// The reopening at second 1060 trades 10 at 112.
    private func longWindowReopened() throws -> EngineTranscript {
        let rules = InstrumentRules(
            symbol: TX.acme, priceBandBasisPoints: 0, referencePrice: Price(100), breakerThresholdBasisPoints: 1_000,
            breakerWindowSeconds: 600, breakerCoolingOffSeconds: 60)
        var t = try EngineTranscript([rules])
        t.tradeOnce(at: 100)
        t.send(t.limit(3, .sell, 10, at: 105))
        t.send(t.limit(4, .sell, 10, at: 112))
        let g5 = t.limit(5, .buy, 20, at: 112)
        #expect(
            t.send(g5) == [
                t.accepted(g5),
                t.trade(0, price: 105, quantity: 10, aggressor: .buy, buy: 5, sell: 3, buyLeaves: 10, sellLeaves: 0),
                t.delta(.sell, 105, 0),
                t.halted(.volatility, reopenAt: TX.sec(1_060)),
                t.delta(.buy, 112, 10),
            ])
        #expect(
            t.send(.heartbeat, at: TX.sec(1_060)) == [
                t.auction(price: 112, volume: 10, imbalance: 0),
                t.trade(0, price: 112, quantity: 10, aggressor: nil, buy: 5, sell: 4, buyLeaves: 0, sellLeaves: 0),
                t.delta(.buy, 112, 0),
                t.delta(.sell, 112, 0),
                t.resumed(),
            ])
        return t
    }

    @Test func anAuctionEmptiesTheBreakerWindow() throws {
        var t = try longWindowReopened()
        // Against the old window (min 100) 123 would breach; against the auction's 112 it does not.
        t.send(t.limit(6, .sell, 10, at: 123), at: TX.sec(1_061))
        let b7 = t.limit(7, .buy, 10, at: 123)
        #expect(
            t.send(b7) == [
                t.accepted(b7),
                t.trade(0, price: 123, quantity: 10, aggressor: .buy, buy: 7, sell: 6, buyLeaves: 0, sellLeaves: 0),
                t.delta(.sell, 123, 0),
            ])
    }

    @Test func auctionTradesEnterTheBreakerWindow() throws {
        var t = try longWindowReopened()
        // 124 * 10000 > 112 * 11000: breaches against the auction trade.
        t.send(t.limit(6, .sell, 10, at: 124), at: TX.sec(1_061))
        let b7 = t.limit(7, .buy, 10, at: 124, tif: .ioc)
        #expect(
            t.send(b7) == [
                t.accepted(b7),
                t.halted(.volatility, reopenAt: TX.sec(1_121)),
                t.cancelled(7, 10, leaves: 0, .halted),
            ])
    }
}
