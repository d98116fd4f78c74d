public import ExchangeCore

/// One price level as the market sees it: visible quantity only.
public struct PriceLevelView: Sendable, Hashable {
    public var price: Price
    public var quantity: Quantity
    public var orderCount: Int
    public init(price: Price, quantity: Quantity, orderCount: Int) {
        self.price = price
        self.quantity = quantity
        self.orderCount = orderCount
    }
}

/// L2: aggregated levels, best first on each side.
public struct BookDepth: Sendable, Hashable {
    public var symbol: Symbol
    public var bids: [PriceLevelView]
    public var asks: [PriceLevelView]
    public init(symbol: Symbol, bids: [PriceLevelView], asks: [PriceLevelView]) {
        self.symbol = symbol
        self.bids = bids
        self.asks = asks
    }
}

/// L3: one resting order.
public struct RestingOrderView: Sendable, Hashable {
    public var orderID: OrderID
    public var participant: ParticipantID
    public var account: AccountID
    public var side: Side
    public var price: Price
    public var leavesQuantity: Quantity
    public var visibleQuantity: Quantity
    public init(
        orderID: OrderID, participant: ParticipantID, account: AccountID, side: Side, price: Price,
        leavesQuantity: Quantity, visibleQuantity: Quantity
    ) {
        self.orderID = orderID
        self.participant = participant
        self.account = account
        self.side = side
        self.price = price
        self.leavesQuantity = leavesQuantity
        self.visibleQuantity = visibleQuantity
    }
}

/// L3: every resting order, levels best first, FIFO within a level.
public struct OrderBookView: Sendable, Hashable {
    public var symbol: Symbol
    public var bids: [RestingOrderView]
    public var asks: [RestingOrderView]
    public init(symbol: Symbol, bids: [RestingOrderView], asks: [RestingOrderView]) {
        self.symbol = symbol
        self.bids = bids
        self.asks = asks
    }
}

/// Where a live order is.
public enum OrderState: UInt8, Sendable, Hashable {
    case resting = 1
    case untriggeredStop = 2
}

/// Everything known about one live order.
public struct OrderStatus: Sendable, Hashable {
    public var orderID: OrderID
    public var participant: ParticipantID
    public var clientOrderID: ClientOrderID
    public var account: AccountID
    public var symbol: Symbol
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    public var price: Price
    public var stopPrice: Price
    /// Current total quantity (changed by replace).
    public var quantity: Quantity
    public var leavesQuantity: Quantity
    public var visibleQuantity: Quantity
    public var displayQuantity: Quantity
    /// Quantity traded so far.
    public var filledQuantity: Quantity
    public var postOnly: Bool
    public var selfTradePrevention: SelfTradePrevention
    public var expireAt: Timestamp
    public var state: OrderState
    public init(
        orderID: OrderID, participant: ParticipantID, clientOrderID: ClientOrderID, account: AccountID,
        symbol: Symbol, side: Side, type: OrderType, timeInForce: TimeInForce, price: Price, stopPrice: Price,
        quantity: Quantity, leavesQuantity: Quantity, visibleQuantity: Quantity, displayQuantity: Quantity,
        filledQuantity: Quantity, postOnly: Bool, selfTradePrevention: SelfTradePrevention, expireAt: Timestamp,
        state: OrderState
    ) {
        self.orderID = orderID
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.account = account
        self.symbol = symbol
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.price = price
        self.stopPrice = stopPrice
        self.quantity = quantity
        self.leavesQuantity = leavesQuantity
        self.visibleQuantity = visibleQuantity
        self.displayQuantity = displayQuantity
        self.filledQuantity = filledQuantity
        self.postOnly = postOnly
        self.selfTradePrevention = selfTradePrevention
        self.expireAt = expireAt
        self.state = state
    }
}

/// Whether a symbol trades.
public enum TradingStatus: Sendable, Hashable {
    case trading
    case halted(HaltReason, reopenAt: Timestamp)
}

/// The trading state of one symbol.
public struct SymbolStatus: Sendable, Hashable {
    public var symbol: Symbol
    public var status: TradingStatus
    /// Centre of the price band.
    public var referencePrice: Price
    public var priceBandBasisPoints: Int64
    /// `nil` until the first trade.
    public var lastTradePrice: Price?
    public init(
        symbol: Symbol, status: TradingStatus, referencePrice: Price, priceBandBasisPoints: Int64,
        lastTradePrice: Price?
    ) {
        self.symbol = symbol
        self.status = status
        self.referencePrice = referencePrice
        self.priceBandBasisPoints = priceBandBasisPoints
        self.lastTradePrice = lastTradePrice
    }
}
