import ClusterConfig
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Wire

/// One TCP connection from the client to one node's client port, for the connection's whole life: once it closes
/// (or fails to open) it stays closed and `ExchangeClient` opens a new one on the next request to that node.
///
/// Holds the requests in flight by request id (unique per connection: a counter from 1) and the request slots:
/// at most `maxOutstanding` requests are in flight; a caller beyond that waits in a FIFO bounded by `maxWaiting`.
/// State sits behind one short lock, never held across I/O or while resuming a continuation.
final class NodeConnection: Sendable {
    typealias ReportStream = AsyncThrowingStream<ExecutionReport, any Error>

    private struct Pending {
        /// nil once the caller got its timeout: the node still counts the request, so its slot stays taken until
        /// the late answer arrives or the connection closes.
        var continuation: CheckedContinuation<ClientResponse, any Error>?
        var timeout: Scheduled<Void>?
    }

    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>?
        var timeout: Scheduled<Void>?
    }

    private struct State {
        var connect: EventLoopFuture<any Channel>?
        var channel: (any Channel)?
        /// Set once the connection is unusable; every later call fails with it.
        var failure: ExchangeClientError?
        var nextRequestID: UInt64 = 1
        var pending: [UInt64: Pending] = [:]
        /// Active subscriptions by their subscribe request's id.
        var subscriptions: [UInt64: ReportStream.Continuation] = [:]
        /// Slots taken: requests in flight plus callers between acquiring a slot and registering the request.
        var slotsInUse = 0
        /// Callers waiting for a slot, FIFO from `waitersHead`; an entry whose wait timed out keeps its place with
        /// a nil continuation and is skipped.
        var waiters: [Waiter] = []
        var waitersHead = 0
        var waitingCount = 0
        var nextWaiterID: UInt64 = 1

        mutating func popWaiter() -> CheckedContinuation<Void, any Error>? {
            while waitersHead < waiters.count {
                let waiter = waiters[waitersHead]
                waitersHead += 1
                if waitersHead == waiters.count || waitersHead >= 1_024 {
                    waiters.removeFirst(waitersHead)
                    waitersHead = 0
                }
                if let continuation = waiter.continuation {
                    waitingCount -= 1
                    waiter.timeout?.cancel()
                    return continuation
                }
            }
            return nil
        }

        /// Frees one slot: hands it straight to the first waiter (returned, to be resumed outside the lock).
        mutating func releaseSlot() -> CheckedContinuation<Void, any Error>? {
            // After a failure the slots no longer matter (every waiter was failed).
            if failure != nil { return nil }
            if let waiter = popWaiter() { return waiter }
            slotsInUse -= 1
            assert(slotsInUse >= 0, "request slot released twice")
            return nil
        }
    }

    let address: NetworkAddress
    let maxOutstanding: Int
    let maxWaiting: Int
    let requestTimeout: TimeAmount
    /// The connection's event loop: its channel and every timer of the connection run on it.
    let eventLoop: any EventLoop
    private let state: NIOLockedValueBox<State>

    private init(
        address: NetworkAddress, maxOutstanding: Int, maxWaiting: Int, requestTimeout: TimeAmount,
        eventLoop: any EventLoop
    ) {
        self.address = address
        self.eventLoop = eventLoop
        self.maxOutstanding = maxOutstanding
        self.maxWaiting = maxWaiting
        self.requestTimeout = requestTimeout
        state = NIOLockedValueBox(State())
    }

    /// Starts dialling `address`; the connection is usable at once (callers wait for the connect).
    static func open(
        to address: NetworkAddress, group: any EventLoopGroup, configuration: ExchangeClientConfiguration
    ) -> NodeConnection {
        let connection = NodeConnection(
            address: address, maxOutstanding: configuration.maxOutstandingRequestsPerConnection,
            maxWaiting: configuration.maxWaitingCallersPerConnection,
            requestTimeout: .nanoseconds(configuration.requestTimeout.nanoseconds), eventLoop: group.next())
        let future = ClientBootstrap(group: connection.eventLoop)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(ClientFrameDecoder(maxFrameBytes: Frame.clientMaxFrameBytesDefault)),
                        ClientResponseHandler(connection: connection))
                }
            }
            .connect(host: address.host, port: Int(address.port))
        connection.state.withLockedValue { $0.connect = future }
        future.whenComplete { result in
            switch result {
            case .success(let channel):
                let closeNow = connection.state.withLockedValue { state -> Bool in
                    state.channel = channel
                    return state.failure != nil
                }
                if closeNow { channel.close(promise: nil) }
            case .failure(let error):
                connection.fail(ExchangeClientError(.connectionFailed, "connecting to \(address): \(error)"))
            }
        }
        return connection
    }

    /// True once the connection can no longer be used.
    var isClosed: Bool { state.withLockedValue { $0.failure != nil } }

    /// Requests in flight and callers waiting for a slot (for tests and counters).
    var load: (inFlight: Int, waiting: Int) {
        state.withLockedValue { ($0.pending.count, $0.waitingCount) }
    }

    // MARK: Requests

    /// Sends one request and waits for the answer with the same request id.
    ///
    /// Waits first for a request slot (back-pressure) and for the connect.
    /// - Throws: `ExchangeClientError` (`connectionFailed`, `connectionLost`, `timeout`, `overloaded` when the
    ///   waiting queue is full, `protocolError`, `malformedResponse`).
    /// - Parameter subscription: for a `subscribe` request: the stream that receives the execution reports carrying
    ///   this request's id. It is registered before the request is written, so no report is missed; it is
    ///   finished (and dropped) when the answer is not `Subscribed`, when the connection fails, or when the
    ///   consumer falls more than the stream's buffer behind.
    func send(_ body: ClientRequest.Body, subscription: ReportStream.Continuation? = nil) async throws -> ClientResponse
    {
        try await acquireSlot()
        let connect: EventLoopFuture<any Channel>
        do {
            connect = try state.withLockedValue { state -> Result<EventLoopFuture<any Channel>, ExchangeClientError> in
                if let failure = state.failure { return .failure(failure) }
                return .success(state.connect!)
            }.get()
        } catch {
            releaseSlot()
            throw error
        }
        let channel: any Channel
        do {
            channel = try await connect.get()
        } catch {
            releaseSlot()
            throw ExchangeClientError(.connectionFailed, "connecting to \(address): \(error)")
        }
        return try await withCheckedThrowingContinuation { continuation in
            let registered = state.withLockedValue { state -> Result<UInt64, ExchangeClientError> in
                if let failure = state.failure { return .failure(failure) }
                let id = state.nextRequestID
                state.nextRequestID += 1
                state.pending[id] = Pending(continuation: continuation, timeout: nil)
                if let subscription { state.subscriptions[id] = subscription }
                return .success(id)
            }
            let requestID: UInt64
            switch registered {
            case .failure(let error):
                releaseSlot()
                subscription?.finish(throwing: error)
                continuation.resume(throwing: error)
                return
            case .success(let id):
                requestID = id
            }
            let timeout = channel.eventLoop.scheduleTask(in: requestTimeout) { [self] in
                timedOut(requestID)
            }
            let keep = state.withLockedValue { state -> Bool in
                guard state.pending[requestID] != nil else { return false }
                state.pending[requestID]!.timeout = timeout
                return true
            }
            if !keep { timeout.cancel() }
            let frame = ClientRequest(requestID: requestID, body: body).encodedFrame()
            channel.writeAndFlush(ByteBuffer(bytes: frame)).whenFailure { [self] error in
                fail(ExchangeClientError(.connectionLost, "writing to \(address): \(error)"))
                channel.close(promise: nil)
            }
        }
    }

    private func acquireSlot() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = state.withLockedValue { state -> ExchangeClientError?? in
                if let failure = state.failure { return .some(failure) }
                if state.slotsInUse < maxOutstanding {
                    state.slotsInUse += 1
                    return .some(nil)
                }
                if state.waitingCount >= maxWaiting {
                    return .some(
                        ExchangeClientError(
                            .overloaded, "\(maxWaiting) callers already wait for a request slot to \(address)"))
                }
                let id = state.nextWaiterID
                state.nextWaiterID += 1
                state.waiters.append(Waiter(id: id, continuation: continuation, timeout: nil))
                state.waitingCount += 1
                state.waiters[state.waiters.count - 1].timeout = eventLoop.scheduleTask(in: requestTimeout) {
                    [self] in
                    waitTimedOut(id)
                }
                return .none
            }
            switch outcome {
            case .none: break
            case .some(.none): continuation.resume()
            case .some(.some(let error)): continuation.resume(throwing: error)
            }
        }
    }

    private func waitTimedOut(_ id: UInt64) {
        let continuation = state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
            guard let index = state.waiters[state.waitersHead...].firstIndex(where: { $0.id == id }),
                let continuation = state.waiters[index].continuation
            else { return nil }
            state.waiters[index].continuation = nil
            state.waiters[index].timeout = nil
            state.waitingCount -= 1
            return continuation
        }
        continuation?.resume(
            throwing: ExchangeClientError(
                .timeout, "no request slot to \(address) freed within \(requestTimeout)"))
    }

    private func releaseSlot() {
        state.withLockedValue { $0.releaseSlot() }?.resume()
    }

    /// The caller of `requestID` stops waiting. When every slot is then held by a timed-out request the node
    /// looks stuck (e.g. a stopped process whose socket stays open): the connection is closed so that the callers
    /// waiting for a slot fail over instead of waiting for answers that may never come.
    private func timedOut(_ requestID: UInt64) {
        let (continuation, stuck, subscription) = state.withLockedValue {
            state -> (CheckedContinuation<ClientResponse, any Error>?, Bool, ReportStream.Continuation?) in
            guard let pending = state.pending[requestID] else { return (nil, false, nil) }
            state.pending[requestID]!.continuation = nil
            state.pending[requestID]!.timeout = nil
            let stuck =
                state.pending.count >= maxOutstanding && state.pending.values.allSatisfy { $0.continuation == nil }
            return (pending.continuation, stuck, state.subscriptions.removeValue(forKey: requestID))
        }
        subscription?.finish()
        continuation?.resume(
            throwing: ExchangeClientError(.timeout, "no answer from \(address) within \(requestTimeout)"))
        if stuck {
            fail(
                ExchangeClientError(
                    .connectionLost, "closed: all \(maxOutstanding) request slots held by requests that timed out"))
        }
    }

    // MARK: Events from the channel

    /// An answer or an execution report arrived.
    func received(_ response: ClientResponse) {
        if case .executionReport(let report) = response.body {
            guard let stream = state.withLockedValue({ $0.subscriptions[response.requestID] }) else { return }
            switch stream.yield(report) {
            case .enqueued:
                break
            case .dropped:
                state.withLockedValue { _ = $0.subscriptions.removeValue(forKey: response.requestID) }
                stream.finish(
                    throwing: ExchangeClientError(
                        .overloaded, "the consumer of the execution stream from \(address) fell too far behind"))
            case .terminated:
                // The consumer stopped listening; the protocol has no unsubscribe, so later reports are dropped.
                state.withLockedValue { _ = $0.subscriptions.removeValue(forKey: response.requestID) }
            @unknown default:
                break
            }
            return
        }
        if case .protocolError(let error) = response.body {
            fail(
                ExchangeClientError(.connectionLost, "\(address) closed the connection after a protocol error"),
                request: response.requestID,
                with: ExchangeClientError(.protocolError(error.code), "\(address): \(error.message)"))
            return
        }
        let (continuation, waiter, unusedStream) = state.withLockedValue {
            state -> (
                CheckedContinuation<ClientResponse, any Error>?, CheckedContinuation<Void, any Error>?,
                ReportStream.Continuation?
            ) in
            guard let pending = state.pending.removeValue(forKey: response.requestID) else { return (nil, nil, nil) }
            pending.timeout?.cancel()
            var unusedStream: ReportStream.Continuation?
            if case .subscribed = response.body {
            } else {
                unusedStream = state.subscriptions.removeValue(forKey: response.requestID)
            }
            return (pending.continuation, state.releaseSlot(), unusedStream)
        }
        unusedStream?.finish()
        waiter?.resume()
        continuation?.resume(returning: response)
    }

    /// Makes the connection unusable: every request in flight, every subscription and every waiting caller fails
    /// with `error`, except `request` (a request in flight, or the subscription it started: e.g. a slow consumer),
    /// which fails with `requestError`. The caller closes the channel.
    func fail(_ error: ExchangeClientError, request: UInt64 = 0, with requestError: ExchangeClientError? = nil) {
        let (pending, waiters, channel, subscriptions) = state.withLockedValue { state in
            if state.failure == nil { state.failure = error }
            let pending = state.pending
            state.pending = [:]
            let subscriptions = state.subscriptions
            state.subscriptions = [:]
            let waiters = state.waiters[state.waitersHead...]
            state.waiters = []
            state.waitersHead = 0
            state.waitingCount = 0
            state.slotsInUse = 0
            return (pending, waiters, state.channel, subscriptions)
        }
        for (id, stream) in subscriptions { stream.finish(throwing: id == request ? (requestError ?? error) : error) }
        for (id, entry) in pending {
            entry.timeout?.cancel()
            entry.continuation?.resume(throwing: id == request ? (requestError ?? error) : error)
        }
        for waiter in waiters {
            waiter.timeout?.cancel()
            waiter.continuation?.resume(throwing: error)
        }
        channel?.close(promise: nil)
    }
}

/// Cuts the client connection's byte stream into frames (`Wire.FrameDecoder` in a `ByteToMessageDecoder`).
struct ClientFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Frame

    private var decoder: FrameDecoder

    init(maxFrameBytes: Int) {
        decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if buffer.readableBytes > 0 {
            decoder.append(buffer.readableBytesView)
            buffer.moveReaderIndex(to: buffer.writerIndex)
        }
        while let frame = try decoder.next() {
            context.fireChannelRead(wrapInboundOut(frame))
        }
        return .needMoreData
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Decodes response frames and hands them to the connection; a closed channel or undecodable bytes fail it.
final class ClientResponseHandler: ChannelInboundHandler {
    typealias InboundIn = Frame

    private let connection: NodeConnection

    init(connection: NodeConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        do {
            connection.received(try ClientResponse(decoding: frame))
        } catch {
            connection.fail(ExchangeClientError(.malformedResponse, "from \(connection.address): \(error)"))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let code: ExchangeClientError.Code = error is WireError ? .malformedResponse : .connectionLost
        connection.fail(ExchangeClientError(code, "connection to \(connection.address): \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.fail(ExchangeClientError(.connectionLost, "\(connection.address) closed the connection"))
        context.fireChannelInactive()
    }
}
