import ExchangeCore

extension MatchingEngine {
    // MARK: - Continuous matching (docs/MATCHING.md §4)

    /// Matches the live order in `slot` against the opposite side, then rests it or cancels its
    /// remainder. The order is in the index but in no level or stop queue when this is called.
    mutating func runAggressor(_ a: Int32, book b: Int32, into events: inout [Event]) {
        let side = orders[Int(a)].side
        let type = orders[Int(a)].type
        let isMarket = type == .market || type == .stop
        var tif = orders[Int(a)].timeInForce
        if type == .stop { tif = tif == .fok ? .fok : .ioc }
        let limit = isMarket ? (side == .buy ? Int64.max : Int64.min) : orders[Int(a)].price
        let account = orders[Int(a)].account
        let stp = orders[Int(a)].selfTradePrevention

        if tif == .fok && !fillOrKillPossible(a, book: b, limit: limit) {
            emitCancelled(a, cancelled: orders[Int(a)].leaves, leaves: 0, reason: .fillOrKill, into: &events)
            release(a)
            return
        }

        var haltedByBreaker = false
        while orders[Int(a)].leaves > 0 {
            guard let level = side == .buy ? books[Int(b)].asks.best : books[Int(b)].bids.best else { break }
            let price = levels[Int(level)].price
            if side == .buy ? price > limit : price < limit { break }
            let r = levels[Int(level)].head

            if stp != .none && orders[Int(r)].account == account {
                switch stp {
                case .none:
                    break
                case .cancelNewest:
                    emitCancelled(a, cancelled: orders[Int(a)].leaves, leaves: 0, reason: .selfTradePrevention, into: &events)
                    release(a)
                    return
                case .cancelOldest:
                    emitCancelled(r, cancelled: orders[Int(r)].leaves, leaves: 0, reason: .selfTradePrevention, into: &events)
                    removeLiveOrder(r, into: &events)
                    continue
                case .cancelBoth:
                    emitCancelled(r, cancelled: orders[Int(r)].leaves, leaves: 0, reason: .selfTradePrevention, into: &events)
                    removeLiveOrder(r, into: &events)
                    emitCancelled(a, cancelled: orders[Int(a)].leaves, leaves: 0, reason: .selfTradePrevention, into: &events)
                    release(a)
                    return
                case .decrement:
                    let q = Swift.min(orders[Int(a)].leaves, orders[Int(r)].leaves)
                    let restingLeaves = orders[Int(r)].leaves - q
                    emitCancelled(r, cancelled: q, leaves: restingLeaves, reason: .selfTradePrevention, into: &events)
                    if restingLeaves == 0 {
                        removeLiveOrder(r, into: &events)
                    } else {
                        let oldVisible = orders[Int(r)].visible
                        let newVisible = Swift.min(oldVisible, restingLeaves)
                        orders[Int(r)].leaves = restingLeaves
                        orders[Int(r)].visible = newVisible
                        levels[Int(level)].visible -= oldVisible - newVisible
                        emitDelta(book: b, side: side.opposite, price: price, quantity: levels[Int(level)].visible, into: &events)
                    }
                    let aggressorLeaves = orders[Int(a)].leaves - q
                    orders[Int(a)].leaves = aggressorLeaves
                    emitCancelled(a, cancelled: q, leaves: aggressorLeaves, reason: .selfTradePrevention, into: &events)
                    if aggressorLeaves == 0 {
                        release(a)
                        return
                    }
                    continue
                }
            }

            if books[Int(b)].breakerEnabled && wouldBreach(price, book: b) {
                haltForVolatility(book: b, into: &events)
                haltedByBreaker = true
                break
            }
            fill(aggressor: a, resting: r, level: level, price: price, book: b, auction: false, into: &events)
        }

        let leaves = orders[Int(a)].leaves
        if leaves == 0 {
            release(a)
        } else if !isMarket && (tif == .gtc || tif == .day || tif == .gtd) {
            rest(a, book: b, into: &events)
        } else {
            emitCancelled(a, cancelled: leaves, leaves: 0, reason: haltedByBreaker ? .halted : .unfilled, into: &events)
            release(a)
        }
    }

    /// One execution between an aggressor (or, in an auction, the head bid) and the resting order
    /// `r` at `price`, with the trade event. The resting side is settled (refill or removal, with
    /// its delta) here; the aggressor side is the caller's.
    @inline(__always)
    mutating func fill(
        aggressor a: Int32, resting r: Int32, level: Int32, price: Int64, book b: Int32, auction: Bool,
        into events: inout [Event]
    ) {
        let q = auction
            ? Swift.min(orders[Int(a)].visible, orders[Int(r)].visible)
            : Swift.min(orders[Int(a)].leaves, orders[Int(r)].visible)
        orders[Int(a)].leaves -= q
        orders[Int(a)].filled += q
        if auction {
            orders[Int(a)].visible -= q
            levels[Int(orders[Int(a)].level)].visible -= q
        }
        orders[Int(r)].leaves -= q
        orders[Int(r)].visible -= q
        orders[Int(r)].filled += q
        levels[Int(level)].visible -= q

        let aggressorIsBuy = orders[Int(a)].side == .buy
        let buy = aggressorIsBuy ? a : r
        let sell = aggressorIsBuy ? r : a
        let buyOrder = orders[Int(buy)]
        let sellOrder = orders[Int(sell)]
        events.append(
            .trade(
                Event.Trade(
                    id: TradeID(sequence: sequence, index: tradeCounter), symbol: books[Int(b)].rules.symbol,
                    price: Price(price), quantity: Quantity(q), aggressor: auction ? nil : orders[Int(a)].side,
                    buyOrderID: OrderID(buyOrder.orderID), sellOrderID: OrderID(sellOrder.orderID),
                    buyAccount: AccountID(buyOrder.account), sellAccount: AccountID(sellOrder.account),
                    buyParticipant: ParticipantID(buyOrder.participant),
                    sellParticipant: ParticipantID(sellOrder.participant),
                    buyLeaves: Quantity(buyOrder.leaves), sellLeaves: Quantity(sellOrder.leaves),
                    timestamp: Timestamp(nanoseconds: now))))
        tradeCounter += 1
        if auction {
            settleResting(a, book: b, into: &events)
        }
        settleResting(r, book: b, into: &events)
        recordTrade(price: price, book: b)
    }

    /// After a fill: removes an exhausted resting order, or refills an iceberg's peak at the back
    /// of its level; then the level's delta.
    @inline(__always)
    mutating func settleResting(_ r: Int32, book b: Int32, into events: inout [Event]) {
        let side = orders[Int(r)].side
        let price = orders[Int(r)].price
        if orders[Int(r)].leaves == 0 {
            let remaining = unlink(r)
            release(r)
            emitDelta(book: b, side: side, price: price, quantity: remaining, into: &events)
            return
        }
        let level = orders[Int(r)].level
        if orders[Int(r)].visible == 0 {
            let refill = Swift.min(orders[Int(r)].display, orders[Int(r)].leaves)
            orders[Int(r)].visible = refill
            levels[Int(level)].visible += refill
            moveToBack(r, level: level)
        }
        emitDelta(book: b, side: side, price: price, quantity: levels[Int(level)].visible, into: &events)
    }

    @inline(__always)
    mutating func recordTrade(price: Int64, book b: Int32) {
        books[Int(b)].lastTradePrice = price
        books[Int(b)].referencePrice = price
        if books[Int(b)].breakerEnabled {
            books[Int(b)].breaker.record(price: price, second: now / Timestamp.nanosecondsPerSecond)
        }
    }

    /// Puts the order at the back of its level (§4.1) and emits the level's delta.
    mutating func rest(_ a: Int32, book b: Int32, into events: inout [Event]) {
        let side = orders[Int(a)].side
        let price = orders[Int(a)].price
        let display = orders[Int(a)].display
        let leaves = orders[Int(a)].leaves
        let visible = display == 0 ? leaves : Swift.min(display, leaves)
        orders[Int(a)].visible = visible
        let level = findOrCreateLevel(book: b, side: side, price: price)
        appendToLevel(a, level: level)
        levels[Int(level)].visible += visible
        emitDelta(book: b, side: side, price: price, quantity: levels[Int(level)].visible, into: &events)
    }

    /// The level at `price` on `side`, created (empty) when missing.
    mutating func findOrCreateLevel(book b: Int32, side: Side, price: Int64) -> Int32 {
        let key = Self.levelKey(book: b, side: side, price: price)
        if let level = levelIndex.find(key) {
            if levels[Int(level)].count == 0 {
                if side == .buy { books[Int(b)].bids.emptyLevels -= 1 } else { books[Int(b)].asks.emptyLevels -= 1 }
            }
            return level
        }
        let level = allocateLevel(book: b, price: price, side: side)
        levelIndex.insert(key, level)
        if side == .buy {
            let found = books[Int(b)].bids.search(price)
            precondition(!found.found, "level index out of step with the ladder")
            books[Int(b)].bids.insert(key: price, level: level, at: found.index)
        } else {
            let found = books[Int(b)].asks.search(-price)
            precondition(!found.found, "level index out of step with the ladder")
            books[Int(b)].asks.insert(key: -price, level: level, at: found.index)
        }
        return level
    }

    @inline(__always)
    mutating func appendToLevel(_ slot: Int32, level: Int32) {
        let tail = levels[Int(level)].tail
        orders[Int(slot)].level = level
        orders[Int(slot)].prev = tail
        orders[Int(slot)].next = -1
        if tail >= 0 {
            orders[Int(tail)].next = slot
        } else {
            levels[Int(level)].head = slot
        }
        levels[Int(level)].tail = slot
        levels[Int(level)].count += 1
    }

    @inline(__always)
    mutating func detachFromLevel(_ slot: Int32, level: Int32) {
        let prev = orders[Int(slot)].prev
        let next = orders[Int(slot)].next
        if prev >= 0 { orders[Int(prev)].next = next } else { levels[Int(level)].head = next }
        if next >= 0 { orders[Int(next)].prev = prev } else { levels[Int(level)].tail = prev }
        levels[Int(level)].count -= 1
    }

    @inline(__always)
    mutating func moveToBack(_ slot: Int32, level: Int32) {
        if levels[Int(level)].tail == slot { return }
        detachFromLevel(slot, level: level)
        appendToLevel(slot, level: level)
    }

    /// Takes a resting order out of its level, removing the level when it empties.
    /// Returns the level's visible quantity afterwards (0 when it is gone).
    @discardableResult
    mutating func unlink(_ slot: Int32) -> Int64 {
        let level = orders[Int(slot)].level
        precondition(level >= 0, "unlink of an order that does not rest")
        detachFromLevel(slot, level: level)
        levels[Int(level)].visible -= orders[Int(slot)].visible
        orders[Int(slot)].level = -1
        if levels[Int(level)].count > 0 { return levels[Int(level)].visible }
        let b = orders[Int(slot)].book
        // The level stays in its ladder as an empty level, unless it is the best one.
        if orders[Int(slot)].side == .buy {
            books[Int(b)].bids.emptyLevels += 1
            if books[Int(b)].bids.levels.last == level {
                dropTrailingEmptyLevels(book: b, side: .buy)
            } else if books[Int(b)].bids.emptyLevels > 256 + books[Int(b)].bids.count / 2 {
                compactLadder(book: b, side: .buy)
            }
        } else {
            books[Int(b)].asks.emptyLevels += 1
            if books[Int(b)].asks.levels.last == level {
                dropTrailingEmptyLevels(book: b, side: .sell)
            } else if books[Int(b)].asks.emptyLevels > 256 + books[Int(b)].asks.count / 2 {
                compactLadder(book: b, side: .sell)
            }
        }
        return 0
    }

    /// Keeps the best level non-empty: drops the empty levels at the end of a ladder.
    mutating func dropTrailingEmptyLevels(book b: Int32, side: Side) {
        while true {
            let last = side == .buy ? books[Int(b)].bids.levels.last : books[Int(b)].asks.levels.last
            guard let level = last, levels[Int(level)].count == 0 else { return }
            if side == .buy {
                books[Int(b)].bids.keys.removeLast()
                books[Int(b)].bids.levels.removeLast()
                books[Int(b)].bids.emptyLevels -= 1
            } else {
                books[Int(b)].asks.keys.removeLast()
                books[Int(b)].asks.levels.removeLast()
                books[Int(b)].asks.emptyLevels -= 1
            }
            freeLevel(level)
        }
    }

    /// Drops every empty level of a ladder (amortised: runs when empties dominate).
    mutating func compactLadder(book b: Int32, side: Side) {
        let ladderLevels = side == .buy ? books[Int(b)].bids.levels : books[Int(b)].asks.levels
        var dropped = Set<Int32>()
        for level in ladderLevels where levels[Int(level)].count == 0 { dropped.insert(level) }
        if side == .buy {
            books[Int(b)].bids.removeLevels(dropped)
            books[Int(b)].bids.emptyLevels = 0
        } else {
            books[Int(b)].asks.removeLevels(dropped)
            books[Int(b)].asks.emptyLevels = 0
        }
        for level in dropped.sorted() { freeLevel(level) }
    }

    // MARK: - Fill or kill (§4.3)

    /// Whether the whole quantity can execute now, level by level.
    mutating func fillOrKillPossible(_ a: Int32, book b: Int32, limit: Int64) -> Bool {
        let side = orders[Int(a)].side
        let account = orders[Int(a)].account
        let stp = orders[Int(a)].selfTradePrevention
        var remaining = orders[Int(a)].leaves
        let breakerEnabled = books[Int(b)].breakerEnabled
        let threshold = books[Int(b)].rules.breakerThresholdBasisPoints
        var window = breakerEnabled ? books[Int(b)].breaker.range(at: now / Timestamp.nanosecondsPerSecond) : nil
        let ladderCount = side == .buy ? books[Int(b)].asks.count : books[Int(b)].bids.count
        var position = ladderCount - 1
        while position >= 0 && remaining > 0 {
            let level = side == .buy ? books[Int(b)].asks.levels[position] : books[Int(b)].bids.levels[position]
            let price = levels[Int(level)].price
            if side == .buy ? price > limit : price < limit { return false }
            var available: Int64 = 0
            var r = levels[Int(level)].head
            while r >= 0 {
                if stp != .none && orders[Int(r)].account == account {
                    if stp != .cancelOldest { return false }
                } else {
                    available += orders[Int(r)].leaves
                }
                r = orders[Int(r)].next
            }
            if available > 0 {
                if breakerEnabled {
                    if let range = window {
                        if BreakerWindow.breaches(price: price, range: range, basisPoints: threshold) { return false }
                        window = (Swift.min(range.min, price), Swift.max(range.max, price))
                    } else {
                        window = (price, price)
                    }
                }
                remaining -= Swift.min(remaining, available)
            }
            position -= 1
        }
        return remaining == 0
    }

    // MARK: - Breaker (§7)

    @inline(__always)
    mutating func wouldBreach(_ price: Int64, book b: Int32) -> Bool {
        guard let range = books[Int(b)].breaker.range(at: now / Timestamp.nanosecondsPerSecond) else { return false }
        return BreakerWindow.breaches(
            price: price, range: range, basisPoints: books[Int(b)].rules.breakerThresholdBasisPoints)
    }

    mutating func haltForVolatility(book b: Int32, into events: inout [Event]) {
        let reopenAt = now + books[Int(b)].rules.breakerCoolingOffSeconds * Timestamp.nanosecondsPerSecond
        books[Int(b)].haltReason = .volatility
        books[Int(b)].reopenAt = reopenAt
        reopenings.append((reopenAt, b))
        nextReopenAt = Swift.min(nextReopenAt, reopenAt)
        events.append(
            .halted(
                Event.Halted(
                    symbol: books[Int(b)].rules.symbol, reason: .volatility, reopenAt: Timestamp(nanoseconds: reopenAt))))
    }

    // MARK: - Stops (§6)

    mutating func insertStop(_ slot: Int32, book b: Int32) {
        let entry = StopEntry(
            stopPrice: orders[Int(slot)].stopPrice, entrySequence: orders[Int(slot)].entrySequence, slot: slot)
        if orders[Int(slot)].side == .buy {
            // Stop price descending, then sequence descending.
            let i = books[Int(b)].buyStops.partitionIndex {
                $0.stopPrice > entry.stopPrice
                    || ($0.stopPrice == entry.stopPrice && $0.entrySequence > entry.entrySequence)
            }
            books[Int(b)].buyStops.insert(entry, at: i)
        } else {
            // Stop price ascending, then sequence descending.
            let i = books[Int(b)].sellStops.partitionIndex {
                $0.stopPrice < entry.stopPrice
                    || ($0.stopPrice == entry.stopPrice && $0.entrySequence > entry.entrySequence)
            }
            books[Int(b)].sellStops.insert(entry, at: i)
        }
    }

    mutating func removeStop(_ slot: Int32, book b: Int32) {
        if orders[Int(slot)].side == .buy {
            let i = books[Int(b)].buyStops.firstIndex { $0.slot == slot }!
            books[Int(b)].buyStops.remove(at: i)
        } else {
            let i = books[Int(b)].sellStops.firstIndex { $0.slot == slot }!
            books[Int(b)].sellStops.remove(at: i)
        }
        orders[Int(slot)].untriggered = false
    }

    /// Triggers eligible stops one at a time while the symbol trades.
    mutating func runTriggers(book b: Int32, into events: inout [Event]) {
        while books[Int(b)].haltReason == nil {
            let last = books[Int(b)].lastTradePrice
            if last == 0 { return }
            let slot: Int32
            if let entry = books[Int(b)].buyStops.last, last >= entry.stopPrice {
                slot = entry.slot
                books[Int(b)].buyStops.removeLast()
            } else if let entry = books[Int(b)].sellStops.last, last <= entry.stopPrice {
                slot = entry.slot
                books[Int(b)].sellStops.removeLast()
            } else {
                return
            }
            orders[Int(slot)].untriggered = false
            events.append(
                .triggered(
                    Event.Triggered(
                        orderID: OrderID(orders[Int(slot)].orderID), symbol: books[Int(b)].rules.symbol,
                        stopPrice: Price(orders[Int(slot)].stopPrice), lastTradePrice: Price(last))))
            runAggressor(slot, book: b, into: &events)
        }
    }
}

extension Array {
    /// The first index whose element does not satisfy `belongsBefore` (elements that do come first).
    @inline(__always)
    func partitionIndex(where belongsBefore: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if belongsBefore(self[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
