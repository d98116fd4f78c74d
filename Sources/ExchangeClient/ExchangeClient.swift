public import ClusterConfig
public import ExchangeCore
public import Logging
public import Matching
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
public import Wire

/// The client side of the binary client protocol (docs/PROTOCOL.md): sends each command to the leader of its
/// symbol's shard, follows `NotLeader` redirects, retries after failures with the same request (same client order
/// id, so the exchange answers a command that had in fact executed with its original outcome, flagged
/// `isDuplicate`), and applies back-pressure per node connection.
///
/// Routing: the first replica of each shard in `ClusterRoutes` (the primary) is the leader believed at start. A
/// `NotLeader` with an address (or a node id the routes know) moves the belief there and resends at once, up to
/// `maxRedirects` times. A connection failure or loss, a timeout, `RetryLater` or a `NotLeader` without a usable
/// hint counts against `retryBudget`: the client pauses (exponential backoff with jitter) and resends to the next
/// replica of the shard (`RetryLater(overloaded)`: to the same node, which is the leader but busy).
///
/// Connections: one per node, opened on first use, replaced by a new one on the next request after it closed.
/// Request ids are unique per connection; answers are matched by id and may come in any order.
///
/// - Important: commands are retried automatically only because the exchange de-duplicates by (participant,
///   client order id): give every new command a new, strictly increasing client order id, and never reuse one
///   for a different command. A `CommandResult` with `isDuplicate == true` means the command executed on an
///   earlier attempt; its fills then came with the lost answer and are in the execution stream.
public final class ExchangeClient: Sendable {
    /// Counters since the client was made.
    public struct Counters: Sendable, Hashable {
        /// Requests written to a connection (every attempt).
        public var attempts = 0
        public var redirects = 0
        /// Attempts that failed and were retried.
        public var retries = 0
        /// Command results flagged `isDuplicate`.
        public var duplicates = 0
        public var connectionsOpened = 0
    }

    private struct State {
        var leaders: [UInt32: NetworkAddress] = [:]
        var connections: [NetworkAddress: NodeConnection] = [:]
        var counters = Counters()
        var isShutDown = false
    }

    public let routes: ClusterRoutes
    public let configuration: ExchangeClientConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    /// - Parameters:
    ///   - routes: shards, their replicas' client addresses and the symbol map.
    ///   - eventLoopGroup: where connections run. Default (nil): NIO's shared singleton group (never shut down).
    /// - Throws: `invalidConfiguration` when `configuration.validate()` fails.
    public init(
        routes: ClusterRoutes, configuration: ExchangeClientConfiguration = ExchangeClientConfiguration(),
        eventLoopGroup: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "exchange.client")
    ) throws(ExchangeClientError) {
        try configuration.validate()
        self.routes = routes
        self.configuration = configuration
        self.group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        self.logger = logger
        var initial = State()
        for (shard, replicas) in routes.shards { initial.leaders[shard] = replicas[0].address }
        state = NIOLockedValueBox(initial)
    }

    /// A client for `cluster`: routes from its shards (see `ClusterRoutes.init(cluster:)`).
    public convenience init(
        cluster: ClusterDefinition, configuration: ExchangeClientConfiguration = ExchangeClientConfiguration(),
        eventLoopGroup: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "exchange.client")
    ) throws(ExchangeClientError) {
        try self.init(
            routes: try ClusterRoutes(cluster: cluster), configuration: configuration,
            eventLoopGroup: eventLoopGroup, logger: logger)
    }

    // MARK: Commands

    /// Sends a new order; returns its outcome once committed and applied (or its remembered outcome, flagged
    /// `isDuplicate`, if an earlier attempt had executed).
    public func submit(_ order: NewOrderRequest) async throws(ExchangeClientError) -> CommandResult {
        try checkParticipant(order.participant)
        return try await command(.newOrder(order), symbol: order.symbol)
    }

    /// Sends a cancel; `cancel.clientOrderID` is a new id for this request.
    public func cancel(_ cancel: CancelOrder) async throws(ExchangeClientError) -> CommandResult {
        try checkParticipant(cancel.participant)
        return try await command(.cancel(cancel), symbol: cancel.symbol)
    }

    /// Sends a cancel/replace; `replace.clientOrderID` is a new id for this request.
    public func replace(_ replace: ReplaceOrder) async throws(ExchangeClientError) -> CommandResult {
        try checkParticipant(replace.participant)
        return try await command(.replace(replace), symbol: replace.symbol)
    }

    /// The state of one live order, as the shard leader has applied it.
    /// - Parameter participant: the order's owner; nil: `configuration.participant` (then required).
    public func orderStatus(
        symbol: Symbol, orderID: OrderID, participant: ParticipantID? = nil
    ) async throws(ExchangeClientError) -> OrderStatusResult {
        guard let owner = participant ?? configuration.participant else {
            throw ExchangeClientError(.invalidRequest, "orderStatus needs a participant (none configured)")
        }
        try checkParticipant(owner)
        let body = try await execute(
            .orderStatus(OrderStatusQuery(participant: owner, symbol: symbol, orderID: orderID)), symbol: symbol)
        guard case .orderStatus(let result) = body else {
            throw ExchangeClientError(.malformedResponse, "answer to an order status query was \(body)")
        }
        return result
    }

    /// Subscribes to the execution reports of `symbol` from now on, at the replica of its shard believed to lead
    /// it (every replica serves the stream, leader or follower; a node without a replica of the shard answers
    /// `NotLeader` and the next replica is tried). Reports come for the entries after
    /// `ExecutionSubscription.startLogIndex`, in log order, each once, and only once committed.
    ///
    /// - Parameters:
    ///   - participant: only this participant's events; nil: `configuration.participant`, or every participant
    ///     when none is configured.
    ///   - bufferedReportsMax: reports buffered for a slow consumer; one more ends the stream with `overloaded`
    ///     (never unbounded). Range: 1...1_048_576. Default: 65_536.
    /// - Important: the stream ends (with `connectionLost`) when the connection to that node closes, e.g. when the
    ///   node stops, and with `protocolError(.slowConsumer)` when the node's backlog for it overflowed (the
    ///   consumer read too slowly): subscribe again and drop reports already seen by `(logIndex, eventIndex)`.
    ///   The stream does not move to another node by itself.
    public func subscribe(
        symbol: Symbol, participant: ParticipantID? = nil, bufferedReportsMax: Int = 65_536
    ) async throws(ExchangeClientError) -> ExecutionSubscription {
        guard (1...1_048_576).contains(bufferedReportsMax) else {
            throw ExchangeClientError(
                .invalidRequest, "bufferedReportsMax \(bufferedReportsMax) is outside 1...1048576")
        }
        let filter = participant ?? configuration.participant
        if let filter { try checkParticipant(filter) }
        var latest: NodeConnection.ReportStream?
        let body = try await execute(
            .subscribe(SubscribeRequest(participant: filter, symbol: symbol)), symbol: symbol,
            makeSubscription: {
                let (stream, continuation) = NodeConnection.ReportStream.makeStream(
                    bufferingPolicy: .bufferingOldest(bufferedReportsMax))
                latest = stream
                return continuation
            })
        guard case .subscribed(let subscribed) = body, let latest else {
            throw ExchangeClientError(.malformedResponse, "answer to a subscribe request was \(body)")
        }
        return ExecutionSubscription(startLogIndex: subscribed.logIndex, reports: latest)
    }

    /// Closes every connection; requests in flight fail with `connectionLost`, later calls with `shutdown`.
    public func shutdown() {
        let connections = state.withLockedValue { state in
            state.isShutDown = true
            let connections = Array(state.connections.values)
            state.connections = [:]
            return connections
        }
        for connection in connections {
            connection.fail(ExchangeClientError(.connectionLost, "the client is shutting down"))
        }
    }

    public var counters: Counters { state.withLockedValue { $0.counters } }

    /// The leader currently believed for `shard`.
    public func believedLeader(of shard: UInt32) -> NetworkAddress? { state.withLockedValue { $0.leaders[shard] } }

    /// In-flight and waiting requests of the connection to `address` (nil when there is none); for tests.
    func connectionLoad(_ address: NetworkAddress) -> (inFlight: Int, waiting: Int)? {
        state.withLockedValue { $0.connections[address] }?.load
    }

    // MARK: Routing and retries

    private func checkParticipant(_ participant: ParticipantID) throws(ExchangeClientError) {
        if let expected = configuration.participant, expected != participant {
            throw ExchangeClientError(
                .invalidRequest, "participant \(participant) differs from the configured participant \(expected)")
        }
    }

    private func command(_ body: ClientRequest.Body, symbol: Symbol) async throws(ExchangeClientError)
        -> CommandResult
    {
        let answer = try await execute(body, symbol: symbol)
        guard case .commandResult(let result) = answer else {
            throw ExchangeClientError(.malformedResponse, "answer to a command was \(answer)")
        }
        if result.isDuplicate {
            state.withLockedValue { $0.counters.duplicates += 1 }
            logger.info(
                "command result is a duplicate",
                metadata: [
                    "order.client_id": "\(result.clientOrderID.rawValue)", "order.participant": "\(result.participant)",
                ])
        }
        return result
    }

    /// Sends `body` to the leader of `symbol`'s shard until it gets a final answer (anything but `NotLeader` and
    /// `RetryLater`) or runs out of redirects or retries.
    /// - Parameter makeSubscription: for a subscribe request, makes the report stream of each attempt.
    private func execute(
        _ body: ClientRequest.Body, symbol: Symbol,
        makeSubscription: (() -> NodeConnection.ReportStream.Continuation)? = nil
    ) async throws(ExchangeClientError) -> ClientResponse.Body {
        guard let shard = routes.shard(for: symbol) else {
            throw ExchangeClientError(.invalidRequest, "symbol \(symbol) belongs to no shard of the routes")
        }
        var target = try believedLeader(shard: shard)
        var attempts = 0
        var failures = 0
        var redirects = 0
        var random = SystemRandomNumberGenerator()

        /// Counts a failed attempt; throws `error` when the budget is spent, else backs off and moves on.
        func retry(after error: ExchangeClientError, moveOn: Bool) async throws(ExchangeClientError) {
            failures += 1
            guard failures <= configuration.retryBudget else {
                var final = error
                final.attempts = attempts
                final.message += " (retry budget of \(configuration.retryBudget) spent)"
                throw final
            }
            logger.debug(
                "retrying request",
                metadata: [
                    "shard.id": "\(shard)", "node.address": "\(target)", "client.failures": "\(failures)",
                    "error.code": "\(error.code)",
                ])
            if moveOn {
                let next = routes.candidate(after: target, in: shard)
                state.withLockedValue { state in
                    if state.leaders[shard] == target { state.leaders[shard] = next }
                }
                target = next
            }
            state.withLockedValue { $0.counters.retries += 1 }
            let pause = configuration.backoff(retry: failures, using: &random)
            do {
                try await Task.sleep(for: pause)
            } catch {
                throw ExchangeClientError(.cancelled, "cancelled while backing off", attempts: attempts)
            }
        }

        while true {
            let connection = try connection(to: target)
            attempts += 1
            state.withLockedValue { $0.counters.attempts += 1 }
            let response: ClientResponse
            do {
                response = try await connection.send(body, subscription: makeSubscription?())
            } catch let error as ExchangeClientError {
                guard error.isRetryable else {
                    var final = error
                    final.attempts = attempts
                    throw final
                }
                try await retry(after: error, moveOn: true)
                continue
            } catch {
                throw ExchangeClientError(.connectionLost, "\(error)", attempts: attempts)
            }
            switch response.body {
            case .notLeader(let hint):
                if let leader = resolve(hint, shard: shard), leader != target {
                    redirects += 1
                    state.withLockedValue { $0.counters.redirects += 1 }
                    guard redirects <= configuration.maxRedirects else {
                        throw ExchangeClientError(
                            .noLeader, "followed \(configuration.maxRedirects) redirects for shard \(shard)",
                            attempts: attempts)
                    }
                    state.withLockedValue { $0.leaders[shard] = leader }
                    target = leader
                    continue
                }
                try await retry(
                    after: ExchangeClientError(.noLeader, "\(target) does not know the leader of shard \(shard)"),
                    moveOn: true)
            case .retryLater(let later):
                let code: ExchangeClientError.Code = later.reason == .overloaded ? .overloaded : .noLeader
                try await retry(
                    after: ExchangeClientError(code, "\(target) answered RetryLater(\(later.reason))"),
                    moveOn: later.reason != .overloaded)
            case .protocolError(let error):
                // `NodeConnection` turns these into thrown errors; kept for completeness.
                throw ExchangeClientError(.protocolError(error.code), error.message, attempts: attempts)
            default:
                return response.body
            }
        }
    }

    /// The address a `NotLeader` names: its `host:port`, else the replica with its node id; nil when unknown.
    private func resolve(_ hint: NotLeader, shard: UInt32) -> NetworkAddress? {
        if !hint.leaderAddress.isEmpty, let address = NetworkAddress(leaderHint: hint.leaderAddress) {
            return address
        }
        return routes.address(ofNode: hint.leaderNodeID, in: shard)
    }

    private func believedLeader(shard: UInt32) throws(ExchangeClientError) -> NetworkAddress {
        try state.withLockedValue { state -> Result<NetworkAddress, ExchangeClientError> in
            guard !state.isShutDown else { return .failure(ExchangeClientError(.shutdown, "the client was shut down")) }
            return .success(state.leaders[shard]!)
        }.get()
    }

    /// The open connection to `address`, or a new one when there is none or it closed. The dial starts outside
    /// the lock; a connection opened by a racing caller wins and the extra one is dropped.
    private func connection(to address: NetworkAddress) throws(ExchangeClientError) -> NodeConnection {
        enum Lookup {
            case found(NodeConnection)
            case missing
            case shutDown
        }
        func lookup(_ state: State) -> Lookup {
            if state.isShutDown { return .shutDown }
            if let existing = state.connections[address], !existing.isClosed { return .found(existing) }
            return .missing
        }
        switch state.withLockedValue({ lookup($0) }) {
        case .found(let connection): return connection
        case .shutDown: throw ExchangeClientError(.shutdown, "the client was shut down")
        case .missing: break
        }
        let fresh = NodeConnection.open(to: address, group: group, configuration: configuration)
        let outcome = state.withLockedValue { state -> Lookup in
            let current = lookup(state)
            if case .missing = current {
                state.connections[address] = fresh
                state.counters.connectionsOpened += 1
                return .found(fresh)
            }
            return current
        }
        switch outcome {
        case .found(let connection):
            if connection !== fresh { fresh.fail(ExchangeClientError(.connectionLost, "superseded")) }
            return connection
        case .shutDown, .missing:
            fresh.fail(ExchangeClientError(.shutdown, "the client was shut down"))
            throw ExchangeClientError(.shutdown, "the client was shut down")
        }
    }
}

/// An active execution stream (`ExchangeClient.subscribe`).
public struct ExecutionSubscription: Sendable {
    /// Reports follow for log entries after this index.
    public let startLogIndex: UInt64
    /// The reports, in the node's order; ends with an `ExchangeClientError` when the connection closes or the
    /// consumer falls more than `bufferedReportsMax` behind.
    public let reports: AsyncThrowingStream<ExecutionReport, any Error>
}
