import ExchangeCore
import Matching
import Testing

/// §3 and §5: every reject reason of new orders, cancels and replaces, in validation order (each command fails
/// the check under test and later ones too, so only the first failing check may win), and a rejected command
/// changes nothing observable. Operator commands: BandAndBreakerTranscripts; sessions: SessionTranscripts.
@Suite("Validation transcripts")
struct ValidationTranscripts {
    /// ACME: tick 5, lot 10, quantity 20...1000, band ±10% around 100, no breaker.
    private static let strict = InstrumentRules(
        symbol: TX.acme, tickSize: 5, lotSize: 10, minimumQuantity: Quantity(20), maximumQuantity: Quantity(1_000),
        priceBandBasisPoints: 1_000, referencePrice: Price(100), breakerThresholdBasisPoints: 0)
    private static let nope = Symbol("NOPE")
    private static let tooHigh = Price.maximum.rawValue + 5

    /// Sends `command`, expects exactly `expected`, and that no view changed.
    private func expectUnchanged(
        _ t: inout EngineTranscript, _ command: Command, _ expected: Event, at time: Timestamp? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let before = t.observe()
        #expect(t.send(command, at: time) == [expected], sourceLocation: sourceLocation)
        #expect(t.observe() == before, sourceLocation: sourceLocation)
    }

    private func reject(
        _ t: inout EngineTranscript, _ order: NewOrder, _ reason: RejectReason, at time: Timestamp? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectUnchanged(&t, .newOrder(order), t.rejected(order, reason), at: time, sourceLocation: sourceLocation)
    }

    private func reject(
        _ t: inout EngineTranscript, _ cancel: CancelOrder, _ reason: RejectReason,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectUnchanged(&t, .cancel(cancel), t.rejected(cancel, reason), sourceLocation: sourceLocation)
    }

    private func reject(
        _ t: inout EngineTranscript, _ replace: ReplaceOrder, _ reason: RejectReason,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectUnchanged(&t, .replace(replace), t.rejected(replace, reason), sourceLocation: sourceLocation)
    }

    /// A 20-lot trade at `price` on the strict instrument (participant 9).
    private func strictTrade(_ t: inout EngineTranscript, at price: Int64) {
        t.send(t.limit(900, .sell, 20, at: price, participant: 9, account: 99))
        t.send(t.limit(901, .buy, 20, at: price, tif: .ioc, participant: 9, account: 98))
    }

    // MARK: New orders (§3)

    @Test func check1UnknownSymbol() throws {
        var t = try EngineTranscript([Self.strict])
        let order = t.newOrder(
            0, .buy, 0, type: .market, tif: .gtc, display: 5, postOnly: true, symbol: Self.nope)
        reject(&t, order, .unknownSymbol)
    }

    @Test func check2OrderID() throws {
        var t = try EngineTranscript([Self.strict, TX.plain(TX.beta)])
        reject(&t, t.newOrder(0, .buy, 0, type: .market, tif: .gtc), .invalidOrderID)
        t.send(t.limit(1, .buy, 10, at: 99, symbol: TX.beta))
        t.send(t.stop(2, .buy, 20, stop: 200))
        reject(&t, t.newOrder(1, .buy, 0, type: .market, tif: .gtc), .duplicateOrderID)
        reject(&t, t.newOrder(2, .buy, 0, type: .market, tif: .gtc), .duplicateOrderID)
        // Once an order is gone its id may be used again.
        t.send(t.limit(3, .sell, 10, at: 99, symbol: TX.beta))
        #expect(t.engine.order(OrderID(1)) == nil)
        let again = t.limit(1, .buy, 20, at: 95)
        #expect(t.send(again) == [t.accepted(again), t.delta(.buy, 95, 20)])
    }

    @Test func check3MarketOrdersNeedIOCOrFOK() throws {
        var t = try EngineTranscript([Self.strict])
        for (id, tif) in [(1, TimeInForce.gtc), (2, .day), (3, .gtd)] as [(UInt64, TimeInForce)] {
            let order = t.newOrder(
                id, .buy, 100, type: .market, tif: tif, display: 10, postOnly: true,
                expireAt: tif == .gtd ? TX.sec(2_000) : .zero)
            reject(&t, order, .invalidTimeInForce)
        }
        let ioc = t.market(4, .buy, 100, tif: .ioc)
        #expect(t.send(ioc) == [t.accepted(ioc), t.cancelled(4, 100, leaves: 0, .unfilled)])
        let fok = t.market(5, .buy, 100, tif: .fok)
        #expect(t.send(fok) == [t.accepted(fok), t.cancelled(5, 100, leaves: 0, .fillOrKill)])
    }

    @Test func check4PostOnlyOnlyForRestingLimits() throws {
        var t = try EngineTranscript([Self.strict])
        reject(&t, t.newOrder(1, .buy, 100, type: .market, tif: .ioc, display: 10, postOnly: true), .invalidPostOnly)
        reject(
            &t, t.newOrder(2, .buy, 100, type: .limit, price: 95, tif: .ioc, display: 10, postOnly: true),
            .invalidPostOnly)
        reject(&t, t.newOrder(3, .buy, 100, type: .limit, price: 95, tif: .fok, postOnly: true), .invalidPostOnly)
        reject(&t, t.newOrder(4, .buy, 100, type: .stopLimit, price: 95, stop: 120, postOnly: true), .invalidPostOnly)
        reject(&t, t.newOrder(5, .buy, 100, type: .stop, stop: 120, postOnly: true), .invalidPostOnly)
    }

    @Test func check5DisplayQuantity() throws {
        var t = try EngineTranscript([Self.strict])
        reject(&t, t.newOrder(1, .buy, 100, type: .market, tif: .ioc, display: 20), .invalidDisplayQuantity)
        reject(&t, t.newOrder(2, .buy, 100, type: .stop, stop: 120, display: 20), .invalidDisplayQuantity)
        reject(&t, t.limit(3, .buy, 100, at: 95, tif: .ioc, display: 20), .invalidDisplayQuantity)
        reject(&t, t.limit(4, .buy, 100, at: 95, tif: .fok, display: 20), .invalidDisplayQuantity)
        reject(&t, t.limit(5, .buy, 100, at: 95, display: 100), .invalidDisplayQuantity)
        reject(&t, t.limit(6, .buy, 100, at: 95, display: 110), .invalidDisplayQuantity)
        reject(&t, t.limit(7, .buy, 100, at: 95, display: -10), .invalidDisplayQuantity)
        reject(&t, t.limit(8, .buy, 100, at: 95, display: 15), .invalidDisplayQuantity)
        reject(&t, t.limit(9, .buy, 0, at: 97, display: 20), .invalidDisplayQuantity)
        reject(&t, t.stopLimit(12, .buy, 100, at: 95, stop: 120, tif: .ioc, display: 20), .invalidDisplayQuantity)

        let iceberg = t.limit(10, .buy, 100, at: 95, tif: .gtd, display: 20, expireAt: TX.sec(2_000))
        #expect(t.send(iceberg) == [t.accepted(iceberg), t.delta(.buy, 95, 20)])
        let stopIceberg = t.stopLimit(11, .buy, 100, at: 95, stop: 120, tif: .day, display: 20)
        #expect(t.send(stopIceberg) == [t.accepted(stopIceberg)])
    }

    @Test func check6Quantity() throws {
        var t = try EngineTranscript([Self.strict])
        reject(&t, t.limit(1, .buy, 0, at: 97), .invalidQuantity)
        reject(&t, t.limit(2, .buy, -10, at: 97), .invalidQuantity)
        reject(&t, t.limit(3, .buy, 15, at: 97), .quantityNotLotMultiple)
        reject(&t, t.limit(4, .buy, 10, at: 97), .quantityBelowMinimum)
        reject(&t, t.limit(5, .buy, 1_005, at: 97), .quantityNotLotMultiple)
        reject(&t, t.limit(6, .buy, 1_010, at: 97), .quantityAboveMaximum)
        reject(&t, t.market(7, .buy, 15), .quantityNotLotMultiple)
        let smallest = t.limit(8, .buy, 20, at: 95)
        #expect(t.send(smallest) == [t.accepted(smallest), t.delta(.buy, 95, 20)])
        let largest = t.limit(9, .buy, 1_000, at: 90)
        #expect(t.send(largest) == [t.accepted(largest), t.delta(.buy, 90, 1_000)])
    }

    @Test func check7Price() throws {
        var t = try EngineTranscript([Self.strict])
        reject(&t, t.newOrder(1, .buy, 20, type: .limit, price: 0, stop: 5), .invalidPrice)
        reject(&t, t.newOrder(2, .buy, 20, type: .limit, price: -5, stop: 5), .invalidPrice)
        reject(&t, t.newOrder(3, .buy, 20, type: .limit, price: Self.tooHigh, stop: 5), .invalidPrice)
        reject(&t, t.newOrder(4, .buy, 20, type: .limit, price: 97, stop: 5), .priceOffTick)
        reject(&t, t.newOrder(5, .buy, 20, type: .market, price: 95, stop: 5, tif: .ioc), .invalidPrice)
        reject(&t, t.newOrder(6, .buy, 20, type: .stop, price: 95, stop: 0), .invalidPrice)
        reject(&t, t.newOrder(7, .buy, 20, type: .stopLimit, price: 0, stop: 0), .invalidPrice)
        reject(&t, t.newOrder(8, .buy, 20, type: .stopLimit, price: 97, stop: 0), .priceOffTick)
    }

    @Test func check8StopPrice() throws {
        var t = try EngineTranscript([Self.strict])
        reject(&t, t.newOrder(1, .buy, 20, type: .stop, stop: 0, tif: .gtd), .invalidStopPrice)
        reject(&t, t.newOrder(2, .buy, 20, type: .stop, stop: -5, tif: .gtd), .invalidStopPrice)
        reject(&t, t.newOrder(3, .buy, 20, type: .stop, stop: 97, tif: .gtd), .invalidStopPrice)
        reject(&t, t.newOrder(4, .buy, 20, type: .stop, stop: Self.tooHigh, tif: .gtd), .invalidStopPrice)
        reject(&t, t.newOrder(5, .buy, 20, type: .stopLimit, price: 95, stop: 0, tif: .gtd), .invalidStopPrice)
        reject(&t, t.newOrder(6, .buy, 20, type: .limit, price: 95, stop: 95, tif: .gtd), .invalidStopPrice)
        reject(&t, t.newOrder(7, .buy, 20, type: .market, stop: 95, tif: .ioc, expireAt: TX.sec(1)), .invalidStopPrice)
    }

    @Test func check9Expiry() throws {
        var t = try EngineTranscript([Self.strict])
        t.send(.heartbeat, at: TX.sec(1_000))
        reject(&t, t.limit(1, .buy, 20, at: 95, tif: .gtd, expireAt: TX.sec(1_000)), .invalidExpireTime)
        reject(&t, t.limit(2, .buy, 20, at: 95, tif: .gtd, expireAt: TX.sec(999)), .invalidExpireTime)
        reject(&t, t.limit(3, .buy, 20, at: 95, tif: .gtd), .invalidExpireTime)
        reject(&t, t.limit(4, .buy, 20, at: 95, tif: .gtc, expireAt: TX.sec(2_000)), .invalidExpireTime)
        reject(&t, t.limit(5, .buy, 20, at: 95, tif: .day, expireAt: TX.sec(2_000)), .invalidExpireTime)
        reject(&t, t.limit(6, .buy, 20, at: 95, tif: .ioc, expireAt: TX.sec(2_000)), .invalidExpireTime)
        reject(&t, t.stop(7, .buy, 20, stop: 120, tif: .gtd, expireAt: TX.sec(1_000)), .invalidExpireTime)

        // Time never goes backwards: an order stamped 900 s is checked against 1000 s.
        reject(&t, t.limit(8, .buy, 20, at: 95, tif: .gtd, expireAt: TX.sec(950)), .invalidExpireTime, at: TX.sec(900))
        let justLater = t.limit(
            9, .buy, 20, at: 95, tif: .gtd, expireAt: Timestamp(nanoseconds: TX.sec(1_000).rawValue + 1))
        #expect(t.send(justLater, at: TX.sec(900)) == [t.accepted(justLater), t.delta(.buy, 95, 20)])
    }

    @Test func check10SymbolHalted() throws {
        var t = try EngineTranscript([Self.strict])
        t.send(.halt(TX.acme))
        reject(&t, t.limit(1, .buy, 20, at: 95, tif: .gtd, expireAt: TX.sec(1_000)), .invalidExpireTime)
        reject(&t, t.limit(2, .buy, 20, at: 200, postOnly: true), .symbolHalted)
        reject(&t, t.stopLimit(3, .buy, 20, at: 200, stop: 120), .symbolHalted)
        reject(&t, t.market(4, .buy, 20), .symbolHalted)
    }

    @Test func checks11And12BandBeforeStopWouldTrigger() throws {
        var t = try EngineTranscript([Self.strict])
        strictTrade(&t, at: 100)
        reject(&t, t.stopLimit(1, .buy, 20, at: 115, stop: 100), .priceOutsideBand)
        reject(&t, t.stopLimit(2, .buy, 20, at: 105, stop: 100), .stopWouldTriggerImmediately)
        reject(&t, t.stop(3, .sell, 20, stop: 100), .stopWouldTriggerImmediately)
        reject(&t, t.limit(4, .sell, 20, at: 85, postOnly: true), .priceOutsideBand)
    }

    @Test func checks12To14StopThenPostOnlyThenCapacity() throws {
        var t = try EngineTranscript([TX.plain()], maximumLiveOrders: 2)
        t.tradeOnce(at: 100)
        t.send(t.limit(1, .buy, 10, at: 90))
        t.send(t.limit(2, .buy, 10, at: 95))
        #expect(t.engine.liveOrderCount == 2)
        reject(&t, t.stop(3, .buy, 10, stop: 100), .stopWouldTriggerImmediately)
        reject(&t, t.limit(4, .sell, 10, at: 95, postOnly: true), .postOnlyWouldTrade)
        // Every order needs to live while it is processed, even one that would trade in full at once.
        reject(&t, t.limit(5, .sell, 10, at: 95), .capacityExceeded)
        reject(&t, t.market(6, .sell, 10), .capacityExceeded)
        reject(&t, t.stop(7, .buy, 10, stop: 150), .capacityExceeded)

        #expect(t.send(t.cancel(1)) == [t.cancelled(1, 10, leaves: 0, .requested), t.delta(.buy, 90, 0)])
        let s8 = t.limit(8, .sell, 10, at: 95)
        #expect(
            t.send(s8) == [
                t.accepted(s8),
                t.trade(0, price: 95, quantity: 10, aggressor: .sell, buy: 2, sell: 8, buyLeaves: 0, sellLeaves: 0),
                t.delta(.buy, 95, 0),
            ])
    }

    @Test func untriggeredStopsCountAsLiveOrders() throws {
        var t = try EngineTranscript([TX.plain()], maximumLiveOrders: 1)
        t.send(t.stop(1, .buy, 10, stop: 150))
        #expect(t.engine.liveOrderCount == 1)
        reject(&t, t.limit(2, .buy, 10, at: 90), .capacityExceeded)
        #expect(t.send(t.cancel(1)) == [t.cancelled(1, 10, leaves: 0, .requested)])
        let b3 = t.limit(3, .buy, 10, at: 90)
        #expect(t.send(b3) == [t.accepted(b3), t.delta(.buy, 90, 10)])
    }

    // MARK: Cancel (§5)

    @Test func cancelValidation() throws {
        var t = try EngineTranscript([TX.plain(TX.acme), TX.plain(TX.beta)])
        t.send(t.limit(1, .buy, 10, at: 99))
        reject(&t, t.cancel(1, symbol: Self.nope), .unknownSymbol)
        reject(&t, t.cancel(99), .unknownOrder)
        reject(&t, t.cancel(1, symbol: TX.beta), .unknownOrder)
        reject(&t, t.cancel(99, participant: 3), .unknownOrder)
        reject(&t, t.cancel(1, participant: 3), .notOrderOwner)

        t.send(t.limit(2, .sell, 4, at: 99, tif: .ioc))
        #expect(t.send(t.cancel(1)) == [t.cancelled(1, 6, leaves: 0, .requested), t.delta(.buy, 99, 0)])
        reject(&t, t.cancel(1), .unknownOrder)
    }

    // MARK: Replace (§5)

    @Test func replaceValidationInOrder() throws {
        var t = try EngineTranscript([Self.strict, TX.plain(TX.beta)])
        t.send(t.limit(4, .sell, 20, at: 100))
        t.send(t.limit(1, .buy, 100, at: 95))
        t.send(t.limit(5, .sell, 40, at: 95, tif: .ioc))
        // Order 1: quantity 100, filled 40, leaves 60. Reference 95: the band is 85.5...104.5.
        t.send(t.stop(2, .buy, 20, stop: 105))
        t.send(t.limit(3, .buy, 20, at: 90, postOnly: true))
        #expect(t.engine.order(OrderID(1))?.filledQuantity == Quantity(40))

        reject(&t, t.replace(1, price: 97, quantity: 0, symbol: Self.nope), .unknownSymbol)
        reject(&t, t.replace(99, price: 97, quantity: 0), .unknownOrder)
        reject(&t, t.replace(1, price: 97, quantity: 0, symbol: TX.beta), .unknownOrder)
        reject(&t, t.replace(1, price: 97, quantity: 0, participant: 3), .notOrderOwner)
        reject(&t, t.replace(2, price: 97, quantity: 0), .orderNotReplaceable)
        reject(&t, t.replace(1, price: 97, quantity: 0), .invalidQuantity)
        reject(&t, t.replace(1, price: 97, quantity: -10), .invalidQuantity)
        reject(&t, t.replace(1, price: 97, quantity: 55), .quantityNotLotMultiple)
        reject(&t, t.replace(1, price: 97, quantity: 10), .quantityBelowMinimum)
        reject(&t, t.replace(1, price: 97, quantity: 1_010), .quantityAboveMaximum)
        reject(&t, t.replace(1, price: 97, quantity: 40), .invalidQuantity)
        reject(&t, t.replace(1, price: 97, quantity: 30), .invalidQuantity)
        reject(&t, t.replace(1, price: 0, quantity: 100), .invalidPrice)
        reject(&t, t.replace(1, price: -5, quantity: 100), .invalidPrice)
        reject(&t, t.replace(1, price: Self.tooHigh, quantity: 100), .invalidPrice)
        reject(&t, t.replace(1, price: 97, quantity: 100), .priceOffTick)
        reject(&t, t.replace(1, price: 105, quantity: 100), .priceOutsideBand)
        reject(&t, t.replace(1, price: 85, quantity: 100), .priceOutsideBand)
        reject(&t, t.replace(3, price: 105, quantity: 20), .priceOutsideBand)
        reject(&t, t.replace(3, price: 100, quantity: 20), .postOnlyWouldTrade)

        let r = t.replace(3, price: 95, quantity: 20)
        #expect(
            t.send(r) == [t.replaced(r, leaves: 20, kept: false), t.delta(.buy, 90, 0), t.delta(.buy, 95, 80)])

        t.send(.halt(TX.acme))
        reject(&t, t.replace(1, price: 97, quantity: 0, participant: 3), .notOrderOwner)
        reject(&t, t.replace(2, price: 97, quantity: 0), .symbolHalted)
        reject(&t, t.replace(1, price: 95, quantity: 60), .symbolHalted)
    }

    @Test func aReplaceAtAnUnchangedPriceIsStillBandChecked() throws {
        var t = try EngineTranscript([Self.strict])
        t.send(t.limit(1, .buy, 100, at: 95))
        t.send(.setPriceBand(TX.acme, basisPoints: 1_000, referencePrice: Price(200)))
        // SPEC: §5 lists the band check without exception, so it applies even when the price does not change.
        reject(&t, t.replace(1, price: 95, quantity: 50), .priceOutsideBand)
    }
}
