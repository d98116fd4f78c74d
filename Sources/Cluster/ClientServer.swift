public import ExchangeCore
public import Logging
import Matching
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
public import Raft
public import Wire

/// Settings of the client port of a node.
public struct ClientServerConfiguration: Sendable, Hashable {
    /// Address to listen on. Default: 127.0.0.1.
    public var host: String
    /// Port; 0 picks a free one (tests). Range: 0...65,535.
    public var port: Int
    /// Largest client frame accepted. Default: 64 KiB (`Frame.clientMaxFrameBytesDefault`).
    /// Range: 7...1 MiB.
    public var maxFrameBytes: Int
    /// Requests one connection may have outstanding; one more is a protocol error (the client
    /// ignored back-pressure). Default: 1,024. Range: 1...65,536.
    public var maxOutstandingPerConnection: Int
    /// Subscriptions one connection may hold; one more is protocol error `tooManySubscriptions`.
    /// Default: 16. Range: 1...1,024.
    public var maxSubscriptionsPerConnection: Int
    /// Report bytes one subscription may have queued for its connection beyond what the kernel's
    /// socket buffer took; beyond it the subscriber is a slow consumer: protocol error
    /// `slowConsumer`, then the connection closes. Default: 8 MiB. Range: 1 KiB...1 GiB.
    public var subscriptionBacklogBytesMax: Int
    /// How long a connection being closed for a slow consumer (or a stopping node) gets to take
    /// the reports already queued and the error frame before it is closed anyway.
    /// Default: 5,000. Range: 0...60,000.
    public var streamCloseGraceMilliseconds: Int
    /// `SO_SNDBUF` of client connections in bytes; 0 keeps the kernel's default (autotuned). A
    /// fixed value bounds the kernel's share of a slow subscriber's backlog. Default: 0.
    /// Range: 0 or 4 KiB...64 MiB.
    public var socketSendBufferBytes: Int

    public init(
        host: String = "127.0.0.1", port: Int = 0, maxFrameBytes: Int = Frame.clientMaxFrameBytesDefault,
        maxOutstandingPerConnection: Int = 1_024, maxSubscriptionsPerConnection: Int = 16,
        subscriptionBacklogBytesMax: Int = 8 << 20, streamCloseGraceMilliseconds: Int = 5_000,
        socketSendBufferBytes: Int = 0
    ) {
        self.host = host
        self.port = port
        self.maxFrameBytes = maxFrameBytes
        self.maxOutstandingPerConnection = maxOutstandingPerConnection
        self.maxSubscriptionsPerConnection = maxSubscriptionsPerConnection
        self.subscriptionBacklogBytesMax = subscriptionBacklogBytesMax
        self.streamCloseGraceMilliseconds = streamCloseGraceMilliseconds
        self.socketSendBufferBytes = socketSendBufferBytes
    }

    public func validate() throws(ShardReplicaError) {
        guard (0...65_535).contains(port) else { throw ShardReplicaError(.invalidOptions, "port must be in 0...65535") }
        guard (Frame.headerByteCount...(1 << 20)).contains(maxFrameBytes) else {
            throw ShardReplicaError(.invalidOptions, "maxFrameBytes must be in 7...1048576")
        }
        guard (1...65_536).contains(maxOutstandingPerConnection) else {
            throw ShardReplicaError(.invalidOptions, "maxOutstandingPerConnection must be in 1...65536")
        }
        guard (1...1_024).contains(maxSubscriptionsPerConnection) else {
            throw ShardReplicaError(.invalidOptions, "maxSubscriptionsPerConnection must be in 1...1024")
        }
        guard ((1 << 10)...(1 << 30)).contains(subscriptionBacklogBytesMax) else {
            throw ShardReplicaError(.invalidOptions, "subscriptionBacklogBytesMax must be in 1024...1073741824")
        }
        guard (0...60_000).contains(streamCloseGraceMilliseconds) else {
            throw ShardReplicaError(.invalidOptions, "streamCloseGraceMilliseconds must be in 0...60000")
        }
        guard socketSendBufferBytes == 0 || ((4 << 10)...(64 << 20)).contains(socketSendBufferBytes) else {
            throw ShardReplicaError(.invalidOptions, "socketSendBufferBytes must be 0 or in 4096...67108864")
        }
    }
}

/// The binary client protocol (docs/PROTOCOL.md) on a node: decodes requests, hands commands to
/// the `NodeRuntime`, and answers each only after its command was committed and applied (or with
/// NOT_LEADER and the leader's client address, or RETRY_LATER). A malformed frame gets a protocol
/// error and the connection is closed; nothing else changes.
///
/// Order status is answered from this replica's applied state (with its applied index: possibly
/// behind the leader on a follower). Subscriptions to the execution stream are served by every
/// replica, leader or follower, from the node's `ExecutionFeed`: `Subscribed(logIndex)`, then one
/// `ExecutionReport` per event of every entry applied here after that index, in log order, each
/// once (docs/PROTOCOL.md 4.4). A connection that closes loses its subscriptions.
public final class ClientServer: Sendable {
    public let configuration: ClientServerConfiguration
    private let runtime: NodeRuntime
    private let shardOfSymbol: [Symbol: UInt32]
    private let clientAddresses: [NodeID: String]
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)

    /// - Parameters:
    ///   - shardOfSymbol: the shard map; a symbol not in it gets `unknownSymbol`.
    ///   - clientAddresses: every node's client address (`host:port`), for NOT_LEADER answers.
    public init(
        configuration: ClientServerConfiguration, runtime: NodeRuntime, shardOfSymbol: [Symbol: UInt32],
        clientAddresses: [NodeID: String], group: any EventLoopGroup,
        logger: Logger = Logger(label: "exchange.client-server")
    ) throws(ShardReplicaError) {
        try configuration.validate()
        self.configuration = configuration
        self.runtime = runtime
        self.shardOfSymbol = shardOfSymbol
        self.clientAddresses = clientAddresses
        self.group = group
        self.logger = logger
    }

    /// Binds and starts accepting; returns the bound port.
    public func start() async throws -> Int {
        let context = ConnectionContext(
            runtime: runtime, shardOfSymbol: shardOfSymbol, clientAddresses: clientAddresses,
            maxOutstanding: configuration.maxOutstandingPerConnection,
            maxSubscriptions: configuration.maxSubscriptionsPerConnection,
            subscriptionBacklogBytesMax: configuration.subscriptionBacklogBytesMax,
            streamCloseGrace: .milliseconds(Int64(configuration.streamCloseGraceMilliseconds)), logger: logger)
        let maxFrameBytes = configuration.maxFrameBytes
        let sendBufferBytes = configuration.socketSendBufferBytes
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if sendBufferBytes > 0 {
                        try channel.syncOptions?.setOption(
                            .socketOption(.so_sndbuf), value: SocketOptionValue(sendBufferBytes))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(NodeFrameDecoder(maxFrameBytes: maxFrameBytes)))
                    try channel.pipeline.syncOperations.addHandler(ClientConnectionHandler(context: context))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        channel.withLockedValue { $0 = bound }
        return bound.localAddress?.port ?? configuration.port
    }

    /// Stops accepting and closes the listener (open connections close with their peers).
    public func stop() async {
        let listener = channel.withLockedValue { channel -> (any Channel)? in
            defer { channel = nil }
            return channel
        }
        try? await listener?.close()
    }
}

/// What every connection of one server shares.
struct ConnectionContext: Sendable {
    let runtime: NodeRuntime
    let shardOfSymbol: [Symbol: UInt32]
    let clientAddresses: [NodeID: String]
    let maxOutstanding: Int
    let maxSubscriptions: Int
    let subscriptionBacklogBytesMax: Int
    let streamCloseGrace: TimeAmount
    let logger: Logger
}

/// One client connection, on its event loop.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private let context: ConnectionContext
    private var outstanding: Set<UInt64> = []
    /// Active subscriptions by their subscribe request's id (their reports carry it).
    private var subscriptions: [UInt64: ChannelExecutionSubscriber] = [:]
    /// Subscribe requests waiting for the node loop; they count against the limit too.
    private var subscribing = 0
    private var closing = false

    init(context: ConnectionContext) { self.context = context }

    func channelRead(context channelContext: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let frame = unwrapInboundIn(data)
        guard frame.kind.isClientRequest else {
            fail(
                channelContext, requestID: 0,
                ProtocolError(code: .unexpectedFrameKind, message: "frame kind \(frame.kind) is not a client request"))
            return
        }
        let request: ClientRequest
        do { request = try ClientRequest(decoding: frame) } catch {
            fail(channelContext, requestID: ClientRequest.requestID(of: frame) ?? 0, ProtocolError(error))
            return
        }
        let requestID = request.requestID
        if outstanding.contains(requestID) || subscriptions[requestID] != nil {
            fail(channelContext, requestID: requestID, ProtocolError(code: .duplicateRequestID, message: "request id in use"))
            return
        }
        if outstanding.count >= context.maxOutstanding {
            fail(
                channelContext, requestID: requestID,
                ProtocolError(code: .tooManyOutstandingRequests, message: "more than \(context.maxOutstanding) outstanding"))
            return
        }
        let command: Command
        let symbol: Symbol
        switch request.body {
        case .ping:
            respond(channelContext, ClientResponse(requestID: requestID, body: .pong))
            return
        case .subscribe(let subscribe):
            self.subscribe(channelContext, requestID: requestID, subscribe)
            return
        case .orderStatus(let query):
            orderStatus(channelContext, requestID: requestID, query)
            return
        case .newOrder(let order):
            command = .newOrder(order.command(orderID: OrderID(0)))
            symbol = order.symbol
        case .cancel(let cancel):
            command = .cancel(cancel)
            symbol = cancel.symbol
        case .replace(let replace):
            command = .replace(replace)
            symbol = replace.symbol
        }
        guard let shard = context.shardOfSymbol[symbol] else {
            respond(channelContext, ClientResponse(requestID: requestID, body: .commandResult(Self.unknownSymbol(command))))
            return
        }
        outstanding.insert(requestID)
        let loopBound = NIOLoopBound(self, eventLoop: channelContext.eventLoop)
        let channel = channelContext.channel
        let addresses = context.clientAddresses
        context.runtime.submit(shard: shard, command) { outcome in
            let body: ClientResponse.Body
            switch outcome {
            case .applied(let applied):
                if let result = CommandResult(applied: applied) {
                    body = .commandResult(result)
                } else {
                    body = .retryLater(RetryLater(reason: .overloaded))
                }
            case .notLeader(let hint):
                body = .notLeader(
                    NotLeader(group: RaftGroupID(shard), leaderNodeID: hint, leaderAddress: addresses[hint] ?? ""))
            case .retryLater(let reason):
                body = .retryLater(RetryLater(reason: reason == .transferInProgress ? .leaderTransferInProgress : .overloaded))
            case .unknownShard:
                body = .notLeader(NotLeader(group: RaftGroupID(shard), leaderNodeID: 0, leaderAddress: ""))
            case .unavailable:
                body = .retryLater(RetryLater(reason: .shuttingDown))
            }
            channel.eventLoop.execute {
                let handler = loopBound.value
                handler.outstanding.remove(requestID)
                Self.write(channel, ClientResponse(requestID: requestID, body: body))
            }
        }
    }

    /// Registers a subscription with the node's feed (between two loop passes) and answers
    /// `Subscribed` before its first report: both go through this event loop in that order.
    private func subscribe(_ channelContext: ChannelHandlerContext, requestID: UInt64, _ request: SubscribeRequest) {
        if subscriptions.count + subscribing >= context.maxSubscriptions {
            fail(
                channelContext, requestID: requestID,
                ProtocolError(
                    code: .tooManySubscriptions, message: "more than \(context.maxSubscriptions) subscriptions"))
            return
        }
        let shard: UInt32?
        if let symbol = request.symbol {
            guard let known = context.shardOfSymbol[symbol] else {
                respond(
                    channelContext,
                    ClientResponse(
                        requestID: requestID,
                        body: .notLeader(NotLeader(group: RaftGroupID(0), leaderNodeID: 0, leaderAddress: ""))))
                return
            }
            shard = known
        } else {
            shard = nil
        }
        outstanding.insert(requestID)
        subscribing += 1
        let channel = channelContext.channel
        let loopBound = NIOLoopBound(self, eventLoop: channelContext.eventLoop)
        let feed = context.runtime.executionFeed
        let subscriber = ChannelExecutionSubscriber(
            channel: channel, requestID: requestID,
            filter: ExecutionFilter(participant: request.participant, symbol: request.symbol),
            backlogBytesMax: context.subscriptionBacklogBytesMax, closeGrace: context.streamCloseGrace
        ) { slowConsumer in
            // On the event loop: the subscriber ended itself (slow consumer, node stopping).
            let handler = loopBound.value
            handler.closing = true
            if let removed = handler.subscriptions.removeValue(forKey: requestID), let id = removed.feedID {
                feed.remove(id, slowConsumer: slowConsumer)
            }
            if slowConsumer {
                handler.context.logger.notice(
                    "slow consumer: subscription ended", metadata: ["client.request_id": "\(requestID)"])
            }
        }
        context.runtime.subscribe(shard: shard, subscriber) { outcome in
            // On the node loop thread, before the first batch for this subscriber is published.
            channel.eventLoop.execute {
                let handler = loopBound.value
                handler.outstanding.remove(requestID)
                handler.subscribing -= 1
                let body: ClientResponse.Body
                switch outcome {
                case .subscribed(let id, let logIndex):
                    subscriber.feedID = id
                    guard channel.isActive, !handler.closing else {
                        feed.remove(id)
                        subscriber.connectionClosed()
                        return
                    }
                    handler.subscriptions[requestID] = subscriber
                    body = .subscribed(Subscribed(logIndex: logIndex))
                case .unknownShard:
                    body = .notLeader(
                        NotLeader(group: RaftGroupID(shard ?? 0), leaderNodeID: 0, leaderAddress: ""))
                case .unavailable:
                    body = .retryLater(RetryLater(reason: .shuttingDown))
                }
                Self.write(channel, ClientResponse(requestID: requestID, body: body))
            }
        }
    }

    func channelInactive(context channelContext: ChannelHandlerContext) {
        closing = true
        let feed = context.runtime.executionFeed
        for subscriber in subscriptions.values {
            subscriber.connectionClosed()
            if let id = subscriber.feedID { feed.remove(id) }
        }
        subscriptions.removeAll()
        channelContext.fireChannelInactive()
    }

    private func orderStatus(_ channelContext: ChannelHandlerContext, requestID: UInt64, _ query: OrderStatusQuery) {
        guard let shard = context.shardOfSymbol[query.symbol] else {
            respond(
                channelContext,
                ClientResponse(requestID: requestID, body: .orderStatus(OrderStatusResult(appliedIndex: 0, status: nil))))
            return
        }
        outstanding.insert(requestID)
        let loopBound = NIOLoopBound(self, eventLoop: channelContext.eventLoop)
        let channel = channelContext.channel
        context.runtime.inspect({ host -> OrderStatusResult? in
            guard let replica = host.replicas[shard] else { return nil }
            let status = replica.engine.order(query.orderID)
            let owned = status.map { $0.participant == query.participant } ?? false
            return OrderStatusResult(appliedIndex: replica.appliedIndex, status: owned ? status : nil)
        }) { result in
            channel.eventLoop.execute {
                loopBound.value.outstanding.remove(requestID)
                let answer = (result ?? nil) ?? OrderStatusResult(appliedIndex: 0, status: nil)
                Self.write(channel, ClientResponse(requestID: requestID, body: .orderStatus(answer)))
            }
        }
    }

    private static func unknownSymbol(_ command: Command) -> CommandResult {
        let (participant, clientOrderID, symbol, orderID): (ParticipantID, ClientOrderID, Symbol, OrderID) =
            switch command {
            case .newOrder(let order): (order.participant, order.clientOrderID, order.symbol, OrderID(0))
            case .cancel(let cancel): (cancel.participant, cancel.clientOrderID, cancel.symbol, cancel.orderID)
            case .replace(let replace): (replace.participant, replace.clientOrderID, replace.symbol, replace.orderID)
            default: (ParticipantID(0), ClientOrderID(0), Symbol("?"), OrderID(0))
            }
        return CommandResult(
            participant: participant, clientOrderID: clientOrderID, orderID: orderID, symbol: symbol,
            outcome: .rejected(.unknownSymbol), orderState: .unknown, leavesQuantity: Quantity(0), logIndex: 0,
            timestamp: .zero)
    }

    private func respond(_ channelContext: ChannelHandlerContext, _ response: ClientResponse) {
        Self.write(channelContext.channel, response)
    }

    private static func write(_ channel: any Channel, _ response: ClientResponse) {
        var bytes: [UInt8] = []
        response.encodeFrame(into: &bytes)
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// Sends a protocol error, then closes the connection.
    private func fail(_ channelContext: ChannelHandlerContext, requestID: UInt64, _ error: ProtocolError) {
        closing = true
        context.logger.notice(
            "client protocol error", metadata: ["code": "\(error.code)", "message": "\(error.message)"])
        var bytes: [UInt8] = []
        ClientResponse(requestID: requestID, body: .protocolError(error)).encodeFrame(into: &bytes)
        var buffer = channelContext.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        let channel = channelContext.channel
        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context channelContext: ChannelHandlerContext, error: any Error) {
        if let wireError = error as? WireError {
            fail(channelContext, requestID: 0, ProtocolError(wireError))
        } else {
            channelContext.close(promise: nil)
        }
    }
}
