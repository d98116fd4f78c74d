/// Why a command was refused. Raw values are stable codes sent to clients; never renumber.
public enum RejectReason: UInt16, Sendable, Hashable, CaseIterable {
    case unknownSymbol = 1
    case invalidOrderID = 2
    case duplicateOrderID = 3
    case unknownOrder = 4
    case notOrderOwner = 5
    case invalidQuantity = 6
    case quantityNotLotMultiple = 7
    case quantityBelowMinimum = 8
    case quantityAboveMaximum = 9
    case invalidPrice = 10
    case priceOffTick = 11
    case priceOutsideBand = 12
    case invalidStopPrice = 13
    case stopWouldTriggerImmediately = 14
    case invalidTimeInForce = 15
    case invalidExpireTime = 16
    case invalidPostOnly = 17
    case postOnlyWouldTrade = 18
    case invalidDisplayQuantity = 19
    case symbolHalted = 20
    case symbolNotHalted = 21
    case staleClientOrderID = 22
    case invalidParticipant = 23
    case orderNotReplaceable = 24
    case invalidPriceBand = 25
    case capacityExceeded = 26
}

/// Why (part of) a live order was cancelled. Raw values are stable codes.
public enum CancelReason: UInt8, Sendable, Hashable, CaseIterable {
    /// The owner asked.
    case requested = 1
    /// The unexecuted remainder of a market or IOC order.
    case unfilled = 2
    /// A fill-or-kill order that could not execute in full.
    case fillOrKill = 3
    /// Self-trade prevention.
    case selfTradePrevention = 4
    /// The remainder of a market or IOC order when the volatility breaker halted the symbol.
    case halted = 5
}

/// Why a symbol stopped trading. Raw values are stable codes.
public enum HaltReason: UInt8, Sendable, Hashable, CaseIterable {
    case manual = 1
    case volatility = 2
}
