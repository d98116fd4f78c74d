import ExchangeCore
import NIOCore
import Wire

/// One subscription of a client connection: writes the reports it wants to the channel, on the
/// channel's event loop, and bounds what it has written but the socket has not yet taken.
///
/// Backlog: bytes handed to `writeAndFlush` whose write has not completed (they sit in NIO's
/// outbound buffer because the kernel's socket buffer is full: the client does not read fast
/// enough). A batch that would take it beyond `backlogBytesMax` ends the subscription: no more
/// reports, a `ProtocolError(slowConsumer)` frame after the reports already queued, then the
/// connection closes once that frame is written or after `closeGrace`, whichever comes first.
///
/// @unchecked Sendable: the mutable state is touched only on `eventLoop` (every entry point
/// asserts it); the feed only calls `deliver`/`end` through `eventLoop.execute`.
final class ChannelExecutionSubscriber: ExecutionSubscriber, @unchecked Sendable {
    enum Phase {
        case streaming
        /// No more reports; the connection closes once the last write completes (or the grace ends).
        case closing
    }

    let eventLoop: any EventLoop
    let filter: ExecutionFilter
    let requestID: UInt64
    let backlogBytesMax: Int
    let closeGrace: TimeAmount
    private let channel: any Channel
    /// Called once (on the event loop) when the subscription ends by itself: slow consumer or
    /// node stopping; `true` for a slow consumer.
    private let onEnd: (Bool) -> Void

    /// The feed's id, set once registered.
    var feedID: UInt64?
    private(set) var phase = Phase.streaming
    private(set) var backlogBytes = 0
    private var lastWrite: EventLoopFuture<Void>?

    init(
        channel: any Channel, requestID: UInt64, filter: ExecutionFilter, backlogBytesMax: Int,
        closeGrace: TimeAmount, onEnd: @escaping (Bool) -> Void
    ) {
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.requestID = requestID
        self.filter = filter
        self.backlogBytesMax = backlogBytesMax
        self.closeGrace = closeGrace
        self.onEnd = onEnd
    }

    func deliver(_ batch: ExecutionBatch) {
        eventLoop.preconditionInEventLoop()
        guard phase == .streaming,
            let buffer = batch.frames(matching: filter, requestID: requestID, allocator: channel.allocator)
        else { return }
        let size = buffer.readableBytes
        guard backlogBytes + size <= backlogBytesMax else {
            slowConsumer()
            return
        }
        write(buffer)
    }

    func end(_ reason: ExecutionStreamEnd) {
        eventLoop.preconditionInEventLoop()
        guard phase == .streaming else { return }
        switch reason {
        case .fellBehind:
            slowConsumer()
        case .nodeStopping:
            phase = .closing
            onEnd(false)
            closeAfterLastWrite()
        }
    }

    /// The connection closed under the subscription: nothing more to write.
    func connectionClosed() {
        phase = .closing
    }

    private func write(_ buffer: ByteBuffer) {
        let size = buffer.readableBytes
        backlogBytes += size
        let written = channel.writeAndFlush(buffer)
        lastWrite = written
        written.whenComplete { [self] _ in backlogBytes -= size }
    }

    private func slowConsumer() {
        phase = .closing
        onEnd(true)
        var bytes: [UInt8] = []
        ClientResponse(
            requestID: requestID,
            body: .protocolError(
                ProtocolError(
                    code: .slowConsumer,
                    message: "subscription \(requestID) fell more than \(backlogBytesMax) bytes behind the stream"))
        ).encodeFrame(into: &bytes)
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        write(buffer)
        closeAfterLastWrite()
    }

    private func closeAfterLastWrite() {
        let channel = self.channel
        guard let lastWrite else {
            channel.close(promise: nil)
            return
        }
        let grace = eventLoop.scheduleTask(in: closeGrace) { channel.close(promise: nil) }
        lastWrite.whenComplete { _ in
            grace.cancel()
            channel.close(promise: nil)
        }
    }
}
