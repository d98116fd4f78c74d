import ClusterConfig
import ExchangeCore
import Matching
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import Wire

/// A scripted exchange node on a loopback port: decodes client requests, records them, and answers as the test's
/// script says (answer, hold until released, close the connection, or send a ProtocolError and close).
final class FakeNode: Sendable {
    enum Action: Sendable {
        case respond(ClientResponse.Body)
        /// Keep the request unanswered until `releaseHeld` answers it.
        case hold
        /// Close the connection without answering (a leader dying mid-request).
        case close
        /// Send these frames (same request id), in order, then close the connection.
        case respondAllThenClose([ClientResponse.Body])
        /// Send `ProtocolError(code)` for the request, then close.
        case protocolError(ProtocolErrorCode)
    }

    /// Decides the action for the `index`-th request (from 0) this node received.
    typealias Script = @Sendable (_ request: ClientRequest, _ index: Int) -> Action

    private struct State {
        var received: [ClientRequest] = []
        var held: [(channel: any Channel, request: ClientRequest)] = []
        var connectionsAccepted = 0
    }

    let address: NetworkAddress
    private let serverChannel: any Channel
    private let state: NIOLockedValueBox<State>
    private let script: Script

    private init(serverChannel: any Channel, state: NIOLockedValueBox<State>, script: @escaping Script) {
        self.serverChannel = serverChannel
        self.state = state
        self.script = script
        address = NetworkAddress(host: "127.0.0.1", port: UInt16(serverChannel.localAddress!.port!))
    }

    static func start(_ script: @escaping Script) async throws -> FakeNode {
        let state = NIOLockedValueBox(State())
        let box = NIOLockedValueBox<FakeNode?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let node = box.withLockedValue { $0 }!
                    node.state.withLockedValue { $0.connectionsAccepted += 1 }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FakeFrameDecoder()), FakeNodeHandler(node: node))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let node = FakeNode(serverChannel: channel, state: state, script: script)
        box.withLockedValue { $0 = node }
        return node
    }

    /// Every request received so far, in arrival order.
    var received: [ClientRequest] { state.withLockedValue { $0.received } }
    var connectionsAccepted: Int { state.withLockedValue { $0.connectionsAccepted } }
    var heldCount: Int { state.withLockedValue { $0.held.count } }

    /// Answers the oldest held request with `answer(request)`.
    func releaseHeld(_ answer: (ClientRequest) -> ClientResponse.Body) {
        let held = state.withLockedValue { state in state.held.isEmpty ? nil : state.held.removeFirst() }
        guard let held else {
            Issue.record("no held request to release")
            return
        }
        let response = ClientResponse(requestID: held.request.requestID, body: answer(held.request))
        held.channel.writeAndFlush(ByteBuffer(bytes: response.encodedFrame()), promise: nil)
    }

    func stop() async {
        try? await serverChannel.close()
    }

    fileprivate func handle(_ request: ClientRequest, on channel: any Channel) {
        let index = state.withLockedValue { state in
            state.received.append(request)
            return state.received.count - 1
        }
        switch script(request, index) {
        case .respond(let body):
            let response = ClientResponse(requestID: request.requestID, body: body)
            channel.writeAndFlush(ByteBuffer(bytes: response.encodedFrame()), promise: nil)
        case .respondAllThenClose(let bodies):
            var bytes: [UInt8] = []
            for body in bodies { ClientResponse(requestID: request.requestID, body: body).encodeFrame(into: &bytes) }
            channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenComplete { _ in channel.close(promise: nil) }
        case .hold:
            state.withLockedValue { $0.held.append((channel, request)) }
        case .close:
            channel.close(promise: nil)
        case .protocolError(let code):
            let response = ClientResponse(
                requestID: request.requestID, body: .protocolError(ProtocolError(code: code, message: "scripted")))
            channel.writeAndFlush(ByteBuffer(bytes: response.encodedFrame())).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}

private struct FakeFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Frame
    private var decoder = FrameDecoder(maxFrameBytes: Frame.clientMaxFrameBytesDefault)

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        decoder.append(buffer.readableBytesView)
        buffer.moveReaderIndex(to: buffer.writerIndex)
        while let frame = try decoder.next() { context.fireChannelRead(wrapInboundOut(frame)) }
        return .needMoreData
    }
}

private final class FakeNodeHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    let node: FakeNode

    init(node: FakeNode) { self.node = node }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            node.handle(try ClientRequest(decoding: unwrapInboundIn(data)), on: context.channel)
        } catch {
            Issue.record("fake node could not decode a request: \(error)")
            context.close(promise: nil)
        }
    }
}

// MARK: Scripted answers

/// An accepted, resting result for a new order request (or a cancel/replace), with `orderID`.
func acceptedResult(for request: ClientRequest, orderID: UInt64 = 77, duplicate: Bool = false) -> ClientResponse.Body {
    let (participant, clientOrderID, symbol, leaves): (ParticipantID, ClientOrderID, Symbol, Quantity)
    switch request.body {
    case .newOrder(let order):
        (participant, clientOrderID, symbol, leaves) = (
            order.participant, order.clientOrderID, order.symbol, order.quantity
        )
    case .cancel(let cancel):
        (participant, clientOrderID, symbol, leaves) = (cancel.participant, cancel.clientOrderID, cancel.symbol, .zero)
    case .replace(let replace):
        (participant, clientOrderID, symbol, leaves) = (
            replace.participant, replace.clientOrderID, replace.symbol, replace.quantity
        )
    default: preconditionFailure("not a command: \(request)")
    }
    return .commandResult(
        CommandResult(
            participant: participant, clientOrderID: clientOrderID, orderID: OrderID(orderID), symbol: symbol,
            outcome: .accepted, isDuplicate: duplicate, orderState: duplicate ? .unknown : .resting,
            leavesQuantity: duplicate ? .zero : leaves, logIndex: 10, timestamp: Timestamp(nanoseconds: 1)))
}

/// Waits until `condition` holds, polling, with a deadline (no sleep is used as synchronisation).
func waitUntil(
    _ what: String, timeout: Duration = .seconds(10), _ condition: () -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !condition() {
        guard clock.now < deadline else {
            Issue.record("timed out waiting until \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}
