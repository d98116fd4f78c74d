import Logging
import NIOCore
import Raft
import Wire

/// Handler of a connection this node dialled: sends the handshake, waits for the answer, then carries the
/// peer's outbound queue. Lives on the channel's event loop only.
final class DialledConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private let transport: NodeTransport
    private let link: PeerLink
    private var established = false
    private var closing = false
    private var handshakeTimeout: Scheduled<Void>?

    init(transport: NodeTransport, link: PeerLink) {
        self.transport = transport
        self.link = link
    }

    private var logger: Logger {
        var logger = transport.logger
        logger[metadataKey: "peer.id"] = "\(link.peerID)"
        return logger
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        guard transport.channelOpened(channel), link.handshaking(channel) else {
            closing = true
            context.close(promise: nil)
            return
        }
        let configuration = transport.configuration
        let handshake = Handshake(
            clusterName: configuration.clusterName, nodeID: configuration.nodeID, peerNodeID: link.peerID)
        var buffer = context.channel.allocator.buffer(capacity: 128)
        buffer.writeBytes(NodeMessage.handshake(handshake).encodedFrame())
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        let transport = transport
        let link = link
        handshakeTimeout = context.eventLoop.scheduleTask(
            in: .milliseconds(Int64(configuration.connectTimeoutMilliseconds))
        ) {
            transport.countHandshakeTimeout()
            link.handshakeFailed()
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        closing = true
        transport.channelClosed(context.channel, acceptedFrom: nil)
        if link.connectionClosed(context.channel) {
            if established { logger.info("connection to peer lost") }
            transport.scheduleRedial(link)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let frame = unwrapInboundIn(data)
        let message: NodeMessage
        do {
            message = try NodeMessage(decoding: frame)
        } catch {
            protocolError(context: context, error)
            return
        }
        switch (established, message) {
        case (false, .handshakeAccept(let accept)):
            handshakeTimeout?.cancel()
            let configuration = transport.configuration
            guard
                HandshakePolicy.isAcceptable(
                    accept, clusterName: configuration.clusterName, expectedPeer: link.peerID)
            else {
                link.handshakeFailed()
                logger.warning(
                    "peer accepted with an unexpected identity",
                    metadata: ["handshake.cluster": "\(accept.clusterName)", "handshake.node": "\(accept.nodeID)"])
                close(context: context)
                return
            }
            established = true
            logger.info("connected to peer")
            if link.established(context.channel) { transport.drain(link) }
        case (false, .handshakeReject(let reject)):
            handshakeTimeout?.cancel()
            link.handshakeFailed()
            transport.countRejectReceived(reject.reason)
            logger.warning(
                "peer rejected the handshake",
                metadata: ["handshake.reason": "\(reject.reason)", "handshake.message": "\(reject.message)"])
            close(context: context)
        case (true, .raft(let envelope)):
            // The acceptor does not send on our connection today, but the protocol allows it.
            transport.deliver(from: link.peerID, envelope: envelope, byteCount: frame.encodedByteCount)
        default:
            protocolError(
                context: context,
                WireError(.unexpectedFrameKind, offset: 6, "\(frame.kind) not expected on a dialled connection"))
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if established && context.channel.isWritable { transport.drain(link) }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let wireError = error as? WireError {
            protocolError(context: context, wireError)
        } else {
            logger.debug("dialled connection failed", metadata: ["error": "\(error)"])
            close(context: context)
        }
    }

    private func protocolError(context: ChannelHandlerContext, _ error: any Error) {
        guard !closing else { return }
        transport.countDecodeError()
        if !established { link.handshakeFailed() }
        logger.warning("closing dialled connection: bad frame", metadata: ["error": "\(error)"])
        close(context: context)
    }

    private func close(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        context.close(promise: nil)
    }
}

/// Handler of a connection a peer dialled: checks the handshake, answers it, then delivers the peer's Raft
/// messages to the transport's inbound queue. Lives on the channel's event loop only.
final class AcceptedConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case awaitingHandshake
        case established(peer: NodeID)
        case closing
    }

    private let transport: NodeTransport
    private var phase = Phase.awaitingHandshake
    private var handshakeTimeout: Scheduled<Void>?
    private var peer: NodeID?

    init(transport: NodeTransport) {
        self.transport = transport
    }

    private var logger: Logger {
        var logger = transport.logger
        if let peer { logger[metadataKey: "peer.id"] = "\(peer)" }
        return logger
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        guard transport.channelOpened(channel) else {
            phase = .closing
            context.close(promise: nil)
            return
        }
        let transport = transport
        handshakeTimeout = context.eventLoop.scheduleTask(
            in: .milliseconds(Int64(transport.configuration.connectTimeoutMilliseconds))
        ) {
            transport.countHandshakeTimeout()
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        phase = .closing
        transport.channelClosed(context.channel, acceptedFrom: peer)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .closing = phase { return }
        let frame = unwrapInboundIn(data)
        let message: NodeMessage
        do {
            message = try NodeMessage(decoding: frame)
        } catch {
            protocolError(context: context, error)
            return
        }
        switch (phase, message) {
        case (.awaitingHandshake, .handshake(let handshake)):
            handshakeTimeout?.cancel()
            let configuration = transport.configuration
            let answer = HandshakePolicy.answer(
                to: handshake, clusterName: configuration.clusterName, nodeID: configuration.nodeID,
                knownPeers: transport.knownPeers)
            switch answer {
            case .accept(let accept):
                peer = handshake.nodeID
                phase = .established(peer: handshake.nodeID)
                write(.handshakeAccept(accept), context: context)
                if let previous = transport.acceptedEstablished(context.channel, from: handshake.nodeID) {
                    previous.close(promise: nil)
                }
                logger.info("accepted connection from peer")
            case .reject(let reject):
                transport.countRejectSent(reject.reason)
                logger.warning(
                    "rejected a handshake",
                    metadata: [
                        "handshake.reason": "\(reject.reason)", "handshake.cluster": "\(handshake.clusterName)",
                        "handshake.node": "\(handshake.nodeID)", "handshake.message": "\(reject.message)",
                    ])
                phase = .closing
                let channel = context.channel
                var buffer = channel.allocator.buffer(capacity: 64 + reject.message.utf8.count)
                buffer.writeBytes(NodeMessage.handshakeReject(reject).encodedFrame())
                context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
            }
        case (.established(let peer), .raft(let envelope)):
            transport.deliver(from: peer, envelope: envelope, byteCount: frame.encodedByteCount)
        default:
            protocolError(
                context: context,
                WireError(.unexpectedFrameKind, offset: 6, "\(frame.kind) not expected in this connection state"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let wireError = error as? WireError {
            protocolError(context: context, wireError)
        } else {
            logger.debug("accepted connection failed", metadata: ["error": "\(error)"])
            phase = .closing
            context.close(promise: nil)
        }
    }

    private func write(_ message: NodeMessage, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 128)
        buffer.writeBytes(message.encodedFrame())
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func protocolError(context: ChannelHandlerContext, _ error: any Error) {
        if case .closing = phase { return }
        phase = .closing
        transport.countDecodeError()
        logger.warning("closing accepted connection: bad frame", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
