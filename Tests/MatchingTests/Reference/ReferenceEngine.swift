import ExchangeCore
import Matching

/// A deliberately simple, slow implementation of docs/MATCHING.md, written independently of
/// `MatchingEngine` so that differential tests can compare the two event for event.
///
/// Everything is plain arrays and linear scans: a symbol's book is one unsorted array of resting
/// orders, and "the head of the best level" is found by scanning for the best price and then the
/// smallest queue position. Clarity over speed; every rule is written where the spec states it,
/// and the section numbers in the comments point at docs/MATCHING.md.
///
/// Places where the spec leaves room for interpretation are marked `// SPEC:`.
struct ReferenceEngine {
    /// One live order: resting in a book or an untriggered stop.
    struct Order {
        var orderID: OrderID
        var participant: ParticipantID
        var clientOrderID: ClientOrderID
        var account: AccountID
        var symbol: Symbol
        var side: Side
        var type: OrderType
        var timeInForce: TimeInForce
        var price: Price
        var stopPrice: Price
        var quantity: Quantity
        var leaves: Quantity
        var visible: Quantity
        var display: Quantity
        /// What traded (STP decrements are not fills).
        var filled: Quantity
        var postOnly: Bool
        var selfTradePrevention: SelfTradePrevention
        var expireAt: Timestamp
        /// Sequence of the command that accepted the order: the stop trigger tie-break (§6).
        var acceptedSequence: UInt64
        /// Place in its price level: smaller is earlier. Taken when the order rests or refills.
        var queuePosition: UInt64
    }

    /// A trade remembered by the volatility breaker (§7).
    struct BreakerTrade {
        var second: Int64
        var price: Price
    }

    /// Everything about one symbol.
    struct SymbolState {
        var rules: InstrumentRules
        var status: TradingStatus = .trading
        var referencePrice: Price
        var priceBandBasisPoints: Int64
        var lastTradePrice: Price?
        var breakerTrades: [BreakerTrade] = []
        /// Resting orders of both sides in no particular order.
        var resting: [Order] = []
        /// Untriggered stop orders in no particular order.
        var stops: [Order] = []
    }

    /// A participant's de-duplication state (§2).
    struct Session {
        var highWater = ClientOrderID(0)
        /// Oldest first.
        var window: [(clientOrderID: ClientOrderID, outcome: CommandOutcome)] = []
    }

    /// How an order behaves while it takes liquidity (§4): a triggered stop is a market order,
    /// a triggered stop-limit a limit order.
    struct Aggressor {
        var order: Order
        var isMarket: Bool
        var timeInForce: TimeInForce
    }

    let configuration: EngineConfiguration
    private(set) var symbols: [SymbolState]
    private var sessions: [ParticipantID: Session] = [:]
    private(set) var lastSequence: UInt64 = 0
    private var hasApplied = false
    private var lastTimestamp = Timestamp.zero
    private var nextQueuePosition: UInt64 = 0

    // State of the call in progress.
    private var now = Timestamp.zero
    private var sequence: UInt64 = 0
    private var tradeIndex: UInt32 = 0
    private var events: [Event] = []

    init(configuration: EngineConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        symbols = configuration.instruments.map {
            SymbolState(rules: $0, referencePrice: $0.referencePrice, priceBandBasisPoints: $0.priceBandBasisPoints)
        }
    }

    // MARK: - §1 Inputs and time

    mutating func apply(_ command: Command, timestamp: Timestamp, sequence: UInt64) -> [Event] {
        precondition(!hasApplied || sequence > lastSequence, "sequence must strictly increase")
        // SPEC: the first call takes its timestamp as given (there is no previous command).
        now = hasApplied ? max(timestamp, lastTimestamp) : timestamp
        hasApplied = true
        lastTimestamp = now
        lastSequence = sequence
        self.sequence = sequence
        tradeIndex = 0
        events = []

        expireGoodTillDateOrders()
        reopenBreakerHalts()

        switch command {
        case .newOrder(let order):
            if admit(
                participant: order.participant, clientOrderID: order.clientOrderID,
                orderID: order.orderID, symbol: order.symbol)
            {
                let outcome = newOrder(order)
                record(participant: order.participant, clientOrderID: order.clientOrderID, outcome: outcome)
            }
        case .cancel(let cancel):
            if admit(
                participant: cancel.participant, clientOrderID: cancel.clientOrderID,
                orderID: cancel.orderID, symbol: cancel.symbol)
            {
                let outcome = self.cancel(cancel)
                record(participant: cancel.participant, clientOrderID: cancel.clientOrderID, outcome: outcome)
            }
        case .replace(let replace):
            if admit(
                participant: replace.participant, clientOrderID: replace.clientOrderID,
                orderID: replace.orderID, symbol: replace.symbol)
            {
                let outcome = self.replace(replace)
                record(participant: replace.participant, clientOrderID: replace.clientOrderID, outcome: outcome)
            }
        case .halt(let symbol):
            halt(symbol)
        case .resume(let symbol):
            resume(symbol)
        case .setPriceBand(let symbol, let basisPoints, let referencePrice):
            setPriceBand(symbol, basisPoints: basisPoints, referencePrice: referencePrice)
        case .endOfSession:
            endOfSession()
        case .heartbeat:
            break
        }
        return events
    }

    // MARK: - §2 Sessions

    /// Runs the session checks; true when the command is to be processed.
    private mutating func admit(
        participant: ParticipantID, clientOrderID: ClientOrderID, orderID: OrderID, symbol: Symbol
    ) -> Bool {
        if participant.rawValue == 0 {
            reject(participant, clientOrderID, orderID, symbol, .invalidParticipant)
            return false
        }
        let session = sessions[participant] ?? Session()
        if let entry = session.window.first(where: { $0.clientOrderID == clientOrderID }) {
            events.append(
                .duplicate(
                    .init(
                        participant: participant, clientOrderID: clientOrderID,
                        outcome: entry.outcome)))
            return false
        }
        if clientOrderID <= session.highWater {
            reject(participant, clientOrderID, orderID, symbol, .staleClientOrderID)
            return false
        }
        return true
    }

    // SPEC: the outcome is `.accepted(orderID)` whenever the command passed its validation and
    // took effect (an `accepted`, `cancelled(.requested)` or `replaced` event), even when the new
    // order was then killed at once (FOK, IOC remainder, STP).
    private mutating func record(participant: ParticipantID, clientOrderID: ClientOrderID, outcome: CommandOutcome) {
        var session = sessions[participant] ?? Session()
        session.window.append((clientOrderID, outcome))
        if session.window.count > configuration.sessionWindowPerParticipant {
            session.window.removeFirst()
        }
        session.highWater = clientOrderID
        sessions[participant] = session
    }

    private mutating func reject(
        _ participant: ParticipantID, _ clientOrderID: ClientOrderID, _ orderID: OrderID, _ symbol: Symbol,
        _ reason: RejectReason
    ) {
        events.append(
            .rejected(
                .init(
                    participant: participant, clientOrderID: clientOrderID, orderID: orderID,
                    symbol: symbol, reason: reason)))
    }

    private mutating func rejectOperator(_ symbol: Symbol, _ reason: RejectReason) {
        reject(ParticipantID(0), ClientOrderID(0), OrderID(0), symbol, reason)
    }

    // MARK: - §3 New orders

    private func newOrderRejection(_ command: NewOrder) -> RejectReason? {
        guard let index = symbolIndex(command.symbol) else { return .unknownSymbol }
        let state = symbols[index]
        let rules = state.rules
        if command.orderID.rawValue == 0 { return .invalidOrderID }
        if isLive(command.orderID) { return .duplicateOrderID }
        if command.type == .market && command.timeInForce != .ioc && command.timeInForce != .fok {
            return .invalidTimeInForce
        }
        let restingTimeInForce: Set<TimeInForce> = [.gtc, .day, .gtd]
        if command.postOnly && !(command.type == .limit && restingTimeInForce.contains(command.timeInForce)) {
            return .invalidPostOnly
        }
        if command.displayQuantity != .zero {
            let display = command.displayQuantity.rawValue
            let ok =
                (command.type == .limit || command.type == .stopLimit)
                && restingTimeInForce.contains(command.timeInForce)
                && display > 0 && display < command.quantity.rawValue
                && display % rules.lotSize == 0
            if !ok { return .invalidDisplayQuantity }
        }
        if let reason = quantityRejection(command.quantity, rules) { return reason }
        switch command.type {
        case .limit, .stopLimit:
            if command.price.rawValue <= 0 || command.price > Price.maximum { return .invalidPrice }
            if command.price.rawValue % rules.tickSize != 0 { return .priceOffTick }
        case .market, .stop:
            if command.price != .zero { return .invalidPrice }
        }
        switch command.type {
        case .stop, .stopLimit:
            let stop = command.stopPrice.rawValue
            if stop <= 0 || command.stopPrice > Price.maximum || stop % rules.tickSize != 0 {
                return .invalidStopPrice
            }
        case .limit, .market:
            if command.stopPrice != .zero { return .invalidStopPrice }
        }
        if command.timeInForce == .gtd {
            if !(command.expireAt > now) { return .invalidExpireTime }
        } else if command.expireAt != .zero {
            return .invalidExpireTime
        }
        if case .halted = state.status { return .symbolHalted }
        if command.type == .limit || command.type == .stopLimit,
            isOutsideBand(command.price, state)
        {
            return .priceOutsideBand
        }
        if command.type == .stop || command.type == .stopLimit, let last = state.lastTradePrice,
            stopConditionHolds(side: command.side, stopPrice: command.stopPrice, lastTradePrice: last)
        {
            return .stopWouldTriggerImmediately
        }
        if command.postOnly && wouldCross(side: command.side, price: command.price, state) {
            return .postOnlyWouldTrade
        }
        if liveOrderCount >= configuration.maximumLiveOrders { return .capacityExceeded }
        return nil
    }

    /// §3.6, also used by replace (§5).
    private func quantityRejection(_ quantity: Quantity, _ rules: InstrumentRules) -> RejectReason? {
        if quantity.rawValue <= 0 { return .invalidQuantity }
        if quantity.rawValue % rules.lotSize != 0 { return .quantityNotLotMultiple }
        if quantity < rules.minimumQuantity { return .quantityBelowMinimum }
        if quantity > rules.maximumQuantity { return .quantityAboveMaximum }
        return nil
    }

    private mutating func newOrder(_ command: NewOrder) -> CommandOutcome {
        if let reason = newOrderRejection(command) {
            reject(command.participant, command.clientOrderID, command.orderID, command.symbol, reason)
            return .rejected(reason)
        }
        let index = symbolIndex(command.symbol)!
        events.append(
            .accepted(
                .init(
                    orderID: command.orderID, participant: command.participant, clientOrderID: command.clientOrderID,
                    account: command.account, symbol: command.symbol, side: command.side, type: command.type,
                    timeInForce: command.timeInForce, price: command.price, stopPrice: command.stopPrice,
                    quantity: command.quantity, displayQuantity: command.displayQuantity)))
        let order = Order(
            orderID: command.orderID, participant: command.participant, clientOrderID: command.clientOrderID,
            account: command.account, symbol: command.symbol, side: command.side, type: command.type,
            timeInForce: command.timeInForce, price: command.price, stopPrice: command.stopPrice,
            quantity: command.quantity, leaves: command.quantity, visible: .zero,
            display: command.displayQuantity, filled: .zero, postOnly: command.postOnly,
            selfTradePrevention: command.selfTradePrevention, expireAt: command.expireAt,
            acceptedSequence: sequence, queuePosition: 0)
        if command.type == .stop || command.type == .stopLimit {
            symbols[index].stops.append(order)
            return .accepted(command.orderID)
        }
        takeLiquidity(
            Aggressor(order: order, isMarket: command.type == .market, timeInForce: command.timeInForce),
            symbolIndex: index)
        runTriggers(symbolIndex: index)
        return .accepted(command.orderID)
    }

    // MARK: - §4 Continuous matching

    private enum MatchEnd {
        /// No more crossing liquidity, or the aggressor is filled.
        case exhausted
        /// Self-trade prevention removed the aggressor.
        case selfTradePrevention
        /// The breaker halted the symbol before a fill.
        case halted
    }

    /// Runs an aggressor through §4: FOK check, the matching loop, then rest or cancel.
    private mutating func takeLiquidity(_ aggressor: Aggressor, symbolIndex index: Int) {
        var order = aggressor.order
        let symbol = order.symbol
        if aggressor.timeInForce == .fok && !fillOrKillCheckPasses(aggressor, symbolIndex: index) {
            // SPEC: `cancelledQuantity: quantity`; the aggressor has not traded, so quantity == leaves.
            cancelled(order, quantity: order.leaves, leaves: .zero, .fillOrKill)
            return
        }
        var end = MatchEnd.exhausted
        matching: while order.leaves > .zero {
            guard let restingPrice = bestPrice(side: order.side.opposite, symbolIndex: index),
                crosses(aggressor, order.side, restingPrice)
            else { break }
            let headID = headOrderID(side: order.side.opposite, price: restingPrice, symbolIndex: index)
            var resting = restingOrder(headID, symbolIndex: index)

            // 1. Self-trade prevention.
            if resting.account == order.account && order.selfTradePrevention != .none {
                switch order.selfTradePrevention {
                case .none:
                    preconditionFailure()
                case .cancelNewest:
                    cancelled(order, quantity: order.leaves, leaves: .zero, .selfTradePrevention)
                    end = .selfTradePrevention
                    break matching
                case .cancelOldest:
                    removeResting(headID, symbolIndex: index)
                    cancelled(resting, quantity: resting.leaves, leaves: .zero, .selfTradePrevention)
                    bookDelta(side: resting.side, price: resting.price, symbolIndex: index)
                    continue matching
                case .cancelBoth:
                    removeResting(headID, symbolIndex: index)
                    cancelled(resting, quantity: resting.leaves, leaves: .zero, .selfTradePrevention)
                    bookDelta(side: resting.side, price: resting.price, symbolIndex: index)
                    cancelled(order, quantity: order.leaves, leaves: .zero, .selfTradePrevention)
                    end = .selfTradePrevention
                    break matching
                case .decrement:
                    let quantity = min(order.leaves, resting.leaves)
                    resting.leaves -= quantity
                    resting.visible = min(resting.visible, resting.leaves)
                    if resting.leaves == .zero {
                        removeResting(headID, symbolIndex: index)
                    } else {
                        replaceResting(resting, symbolIndex: index)
                    }
                    cancelled(resting, quantity: quantity, leaves: resting.leaves, .selfTradePrevention)
                    bookDelta(side: resting.side, price: resting.price, symbolIndex: index)
                    order.leaves -= quantity
                    cancelled(order, quantity: quantity, leaves: order.leaves, .selfTradePrevention)
                    if order.leaves == .zero {
                        end = .selfTradePrevention
                        break matching
                    }
                    continue matching
                }
            }

            // 2. Volatility breaker.
            if breaches(resting.price, trades: symbols[index].breakerTrades, rules: symbols[index].rules) {
                let reopenAt = Timestamp(
                    nanoseconds: now.rawValue
                        + symbols[index].rules.breakerCoolingOffSeconds * Timestamp.nanosecondsPerSecond)
                symbols[index].status = .halted(.volatility, reopenAt: reopenAt)
                events.append(.halted(.init(symbol: symbol, reason: .volatility, reopenAt: reopenAt)))
                end = .halted
                break matching
            }

            // 3. Fill.
            let quantity = min(order.leaves, resting.visible)
            order.leaves -= quantity
            order.filled += quantity
            resting.leaves -= quantity
            resting.visible -= quantity
            resting.filled += quantity
            let buy = order.side == .buy ? order : resting
            let sell = order.side == .buy ? resting : order
            appendTrade(
                symbol: symbol, price: resting.price, quantity: quantity, aggressor: order.side,
                buy: buy, sell: sell)
            settleAfterFill(resting, symbolIndex: index)
            bookDelta(side: resting.side, price: resting.price, symbolIndex: index)
            recordTrade(price: resting.price, symbolIndex: index)
        }

        switch end {
        case .selfTradePrevention:
            return
        case .exhausted:
            guard order.leaves > .zero else { return }
            if canRest(aggressor) {
                rest(order, symbolIndex: index)
            } else {
                cancelled(order, quantity: order.leaves, leaves: .zero, .unfilled)
            }
        case .halted:
            if canRest(aggressor) {
                rest(order, symbolIndex: index)
            } else {
                cancelled(order, quantity: order.leaves, leaves: .zero, .halted)
            }
        }
    }

    /// §4.1: limit orders with gtc/day/gtd rest; market, ioc and fok do not.
    private func canRest(_ aggressor: Aggressor) -> Bool {
        !aggressor.isMarket && [.gtc, .day, .gtd].contains(aggressor.timeInForce)
    }

    private func crosses(_ aggressor: Aggressor, _ side: Side, _ restingPrice: Price) -> Bool {
        if aggressor.isMarket { return true }
        return side == .buy ? restingPrice <= aggressor.order.price : restingPrice >= aggressor.order.price
    }

    /// After a fill of a resting order: removal when nothing is left, refill to the back of its
    /// level when the visible part is used up (§4 step 3), else the new quantities in place.
    private mutating func settleAfterFill(_ resting: Order, symbolIndex index: Int) {
        var resting = resting
        if resting.leaves == .zero {
            removeResting(resting.orderID, symbolIndex: index)
            return
        }
        if resting.visible == .zero {
            resting.visible = min(resting.display, resting.leaves)
            resting.queuePosition = takeQueuePosition()
        }
        replaceResting(resting, symbolIndex: index)
    }

    /// §4.1: rests at the back of its level.
    private mutating func rest(_ order: Order, symbolIndex index: Int) {
        var order = order
        order.visible = order.display == .zero ? order.leaves : min(order.display, order.leaves)
        order.queuePosition = takeQueuePosition()
        symbols[index].resting.append(order)
        bookDelta(side: order.side, price: order.price, symbolIndex: index)
    }

    /// §4.3, level by level, without changing anything.
    private func fillOrKillCheckPasses(_ aggressor: Aggressor, symbolIndex index: Int) -> Bool {
        let order = aggressor.order
        var remaining = order.leaves
        var window = symbols[index].breakerTrades
        let opposite = restingInPriority(side: order.side.opposite, symbolIndex: index)
        var levelPrices: [Price] = []
        for resting in opposite where levelPrices.last != resting.price { levelPrices.append(resting.price) }
        for price in levelPrices where crosses(aggressor, order.side, price) {
            let level = opposite.filter { $0.price == price }
            let mode = order.selfTradePrevention
            let ownOrders = mode == .none ? [] : level.filter { $0.account == order.account }
            if !ownOrders.isEmpty && mode != .cancelOldest { return false }
            let available =
                level
                .filter { !(mode == .cancelOldest && $0.account == order.account) }
                .reduce(Quantity.zero) { $0 + $1.leaves }
            if available > .zero {
                if breaches(price, trades: window, rules: symbols[index].rules) { return false }
                window.append(BreakerTrade(second: currentSecond, price: price))
                remaining -= min(remaining, available)
            }
            if remaining == .zero { return true }
        }
        return false
    }

    private mutating func appendTrade(
        symbol: Symbol, price: Price, quantity: Quantity, aggressor: Side?, buy: Order, sell: Order
    ) {
        events.append(
            .trade(
                .init(
                    id: TradeID(sequence: sequence, index: tradeIndex), symbol: symbol, price: price,
                    quantity: quantity,
                    aggressor: aggressor, buyOrderID: buy.orderID, sellOrderID: sell.orderID, buyAccount: buy.account,
                    sellAccount: sell.account, buyParticipant: buy.participant, sellParticipant: sell.participant,
                    buyLeaves: buy.leaves, sellLeaves: sell.leaves, timestamp: now)))
        tradeIndex += 1
    }

    private mutating func cancelled(_ order: Order, quantity: Quantity, leaves: Quantity, _ reason: CancelReason) {
        events.append(
            .cancelled(
                .init(
                    orderID: order.orderID, symbol: order.symbol, cancelledQuantity: quantity,
                    leavesQuantity: leaves, reason: reason)))
    }

    // MARK: - §5 Cancel and replace

    private mutating func cancel(_ command: CancelOrder) -> CommandOutcome {
        func fail(_ reason: RejectReason) -> CommandOutcome {
            reject(command.participant, command.clientOrderID, command.orderID, command.symbol, reason)
            return .rejected(reason)
        }
        guard let index = symbolIndex(command.symbol) else { return fail(.unknownSymbol) }
        let restingOrder = symbols[index].resting.first { $0.orderID == command.orderID }
        let stopOrder = symbols[index].stops.first { $0.orderID == command.orderID }
        guard let order = restingOrder ?? stopOrder else { return fail(.unknownOrder) }
        if order.participant != command.participant { return fail(.notOrderOwner) }
        if restingOrder != nil {
            removeResting(order.orderID, symbolIndex: index)
            cancelled(order, quantity: order.leaves, leaves: .zero, .requested)
            bookDelta(side: order.side, price: order.price, symbolIndex: index)
        } else {
            symbols[index].stops.removeAll { $0.orderID == order.orderID }
            cancelled(order, quantity: order.leaves, leaves: .zero, .requested)
        }
        return .accepted(command.orderID)
    }

    private func replaceRejection(_ command: ReplaceOrder) -> RejectReason? {
        guard let index = symbolIndex(command.symbol) else { return .unknownSymbol }
        let state = symbols[index]
        let restingOrder = state.resting.first { $0.orderID == command.orderID }
        let stopOrder = state.stops.first { $0.orderID == command.orderID }
        guard let order = restingOrder ?? stopOrder else { return .unknownOrder }
        if order.participant != command.participant { return .notOrderOwner }
        if case .halted = state.status { return .symbolHalted }
        if stopOrder != nil { return .orderNotReplaceable }
        if let reason = quantityRejection(command.quantity, state.rules) { return reason }
        if command.quantity <= order.filled { return .invalidQuantity }
        if command.price.rawValue <= 0 || command.price > Price.maximum { return .invalidPrice }
        if command.price.rawValue % state.rules.tickSize != 0 { return .priceOffTick }
        if isOutsideBand(command.price, state) { return .priceOutsideBand }
        if order.postOnly && wouldCross(side: order.side, price: command.price, state) { return .postOnlyWouldTrade }
        return nil
    }

    private mutating func replace(_ command: ReplaceOrder) -> CommandOutcome {
        if let reason = replaceRejection(command) {
            reject(command.participant, command.clientOrderID, command.orderID, command.symbol, reason)
            return .rejected(reason)
        }
        let index = symbolIndex(command.symbol)!
        var order = restingOrder(command.orderID, symbolIndex: index)
        let newLeaves = command.quantity - order.filled
        if command.price == order.price && newLeaves <= order.leaves {
            order.quantity = command.quantity
            order.leaves = newLeaves
            order.visible = min(order.visible, newLeaves)
            replaceResting(order, symbolIndex: index)
            events.append(
                .replaced(
                    .init(
                        orderID: order.orderID, participant: command.participant, clientOrderID: command.clientOrderID,
                        symbol: command.symbol, price: command.price, quantity: command.quantity,
                        leavesQuantity: newLeaves,
                        keptPriority: true)))
            bookDelta(side: order.side, price: order.price, symbolIndex: index)
            return .accepted(command.orderID)
        }
        removeResting(order.orderID, symbolIndex: index)
        events.append(
            .replaced(
                .init(
                    orderID: order.orderID, participant: command.participant, clientOrderID: command.clientOrderID,
                    symbol: command.symbol, price: command.price, quantity: command.quantity, leavesQuantity: newLeaves,
                    keptPriority: false)))
        bookDelta(side: order.side, price: order.price, symbolIndex: index)
        order.price = command.price
        order.quantity = command.quantity
        order.leaves = newLeaves
        // SPEC: a resting order is a limit order or a triggered stop-limit, which behaves as a
        // limit order; both re-enter as limit orders with their own time in force.
        takeLiquidity(Aggressor(order: order, isMarket: false, timeInForce: order.timeInForce), symbolIndex: index)
        runTriggers(symbolIndex: index)
        return .accepted(command.orderID)
    }

    // MARK: - §6 Stops

    private func stopConditionHolds(side: Side, stopPrice: Price, lastTradePrice: Price) -> Bool {
        side == .buy ? lastTradePrice >= stopPrice : lastTradePrice <= stopPrice
    }

    private mutating func runTriggers(symbolIndex index: Int) {
        while case .trading = symbols[index].status, let last = symbols[index].lastTradePrice {
            let stops = symbols[index].stops
            let buys = stops.filter {
                $0.side == .buy && stopConditionHolds(side: .buy, stopPrice: $0.stopPrice, lastTradePrice: last)
            }
            let sells = stops.filter {
                $0.side == .sell && stopConditionHolds(side: .sell, stopPrice: $0.stopPrice, lastTradePrice: last)
            }
            // Buys first: lowest stop price; sells: highest stop price; ties: earliest accepted.
            let chosen: Order
            if let buy = buys.min(by: {
                ($0.stopPrice.rawValue, $0.acceptedSequence) < ($1.stopPrice.rawValue, $1.acceptedSequence)
            }) {
                chosen = buy
            } else if let sell = sells.min(by: {
                (-$0.stopPrice.rawValue, $0.acceptedSequence) < (-$1.stopPrice.rawValue, $1.acceptedSequence)
            }) {
                chosen = sell
            } else {
                return
            }
            symbols[index].stops.removeAll { $0.orderID == chosen.orderID }
            events.append(
                .triggered(
                    .init(
                        orderID: chosen.orderID, symbol: chosen.symbol,
                        stopPrice: chosen.stopPrice, lastTradePrice: last)))
            let aggressor: Aggressor
            if chosen.type == .stop {
                aggressor = Aggressor(
                    order: chosen, isMarket: true,
                    timeInForce: chosen.timeInForce == .fok ? .fok : .ioc)
            } else {
                aggressor = Aggressor(order: chosen, isMarket: false, timeInForce: chosen.timeInForce)
            }
            takeLiquidity(aggressor, symbolIndex: index)
        }
    }

    // MARK: - §7 Volatility breaker

    private var currentSecond: Int64 { now.rawValue / Timestamp.nanosecondsPerSecond }

    private func breaches(_ price: Price, trades: [BreakerTrade], rules: InstrumentRules) -> Bool {
        let threshold = rules.breakerThresholdBasisPoints
        if threshold == 0 { return false }
        let second = currentSecond
        let first = second - rules.breakerWindowSeconds + 1
        let prices = trades.filter { $0.second >= first && $0.second <= second }.map(\.price.rawValue)
        guard let low = prices.min(), let high = prices.max() else { return false }
        let scaled = price.rawValue * 10_000
        return scaled > low * (10_000 + threshold) || scaled < high * (10_000 - threshold)
    }

    /// Every executed trade: breaker window, last trade price, reference price.
    private mutating func recordTrade(price: Price, symbolIndex index: Int) {
        let second = currentSecond
        let first = second - symbols[index].rules.breakerWindowSeconds + 1
        // Trades older than the window can never count again (time does not go backwards).
        symbols[index].breakerTrades.removeAll { $0.second < first }
        symbols[index].breakerTrades.append(BreakerTrade(second: second, price: price))
        symbols[index].lastTradePrice = price
        symbols[index].referencePrice = price
    }

    // MARK: - §8 Price band

    private func isOutsideBand(_ price: Price, _ state: SymbolState) -> Bool {
        let band = state.priceBandBasisPoints
        if band == 0 { return false }
        let scaled = price.rawValue * 10_000
        let reference = state.referencePrice.rawValue
        return scaled > reference * (10_000 + band) || scaled < reference * (10_000 - band)
    }

    private mutating func setPriceBand(_ symbol: Symbol, basisPoints: Int64, referencePrice: Price) {
        guard let index = symbolIndex(symbol) else { return rejectOperator(symbol, .unknownSymbol) }
        if !(0...100_000).contains(basisPoints) { return rejectOperator(symbol, .invalidPriceBand) }
        if referencePrice != .zero
            && (referencePrice.rawValue < 0 || referencePrice > Price.maximum
                || referencePrice.rawValue % symbols[index].rules.tickSize != 0)
        {
            return rejectOperator(symbol, .invalidPrice)
        }
        symbols[index].priceBandBasisPoints = basisPoints
        if referencePrice != .zero { symbols[index].referencePrice = referencePrice }
        events.append(
            .priceBandSet(
                .init(
                    symbol: symbol, basisPoints: basisPoints,
                    referencePrice: symbols[index].referencePrice)))
    }

    // MARK: - §9 Timed work

    private mutating func expireGoodTillDateOrders() {
        var due: [Order] = []
        for state in symbols {
            for order in state.resting where order.timeInForce == .gtd && order.expireAt <= now { due.append(order) }
            for order in state.stops where order.timeInForce == .gtd && order.expireAt <= now { due.append(order) }
        }
        due.sort { ($0.expireAt, $0.orderID) < ($1.expireAt, $1.orderID) }
        for order in due { expire(order) }
    }

    private mutating func reopenBreakerHalts() {
        var due: [(reopenAt: Timestamp, index: Int)] = []
        for (index, state) in symbols.enumerated() {
            if case .halted(.volatility, let reopenAt) = state.status, reopenAt <= now {
                due.append((reopenAt, index))
            }
        }
        due.sort { ($0.reopenAt, $0.index) < ($1.reopenAt, $1.index) }
        for entry in due { reopen(symbolIndex: entry.index) }
    }

    /// `expired`, then `bookDelta` when it was resting (§9, §11).
    private mutating func expire(_ order: Order) {
        let index = symbolIndex(order.symbol)!
        let wasResting = symbols[index].resting.contains { $0.orderID == order.orderID }
        if wasResting {
            removeResting(order.orderID, symbolIndex: index)
        } else {
            symbols[index].stops.removeAll { $0.orderID == order.orderID }
        }
        events.append(.expired(.init(orderID: order.orderID, symbol: order.symbol, leavesQuantity: order.leaves)))
        if wasResting { bookDelta(side: order.side, price: order.price, symbolIndex: index) }
    }

    // MARK: - §10 Halt, resume, reopening auction

    private mutating func halt(_ symbol: Symbol) {
        guard let index = symbolIndex(symbol) else { return rejectOperator(symbol, .unknownSymbol) }
        if case .halted(.manual, _) = symbols[index].status { return rejectOperator(symbol, .symbolHalted) }
        symbols[index].status = .halted(.manual, reopenAt: .zero)
        events.append(.halted(.init(symbol: symbol, reason: .manual, reopenAt: .zero)))
    }

    private mutating func resume(_ symbol: Symbol) {
        guard let index = symbolIndex(symbol) else { return rejectOperator(symbol, .unknownSymbol) }
        if case .trading = symbols[index].status { return rejectOperator(symbol, .symbolNotHalted) }
        reopen(symbolIndex: index)
    }

    private mutating func reopen(symbolIndex index: Int) {
        let state = symbols[index]
        let symbol = state.rules.symbol
        let reference = state.referencePrice
        let candidates = Set(state.resting.map(\.price)).sorted()
        var best: (price: Price, buy: Int64, sell: Int64)?
        for price in candidates {
            let buy = state.resting.filter { $0.side == .buy && $0.price >= price }.reduce(0) {
                $0 + $1.leaves.rawValue
            }
            let sell = state.resting.filter { $0.side == .sell && $0.price <= price }.reduce(0) {
                $0 + $1.leaves.rawValue
            }
            guard let current = best else {
                best = (price, buy, sell)
                continue
            }
            // Largest volume, then smallest imbalance, then closest to the reference, then lower price.
            let key = (-min(buy, sell), abs(buy - sell), abs(price.rawValue - reference.rawValue), price.rawValue)
            let currentKey = (
                -min(current.buy, current.sell), abs(current.buy - current.sell),
                abs(current.price.rawValue - reference.rawValue), current.price.rawValue
            )
            if key < currentKey { best = (price, buy, sell) }
        }
        if let best, min(best.buy, best.sell) > 0 {
            let auctionPrice = best.price
            events.append(
                .auction(
                    .init(
                        symbol: symbol, price: auctionPrice, volume: Quantity(min(best.buy, best.sell)),
                        imbalance: Quantity(best.buy - best.sell))))
            symbols[index].breakerTrades = []
            while let bidPrice = bestPrice(side: .buy, symbolIndex: index), bidPrice >= auctionPrice,
                let askPrice = bestPrice(side: .sell, symbolIndex: index), askPrice <= auctionPrice
            {
                var bid = restingOrder(headOrderID(side: .buy, price: bidPrice, symbolIndex: index), symbolIndex: index)
                var ask = restingOrder(
                    headOrderID(side: .sell, price: askPrice, symbolIndex: index), symbolIndex: index)
                let quantity = min(bid.visible, ask.visible)
                bid.leaves -= quantity
                bid.visible -= quantity
                bid.filled += quantity
                ask.leaves -= quantity
                ask.visible -= quantity
                ask.filled += quantity
                appendTrade(
                    symbol: symbol, price: auctionPrice, quantity: quantity, aggressor: nil, buy: bid, sell: ask)
                settleAfterFill(bid, symbolIndex: index)
                bookDelta(side: .buy, price: bid.price, symbolIndex: index)
                settleAfterFill(ask, symbolIndex: index)
                bookDelta(side: .sell, price: ask.price, symbolIndex: index)
                recordTrade(price: auctionPrice, symbolIndex: index)
            }
        } else {
            // SPEC: with no volume the breaker window is kept (the spec empties it only "Else").
            events.append(.auction(.init(symbol: symbol, price: reference, volume: .zero, imbalance: .zero)))
        }
        events.append(.resumed(symbol))
        symbols[index].status = .trading
        runTriggers(symbolIndex: index)
    }

    // MARK: - §11 End of session

    private mutating func endOfSession() {
        var due: [Order] = []
        for state in symbols {
            due += (state.resting + state.stops).filter { $0.timeInForce == .day }
        }
        due.sort { $0.orderID < $1.orderID }
        for order in due { expire(order) }
    }

    // MARK: - Book helpers

    private func symbolIndex(_ symbol: Symbol) -> Int? {
        symbols.firstIndex { $0.rules.symbol == symbol }
    }

    private func isLive(_ orderID: OrderID) -> Bool {
        symbols.contains { state in
            state.resting.contains { $0.orderID == orderID } || state.stops.contains { $0.orderID == orderID }
        }
    }

    private mutating func takeQueuePosition() -> UInt64 {
        nextQueuePosition += 1
        return nextQueuePosition
    }

    /// Best price on a side: highest bid, lowest ask.
    private func bestPrice(side: Side, symbolIndex index: Int) -> Price? {
        let prices = symbols[index].resting.filter { $0.side == side }.map(\.price)
        return side == .buy ? prices.max() : prices.min()
    }

    /// The earliest order of a level.
    private func headOrderID(side: Side, price: Price, symbolIndex index: Int) -> OrderID {
        symbols[index].resting
            .filter { $0.side == side && $0.price == price }
            .min { $0.queuePosition < $1.queuePosition }!
            .orderID
    }

    /// One side in matching order: best level first, FIFO within a level.
    private func restingInPriority(side: Side, symbolIndex index: Int) -> [Order] {
        symbols[index].resting.filter { $0.side == side }.sorted {
            if $0.price != $1.price { return side == .buy ? $0.price > $1.price : $0.price < $1.price }
            return $0.queuePosition < $1.queuePosition
        }
    }

    private func restingOrder(_ orderID: OrderID, symbolIndex index: Int) -> Order {
        symbols[index].resting.first { $0.orderID == orderID }!
    }

    private mutating func replaceResting(_ order: Order, symbolIndex index: Int) {
        let position = symbols[index].resting.firstIndex { $0.orderID == order.orderID }!
        symbols[index].resting[position] = order
    }

    private mutating func removeResting(_ orderID: OrderID, symbolIndex index: Int) {
        symbols[index].resting.removeAll { $0.orderID == orderID }
    }

    private func wouldCross(side: Side, price: Price, _ state: SymbolState) -> Bool {
        let opposite = state.resting.filter { $0.side == side.opposite }.map(\.price)
        if side == .buy {
            guard let bestAsk = opposite.min() else { return false }
            return price >= bestAsk
        }
        guard let bestBid = opposite.max() else { return false }
        return price <= bestBid
    }

    /// §4.4: the level's total visible quantity after the change.
    private mutating func bookDelta(side: Side, price: Price, symbolIndex index: Int) {
        let quantity = symbols[index].resting
            .filter { $0.side == side && $0.price == price }
            .reduce(Quantity.zero) { $0 + $1.visible }
        events.append(
            .bookDelta(
                .init(
                    symbol: symbols[index].rules.symbol, side: side, price: price,
                    quantity: quantity)))
    }

    // MARK: - Views (§12)

    var liveOrderCount: Int {
        symbols.reduce(0) { $0 + $1.resting.count + $1.stops.count }
    }

    func book(_ symbol: Symbol) -> OrderBookView? {
        guard let index = symbolIndex(symbol) else { return nil }
        func view(_ order: Order) -> RestingOrderView {
            RestingOrderView(
                orderID: order.orderID, participant: order.participant, account: order.account,
                side: order.side, price: order.price, leavesQuantity: order.leaves,
                visibleQuantity: order.visible)
        }
        return OrderBookView(
            symbol: symbol,
            bids: restingInPriority(side: .buy, symbolIndex: index).map(view),
            asks: restingInPriority(side: .sell, symbolIndex: index).map(view))
    }

    func depth(_ symbol: Symbol, levels: Int) -> BookDepth? {
        guard let index = symbolIndex(symbol) else { return nil }
        func aggregate(_ side: Side) -> [PriceLevelView] {
            var result: [PriceLevelView] = []
            for order in restingInPriority(side: side, symbolIndex: index) {
                if let last = result.last, last.price == order.price {
                    result[result.count - 1].quantity += order.visible
                    result[result.count - 1].orderCount += 1
                } else {
                    result.append(PriceLevelView(price: order.price, quantity: order.visible, orderCount: 1))
                }
            }
            return Array(result.prefix(max(0, levels)))
        }
        return BookDepth(symbol: symbol, bids: aggregate(.buy), asks: aggregate(.sell))
    }

    func bestBid(_ symbol: Symbol) -> PriceLevelView? { depth(symbol, levels: 1)?.bids.first }
    func bestAsk(_ symbol: Symbol) -> PriceLevelView? { depth(symbol, levels: 1)?.asks.first }

    func untriggeredStops(_ symbol: Symbol) -> [OrderStatus]? {
        guard let index = symbolIndex(symbol) else { return nil }
        return symbols[index].stops.sorted { $0.orderID < $1.orderID }.map { status($0, state: .untriggeredStop) }
    }

    func order(_ id: OrderID) -> OrderStatus? {
        for state in symbols {
            if let order = state.resting.first(where: { $0.orderID == id }) { return status(order, state: .resting) }
            if let order = state.stops.first(where: { $0.orderID == id }) {
                return status(order, state: .untriggeredStop)
            }
        }
        return nil
    }

    func symbolStatus(_ symbol: Symbol) -> SymbolStatus? {
        guard let index = symbolIndex(symbol) else { return nil }
        let state = symbols[index]
        return SymbolStatus(
            symbol: symbol, status: state.status, referencePrice: state.referencePrice,
            priceBandBasisPoints: state.priceBandBasisPoints, lastTradePrice: state.lastTradePrice)
    }

    // SPEC: an untriggered stop is not in the book, so its visible quantity is 0; an order keeps
    // the type it was entered with (a triggered stop-limit resting in the book is `.stopLimit`).
    private func status(_ order: Order, state: OrderState) -> OrderStatus {
        OrderStatus(
            orderID: order.orderID, participant: order.participant, clientOrderID: order.clientOrderID,
            account: order.account, symbol: order.symbol, side: order.side, type: order.type,
            timeInForce: order.timeInForce, price: order.price, stopPrice: order.stopPrice,
            quantity: order.quantity, leavesQuantity: order.leaves,
            visibleQuantity: state == .resting ? order.visible : .zero, displayQuantity: order.display,
            filledQuantity: order.filled, postOnly: order.postOnly, selfTradePrevention: order.selfTradePrevention,
            expireAt: order.expireAt, state: state)
    }
}
