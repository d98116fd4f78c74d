import ExchangeCore
import Matching

/// A short hand-written command sequence on one symbol, for edge cases that random streams
/// reach rarely (ties in the auction, FOK against iceberg levels, trigger cascades cut by the
/// breaker). Client order ids are assigned per participant in order; times are in seconds.
struct ScenarioScript {
    let name: String
    let configuration: EngineConfiguration
    private(set) var steps: [(timestamp: Timestamp, command: Command)] = []
    private var now = Timestamp(nanoseconds: Timestamp.nanosecondsPerSecond)
    private var clientOrderIDs: [UInt32: UInt64] = [:]

    var symbol: Symbol { configuration.instruments[0].symbol }

    init(_ name: String, _ rules: InstrumentRules, sessionWindow: Int = 1_024) {
        self.name = name
        configuration = EngineConfiguration(instruments: [rules], sessionWindowPerParticipant: sessionWindow)
    }

    /// Log time of the following commands, in milliseconds.
    mutating func at(milliseconds: Int64) {
        now = Timestamp(nanoseconds: milliseconds * 1_000_000)
    }

    mutating func command(_ command: Command) {
        steps.append((now, command))
    }

    private mutating func nextClientOrderID(_ participant: UInt32) -> ClientOrderID {
        clientOrderIDs[participant, default: 0] += 1
        return ClientOrderID(clientOrderIDs[participant]!)
    }

    mutating func order(
        _ id: UInt64, _ side: Side, _ quantity: Int64, at price: Int64 = 0, participant: UInt32 = 1,
        account: UInt64 = 1, type: OrderType = .limit, tif: TimeInForce = .gtc, stop: Int64 = 0, display: Int64 = 0,
        stp: SelfTradePrevention = .none, postOnly: Bool = false, expireAtMilliseconds: Int64 = 0
    ) {
        command(
            .newOrder(
                NewOrder(
                    participant: ParticipantID(participant), clientOrderID: nextClientOrderID(participant),
                    orderID: OrderID(id), account: AccountID(account), symbol: symbol, side: side, type: type,
                    timeInForce: tif, price: Price(price), stopPrice: Price(stop), quantity: Quantity(quantity),
                    displayQuantity: Quantity(display), postOnly: postOnly, selfTradePrevention: stp,
                    expireAt: Timestamp(nanoseconds: expireAtMilliseconds * 1_000_000))))
    }

    mutating func cancel(_ id: UInt64, participant: UInt32 = 1) {
        command(
            .cancel(
                CancelOrder(
                    participant: ParticipantID(participant),
                    clientOrderID: nextClientOrderID(participant), orderID: OrderID(id),
                    symbol: symbol)))
    }

    mutating func replace(_ id: UInt64, at price: Int64, quantity: Int64, participant: UInt32 = 1) {
        command(
            .replace(
                ReplaceOrder(
                    participant: ParticipantID(participant),
                    clientOrderID: nextClientOrderID(participant), orderID: OrderID(id),
                    symbol: symbol, price: Price(price), quantity: Quantity(quantity))))
    }

    // MARK: - The scenarios

    static var all: [ScenarioScript] {
        [
            auctionTieGoesToTheLowerPrice, fillOrKillAgainstIcebergLevels, triggerCascadeCutByTheBreaker,
            expiryOrder, manualHaltOverABreakerHalt, timeNeverGoesBackwards, sessionWindowOfTwo,
        ]
    }

    /// Two auction candidates with equal volume and imbalance, equally far from the reference.
    static var auctionTieGoesToTheLowerPrice: ScenarioScript {
        var script = ScenarioScript(
            "auction tie goes to the lower price",
            InstrumentRules(
                symbol: Symbol("TIE"), priceBandBasisPoints: 0, referencePrice: Price(200),
                breakerThresholdBasisPoints: 100, breakerWindowSeconds: 60, breakerCoolingOffSeconds: 10))
        script.order(1, .sell, 5, at: 210, participant: 1, account: 1)
        script.order(2, .buy, 5, at: 210, participant: 2, account: 2)
        script.order(3, .sell, 10, at: 199, participant: 1, account: 1)
        script.command(.setPriceBand(script.symbol, basisPoints: 0, referencePrice: Price(200)))
        // 199 is more than 1% below the window's 210: the breaker halts; the bid rests at 201.
        script.order(4, .buy, 10, at: 201, participant: 2, account: 2)
        script.command(.resume(script.symbol))
        return script
    }

    /// §4.3 level by level: an own-account order anywhere in a crossing level fails the check
    /// (cancelNewest), or is left out of the available quantity (cancelOldest).
    static var fillOrKillAgainstIcebergLevels: ScenarioScript {
        var script = ScenarioScript(
            "fill-or-kill against iceberg levels",
            InstrumentRules(
                symbol: Symbol("FOK"), priceBandBasisPoints: 0, referencePrice: Price(1_000),
                breakerThresholdBasisPoints: 0))
        script.order(1, .sell, 30, at: 1_000, participant: 1, account: 9, display: 10)
        script.order(2, .sell, 5, at: 1_000, participant: 2, account: 5)
        script.order(3, .buy, 20, at: 1_000, participant: 3, account: 5, tif: .fok, stp: .cancelNewest)
        script.order(4, .buy, 20, at: 1_000, participant: 3, account: 5, tif: .fok, stp: .cancelOldest)
        script.order(5, .buy, 15, at: 1_000, participant: 3, account: 5, tif: .fok, stp: .decrement)
        script.order(6, .sell, 5, at: 1_001, participant: 2, account: 5)
        script.order(7, .buy, 15, at: 1_001, participant: 3, account: 5, tif: .fok, stp: .decrement)
        script.order(8, .buy, 15, at: 1_001, participant: 3, account: 7, type: .limit, tif: .fok)
        script.order(9, .buy, 5, participant: 3, account: 7, type: .market, tif: .fok)
        return script
    }

    /// Triggered stops sweep until the breaker halts the symbol mid-cascade; the reopening
    /// auction (tie on volume and imbalance, decided by distance to the reference) runs the rest.
    static var triggerCascadeCutByTheBreaker: ScenarioScript {
        var script = ScenarioScript(
            "trigger cascade cut by the breaker",
            InstrumentRules(
                symbol: Symbol("CASCADE"), priceBandBasisPoints: 0, referencePrice: Price(1_000),
                breakerThresholdBasisPoints: 200, breakerWindowSeconds: 60, breakerCoolingOffSeconds: 5))
        script.order(1, .sell, 5, at: 1_000, participant: 1)
        script.order(2, .buy, 5, at: 1_000, participant: 2, account: 2)
        script.order(3, .buy, 5, participant: 3, account: 3, type: .stop, stop: 1_001)
        script.order(4, .buy, 5, at: 1_030, participant: 3, account: 3, type: .stopLimit, stop: 1_001)
        script.order(5, .buy, 5, participant: 3, account: 3, type: .stop, tif: .fok, stop: 1_002)
        script.order(6, .sell, 5, participant: 3, account: 3, type: .stop, stop: 999)
        script.order(7, .sell, 5, at: 1_001, participant: 1)
        script.order(8, .sell, 5, at: 1_010, participant: 1)
        script.order(9, .sell, 5, at: 1_025, participant: 1)
        script.order(10, .sell, 5, at: 1_040, participant: 1)
        script.order(11, .buy, 5, at: 1_001, participant: 2, account: 2)
        script.at(milliseconds: 6_000)
        script.command(.heartbeat)
        return script
    }

    /// GTD expiry by (expireAt, orderID), stops included; DAY expiry by orderID.
    static var expiryOrder: ScenarioScript {
        var script = ScenarioScript(
            "expiry order",
            InstrumentRules(
                symbol: Symbol("EXP"), priceBandBasisPoints: 0, referencePrice: Price(1_000)))
        script.order(30, .buy, 5, at: 990, tif: .gtd, expireAtMilliseconds: 3_000)
        script.order(
            20, .sell, 5, participant: 2, account: 2, type: .stop, tif: .gtd, stop: 900,
            expireAtMilliseconds: 3_000)
        script.order(25, .buy, 5, at: 980, tif: .gtd, display: 0, expireAtMilliseconds: 2_000)
        script.order(10, .buy, 5, at: 985, tif: .day)
        script.order(15, .sell, 5, at: 800, participant: 2, account: 2, type: .stopLimit, tif: .day, stop: 800)
        script.order(12, .buy, 9, at: 985, tif: .day, display: 3)
        script.at(milliseconds: 3_000)
        script.command(.heartbeat)
        script.command(.endOfSession)
        return script
    }

    /// A manual halt replaces a breaker halt: no automatic reopening; cancels still work.
    static var manualHaltOverABreakerHalt: ScenarioScript {
        var script = ScenarioScript(
            "manual halt over a breaker halt",
            InstrumentRules(
                symbol: Symbol("HALT"), priceBandBasisPoints: 0, referencePrice: Price(1_000),
                breakerThresholdBasisPoints: 100, breakerWindowSeconds: 60, breakerCoolingOffSeconds: 5))
        script.order(1, .sell, 5, at: 1_000)
        script.order(2, .buy, 5, at: 1_000, participant: 2, account: 2)
        script.order(3, .sell, 5, at: 1_020)
        script.order(4, .buy, 8, at: 1_020, participant: 2, account: 2)
        script.command(.halt(script.symbol))
        script.at(milliseconds: 10_000)
        script.command(.heartbeat)
        script.replace(4, at: 1_019, quantity: 8, participant: 2)
        script.order(5, .buy, 5, at: 1_020, participant: 2, account: 2)
        script.cancel(3)
        script.command(.resume(script.symbol))
        script.command(.resume(script.symbol))
        return script
    }

    /// Log time is the largest seen: expiry validity and GTD expiry use it.
    static var timeNeverGoesBackwards: ScenarioScript {
        var script = ScenarioScript(
            "time never goes backwards",
            InstrumentRules(
                symbol: Symbol("TIME"), referencePrice: Price(1_000)))
        script.at(milliseconds: 10_000)
        script.order(1, .buy, 5, at: 990, tif: .gtd, expireAtMilliseconds: 12_000)
        script.at(milliseconds: 5_000)
        script.order(2, .buy, 5, at: 990, tif: .gtd, expireAtMilliseconds: 9_000)
        script.order(3, .buy, 5, at: 990, tif: .gtd, expireAtMilliseconds: 11_000)
        script.at(milliseconds: 11_000)
        script.command(.heartbeat)
        script.at(milliseconds: 1_000)
        script.command(.heartbeat)
        script.at(milliseconds: 12_000)
        script.command(.heartbeat)
        return script
    }

    /// Duplicates inside a window of two, stale ids outside it, participant 0.
    static var sessionWindowOfTwo: ScenarioScript {
        var script = ScenarioScript(
            "session window of two",
            InstrumentRules(
                symbol: Symbol("SESS"), referencePrice: Price(1_000)), sessionWindow: 2)
        script.order(1, .buy, 5, at: 990)
        script.order(2, .buy, 5, at: 2_000)
        script.cancel(1)
        let retries = script.steps
        script.command(retries[0].command)
        script.command(retries[1].command)
        script.command(retries[2].command)
        script.order(3, .buy, 5, at: 990, participant: 0)
        script.cancel(99)
        script.command(retries[2].command)
        return script
    }
}
