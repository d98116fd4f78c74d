// swift-format-ignore-file: AlwaysUseLowerCamelCase

import ExchangeCore
import Matching

// The C embedding of the matching engine: `@_cdecl` functions behind the hand-written header
// `Sources/MatchingC/include/exchange_matching.h`, which documents every function. Keep the two
// in step: names, argument order and codes are the C ABI.
//
// A handle (`exm_book *`) is an `Unmanaged` pointer to a `CBook`, retained by `exm_book_create`
// and released by `exm_book_destroy`.

/// The C trade callback: `(user, trade_sequence, price, quantity, buy_order_id, sell_order_id, aggressor_side)`.
public typealias TradeCallback =
    @convention(c) (UnsafeMutableRawPointer?, Int64, Int64, Int64, Int64, Int64, Int64) -> Void

/// Misuse of the C interface; values are part of the ABI (`EXM_ERROR_*`).
enum CInterfaceError: Int64 {
    case invalidArgument = -1000
    case reentrantCall = -1001
}

/// One symbol's book and the sequencer state the C caller does not see: order ids, client order
/// ids, command sequence and log time.
///
/// Not thread-safe, like the C handle it backs: one thread at a time.
final class CBook {
    private(set) var engine: MatchingEngine
    let symbol: Symbol
    /// The one participant and account every order of a C book belongs to.
    let participant = ParticipantID(1)
    let account = AccountID(1)

    private var lastOrderID: UInt64 = 0
    private var lastClientOrderID: UInt64 = 0
    private var lastSequence: UInt64 = 0
    private var lastTimestampNanoseconds: Int64 = 0
    private var tradeCount: Int64 = 0
    private var callback: TradeCallback?
    private var callbackUser: UnsafeMutableRawPointer?
    /// True while the trade callback runs: changing calls from inside it are refused.
    private(set) var isInCallback = false
    /// Reused between calls so that a call allocates nothing once the buffer has grown.
    private var events: [Event] = []

    init(engine: MatchingEngine, symbol: Symbol) {
        self.engine = engine
        self.symbol = symbol
    }

    func setTradeCallback(_ callback: TradeCallback?, user: UnsafeMutableRawPointer?) {
        self.callback = callback
        self.callbackUser = callback == nil ? nil : user
    }

    /// The next order id, if the order is accepted. Ids are never reused.
    var nextOrderID: OrderID { OrderID(lastOrderID + 1) }

    func nextClientOrderID() -> ClientOrderID {
        lastClientOrderID += 1
        return ClientOrderID(lastClientOrderID)
    }

    /// Applies one command with the next sequence and the caller's (or a counted) timestamp,
    /// finds the result with `outcome` (the first event it maps to a value), then reports the
    /// command's trades to the callback.
    func apply(_ command: Command, timestampNanoseconds: Int64, outcome: (Event) -> Int64?) -> Int64 {
        precondition(!isInCallback, "changing call from inside the trade callback must be refused earlier")
        lastSequence += 1
        if timestampNanoseconds > 0 {
            lastTimestampNanoseconds = max(lastTimestampNanoseconds, timestampNanoseconds)
        } else {
            lastTimestampNanoseconds += 1
        }
        events.removeAll(keepingCapacity: true)
        engine.apply(
            command, timestamp: Timestamp(nanoseconds: lastTimestampNanoseconds), sequence: lastSequence,
            into: &events)

        var result: Int64?
        for event in events {
            if result == nil { result = outcome(event) }
        }
        if case .newOrder = command, let result, result > 0 {
            lastOrderID = UInt64(result)
        }
        reportTrades()
        guard let result else {
            preconditionFailure("command \(command) produced no outcome event: \(events)")
        }
        return result
    }

    /// Numbers every trade of the last command (also when no callback is set, so that the
    /// sequence counts the book's trades) and hands each to the callback.
    private func reportTrades() {
        isInCallback = true
        defer { isInCallback = false }
        for case .trade(let trade) in events {
            tradeCount += 1
            guard let callback else { continue }
            callback(
                callbackUser, tradeCount, trade.price.rawValue, trade.quantity.rawValue,
                Int64(trade.buyOrderID.rawValue), Int64(trade.sellOrderID.rawValue),
                Int64(trade.aggressor?.rawValue ?? 0))
        }
    }
}

// MARK: - Handles

private func book(_ handle: OpaquePointer?) -> CBook? {
    guard let handle else { return nil }
    return Unmanaged<CBook>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

private func rejectCode(_ reason: RejectReason) -> Int64 { -Int64(reason.rawValue) }

// MARK: - Life cycle

@_cdecl("exm_book_create")
public func exm_book_create(
    _ symbolText: UnsafePointer<CChar>?, _ tickSize: Int64, _ lotSize: Int64, _ referencePrice: Int64
) -> OpaquePointer? {
    guard let symbolText, let symbol = try? Symbol(validating: String(cString: symbolText)) else { return nil }
    let rules = InstrumentRules(
        symbol: symbol, tickSize: tickSize, lotSize: lotSize, priceBandBasisPoints: 0,
        referencePrice: Price(referencePrice), breakerThresholdBasisPoints: 0)
    // The wrapper never retries a command, so one remembered outcome per participant suffices.
    let configuration = EngineConfiguration(instruments: [rules], sessionWindowPerParticipant: 1)
    guard let engine = try? MatchingEngine(configuration: configuration) else { return nil }
    let book = CBook(engine: engine, symbol: symbol)
    return OpaquePointer(Unmanaged.passRetained(book).toOpaque())
}

@_cdecl("exm_book_destroy")
public func exm_book_destroy(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<CBook>.fromOpaque(UnsafeRawPointer(handle)).release()
}

@_cdecl("exm_book_set_trade_callback")
public func exm_book_set_trade_callback(
    _ handle: OpaquePointer?, _ callback: TradeCallback?, _ user: UnsafeMutableRawPointer?
) {
    book(handle)?.setTradeCallback(callback, user: user)
}

// MARK: - Commands

@_cdecl("exm_order_new")
public func exm_order_new(
    _ handle: OpaquePointer?, _ side: Int64, _ type: Int64, _ timeInForce: Int64, _ price: Int64,
    _ quantity: Int64, _ timestampNanoseconds: Int64
) -> Int64 {
    guard let book = book(handle) else { return CInterfaceError.invalidArgument.rawValue }
    guard !book.isInCallback else { return CInterfaceError.reentrantCall.rawValue }
    guard let side = UInt8(exactly: side).flatMap(Side.init(rawValue:)),
        let type = UInt8(exactly: type).flatMap(OrderType.init(rawValue:)), type == .limit || type == .market,
        let timeInForce = UInt8(exactly: timeInForce).flatMap(TimeInForce.init(rawValue:)), timeInForce != .gtd
    else { return CInterfaceError.invalidArgument.rawValue }

    let orderID = book.nextOrderID
    let order = NewOrder(
        participant: book.participant, clientOrderID: book.nextClientOrderID(), orderID: orderID,
        account: book.account, symbol: book.symbol, side: side, type: type, timeInForce: timeInForce,
        price: Price(price), quantity: Quantity(quantity))
    return book.apply(.newOrder(order), timestampNanoseconds: timestampNanoseconds) { event in
        switch event {
        case .accepted(let accepted) where accepted.orderID == orderID: Int64(orderID.rawValue)
        case .rejected(let rejected): rejectCode(rejected.reason)
        default: nil
        }
    }
}

@_cdecl("exm_order_cancel")
public func exm_order_cancel(_ handle: OpaquePointer?, _ orderID: Int64, _ timestampNanoseconds: Int64) -> Int64 {
    guard let book = book(handle) else { return CInterfaceError.invalidArgument.rawValue }
    guard !book.isInCallback else { return CInterfaceError.reentrantCall.rawValue }
    guard orderID > 0 else { return rejectCode(.unknownOrder) }
    let id = OrderID(UInt64(orderID))
    let cancel = CancelOrder(
        participant: book.participant, clientOrderID: book.nextClientOrderID(), orderID: id, symbol: book.symbol)
    return book.apply(.cancel(cancel), timestampNanoseconds: timestampNanoseconds) { event in
        switch event {
        case .cancelled(let cancelled) where cancelled.orderID == id: 0
        case .rejected(let rejected): rejectCode(rejected.reason)
        default: nil
        }
    }
}

@_cdecl("exm_order_modify")
public func exm_order_modify(
    _ handle: OpaquePointer?, _ orderID: Int64, _ newPrice: Int64, _ newQuantity: Int64,
    _ timestampNanoseconds: Int64
) -> Int64 {
    guard let book = book(handle) else { return CInterfaceError.invalidArgument.rawValue }
    guard !book.isInCallback else { return CInterfaceError.reentrantCall.rawValue }
    guard orderID > 0 else { return rejectCode(.unknownOrder) }
    let id = OrderID(UInt64(orderID))
    let replace = ReplaceOrder(
        participant: book.participant, clientOrderID: book.nextClientOrderID(), orderID: id, symbol: book.symbol,
        price: Price(newPrice), quantity: Quantity(newQuantity))
    return book.apply(.replace(replace), timestampNanoseconds: timestampNanoseconds) { event in
        switch event {
        case .replaced(let replaced) where replaced.orderID == id: 0
        case .rejected(let rejected): rejectCode(rejected.reason)
        default: nil
        }
    }
}

// MARK: - Views

private func writeLevel(
    _ level: PriceLevelView?, _ price: UnsafeMutablePointer<Int64>?,
    _ quantity: UnsafeMutablePointer<Int64>?
) -> Int64 {
    price?.pointee = level?.price.rawValue ?? 0
    quantity?.pointee = level?.quantity.rawValue ?? 0
    return level == nil ? 0 : 1
}

@_cdecl("exm_best_bid")
public func exm_best_bid(
    _ handle: OpaquePointer?, _ price: UnsafeMutablePointer<Int64>?, _ quantity: UnsafeMutablePointer<Int64>?
) -> Int64 {
    let book = book(handle)
    return writeLevel(book.flatMap { $0.engine.bestBid($0.symbol) }, price, quantity)
}

@_cdecl("exm_best_ask")
public func exm_best_ask(
    _ handle: OpaquePointer?, _ price: UnsafeMutablePointer<Int64>?, _ quantity: UnsafeMutablePointer<Int64>?
) -> Int64 {
    let book = book(handle)
    return writeLevel(book.flatMap { $0.engine.bestAsk($0.symbol) }, price, quantity)
}

@_cdecl("exm_depth")
public func exm_depth(
    _ handle: OpaquePointer?, _ side: Int64, _ maximumLevels: Int64, _ prices: UnsafeMutablePointer<Int64>?,
    _ quantities: UnsafeMutablePointer<Int64>?, _ orderCounts: UnsafeMutablePointer<Int64>?
) -> Int64 {
    guard let book = book(handle), let prices, let quantities,
        let side = UInt8(exactly: side).flatMap(Side.init(rawValue:))
    else { return CInterfaceError.invalidArgument.rawValue }
    guard maximumLevels > 0 else { return 0 }
    let levelCount = Int(clamping: maximumLevels)
    guard let depth = book.engine.depth(book.symbol, levels: levelCount) else { return 0 }
    let levels = side == .buy ? depth.bids : depth.asks
    let written = min(levels.count, levelCount)
    for (i, level) in levels.prefix(written).enumerated() {
        prices[i] = level.price.rawValue
        quantities[i] = level.quantity.rawValue
        orderCounts?[i] = Int64(level.orderCount)
    }
    return Int64(written)
}

// MARK: - Names

/// NUL-terminated names, made once and never freed: `exm_reject_reason_name` returns them as static strings.
/// Immutable after the (thread-safe) lazy initialisation of the global, hence `nonisolated(unsafe)`.
private nonisolated(unsafe) let rejectReasonNames: [Int64: UnsafePointer<CChar>] = {
    var names: [Int64: UnsafePointer<CChar>] = [:]
    func add(_ code: Int64, _ name: String) {
        let utf8 = Array(name.utf8CString)
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        storage.initialize(from: utf8, count: utf8.count)
        names[code] = UnsafePointer(storage)
    }
    for reason in RejectReason.allCases { add(Int64(reason.rawValue), "\(reason)") }
    add(-CInterfaceError.invalidArgument.rawValue, "invalidArgument")
    add(-CInterfaceError.reentrantCall.rawValue, "reentrantCall")
    add(0, "unknown")
    return names
}()

@_cdecl("exm_reject_reason_name")
public func exm_reject_reason_name(_ code: Int64) -> UnsafePointer<CChar>? {
    let key = code == Int64.min ? 0 : abs(code)
    return rejectReasonNames[key] ?? rejectReasonNames[0]
}
