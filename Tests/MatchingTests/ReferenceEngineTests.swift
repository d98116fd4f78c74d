import ExchangeCore
import Matching
import Testing

/// Hand-checked transcripts for the reference engine (each expected event derived by hand from
/// docs/MATCHING.md), plus generator-driven self-checks that need no other engine.
@Suite struct ReferenceEngineTests {
    private static let acme = Symbol("ACME")

    /// Drives one reference engine with increasing sequences.
    private struct Driver {
        var engine: ReferenceEngine
        var sequence: UInt64 = 0

        init(
            _ rules: InstrumentRules = InstrumentRules(symbol: acme, referencePrice: Price(1_000)),
            window: Int = 1_024
        ) throws {
            engine = try ReferenceEngine(
                configuration: EngineConfiguration(
                    instruments: [rules],
                    sessionWindowPerParticipant: window))
        }

        mutating func run(_ command: Command, atSecond second: Int64 = 1) -> [Event] {
            sequence += 1
            return engine.apply(
                command, timestamp: Timestamp(nanoseconds: second * Timestamp.nanosecondsPerSecond),
                sequence: sequence)
        }
    }

    private static func order(
        _ id: UInt64, _ side: Side, _ quantity: Int64, at price: Int64 = 0, participant: UInt32 = 1,
        clientOrderID: UInt64? = nil, account: UInt64 = 1, type: OrderType = .limit, tif: TimeInForce = .gtc,
        stop: Int64 = 0, display: Int64 = 0, stp: SelfTradePrevention = .none
    ) -> NewOrder {
        NewOrder(
            participant: ParticipantID(participant), clientOrderID: ClientOrderID(clientOrderID ?? id),
            orderID: OrderID(id), account: AccountID(account), symbol: acme, side: side, type: type,
            timeInForce: tif, price: Price(price), stopPrice: Price(stop), quantity: Quantity(quantity),
            displayQuantity: Quantity(display), selfTradePrevention: stp)
    }

    private static func accepted(_ o: NewOrder) -> Event {
        .accepted(
            .init(
                orderID: o.orderID, participant: o.participant, clientOrderID: o.clientOrderID,
                account: o.account, symbol: o.symbol, side: o.side, type: o.type, timeInForce: o.timeInForce,
                price: o.price, stopPrice: o.stopPrice, quantity: o.quantity,
                displayQuantity: o.displayQuantity))
    }

    private static func trade(
        _ sequence: UInt64, _ index: UInt32, _ quantity: Int64, at price: Int64, aggressor: Side?,
        buy: NewOrder, sell: NewOrder, buyLeaves: Int64, sellLeaves: Int64, second: Int64 = 1
    ) -> Event {
        .trade(
            .init(
                id: TradeID(sequence: sequence, index: index), symbol: acme, price: Price(price),
                quantity: Quantity(quantity), aggressor: aggressor, buyOrderID: buy.orderID,
                sellOrderID: sell.orderID, buyAccount: buy.account, sellAccount: sell.account,
                buyParticipant: buy.participant, sellParticipant: sell.participant,
                buyLeaves: Quantity(buyLeaves), sellLeaves: Quantity(sellLeaves),
                timestamp: Timestamp(nanoseconds: second * Timestamp.nanosecondsPerSecond)))
    }

    private static func delta(_ side: Side, _ price: Int64, _ quantity: Int64) -> Event {
        .bookDelta(.init(symbol: acme, side: side, price: Price(price), quantity: Quantity(quantity)))
    }

    private static func cancelled(_ id: UInt64, _ quantity: Int64, leaves: Int64, _ reason: CancelReason) -> Event {
        .cancelled(
            .init(
                orderID: OrderID(id), symbol: acme, cancelledQuantity: Quantity(quantity),
                leavesQuantity: Quantity(leaves), reason: reason))
    }

    // MARK: - Transcripts

    @Test func pricePriorityThenTimePriority() throws {
        var driver = try Driver()
        let far = Self.order(1, .sell, 10, at: 1_001, participant: 1)
        let first = Self.order(2, .sell, 5, at: 1_000, participant: 2, account: 2)
        let second = Self.order(3, .sell, 7, at: 1_000, participant: 3, account: 3)
        for resting in [far, first, second] { _ = driver.run(.newOrder(resting)) }
        let buyer = Self.order(4, .buy, 20, at: 1_001, participant: 4, account: 4)
        let events = driver.run(.newOrder(buyer))
        #expect(
            events == [
                Self.accepted(buyer),
                Self.trade(4, 0, 5, at: 1_000, aggressor: .buy, buy: buyer, sell: first, buyLeaves: 15, sellLeaves: 0),
                Self.delta(.sell, 1_000, 7),
                Self.trade(4, 1, 7, at: 1_000, aggressor: .buy, buy: buyer, sell: second, buyLeaves: 8, sellLeaves: 0),
                Self.delta(.sell, 1_000, 0),
                Self.trade(4, 2, 8, at: 1_001, aggressor: .buy, buy: buyer, sell: far, buyLeaves: 0, sellLeaves: 2),
                Self.delta(.sell, 1_001, 2),
            ])
        #expect(driver.engine.book(Self.acme)?.asks.map(\.orderID) == [OrderID(1)])
        #expect(driver.engine.book(Self.acme)?.bids == [])
        #expect(driver.engine.symbolStatus(Self.acme)?.lastTradePrice == Price(1_001))
    }

    @Test func icebergRefillsToTheBackOfItsLevel() throws {
        var driver = try Driver()
        let iceberg = Self.order(1, .sell, 30, at: 1_000, participant: 1, display: 10)
        let plain = Self.order(2, .sell, 5, at: 1_000, participant: 2, account: 2)
        #expect(driver.run(.newOrder(iceberg)) == [Self.accepted(iceberg), Self.delta(.sell, 1_000, 10)])
        #expect(driver.run(.newOrder(plain)) == [Self.accepted(plain), Self.delta(.sell, 1_000, 15)])
        let buyer = Self.order(3, .buy, 12, at: 1_000, participant: 3, account: 3)
        #expect(
            driver.run(.newOrder(buyer)) == [
                Self.accepted(buyer),
                // The iceberg's peak of 10 trades; it refills 10 of its 20 and goes behind order 2.
                Self.trade(
                    3, 0, 10, at: 1_000, aggressor: .buy, buy: buyer, sell: iceberg, buyLeaves: 2, sellLeaves: 20),
                Self.delta(.sell, 1_000, 15),
                Self.trade(3, 1, 2, at: 1_000, aggressor: .buy, buy: buyer, sell: plain, buyLeaves: 0, sellLeaves: 3),
                Self.delta(.sell, 1_000, 13),
            ])
        let asks = try #require(driver.engine.book(Self.acme)?.asks)
        #expect(asks.map(\.orderID) == [OrderID(2), OrderID(1)])
        #expect(asks.map(\.leavesQuantity) == [Quantity(3), Quantity(20)])
        #expect(asks.map(\.visibleQuantity) == [Quantity(3), Quantity(10)])
        #expect(
            driver.engine.depth(Self.acme, levels: 5)?.asks
                == [PriceLevelView(price: Price(1_000), quantity: Quantity(13), orderCount: 2)])
    }

    @Test func buyStopTriggersOnTheLastTradeAndSweeps() throws {
        var driver = try Driver()
        let seller = Self.order(1, .sell, 5, at: 1_000, participant: 1)
        let buyer = Self.order(2, .buy, 5, at: 1_000, participant: 2, account: 2)
        _ = driver.run(.newOrder(seller))
        _ = driver.run(.newOrder(buyer))
        let stop = Self.order(3, .buy, 5, participant: 3, account: 3, type: .stop, tif: .gtc, stop: 1_002)
        #expect(driver.run(.newOrder(stop)) == [Self.accepted(stop)])
        #expect(driver.engine.untriggeredStops(Self.acme)?.map(\.orderID) == [OrderID(3)])
        let wouldTrigger = Self.order(9, .sell, 5, participant: 3, account: 3, type: .stop, tif: .gtc, stop: 1_001)
        #expect(
            driver.run(.newOrder(wouldTrigger)) == [
                .rejected(
                    .init(
                        participant: ParticipantID(3), clientOrderID: ClientOrderID(9), orderID: OrderID(9),
                        symbol: Self.acme,
                        reason: .stopWouldTriggerImmediately))
            ])
        let ask1 = Self.order(4, .sell, 5, at: 1_002, participant: 1)
        let ask2 = Self.order(5, .sell, 5, at: 1_003, participant: 1)
        _ = driver.run(.newOrder(ask1))
        _ = driver.run(.newOrder(ask2))
        let lifter = Self.order(6, .buy, 5, at: 1_002, participant: 2, account: 2)
        #expect(
            driver.run(.newOrder(lifter)) == [
                Self.accepted(lifter),
                Self.trade(7, 0, 5, at: 1_002, aggressor: .buy, buy: lifter, sell: ask1, buyLeaves: 0, sellLeaves: 0),
                Self.delta(.sell, 1_002, 0),
                .triggered(
                    .init(
                        orderID: OrderID(3), symbol: Self.acme, stopPrice: Price(1_002),
                        lastTradePrice: Price(1_002))),
                Self.trade(7, 1, 5, at: 1_003, aggressor: .buy, buy: stop, sell: ask2, buyLeaves: 0, sellLeaves: 0),
                Self.delta(.sell, 1_003, 0),
            ])
        #expect(driver.engine.untriggeredStops(Self.acme) == [])
        #expect(driver.engine.liveOrderCount == 0)
    }

    @Test func breakerHaltLeavesACrossedBookThatTheReopeningAuctionUncrosses() throws {
        var driver = try Driver(
            InstrumentRules(
                symbol: Self.acme, priceBandBasisPoints: 0, referencePrice: Price(1_000),
                breakerThresholdBasisPoints: 100, breakerWindowSeconds: 60, breakerCoolingOffSeconds: 10))
        let first = Self.order(1, .sell, 5, at: 1_000, participant: 1)
        _ = driver.run(.newOrder(first))
        _ = driver.run(.newOrder(Self.order(2, .buy, 5, at: 1_000, participant: 2, account: 2)))
        let near = Self.order(3, .sell, 10, at: 1_000, participant: 1)
        let far = Self.order(4, .sell, 10, at: 1_020, participant: 1)
        _ = driver.run(.newOrder(near))
        _ = driver.run(.newOrder(far))
        let sweeper = Self.order(5, .buy, 25, at: 1_020, participant: 2, account: 2)
        let reopenAt = Timestamp(nanoseconds: 11 * Timestamp.nanosecondsPerSecond)
        #expect(
            driver.run(.newOrder(sweeper)) == [
                Self.accepted(sweeper),
                Self.trade(
                    5, 0, 10, at: 1_000, aggressor: .buy, buy: sweeper, sell: near, buyLeaves: 15, sellLeaves: 0),
                Self.delta(.sell, 1_000, 0),
                // 1,020 is more than 1% above the window's 1,000: halt before the fill; the limit rests.
                .halted(.init(symbol: Self.acme, reason: .volatility, reopenAt: reopenAt)),
                Self.delta(.buy, 1_020, 15),
            ])
        #expect(driver.engine.symbolStatus(Self.acme)?.status == .halted(.volatility, reopenAt: reopenAt))
        let rejected = Self.order(6, .buy, 1, at: 1_000, participant: 2, account: 2)
        #expect(
            driver.run(.newOrder(rejected), atSecond: 5) == [
                .rejected(
                    .init(
                        participant: ParticipantID(2), clientOrderID: ClientOrderID(6), orderID: OrderID(6),
                        symbol: Self.acme,
                        reason: .symbolHalted))
            ])
        // The heartbeat at the reopening time runs the auction: one price, 1,020; 15 bid, 10 offered.
        #expect(
            driver.run(.heartbeat, atSecond: 11) == [
                .auction(.init(symbol: Self.acme, price: Price(1_020), volume: Quantity(10), imbalance: Quantity(5))),
                Self.trade(
                    7, 0, 10, at: 1_020, aggressor: nil, buy: sweeper, sell: far, buyLeaves: 5, sellLeaves: 0,
                    second: 11),
                Self.delta(.buy, 1_020, 5),
                Self.delta(.sell, 1_020, 0),
                .resumed(Self.acme),
            ])
        #expect(driver.engine.symbolStatus(Self.acme)?.status == .trading)
        #expect(driver.engine.symbolStatus(Self.acme)?.referencePrice == Price(1_020))
    }

    @Test func reopeningWithoutVolumePrintsTheReferencePrice() throws {
        var driver = try Driver(
            InstrumentRules(
                symbol: Self.acme, priceBandBasisPoints: 0,
                referencePrice: Price(1_000), breakerThresholdBasisPoints: 0))
        // Rest a normal book, halt, then nothing crosses: the auction has no volume.
        let bid = Self.order(1, .buy, 10, at: 999, participant: 1)
        let ask = Self.order(2, .sell, 10, at: 1_001, participant: 2, account: 2)
        _ = driver.run(.newOrder(bid))
        _ = driver.run(.newOrder(ask))
        #expect(driver.run(.halt(Self.acme)) == [.halted(.init(symbol: Self.acme, reason: .manual, reopenAt: .zero))])
        #expect(
            driver.run(.halt(Self.acme)) == [
                .rejected(
                    .init(
                        participant: ParticipantID(0), clientOrderID: ClientOrderID(0), orderID: OrderID(0),
                        symbol: Self.acme,
                        reason: .symbolHalted))
            ])
        #expect(
            driver.run(.resume(Self.acme)) == [
                .auction(.init(symbol: Self.acme, price: Price(1_000), volume: .zero, imbalance: .zero)),
                .resumed(Self.acme),
            ])
        #expect(
            driver.run(.resume(Self.acme)) == [
                .rejected(
                    .init(
                        participant: ParticipantID(0), clientOrderID: ClientOrderID(0), orderID: OrderID(0),
                        symbol: Self.acme,
                        reason: .symbolNotHalted))
            ])
    }

    @Test func retriesInsideTheWindowAreDuplicatesAndOlderOnesStale() throws {
        var driver = try Driver(window: 2)
        let first = Self.order(1, .buy, 10, at: 999, participant: 7, clientOrderID: 1)
        #expect(driver.run(.newOrder(first)) == [Self.accepted(first), Self.delta(.buy, 999, 10)])
        let offBook = Self.order(2, .buy, 10, at: 999, participant: 7, clientOrderID: 2)
        var rejected = offBook
        rejected.symbol = Symbol("NOPE")
        #expect(
            driver.run(.newOrder(rejected)) == [
                .rejected(
                    .init(
                        participant: ParticipantID(7), clientOrderID: ClientOrderID(2), orderID: OrderID(2),
                        symbol: Symbol("NOPE"), reason: .unknownSymbol))
            ])
        #expect(
            driver.run(.newOrder(first)) == [
                .duplicate(
                    .init(
                        participant: ParticipantID(7), clientOrderID: ClientOrderID(1), outcome: .accepted(OrderID(1))))
            ])
        #expect(
            driver.run(.newOrder(rejected)) == [
                .duplicate(
                    .init(
                        participant: ParticipantID(7), clientOrderID: ClientOrderID(2),
                        outcome: .rejected(.unknownSymbol)))
            ])
        let cancel = CancelOrder(
            participant: ParticipantID(7), clientOrderID: ClientOrderID(5), orderID: OrderID(1),
            symbol: Self.acme)
        #expect(
            driver.run(.cancel(cancel)) == [Self.cancelled(1, 10, leaves: 0, .requested), Self.delta(.buy, 999, 0)])
        // The window holds client order ids 2 and 5 now: 1 is stale, and so is 3 (below 5).
        #expect(
            driver.run(.newOrder(first)) == [
                .rejected(
                    .init(
                        participant: ParticipantID(7), clientOrderID: ClientOrderID(1), orderID: OrderID(1),
                        symbol: Self.acme,
                        reason: .staleClientOrderID))
            ])
        var unseen = first
        unseen.clientOrderID = ClientOrderID(3)
        #expect(
            driver.run(.newOrder(unseen)).first.map(DiffFormat.describe)
                == "rejected P7 C3 O1 ACME staleClientOrderID")
        var anonymous = first
        anonymous.participant = ParticipantID(0)
        #expect(
            driver.run(.newOrder(anonymous)) == [
                .rejected(
                    .init(
                        participant: ParticipantID(0), clientOrderID: ClientOrderID(1), orderID: OrderID(1),
                        symbol: Self.acme,
                        reason: .invalidParticipant))
            ])
    }

    @Test func selfTradeDecrementReducesBothWithoutATrade() throws {
        var driver = try Driver()
        let resting = Self.order(1, .sell, 30, at: 1_000, participant: 1, account: 5, display: 10)
        _ = driver.run(.newOrder(resting))
        let incoming = Self.order(2, .buy, 8, at: 1_000, participant: 2, account: 5, stp: .decrement)
        #expect(
            driver.run(.newOrder(incoming)) == [
                Self.accepted(incoming),
                Self.cancelled(1, 8, leaves: 22, .selfTradePrevention),
                Self.delta(.sell, 1_000, 10),
                Self.cancelled(2, 8, leaves: 0, .selfTradePrevention),
            ])
        // Decremented quantity did not trade: a replace down to 5 leaves 5 (filled is still 0).
        let replace = ReplaceOrder(
            participant: ParticipantID(1), clientOrderID: ClientOrderID(10), orderID: OrderID(1),
            symbol: Self.acme, price: Price(1_000), quantity: Quantity(5))
        #expect(
            driver.run(.replace(replace)) == [
                .replaced(
                    .init(
                        orderID: OrderID(1), participant: ParticipantID(1), clientOrderID: ClientOrderID(10),
                        symbol: Self.acme, price: Price(1_000), quantity: Quantity(5),
                        leavesQuantity: Quantity(5), keptPriority: true)),
                Self.delta(.sell, 1_000, 5),
            ])
    }

    @Test func fillOrKillSkipsCancelOldestButFailsOnCancelNewest() throws {
        var driver = try Driver()
        let own = Self.order(1, .sell, 5, at: 1_000, participant: 1, account: 9)
        let other = Self.order(2, .sell, 5, at: 1_001, participant: 2, account: 2)
        _ = driver.run(.newOrder(own))
        _ = driver.run(.newOrder(other))
        let killed = Self.order(3, .buy, 5, at: 1_001, participant: 3, account: 9, tif: .fok, stp: .cancelNewest)
        #expect(driver.run(.newOrder(killed)) == [Self.accepted(killed), Self.cancelled(3, 5, leaves: 0, .fillOrKill)])
        let filled = Self.order(4, .buy, 5, at: 1_001, participant: 3, account: 9, tif: .fok, stp: .cancelOldest)
        #expect(
            driver.run(.newOrder(filled)) == [
                Self.accepted(filled),
                Self.cancelled(1, 5, leaves: 0, .selfTradePrevention),
                Self.delta(.sell, 1_000, 0),
                Self.trade(4, 0, 5, at: 1_001, aggressor: .buy, buy: filled, sell: other, buyLeaves: 0, sellLeaves: 0),
                Self.delta(.sell, 1_001, 0),
            ])
    }

    /// Runs a script on the reference engine; returns every command's events.
    private static func run(_ script: ScenarioScript) throws -> [[Event]] {
        var engine = try ReferenceEngine(configuration: script.configuration)
        return script.steps.enumerated().map { index, step in
            engine.apply(step.command, timestamp: step.timestamp, sequence: UInt64(index + 1))
        }
    }

    @Test func auctionTieOnVolumeImbalanceAndDistanceGoesToTheLowerPrice() throws {
        let script = ScenarioScript.auctionTieGoesToTheLowerPrice
        let events = try Self.run(script)
        // Halted with bid 10@201 and ask 10@199, reference 200: both prices give volume 10,
        // imbalance 0 and distance 1.
        #expect(
            events[4].contains(
                .halted(
                    .init(
                        symbol: script.symbol, reason: .volatility,
                        reopenAt: Timestamp(nanoseconds: 11 * Timestamp.nanosecondsPerSecond)))))
        #expect(
            events[5].first
                == .auction(
                    .init(
                        symbol: script.symbol, price: Price(199), volume: Quantity(10),
                        imbalance: .zero)))
        #expect(events[5].last == .resumed(script.symbol))
    }

    @Test func triggerCascadeStopsAtTheHaltAndResumesAfterTheAuction() throws {
        let script = ScenarioScript.triggerCascadeCutByTheBreaker
        let events = try Self.run(script)
        let lifter = events[10].map(DiffFormat.describe)
        // Stop 3 (stop 1001, accepted first) buys at 1010; stop-limit 4 halts the symbol at 1025
        // and rests at 1030; stop 5 waits for the reopening.
        #expect(lifter.contains("triggered O3 CASCADE stop=1001 last=1001"))
        #expect(lifter.contains("triggered O4 CASCADE stop=1001 last=1010"))
        #expect(!lifter.contains { $0.hasPrefix("triggered O5") })
        #expect(lifter.last == "bookDelta CASCADE buy 1030 qty=5")
        let reopening = events[11].map(DiffFormat.describe)
        // Candidates 1025 and 1030 both give volume 5, imbalance 0; 1025 is nearer the reference 1010.
        #expect(reopening.first == "auction CASCADE px=1025 volume=5 imbalance=0")
        #expect(reopening.contains("triggered O5 CASCADE stop=1002 last=1025"))
    }

    // MARK: - Generator-driven self-checks

    /// The reference engine satisfies every property check on generated streams.
    @Test(arguments: [UInt64(101), 102, 103, 104])
    func referenceSatisfiesProperties(seed: UInt64) throws {
        print("ReferenceEngineTests.referenceSatisfiesProperties DIFF_SEED=\(seed)")
        var generator = CommandGenerator(seed: seed)
        var engine = try ReferenceEngine(configuration: generator.configuration)
        var checker = MatchingPropertyChecker(configuration: generator.configuration)
        for index in 0..<20_000 {
            let step = generator.next()
            let events = engine.apply(step.command, timestamp: step.timestamp, sequence: step.sequence)
            var violations = checker.observe(events) + checker.checkNotCrossed(engine)
            if index % 50 == 0 { violations += checker.checkBooks(engine) }
            if !violations.isEmpty {
                Issue.record(
                    """
                    DIFF_SEED=\(seed) command #\(index) \(DiffFormat.describe(step.command))
                    \(violations.joined(separator: "\n"))
                    events:
                    \(events.map(DiffFormat.describe).joined(separator: "\n"))
                    """)
                return
            }
        }
    }

    /// The generated streams reach every reject reason, cancel reason and event kind.
    @Test func generatorCoversEveryOutcome() throws {
        var rejects = Set<RejectReason>()
        var cancels = Set<CancelReason>()
        var kinds = Set<String>()
        var duplicates = 0
        for seed in [UInt64(0), 3] {
            var generator = CommandGenerator(seed: seed)
            var engine = try ReferenceEngine(configuration: generator.configuration)
            for _ in 0..<30_000 {
                let step = generator.next()
                for event in engine.apply(step.command, timestamp: step.timestamp, sequence: step.sequence) {
                    kinds.insert(DiffFormat.kind(event))
                    switch event {
                    case .rejected(let r): rejects.insert(r.reason)
                    case .cancelled(let c): cancels.insert(c.reason)
                    case .duplicate: duplicates += 1
                    case .halted(let h): kinds.insert("halted.\(h.reason)")
                    case .auction(let a) where a.volume > .zero: kinds.insert("auction.volume")
                    case .replaced(let r): kinds.insert("replaced.\(r.keptPriority)")
                    default: break
                    }
                }
            }
        }
        #expect(
            Set(RejectReason.allCases).subtracting(rejects).isEmpty,
            "never rejected for \(Set(RejectReason.allCases).subtracting(rejects))")
        #expect(
            Set(CancelReason.allCases).subtracting(cancels).isEmpty,
            "never cancelled for \(Set(CancelReason.allCases).subtracting(cancels))")
        let expectedKinds: Set<String> = [
            "accepted", "rejected", "duplicate", "trade", "cancelled", "replaced", "expired", "triggered", "halted",
            "auction", "resumed", "priceBandSet", "bookDelta", "halted.manual", "halted.volatility",
            "auction.volume", "replaced.true", "replaced.false",
        ]
        #expect(expectedKinds.subtracting(kinds).isEmpty, "never emitted \(expectedKinds.subtracting(kinds))")
        #expect(duplicates > 0)
    }
}
