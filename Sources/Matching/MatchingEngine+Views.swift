public import ExchangeCore

extension MatchingEngine {
    private func bookIndex(_ symbol: Symbol) -> Int? {
        symbolIndex.find(symbol).map { Int($0) }
    }

    private func levelView(_ level: Int32) -> PriceLevelView {
        let record = levels[Int(level)]
        return PriceLevelView(
            price: Price(record.price), quantity: Quantity(record.visible), orderCount: Int(record.count))
    }

    public func bestBid(_ symbol: Symbol) -> PriceLevelView? {
        guard let b = bookIndex(symbol), let level = books[b].bids.best else { return nil }
        return levelView(level)
    }

    public func bestAsk(_ symbol: Symbol) -> PriceLevelView? {
        guard let b = bookIndex(symbol), let level = books[b].asks.best else { return nil }
        return levelView(level)
    }

    /// L2: up to `levels` levels per side, best first.
    public func depth(_ symbol: Symbol, levels count: Int) -> BookDepth? {
        guard let b = bookIndex(symbol) else { return nil }
        let n = Swift.max(0, count)
        return BookDepth(
            symbol: symbol,
            bids: books[b].bids.levels.reversed().lazy.filter { self.levels[Int($0)].count > 0 }.prefix(n)
                .map(levelView),
            asks: books[b].asks.levels.reversed().lazy.filter { self.levels[Int($0)].count > 0 }.prefix(n)
                .map(levelView))
    }

    /// L3: every resting order, best level first, FIFO within a level.
    public func book(_ symbol: Symbol) -> OrderBookView? {
        guard let b = bookIndex(symbol) else { return nil }
        func side(_ ladder: Ladder) -> [RestingOrderView] {
            var result: [RestingOrderView] = []
            for level in ladder.levels.reversed() {
                var r = levels[Int(level)].head
                while r >= 0 {
                    let o = orders[Int(r)]
                    result.append(
                        RestingOrderView(
                            orderID: OrderID(o.orderID), participant: ParticipantID(o.participant),
                            account: AccountID(o.account), side: o.side, price: Price(o.price),
                            leavesQuantity: Quantity(o.leaves), visibleQuantity: Quantity(o.visible)))
                    r = o.next
                }
            }
            return result
        }
        return OrderBookView(symbol: symbol, bids: side(books[b].bids), asks: side(books[b].asks))
    }

    /// Untriggered stop orders of a symbol, by ascending order id.
    public func untriggeredStops(_ symbol: Symbol) -> [OrderStatus]? {
        guard let b = bookIndex(symbol) else { return nil }
        let entries = books[b].buyStops + books[b].sellStops
        return entries.map { status(of: $0.slot) }.sorted { $0.orderID < $1.orderID }
    }

    public func order(_ id: OrderID) -> OrderStatus? {
        orderIndex.find(id.rawValue).map { status(of: $0) }
    }

    func status(of slot: Int32) -> OrderStatus {
        let o = orders[Int(slot)]
        return OrderStatus(
            orderID: OrderID(o.orderID), participant: ParticipantID(o.participant),
            clientOrderID: ClientOrderID(o.clientOrderID), account: AccountID(o.account),
            symbol: books[Int(o.book)].rules.symbol, side: o.side, type: o.type, timeInForce: o.timeInForce,
            price: Price(o.price), stopPrice: Price(o.stopPrice), quantity: Quantity(o.quantity),
            leavesQuantity: Quantity(o.leaves), visibleQuantity: Quantity(o.visible),
            displayQuantity: Quantity(o.display), filledQuantity: Quantity(o.filled), postOnly: o.postOnly,
            selfTradePrevention: o.selfTradePrevention, expireAt: Timestamp(nanoseconds: o.expireAt),
            state: o.untriggered ? .untriggeredStop : .resting)
    }

    public func symbolStatus(_ symbol: Symbol) -> SymbolStatus? {
        guard let b = bookIndex(symbol) else { return nil }
        let book = books[b]
        let status: TradingStatus
        if let reason = book.haltReason {
            status = .halted(reason, reopenAt: Timestamp(nanoseconds: book.reopenAt))
        } else {
            status = .trading
        }
        return SymbolStatus(
            symbol: symbol, status: status, referencePrice: Price(book.referencePrice),
            priceBandBasisPoints: book.bandBasisPoints,
            lastTradePrice: book.lastTradePrice == 0 ? nil : Price(book.lastTradePrice))
    }
}
