import ExchangeCore

/// The canonical binary form of an `Event`, used for digests of event streams.
///
/// Layout: one type tag byte, then every field of the case's payload in declaration order,
/// little-endian, fixed width:
/// - `OrderID`, `ClientOrderID`, `AccountID`: 8 bytes; `ParticipantID`: 4 bytes;
/// - `Price`, `Quantity`, `Timestamp`, `Int64`: 8 bytes (two's complement);
/// - `Symbol`: 16 bytes (`low` then `high`, each 8 bytes);
/// - `Side`, `OrderType`, `TimeInForce`, `CancelReason`, `HaltReason`: 1 byte, the raw value;
///   `Side?`: 1 byte, 0 for `nil`, else the side's raw value (1 buy, 2 sell);
/// - `RejectReason`: 2 bytes, the raw value; `Bool`: 1 byte, 0 or 1;
/// - `TradeID`: `sequence` (8 bytes) then `index` (4 bytes);
/// - `CommandOutcome`: 9 bytes, a tag (1 accepted, 2 rejected) and an 8-byte payload
///   (the order id, or the reject reason's raw value zero-extended).
///
/// Every case therefore has one fixed length (`encodedByteCount`), and a concatenation of encoded
/// events decodes unambiguously: a stream digest needs no separators.
///
/// - Important: the tags and the layout are stable. Digests recorded in docs/PERFORMANCE.md and
///   in tests depend on them; change them only together with a note there.
extension Event {
    /// Stable type tags of the canonical encoding; never renumber.
    public enum EncodingTag: UInt8, Sendable, CaseIterable {
        case accepted = 1
        case rejected = 2
        case duplicate = 3
        case trade = 4
        case cancelled = 5
        case replaced = 6
        case expired = 7
        case triggered = 8
        case halted = 9
        case auction = 10
        case resumed = 11
        case priceBandSet = 12
        case bookDelta = 13
    }

    /// The largest `encodedByteCount` of any case (a trade).
    public static let maximumEncodedByteCount = 110

    /// This event's tag in the canonical encoding.
    public var encodingTag: EncodingTag {
        switch self {
        case .accepted: .accepted
        case .rejected: .rejected
        case .duplicate: .duplicate
        case .trade: .trade
        case .cancelled: .cancelled
        case .replaced: .replaced
        case .expired: .expired
        case .triggered: .triggered
        case .halted: .halted
        case .auction: .auction
        case .resumed: .resumed
        case .priceBandSet: .priceBandSet
        case .bookDelta: .bookDelta
        }
    }

    /// The length of this event's canonical encoding, tag included; fixed per case.
    public var encodedByteCount: Int {
        switch self {
        case .accepted: 1 + 8 + 4 + 8 + 8 + 16 + 1 + 1 + 1 + 8 + 8 + 8 + 8
        case .rejected: 1 + 4 + 8 + 8 + 16 + 2
        case .duplicate: 1 + 4 + 8 + 9
        case .trade: 1 + 12 + 16 + 8 + 8 + 1 + 8 + 8 + 8 + 8 + 4 + 4 + 8 + 8 + 8
        case .cancelled: 1 + 8 + 16 + 8 + 8 + 1
        case .replaced: 1 + 8 + 4 + 8 + 16 + 8 + 8 + 8 + 1
        case .expired: 1 + 8 + 16 + 8
        case .triggered: 1 + 8 + 16 + 8 + 8
        case .halted: 1 + 16 + 1 + 8
        case .auction: 1 + 16 + 8 + 8 + 8
        case .resumed: 1 + 16
        case .priceBandSet: 1 + 16 + 8 + 8
        case .bookDelta: 1 + 16 + 1 + 8 + 8
        }
    }

    /// Appends the canonical encoding of this event (`encodedByteCount` bytes) to `bytes`.
    public func encode(into bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.appendLittleEndian(encodingTag.rawValue)
        switch self {
        case .accepted(let e):
            bytes.appendLittleEndian(e.orderID.rawValue)
            bytes.appendLittleEndian(e.participant.rawValue)
            bytes.appendLittleEndian(e.clientOrderID.rawValue)
            bytes.appendLittleEndian(e.account.rawValue)
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.side.rawValue)
            bytes.appendLittleEndian(e.type.rawValue)
            bytes.appendLittleEndian(e.timeInForce.rawValue)
            bytes.appendLittleEndian(e.price.rawValue)
            bytes.appendLittleEndian(e.stopPrice.rawValue)
            bytes.appendLittleEndian(e.quantity.rawValue)
            bytes.appendLittleEndian(e.displayQuantity.rawValue)
        case .rejected(let e):
            bytes.appendLittleEndian(e.participant.rawValue)
            bytes.appendLittleEndian(e.clientOrderID.rawValue)
            bytes.appendLittleEndian(e.orderID.rawValue)
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.reason.rawValue)
        case .duplicate(let e):
            bytes.appendLittleEndian(e.participant.rawValue)
            bytes.appendLittleEndian(e.clientOrderID.rawValue)
            switch e.outcome {
            case .accepted(let orderID):
                bytes.appendLittleEndian(UInt8(1))
                bytes.appendLittleEndian(orderID.rawValue)
            case .rejected(let reason):
                bytes.appendLittleEndian(UInt8(2))
                bytes.appendLittleEndian(UInt64(reason.rawValue))
            }
        case .trade(let e):
            bytes.appendLittleEndian(e.id.sequence)
            bytes.appendLittleEndian(e.id.index)
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.price.rawValue)
            bytes.appendLittleEndian(e.quantity.rawValue)
            bytes.appendLittleEndian(e.aggressor?.rawValue ?? 0)
            bytes.appendLittleEndian(e.buyOrderID.rawValue)
            bytes.appendLittleEndian(e.sellOrderID.rawValue)
            bytes.appendLittleEndian(e.buyAccount.rawValue)
            bytes.appendLittleEndian(e.sellAccount.rawValue)
            bytes.appendLittleEndian(e.buyParticipant.rawValue)
            bytes.appendLittleEndian(e.sellParticipant.rawValue)
            bytes.appendLittleEndian(e.buyLeaves.rawValue)
            bytes.appendLittleEndian(e.sellLeaves.rawValue)
            bytes.appendLittleEndian(e.timestamp.rawValue)
        case .cancelled(let e):
            bytes.appendLittleEndian(e.orderID.rawValue)
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.cancelledQuantity.rawValue)
            bytes.appendLittleEndian(e.leavesQuantity.rawValue)
            bytes.appendLittleEndian(e.reason.rawValue)
        case .replaced(let e):
            bytes.appendLittleEndian(e.orderID.rawValue)
            bytes.appendLittleEndian(e.participant.rawValue)
            bytes.appendLittleEndian(e.clientOrderID.rawValue)
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.price.rawValue)
            bytes.appendLittleEndian(e.quantity.rawValue)
            bytes.appendLittleEndian(e.leavesQuantity.rawValue)
            bytes.appendLittleEndian(UInt8(e.keptPriority ? 1 : 0))
        case .expired(let e):
            bytes.appendLittleEndian(e.orderID.rawValue)
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.leavesQuantity.rawValue)
        case .triggered(let e):
            bytes.appendLittleEndian(e.orderID.rawValue)
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.stopPrice.rawValue)
            bytes.appendLittleEndian(e.lastTradePrice.rawValue)
        case .halted(let e):
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.reason.rawValue)
            bytes.appendLittleEndian(e.reopenAt.rawValue)
        case .auction(let e):
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.price.rawValue)
            bytes.appendLittleEndian(e.volume.rawValue)
            bytes.appendLittleEndian(e.imbalance.rawValue)
        case .resumed(let symbol):
            bytes.appendSymbol(symbol)
        case .priceBandSet(let e):
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.basisPoints)
            bytes.appendLittleEndian(e.referencePrice.rawValue)
        case .bookDelta(let e):
            bytes.appendSymbol(e.symbol)
            bytes.appendLittleEndian(e.side.rawValue)
            bytes.appendLittleEndian(e.price.rawValue)
            bytes.appendLittleEndian(e.quantity.rawValue)
        }
        assert(bytes.count - start == encodedByteCount, "encoded length of \(encodingTag) disagrees with its layout")
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    fileprivate mutating func appendLittleEndian<Value: FixedWidthInteger>(_ value: Value) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inline(__always)
    fileprivate mutating func appendSymbol(_ symbol: Symbol) {
        appendLittleEndian(symbol.low)
        appendLittleEndian(symbol.high)
    }
}
