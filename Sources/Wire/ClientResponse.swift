public import ExchangeCore
public import Matching

/// A message from a node to a client: the answer to one request (same `requestID`), or an execution report of a
/// subscription (the subscribe request's `requestID`). docs/PROTOCOL.md, "Client responses".
public struct ClientResponse: Sendable, Hashable {
    public enum Body: Sendable, Hashable {
        case pong
        /// The outcome of a new order, cancel or replace, sent only after the command is committed and applied.
        case commandResult(CommandResult)
        case orderStatus(OrderStatusResult)
        /// This node does not lead the shard that owns the request's symbol.
        case notLeader(NotLeader)
        /// The request was not executed; send it again (same client order id) after a pause.
        case retryLater(RetryLater)
        /// The subscription is active; execution reports follow.
        case subscribed(Subscribed)
        case executionReport(ExecutionReport)
        /// The connection broke the protocol; the node closes it right after this frame.
        case protocolError(ProtocolError)
    }

    /// The request answered; 0 in a `protocolError` when the request id could not be read.
    public var requestID: UInt64
    public var body: Body

    public init(requestID: UInt64, body: Body) {
        self.requestID = requestID
        self.body = body
    }

    public var frameKind: FrameKind {
        switch body {
        case .pong: .pong
        case .commandResult: .commandResult
        case .orderStatus: .orderStatusResult
        case .notLeader: .notLeader
        case .retryLater: .retryLater
        case .subscribed: .subscribed
        case .executionReport: .executionReport
        case .protocolError: .protocolError
        }
    }

    /// Payload bytes (after the 7-byte frame header).
    public var payloadByteCount: Int {
        switch body {
        case .pong: 8
        case .commandResult(let r): 8 + CommandResult.fixedByteCount + r.fills.count * Fill.encodedByteCount
        case .orderStatus(let r): 8 + 8 + 1 + (r.status == nil ? 0 : OrderStatusResult.statusByteCount)
        case .notLeader(let n): 8 + 4 + 8 + 2 + n.leaderAddress.utf8.count
        case .retryLater: 8 + 1
        case .subscribed: 8 + 8
        case .executionReport(let r): 8 + 8 + 4 + 8 + r.event.encodedByteCount
        case .protocolError(let e): 8 + 2 + 2 + e.message.utf8.count
        }
    }

    /// Appends the whole frame to `bytes`.
    public func encodeFrame(into bytes: inout [UInt8]) {
        Frame.encode(kind: frameKind, into: &bytes) { writer in
            let start = writer.count
            writer.write(requestID)
            switch body {
            case .pong:
                break
            case .commandResult(let r):
                precondition(r.fills.count <= CommandResult.maxFills, "more than CommandResult.maxFills fills")
                writer.write(r.participant.rawValue)
                writer.write(r.clientOrderID.rawValue)
                writer.write(r.orderID.rawValue)
                writer.write(r.symbol)
                switch r.outcome {
                case .accepted:
                    writer.write(UInt8(1))
                    writer.write(UInt16(0))
                case .rejected(let reason):
                    writer.write(UInt8(2))
                    writer.write(reason.rawValue)
                }
                var flags: UInt8 = 0
                if r.isDuplicate { flags |= CommandResult.duplicateFlag }
                if r.fillsTruncated { flags |= CommandResult.fillsTruncatedFlag }
                writer.write(flags)
                writer.write(r.orderState.rawValue)
                writer.write(r.leavesQuantity.rawValue)
                writer.write(r.logIndex)
                writer.write(r.timestamp.rawValue)
                writer.write(UInt16(r.fills.count))
                for fill in r.fills {
                    writer.write(fill.tradeID.sequence)
                    writer.write(fill.tradeID.index)
                    writer.write(fill.price.rawValue)
                    writer.write(fill.quantity.rawValue)
                    writer.write(fill.leavesQuantity.rawValue)
                    writer.write(fill.liquidity.rawValue)
                }
            case .orderStatus(let r):
                writer.write(r.appliedIndex)
                writer.write(r.status != nil)
                if let s = r.status {
                    writer.write(s.orderID.rawValue)
                    writer.write(s.participant.rawValue)
                    writer.write(s.clientOrderID.rawValue)
                    writer.write(s.account.rawValue)
                    writer.write(s.symbol)
                    writer.write(s.side.rawValue)
                    writer.write(s.type.rawValue)
                    writer.write(s.timeInForce.rawValue)
                    writer.write(s.price.rawValue)
                    writer.write(s.stopPrice.rawValue)
                    writer.write(s.quantity.rawValue)
                    writer.write(s.leavesQuantity.rawValue)
                    writer.write(s.visibleQuantity.rawValue)
                    writer.write(s.displayQuantity.rawValue)
                    writer.write(s.filledQuantity.rawValue)
                    writer.write(s.postOnly)
                    writer.write(s.selfTradePrevention.rawValue)
                    writer.write(s.expireAt.rawValue)
                    writer.write(s.state.rawValue)
                }
            case .notLeader(let n):
                precondition(
                    n.leaderAddress.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E },
                    "leader address must be printable ASCII")
                writer.write(n.group.rawValue)
                writer.write(n.leaderNodeID)
                writer.write(string: n.leaderAddress, maxBytes: NotLeader.maxAddressBytes)
            case .retryLater(let r):
                writer.write(r.reason.rawValue)
            case .subscribed(let s):
                writer.write(s.logIndex)
            case .executionReport(let r):
                writer.write(r.logIndex)
                writer.write(r.eventIndex)
                writer.write(r.timestamp.rawValue)
                EventCodec.encode(r.event, into: &writer)
            case .protocolError(let e):
                writer.write(e.code.rawValue)
                writer.write(string: e.message, maxBytes: ProtocolError.maxMessageBytes)
            }
            assert(writer.count - start == payloadByteCount, "response length disagrees with its layout")
        }
    }

    public func encodedFrame() -> [UInt8] {
        var bytes: [UInt8] = []
        encodeFrame(into: &bytes)
        return bytes
    }

    /// Decodes a response frame. Request and node frame kinds are refused with `unexpectedFrameKind`.
    /// Error offsets count from the start of the frame.
    public init(decoding frame: Frame) throws(WireError) {
        guard frame.kind.isClientResponse else {
            throw WireError(.unexpectedFrameKind, offset: 6, "\(frame.kind) is not a client response")
        }
        var reader = ByteReader(frame.payload, baseOffset: Frame.headerByteCount)
        requestID = try reader.read(UInt64.self, "request id")
        switch frame.kind {
        case .pong:
            body = .pong
        case .commandResult:
            body = .commandResult(try Self.readCommandResult(&reader))
        case .orderStatusResult:
            let appliedIndex = try reader.read(UInt64.self, "applied index")
            let found = try reader.readBool("found")
            body = .orderStatus(
                OrderStatusResult(appliedIndex: appliedIndex, status: found ? try Self.readOrderStatus(&reader) : nil))
        case .notLeader:
            body = .notLeader(
                NotLeader(
                    group: RaftGroupID(try reader.read(UInt32.self, "group id")),
                    leaderNodeID: try reader.read(UInt64.self, "leader node id"),
                    leaderAddress: try reader.readString(
                        maxBytes: NotLeader.maxAddressBytes, printableASCII: true, "leader address")))
        case .retryLater:
            body = .retryLater(RetryLater(reason: try reader.readEnum(RetryLater.Reason.self, "retry reason")))
        case .subscribed:
            body = .subscribed(Subscribed(logIndex: try reader.read(UInt64.self, "log index")))
        case .executionReport:
            body = .executionReport(
                ExecutionReport(
                    logIndex: try reader.read(UInt64.self, "log index"),
                    eventIndex: try reader.read(UInt32.self, "event index"),
                    timestamp: Timestamp(nanoseconds: try reader.read(Int64.self, "timestamp")),
                    event: try EventCodec.decode(from: &reader)))
        case .protocolError:
            body = .protocolError(
                ProtocolError(
                    code: try reader.readEnum(ProtocolErrorCode.self, "error code"),
                    message: try reader.readString(maxBytes: ProtocolError.maxMessageBytes, "message")))
        default:
            throw WireError(.unexpectedFrameKind, offset: 6, "\(frame.kind) is not a client response")
        }
        try reader.expectEnd("response")
        assert(frame.payload.count == payloadByteCount)
    }

    private static func readCommandResult(_ reader: inout ByteReader) throws(WireError) -> CommandResult {
        let participant = ParticipantID(try reader.read(UInt32.self, "participant"))
        let clientOrderID = ClientOrderID(try reader.read(UInt64.self, "client order id"))
        let orderID = OrderID(try reader.read(UInt64.self, "order id"))
        let symbol = try reader.readSymbol("symbol")
        let statusOffset = reader.offset
        let status = try reader.read(UInt8.self, "status")
        let reasonOffset = reader.offset
        let reasonRaw = try reader.read(UInt16.self, "reject reason")
        let outcome: CommandResult.Outcome
        switch status {
        case 1:
            guard reasonRaw == 0 else {
                throw WireError(.inconsistentFields, offset: reasonOffset, "accepted with reject reason \(reasonRaw)")
            }
            outcome = .accepted
        case 2:
            guard let reason = RejectReason(rawValue: reasonRaw) else {
                throw WireError(.invalidEnum, offset: reasonOffset, "unknown reject reason \(reasonRaw)")
            }
            outcome = .rejected(reason)
        default:
            throw WireError(.invalidEnum, offset: statusOffset, "unknown status \(status)")
        }
        let flagsOffset = reader.offset
        let flags = try reader.read(UInt8.self, "flags")
        guard flags & ~(CommandResult.duplicateFlag | CommandResult.fillsTruncatedFlag) == 0 else {
            throw WireError(.reservedBitsSet, offset: flagsOffset, "undefined flag bits \(flags)")
        }
        let orderState = try reader.readEnum(ClientOrderState.self, "order state")
        let leaves = Quantity(try reader.read(Int64.self, "leaves quantity"))
        let logIndex = try reader.read(UInt64.self, "log index")
        let timestamp = Timestamp(nanoseconds: try reader.read(Int64.self, "timestamp"))
        let count = try reader.readCount(
            UInt16.self, max: CommandResult.maxFills, minimumElementBytes: Fill.encodedByteCount, "fill count")
        var fills: [Fill] = []
        fills.reserveCapacity(count)
        for _ in 0..<count {
            fills.append(
                Fill(
                    tradeID: TradeID(
                        sequence: try reader.read(UInt64.self, "trade sequence"),
                        index: try reader.read(UInt32.self, "trade index")),
                    price: Price(try reader.read(Int64.self, "price")),
                    quantity: Quantity(try reader.read(Int64.self, "quantity")),
                    leavesQuantity: Quantity(try reader.read(Int64.self, "leaves quantity")),
                    liquidity: try reader.readEnum(Fill.Liquidity.self, "liquidity")))
        }
        return CommandResult(
            participant: participant, clientOrderID: clientOrderID, orderID: orderID, symbol: symbol,
            outcome: outcome, isDuplicate: flags & CommandResult.duplicateFlag != 0,
            orderState: orderState, leavesQuantity: leaves, logIndex: logIndex, timestamp: timestamp, fills: fills,
            fillsTruncated: flags & CommandResult.fillsTruncatedFlag != 0)
    }

    private static func readOrderStatus(_ reader: inout ByteReader) throws(WireError) -> OrderStatus {
        try reader.need(OrderStatusResult.statusByteCount, "order status")
        return OrderStatus(
            orderID: OrderID(try reader.read(UInt64.self, "order id")),
            participant: ParticipantID(try reader.read(UInt32.self, "participant")),
            clientOrderID: ClientOrderID(try reader.read(UInt64.self, "client order id")),
            account: AccountID(try reader.read(UInt64.self, "account")),
            symbol: try reader.readSymbol("symbol"),
            side: try reader.readEnum(Side.self, "side"),
            type: try reader.readEnum(OrderType.self, "order type"),
            timeInForce: try reader.readEnum(TimeInForce.self, "time in force"),
            price: Price(try reader.read(Int64.self, "price")),
            stopPrice: Price(try reader.read(Int64.self, "stop price")),
            quantity: Quantity(try reader.read(Int64.self, "quantity")),
            leavesQuantity: Quantity(try reader.read(Int64.self, "leaves quantity")),
            visibleQuantity: Quantity(try reader.read(Int64.self, "visible quantity")),
            displayQuantity: Quantity(try reader.read(Int64.self, "display quantity")),
            filledQuantity: Quantity(try reader.read(Int64.self, "filled quantity")),
            postOnly: try reader.readBool("post only"),
            selfTradePrevention: try reader.readEnum(SelfTradePrevention.self, "self-trade prevention"),
            expireAt: Timestamp(nanoseconds: try reader.read(Int64.self, "expire at")),
            state: try reader.readEnum(OrderState.self, "order state"))
    }
}

/// Where the order of a command result stands after the command.
public enum ClientOrderState: UInt8, Sendable, Hashable, CaseIterable {
    /// Not stated: a rejected command, or a duplicate whose current state the node did not look up.
    case unknown = 0
    /// In the book with `leavesQuantity` open (after a new order, a partial fill or a replace).
    case resting = 1
    /// A stop order waiting for its trigger.
    case stopPending = 2
    /// Completely filled.
    case filled = 3
    /// Gone without (further) fills: cancelled on request, IOC/market remainder, FOK, self-trade prevention.
    case cancelled = 4
}

/// The outcome of a new order, cancel or replace.
public struct CommandResult: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case accepted
        case rejected(RejectReason)
    }

    /// Most fills in one result; an order with more sets `fillsTruncated` (the execution stream has them all).
    public static let maxFills = 1_024
    /// Bytes after the request id, without fills.
    static let fixedByteCount = 4 + 8 + 8 + 16 + 1 + 2 + 1 + 1 + 8 + 8 + 8 + 2
    static let duplicateFlag: UInt8 = 1
    static let fillsTruncatedFlag: UInt8 = 2

    public var participant: ParticipantID
    public var clientOrderID: ClientOrderID
    /// The order the command acted on: for a new order, the id the leader assigned (0 when rejected before one
    /// was assigned); for cancel and replace, the order named.
    public var orderID: OrderID
    public var symbol: Symbol
    public var outcome: Outcome
    /// True when this is the remembered outcome of an earlier command with the same client order id (a retry):
    /// nothing was executed again, and `fills` is empty.
    public var isDuplicate: Bool
    public var orderState: ClientOrderState
    /// Open quantity after the command.
    public var leavesQuantity: Quantity
    /// The Raft log index of the entry that carried the command (the acknowledgement's durable position).
    public var logIndex: UInt64
    /// The entry's log time.
    public var timestamp: Timestamp
    /// Trades of this order caused by this command, in execution order.
    public var fills: [Fill]
    /// More than `maxFills` trades happened; only the first `maxFills` are listed.
    public var fillsTruncated: Bool

    public init(
        participant: ParticipantID, clientOrderID: ClientOrderID, orderID: OrderID, symbol: Symbol, outcome: Outcome,
        isDuplicate: Bool = false, orderState: ClientOrderState, leavesQuantity: Quantity, logIndex: UInt64,
        timestamp: Timestamp, fills: [Fill] = [], fillsTruncated: Bool = false
    ) {
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.orderID = orderID
        self.symbol = symbol
        self.outcome = outcome
        self.isDuplicate = isDuplicate
        self.orderState = orderState
        self.leavesQuantity = leavesQuantity
        self.logIndex = logIndex
        self.timestamp = timestamp
        self.fills = fills
        self.fillsTruncated = fillsTruncated
    }
}

/// One trade of the order a command result is about.
public struct Fill: Sendable, Hashable {
    /// Whether the order provided or took liquidity. Stable codes.
    public enum Liquidity: UInt8, Sendable, Hashable, CaseIterable {
        /// The order was resting (passive).
        case maker = 1
        /// The order was the incoming one (aggressive).
        case taker = 2
        /// An auction uncrossing.
        case auction = 3
    }

    static let encodedByteCount = 12 + 8 + 8 + 8 + 1

    public var tradeID: TradeID
    public var price: Price
    public var quantity: Quantity
    /// The order's open quantity after this fill.
    public var leavesQuantity: Quantity
    public var liquidity: Liquidity

    public init(tradeID: TradeID, price: Price, quantity: Quantity, leavesQuantity: Quantity, liquidity: Liquidity) {
        self.tradeID = tradeID
        self.price = price
        self.quantity = quantity
        self.leavesQuantity = leavesQuantity
        self.liquidity = liquidity
    }
}

/// The answer to an `OrderStatusQuery`.
public struct OrderStatusResult: Sendable, Hashable {
    static let statusByteCount = 8 + 4 + 8 + 8 + 16 + 1 + 1 + 1 + 7 * 8 + 1 + 1 + 8 + 1

    /// The applied log index the answer reflects.
    public var appliedIndex: UInt64
    /// nil: no live order with that id belongs to the participant (never existed, or done: filled, cancelled,
    /// expired).
    public var status: OrderStatus?

    public init(appliedIndex: UInt64, status: OrderStatus?) {
        self.appliedIndex = appliedIndex
        self.status = status
    }
}

/// Redirect: this node does not lead the shard of the request's symbol.
public struct NotLeader: Sendable, Hashable {
    public static let maxAddressBytes = 255

    /// The shard's Raft group.
    public var group: RaftGroupID
    /// The leader's node id (`Raft.NodeID`) as far as this node knows; 0: unknown (retry after a pause, or
    /// try another replica).
    public var leaderNodeID: UInt64
    /// The leader's client address, `host:port` in printable ASCII (at most 255 bytes); empty when unknown.
    public var leaderAddress: String

    public init(group: RaftGroupID, leaderNodeID: UInt64, leaderAddress: String) {
        self.group = group
        self.leaderNodeID = leaderNodeID
        self.leaderAddress = leaderAddress
    }
}

/// The request was not executed; the client may send it again (same client order id) later.
public struct RetryLater: Sendable, Hashable {
    /// Stable codes; never renumber.
    public enum Reason: UInt8, Sendable, Hashable, CaseIterable {
        /// Too many uncommitted proposals or queued requests (back-pressure).
        case overloaded = 1
        /// A leader transfer is in progress; the new leader answers shortly.
        case leaderTransferInProgress = 2
        /// The node is shutting down.
        case shuttingDown = 3
    }

    public var reason: Reason

    public init(reason: Reason) { self.reason = reason }
}

/// The subscription is active from the entry after `logIndex`.
public struct Subscribed: Sendable, Hashable {
    public var logIndex: UInt64

    public init(logIndex: UInt64) { self.logIndex = logIndex }
}

/// One event of the execution stream.
public struct ExecutionReport: Sendable, Hashable {
    /// The Raft log index of the entry whose application emitted the event.
    public var logIndex: UInt64
    /// The event's position among the events of that entry (from 0): `(logIndex, eventIndex)` identifies an
    /// event across replicas and lets a client drop duplicates after a reconnect.
    public var eventIndex: UInt32
    /// The entry's log time.
    public var timestamp: Timestamp
    public var event: Event

    public init(logIndex: UInt64, eventIndex: UInt32, timestamp: Timestamp, event: Event) {
        self.logIndex = logIndex
        self.eventIndex = eventIndex
        self.timestamp = timestamp
        self.event = event
    }
}

/// Why the node is closing the connection. Codes 1-16 are `WireError.Code` values (a frame the node could not
/// decode); 100 and up are session rules. Stable; never renumber.
public enum ProtocolErrorCode: UInt16, Sendable, Hashable, CaseIterable {
    case truncated = 1
    case trailingBytes = 2
    case frameTooShort = 3
    case frameTooLarge = 4
    case unsupportedVersion = 5
    case unknownFrameKind = 6
    case unexpectedFrameKind = 7
    case unknownTag = 8
    case invalidEnum = 9
    case invalidBool = 10
    case invalidSymbol = 11
    case invalidString = 12
    case countTooLarge = 13
    case lengthTooLarge = 14
    case reservedBitsSet = 15
    case inconsistentFields = 16
    /// More requests outstanding than the node allows per connection (the client ignored back-pressure).
    case tooManyOutstandingRequests = 100
    /// More subscriptions on the connection than the node allows.
    case tooManySubscriptions = 101
    /// A request id reused while the first request with it is still outstanding (or while the subscription it
    /// started is active).
    case duplicateRequestID = 102
    /// A subscription's reports piled up beyond the node's per-subscription backlog bound: the client does not
    /// read fast enough. Subscribe again and drop reports already seen by `(logIndex, eventIndex)`.
    case slowConsumer = 103

    /// The code for a frame that failed to decode.
    public init(_ code: WireError.Code) {
        guard let mapped = ProtocolErrorCode(rawValue: code.rawValue) else {
            preconditionFailure("WireError.Code \(code) has no ProtocolErrorCode")
        }
        self = mapped
    }
}

/// The last frame the node sends on a connection that broke the protocol.
public struct ProtocolError: Sendable, Hashable {
    public static let maxMessageBytes = 1_024

    public var code: ProtocolErrorCode
    /// Human-readable detail, UTF-8, at most 1,024 bytes.
    public var message: String

    /// `message` is cut to `maxMessageBytes` (on a character boundary) so that encoding never traps.
    public init(code: ProtocolErrorCode, message: String) {
        self.code = code
        self.message = truncatedUTF8(message, maxBytes: Self.maxMessageBytes)
    }

    /// The frame to send for a decoding failure: its code, offset and message.
    public init(_ error: WireError) {
        self.init(code: ProtocolErrorCode(error.code), message: "offset \(error.offset): \(error.message)")
    }
}

/// `text` cut to at most `maxBytes` of UTF-8, on a character boundary.
func truncatedUTF8(_ text: String, maxBytes: Int) -> String {
    if text.utf8.count <= maxBytes { return text }
    var result = ""
    for character in text {
        if result.utf8.count + character.utf8.count > maxBytes { break }
        result.append(character)
    }
    return result
}
