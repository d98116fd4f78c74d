public import NIOHTTP1
public import Prometheus

/// What the status server answers, as a pure function of the request line (testable without sockets).
///
/// - `GET /metrics`: the Prometheus text exposition of `registry`.
/// - `GET /status`: the current `NodeStatus` as JSON (503 before the node published one).
/// - `GET /healthz`: 200 `ok`.
/// - `/shards/{S}/...`: `ShardAdminRequest` (answered through `shardAdmin`, on the node loop).
/// - any other path: 404; a known path with another method: 405 with `Allow: GET`.
public struct StatusRoutes: Sendable {
    /// Content type of the Prometheus text format 0.0.4.
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    public struct Response: Sendable {
        public var status: HTTPResponseStatus
        public var contentType: String
        public var body: [UInt8]
        public var extraHeaders: [(String, String)]

        public static func text(_ status: HTTPResponseStatus, _ text: String, extraHeaders: [(String, String)] = []) -> Self {
            Response(
                status: status, contentType: "text/plain; charset=utf-8", body: Array((text + "\n").utf8),
                extraHeaders: extraHeaders)
        }
    }

    public let registry: PrometheusCollectorRegistry
    /// Must be cheap, non-blocking and thread-safe: it runs on an event loop per request (e.g. `NodeStatusBox`).
    public let status: @Sendable () -> NodeStatus?

    /// Answers a `ShardAdminRequest` (e.g. through `NodeRuntime.inspect`); calls back exactly once, on
    /// any thread. Nil: the `/shards/` endpoints answer 503.
    public let shardAdmin: (@Sendable (ShardAdminRequest, @escaping @Sendable (Response) -> Void) -> Void)?

    public init(
        registry: PrometheusCollectorRegistry, status: @escaping @Sendable () -> NodeStatus?,
        shardAdmin: (@Sendable (ShardAdminRequest, @escaping @Sendable (Response) -> Void) -> Void)? = nil
    ) {
        self.registry = registry
        self.status = status
        self.shardAdmin = shardAdmin
    }

    /// Answers any request: the `/shards/` endpoints through `shardAdmin`, the others at once.
    /// `completion` is called exactly once, possibly on another thread.
    public func respond(method: HTTPMethod, uri: String, completion: @escaping @Sendable (Response) -> Void) {
        switch ShardAdminRequest.parse(method: method, uri: uri) {
        case nil:
            completion(respond(method: method, uri: uri))
        case .refusal(let response):
            completion(response)
        case .request(let request):
            guard let shardAdmin else {
                completion(.text(.serviceUnavailable, "shard endpoints are not available on this server"))
                return
            }
            shardAdmin(request, completion)
        }
    }

    private static let paths: Set<Substring> = ["/metrics", "/status", "/healthz"]

    public func respond(method: HTTPMethod, uri: String) -> Response {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard Self.paths.contains(path) else { return .text(.notFound, "not found") }
        guard method == .GET else {
            return .text(.methodNotAllowed, "method not allowed", extraHeaders: [("Allow", "GET")])
        }
        switch path {
        case "/metrics":
            var body: [UInt8] = []
            registry.emit(into: &body)
            return Response(status: .ok, contentType: Self.metricsContentType, body: body, extraHeaders: [])
        case "/status":
            guard let current = status() else { return .text(.serviceUnavailable, "status not yet available") }
            do {
                return Response(
                    status: .ok, contentType: "application/json", body: try current.jsonBytes(), extraHeaders: [])
            } catch {
                return .text(.internalServerError, "status encoding failed")
            }
        default:
            return .text(.ok, "ok")
        }
    }
}
