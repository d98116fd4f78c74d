public import ExchangeCore
public import Matching

/// A request from a client (a gateway, `exchange-load`, `ExchangeClient`) to a shard leader.
///
/// Every request carries a `requestID` chosen by the client; every response to it carries the same id (the
/// execution reports of a subscription carry the subscribe request's id). Requests name the symbol so that the
/// client library can route them to the symbol's shard. docs/PROTOCOL.md, "Client requests".
///
/// - Important: the node trusts the `participant` fields: only gateways and internal tools, which authenticate
///   participants themselves, may connect to the client port.
public struct ClientRequest: Sendable, Hashable {
    public enum Body: Sendable, Hashable {
        /// Liveness check; answered with `pong` by any node, leader or not.
        case ping
        case newOrder(NewOrderRequest)
        case cancel(CancelOrder)
        case replace(ReplaceOrder)
        case orderStatus(OrderStatusQuery)
        case subscribe(SubscribeRequest)
    }

    public var requestID: UInt64
    public var body: Body

    public init(requestID: UInt64, body: Body) {
        self.requestID = requestID
        self.body = body
    }

    public var frameKind: FrameKind {
        switch body {
        case .ping: .ping
        case .newOrder: .newOrder
        case .cancel: .cancel
        case .replace: .replace
        case .orderStatus: .orderStatus
        case .subscribe: .subscribe
        }
    }

    /// Payload bytes (after the 7-byte frame header); fixed per kind.
    public var payloadByteCount: Int {
        8
            + {
                switch body {
                case .ping: 0
                case .newOrder: CommandCodec.newOrderFieldsByteCount
                case .cancel: CommandCodec.cancelFieldsByteCount
                case .replace: CommandCodec.replaceFieldsByteCount
                case .orderStatus: 4 + 16 + 8
                case .subscribe: 4 + 16
                }
            }()
    }

    /// Appends the whole frame to `bytes`.
    public func encodeFrame(into bytes: inout [UInt8]) {
        Frame.encode(kind: frameKind, into: &bytes) { writer in
            let start = writer.count
            writer.write(requestID)
            switch body {
            case .ping:
                break
            case .newOrder(let order):
                CommandCodec.writeNewOrderFields(order.command(orderID: OrderID(0)), into: &writer)
            case .cancel(let cancel):
                CommandCodec.writeCancelFields(cancel, into: &writer)
            case .replace(let replace):
                CommandCodec.writeReplaceFields(replace, into: &writer)
            case .orderStatus(let query):
                writer.write(query.participant.rawValue)
                writer.write(query.symbol)
                writer.write(query.orderID.rawValue)
            case .subscribe(let subscribe):
                writer.write(subscribe.participant?.rawValue ?? 0)
                writer.write(optionalSymbol: subscribe.symbol)
            }
            assert(writer.count - start == payloadByteCount, "request length disagrees with its layout")
        }
    }

    public func encodedFrame() -> [UInt8] {
        var bytes: [UInt8] = []
        encodeFrame(into: &bytes)
        return bytes
    }

    /// The request id of a request frame whose payload could not be decoded (for the `ProtocolError` answer),
    /// or nil when the frame is not a request or is shorter than a request id.
    public static func requestID(of frame: Frame) -> UInt64? {
        guard frame.kind.isClientRequest, frame.payload.count >= 8 else { return nil }
        var reader = ByteReader(frame.payload)
        return try? reader.read(UInt64.self, "request id")
    }

    /// Decodes a request frame. Response and node frame kinds are refused with `unexpectedFrameKind`.
    /// Error offsets count from the start of the frame.
    public init(decoding frame: Frame) throws(WireError) {
        guard frame.kind.isClientRequest else {
            throw WireError(.unexpectedFrameKind, offset: 6, "\(frame.kind) is not a client request")
        }
        var reader = ByteReader(frame.payload, baseOffset: Frame.headerByteCount)
        requestID = try reader.read(UInt64.self, "request id")
        switch frame.kind {
        case .ping:
            body = .ping
        case .newOrder:
            body = .newOrder(NewOrderRequest(try CommandCodec.readNewOrderFields(orderID: OrderID(0), from: &reader)))
        case .cancel:
            body = .cancel(try CommandCodec.readCancelFields(from: &reader))
        case .replace:
            body = .replace(try CommandCodec.readReplaceFields(from: &reader))
        case .orderStatus:
            body = .orderStatus(
                OrderStatusQuery(
                    participant: ParticipantID(try reader.read(UInt32.self, "participant")),
                    symbol: try reader.readSymbol("symbol"), orderID: OrderID(try reader.read(UInt64.self, "order id"))
                ))
        case .subscribe:
            let participant = try reader.read(UInt32.self, "participant")
            body = .subscribe(
                SubscribeRequest(
                    participant: participant == 0 ? nil : ParticipantID(participant),
                    symbol: try reader.readOptionalSymbol("symbol")))
        default:
            throw WireError(.unexpectedFrameKind, offset: 6, "\(frame.kind) is not a client request")
        }
        try reader.expectEnd("request")
        assert(frame.payload.count == payloadByteCount)
    }
}

/// A new order as the client sends it: every `NewOrder` field except the order id, which the shard leader
/// assigns when it puts the command into the log (the command result tells the client the id).
public struct NewOrderRequest: Sendable, Hashable {
    public var participant: ParticipantID
    /// Must strictly increase per participant; a retry reuses it and gets the original outcome.
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
    public var postOnly: Bool
    public var selfTradePrevention: SelfTradePrevention
    public var expireAt: Timestamp

    public init(
        participant: ParticipantID, clientOrderID: ClientOrderID, account: AccountID, symbol: Symbol, side: Side,
        type: OrderType = .limit, timeInForce: TimeInForce = .gtc, price: Price = .zero, stopPrice: Price = .zero,
        quantity: Quantity, displayQuantity: Quantity = .zero, postOnly: Bool = false,
        selfTradePrevention: SelfTradePrevention = .none, expireAt: Timestamp = .zero
    ) {
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
        self.postOnly = postOnly
        self.selfTradePrevention = selfTradePrevention
        self.expireAt = expireAt
    }

    /// Takes every field of `order` but its order id.
    public init(_ order: NewOrder) {
        self.init(
            participant: order.participant, clientOrderID: order.clientOrderID, account: order.account,
            symbol: order.symbol, side: order.side, type: order.type, timeInForce: order.timeInForce,
            price: order.price, stopPrice: order.stopPrice, quantity: order.quantity,
            displayQuantity: order.displayQuantity, postOnly: order.postOnly,
            selfTradePrevention: order.selfTradePrevention, expireAt: order.expireAt)
    }

    /// The matching command, with the order id the leader assigned.
    public func command(orderID: OrderID) -> NewOrder {
        NewOrder(
            participant: participant, clientOrderID: clientOrderID, orderID: orderID, account: account,
            symbol: symbol, side: side, type: type, timeInForce: timeInForce, price: price, stopPrice: stopPrice,
            quantity: quantity, displayQuantity: displayQuantity, postOnly: postOnly,
            selfTradePrevention: selfTradePrevention, expireAt: expireAt)
    }
}

/// Asks for the state of one live order (resting or untriggered stop) of `participant`.
public struct OrderStatusQuery: Sendable, Hashable {
    public var participant: ParticipantID
    /// For routing; the order must be in this symbol's book.
    public var symbol: Symbol
    public var orderID: OrderID

    public init(participant: ParticipantID, symbol: Symbol, orderID: OrderID) {
        self.participant = participant
        self.symbol = symbol
        self.orderID = orderID
    }
}

/// Subscribes the connection to the execution stream of the node's shard(s), from now on.
public struct SubscribeRequest: Sendable, Hashable {
    /// Only events of this participant's orders; nil (0 on the wire): every participant.
    public var participant: ParticipantID?
    /// Only events of this symbol; nil (16 zero bytes on the wire): every symbol the node leads.
    public var symbol: Symbol?

    public init(participant: ParticipantID?, symbol: Symbol?) {
        self.participant = participant
        self.symbol = symbol
    }
}
