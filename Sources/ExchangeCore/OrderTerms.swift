/// Side of an order or the aggressor side of a trade. Raw values are stable wire codes.
public enum Side: UInt8, Sendable, Hashable, CaseIterable {
    case buy = 1
    case sell = 2

    @inlinable public var opposite: Side { self == .buy ? .sell : .buy }
}

/// How an order is priced and when it enters the book. Raw values are stable wire codes.
public enum OrderType: UInt8, Sendable, Hashable, CaseIterable {
    /// Executes at its limit price or better; the remainder may rest.
    case limit = 1
    /// Executes against whatever rests; never rests (time in force IOC or FOK only).
    case market = 2
    /// Becomes a market order when the last trade price reaches the stop price.
    case stop = 3
    /// Becomes a limit order when the last trade price reaches the stop price.
    case stopLimit = 4
}

/// How long an order may live. Raw values are stable wire codes.
public enum TimeInForce: UInt8, Sendable, Hashable, CaseIterable {
    /// Good till cancelled.
    case gtc = 1
    /// Expires at the next end-of-session command.
    case day = 2
    /// Immediate or cancel: what does not execute at once is cancelled.
    case ioc = 3
    /// Fill or kill: executes in full at once, or not at all.
    case fok = 4
    /// Good till date: expires when a command's log time reaches its expiry time.
    case gtd = 5
}

/// What happens when an order would trade against a resting order of the same account.
/// The incoming (aggressing) order's instruction decides. Raw values are stable wire codes.
public enum SelfTradePrevention: UInt8, Sendable, Hashable, CaseIterable {
    /// Self-trades are allowed.
    case none = 0
    /// Cancel the incoming order's remainder.
    case cancelNewest = 1
    /// Cancel the resting order and keep matching.
    case cancelOldest = 2
    /// Cancel both.
    case cancelBoth = 3
    /// Reduce both by the smaller remaining quantity without a trade; cancel what reaches zero.
    case decrement = 4
}
