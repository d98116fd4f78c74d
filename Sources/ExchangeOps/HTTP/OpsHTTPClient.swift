import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A complete HTTP response as `OpsHTTPClient` returns it.
public struct OpsHTTPResponse: Sendable, Hashable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body decoded as UTF-8 (invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A minimal HTTP/1.1 client for the nodes' status endpoints: one request per connection (`Connection: close`),
/// a whole-call deadline, bounded response size, typed errors.
///
/// Runs on NIO's shared event loop group, so awaiting it never blocks the cooperative pool.
public enum OpsHTTPClient {
    /// Largest response body accepted. Default: 64 MiB (an audit page of 100,000 lines is about 8 MiB).
    public static let responseBytesMax = 64 << 20

    /// Sends `method path` to `host:port` and returns the response, whatever its status.
    ///
    /// - Throws: `connectionRefused`, `connectionFailed`, `timeout` (connect plus response exceeded `timeout`),
    ///   `connectionClosed`, `responseTooLarge`, `cancelled`.
    public static func request(
        _ method: String, host: String, port: Int, path: String, timeout: Duration
    ) async throws(OpsError) -> OpsHTTPResponse {
        guard (1...65_535).contains(port) else { throw OpsError(.invalidArgument, "port \(port) is out of range") }
        let target = "\(host.contains(":") ? "[\(host)]" : host):\(port)"
        let nanoseconds = max(1, timeout.nanoseconds)
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: OpsHTTPResponse.self)
        let deadline = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            promise.fail(OpsError(.timeout, "no answer from \(target) to \(method) \(path) within \(timeout)"))
        }
        // The connect timeout is longer than the whole-call deadline so that the deadline (a `timeout` error)
        // always fires first, whatever NIO wraps a connect timeout in.
        let connectNanoseconds = nanoseconds > Int64.max - 1_000_000_000 ? Int64.max : nanoseconds + 1_000_000_000
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(connectNanoseconds))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        ResponseCollector(promise: promise, target: target, bytesMax: responseBytesMax))
                }
            }
        let headers = HTTPHeaders([
            ("Host", target), ("Connection", "close"), ("Content-Length", "0"), ("User-Agent", "exchangectl"),
        ])
        let head = HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: headers)
        bootstrap.connect(host: host, port: port).whenComplete { result in
            switch result {
            case .failure(let error):
                promise.fail(connectError(error, target: target, timeout: timeout))
            case .success(let channel):
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { error in
                    promise.fail(OpsError(.connectionClosed, "cannot send the request to \(target): \(error)"))
                }
            }
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(OpsError(.cancelled, "request to \(target) cancelled"))
            }
        } catch let error as OpsError {
            throw error
        } catch {
            throw OpsError(.connectionFailed, "\(method) \(path) to \(target) failed: \(error)")
        }
    }

    /// `GET path`; throws `badStatus` unless the status is 200.
    public static func get(host: String, port: Int, path: String, timeout: Duration) async throws(OpsError)
        -> OpsHTTPResponse
    {
        let response = try await request("GET", host: host, port: port, path: path, timeout: timeout)
        try expectOK(response, "GET", path, host: host, port: port)
        return response
    }

    /// Throws `badStatus` (with the body) unless `response` is a 200.
    static func expectOK(_ response: OpsHTTPResponse, _ method: String, _ path: String, host: String, port: Int)
        throws(OpsError)
    {
        guard response.status == 200 else {
            throw OpsError(
                .badStatus, "\(method) \(path) on \(host):\(port) answered \(response.status)",
                httpStatus: response.status, body: String(response.text.prefix(4096)))
        }
    }

    private static func connectError(_ error: any Error, target: String, timeout: Duration) -> OpsError {
        if case ChannelError.connectTimeout = error {
            return OpsError(.timeout, "cannot connect to \(target) within \(timeout)")
        }
        if isRefused(error) { return OpsError(.connectionRefused, "connection refused by \(target)") }
        return OpsError(.connectionFailed, "cannot connect to \(target): \(error)")
    }

    private static func isRefused(_ error: any Error) -> Bool {
        if let error = error as? IOError { return error.errnoCode == ECONNREFUSED }
        if let error = error as? NIOConnectionError {
            return !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { isRefused($0.error) }
        }
        return false
    }
}

/// Gathers one response and completes the promise; fails it when the connection ends early.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<OpsHTTPResponse>
    private let target: String
    private let bytesMax: Int
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var done = false

    init(promise: EventLoopPromise<OpsHTTPResponse>, target: String, bytesMax: Int) {
        self.promise = promise
        self.target = target
        self.bytesMax = bytesMax
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= bytesMax else {
                finish(.failure(OpsError(.responseTooLarge, "response from \(target) exceeds \(bytesMax) bytes")))
                context.close(promise: nil)
                return
            }
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else {
                finish(.failure(OpsError(.connectionClosed, "response from \(target) has no head")))
                return
            }
            var headers: [String: String] = [:]
            for (name, value) in head.headers { headers[name.lowercased()] = value }
            finish(.success(OpsHTTPResponse(status: Int(head.status.code), headers: headers, body: body)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(OpsError(.connectionClosed, "\(target) closed the connection before the response ended")))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(OpsError(.connectionClosed, "bad response from \(target): \(error)")))
        context.close(promise: nil)
    }

    private func finish(_ result: Result<OpsHTTPResponse, OpsError>) {
        guard !done else { return }
        done = true
        switch result {
        case .success(let response): promise.succeed(response)
        case .failure(let error): promise.fail(error)
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let total = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if total.overflow { return Int64.max }
        return total.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
