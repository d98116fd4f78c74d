public import ExchangeCore

/// What the matching state machine emits. Every replica emits the same events, in the same
/// order, for the same commands. Exact emission rules: docs/MATCHING.md.
public enum Event: Sendable, Hashable {
    case accepted(Accepted)
    case rejected(Rejected)
    case duplicate(Duplicate)
    case trade(Trade)
    case cancelled(Cancelled)
    case replaced(Replaced)
    case expired(Expired)
    case triggered(Triggered)
    case halted(Halted)
    case auction(AuctionResult)
    case resumed(Symbol)
    case priceBandSet(PriceBandSet)
    case bookDelta(BookDelta)

    /// A new order passed validation (it may still trade, rest, or be cancelled at once).
    public struct Accepted: Sendable, Hashable {
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
        public var quantity: Quantity
        public var displayQuantity: Quantity
        public init(
            orderID: OrderID, participant: ParticipantID, clientOrderID: ClientOrderID, account: AccountID,
            symbol: Symbol, side: Side, type: OrderType, timeInForce: TimeInForce, price: Price,
            stopPrice: Price, quantity: Quantity, displayQuantity: Quantity
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
            self.displayQuantity = displayQuantity
        }
    }

    /// A command refused; nothing changed. Operator commands use participant 0 and client order id 0.
    public struct Rejected: Sendable, Hashable {
        public var participant: ParticipantID
        public var clientOrderID: ClientOrderID
        /// The order the command named (`OrderID(0)` for operator commands).
        public var orderID: OrderID
        public var symbol: Symbol
        public var reason: RejectReason
        public init(
            participant: ParticipantID, clientOrderID: ClientOrderID, orderID: OrderID, symbol: Symbol,
            reason: RejectReason
        ) {
            self.participant = participant
            self.clientOrderID = clientOrderID
            self.orderID = orderID
            self.symbol = symbol
            self.reason = reason
        }
    }

    /// A retried command: the original outcome, and nothing changed.
    public struct Duplicate: Sendable, Hashable {
        public var participant: ParticipantID
        public var clientOrderID: ClientOrderID
        public var outcome: CommandOutcome
        public init(participant: ParticipantID, clientOrderID: ClientOrderID, outcome: CommandOutcome) {
            self.participant = participant
            self.clientOrderID = clientOrderID
            self.outcome = outcome
        }
    }

    /// One execution. It prints at the resting order's price (or the auction price).
    public struct Trade: Sendable, Hashable {
        public var id: TradeID
        public var symbol: Symbol
        public var price: Price
        public var quantity: Quantity
        /// The side of the incoming order; `nil` for auction trades.
        public var aggressor: Side?
        public var buyOrderID: OrderID
        public var sellOrderID: OrderID
        public var buyAccount: AccountID
        public var sellAccount: AccountID
        public var buyParticipant: ParticipantID
        public var sellParticipant: ParticipantID
        /// Quantity still open on each order after this trade.
        public var buyLeaves: Quantity
        public var sellLeaves: Quantity
        /// Log time of the command that caused the trade.
        public var timestamp: Timestamp
        public init(
            id: TradeID, symbol: Symbol, price: Price, quantity: Quantity, aggressor: Side?,
            buyOrderID: OrderID, sellOrderID: OrderID, buyAccount: AccountID, sellAccount: AccountID,
            buyParticipant: ParticipantID, sellParticipant: ParticipantID, buyLeaves: Quantity,
            sellLeaves: Quantity, timestamp: Timestamp
        ) {
            self.id = id
            self.symbol = symbol
            self.price = price
            self.quantity = quantity
            self.aggressor = aggressor
            self.buyOrderID = buyOrderID
            self.sellOrderID = sellOrderID
            self.buyAccount = buyAccount
            self.sellAccount = sellAccount
            self.buyParticipant = buyParticipant
            self.sellParticipant = sellParticipant
            self.buyLeaves = buyLeaves
            self.sellLeaves = sellLeaves
            self.timestamp = timestamp
        }
    }

    /// All or part of an order's open quantity was cancelled.
    public struct Cancelled: Sendable, Hashable {
        public var orderID: OrderID
        public var symbol: Symbol
        public var cancelledQuantity: Quantity
        /// Open quantity left afterwards; zero means the order is gone.
        public var leavesQuantity: Quantity
        public var reason: CancelReason
        public init(
            orderID: OrderID, symbol: Symbol, cancelledQuantity: Quantity, leavesQuantity: Quantity,
            reason: CancelReason
        ) {
            self.orderID = orderID
            self.symbol = symbol
            self.cancelledQuantity = cancelledQuantity
            self.leavesQuantity = leavesQuantity
            self.reason = reason
        }
    }

    /// A cancel/replace took effect.
    public struct Replaced: Sendable, Hashable {
        public var orderID: OrderID
        public var participant: ParticipantID
        public var clientOrderID: ClientOrderID
        public var symbol: Symbol
        public var price: Price
        /// New total quantity (including what had filled).
        public var quantity: Quantity
        public var leavesQuantity: Quantity
        /// True when the order kept its place in the queue.
        public var keptPriority: Bool
        public init(
            orderID: OrderID, participant: ParticipantID, clientOrderID: ClientOrderID, symbol: Symbol,
            price: Price, quantity: Quantity, leavesQuantity: Quantity, keptPriority: Bool
        ) {
            self.orderID = orderID
            self.participant = participant
            self.clientOrderID = clientOrderID
            self.symbol = symbol
            self.price = price
            self.quantity = quantity
            self.leavesQuantity = leavesQuantity
            self.keptPriority = keptPriority
        }
    }

    /// A DAY or GTD order reached its end of life.
    public struct Expired: Sendable, Hashable {
        public var orderID: OrderID
        public var symbol: Symbol
        public var leavesQuantity: Quantity
        public init(orderID: OrderID, symbol: Symbol, leavesQuantity: Quantity) {
            self.orderID = orderID
            self.symbol = symbol
            self.leavesQuantity = leavesQuantity
        }
    }

    /// A stop order's trigger condition was met; it now executes as a market or limit order.
    public struct Triggered: Sendable, Hashable {
        public var orderID: OrderID
        public var symbol: Symbol
        public var stopPrice: Price
        public var lastTradePrice: Price
        public init(orderID: OrderID, symbol: Symbol, stopPrice: Price, lastTradePrice: Price) {
            self.orderID = orderID
            self.symbol = symbol
            self.stopPrice = stopPrice
            self.lastTradePrice = lastTradePrice
        }
    }

    /// Trading in a symbol stopped.
    public struct Halted: Sendable, Hashable {
        public var symbol: Symbol
        public var reason: HaltReason
        /// Log time of the automatic reopening auction; `.zero` for a manual halt.
        public var reopenAt: Timestamp
        public init(symbol: Symbol, reason: HaltReason, reopenAt: Timestamp) {
            self.symbol = symbol
            self.reason = reason
            self.reopenAt = reopenAt
        }
    }

    /// The uncrossing of a reopening call auction (trades at `price` follow).
    public struct AuctionResult: Sendable, Hashable {
        public var symbol: Symbol
        /// The auction price; the reference price when nothing executes.
        public var price: Price
        public var volume: Quantity
        /// Buy minus sell quantity left unmatched at the auction price.
        public var imbalance: Quantity
        public init(symbol: Symbol, price: Price, volume: Quantity, imbalance: Quantity) {
            self.symbol = symbol
            self.price = price
            self.volume = volume
            self.imbalance = imbalance
        }
    }

    /// The operator changed a symbol's price band.
    public struct PriceBandSet: Sendable, Hashable {
        public var symbol: Symbol
        public var basisPoints: Int64
        public var referencePrice: Price
        public init(symbol: Symbol, basisPoints: Int64, referencePrice: Price) {
            self.symbol = symbol
            self.basisPoints = basisPoints
            self.referencePrice = referencePrice
        }
    }

    /// The visible quantity at one price level after a change; zero means the level is gone.
    public struct BookDelta: Sendable, Hashable {
        public var symbol: Symbol
        public var side: Side
        public var price: Price
        public var quantity: Quantity
        public init(symbol: Symbol, side: Side, price: Price, quantity: Quantity) {
            self.symbol = symbol
            self.side = side
            self.price = price
            self.quantity = quantity
        }
    }
}

/// The remembered result of a participant command, returned again on a retry.
public enum CommandOutcome: Sendable, Hashable {
    /// The command took effect on this order.
    case accepted(OrderID)
    case rejected(RejectReason)
}
