public import ExchangeCore

/// A participant's request to enter an order.
public struct NewOrder: Sendable, Hashable {
    public var participant: ParticipantID
    public var clientOrderID: ClientOrderID
    /// Assigned by the sequencer; must not be 0 or the id of a live order.
    public var orderID: OrderID
    public var account: AccountID
    public var symbol: Symbol
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    /// Limit price for `.limit` and `.stopLimit`; must be `.zero` for `.market` and `.stop`.
    public var price: Price
    /// Trigger price for `.stop` and `.stopLimit`; must be `.zero` otherwise.
    public var stopPrice: Price
    /// Total order quantity.
    public var quantity: Quantity
    /// Iceberg peak: the visible part of a resting order; `.zero` means fully visible.
    public var displayQuantity: Quantity
    /// Rejected instead of trading when it would take liquidity on entry.
    public var postOnly: Bool
    public var selfTradePrevention: SelfTradePrevention
    /// Expiry for `.gtd`; must be `.zero` for every other time in force.
    public var expireAt: Timestamp

    public init(
        participant: ParticipantID, clientOrderID: ClientOrderID, orderID: OrderID, account: AccountID,
        symbol: Symbol, side: Side, type: OrderType = .limit, timeInForce: TimeInForce = .gtc,
        price: Price = .zero, stopPrice: Price = .zero, quantity: Quantity,
        displayQuantity: Quantity = .zero, postOnly: Bool = false,
        selfTradePrevention: SelfTradePrevention = .none, expireAt: Timestamp = .zero
    ) {
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.orderID = orderID
        self.account = account
        self.symbol = symbol
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.price = price
        self.stopPrice = stopPrice
        self.quantity = quantity
        self.displayQuantity = displayQuantity
        self.postOnly = postOnly
        self.selfTradePrevention = selfTradePrevention
        self.expireAt = expireAt
    }
}

/// A participant's request to cancel one of its live orders.
public struct CancelOrder: Sendable, Hashable {
    public var participant: ParticipantID
    public var clientOrderID: ClientOrderID
    public var orderID: OrderID
    public var symbol: Symbol

    public init(participant: ParticipantID, clientOrderID: ClientOrderID, orderID: OrderID, symbol: Symbol) {
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.orderID = orderID
        self.symbol = symbol
    }
}

/// A participant's cancel/replace of a resting limit order: new price and new total quantity
/// (including what already filled, as FIX `OrderQty`).
public struct ReplaceOrder: Sendable, Hashable {
    public var participant: ParticipantID
    public var clientOrderID: ClientOrderID
    public var orderID: OrderID
    public var symbol: Symbol
    public var price: Price
    public var quantity: Quantity

    public init(
        participant: ParticipantID, clientOrderID: ClientOrderID, orderID: OrderID, symbol: Symbol,
        price: Price, quantity: Quantity
    ) {
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.orderID = orderID
        self.symbol = symbol
        self.price = price
        self.quantity = quantity
    }
}

/// One input of the matching state machine. See docs/MATCHING.md for the exact semantics.
public enum Command: Sendable, Hashable {
    case newOrder(NewOrder)
    case cancel(CancelOrder)
    case replace(ReplaceOrder)
    /// Operator halt: only cancels are accepted until `.resume`.
    case halt(Symbol)
    /// Operator resume: reopening call auction, then continuous trading.
    case resume(Symbol)
    /// Operator change of the price band; `referencePrice == .zero` keeps the current reference.
    case setPriceBand(Symbol, basisPoints: Int64, referencePrice: Price)
    /// End of the trading session: every DAY order expires.
    case endOfSession
    /// No request; lets log time advance (GTD expiry, breaker reopening) without one.
    case heartbeat
}
