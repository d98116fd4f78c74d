import ExchangeCore
import Matching
import Testing

/// Shared names of the transcript tests (a namespace, so that nothing collides with other test helpers).
enum TX {
    static let acme = Symbol("ACME")
    static let beta = Symbol("BETA")
    static let zeta = Symbol("ZETA")

    /// Log time of whole second `s`.
    static func sec(_ s: Int64) -> Timestamp { Timestamp(nanoseconds: s * Timestamp.nanosecondsPerSecond) }

    /// Tick 1, lot 1, reference 100, no price band, no breaker: the rules of most transcripts.
    static func plain(_ symbol: Symbol = acme, reference: Int64 = 100) -> InstrumentRules {
        InstrumentRules(
            symbol: symbol, priceBandBasisPoints: 0, referencePrice: Price(reference),
            breakerThresholdBasisPoints: 0)
    }

    /// Reference 100, band off, breaker 10% over 60 s, 300 s cooling off.
    static func breaker(_ symbol: Symbol = acme, reference: Int64 = 100) -> InstrumentRules {
        InstrumentRules(
            symbol: symbol, priceBandBasisPoints: 0, referencePrice: Price(reference),
            breakerThresholdBasisPoints: 1_000, breakerWindowSeconds: 60, breakerCoolingOffSeconds: 300)
    }

    static func level(_ price: Int64, _ quantity: Int64, orders: Int) -> PriceLevelView {
        PriceLevelView(price: Price(price), quantity: Quantity(quantity), orderCount: orders)
    }
}

/// A matching engine driven as a transcript: commands in, events out.
///
/// Sequences count 1, 2, 3, ... (one per `send`). Time stays where it is unless `send(_:at:)` moves it;
/// `now` mirrors the engine's rule that time never goes backwards. Client order ids come from one
/// counter shared by all participants, so they increase per participant as sessions require.
/// Unless a test says otherwise, buyers are participant 1 / account 11 and sellers participant 2 /
/// account 22, so that trades show which side is which.
struct EngineTranscript {
    var engine: MatchingEngine
    /// Sequence of the last `send`.
    private(set) var sequence: UInt64 = 0
    /// Effective log time of the last `send` (the time the engine used).
    private(set) var now: Timestamp
    private var lastClientOrderID: UInt64 = 0
    /// Every order built by this transcript, by order id (the latest one when an id is reused).
    private(set) var orders: [OrderID: NewOrder] = [:]
    let symbol: Symbol

    init(
        _ instruments: [InstrumentRules] = [TX.plain()], sessionWindow: Int = 1_024,
        maximumLiveOrders: Int = 10_000_000, start: Timestamp = TX.sec(1_000)
    ) throws {
        engine = try MatchingEngine(
            configuration: EngineConfiguration(
                instruments: instruments, sessionWindowPerParticipant: sessionWindow,
                maximumLiveOrders: maximumLiveOrders))
        now = start
        symbol = instruments[0].symbol
    }

    /// Applies one command at the next sequence; at `time` when given, else at the current time.
    @discardableResult
    mutating func send(_ command: Command, at time: Timestamp? = nil, sequence explicit: UInt64? = nil) -> [Event] {
        let stamp = time ?? now
        if stamp > now { now = stamp }
        sequence = explicit ?? sequence + 1
        return engine.apply(command, timestamp: stamp, sequence: sequence)
    }

    @discardableResult
    mutating func send(_ order: NewOrder, at time: Timestamp? = nil, sequence: UInt64? = nil) -> [Event] {
        send(.newOrder(order), at: time, sequence: sequence)
    }
    @discardableResult
    mutating func send(_ cancel: CancelOrder, at time: Timestamp? = nil, sequence: UInt64? = nil) -> [Event] {
        send(.cancel(cancel), at: time, sequence: sequence)
    }
    @discardableResult
    mutating func send(_ replace: ReplaceOrder, at time: Timestamp? = nil, sequence: UInt64? = nil) -> [Event] {
        send(.replace(replace), at: time, sequence: sequence)
    }

    // MARK: Command builders

    mutating func clientOrderID(_ explicit: UInt64?) -> ClientOrderID {
        if let explicit {
            lastClientOrderID = max(lastClientOrderID, explicit)
            return ClientOrderID(explicit)
        }
        lastClientOrderID += 1
        return ClientOrderID(lastClientOrderID)
    }

    mutating func newOrder(
        _ id: UInt64, _ side: Side, _ quantity: Int64, type: OrderType, price: Int64 = 0, stop: Int64 = 0,
        tif: TimeInForce = .gtc, display: Int64 = 0, postOnly: Bool = false, stp: SelfTradePrevention = .none,
        expireAt: Timestamp = .zero, participant: UInt32? = nil, account: UInt64? = nil, client: UInt64? = nil,
        symbol: Symbol? = nil
    ) -> NewOrder {
        let order = NewOrder(
            participant: ParticipantID(participant ?? (side == .buy ? 1 : 2)),
            clientOrderID: clientOrderID(client), orderID: OrderID(id),
            account: AccountID(account ?? (side == .buy ? 11 : 22)), symbol: symbol ?? self.symbol, side: side,
            type: type, timeInForce: tif, price: Price(price), stopPrice: Price(stop), quantity: Quantity(quantity),
            displayQuantity: Quantity(display), postOnly: postOnly, selfTradePrevention: stp, expireAt: expireAt)
        orders[order.orderID] = order
        return order
    }

    mutating func limit(
        _ id: UInt64, _ side: Side, _ quantity: Int64, at price: Int64, tif: TimeInForce = .gtc, display: Int64 = 0,
        postOnly: Bool = false, stp: SelfTradePrevention = .none, expireAt: Timestamp = .zero,
        participant: UInt32? = nil, account: UInt64? = nil, client: UInt64? = nil, symbol: Symbol? = nil
    ) -> NewOrder {
        newOrder(
            id, side, quantity, type: .limit, price: price, tif: tif, display: display, postOnly: postOnly, stp: stp,
            expireAt: expireAt, participant: participant, account: account, client: client, symbol: symbol)
    }

    mutating func market(
        _ id: UInt64, _ side: Side, _ quantity: Int64, tif: TimeInForce = .ioc, stp: SelfTradePrevention = .none,
        participant: UInt32? = nil, account: UInt64? = nil, client: UInt64? = nil, symbol: Symbol? = nil
    ) -> NewOrder {
        newOrder(
            id, side, quantity, type: .market, tif: tif, stp: stp, participant: participant, account: account,
            client: client, symbol: symbol)
    }

    mutating func stop(
        _ id: UInt64, _ side: Side, _ quantity: Int64, stop: Int64, tif: TimeInForce = .gtc,
        stp: SelfTradePrevention = .none, expireAt: Timestamp = .zero, participant: UInt32? = nil,
        account: UInt64? = nil, client: UInt64? = nil, symbol: Symbol? = nil
    ) -> NewOrder {
        newOrder(
            id, side, quantity, type: .stop, stop: stop, tif: tif, stp: stp, expireAt: expireAt,
            participant: participant, account: account, client: client, symbol: symbol)
    }

    mutating func stopLimit(
        _ id: UInt64, _ side: Side, _ quantity: Int64, at price: Int64, stop: Int64, tif: TimeInForce = .gtc,
        display: Int64 = 0, stp: SelfTradePrevention = .none, expireAt: Timestamp = .zero,
        participant: UInt32? = nil, account: UInt64? = nil, client: UInt64? = nil, symbol: Symbol? = nil
    ) -> NewOrder {
        newOrder(
            id, side, quantity, type: .stopLimit, price: price, stop: stop, tif: tif, display: display, stp: stp,
            expireAt: expireAt, participant: participant, account: account, client: client, symbol: symbol)
    }

    /// A cancel by the order's owner unless `participant` says otherwise.
    mutating func cancel(
        _ id: UInt64, participant: UInt32? = nil, client: UInt64? = nil, symbol: Symbol? = nil
    ) -> CancelOrder {
        CancelOrder(
            participant: participant.map { ParticipantID($0) } ?? owner(id), clientOrderID: clientOrderID(client),
            orderID: OrderID(id), symbol: symbol ?? self.symbol)
    }

    /// A replace by the order's owner unless `participant` says otherwise.
    mutating func replace(
        _ id: UInt64, price: Int64, quantity: Int64, participant: UInt32? = nil, client: UInt64? = nil,
        symbol: Symbol? = nil
    ) -> ReplaceOrder {
        ReplaceOrder(
            participant: participant.map { ParticipantID($0) } ?? owner(id), clientOrderID: clientOrderID(client),
            orderID: OrderID(id), symbol: symbol ?? self.symbol, price: Price(price), quantity: Quantity(quantity))
    }

    private func owner(_ id: UInt64) -> ParticipantID { orders[OrderID(id)]?.participant ?? ParticipantID(1) }

    /// One-lot trade at `price` between a fresh sell and a fresh IOC buy of participant 9 (accounts 98/99),
    /// to set the last trade price (and reference price). Returns its events.
    @discardableResult
    mutating func tradeOnce(
        at price: Int64, sellID: UInt64 = 900, buyID: UInt64 = 901, symbol: Symbol? = nil, time: Timestamp? = nil
    ) -> [Event] {
        send(limit(sellID, .sell, 1, at: price, participant: 9, account: 99, symbol: symbol), at: time)
        return send(limit(buyID, .buy, 1, at: price, tif: .ioc, participant: 9, account: 98, symbol: symbol), at: time)
    }

    // MARK: Expected events

    func accepted(_ o: NewOrder) -> Event {
        .accepted(
            Event.Accepted(
                orderID: o.orderID, participant: o.participant, clientOrderID: o.clientOrderID, account: o.account,
                symbol: o.symbol, side: o.side, type: o.type, timeInForce: o.timeInForce, price: o.price,
                stopPrice: o.stopPrice, quantity: o.quantity, displayQuantity: o.displayQuantity))
    }

    func rejected(_ o: NewOrder, _ reason: RejectReason) -> Event {
        .rejected(
            Event.Rejected(
                participant: o.participant, clientOrderID: o.clientOrderID, orderID: o.orderID, symbol: o.symbol,
                reason: reason))
    }

    func rejected(_ c: CancelOrder, _ reason: RejectReason) -> Event {
        .rejected(
            Event.Rejected(
                participant: c.participant, clientOrderID: c.clientOrderID, orderID: c.orderID, symbol: c.symbol,
                reason: reason))
    }

    func rejected(_ r: ReplaceOrder, _ reason: RejectReason) -> Event {
        .rejected(
            Event.Rejected(
                participant: r.participant, clientOrderID: r.clientOrderID, orderID: r.orderID, symbol: r.symbol,
                reason: reason))
    }

    /// An operator command's rejection: participant 0, client order id 0, order id 0.
    func operatorRejected(_ reason: RejectReason, symbol: Symbol? = nil) -> Event {
        .rejected(
            Event.Rejected(
                participant: ParticipantID(0), clientOrderID: ClientOrderID(0), orderID: OrderID(0),
                symbol: symbol ?? self.symbol, reason: reason))
    }

    func duplicate(_ participant: UInt32, _ client: UInt64, _ outcome: CommandOutcome) -> Event {
        .duplicate(
            Event.Duplicate(
                participant: ParticipantID(participant), clientOrderID: ClientOrderID(client), outcome: outcome))
    }

    /// Trade number `index` of the last `send` (its sequence and effective time). Accounts and participants
    /// come from the orders this transcript built.
    func trade(
        _ index: UInt32, price: Int64, quantity: Int64, aggressor: Side?, buy: UInt64, sell: UInt64,
        buyLeaves: Int64, sellLeaves: Int64, symbol: Symbol? = nil
    ) -> Event {
        let buyOrder = orders[OrderID(buy)]
        let sellOrder = orders[OrderID(sell)]
        return .trade(
            Event.Trade(
                id: TradeID(sequence: sequence, index: index), symbol: symbol ?? self.symbol, price: Price(price),
                quantity: Quantity(quantity), aggressor: aggressor, buyOrderID: OrderID(buy),
                sellOrderID: OrderID(sell), buyAccount: buyOrder?.account ?? AccountID(0),
                sellAccount: sellOrder?.account ?? AccountID(0),
                buyParticipant: buyOrder?.participant ?? ParticipantID(0),
                sellParticipant: sellOrder?.participant ?? ParticipantID(0), buyLeaves: Quantity(buyLeaves),
                sellLeaves: Quantity(sellLeaves), timestamp: now))
    }

    func delta(_ side: Side, _ price: Int64, _ quantity: Int64, symbol: Symbol? = nil) -> Event {
        .bookDelta(
            Event.BookDelta(
                symbol: symbol ?? self.symbol, side: side, price: Price(price), quantity: Quantity(quantity)))
    }

    func cancelled(
        _ id: UInt64, _ quantity: Int64, leaves: Int64, _ reason: CancelReason, symbol: Symbol? = nil
    ) -> Event {
        .cancelled(
            Event.Cancelled(
                orderID: OrderID(id), symbol: symbol ?? self.symbol, cancelledQuantity: Quantity(quantity),
                leavesQuantity: Quantity(leaves), reason: reason))
    }

    func replaced(_ r: ReplaceOrder, leaves: Int64, kept: Bool) -> Event {
        .replaced(
            Event.Replaced(
                orderID: r.orderID, participant: r.participant, clientOrderID: r.clientOrderID, symbol: r.symbol,
                price: r.price, quantity: r.quantity, leavesQuantity: Quantity(leaves), keptPriority: kept))
    }

    func expired(_ id: UInt64, leaves: Int64, symbol: Symbol? = nil) -> Event {
        .expired(Event.Expired(orderID: OrderID(id), symbol: symbol ?? self.symbol, leavesQuantity: Quantity(leaves)))
    }

    func triggered(_ id: UInt64, stop: Int64, last: Int64, symbol: Symbol? = nil) -> Event {
        .triggered(
            Event.Triggered(
                orderID: OrderID(id), symbol: symbol ?? self.symbol, stopPrice: Price(stop),
                lastTradePrice: Price(last)))
    }

    func halted(_ reason: HaltReason, reopenAt: Timestamp = .zero, symbol: Symbol? = nil) -> Event {
        .halted(Event.Halted(symbol: symbol ?? self.symbol, reason: reason, reopenAt: reopenAt))
    }

    func auction(price: Int64, volume: Int64, imbalance: Int64, symbol: Symbol? = nil) -> Event {
        .auction(
            Event.AuctionResult(
                symbol: symbol ?? self.symbol, price: Price(price), volume: Quantity(volume),
                imbalance: Quantity(imbalance)))
    }

    func resumed(symbol: Symbol? = nil) -> Event { .resumed(symbol ?? self.symbol) }

    func priceBandSet(_ basisPoints: Int64, reference: Int64, symbol: Symbol? = nil) -> Event {
        .priceBandSet(
            Event.PriceBandSet(
                symbol: symbol ?? self.symbol, basisPoints: basisPoints, referencePrice: Price(reference)))
    }

    // MARK: Expected views

    /// L3 view of a resting order built by this transcript.
    func resting(_ id: UInt64, price: Int64? = nil, leaves: Int64, visible: Int64? = nil) -> RestingOrderView {
        let o = orders[OrderID(id)]!
        return RestingOrderView(
            orderID: o.orderID, participant: o.participant, account: o.account, side: o.side,
            price: price.map { Price($0) } ?? o.price, leavesQuantity: Quantity(leaves),
            visibleQuantity: Quantity(visible ?? leaves))
    }

    func bids(symbol: Symbol? = nil) -> [RestingOrderView] { engine.book(symbol ?? self.symbol)?.bids ?? [] }
    func asks(symbol: Symbol? = nil) -> [RestingOrderView] { engine.book(symbol ?? self.symbol)?.asks ?? [] }

    /// Everything a rejected command must leave alone.
    struct Observable: Equatable {
        var books: [OrderBookView?]
        var stops: [[OrderStatus]?]
        var statuses: [SymbolStatus?]
        /// Live orders among those this transcript built.
        var orders: [OrderID: OrderStatus]
        var liveOrderCount: Int
    }

    func observe(symbols: [Symbol]? = nil) -> Observable {
        let symbols = symbols ?? engine.configuration.instruments.map(\.symbol)
        return Observable(
            books: symbols.map { engine.book($0) }, stops: symbols.map { engine.untriggeredStops($0) },
            statuses: symbols.map { engine.symbolStatus($0) },
            orders: Dictionary(
                uniqueKeysWithValues: orders.keys.compactMap { id in engine.order(id).map { (id, $0) } }),
            liveOrderCount: engine.liveOrderCount)
    }
}
