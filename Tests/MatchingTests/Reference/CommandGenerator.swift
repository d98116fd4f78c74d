import ExchangeCore
import Matching
import Workloads

/// A seeded, deterministic stream of matching commands for differential and property tests.
///
/// It keeps its own rough idea of the market (a drifting mid price per symbol, the orders it
/// created) but takes no feedback from an engine: some of its cancels hit dead orders, some of
/// its stops would trigger at once, and so on, which is exactly the variety the tests want.
/// Every command kind, order type, time in force and reject reason occurs in a long enough stream
/// (`ReferenceEngineTests.generatorCoversEveryOutcome` checks this).
struct CommandGenerator {
    /// One command with its log time and sequence.
    struct Step {
        var command: Command
        var timestamp: Timestamp
        var sequence: UInt64
    }

    /// An order the generator entered (it may have been rejected, filled or cancelled since).
    private struct CreatedOrder {
        var orderID: OrderID
        var participant: ParticipantID
        var symbolIndex: Int
        var side: Side
        var price: Price
        var quantity: Quantity
        var isStop: Bool
    }

    let configuration: EngineConfiguration
    /// A symbol no configuration lists.
    static let unknownSymbol = Symbol("ZZZZ")
    static let participants: [UInt32] = [1, 2, 3, 4, 5, 6]
    static let accounts: [UInt64] = [1, 2, 3, 4]

    private var random: SplitMix64
    private var now: Int64
    private var sequence: UInt64 = 0
    private var nextOrderID: UInt64 = 1
    private var mids: [Int64]
    private var nextClientOrderID: [UInt32: UInt64] = [:]
    /// Recent participant commands per participant, for retries.
    private var history: [UInt32: [Command]] = [:]
    /// Orders that may rest (limit orders with gtc, day or gtd; stops), newest last.
    private var created: [CreatedOrder] = []
    /// Symbols this generator halted and has not resumed.
    private var manuallyHalted: [Int] = []

    init(seed: UInt64) {
        configuration = Self.configuration(seed: seed)
        random = SplitMix64(seed: seed ^ 0x5EED_0000_0000_0000)
        now = 1_700_000_000 * Timestamp.nanosecondsPerSecond + Int64(seed % 1_000) * 1_000_000
        mids = configuration.instruments.map(\.referencePrice.rawValue)
    }

    /// Four instruments with different ticks, lots, bands and breakers. Two have tight breakers
    /// with short windows and cooling-off periods so that volatility halts and automatic
    /// reopening auctions happen often; one has neither band nor breaker. Some seeds get a tiny
    /// session window or a tiny live-order capacity.
    static func configuration(seed: UInt64) -> EngineConfiguration {
        let instruments = [
            InstrumentRules(
                symbol: Symbol("ACME"), tickSize: 1, lotSize: 1, priceBandBasisPoints: 1_000,
                referencePrice: Price(10_000), breakerThresholdBasisPoints: 150,
                breakerWindowSeconds: 30, breakerCoolingOffSeconds: 20),
            InstrumentRules(
                symbol: Symbol("BOLT"), tickSize: 5, lotSize: 10, minimumQuantity: Quantity(20),
                maximumQuantity: Quantity(2_000), priceBandBasisPoints: 500,
                referencePrice: Price(5_000), breakerThresholdBasisPoints: 80,
                breakerWindowSeconds: 3, breakerCoolingOffSeconds: 5),
            InstrumentRules(
                symbol: Symbol("CRUX"), tickSize: 10, lotSize: 100, priceBandBasisPoints: 0,
                referencePrice: Price(100_000), breakerThresholdBasisPoints: 0),
            InstrumentRules(
                symbol: Symbol("DUNE.X"), tickSize: 1, lotSize: 1, maximumQuantity: Quantity(500),
                priceBandBasisPoints: 2_000, referencePrice: Price(200),
                breakerThresholdBasisPoints: 300, breakerWindowSeconds: 2,
                breakerCoolingOffSeconds: 1),
        ]
        let windows = [1, 3, 16, 64]
        return EngineConfiguration(
            instruments: instruments,
            sessionWindowPerParticipant: windows[Int((seed / 4) % 4)],
            maximumLiveOrders: seed % 4 == 3 ? 180 : 5_000)
    }

    // MARK: - Stream

    mutating func next() -> Step {
        advanceTime()
        sequence += random.chance(900) ? 1 : UInt64(random.int(2...5))
        let command = nextCommand()
        // Now and then a timestamp from the past: the engine must keep its own time.
        let timestamp = random.chance(10) ? now - random.int(1...5_000_000_000) : now
        return Step(command: command, timestamp: Timestamp(nanoseconds: timestamp), sequence: sequence)
    }

    private mutating func advanceTime() {
        let step: Int64 = random.weighted([
            (800, random.int(0...20_000_000)),
            (180, random.int(20_000_000...200_000_000)),
            (19, random.int(200_000_000...3_000_000_000)),
            (1, random.int(3_000_000_000...400_000_000_000)),
        ])
        now += step
    }

    private mutating func nextCommand() -> Command {
        let roll = random.int(0..<1_000)
        switch roll {
        case 0..<680: return remember(.newOrder(newOrder()))
        case 680..<790: return remember(.cancel(cancel()))
        case 790..<880: return remember(.replace(replace()))
        case 880..<910: return retry()
        case 910..<920: return staleCommand()
        case 920..<925: return invalidParticipantCommand()
        case 925..<928: return halt()
        case 928..<941: return resume()
        case 941..<949: return setPriceBand()
        case 949..<951: return .endOfSession
        default: return .heartbeat
        }
    }

    private mutating func remember(_ command: Command) -> Command {
        let participant: UInt32
        switch command {
        case .newOrder(let order): participant = order.participant.rawValue
        case .cancel(let cancel): participant = cancel.participant.rawValue
        case .replace(let replace): participant = replace.participant.rawValue
        default: return command
        }
        var commands = history[participant, default: []]
        commands.append(command)
        if commands.count > 40 { commands.removeFirst() }
        history[participant] = commands
        return command
    }

    private mutating func takeClientOrderID(_ participant: UInt32) -> ClientOrderID {
        let step: UInt64 = random.chance(900) ? 1 : UInt64(random.int(2...4))
        let id = nextClientOrderID[participant, default: 0] + step
        nextClientOrderID[participant] = id
        return ClientOrderID(id)
    }

    private mutating func takeOrderID() -> OrderID {
        defer { nextOrderID += 1 }
        return OrderID(nextOrderID)
    }

    // MARK: - Prices and quantities

    /// Random walk of the mid, pulled back towards the configured reference, with rare jumps
    /// that set off the volatility breakers.
    private mutating func moveMid(_ index: Int) {
        let rules = configuration.instruments[index]
        let tick = rules.tickSize
        let reference = rules.referencePrice.rawValue
        if random.chance(250) { mids[index] += tick * random.int(-1...1) }
        if random.chance(4) { mids[index] += tick * random.int(8...20) * (random.chance(500) ? 1 : -1) }
        if mids[index] > reference + 30 * tick { mids[index] -= tick * random.int(1...3) }
        if mids[index] < reference - 30 * tick { mids[index] += tick * random.int(1...3) }
        mids[index] = max(mids[index], 10 * tick)
    }

    private mutating func nearMid(_ index: Int, side: Side, aggressive: Int64 = 3, passive: Int64 = 9) -> Price {
        let tick = configuration.instruments[index].tickSize
        let offset = random.int(-passive...aggressive)
        let price = mids[index] + (side == .buy ? offset : -offset) * tick
        return Price(max(tick, price))
    }

    private mutating func validQuantity(_ index: Int) -> Quantity {
        let rules = configuration.instruments[index]
        let minimumLots = (rules.minimumQuantity.rawValue + rules.lotSize - 1) / rules.lotSize
        let maximumLots = rules.maximumQuantity.rawValue / rules.lotSize
        let lots: Int64 = random.weighted([
            (600, random.int(1...5)), (300, random.int(6...20)), (100, random.int(20...60)),
        ])
        return Quantity(min(max(lots, minimumLots), maximumLots) * rules.lotSize)
    }

    // MARK: - New orders

    private mutating func newOrder() -> NewOrder {
        let participant = random.pick(Self.participants)
        let index = random.int(0..<configuration.instruments.count)
        moveMid(index)
        let rules = configuration.instruments[index]
        let tick = rules.tickSize
        let side: Side = random.chance(500) ? .buy : .sell
        let type: OrderType = random.weighted([(600, .limit), (140, .market), (120, .stop), (140, .stopLimit)])
        let timeInForce: TimeInForce
        switch type {
        case .market:
            timeInForce = random.weighted([(550, .ioc), (450, .fok)])
        case .limit:
            timeInForce = random.weighted([(300, .gtc), (200, .day), (200, .gtd), (150, .ioc), (150, .fok)])
        case .stop, .stopLimit:
            timeInForce = random.weighted([(250, .gtc), (200, .day), (200, .gtd), (150, .ioc), (200, .fok)])
        }
        var order = NewOrder(
            participant: ParticipantID(participant), clientOrderID: takeClientOrderID(participant),
            orderID: takeOrderID(), account: AccountID(random.pick(Self.accounts)), symbol: rules.symbol,
            side: side, type: type, timeInForce: timeInForce, quantity: validQuantity(index))
        order.selfTradePrevention = random.weighted([
            (400, .none), (150, .cancelNewest), (150, .cancelOldest), (150, .cancelBoth), (150, .decrement),
        ])
        switch type {
        case .limit:
            order.price = nearMid(index, side: side)
        case .market:
            break
        case .stop, .stopLimit:
            // Buy stops above the market, sell stops below; the limit a little beyond the stop.
            let distance = random.int(1...8) * tick
            let stop = side == .buy ? mids[index] + distance : max(tick, mids[index] - distance)
            order.stopPrice = Price(stop)
            if type == .stopLimit {
                let slack = random.int(-1...3) * tick
                order.price = Price(max(tick, side == .buy ? stop + slack : stop - slack))
            }
        }
        let rests = [.gtc, .day, .gtd].contains(timeInForce)
        if timeInForce == .gtd {
            let life: Int64 = random.weighted([
                (500, random.int(10_000_000...2_000_000_000)),
                (400, random.int(2_000_000_000...60_000_000_000)),
                (100, random.int(60_000_000_000...600_000_000_000)),
            ])
            order.expireAt = Timestamp(nanoseconds: now + life)
        }
        let lots = order.quantity.rawValue / rules.lotSize
        if (type == .limit || type == .stopLimit) && rests && lots >= 2 && random.chance(150) {
            order.displayQuantity = Quantity(random.int(1...max(1, min(lots - 1, 5))) * rules.lotSize)
        }
        if type == .limit && rests && random.chance(100) {
            order.postOnly = true
            // Mostly passive, so that post-only orders actually rest.
            order.price = nearMid(index, side: side, aggressive: 1, passive: 6)
        }
        if random.chance(3) {
            // A reused order id: a duplicate when that order is still live.
            if let target = recentOrder() { order.orderID = target.orderID }
        } else if rests || type == .stop || type == .stopLimit {
            created.append(
                CreatedOrder(
                    orderID: order.orderID, participant: order.participant, symbolIndex: index, side: side,
                    price: order.price, quantity: order.quantity, isStop: type == .stop || type == .stopLimit))
            if created.count > 600 { created.removeFirst(created.count - 500) }
        }
        if random.chance(110) { corrupt(&order, index: index) }
        return order
    }

    /// Breaks one rule of §3 (the first failing check decides which reason the engine reports).
    private mutating func corrupt(_ order: inout NewOrder, index: Int) {
        let rules = configuration.instruments[index]
        let tick = rules.tickSize
        let lot = rules.lotSize
        switch random.int(0..<25) {
        case 0: order.symbol = Self.unknownSymbol
        case 1: order.orderID = OrderID(0)
        case 2:
            order.type = .market
            order.price = .zero
            order.stopPrice = .zero
            order.timeInForce = random.pick([.gtc, .day, .gtd])
        case 3: order.postOnly = true
        case 4: order.displayQuantity = order.quantity
        case 5: order.displayQuantity = Quantity(-lot)
        case 6: order.displayQuantity = Quantity(lot == 1 ? 0 : lot + 1)
        case 7: order.quantity = Quantity(0)
        case 8: order.quantity = Quantity(-random.int(1...100) * lot)
        case 9: order.quantity = Quantity(order.quantity.rawValue + (lot == 1 ? 0 : 1))
        case 10: order.quantity = Quantity(rules.minimumQuantity.rawValue - lot)
        case 11: order.quantity = Quantity((rules.maximumQuantity.rawValue / lot + 1) * lot)
        case 12: order.price = random.pick([Price(0), Price(-tick), Price(Price.maximum.rawValue + tick)])
        case 13: order.price = Price(order.price.rawValue + (tick == 1 ? 0 : 1))
        case 14: order.price = Price(mids[index] * random.pick([2, 3]) / 2 / tick * tick)
        case 15: order.stopPrice = random.pick([Price(0), Price(-tick), Price(order.stopPrice.rawValue + 1)])
        case 16:
            // A stop on the wrong side of the market: it would trigger at once.
            let distance = random.int(1...8) * tick
            order.type = random.pick([.stop, .stopLimit])
            order.stopPrice = Price(max(tick, order.side == .buy ? mids[index] - distance : mids[index] + distance))
            order.price = order.type == .stop ? .zero : order.stopPrice
        case 17: order.expireAt = Timestamp(nanoseconds: now - random.int(0...1_000_000))
        case 18:
            order.timeInForce = random.pick([.gtc, .day, .ioc, .fok])
            order.expireAt = Timestamp(nanoseconds: now + 1_000_000_000)
        case 19:
            order.type = .limit
            order.stopPrice = .zero
            order.timeInForce = .gtc
            order.expireAt = .zero
            order.displayQuantity = .zero
            order.postOnly = true
            order.price = nearMid(index, side: order.side, aggressive: 6, passive: 0)
        case 20:
            order.type = .market
            order.price = random.chance(500) ? Price(mids[index]) : .zero
            order.stopPrice = .zero
        case 21:
            order.type = .limit
            order.stopPrice = Price(mids[index])
        case 22:
            order.timeInForce = .ioc
            order.expireAt = .zero
            order.displayQuantity = Quantity(lot)
        case 23:
            // Reuse the id of an order that is probably still live (a resting passive order).
            if let target = recentOrder() { order.orderID = target.orderID }
        default:
            order.participant = ParticipantID(0)
        }
    }

    // MARK: - Cancel and replace

    /// A recently created order, biased towards the newest.
    private mutating func recentOrder() -> CreatedOrder? {
        guard !created.isEmpty else { return nil }
        if random.chance(700) {
            let window = min(created.count, 60)
            return created[created.count - 1 - random.int(0..<window)]
        }
        return random.pick(created)
    }

    private mutating func cancel() -> CancelOrder {
        if let target = recentOrder(), random.chance(870) {
            // Mostly forget a cancelled order; the rest of the time it may be cancelled again.
            if random.chance(800) { created.removeAll { $0.orderID == target.orderID } }
            let participant = random.chance(850) ? target.participant.rawValue : random.pick(Self.participants)
            let symbol = random.weighted([
                (950, configuration.instruments[target.symbolIndex].symbol),
                (30, random.pick(configuration.instruments).symbol),
                (20, Self.unknownSymbol),
            ])
            return CancelOrder(
                participant: ParticipantID(participant),
                clientOrderID: takeClientOrderID(participant), orderID: target.orderID,
                symbol: symbol)
        }
        let participant = random.pick(Self.participants)
        return CancelOrder(
            participant: ParticipantID(participant), clientOrderID: takeClientOrderID(participant),
            orderID: OrderID(random.chance(900) ? nextOrderID + UInt64(random.int(0...1_000)) : 0),
            symbol: random.pick(configuration.instruments).symbol)
    }

    private mutating func replace() -> ReplaceOrder {
        guard var target = recentOrder(), random.chance(940) else {
            let participant = random.pick(Self.participants)
            let index = random.int(0..<configuration.instruments.count)
            return ReplaceOrder(
                participant: ParticipantID(participant), clientOrderID: takeClientOrderID(participant),
                orderID: OrderID(nextOrderID + 7), symbol: configuration.instruments[index].symbol,
                price: Price(mids[index]), quantity: validQuantity(index))
        }
        let index = target.symbolIndex
        let rules = configuration.instruments[index]
        let participant = random.chance(900) ? target.participant.rawValue : random.pick(Self.participants)
        var price: Price = random.weighted([
            (450, target.price),
            (550, nearMid(index, side: target.side, aggressive: 2, passive: 6)),
        ])
        if target.isStop || price == .zero { price = nearMid(index, side: target.side) }
        var quantity: Quantity = random.weighted([
            (450, Quantity(target.quantity.rawValue - rules.lotSize * random.int(0...3))),
            (550, validQuantity(index)),
        ])
        switch random.int(0..<40) {
        case 0: quantity = Quantity(0)
        case 1: quantity = Quantity(-rules.lotSize)
        case 2: quantity = Quantity(quantity.rawValue + (rules.lotSize == 1 ? 0 : 1))
        case 3: quantity = Quantity((rules.maximumQuantity.rawValue / rules.lotSize + 1) * rules.lotSize)
        case 4: price = Price(0)
        case 5: price = Price(price.rawValue + (rules.tickSize == 1 ? 0 : 1))
        case 6: price = Price(mids[index] * 3 / 2 / rules.tickSize * rules.tickSize)
        case 7: price = Price(Price.maximum.rawValue + rules.tickSize)
        default: break
        }
        let symbol = random.chance(980) ? rules.symbol : Self.unknownSymbol
        let command = ReplaceOrder(
            participant: ParticipantID(participant),
            clientOrderID: takeClientOrderID(participant), orderID: target.orderID,
            symbol: symbol, price: price, quantity: quantity)
        if let position = created.lastIndex(where: { $0.orderID == target.orderID }), price.rawValue > 0 {
            target.price = price
            target.quantity = quantity.rawValue > 0 ? quantity : target.quantity
            created[position] = target
        }
        return command
    }

    // MARK: - Session edge cases

    /// The exact same command again: a duplicate inside the window, stale outside it.
    private mutating func retry() -> Command {
        let participant = random.pick(Self.participants)
        guard let commands = history[participant], !commands.isEmpty else { return .heartbeat }
        let recent = random.chance(600)
        let position =
            recent ? commands.count - 1 - random.int(0..<min(commands.count, 4)) : random.int(0..<commands.count)
        return commands[position]
    }

    /// A fresh command that reuses a client order id at or below the participant's high-water mark.
    private mutating func staleCommand() -> Command {
        let participant = random.pick(Self.participants)
        let highest = nextClientOrderID[participant, default: 0]
        let reused = ClientOrderID(highest == 0 ? 0 : highest - UInt64(random.int(0...min(Int64(highest), 5))))
        var order = newOrder()
        order.participant = ParticipantID(participant)
        order.clientOrderID = reused
        return .newOrder(order)
    }

    private mutating func invalidParticipantCommand() -> Command {
        var order = newOrder()
        order.participant = ParticipantID(0)
        if random.chance(500) { return .newOrder(order) }
        return .cancel(
            CancelOrder(
                participant: ParticipantID(0), clientOrderID: ClientOrderID(1),
                orderID: order.orderID, symbol: order.symbol))
    }

    // MARK: - Operator commands

    private mutating func someSymbol() -> (index: Int?, symbol: Symbol) {
        if random.chance(50) { return (nil, Self.unknownSymbol) }
        let index = random.int(0..<configuration.instruments.count)
        return (index, configuration.instruments[index].symbol)
    }

    private mutating func halt() -> Command {
        let target = someSymbol()
        if let index = target.index, !manuallyHalted.contains(index) { manuallyHalted.append(index) }
        return .halt(target.symbol)
    }

    private mutating func resume() -> Command {
        if !manuallyHalted.isEmpty && random.chance(750) {
            return .resume(configuration.instruments[manuallyHalted.removeFirst()].symbol)
        }
        return .resume(someSymbol().symbol)
    }

    private mutating func setPriceBand() -> Command {
        let target = someSymbol()
        let index = target.index ?? 0
        let tick = configuration.instruments[index].tickSize
        let basisPoints: Int64 =
            random.chance(850)
            ? random.pick([0, 200, 500, 1_000, 1_000, 2_000, 3_000])
            : random.pick([-1, 100_001, 250_000])
        let reference: Price = random.weighted([
            (500, Price.zero),
            (400, Price(mids[index] / tick * tick)),
            (
                100,
                random.pick([
                    Price(-tick), Price(mids[index] + (tick == 1 ? -2 * mids[index] : 1)),
                    Price(Price.maximum.rawValue + tick),
                ])
            ),
        ])
        return .setPriceBand(target.symbol, basisPoints: basisPoints, referencePrice: reference)
    }
}

extension CommandGenerator {
    /// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fully deterministic PRNG, so that a seed names
    /// the same command stream on every platform and toolchain. Never the system generator.
    struct SplitMix64 {
        /// The workloads' generator supplies the bits; the test-data helpers below are this file's.
        private var bits: Workloads.SplitMix64

        init(seed: UInt64) { bits = Workloads.SplitMix64(seed: seed) }

        mutating func next() -> UInt64 { bits.next() }

        /// Uniform in `range` (the modulo bias is irrelevant for test data).
        mutating func int(_ range: ClosedRange<Int64>) -> Int64 {
            let width = UInt64(range.upperBound - range.lowerBound) &+ 1
            if width == 0 { return Int64(bitPattern: next()) }
            return range.lowerBound + Int64(next() % width)
        }

        mutating func int(_ range: Range<Int>) -> Int {
            range.lowerBound + Int(next() % UInt64(range.count))
        }

        /// True with probability `perMille` / 1000.
        mutating func chance(_ perMille: Int) -> Bool { Int(next() % 1_000) < perMille }

        mutating func pick<T>(_ choices: [T]) -> T { choices[int(0..<choices.count)] }

        /// Picks by integer weights.
        mutating func weighted<T>(_ choices: [(weight: Int, value: T)]) -> T {
            let total = choices.reduce(0) { $0 + $1.weight }
            var roll = int(0..<total)
            for choice in choices {
                if roll < choice.weight { return choice.value }
                roll -= choice.weight
            }
            preconditionFailure("weights must be positive")
        }
    }
}
