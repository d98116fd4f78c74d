import ExchangeCore
public import Matching

/// The binary form of `Matching.Command`, shared by the shard log (`ShardEntry`) and the client protocol.
///
/// Layout: a tag byte, then the case's fields in declaration order, fixed width, little-endian (ids 8 bytes,
/// `ParticipantID` 4, prices, quantities, timestamps and basis points 8 as two's complement, `Symbol` 16, enums
/// and bools 1). Every case has one fixed length (`encodedByteCount`). docs/PROTOCOL.md, "Commands".
public enum CommandCodec {
    /// Stable tags; never renumber.
    public enum Tag: UInt8, Sendable, CaseIterable {
        case newOrder = 1
        case cancel = 2
        case replace = 3
        case halt = 4
        case resume = 5
        case setPriceBand = 6
        case endOfSession = 7
        case heartbeat = 8
    }

    /// Bytes of a `NewOrder` body without its order id (the client request carries no order id).
    static let newOrderFieldsByteCount = 4 + 8 + 8 + 16 + 1 + 1 + 1 + 8 + 8 + 8 + 8 + 1 + 1 + 8
    static let cancelFieldsByteCount = 4 + 8 + 8 + 16
    static let replaceFieldsByteCount = cancelFieldsByteCount + 8 + 8

    /// The smallest encoded command (`endOfSession`, `heartbeat`): one tag byte.
    public static let minimumEncodedByteCount = 1
    /// The largest encoded command (`newOrder`).
    public static let maximumEncodedByteCount = 1 + 8 + newOrderFieldsByteCount

    public static func tag(of command: Command) -> Tag {
        switch command {
        case .newOrder: .newOrder
        case .cancel: .cancel
        case .replace: .replace
        case .halt: .halt
        case .resume: .resume
        case .setPriceBand: .setPriceBand
        case .endOfSession: .endOfSession
        case .heartbeat: .heartbeat
        }
    }

    public static func encodedByteCount(of command: Command) -> Int {
        switch command {
        case .newOrder: 1 + 8 + newOrderFieldsByteCount
        case .cancel: 1 + cancelFieldsByteCount
        case .replace: 1 + replaceFieldsByteCount
        case .halt, .resume: 1 + 16
        case .setPriceBand: 1 + 16 + 8 + 8
        case .endOfSession, .heartbeat: 1
        }
    }

    public static func encode(_ command: Command, into writer: inout ByteWriter) {
        let start = writer.count
        writer.write(tag(of: command).rawValue)
        switch command {
        case .newOrder(let order):
            writer.write(order.orderID.rawValue)
            writeNewOrderFields(order, into: &writer)
        case .cancel(let cancel):
            writeCancelFields(cancel, into: &writer)
        case .replace(let replace):
            writeReplaceFields(replace, into: &writer)
        case .halt(let symbol), .resume(let symbol):
            writer.write(symbol)
        case .setPriceBand(let symbol, let basisPoints, let referencePrice):
            writer.write(symbol)
            writer.write(basisPoints)
            writer.write(referencePrice.rawValue)
        case .endOfSession, .heartbeat:
            break
        }
        assert(writer.count - start == encodedByteCount(of: command), "command length disagrees with its layout")
    }

    public static func decode(from reader: inout ByteReader) throws(WireError) -> Command {
        let tagOffset = reader.offset
        let tagByte = try reader.read(UInt8.self, "command tag")
        guard let tag = Tag(rawValue: tagByte) else {
            throw WireError(.unknownTag, offset: tagOffset, "unknown command tag \(tagByte)")
        }
        let start = reader.position
        let command: Command
        switch tag {
        case .newOrder:
            let orderID = OrderID(try reader.read(UInt64.self, "order id"))
            command = .newOrder(try readNewOrderFields(orderID: orderID, from: &reader))
        case .cancel:
            command = .cancel(try readCancelFields(from: &reader))
        case .replace:
            command = .replace(try readReplaceFields(from: &reader))
        case .halt:
            command = .halt(try reader.readSymbol("symbol"))
        case .resume:
            command = .resume(try reader.readSymbol("symbol"))
        case .setPriceBand:
            let symbol = try reader.readSymbol("symbol")
            let basisPoints = try reader.read(Int64.self, "basis points")
            let reference = Price(try reader.read(Int64.self, "reference price"))
            command = .setPriceBand(symbol, basisPoints: basisPoints, referencePrice: reference)
        case .endOfSession:
            command = .endOfSession
        case .heartbeat:
            command = .heartbeat
        }
        assert(reader.position - start + 1 == encodedByteCount(of: command), "decoded length disagrees with layout")
        return command
    }

    // MARK: - Bodies shared with the client protocol

    /// Every `NewOrder` field except `orderID`, in declaration order.
    static func writeNewOrderFields(_ order: NewOrder, into writer: inout ByteWriter) {
        let start = writer.count
        writer.write(order.participant.rawValue)
        writer.write(order.clientOrderID.rawValue)
        writer.write(order.account.rawValue)
        writer.write(order.symbol)
        writer.write(order.side.rawValue)
        writer.write(order.type.rawValue)
        writer.write(order.timeInForce.rawValue)
        writer.write(order.price.rawValue)
        writer.write(order.stopPrice.rawValue)
        writer.write(order.quantity.rawValue)
        writer.write(order.displayQuantity.rawValue)
        writer.write(order.postOnly)
        writer.write(order.selfTradePrevention.rawValue)
        writer.write(order.expireAt.rawValue)
        assert(writer.count - start == newOrderFieldsByteCount)
    }

    static func readNewOrderFields(orderID: OrderID, from reader: inout ByteReader) throws(WireError) -> NewOrder {
        try reader.need(newOrderFieldsByteCount, "new order")
        let start = reader.position
        let order = NewOrder(
            participant: ParticipantID(try reader.read(UInt32.self, "participant")),
            clientOrderID: ClientOrderID(try reader.read(UInt64.self, "client order id")),
            orderID: orderID,
            account: AccountID(try reader.read(UInt64.self, "account")),
            symbol: try reader.readSymbol("symbol"),
            side: try reader.readEnum(Side.self, "side"),
            type: try reader.readEnum(OrderType.self, "order type"),
            timeInForce: try reader.readEnum(TimeInForce.self, "time in force"),
            price: Price(try reader.read(Int64.self, "price")),
            stopPrice: Price(try reader.read(Int64.self, "stop price")),
            quantity: Quantity(try reader.read(Int64.self, "quantity")),
            displayQuantity: Quantity(try reader.read(Int64.self, "display quantity")),
            postOnly: try reader.readBool("post only"),
            selfTradePrevention: try reader.readEnum(SelfTradePrevention.self, "self-trade prevention"),
            expireAt: Timestamp(nanoseconds: try reader.read(Int64.self, "expire at")))
        assert(reader.position - start == newOrderFieldsByteCount)
        return order
    }

    static func writeCancelFields(_ cancel: CancelOrder, into writer: inout ByteWriter) {
        writer.write(cancel.participant.rawValue)
        writer.write(cancel.clientOrderID.rawValue)
        writer.write(cancel.orderID.rawValue)
        writer.write(cancel.symbol)
    }

    static func readCancelFields(from reader: inout ByteReader) throws(WireError) -> CancelOrder {
        try reader.need(cancelFieldsByteCount, "cancel")
        return CancelOrder(
            participant: ParticipantID(try reader.read(UInt32.self, "participant")),
            clientOrderID: ClientOrderID(try reader.read(UInt64.self, "client order id")),
            orderID: OrderID(try reader.read(UInt64.self, "order id")),
            symbol: try reader.readSymbol("symbol"))
    }

    static func writeReplaceFields(_ replace: ReplaceOrder, into writer: inout ByteWriter) {
        writer.write(replace.participant.rawValue)
        writer.write(replace.clientOrderID.rawValue)
        writer.write(replace.orderID.rawValue)
        writer.write(replace.symbol)
        writer.write(replace.price.rawValue)
        writer.write(replace.quantity.rawValue)
    }

    static func readReplaceFields(from reader: inout ByteReader) throws(WireError) -> ReplaceOrder {
        try reader.need(replaceFieldsByteCount, "replace")
        return ReplaceOrder(
            participant: ParticipantID(try reader.read(UInt32.self, "participant")),
            clientOrderID: ClientOrderID(try reader.read(UInt64.self, "client order id")),
            orderID: OrderID(try reader.read(UInt64.self, "order id")),
            symbol: try reader.readSymbol("symbol"),
            price: Price(try reader.read(Int64.self, "price")),
            quantity: Quantity(try reader.read(Int64.self, "quantity")))
    }
}
