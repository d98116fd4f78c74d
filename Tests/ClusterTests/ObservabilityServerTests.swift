import Cluster
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// A minimal HTTP/1.1 client on NIO for the status server tests: sends requests on one connection and collects
/// as many responses.
enum TestHTTPClient {
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart

        private let expected: Int
        private let promise: EventLoopPromise<[Response]>
        private var responses: [Response] = []
        private var head: HTTPResponseHead?
        private var body: [UInt8] = []

        init(expected: Int, promise: EventLoopPromise<[Response]>) {
            self.expected = expected
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                if let head { responses.append(Response(status: head.status, headers: head.headers, body: body)) }
                if responses.count == expected { promise.succeed(responses) }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ChannelError.inputClosed)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }

    /// Sends `requests` (method, path) on one keep-alive connection, the last with `Connection: close`.
    static func send(port: Int, _ requests: [(HTTPMethod, String)]) async throws -> [Response] {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: [Response].self)
        let count = requests.count
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Collector(expected: count, promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        for (index, (method, path)) in requests.enumerated() {
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "127.0.0.1")
            headers.add(name: "Connection", value: index == requests.count - 1 ? "close" : "keep-alive")
            let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        }
        defer { channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }

    static func get(port: Int, _ path: String) async throws -> Response {
        try await send(port: port, [(.GET, path)])[0]
    }
}

@Suite struct ObservabilityServerTests {
    /// Starts a status server on an ephemeral port around `body`, and stops it also when `body` throws.
    static func withServer(
        metrics: NodeMetrics, box: NodeStatusBox, _ body: (Int) async throws -> Void
    ) async throws {
        let server = try StatusServer(
            configuration: StatusServerConfiguration(host: "127.0.0.1", port: 0), registry: metrics.registry,
            status: { box.current })
        let port = try await server.start()
        #expect(port > 0)
        #expect(server.boundPort == port)
        do {
            try await body(port)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        #expect(server.boundPort == nil)
    }

    static func metrics() -> NodeMetrics {
        NodeMetrics(nodeID: 1, shardReplicas: [1: [1, 2, 3], 2: [1, 2, 3]], peers: [2, 3])
    }

    @Test func metricsEndpointServesPrometheusText() async throws {
        let metrics = Self.metrics()
        let box = NodeStatusBox()
        try await Self.withServer(metrics: metrics, box: box) { port in
            metrics.update(from: ObservabilityTestSupport.sampleStatus())
            metrics.recordSubmit(shard: 1, .queued)
            metrics.observeSync(seconds: 0.001)
            let response = try await TestHTTPClient.get(port: port, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers["Content-Type"].first?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(response.headers["Content-Length"].first == String(response.body.count))
            let text = response.text
            for name in [
                "# TYPE exchange_proposals_total counter", "# TYPE exchange_fsync_latency_seconds histogram",
                "# TYPE exchange_commit_latency_seconds histogram", "# TYPE exchange_raft_term gauge",
                "# TYPE exchange_follower_lag_entries gauge",
                "# TYPE exchange_transport_messages_dropped_total counter",
                "# TYPE exchange_elections_total counter", "# TYPE exchange_leader_changes_total counter",
            ] {
                #expect(text.contains(name), "missing \(name)")
            }
            let samples = ObservabilityTestSupport.samples(response.body)
            #expect(samples["exchange_proposals_total{shard=\"1\"}"] == 1)
            #expect(samples["exchange_follower_lag_entries{shard=\"1\",follower=\"3\"}"] == 30)
            #expect(samples["exchange_fsync_latency_seconds_count"] == 1)

            // A later scrape sees later updates (nothing is cached).
            metrics.recordSubmit(shard: 1, .queued)
            let again = ObservabilityTestSupport.samples(try await TestHTTPClient.get(port: port, "/metrics").body)
            #expect(again["exchange_proposals_total{shard=\"1\"}"] == 2)
        }
    }

    @Test func statusEndpointServesTheLatestPublishedStatus() async throws {
        let box = NodeStatusBox()
        try await Self.withServer(metrics: Self.metrics(), box: box) { port in
            let before = try await TestHTTPClient.get(port: port, "/status")
            #expect(before.status == .serviceUnavailable)

            let status = ObservabilityTestSupport.sampleStatus()
            box.publish(status)
            let response = try await TestHTTPClient.get(port: port, "/status")
            #expect(response.status == .ok)
            #expect(response.headers["Content-Type"].first == "application/json")
            #expect(try NodeStatus(jsonBytes: response.body) == status)
            #expect(response.body == (try status.jsonBytes()))
        }
    }

    @Test func healthzNotFoundAndMethodNotAllowed() async throws {
        try await Self.withServer(metrics: Self.metrics(), box: NodeStatusBox()) { port in
            let responses = try await TestHTTPClient.send(
                port: port,
                [
                    (.GET, "/healthz"), (.GET, "/nope"), (.POST, "/metrics"), (.DELETE, "/status"),
                    (.GET, "/healthz?x=1"),
                ])
            #expect(responses.map(\.status) == [.ok, .notFound, .methodNotAllowed, .methodNotAllowed, .ok])
            #expect(responses[0].text == "ok\n")
            #expect(responses[2].headers["Allow"].first == "GET")
        }
    }

    @Test(.timeLimit(.minutes(1))) func stopClosesKeepAliveConnections() async throws {
        let metrics = Self.metrics()
        let server = try StatusServer(
            configuration: StatusServerConfiguration(port: 0, idleTimeoutMilliseconds: 3_600_000),
            registry: metrics.registry, status: { nil })
        let port = try await server.start()
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: [TestHTTPClient.Response].self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        TestHTTPClient.Collector(expected: 1, promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1")
        channel.write(
            HTTPClientRequestPart.head(
                HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz", headers: headers)),
            promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        let responses = try await promise.futureResult.get()
        #expect(responses.first?.headers["Connection"].first == "keep-alive")
        #expect(channel.isActive)
        await server.stop()
        // Closed by the server's stop(), not by us: the idle timeout is an hour.
        try await channel.closeFuture.get()
        #expect(!channel.isActive)
    }

    @Test func startTwiceAndBindConflictAreErrors() async throws {
        let metrics = Self.metrics()
        let first = try StatusServer(
            configuration: StatusServerConfiguration(port: 0), registry: metrics.registry, status: { nil })
        let port = try await first.start()
        do {
            _ = try await first.start()
            Issue.record("second start() succeeded")
        } catch {
            #expect(error.code == .invalidState)
        }
        let second = try StatusServer(
            configuration: StatusServerConfiguration(port: port), registry: metrics.registry, status: { nil })
        do {
            _ = try await second.start()
            Issue.record("bind to a taken port succeeded")
            await second.stop()
        } catch {
            #expect(error.code == .bindFailed)
        }
        await first.stop()
        #expect(throws: StatusServerError.self) {
            _ = try StatusServer(
                configuration: StatusServerConfiguration(port: 70_000), registry: metrics.registry, status: { nil })
        }
    }
}
