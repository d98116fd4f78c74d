public import ExchangeCore
public import Matching

/// Why a W1 stream could not be generated: the engine and the generator's copy of the book
/// disagree (a bug in one of them), or the configuration is invalid.
public struct W1GenerationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { "W1 generation: \(message)" }
}

/// Generates W1 streams by running them against a `MatchingEngine`: each command is applied as
/// soon as it is drawn, and the engine's events tell the generator which orders rest, at which
/// price and with which leaves. The stream is therefore valid for the engine's semantics
/// (docs/MATCHING.md) by construction, and a rejection means a bug.
///
/// The whole stream is a function of (scenario, measured command count, seed) and of the matching
/// semantics only.
public enum W1Generator {
    /// - Parameter progress: called every 2^20 commands with (done, total).
    public static func generate(
        scenario: W1Scenario, measuredCommands: Int, seed: UInt64,
        progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws(W1GenerationError) -> W1Workload {
        precondition(measuredCommands >= 0, "measuredCommands must not be negative")
        let parameters = scenario.parameters
        let configuration = configuration(for: parameters)
        let engine: MatchingEngine
        do {
            engine = try MatchingEngine(configuration: configuration)
        } catch {
            throw W1GenerationError(message: "\(error)")
        }
        var state = GeneratorState(parameters: parameters, seed: seed, engine: engine)
        let prefillCount = parameters.symbolCount * parameters.restingTargetPerSymbol
        let total = prefillCount + measuredCommands
        state.commands.reserveCapacity(total)

        for symbolIndex in 0..<parameters.symbolCount {
            for orderIndex in 0..<parameters.restingTargetPerSymbol {
                let side: Side = orderIndex % 2 == 0 ? .buy : .sell
                state.run(state.newLimit(symbolIndex: symbolIndex, side: side), kind: nil)
            }
        }
        for done in 0..<measuredCommands {
            if done > 0 && done & ((1 << 20) - 1) == 0 { progress(done, measuredCommands) }
            state.runMeasured()
        }
        try state.verifyAgainstEngine()
        state.statistics.digest = state.digest.finalizeHex()
        state.statistics.events = state.digest.eventCount
        return W1Workload(
            scenario: scenario, seed: seed, parameters: parameters, configuration: configuration,
            commands: state.commands, prefillCount: prefillCount, statistics: state.statistics)
    }

    /// The instruments of a W1 stream: tick and lot 1, price band and volatility breaker
    /// disabled (0 basis points) so that W1 measures matching, not halts.
    public static func configuration(for parameters: W1Parameters) -> EngineConfiguration {
        let instruments = (0..<parameters.symbolCount).map { index in
            InstrumentRules(
                symbol: symbol(index, of: parameters.symbolCount), tickSize: 1, lotSize: 1,
                priceBandBasisPoints: 0, referencePrice: Price(parameters.centerPriceTicks),
                breakerThresholdBasisPoints: 0)
        }
        return EngineConfiguration(instruments: instruments)
    }

    /// "ACME" for a single symbol; "S0000" ... "S9999" for many.
    public static func symbol(_ index: Int, of count: Int) -> Symbol {
        if count == 1 { return Symbol("ACME") }
        var text = String(index)
        let width = String(count - 1).count
        while text.count < width { text = "0" + text }
        do {
            return try Symbol(validating: "S" + text)
        } catch {
            preconditionFailure("generated symbol S\(text) is invalid: \(error)")
        }
    }
}

/// The generator's copy of one live (resting) order.
private struct LiveOrder {
    var symbolIndex: Int
    /// Position in `SymbolBook.live`.
    var slot: Int
    var participant: ParticipantID
    var side: Side
    var price: Int64
    var quantity: Int64
    var leaves: Int64
}

/// The generator's copy of one symbol's book.
private struct SymbolBook {
    /// Live order ids in no particular order, for uniform choice; swap-removed.
    var live: [OrderID] = []
    /// FIFO queues per price (only for styles that need queue positions).
    var bids: [Int64: [OrderID]] = [:]
    var asks: [Int64: [OrderID]] = [:]
}

private struct GeneratorState {
    let parameters: W1Parameters
    var engine: MatchingEngine
    var random: SplitMix64
    let symbols: [Symbol]
    let symbolIndex: [Symbol: Int]
    let tracksQueues: Bool

    var books: [SymbolBook]
    var orders: [OrderID: LiveOrder] = [:]
    var nextOrderID: UInt64 = 1
    /// Last client order id used, per participant (index 0 unused: participant 0 is invalid).
    var lastClientOrderID: [UInt64]

    var commands: [Command] = []
    var events: [Event] = []
    var digest = EventDigest()
    var statistics = W1Statistics()

    init(parameters: W1Parameters, seed: UInt64, engine: MatchingEngine) {
        self.parameters = parameters
        self.engine = engine
        random = SplitMix64(seed: seed)
        symbols = (0..<parameters.symbolCount).map { W1Generator.symbol($0, of: parameters.symbolCount) }
        var index: [Symbol: Int] = [:]
        for (position, symbol) in symbols.enumerated() { index[symbol] = position }
        symbolIndex = index
        tracksQueues = parameters.cancelStyle == .insideLevel || parameters.marketableStyle == .sweep
        books = Array(repeating: SymbolBook(), count: parameters.symbolCount)
        lastClientOrderID = Array(repeating: 0, count: parameters.participantCount + 1)
        events.reserveCapacity(1_024)
    }

    // MARK: Running

    /// Draws, emits and applies one measured command.
    mutating func runMeasured() {
        let symbol = parameters.symbolCount == 1 ? 0 : random.next(below: parameters.symbolCount)
        let mix = parameters.mix
        let draw = random.next(below: 100)
        var kind: W1CommandKind =
            draw < mix.newLimit
            ? .newLimit
            : draw < mix.newLimit + mix.replace
                ? .replace
                : draw < mix.newLimit + mix.replace + mix.cancel
                    ? .cancel
                    : .marketable
        statistics.drawn[kind.rawValue] += 1

        let population = books[symbol].live.count
        let target = parameters.restingTargetPerSymbol
        if kind == .cancel && parameters.control == .cancelBecomesNewLimitBelowTarget && population < target {
            kind = .newLimit
        }
        if (kind == .cancel || kind == .replace) && population == 0 {
            kind = .newLimit
        }

        let command: Command
        switch kind {
        case .newLimit:
            command = newLimit(symbolIndex: symbol, side: randomSide())
        case .replace:
            command = replace(symbolIndex: symbol)
        case .cancel:
            command = cancel(symbolIndex: symbol)
        case .marketable:
            command = marketable(symbolIndex: symbol, population: population, target: target)
        }
        run(command, kind: kind)

        let resting = orders.count
        statistics.restingMinimum = min(statistics.restingMinimum, resting)
        statistics.restingMaximum = max(statistics.restingMaximum, resting)
        statistics.restingSum += resting
    }

    /// Applies `command` (the next in the stream), records it and learns from its events.
    /// `kind` is nil for prefill commands.
    mutating func run(_ command: Command, kind: W1CommandKind?) {
        let index = commands.count
        commands.append(command)
        events.removeAll(keepingCapacity: true)
        engine.apply(
            command, timestamp: W1Workload.timestamp(at: index), sequence: W1Workload.sequence(at: index),
            into: &events)
        digest.add(contentsOf: events)
        if let kind { statistics.emitted[kind.rawValue] += 1 }

        var trades = 0
        var levels = 0
        var lastTradePrice: Int64 = 0
        for event in events {
            switch event {
            case .accepted(let accepted):
                if accepted.type == .limit && accepted.timeInForce == .gtc {
                    insert(accepted)
                }
            case .trade(let trade):
                trades += 1
                if trades == 1 || trade.price.rawValue != lastTradePrice { levels += 1 }
                lastTradePrice = trade.price.rawValue
                setLeaves(trade.buyOrderID, trade.buyLeaves.rawValue)
                setLeaves(trade.sellOrderID, trade.sellLeaves.rawValue)
            case .cancelled(let cancelled):
                setLeaves(cancelled.orderID, cancelled.leavesQuantity.rawValue)
            case .replaced(let replaced):
                replace(replaced)
            case .expired(let expired):
                setLeaves(expired.orderID, 0)
            case .rejected(let rejected):
                statistics.rejects += 1
                if statistics.firstReject == nil {
                    statistics.firstReject = "command \(index) (sequence \(index + 1)): \(command) -> \(rejected)"
                }
            case .duplicate, .triggered, .halted, .auction, .resumed, .priceBandSet, .bookDelta:
                break
            }
        }
        if kind != nil {
            statistics.trades += trades
            if kind == .marketable {
                statistics.marketableTrades += trades
                statistics.marketableLevelsTraded += levels
                if trades > 0 { statistics.marketableThatTraded += 1 }
            }
        }
    }

    // MARK: Commands

    mutating func newLimit(symbolIndex symbol: Int, side: Side) -> Command {
        let participant = randomParticipant()
        let orderID = OrderID(nextOrderID)
        nextOrderID += 1
        return .newOrder(
            NewOrder(
                participant: participant, clientOrderID: nextClientOrderID(participant), orderID: orderID,
                account: AccountID(UInt64(participant.rawValue)), symbol: symbols[symbol], side: side,
                type: .limit, timeInForce: .gtc, price: Price(passivePrice(side)),
                quantity: Quantity(random.next(in: parameters.quantityRange))))
    }

    /// Moves a random live order to another passive price on its side, same total quantity.
    mutating func replace(symbolIndex symbol: Int) -> Command {
        let live = books[symbol].live
        let orderID = live[random.next(below: live.count)]
        let order = orders[orderID]!
        var price = passivePrice(order.side)
        if price == order.price {
            // Must move: one tick towards the centre, or away from it at the innermost price.
            let innermost = order.side == .buy ? parameters.centerPriceTicks - 1 : parameters.centerPriceTicks + 1
            let towardCentre: Int64 = order.side == .buy ? 1 : -1
            price += price == innermost ? -towardCentre : towardCentre
        }
        return .replace(
            ReplaceOrder(
                participant: order.participant, clientOrderID: nextClientOrderID(order.participant),
                orderID: orderID, symbol: symbols[symbol], price: Price(price), quantity: Quantity(order.quantity)))
    }

    mutating func cancel(symbolIndex symbol: Int) -> Command {
        var orderID: OrderID?
        if parameters.cancelStyle == .insideLevel {
            let side = randomSide()
            let price = passivePrice(side)
            if let queue = side == .buy ? books[symbol].bids[price] : books[symbol].asks[price], queue.count >= 4 {
                orderID = queue[queue.count / 4 + random.next(below: queue.count / 2)]
            }
        }
        let live = books[symbol].live
        let chosen = orderID ?? live[random.next(below: live.count)]
        let participant = orders[chosen]!.participant
        return .cancel(
            CancelOrder(
                participant: participant, clientOrderID: nextClientOrderID(participant), orderID: chosen,
                symbol: symbols[symbol]))
    }

    mutating func marketable(symbolIndex symbol: Int, population: Int, target: Int) -> Command {
        let side = randomSide()
        let participant = randomParticipant()
        let orderID = OrderID(nextOrderID)
        nextOrderID += 1
        var type = OrderType.limit
        var price: Int64
        var quantity = random.next(in: parameters.quantityRange)
        let farPrice =
            side == .buy
            ? parameters.centerPriceTicks + parameters.priceRangeTicks + 1
            : parameters.centerPriceTicks - parameters.priceRangeTicks - 1

        switch parameters.marketableStyle {
        case .immediateOrCancelLimit:
            price = farPrice
            if population * 100 > target * 102 {
                quantity *= 3
            } else if population * 100 < target * 98 {
                quantity = max(1, quantity / 4)
            }
        case .market:
            type = .market
            price = 0
        case .sweep:
            let fullOrders =
                population > target
                ? 2 + random.next(below: 2)
                : population * 100 >= target * 95 ? 1 : 0
            (quantity, price) = sweep(symbolIndex: symbol, aggressor: side, fullOrders: fullOrders, farPrice: farPrice)
        }
        return .newOrder(
            NewOrder(
                participant: participant, clientOrderID: nextClientOrderID(participant), orderID: orderID,
                account: AccountID(UInt64(participant.rawValue)), symbol: symbols[symbol], side: side, type: type,
                timeInForce: .ioc, price: Price(price), quantity: Quantity(quantity)))
    }

    /// Quantity and limit price that take the first `fullOrders` opposite orders in priority
    /// order in full and half of the next one. An empty opposite side gives a far limit and a
    /// random quantity (the order is cancelled unfilled).
    func sweep(symbolIndex symbol: Int, aggressor: Side, fullOrders: Int, farPrice: Int64) -> (Int64, Int64) {
        let best = aggressor == .buy ? engine.bestAsk(symbols[symbol]) : engine.bestBid(symbols[symbol])
        guard let best else { return (parameters.quantityRange.upperBound, farPrice) }
        let step: Int64 = aggressor == .buy ? 1 : -1
        let levels = aggressor == .buy ? books[symbol].asks : books[symbol].bids
        var price = best.price.rawValue
        var quantity: Int64 = 0
        var taken = 0
        var limit = price
        while price != farPrice {
            if let queue = levels[price] {
                for orderID in queue {
                    let leaves = orders[orderID]!.leaves
                    limit = price
                    if taken < fullOrders {
                        quantity += leaves
                        taken += 1
                    } else {
                        return (quantity + max(1, leaves / 2), limit)
                    }
                }
            }
            price += step
        }
        return (max(quantity, 1), limit)
    }

    // MARK: Learning from events

    mutating func insert(_ accepted: Event.Accepted) {
        let symbol = symbolIndex[accepted.symbol]!
        let order = LiveOrder(
            symbolIndex: symbol, slot: books[symbol].live.count, participant: accepted.participant,
            side: accepted.side, price: accepted.price.rawValue, quantity: accepted.quantity.rawValue,
            leaves: accepted.quantity.rawValue)
        orders[accepted.orderID] = order
        books[symbol].live.append(accepted.orderID)
        if tracksQueues { enqueue(accepted.orderID, symbol: symbol, side: order.side, price: order.price) }
    }

    /// Sets an order's leaves; 0 removes it. Orders the generator does not track (IOC and
    /// market orders) are ignored.
    mutating func setLeaves(_ orderID: OrderID, _ leaves: Int64) {
        guard var order = orders[orderID] else { return }
        if leaves > 0 {
            order.leaves = leaves
            orders[orderID] = order
            return
        }
        orders[orderID] = nil
        let symbol = order.symbolIndex
        let lastID = books[symbol].live.removeLast()
        if lastID != orderID {
            books[symbol].live[order.slot] = lastID
            orders[lastID]!.slot = order.slot
        }
        if tracksQueues { dequeue(orderID, symbol: symbol, side: order.side, price: order.price) }
    }

    /// A replace that lost priority moves the order to the back of its new level (it may then
    /// trade as an aggressor; its trades follow in the same command's events).
    mutating func replace(_ replaced: Event.Replaced) {
        guard var order = orders[replaced.orderID] else { return }
        if !replaced.keptPriority && tracksQueues {
            dequeue(replaced.orderID, symbol: order.symbolIndex, side: order.side, price: order.price)
            enqueue(replaced.orderID, symbol: order.symbolIndex, side: order.side, price: replaced.price.rawValue)
        }
        order.price = replaced.price.rawValue
        order.quantity = replaced.quantity.rawValue
        order.leaves = replaced.leavesQuantity.rawValue
        orders[replaced.orderID] = order
    }

    mutating func enqueue(_ orderID: OrderID, symbol: Int, side: Side, price: Int64) {
        if side == .buy {
            books[symbol].bids[price, default: []].append(orderID)
        } else {
            books[symbol].asks[price, default: []].append(orderID)
        }
    }

    mutating func dequeue(_ orderID: OrderID, symbol: Int, side: Side, price: Int64) {
        func remove(from levels: inout [Int64: [OrderID]]) {
            guard let position = levels[price]?.firstIndex(of: orderID) else {
                preconditionFailure("generator lost order \(orderID) at \(price)")
            }
            levels[price]!.remove(at: position)
            if levels[price]!.isEmpty { levels[price] = nil }
        }
        if side == .buy { remove(from: &books[symbol].bids) } else { remove(from: &books[symbol].asks) }
    }

    // MARK: Verification

    /// The generator's copy of the books must match the engine's views exactly.
    mutating func verifyAgainstEngine() throws(W1GenerationError) {
        guard engine.liveOrderCount == orders.count else {
            throw W1GenerationError(
                message: "engine holds \(engine.liveOrderCount) live orders, generator tracks \(orders.count)")
        }
        var resting = 0
        var levels = 0
        for (index, symbol) in symbols.enumerated() {
            // Passive prices span 2 * priceRangeTicks levels; nothing else rests.
            guard let depth = engine.depth(symbol, levels: 2 * Int(parameters.priceRangeTicks) + 2) else {
                throw W1GenerationError(message: "engine has no depth for \(symbol)")
            }
            levels += depth.bids.count + depth.asks.count
            resting += (depth.bids + depth.asks).reduce(0) { $0 + $1.orderCount }
            if tracksQueues {
                guard let book = engine.book(symbol) else {
                    throw W1GenerationError(message: "engine has no book for \(symbol)")
                }
                try compare(book.bids, books[index].bids, descending: true, symbol: symbol)
                try compare(book.asks, books[index].asks, descending: false, symbol: symbol)
            }
        }
        guard resting == orders.count else {
            throw W1GenerationError(message: "engine depth counts \(resting) resting orders, generator \(orders.count)")
        }
        // Spot checks of single orders.
        var checker = SplitMix64(seed: 0x5EED)
        for _ in 0..<min(1_000, orders.count) {
            let symbol = checker.next(below: books.count)
            guard !books[symbol].live.isEmpty else { continue }
            let orderID = books[symbol].live[checker.next(below: books[symbol].live.count)]
            let mine = orders[orderID]!
            guard let theirs = engine.order(orderID), theirs.state == .resting,
                theirs.leavesQuantity.rawValue == mine.leaves, theirs.price.rawValue == mine.price,
                theirs.side == mine.side, theirs.quantity.rawValue == mine.quantity
            else {
                throw W1GenerationError(
                    message: "order \(orderID): engine \(String(describing: engine.order(orderID))), generator \(mine)")
            }
        }
        statistics.finalRestingOrders = resting
        statistics.finalPriceLevels = levels
    }

    private func compare(
        _ engineOrders: [RestingOrderView], _ queues: [Int64: [OrderID]], descending: Bool, symbol: Symbol
    ) throws(W1GenerationError) {
        let prices = queues.keys.sorted(by: descending ? (>) : (<))
        let expected = prices.flatMap { queues[$0]! }
        guard engineOrders.map(\.orderID) == expected else {
            throw W1GenerationError(message: "L3 queue order of \(symbol) differs from the generator's FIFO model")
        }
    }

    // MARK: Draws

    mutating func randomSide() -> Side {
        random.next(below: 2) == 0 ? .buy : .sell
    }

    mutating func randomParticipant() -> ParticipantID {
        ParticipantID(UInt32(1 + random.next(below: parameters.participantCount)))
    }

    mutating func nextClientOrderID(_ participant: ParticipantID) -> ClientOrderID {
        lastClientOrderID[Int(participant.rawValue)] += 1
        return ClientOrderID(lastClientOrderID[Int(participant.rawValue)])
    }

    mutating func passivePrice(_ side: Side) -> Int64 {
        let offset = 1 + Int64(random.next(below: Int(parameters.priceRangeTicks)))
        return side == .buy ? parameters.centerPriceTicks - offset : parameters.centerPriceTicks + offset
    }
}
