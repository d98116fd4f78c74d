import ExchangeCore

extension MatchingEngine {
    // MARK: - Sessions (docs/MATCHING.md §2)

    /// Returns the participant's session when the command is new; otherwise emits the duplicate
    /// or rejection and returns nil.
    @inline(__always)
    mutating func admit(
        participant: ParticipantID, clientOrderID: ClientOrderID, orderID: OrderID, symbol: Symbol,
        into events: inout [Event]
    ) -> Int? {
        guard participant.rawValue != 0 else {
            emitReject(
                participant: participant, clientOrderID: clientOrderID, orderID: orderID, symbol: symbol,
                reason: .invalidParticipant, into: &events)
            return nil
        }
        let existing = sessions.session(of: participant.rawValue)
        if let s = existing {
            if clientOrderID.rawValue > sessions.highWater[s] { return s }
            if let outcome = sessions.outcome(session: s, clientOrderID: clientOrderID.rawValue) {
                events.append(
                    .duplicate(Event.Duplicate(participant: participant, clientOrderID: clientOrderID, outcome: outcome)))
                return nil
            }
        } else if clientOrderID.rawValue > 0 {
            return sessions.createSession(participant.rawValue)
        }
        emitReject(
            participant: participant, clientOrderID: clientOrderID, orderID: orderID, symbol: symbol,
            reason: .staleClientOrderID, into: &events)
        return nil
    }

    // MARK: - New order (§3)

    mutating func newOrder(_ command: NewOrder, into events: inout [Event]) {
        guard
            let session = admit(
                participant: command.participant, clientOrderID: command.clientOrderID, orderID: command.orderID,
                symbol: command.symbol, into: &events)
        else { return }
        if let reason = validate(command) {
            emitReject(
                participant: command.participant, clientOrderID: command.clientOrderID, orderID: command.orderID,
                symbol: command.symbol, reason: reason, into: &events)
            sessions.record(
                session: session, clientOrderID: command.clientOrderID.rawValue, orderID: command.orderID.rawValue,
                reason: reason.rawValue)
            return
        }
        sessions.record(
            session: session, clientOrderID: command.clientOrderID.rawValue, orderID: command.orderID.rawValue,
            reason: 0)
        let b = book(of: command.symbol)!
        let slot = allocateOrder()
        orders[Int(slot)] = OrderRecord(
            orderID: command.orderID.rawValue, account: command.account.rawValue,
            clientOrderID: command.clientOrderID.rawValue, price: command.price.rawValue,
            stopPrice: command.stopPrice.rawValue, quantity: command.quantity.rawValue,
            leaves: command.quantity.rawValue, visible: 0, display: command.displayQuantity.rawValue, filled: 0,
            expireAt: command.expireAt.rawValue, entrySequence: sequence, participant: command.participant.rawValue,
            book: b, level: -1, prev: -1, next: -1, side: command.side, type: command.type,
            timeInForce: command.timeInForce, selfTradePrevention: command.selfTradePrevention,
            postOnly: command.postOnly, untriggered: false)
        orderIndex.insert(command.orderID.rawValue, slot)
        events.append(
            .accepted(
                Event.Accepted(
                    orderID: command.orderID, participant: command.participant, clientOrderID: command.clientOrderID,
                    account: command.account, symbol: command.symbol, side: command.side, type: command.type,
                    timeInForce: command.timeInForce, price: command.price, stopPrice: command.stopPrice,
                    quantity: command.quantity, displayQuantity: command.displayQuantity)))
        if command.timeInForce == .gtd {
            pushExpiry(ExpiryEntry(expireAt: command.expireAt.rawValue, orderID: command.orderID.rawValue))
        }
        if command.type == .stop || command.type == .stopLimit {
            orders[Int(slot)].untriggered = true
            insertStop(slot, book: b)
            return
        }
        runAggressor(slot, book: b, into: &events)
        runTriggers(book: b, into: &events)
    }

    /// The first failing check of §3, or nil.
    mutating func validate(_ c: NewOrder) -> RejectReason? {
        guard let b = book(of: c.symbol) else { return .unknownSymbol }
        if c.orderID.rawValue == 0 { return .invalidOrderID }
        if orderIndex.find(c.orderID.rawValue) != nil { return .duplicateOrderID }
        let tif = c.timeInForce
        let restingTIF = tif == .gtc || tif == .day || tif == .gtd
        if c.type == .market && !(tif == .ioc || tif == .fok) { return .invalidTimeInForce }
        if c.postOnly && !(c.type == .limit && restingTIF) { return .invalidPostOnly }
        let rules = books[Int(b)].rules
        let display = c.displayQuantity.rawValue
        if display != 0 {
            guard (c.type == .limit || c.type == .stopLimit) && restingTIF && display > 0
                && display < c.quantity.rawValue && display % rules.lotSize == 0
            else { return .invalidDisplayQuantity }
        }
        if let reason = checkQuantity(c.quantity.rawValue, rules: rules) { return reason }
        let price = c.price.rawValue
        if c.type == .limit || c.type == .stopLimit {
            if price <= 0 || price > Price.maximum.rawValue { return .invalidPrice }
            if price % rules.tickSize != 0 { return .priceOffTick }
        } else if price != 0 {
            return .invalidPrice
        }
        let stop = c.stopPrice.rawValue
        if c.type == .stop || c.type == .stopLimit {
            if stop <= 0 || stop > Price.maximum.rawValue || stop % rules.tickSize != 0 { return .invalidStopPrice }
        } else if stop != 0 {
            return .invalidStopPrice
        }
        if tif == .gtd {
            if c.expireAt.rawValue <= now { return .invalidExpireTime }
        } else if c.expireAt.rawValue != 0 {
            return .invalidExpireTime
        }
        if books[Int(b)].haltReason != nil { return .symbolHalted }
        if (c.type == .limit || c.type == .stopLimit) && outsideBand(price, book: b) { return .priceOutsideBand }
        if c.type == .stop || c.type == .stopLimit {
            let last = books[Int(b)].lastTradePrice
            if last != 0 && (c.side == .buy ? last >= stop : last <= stop) { return .stopWouldTriggerImmediately }
        }
        if c.postOnly && wouldCross(price, side: c.side, book: b) { return .postOnlyWouldTrade }
        if orderIndex.count >= configuration.maximumLiveOrders { return .capacityExceeded }
        return nil
    }

    @inline(__always)
    mutating func checkQuantity(_ quantity: Int64, rules: InstrumentRules) -> RejectReason? {
        if quantity <= 0 { return .invalidQuantity }
        if quantity % rules.lotSize != 0 { return .quantityNotLotMultiple }
        if quantity < rules.minimumQuantity.rawValue { return .quantityBelowMinimum }
        if quantity > rules.maximumQuantity.rawValue { return .quantityAboveMaximum }
        return nil
    }

    /// §8: outside the band around the reference price.
    @inline(__always)
    mutating func outsideBand(_ price: Int64, book b: Int32) -> Bool {
        let band = books[Int(b)].bandBasisPoints
        if band == 0 { return false }
        let reference = books[Int(b)].referencePrice
        return price * 10_000 > reference * (10_000 + band) || price * 10_000 < reference * (10_000 - band)
    }

    /// Whether a limit at `price` would take liquidity on entry.
    @inline(__always)
    mutating func wouldCross(_ price: Int64, side: Side, book b: Int32) -> Bool {
        if side == .buy {
            guard let best = books[Int(b)].asks.best else { return false }
            return price >= levels[Int(best)].price
        } else {
            guard let best = books[Int(b)].bids.best else { return false }
            return price <= levels[Int(best)].price
        }
    }

    // MARK: - Cancel (§5)

    mutating func cancelOrder(_ command: CancelOrder, into events: inout [Event]) {
        guard
            let session = admit(
                participant: command.participant, clientOrderID: command.clientOrderID, orderID: command.orderID,
                symbol: command.symbol, into: &events)
        else { return }
        guard
            let slot = ownedOrder(
                session: session, participant: command.participant, clientOrderID: command.clientOrderID,
                orderID: command.orderID, symbol: command.symbol, into: &events)
        else { return }
        sessions.record(
            session: session, clientOrderID: command.clientOrderID.rawValue, orderID: command.orderID.rawValue,
            reason: 0)
        let leaves = orders[Int(slot)].leaves
        emitCancelled(slot, cancelled: leaves, leaves: 0, reason: .requested, into: &events)
        removeLiveOrder(slot, into: &events)
    }

    /// The live order of `symbol` owned by `participant` that a cancel or replace names; when
    /// there is none, the rejection is emitted and recorded and the result is nil.
    mutating func ownedOrder(
        session: Int, participant: ParticipantID, clientOrderID: ClientOrderID, orderID: OrderID, symbol: Symbol,
        into events: inout [Event]
    ) -> Int32? {
        let reason: RejectReason
        if let b = book(of: symbol) {
            if let slot = orderIndex.find(orderID.rawValue), orders[Int(slot)].book == b {
                if orders[Int(slot)].participant == participant.rawValue { return slot }
                reason = .notOrderOwner
            } else {
                reason = .unknownOrder
            }
        } else {
            reason = .unknownSymbol
        }
        rejectAndRecord(
            session: session, participant: participant, clientOrderID: clientOrderID, orderID: orderID,
            symbol: symbol, reason: reason, into: &events)
        return nil
    }

    mutating func rejectAndRecord(
        session: Int, participant: ParticipantID, clientOrderID: ClientOrderID, orderID: OrderID, symbol: Symbol,
        reason: RejectReason, into events: inout [Event]
    ) {
        emitReject(
            participant: participant, clientOrderID: clientOrderID, orderID: orderID, symbol: symbol, reason: reason,
            into: &events)
        sessions.record(
            session: session, clientOrderID: clientOrderID.rawValue, orderID: orderID.rawValue,
            reason: reason.rawValue)
    }

    /// Takes a live order out of the book (with its level delta) or out of the stop queue, and
    /// releases it. The caller has emitted the event that explains why.
    mutating func removeLiveOrder(_ slot: Int32, into events: inout [Event]) {
        let b = orders[Int(slot)].book
        if orders[Int(slot)].untriggered {
            removeStop(slot, book: b)
        } else {
            let side = orders[Int(slot)].side
            let price = orders[Int(slot)].price
            let remaining = unlink(slot)
            emitDelta(book: b, side: side, price: price, quantity: remaining, into: &events)
        }
        release(slot)
    }

    // MARK: - Replace (§5)

    mutating func replaceOrder(_ command: ReplaceOrder, into events: inout [Event]) {
        guard
            let session = admit(
                participant: command.participant, clientOrderID: command.clientOrderID, orderID: command.orderID,
                symbol: command.symbol, into: &events)
        else { return }
        guard
            let slot = ownedOrder(
                session: session, participant: command.participant, clientOrderID: command.clientOrderID,
                orderID: command.orderID, symbol: command.symbol, into: &events)
        else { return }
        if let reason = validateReplace(command, slot: slot) {
            rejectAndRecord(
                session: session, participant: command.participant, clientOrderID: command.clientOrderID,
                orderID: command.orderID, symbol: command.symbol, reason: reason, into: &events)
            return
        }
        let b = orders[Int(slot)].book
        let side = orders[Int(slot)].side
        let newQuantity = command.quantity.rawValue
        let newPrice = command.price.rawValue
        sessions.record(
            session: session, clientOrderID: command.clientOrderID.rawValue, orderID: command.orderID.rawValue,
            reason: 0)

        let oldPrice = orders[Int(slot)].price
        let newLeaves = newQuantity - orders[Int(slot)].filled
        let keepsPriority = newPrice == oldPrice && newLeaves <= orders[Int(slot)].leaves
        orders[Int(slot)].quantity = newQuantity
        events.append(
            .replaced(
                Event.Replaced(
                    orderID: command.orderID, participant: command.participant, clientOrderID: command.clientOrderID,
                    symbol: command.symbol, price: command.price, quantity: command.quantity,
                    leavesQuantity: Quantity(newLeaves), keptPriority: keepsPriority)))
        if keepsPriority {
            let level = orders[Int(slot)].level
            let oldVisible = orders[Int(slot)].visible
            let newVisible = Swift.min(oldVisible, newLeaves)
            orders[Int(slot)].leaves = newLeaves
            orders[Int(slot)].visible = newVisible
            levels[Int(level)].visible -= oldVisible - newVisible
            emitDelta(book: b, side: side, price: oldPrice, quantity: levels[Int(level)].visible, into: &events)
            return
        }
        let remaining = unlink(slot)
        emitDelta(book: b, side: side, price: oldPrice, quantity: remaining, into: &events)
        orders[Int(slot)].price = newPrice
        orders[Int(slot)].leaves = newLeaves
        orders[Int(slot)].visible = 0
        runAggressor(slot, book: b, into: &events)
        runTriggers(book: b, into: &events)
    }
}

extension MatchingEngine {
    /// The first failing replace check of §5 after ownership, or nil.
    mutating func validateReplace(_ command: ReplaceOrder, slot: Int32) -> RejectReason? {
        let b = orders[Int(slot)].book
        if books[Int(b)].haltReason != nil { return .symbolHalted }
        if orders[Int(slot)].untriggered { return .orderNotReplaceable }
        let newQuantity = command.quantity.rawValue
        if let reason = checkQuantity(newQuantity, rules: books[Int(b)].rules) { return reason }
        if newQuantity <= orders[Int(slot)].filled { return .invalidQuantity }
        let newPrice = command.price.rawValue
        if newPrice <= 0 || newPrice > Price.maximum.rawValue { return .invalidPrice }
        if newPrice % books[Int(b)].rules.tickSize != 0 { return .priceOffTick }
        if outsideBand(newPrice, book: b) { return .priceOutsideBand }
        if orders[Int(slot)].postOnly && wouldCross(newPrice, side: orders[Int(slot)].side, book: b) {
            return .postOnlyWouldTrade
        }
        return nil
    }
}
