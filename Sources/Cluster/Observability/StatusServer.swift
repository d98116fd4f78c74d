public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
import NIOPosix
public import Prometheus

/// Settings of the node's HTTP status server.
public struct StatusServerConfiguration: Sendable, Hashable {
    /// Address to listen on (the node's metrics address). Default: "127.0.0.1".
    public var host: String
    /// Port to listen on; 0 picks a free one (tests). Default: 9100. Range: 0...65535.
    public var port: Int
    /// Connections idle this long are closed, so scrapers cannot hold sockets forever. Default: 60,000.
    /// Range: 1...3,600,000.
    public var idleTimeoutMilliseconds: Int

    public init(host: String = "127.0.0.1", port: Int = 9_100, idleTimeoutMilliseconds: Int = 60_000) {
        self.host = host
        self.port = port
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
    }

    public func validate() throws(StatusServerError) {
        if host.isEmpty { throw StatusServerError(.invalidConfiguration, "host must not be empty") }
        if !(0...65_535).contains(port) { throw StatusServerError(.invalidConfiguration, "port must be in 0...65535") }
        if !(1...3_600_000).contains(idleTimeoutMilliseconds) {
            throw StatusServerError(.invalidConfiguration, "idleTimeoutMilliseconds must be in 1...3600000")
        }
    }
}

/// An operating error of the status server.
public struct StatusServerError: Error, Sendable, CustomStringConvertible {
    public enum Code: UInt16, Sendable, Hashable {
        case invalidConfiguration = 1
        case bindFailed = 2
        /// `start()` called twice, or after `stop()`.
        case invalidState = 3
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "StatusServerError(\(code)): \(message): \(underlying)" }
        return "StatusServerError(\(code)): \(message)"
    }
}

/// A small HTTP/1.1 server on SwiftNIO for operators and Prometheus: `GET /metrics`, `GET /status`,
/// `GET /healthz` (see `StatusRoutes`).
///
/// Requests are answered on the connection's event loop from thread-safe sources only: the registry's own lock
/// and the status provider (a `NodeStatusBox` read), never from the node loop's state, so a busy node loop
/// cannot stall a scrape and a scrape cannot block the node loop.
///
/// - Important: call `start()` once, then `stop()` once; `stop()` must complete before the event loop group
///   passed in is shut down.
public final class StatusServer: Sendable {
    private enum Phase { case created, starting, running, stopped }

    private struct State {
        var phase = Phase.created
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    public let configuration: StatusServerConfiguration
    private let routes: StatusRoutes
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    /// - Parameters:
    ///   - registry: rendered on `GET /metrics` (usually `NodeMetrics.registry`).
    ///   - group: event loops to serve on; nil uses NIO's shared singleton group (never shut down).
    ///   - status: the current status for `GET /status`; runs on an event loop, so it must be cheap,
    ///     non-blocking and thread-safe (e.g. `{ box.current }` of a `NodeStatusBox`).
    public init(
        configuration: StatusServerConfiguration, registry: PrometheusCollectorRegistry,
        group: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "exchange.status-server"),
        status: @escaping @Sendable () -> NodeStatus?,
        shardAdmin: (@Sendable (ShardAdminRequest, @escaping @Sendable (StatusRoutes.Response) -> Void) -> Void)? = nil
    ) throws(StatusServerError) {
        try configuration.validate()
        self.configuration = configuration
        self.routes = StatusRoutes(registry: registry, status: status, shardAdmin: shardAdmin)
        self.group = group ?? MultiThreadedEventLoopGroup.singleton
        self.logger = logger
    }

    /// Binds the listener. Returns the bound port (the ephemeral one when `port` is 0).
    ///
    /// - Throws: `.invalidState` when called twice or after `stop()`; `.bindFailed` when the address is taken.
    @discardableResult
    public func start() async throws(StatusServerError) -> Int {
        let fresh = state.withLockedValue { state in
            guard state.phase == .created else { return false }
            state.phase = .starting
            return true
        }
        guard fresh else { throw StatusServerError(.invalidState, "start() may be called once, before stop()") }
        let routes = routes
        let idle = TimeAmount.milliseconds(Int64(configuration.idleTimeoutMilliseconds))
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard self.register(channel) else {
                        throw StatusServerError(.invalidState, "stopping")
                    }
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idle))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(StatusHTTPHandler(routes: routes))
                }
            }
        let server: any Channel
        do {
            server = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            state.withLockedValue { $0.phase = .stopped }
            throw StatusServerError(
                .bindFailed, "cannot listen on \(configuration.host):\(configuration.port)", underlying: error)
        }
        let stoppedMeanwhile = state.withLockedValue { state in
            guard state.phase == .starting else { return true }
            state.phase = .running
            state.serverChannel = server
            return false
        }
        if stoppedMeanwhile {
            try? await server.close()
            throw StatusServerError(.invalidState, "stop() was called during start()")
        }
        let port = server.localAddress?.port ?? configuration.port
        logger.info("status server listening", metadata: ["status.address": "\(configuration.host):\(port)"])
        return port
    }

    /// The port the listener is bound to; nil before `start()` and after `stop()`.
    public var boundPort: Int? {
        state.withLockedValue { $0.serverChannel?.localAddress?.port }
    }

    /// Closes the listener and every open connection. Idempotent.
    public func stop() async {
        let (server, connections): ((any Channel)?, [any Channel]) = state.withLockedValue { state in
            let server = state.serverChannel
            let connections = Array(state.connections.values)
            state.phase = .stopped
            state.serverChannel = nil
            state.connections.removeAll()
            return (server, connections)
        }
        try? await server?.close()
        for connection in connections {
            connection.close(promise: nil)
            try? await connection.closeFuture.get()
        }
        if server != nil { logger.info("status server stopped") }
    }

    /// Tracks an accepted connection until it closes; false when the server is stopping (the caller refuses it).
    private func register(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let accepted = state.withLockedValue { state in
            guard state.phase == .running || state.phase == .starting else { return false }
            state.connections[id] = channel
            return true
        }
        guard accepted else { return false }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLockedValue { $0.connections.removeValue(forKey: id) }
        }
        return true
    }
}
