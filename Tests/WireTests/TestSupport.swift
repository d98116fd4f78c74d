import ExchangeCore
import Foundation
import Matching
import Raft
import Wire

/// SplitMix64: small, fast, and the same sequence on every platform for a given seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum TestSeed {
    /// `WIRE_TEST_SEED` when set, otherwise a fresh random seed; every randomised test prints it.
    static let base: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["WIRE_TEST_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 1...UInt64.max)
    }()

    /// A generator for one test, seeded from the base seed and the test's name, printing how to re-run it.
    static func generator(_ test: String) -> SeededGenerator {
        print("[WireTests] \(test): seed \(base); re-run with WIRE_TEST_SEED=\(base)")
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in test.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return SeededGenerator(seed: base ^ hash)
    }
}

extension SeededGenerator {
    mutating func u64() -> UInt64 {
        switch Int.random(in: 0..<8, using: &self) {
        case 0: 0
        case 1: .max
        case 2: UInt64.random(in: 0...1_000, using: &self)
        default: next()
        }
    }
    mutating func u32() -> UInt32 { UInt32(truncatingIfNeeded: u64()) }
    mutating func i64() -> Int64 {
        switch Int.random(in: 0..<8, using: &self) {
        case 0: .min
        case 1: .max
        case 2: Int64.random(in: -1_000...1_000, using: &self)
        default: Int64(bitPattern: next())
        }
    }
    mutating func bool() -> Bool { Bool.random(using: &self) }
    mutating func bytes(maxCount: Int) -> [UInt8] {
        (0..<Int.random(in: 0...maxCount, using: &self)).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
    mutating func pick<T: CaseIterable>(_: T.Type) -> T { T.allCases.randomElement(using: &self)! }

    mutating func symbol() -> Symbol {
        let length = Int.random(in: 1...16, using: &self)
        let text = String(
            decoding: (0..<length).map { _ in UInt8.random(in: 0x21...0x7E, using: &self) }, as: UTF8.self)
        return try! Symbol(validating: text)
    }
    mutating func printable(maxCount: Int) -> String {
        String(
            decoding: (0..<Int.random(in: 0...maxCount, using: &self)).map { _ in
                UInt8.random(in: 0x20...0x7E, using: &self)
            }, as: UTF8.self)
    }
    mutating func price() -> Price { Price(i64()) }
    mutating func quantity() -> Quantity { Quantity(i64()) }
    mutating func timestamp() -> Timestamp { Timestamp(nanoseconds: i64()) }
    mutating func participant() -> ParticipantID { ParticipantID(u32()) }

    mutating func newOrder() -> NewOrder {
        NewOrder(
            participant: participant(), clientOrderID: ClientOrderID(u64()), orderID: OrderID(u64()),
            account: AccountID(u64()), symbol: symbol(), side: pick(Side.self), type: pick(OrderType.self),
            timeInForce: pick(TimeInForce.self), price: price(), stopPrice: price(), quantity: quantity(),
            displayQuantity: quantity(), postOnly: bool(), selfTradePrevention: pick(SelfTradePrevention.self),
            expireAt: timestamp())
    }
    mutating func cancel() -> CancelOrder {
        CancelOrder(
            participant: participant(), clientOrderID: ClientOrderID(u64()), orderID: OrderID(u64()), symbol: symbol())
    }
    mutating func replace() -> ReplaceOrder {
        ReplaceOrder(
            participant: participant(), clientOrderID: ClientOrderID(u64()), orderID: OrderID(u64()), symbol: symbol(),
            price: price(), quantity: quantity())
    }

    /// A command of the given tag, so tests can cover every case on purpose.
    mutating func command(_ tag: CommandCodec.Tag) -> Command {
        switch tag {
        case .newOrder: .newOrder(newOrder())
        case .cancel: .cancel(cancel())
        case .replace: .replace(replace())
        case .halt: .halt(symbol())
        case .resume: .resume(symbol())
        case .setPriceBand: .setPriceBand(symbol(), basisPoints: i64(), referencePrice: price())
        case .endOfSession: .endOfSession
        case .heartbeat: .heartbeat
        }
    }
    mutating func command() -> Command { command(pick(CommandCodec.Tag.self)) }

    mutating func shardEntry(maxCommands: Int = 20) -> ShardEntry {
        ShardEntry(
            timestamp: timestamp(),
            commands: (0..<Int.random(in: 0...maxCommands, using: &self)).map { _ in command() },
            stateHash: bool() ? StateHashCheck(index: u64(), hash: u64()) : nil)
    }

    mutating func membership() -> Membership {
        func list(_ g: inout SeededGenerator) -> [NodeID] {
            (0..<Int.random(in: 0...5, using: &g)).map { _ in g.u64() }
        }
        return Membership(voters: list(&self), outgoingVoters: list(&self), learners: list(&self))
    }

    mutating func raftMessage(_ kind: MessageKind) -> Message {
        var m = Message(
            kind: kind, from: u64(), to: u64(), term: u64(), logTerm: u64(), index: u64(), commit: u64(),
            reject: bool(), rejectHint: u64(), context: u64())
        m.entries = (0..<Int.random(in: 0...4, using: &self)).map { _ in
            Entry(
                term: u64(), index: u64(),
                kind: [EntryKind.normal, .noop, .configuration].randomElement(using: &self)!, data: bytes(maxCount: 40))
        }
        if bool() {
            m.snapshot = SnapshotChunk(
                metadata: SnapshotMetadata(index: u64(), term: u64(), membership: membership()), offset: u64(),
                data: bytes(maxCount: 64), isLast: bool())
        }
        return m
    }

    mutating func event(_ tag: Event.EncodingTag) -> Event {
        switch tag {
        case .accepted:
            .accepted(
                Event.Accepted(
                    orderID: OrderID(u64()), participant: participant(), clientOrderID: ClientOrderID(u64()),
                    account: AccountID(u64()), symbol: symbol(), side: pick(Side.self), type: pick(OrderType.self),
                    timeInForce: pick(TimeInForce.self), price: price(), stopPrice: price(), quantity: quantity(),
                    displayQuantity: quantity()))
        case .rejected:
            .rejected(
                Event.Rejected(
                    participant: participant(), clientOrderID: ClientOrderID(u64()), orderID: OrderID(u64()),
                    symbol: symbol(), reason: pick(RejectReason.self)))
        case .duplicate:
            .duplicate(
                Event.Duplicate(
                    participant: participant(), clientOrderID: ClientOrderID(u64()),
                    outcome: bool() ? .accepted(OrderID(u64())) : .rejected(pick(RejectReason.self))))
        case .trade:
            .trade(
                Event.Trade(
                    id: TradeID(sequence: u64(), index: u32()), symbol: symbol(), price: price(), quantity: quantity(),
                    aggressor: bool() ? nil : pick(Side.self), buyOrderID: OrderID(u64()), sellOrderID: OrderID(u64()),
                    buyAccount: AccountID(u64()), sellAccount: AccountID(u64()), buyParticipant: participant(),
                    sellParticipant: participant(), buyLeaves: quantity(), sellLeaves: quantity(),
                    timestamp: timestamp()))
        case .cancelled:
            .cancelled(
                Event.Cancelled(
                    orderID: OrderID(u64()), symbol: symbol(), cancelledQuantity: quantity(),
                    leavesQuantity: quantity(),
                    reason: pick(CancelReason.self)))
        case .replaced:
            .replaced(
                Event.Replaced(
                    orderID: OrderID(u64()), participant: participant(), clientOrderID: ClientOrderID(u64()),
                    symbol: symbol(), price: price(), quantity: quantity(), leavesQuantity: quantity(),
                    keptPriority: bool()))
        case .expired: .expired(Event.Expired(orderID: OrderID(u64()), symbol: symbol(), leavesQuantity: quantity()))
        case .triggered:
            .triggered(
                Event.Triggered(orderID: OrderID(u64()), symbol: symbol(), stopPrice: price(), lastTradePrice: price()))
        case .halted: .halted(Event.Halted(symbol: symbol(), reason: pick(HaltReason.self), reopenAt: timestamp()))
        case .auction:
            .auction(Event.AuctionResult(symbol: symbol(), price: price(), volume: quantity(), imbalance: quantity()))
        case .resumed: .resumed(symbol())
        case .priceBandSet:
            .priceBandSet(Event.PriceBandSet(symbol: symbol(), basisPoints: i64(), referencePrice: price()))
        case .bookDelta:
            .bookDelta(Event.BookDelta(symbol: symbol(), side: pick(Side.self), price: price(), quantity: quantity()))
        }
    }

    /// Every request kind, by frame kind.
    mutating func request(_ kind: FrameKind) -> ClientRequest {
        let body: ClientRequest.Body
        switch kind {
        case .ping: body = .ping
        case .newOrder: body = .newOrder(NewOrderRequest(newOrder()))
        case .cancel: body = .cancel(cancel())
        case .replace: body = .replace(replace())
        case .orderStatus:
            body = .orderStatus(OrderStatusQuery(participant: participant(), symbol: symbol(), orderID: OrderID(u64())))
        case .subscribe:
            let p = participant()
            body = .subscribe(
                SubscribeRequest(participant: p.rawValue == 0 ? nil : p, symbol: bool() ? nil : symbol()))
        default: preconditionFailure("\(kind) is not a request")
        }
        return ClientRequest(requestID: u64(), body: body)
    }

    mutating func orderStatus() -> OrderStatus {
        OrderStatus(
            orderID: OrderID(u64()), participant: participant(), clientOrderID: ClientOrderID(u64()),
            account: AccountID(u64()), symbol: symbol(), side: pick(Side.self), type: pick(OrderType.self),
            timeInForce: pick(TimeInForce.self), price: price(), stopPrice: price(), quantity: quantity(),
            leavesQuantity: quantity(), visibleQuantity: quantity(), displayQuantity: quantity(),
            filledQuantity: quantity(), postOnly: bool(), selfTradePrevention: pick(SelfTradePrevention.self),
            expireAt: timestamp(), state: bool() ? .resting : .untriggeredStop)
    }

    /// Every response kind, by frame kind.
    mutating func response(_ kind: FrameKind) -> ClientResponse {
        let body: ClientResponse.Body
        switch kind {
        case .pong: body = .pong
        case .commandResult:
            body = .commandResult(
                CommandResult(
                    participant: participant(), clientOrderID: ClientOrderID(u64()), orderID: OrderID(u64()),
                    symbol: symbol(), outcome: bool() ? .accepted : .rejected(pick(RejectReason.self)),
                    isDuplicate: bool(), orderState: pick(ClientOrderState.self), leavesQuantity: quantity(),
                    logIndex: u64(), timestamp: timestamp(),
                    fills: (0..<Int.random(in: 0...5, using: &self)).map { _ in
                        Fill(
                            tradeID: TradeID(sequence: u64(), index: u32()), price: price(), quantity: quantity(),
                            leavesQuantity: quantity(), liquidity: pick(Fill.Liquidity.self))
                    }, fillsTruncated: bool()))
        case .orderStatusResult:
            body = .orderStatus(OrderStatusResult(appliedIndex: u64(), status: bool() ? orderStatus() : nil))
        case .notLeader:
            body = .notLeader(
                NotLeader(group: RaftGroupID(u32()), leaderNodeID: u64(), leaderAddress: printable(maxCount: 40)))
        case .retryLater: body = .retryLater(RetryLater(reason: pick(RetryLater.Reason.self)))
        case .subscribed: body = .subscribed(Subscribed(logIndex: u64()))
        case .executionReport:
            body = .executionReport(
                ExecutionReport(
                    logIndex: u64(), eventIndex: u32(), timestamp: timestamp(),
                    event: event(pick(Event.EncodingTag.self))
                ))
        case .protocolError:
            body = .protocolError(ProtocolError(code: pick(ProtocolErrorCode.self), message: printable(maxCount: 60)))
        default: preconditionFailure("\(kind) is not a response")
        }
        return ClientResponse(requestID: u64(), body: body)
    }

    mutating func nodeMessage(_ kind: FrameKind) -> NodeMessage {
        switch kind {
        case .handshake:
            let minimum = UInt16.random(in: 0...10, using: &self)
            return .handshake(
                Handshake(
                    clusterName: "c" + printable(maxCount: 20), nodeID: u64(), peerNodeID: u64(),
                    minimumVersion: minimum,
                    maximumVersion: minimum + UInt16.random(in: 0...10, using: &self)))
        case .handshakeAccept:
            return .handshakeAccept(
                HandshakeAccept(
                    clusterName: "c" + printable(maxCount: 20), nodeID: u64(),
                    version: UInt16.random(in: 0...9, using: &self)))
        case .handshakeReject:
            return .handshakeReject(
                HandshakeReject(reason: pick(HandshakeReject.Reason.self), message: printable(maxCount: 50)))
        case .raft:
            return .raft(RaftEnvelope(group: RaftGroupID(u32()), message: raftMessage(pick(MessageKind.self))))
        default: preconditionFailure("\(kind) is not a node frame")
        }
    }
}

/// Decodes exactly one frame from `bytes` through a `FrameDecoder`.
func decodeOneFrame(_ bytes: [UInt8], maxFrameBytes: Int = Frame.nodeMaxFrameBytesDefault) throws(WireError) -> Frame? {
    var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
    decoder.append(bytes)
    return try decoder.next()
}

/// Decodes any frame as whatever its kind says (node message, request or response).
enum AnyMessage: Equatable {
    case node(NodeMessage)
    case request(ClientRequest)
    case response(ClientResponse)

    init(decoding frame: Frame) throws(WireError) {
        if frame.kind.isNodeFrame {
            self = .node(try NodeMessage(decoding: frame))
        } else if frame.kind.isClientRequest {
            self = .request(try ClientRequest(decoding: frame))
        } else {
            self = .response(try ClientResponse(decoding: frame))
        }
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

func bytes(hex text: String) -> [UInt8] {
    let clean = text.filter { !$0.isWhitespace }
    var result: [UInt8] = []
    var index = clean.startIndex
    while index < clean.endIndex {
        let next = clean.index(index, offsetBy: 2)
        result.append(UInt8(clean[index..<next], radix: 16)!)
        index = next
    }
    return result
}
