import ExchangeCore
import Matching

/// Invariants of docs/MATCHING.md checked on an engine's own events and views, independently of
/// any other implementation.
///
/// It follows every live order through the events (an event-sourced shadow of the book: leaves,
/// visible part, and the order in which orders joined their level) and reports a violation when
/// - a trade prints at a price other than the resting order's (or the auction price),
/// - an order fills more than its quantity (as accepted, or as changed by a replace),
/// - a market, IOC or FOK order rests,
/// - a FOK order trades without filling in full, or is killed after trading,
/// - a trading symbol's book is crossed,
/// - an L3 level is not in arrival order, or the views disagree with what the events said.
struct MatchingPropertyChecker {
    private struct TrackedOrder {
        var symbol: Symbol
        var side: Side
        var type: OrderType
        var timeInForce: TimeInForce
        var price: Price
        var display: Quantity
        var quantity: Quantity
        var leaves: Quantity
        var visible: Quantity
        var filled: Quantity
        var isResting: Bool
        var isUntriggeredStop: Bool
        /// When the order joined the back of its level; smaller is earlier.
        var queueStamp: UInt64
    }

    /// The order currently taking liquidity within one command.
    private struct AggressorRun {
        var orderID: OrderID
        var isMarket: Bool
        var timeInForce: TimeInForce
        var startLeaves: Quantity
        var traded: Quantity = .zero
        var endReason: CancelReason?
    }

    let symbols: [Symbol]
    private var orders: [OrderID: TrackedOrder] = [:]
    private var aggressor: AggressorRun?
    private var auctionPrice: Price?
    private var nextStamp: UInt64 = 0
    private var violations: [String] = []

    init(configuration: EngineConfiguration) {
        symbols = configuration.instruments.map(\.symbol)
    }

    // MARK: - Events

    /// Follows one command's events; returns the violations found.
    mutating func observe(_ events: [Event]) -> [String] {
        violations = []
        for event in events { observe(event) }
        finishAggressor()
        auctionPrice = nil
        return violations
    }

    private mutating func fail(_ message: String) { violations.append(message) }

    private mutating func observe(_ event: Event) {
        switch event {
        case .trade, .bookDelta, .halted:
            break
        case .cancelled(let c) where c.reason != .requested:
            break
        default:
            // Anything else cannot happen while an order takes liquidity: that order is done.
            finishAggressor()
        }
        switch event {
        case .accepted(let a):
            if orders[a.orderID] != nil { fail("accepted \(a.orderID) while an order with that id is live") }
            let isStop = a.type == .stop || a.type == .stopLimit
            orders[a.orderID] = TrackedOrder(
                symbol: a.symbol, side: a.side, type: a.type, timeInForce: a.timeInForce, price: a.price,
                display: a.displayQuantity, quantity: a.quantity, leaves: a.quantity, visible: .zero, filled: .zero,
                isResting: false, isUntriggeredStop: isStop, queueStamp: 0)
            if !isStop {
                aggressor = AggressorRun(
                    orderID: a.orderID, isMarket: a.type == .market, timeInForce: a.timeInForce,
                    startLeaves: a.quantity)
            }
        case .triggered(let t):
            guard var order = orders[t.orderID], order.isUntriggeredStop else {
                return fail("triggered \(t.orderID), which is not an untriggered stop")
            }
            order.isUntriggeredStop = false
            orders[t.orderID] = order
            let isMarket = order.type == .stop
            aggressor = AggressorRun(
                orderID: t.orderID, isMarket: isMarket,
                timeInForce: isMarket ? (order.timeInForce == .fok ? .fok : .ioc) : order.timeInForce,
                startLeaves: order.leaves)
        case .replaced(let r):
            guard var order = orders[r.orderID], order.isResting else {
                return fail("replaced \(r.orderID), which is not resting")
            }
            if r.leavesQuantity != r.quantity - order.filled {
                fail(
                    "replaced \(r.orderID): leaves \(r.leavesQuantity) != quantity \(r.quantity) - filled "
                        + "\(order.filled)")
            }
            order.quantity = r.quantity
            order.leaves = r.leavesQuantity
            if r.keptPriority {
                if r.price != order.price { fail("replaced \(r.orderID) kept priority at a new price") }
                order.visible = min(order.visible, order.leaves)
            } else {
                order.isResting = false
                order.price = r.price
                aggressor = AggressorRun(
                    orderID: r.orderID, isMarket: false, timeInForce: order.timeInForce,
                    startLeaves: order.leaves)
            }
            orders[r.orderID] = order
        case .trade(let t):
            observeTrade(t)
        case .cancelled(let c):
            observeCancel(c)
        case .expired(let e):
            guard let order = orders[e.orderID] else { return fail("expired \(e.orderID), which is not live") }
            if order.leaves != e.leavesQuantity {
                fail("expired \(e.orderID) with leaves \(e.leavesQuantity), tracked \(order.leaves)")
            }
            if order.timeInForce != .day && order.timeInForce != .gtd {
                fail("expired \(e.orderID) with time in force \(order.timeInForce)")
            }
            orders[e.orderID] = nil
        case .auction(let a):
            auctionPrice = a.price
        case .rejected, .duplicate, .halted, .resumed, .priceBandSet, .bookDelta:
            break
        }
    }

    private mutating func observeTrade(_ t: Event.Trade) {
        for (id, leaves) in [(t.buyOrderID, t.buyLeaves), (t.sellOrderID, t.sellLeaves)] {
            guard let order = orders[id] else { return fail("trade \(t.id) names \(id), which is not live") }
            if order.filled + t.quantity > order.quantity {
                fail(
                    "trade \(t.id): \(id) fills \(order.filled + t.quantity), more than its quantity \(order.quantity)")
            }
            if order.leaves - t.quantity != leaves {
                fail("trade \(t.id): \(id) leaves \(leaves), tracked \(order.leaves - t.quantity)")
            }
        }
        guard let side = t.aggressor else {
            guard let price = auctionPrice, price == t.price else {
                return fail(
                    "auction trade \(t.id) at \(t.price), auction price \(auctionPrice.map { "\($0)" } ?? "none")")
            }
            if let bid = orders[t.buyOrderID], !bid.isResting || bid.price < price {
                fail("auction trade \(t.id): bid \(t.buyOrderID) not resting at or above \(price)")
            }
            if let ask = orders[t.sellOrderID], !ask.isResting || ask.price > price {
                fail("auction trade \(t.id): ask \(t.sellOrderID) not resting at or below \(price)")
            }
            fillResting(t.buyOrderID, t.quantity)
            fillResting(t.sellOrderID, t.quantity)
            return
        }
        let aggressorID = side == .buy ? t.buyOrderID : t.sellOrderID
        let restingID = side == .buy ? t.sellOrderID : t.buyOrderID
        guard var run = aggressor, run.orderID == aggressorID else {
            return fail("trade \(t.id): aggressor \(aggressorID) is not the order taking liquidity")
        }
        guard let resting = orders[restingID], resting.isResting else {
            return fail("trade \(t.id): \(restingID) is not resting")
        }
        if t.price != resting.price { fail("trade \(t.id) at \(t.price), resting price \(resting.price)") }
        if let order = orders[aggressorID], !run.isMarket {
            let crosses = side == .buy ? t.price <= order.price : t.price >= order.price
            if !crosses { fail("trade \(t.id) at \(t.price) beyond the aggressor's limit \(order.price)") }
        }
        fillResting(restingID, t.quantity)
        orders[aggressorID]!.leaves -= t.quantity
        orders[aggressorID]!.filled += t.quantity
        if orders[aggressorID]!.leaves == .zero { orders[aggressorID] = nil }
        run.traded += t.quantity
        aggressor = run
    }

    /// A resting order traded: removal, refill to the back of its level, or less visible.
    private mutating func fillResting(_ id: OrderID, _ quantity: Quantity) {
        guard var order = orders[id] else { return }
        if quantity > order.visible { fail("\(id) traded \(quantity), more than its visible \(order.visible)") }
        order.leaves -= quantity
        order.visible -= quantity
        order.filled += quantity
        if order.leaves <= .zero {
            orders[id] = nil
            return
        }
        if order.visible <= .zero {
            order.visible = min(order.display, order.leaves)
            order.queueStamp = takeStamp()
        }
        orders[id] = order
    }

    private mutating func observeCancel(_ c: Event.Cancelled) {
        guard var order = orders[c.orderID] else { return fail("cancelled \(c.orderID), which is not live") }
        let isAggressor = aggressor?.orderID == c.orderID
        if c.cancelledQuantity <= .zero { fail("cancelled \(c.orderID) with quantity \(c.cancelledQuantity)") }
        if order.leaves - c.cancelledQuantity != c.leavesQuantity {
            fail("cancelled \(c.orderID): \(order.leaves) - \(c.cancelledQuantity) != leaves \(c.leavesQuantity)")
        }
        switch c.reason {
        case .requested:
            if !order.isResting && !order.isUntriggeredStop {
                fail("cancel request hit \(c.orderID), which is not in the engine")
            }
        case .unfilled, .fillOrKill, .halted:
            if !isAggressor { fail("cancelled \(c.orderID) (\(c.reason)), which is not taking liquidity") }
        case .selfTradePrevention:
            if !isAggressor && !order.isResting { fail("STP cancelled \(c.orderID), neither aggressor nor resting") }
        }
        if c.reason == .fillOrKill, let run = aggressor, isAggressor {
            if run.timeInForce != .fok {
                fail("fillOrKill cancel of \(c.orderID) with time in force \(run.timeInForce)")
            }
            if run.traded != .zero || c.cancelledQuantity != run.startLeaves {
                fail("FOK \(c.orderID) killed after trading \(run.traded) of \(run.startLeaves)")
            }
        }
        if c.leavesQuantity == .zero {
            orders[c.orderID] = nil
            if isAggressor { aggressor!.endReason = c.reason }
            return
        }
        if c.reason != .selfTradePrevention { fail("partial cancel of \(c.orderID) for \(c.reason)") }
        order.leaves = c.leavesQuantity
        if order.isResting { order.visible = min(order.visible, order.leaves) }
        orders[c.orderID] = order
    }

    /// The order taking liquidity is done: what is left of it rested at the back of its level.
    private mutating func finishAggressor() {
        guard let run = aggressor else { return }
        aggressor = nil
        if run.timeInForce == .fok {
            let filled = run.traded == run.startLeaves
            let killed = run.traded == .zero && run.endReason == .fillOrKill
            if !filled && !killed {
                let end = run.endReason.map { "\($0)" } ?? "rested"
                fail("FOK \(run.orderID) traded \(run.traded) of \(run.startLeaves) (end: \(end))")
            }
        }
        guard var order = orders[run.orderID], order.leaves > .zero else { return }
        if run.isMarket || run.timeInForce == .ioc || run.timeInForce == .fok {
            fail("\(run.orderID) (\(run.isMarket ? "market" : "\(run.timeInForce)")) rests with leaves \(order.leaves)")
        }
        order.isResting = true
        order.visible = order.display == .zero ? order.leaves : min(order.display, order.leaves)
        order.queueStamp = takeStamp()
        orders[run.orderID] = order
    }

    private mutating func takeStamp() -> UInt64 {
        nextStamp += 1
        return nextStamp
    }

    // MARK: - Views

    /// A trading symbol's book is never crossed. Cheap enough for every step.
    func checkNotCrossed(_ engine: some MatchingStateMachine) -> [String] {
        var found: [String] = []
        for symbol in symbols {
            guard case .trading = engine.symbolStatus(symbol)?.status,
                let bid = engine.bestBid(symbol), let ask = engine.bestAsk(symbol)
            else { continue }
            if bid.price >= ask.price {
                found.append("\(symbol) trades with a crossed book: bid \(bid.price) >= ask \(ask.price)")
            }
        }
        return found
    }

    /// L3 in arrival order within each level, and the views agree with the events.
    func checkBooks(_ engine: some MatchingStateMachine) -> [String] {
        var found: [String] = []
        var trackedResting: [Symbol: Int] = [:]
        var trackedStops: [Symbol: [OrderID]] = [:]
        for (id, order) in orders {
            if order.isResting { trackedResting[order.symbol, default: 0] += 1 }
            if order.isUntriggeredStop { trackedStops[order.symbol, default: []].append(id) }
        }
        for symbol in symbols {
            guard let book = engine.book(symbol) else {
                found.append("no book for \(symbol)")
                continue
            }
            for (side, level) in [(Side.buy, book.bids), (Side.sell, book.asks)] {
                for (index, view) in level.enumerated() {
                    guard let order = orders[view.orderID], order.isResting, order.symbol == symbol,
                        order.side == side
                    else {
                        found.append(
                            "\(symbol) book shows \(view.orderID) (\(side)), which the events do not rest there")
                        continue
                    }
                    if order.price != view.price || order.leaves != view.leavesQuantity
                        || order.visible != view.visibleQuantity
                    {
                        found.append(
                            "\(symbol) book: \(view.orderID) px=\(view.price) leaves=\(view.leavesQuantity) "
                                + "visible=\(view.visibleQuantity); events say px=\(order.price) "
                                + "leaves=\(order.leaves) visible=\(order.visible)")
                    }
                    guard index > 0 else { continue }
                    let previous = level[index - 1]
                    let better = side == .buy ? previous.price > view.price : previous.price < view.price
                    if previous.price != view.price && !better {
                        found.append("\(symbol) \(side) levels out of order: \(previous.price) before \(view.price)")
                    }
                    if previous.price == view.price, let earlier = orders[previous.orderID],
                        earlier.queueStamp > order.queueStamp
                    {
                        found.append(
                            "\(symbol) \(side) level \(view.price) not FIFO: \(previous.orderID) before \(view.orderID)"
                        )
                    }
                }
            }
            let shown = book.bids.count + book.asks.count
            if shown != trackedResting[symbol, default: 0] {
                found.append(
                    "\(symbol) book shows \(shown) orders, the events rest \(trackedResting[symbol, default: 0])")
            }
            let stops = (engine.untriggeredStops(symbol) ?? []).map(\.orderID)
            if stops != (trackedStops[symbol] ?? []).sorted() {
                found.append(
                    "\(symbol) untriggered stops \(stops), the events say \((trackedStops[symbol] ?? []).sorted())")
            }
        }
        if engine.liveOrderCount != orders.count {
            found.append("liveOrderCount \(engine.liveOrderCount), the events leave \(orders.count) live orders")
        }
        return found
    }
}
