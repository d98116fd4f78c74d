import NIOCore
import NIOPosix
import Synchronization

/// A tiny HTTP/1.1 server for tests: reads a request head, answers from `route`, closes. Raw bytes, no NIOHTTP1,
/// so that what the client parses is exactly what is written here.
final class FakeHTTPServer: Sendable {
    struct Response: Sendable {
        var status: Int
        var body: String
        var contentType = "application/json"
        /// Never answer (for timeouts).
        var hang = false

        static func json(_ body: String, status: Int = 200) -> Response { Response(status: status, body: body) }
        static func text(_ body: String, status: Int = 200) -> Response {
            Response(status: status, body: body, contentType: "text/plain")
        }
        static let hanging = Response(status: 0, body: "", hang: true)
    }

    typealias Route = @Sendable (_ method: String, _ uri: String) -> Response

    private let channel: any Channel
    private let route: Mutex<Route>
    /// Every request line received, `METHOD URI`.
    let requests = Mutex<[String]>([])

    var port: Int { channel.localAddress!.port! }

    private init(channel: any Channel, route: @escaping Route) {
        self.channel = channel
        self.route = Mutex(route)
    }

    static func start(_ route: @escaping Route) async throws -> FakeHTTPServer {
        let box = RouteBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawHTTPHandler(server: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = FakeHTTPServer(channel: channel, route: route)
        box.server.withLock { $0 = server }
        return server
    }

    func setRoute(_ route: @escaping Route) { self.route.withLock { $0 = route } }

    func respond(method: String, uri: String) -> Response {
        requests.withLock { $0.append("\(method) \(uri)") }
        let route = self.route.withLock { $0 }
        return route(method, uri)
    }

    func stop() async {
        try? await channel.close()
    }
}

final class RouteBox: Sendable {
    let server = Mutex<FakeHTTPServer?>(nil)
}

private final class RawHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: RouteBox
    private var received: [UInt8] = []
    private var answered = false

    init(server: RouteBox) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        received.append(contentsOf: buffer.readableBytesView)
        guard !answered, let end = headEnd() else { return }
        answered = true
        let head = String(decoding: received[..<end], as: UTF8.self)
        let requestLine = head.split(separator: "\r\n").first.map(String.init) ?? ""
        let parts = requestLine.split(separator: " ")
        guard parts.count == 3, let server = server.server.withLock({ $0 }) else {
            context.close(promise: nil)
            return
        }
        let response = server.respond(method: String(parts[0]), uri: String(parts[1]))
        if response.hang { return }
        let body = Array(response.body.utf8)
        let text =
            "HTTP/1.1 \(response.status) Status\r\nContent-Type: \(response.contentType)\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var out = context.channel.allocator.buffer(capacity: text.utf8.count + body.count)
        out.writeString(text)
        out.writeBytes(body)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func headEnd() -> Int? {
        guard received.count >= 4 else { return nil }
        for index in 3..<received.count
        where received[index - 3] == 13 && received[index - 2] == 10 && received[index - 1] == 13
            && received[index] == 10
        {
            return index + 1
        }
        return nil
    }
}
