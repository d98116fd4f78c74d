public import ExchangeClient
public import ExchangeCore
public import Matching
public import Wire
public import Workloads

/// One command a bot sends: what `OrderFlow.next()` draws and `OrderFlow.learn` is told the answer of.
public enum FlowCommand: Sendable, Hashable {
    case newOrder(NewOrderRequest)
    case cancel(CancelOrder)
    case replace(ReplaceOrder)

    public var kind: AckRecord.Kind {
        switch self {
        case .newOrder: .newOrder
        case .cancel: .cancel
        case .replace: .replace
        }
    }

    public var symbol: Symbol {
        switch self {
        case .newOrder(let order): order.symbol
        case .cancel(let cancel): cancel.symbol
        case .replace(let replace): replace.symbol
        }
    }

    public var clientOrderID: ClientOrderID {
        switch self {
        case .newOrder(let order): order.clientOrderID
        case .cancel(let cancel): cancel.clientOrderID
        case .replace(let replace): replace.clientOrderID
        }
    }

    /// The order a cancel or replace names; nil for a new order.
    public var targetOrderID: OrderID? {
        switch self {
        case .newOrder: nil
        case .cancel(let cancel): cancel.orderID
        case .replace(let replace): replace.orderID
        }
    }
}

/// The price grid of one traded symbol, in the instrument's own units.
public struct FlowInstrument: Sendable, Hashable {
    public var symbol: Symbol
    public var referencePrice: Int64
    public var tickSize: Int64
    public var lotSize: Int64
    public var minimumQuantity: Int64
    public var maximumQuantity: Int64
    /// Passive buys rest at `reference - tick * (1 + U[0, priceRangeTicks))`, passive sells mirrored above, so
    /// passive orders never cross; marketable orders are IOC limits one tick beyond the range.
    public var priceRangeTicks: Int64

    public init(
        symbol: Symbol, referencePrice: Int64, tickSize: Int64, lotSize: Int64, minimumQuantity: Int64,
        maximumQuantity: Int64, priceRangeTicks: Int64
    ) {
        precondition(tickSize > 0 && lotSize > 0 && priceRangeTicks > 0, "a flow instrument needs a positive grid")
        precondition(referencePrice - tickSize * (priceRangeTicks + 1) > 0, "the price range must stay positive")
        self.symbol = symbol
        self.referencePrice = referencePrice
        self.tickSize = tickSize
        self.lotSize = lotSize
        self.minimumQuantity = minimumQuantity
        self.maximumQuantity = maximumQuantity
        self.priceRangeTicks = priceRangeTicks
    }

    /// The grid for `rules`: W1a's 800-tick range, narrowed to half the price band and half the volatility breaker
    /// threshold (so the flow never trips either) and to what keeps buy prices positive. Nil when the reference
    /// price is too low to leave room for one tick on each side.
    public init?(rules: InstrumentRules, rangeTicksMax: Int64 = W1Scenario.a.parameters.priceRangeTicks) {
        let reference = rules.referencePrice.rawValue
        let tick = rules.tickSize
        var range = rangeTicksMax
        for basisPoints in [rules.priceBandBasisPoints, rules.breakerThresholdBasisPoints] where basisPoints > 0 {
            range = Swift.min(range, reference / 10_000 * basisPoints / 2 / tick)
        }
        range = Swift.min(range, reference / tick - 2)
        guard range >= 1 else { return nil }
        self.init(
            symbol: rules.symbol, referencePrice: reference, tickSize: tick, lotSize: rules.lotSize,
            minimumQuantity: rules.minimumQuantity.rawValue, maximumQuantity: rules.maximumQuantity.rawValue,
            priceRangeTicks: range)
    }
}

/// The order flow of one bot (one participant): W1a's command mix over the network (CONVENTIONS 1: a value type,
/// no clock, no I/O; the same seed and the same answers give the same commands).
///
/// Unlike `W1Generator`, which runs the engine itself, a bot knows only what its acknowledgements told it: it
/// cancels and replaces only orders an earlier answer to one of its own commands reported resting, and never names
/// an order that another of its commands in flight already names. Fills by other bots' marketable orders are not
/// seen, so a cancel or replace may still be rejected (`unknownOrder`, `orderNotReplaceable`): such a rejection is
/// a business outcome, counted, and the order is forgotten.
///
/// Population control (from W1's `marketableQuantity` and `cancelBecomesNewLimitBelowTarget`): below
/// `restingTarget` a drawn cancel becomes a new limit (so the book fills from empty without a prefill phase);
/// marketable quantities are x3 above 102% of the target and x1/4 below 98%.
///
/// - Important: call `next()` to draw, then exactly one of `learn(_:result:)` or `forget(_:)` for every command
///   drawn, in any order.
public struct OrderFlow: Sendable {
    /// What the bot believes about one of its resting orders.
    struct KnownOrder: Sendable, Hashable {
        var orderID: OrderID
        var side: Side
        var price: Int64
        var quantity: Int64
        /// Position in `Book.idle` while idle; -1 while a command naming it is in flight.
        var slot: Int
    }

    struct Book: Sendable {
        var orders: [OrderID: KnownOrder] = [:]
        /// Orders no command in flight names, for uniform choice; swap-removed.
        var idle: [OrderID] = []
    }

    public let participant: ParticipantID
    public let instruments: [FlowInstrument]
    public let mix: W1Mix
    public let restingTarget: Int
    /// Quantities in lots, uniform.
    public let lotsRange: ClosedRange<Int64>
    private var random: SplitMix64
    private var books: [Book]
    private var bookIndex: [Symbol: Int]
    private var lastClientOrderID: UInt64
    public private(set) var drawn: [AckRecord.Kind: Int] = [:]

    /// - Parameters:
    ///   - firstClientOrderID: the first id used; later ones are each one higher. Give a value above every id the
    ///     participant used before (e.g. derived from the wall clock) so that a restarted bot is not stale.
    public init(
        participant: ParticipantID, instruments: [FlowInstrument], seed: UInt64, restingTarget: Int,
        mix: W1Mix = W1Scenario.a.parameters.mix, lotsRange: ClosedRange<Int64> = W1Scenario.a.parameters.quantityRange,
        firstClientOrderID: UInt64 = 1
    ) {
        precondition(!instruments.isEmpty, "an order flow needs at least one instrument")
        precondition(restingTarget >= 1 && lotsRange.lowerBound >= 1 && firstClientOrderID >= 1)
        self.participant = participant
        self.instruments = instruments
        self.mix = mix
        self.restingTarget = restingTarget
        self.lotsRange = lotsRange
        random = SplitMix64(seed: seed)
        books = Array(repeating: Book(), count: instruments.count)
        var index: [Symbol: Int] = [:]
        for (position, instrument) in instruments.enumerated() { index[instrument.symbol] = position }
        bookIndex = index
        lastClientOrderID = firstClientOrderID - 1
    }

    /// Resting orders the bot believes it has, in flight or idle.
    public var knownOrderCount: Int { books.reduce(0) { $0 + $1.orders.count } }

    /// Whether `orderID` is a resting order of this bot in `symbol`'s book as far as the bot knows.
    public func knows(_ orderID: OrderID, in symbol: Symbol) -> Bool {
        guard let index = bookIndex[symbol] else { return false }
        return books[index].orders[orderID] != nil
    }

    // MARK: Drawing

    /// Draws the next command.
    public mutating func next() -> FlowCommand {
        let symbolIndex = instruments.count == 1 ? 0 : random.next(below: instruments.count)
        let draw = random.next(below: 100)
        var kind: W1CommandKind =
            draw < mix.newLimit
            ? .newLimit
            : draw < mix.newLimit + mix.replace
                ? .replace
                : draw < mix.newLimit + mix.replace + mix.cancel ? .cancel : .marketable
        let population = knownOrderCount
        if kind == .cancel && population < restingTarget { kind = .newLimit }
        if (kind == .cancel || kind == .replace) && books[symbolIndex].idle.isEmpty { kind = .newLimit }

        let command: FlowCommand
        switch kind {
        case .newLimit: command = newLimit(symbolIndex)
        case .replace: command = replace(symbolIndex)
        case .cancel: command = cancel(symbolIndex)
        case .marketable: command = marketable(symbolIndex, population: population)
        }
        drawn[command.kind, default: 0] += 1
        return command
    }

    private mutating func nextClientOrderID() -> ClientOrderID {
        lastClientOrderID += 1
        return ClientOrderID(lastClientOrderID)
    }

    private mutating func randomSide() -> Side { random.next(below: 2) == 0 ? .buy : .sell }

    private mutating func passivePrice(_ instrument: FlowInstrument, _ side: Side) -> Int64 {
        let offset = instrument.tickSize * (1 + Int64(random.next(below: Int(instrument.priceRangeTicks))))
        return side == .buy ? instrument.referencePrice - offset : instrument.referencePrice + offset
    }

    private func quantity(_ instrument: FlowInstrument, lots: Int64) -> Int64 {
        var quantity = lots * instrument.lotSize
        if quantity < instrument.minimumQuantity {
            quantity = (instrument.minimumQuantity + instrument.lotSize - 1) / instrument.lotSize * instrument.lotSize
        }
        if quantity > instrument.maximumQuantity {
            quantity = instrument.maximumQuantity / instrument.lotSize * instrument.lotSize
        }
        return quantity
    }

    private mutating func newLimit(_ symbolIndex: Int) -> FlowCommand {
        let instrument = instruments[symbolIndex]
        let side = randomSide()
        let price = passivePrice(instrument, side)
        let lots = random.next(in: lotsRange)
        return .newOrder(
            NewOrderRequest(
                participant: participant, clientOrderID: nextClientOrderID(),
                account: AccountID(UInt64(participant.rawValue)), symbol: instrument.symbol, side: side,
                type: .limit, timeInForce: .gtc, price: Price(price),
                quantity: Quantity(quantity(instrument, lots: lots))))
    }

    /// Takes a uniformly chosen idle order out of the idle list (it is in flight until learned or forgotten).
    private mutating func takeIdleOrder(_ symbolIndex: Int) -> KnownOrder {
        let idle = books[symbolIndex].idle
        let orderID = idle[random.next(below: idle.count)]
        let order = books[symbolIndex].orders[orderID]!
        removeFromIdle(orderID, symbolIndex)
        return order
    }

    private mutating func removeFromIdle(_ orderID: OrderID, _ symbolIndex: Int) {
        guard let slot = books[symbolIndex].orders[orderID]?.slot, slot >= 0 else { return }
        let last = books[symbolIndex].idle.removeLast()
        if last != orderID {
            books[symbolIndex].idle[slot] = last
            books[symbolIndex].orders[last]!.slot = slot
        }
        books[symbolIndex].orders[orderID]!.slot = -1
    }

    private mutating func makeIdle(_ orderID: OrderID, _ symbolIndex: Int) {
        guard let slot = books[symbolIndex].orders[orderID]?.slot, slot < 0 else { return }
        books[symbolIndex].orders[orderID]!.slot = books[symbolIndex].idle.count
        books[symbolIndex].idle.append(orderID)
    }

    private mutating func remove(_ orderID: OrderID, _ symbolIndex: Int) {
        removeFromIdle(orderID, symbolIndex)
        books[symbolIndex].orders[orderID] = nil
    }

    /// Moves a known order to another passive price on its side, same total quantity.
    private mutating func replace(_ symbolIndex: Int) -> FlowCommand {
        let instrument = instruments[symbolIndex]
        let order = takeIdleOrder(symbolIndex)
        var price = passivePrice(instrument, order.side)
        if price == order.price {
            // Must move: one tick towards the reference, or away from it at the innermost price.
            let innermost =
                order.side == .buy
                ? instrument.referencePrice - instrument.tickSize : instrument.referencePrice + instrument.tickSize
            let towardReference = order.side == .buy ? instrument.tickSize : -instrument.tickSize
            price += price == innermost ? -towardReference : towardReference
        }
        return .replace(
            ReplaceOrder(
                participant: participant, clientOrderID: nextClientOrderID(), orderID: order.orderID,
                symbol: instrument.symbol, price: Price(price), quantity: Quantity(order.quantity)))
    }

    private mutating func cancel(_ symbolIndex: Int) -> FlowCommand {
        let order = takeIdleOrder(symbolIndex)
        return .cancel(
            CancelOrder(
                participant: participant, clientOrderID: nextClientOrderID(), orderID: order.orderID,
                symbol: instruments[symbolIndex].symbol))
    }

    private mutating func marketable(_ symbolIndex: Int, population: Int) -> FlowCommand {
        let instrument = instruments[symbolIndex]
        let side = randomSide()
        var lots = random.next(in: lotsRange)
        if population * 100 > restingTarget * 102 {
            lots *= 3
        } else if population * 100 < restingTarget * 98 {
            lots = max(1, lots / 4)
        }
        let far = instrument.tickSize * (instrument.priceRangeTicks + 1)
        let price = side == .buy ? instrument.referencePrice + far : instrument.referencePrice - far
        return .newOrder(
            NewOrderRequest(
                participant: participant, clientOrderID: nextClientOrderID(),
                account: AccountID(UInt64(participant.rawValue)), symbol: instrument.symbol, side: side,
                type: .limit, timeInForce: .ioc, price: Price(price),
                quantity: Quantity(quantity(instrument, lots: lots))))
    }

    // MARK: Learning

    /// Updates what the bot knows from the answer to `command` (drawn by this flow).
    public mutating func learn(_ command: FlowCommand, result: CommandResult) {
        guard let symbolIndex = bookIndex[command.symbol] else { return }
        switch command {
        case .newOrder(let order):
            guard case .accepted = result.outcome, order.timeInForce == .gtc, result.orderID.rawValue != 0 else {
                return
            }
            // A duplicate may not state the order's current state: assume it rests (a later cancel tells).
            let rests =
                result.orderState == .resting || (result.isDuplicate && result.orderState == .unknown)
            guard rests, books[symbolIndex].orders[result.orderID] == nil else { return }
            books[symbolIndex].orders[result.orderID] = KnownOrder(
                orderID: result.orderID, side: order.side, price: order.price.rawValue,
                quantity: order.quantity.rawValue, slot: -1)
            makeIdle(result.orderID, symbolIndex)
        case .cancel(let cancel):
            // Accepted: gone. Rejected: unknown to the exchange (filled meanwhile) or not cancellable: forget it.
            remove(cancel.orderID, symbolIndex)
        case .replace(let replace):
            guard case .accepted = result.outcome,
                result.orderState == .resting || (result.isDuplicate && result.orderState == .unknown)
            else {
                remove(replace.orderID, symbolIndex)
                return
            }
            books[symbolIndex].orders[replace.orderID]?.price = replace.price.rawValue
            books[symbolIndex].orders[replace.orderID]?.quantity = replace.quantity.rawValue
            makeIdle(replace.orderID, symbolIndex)
        }
    }

    /// The command got no answer (it may or may not have executed): an order it named is forgotten, so no later
    /// command names an order whose state is unknown.
    public mutating func forget(_ command: FlowCommand) {
        guard let symbolIndex = bookIndex[command.symbol], let orderID = command.targetOrderID else { return }
        remove(orderID, symbolIndex)
    }
}
