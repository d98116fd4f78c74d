import ExchangeCore
public import Matching

/// Decoder for `Matching.Event`'s canonical encoding (`Event.encode(into:)`, documented in
/// Sources/Matching/EventEncoding.swift and docs/PROTOCOL.md, "Events"), which execution reports carry.
public enum EventCodec {
    public static func encode(_ event: Event, into writer: inout ByteWriter) {
        let start = writer.count
        event.encode(into: &writer.bytes)
        assert(writer.count - start == event.encodedByteCount)
    }

    public static func decode(from reader: inout ByteReader) throws(WireError) -> Event {
        let start = reader.position
        let tagOffset = reader.offset
        let tagByte = try reader.read(UInt8.self, "event tag")
        guard let tag = Event.EncodingTag(rawValue: tagByte) else {
            throw WireError(.unknownTag, offset: tagOffset, "unknown event tag \(tagByte)")
        }
        let event: Event
        switch tag {
        case .accepted:
            event = .accepted(
                Event.Accepted(
                    orderID: try orderID(&reader), participant: try participant(&reader),
                    clientOrderID: try clientOrderID(&reader), account: try account(&reader),
                    symbol: try reader.readSymbol("symbol"), side: try reader.readEnum(Side.self, "side"),
                    type: try reader.readEnum(OrderType.self, "order type"),
                    timeInForce: try reader.readEnum(TimeInForce.self, "time in force"),
                    price: try price(&reader), stopPrice: try price(&reader), quantity: try quantity(&reader),
                    displayQuantity: try quantity(&reader)))
        case .rejected:
            event = .rejected(
                Event.Rejected(
                    participant: try participant(&reader), clientOrderID: try clientOrderID(&reader),
                    orderID: try orderID(&reader), symbol: try reader.readSymbol("symbol"),
                    reason: try reader.readEnum(RejectReason.self, "reject reason")))
        case .duplicate:
            let participant = try participant(&reader)
            let clientOrderID = try clientOrderID(&reader)
            let outcomeOffset = reader.offset
            let outcomeTag = try reader.read(UInt8.self, "outcome tag")
            let payload = try reader.read(UInt64.self, "outcome payload")
            let outcome: CommandOutcome
            switch outcomeTag {
            case 1:
                outcome = .accepted(OrderID(payload))
            case 2:
                guard payload <= UInt64(UInt16.max), let reason = RejectReason(rawValue: UInt16(payload)) else {
                    throw WireError(.invalidEnum, offset: outcomeOffset + 1, "unknown reject reason \(payload)")
                }
                outcome = .rejected(reason)
            default:
                throw WireError(.invalidEnum, offset: outcomeOffset, "unknown outcome tag \(outcomeTag)")
            }
            event = .duplicate(
                Event.Duplicate(participant: participant, clientOrderID: clientOrderID, outcome: outcome))
        case .trade:
            let sequence = try reader.read(UInt64.self, "trade sequence")
            let index = try reader.read(UInt32.self, "trade index")
            let symbol = try reader.readSymbol("symbol")
            let tradePrice = try price(&reader)
            let tradeQuantity = try quantity(&reader)
            let aggressorOffset = reader.offset
            let aggressorByte = try reader.read(UInt8.self, "aggressor")
            let aggressor: Side?
            if aggressorByte == 0 {
                aggressor = nil
            } else if let side = Side(rawValue: aggressorByte) {
                aggressor = side
            } else {
                throw WireError(.invalidEnum, offset: aggressorOffset, "unknown aggressor \(aggressorByte)")
            }
            event = .trade(
                Event.Trade(
                    id: TradeID(sequence: sequence, index: index), symbol: symbol, price: tradePrice,
                    quantity: tradeQuantity,
                    aggressor: aggressor, buyOrderID: try orderID(&reader), sellOrderID: try orderID(&reader),
                    buyAccount: try account(&reader), sellAccount: try account(&reader),
                    buyParticipant: try participant(&reader), sellParticipant: try participant(&reader),
                    buyLeaves: try quantity(&reader), sellLeaves: try quantity(&reader),
                    timestamp: try timestamp(&reader)))
        case .cancelled:
            event = .cancelled(
                Event.Cancelled(
                    orderID: try orderID(&reader), symbol: try reader.readSymbol("symbol"),
                    cancelledQuantity: try quantity(&reader), leavesQuantity: try quantity(&reader),
                    reason: try reader.readEnum(CancelReason.self, "cancel reason")))
        case .replaced:
            event = .replaced(
                Event.Replaced(
                    orderID: try orderID(&reader), participant: try participant(&reader),
                    clientOrderID: try clientOrderID(&reader), symbol: try reader.readSymbol("symbol"),
                    price: try price(&reader), quantity: try quantity(&reader), leavesQuantity: try quantity(&reader),
                    keptPriority: try reader.readBool("kept priority")))
        case .expired:
            event = .expired(
                Event.Expired(
                    orderID: try orderID(&reader), symbol: try reader.readSymbol("symbol"),
                    leavesQuantity: try quantity(&reader)))
        case .triggered:
            event = .triggered(
                Event.Triggered(
                    orderID: try orderID(&reader), symbol: try reader.readSymbol("symbol"),
                    stopPrice: try price(&reader), lastTradePrice: try price(&reader)))
        case .halted:
            event = .halted(
                Event.Halted(
                    symbol: try reader.readSymbol("symbol"),
                    reason: try reader.readEnum(HaltReason.self, "halt reason"),
                    reopenAt: try timestamp(&reader)))
        case .auction:
            event = .auction(
                Event.AuctionResult(
                    symbol: try reader.readSymbol("symbol"), price: try price(&reader), volume: try quantity(&reader),
                    imbalance: try quantity(&reader)))
        case .resumed:
            event = .resumed(try reader.readSymbol("symbol"))
        case .priceBandSet:
            event = .priceBandSet(
                Event.PriceBandSet(
                    symbol: try reader.readSymbol("symbol"), basisPoints: try reader.read(Int64.self, "basis points"),
                    referencePrice: try price(&reader)))
        case .bookDelta:
            event = .bookDelta(
                Event.BookDelta(
                    symbol: try reader.readSymbol("symbol"), side: try reader.readEnum(Side.self, "side"),
                    price: try price(&reader), quantity: try quantity(&reader)))
        }
        assert(reader.position - start == event.encodedByteCount, "decoded event length disagrees with its layout")
        return event
    }

    private static func orderID(_ r: inout ByteReader) throws(WireError) -> OrderID {
        OrderID(try r.read(UInt64.self, "order id"))
    }
    private static func clientOrderID(_ r: inout ByteReader) throws(WireError) -> ClientOrderID {
        ClientOrderID(try r.read(UInt64.self, "client order id"))
    }
    private static func account(_ r: inout ByteReader) throws(WireError) -> AccountID {
        AccountID(try r.read(UInt64.self, "account"))
    }
    private static func participant(_ r: inout ByteReader) throws(WireError) -> ParticipantID {
        ParticipantID(try r.read(UInt32.self, "participant"))
    }
    private static func price(_ r: inout ByteReader) throws(WireError) -> Price {
        Price(try r.read(Int64.self, "price"))
    }
    private static func quantity(_ r: inout ByteReader) throws(WireError) -> Quantity {
        Quantity(try r.read(Int64.self, "quantity"))
    }
    private static func timestamp(_ r: inout ByteReader) throws(WireError) -> Timestamp {
        Timestamp(nanoseconds: try r.read(Int64.self, "timestamp"))
    }
}
