import ExchangeCore

extension MatchingEngine {
    // MARK: - Halt and resume (§10)

    mutating func halt(_ symbol: Symbol, into events: inout [Event]) {
        guard let b = book(of: symbol) else { return emitOperatorReject(symbol: symbol, reason: .unknownSymbol, into: &events) }
        switch books[Int(b)].haltReason {
        case .manual:
            return emitOperatorReject(symbol: symbol, reason: .symbolHalted, into: &events)
        case .volatility:
            removeReopening(book: b)
        case nil:
            break
        }
        books[Int(b)].haltReason = .manual
        books[Int(b)].reopenAt = 0
        events.append(.halted(Event.Halted(symbol: symbol, reason: .manual, reopenAt: .zero)))
    }

    mutating func resume(_ symbol: Symbol, into events: inout [Event]) {
        guard let b = book(of: symbol) else { return emitOperatorReject(symbol: symbol, reason: .unknownSymbol, into: &events) }
        switch books[Int(b)].haltReason {
        case nil:
            return emitOperatorReject(symbol: symbol, reason: .symbolNotHalted, into: &events)
        case .volatility:
            removeReopening(book: b)
        case .manual:
            break
        }
        reopen(book: b, into: &events)
    }

    mutating func removeReopening(book b: Int32) {
        reopenings.removeAll { $0.book == b }
        nextReopenAt = reopenings.reduce(Int64.max) { Swift.min($0, $1.reopenAt) }
    }

    /// Breaker halts whose cooling-off ended, by (reopenAt, configuration order).
    mutating func runReopenings(into events: inout [Event]) {
        while nextReopenAt <= now {
            var best = 0
            for i in 1..<reopenings.count {
                let candidate = reopenings[i]
                let current = reopenings[best]
                if candidate.reopenAt < current.reopenAt
                    || (candidate.reopenAt == current.reopenAt && candidate.book < current.book)
                {
                    best = i
                }
            }
            let b = reopenings[best].book
            removeReopening(book: b)
            reopen(book: b, into: &events)
        }
    }

    /// The reopening call auction, then continuous trading and triggers.
    mutating func reopen(book b: Int32, into events: inout [Event]) {
        let symbol = books[Int(b)].rules.symbol
        let (price, volume, imbalance) = auctionPrice(book: b)
        if volume == 0 {
            events.append(
                .auction(
                    Event.AuctionResult(
                        symbol: symbol, price: Price(books[Int(b)].referencePrice), volume: .zero, imbalance: .zero)))
        } else {
            events.append(
                .auction(
                    Event.AuctionResult(
                        symbol: symbol, price: Price(price), volume: Quantity(volume), imbalance: Quantity(imbalance))))
            books[Int(b)].breaker.clear()
            while let bidLevel = books[Int(b)].bids.best, let askLevel = books[Int(b)].asks.best,
                levels[Int(bidLevel)].price >= price, levels[Int(askLevel)].price <= price
            {
                fill(
                    aggressor: levels[Int(bidLevel)].head, resting: levels[Int(askLevel)].head, level: askLevel,
                    price: price, book: b, auction: true, into: &events)
            }
        }
        books[Int(b)].haltReason = nil
        books[Int(b)].reopenAt = 0
        events.append(.resumed(symbol))
        runTriggers(book: b, into: &events)
    }

    /// §10: the price of maximum volume, then minimum imbalance, then nearest the reference,
    /// then the lower price. Volume 0 when nothing crosses.
    mutating func auctionPrice(book b: Int32) -> (price: Int64, volume: Int64, imbalance: Int64) {
        // Levels with their total open quantity (hidden included), prices ascending.
        func totals(_ ladder: Ladder) -> [(price: Int64, quantity: Int64)] {
            var result: [(price: Int64, quantity: Int64)] = []
            result.reserveCapacity(ladder.count)
            for level in ladder.levels where levels[Int(level)].count > 0 {
                var quantity: Int64 = 0
                var r = levels[Int(level)].head
                while r >= 0 {
                    quantity += orders[Int(r)].leaves
                    r = orders[Int(r)].next
                }
                result.append((levels[Int(level)].price, quantity))
            }
            result.sort { $0.price < $1.price }
            return result
        }
        let bids = totals(books[Int(b)].bids)
        let asks = totals(books[Int(b)].asks)
        guard !bids.isEmpty && !asks.isEmpty else { return (0, 0, 0) }
        var candidates = bids.map(\.price) + asks.map(\.price)
        candidates.sort()
        let reference = books[Int(b)].referencePrice
        var buyAtOrAbove = bids.reduce(Int64(0)) { $0 + $1.quantity }
        var sellAtOrBelow: Int64 = 0
        var bidIndex = 0
        var askIndex = 0
        var best: (price: Int64, volume: Int64, imbalance: Int64) = (0, 0, 0)
        var previous: Int64? = nil
        for price in candidates {
            if price == previous { continue }
            previous = price
            while bidIndex < bids.count && bids[bidIndex].price < price {
                buyAtOrAbove -= bids[bidIndex].quantity
                bidIndex += 1
            }
            while askIndex < asks.count && asks[askIndex].price <= price {
                sellAtOrBelow += asks[askIndex].quantity
                askIndex += 1
            }
            let volume = Swift.min(buyAtOrAbove, sellAtOrBelow)
            if volume == 0 { continue }
            let imbalance = buyAtOrAbove - sellAtOrBelow
            let better: Bool
            if best.volume == 0 || volume > best.volume {
                better = true
            } else if volume < best.volume {
                better = false
            } else if abs(imbalance) != abs(best.imbalance) {
                better = abs(imbalance) < abs(best.imbalance)
            } else {
                better = abs(price - reference) < abs(best.price - reference)
            }
            if better { best = (price, volume, imbalance) }
        }
        return best
    }

    // MARK: - Price band (§8)

    mutating func setPriceBand(
        _ symbol: Symbol, basisPoints: Int64, referencePrice: Price, into events: inout [Event]
    ) {
        guard let b = book(of: symbol) else { return emitOperatorReject(symbol: symbol, reason: .unknownSymbol, into: &events) }
        guard (0...100_000).contains(basisPoints) else {
            return emitOperatorReject(symbol: symbol, reason: .invalidPriceBand, into: &events)
        }
        let reference = referencePrice.rawValue
        if reference != 0
            && (reference < 0 || reference > Price.maximum.rawValue || reference % books[Int(b)].rules.tickSize != 0)
        {
            return emitOperatorReject(symbol: symbol, reason: .invalidPrice, into: &events)
        }
        books[Int(b)].bandBasisPoints = basisPoints
        if reference != 0 { books[Int(b)].referencePrice = reference }
        events.append(
            .priceBandSet(
                Event.PriceBandSet(
                    symbol: symbol, basisPoints: basisPoints, referencePrice: Price(books[Int(b)].referencePrice))))
    }

    // MARK: - Expiry (§9, §11)

    mutating func pushExpiry(_ entry: ExpiryEntry) {
        expiries.append(entry)
        var child = expiries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if !ExpiryEntry.precedes(expiries[child], expiries[parent]) { break }
            expiries.swapAt(child, parent)
            child = parent
        }
        // Entries of orders that died early accumulate; rebuild when they dominate.
        if expiries.count > 1_024 && expiries.count > 2 * orderIndex.count { compactExpiries() }
    }

    mutating func popExpiry() -> ExpiryEntry {
        let top = expiries[0]
        let last = expiries.removeLast()
        if !expiries.isEmpty {
            expiries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                if left >= expiries.count { break }
                var child = left
                if left + 1 < expiries.count && ExpiryEntry.precedes(expiries[left + 1], expiries[left]) {
                    child = left + 1
                }
                if !ExpiryEntry.precedes(expiries[child], expiries[parent]) { break }
                expiries.swapAt(child, parent)
                parent = child
            }
        }
        return top
    }

    /// The live GTD order an expiry entry still stands for.
    mutating func liveExpiry(_ entry: ExpiryEntry) -> Int32? {
        guard let slot = orderIndex.find(entry.orderID) else { return nil }
        let order = orders[Int(slot)]
        guard order.timeInForce == .gtd && order.expireAt == entry.expireAt else { return nil }
        return slot
    }

    mutating func compactExpiries() {
        let live = expiries.filter { liveExpiry($0) != nil }
        expiries.removeAll(keepingCapacity: true)
        for entry in live { pushExpiry(entry) }
    }

    mutating func runExpiries(into events: inout [Event]) {
        while let first = expiries.first, first.expireAt <= now {
            let entry = popExpiry()
            guard let slot = liveExpiry(entry) else { continue }
            expire(slot, into: &events)
        }
    }

    mutating func expire(_ slot: Int32, into events: inout [Event]) {
        let order = orders[Int(slot)]
        events.append(
            .expired(
                Event.Expired(
                    orderID: OrderID(order.orderID), symbol: books[Int(order.book)].rules.symbol,
                    leavesQuantity: Quantity(order.leaves))))
        removeLiveOrder(slot, into: &events)
    }

    /// §11: every DAY order expires, by ascending order id.
    mutating func endOfSession(into events: inout [Event]) {
        var day: [(orderID: UInt64, slot: Int32)] = []
        for (slot, order) in orders.enumerated()
        where order.timeInForce == .day && (order.level >= 0 || order.untriggered) {
            day.append((order.orderID, Int32(slot)))
        }
        day.sort { $0.orderID < $1.orderID }
        for entry in day { expire(entry.slot, into: &events) }
    }
}
