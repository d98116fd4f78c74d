#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import NIOHTTP1
public import Raft

/// The per-shard operator endpoints of the status server (docs/OPERATIONS.md), answered on the node
/// loop's thread because they read the replica itself:
///
/// - `GET /shards/{S}/state`: applied index, state hash now, recent state-hash checkpoints.
/// - `GET /shards/{S}/audit?from=I&limit=N`: the replica's audit trail from index I (text lines).
/// - `POST /shards/{S}/transfer-leader?to=N`: start a leadership transfer (this node must lead S).
public enum ShardAdminRequest: Sendable, Hashable {
    case state(shard: UInt32)
    case audit(shard: UInt32, from: UInt64, limit: Int)
    case transferLeader(shard: UInt32, to: NodeID)

    public static let auditLimitDefault = 10_000
    public static let auditLimitMax = 100_000

    public var shard: UInt32 {
        switch self {
        case .state(let shard), .audit(let shard, _, _), .transferLeader(let shard, _): shard
        }
    }

    /// Parses a request under `/shards/`. Nil when `uri` is not under `/shards/`; `.failure` with the
    /// 400/404/405 answer when it is but is malformed.
    public static func parse(method: HTTPMethod, uri: String) -> ShardAdminParse? {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts[0]
        guard path.hasPrefix("/shards/") else { return nil }
        var query: [Substring: Substring] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[keyValue[0]] = keyValue.count > 1 ? keyValue[1] : ""
            }
        }
        let segments = path.dropFirst("/shards/".count).split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == 2 else { return .refusal(.json(.notFound, error: "not_found", "no such endpoint")) }
        guard let shard = UInt32(segments[0]) else {
            return .refusal(.json(.badRequest, error: "invalid_shard", "shard '\(segments[0])' is not a number"))
        }
        func allow(_ expected: HTTPMethod) -> StatusRoutes.Response? {
            method == expected
                ? nil
                : .json(.methodNotAllowed, error: "method_not_allowed", "use \(expected)", allow: "\(expected)")
        }
        switch segments[1] {
        case "state":
            if let refusal = allow(.GET) { return .refusal(refusal) }
            return .request(.state(shard: shard))
        case "audit":
            if let refusal = allow(.GET) { return .refusal(refusal) }
            var from: UInt64 = 1
            if let text = query["from"] {
                guard let value = UInt64(text) else {
                    return .refusal(.json(.badRequest, error: "invalid_parameter", "from '\(text)' is not an index"))
                }
                from = value
            }
            var limit = auditLimitDefault
            if let text = query["limit"] {
                guard let value = Int(text), (1...auditLimitMax).contains(value) else {
                    return .refusal(
                        .json(.badRequest, error: "invalid_parameter", "limit '\(text)' must be in 1...\(auditLimitMax)"))
                }
                limit = value
            }
            return .request(.audit(shard: shard, from: from, limit: limit))
        case "transfer-leader":
            if let refusal = allow(.POST) { return .refusal(refusal) }
            guard let text = query["to"], let target = UInt64(text), target != 0 else {
                return .refusal(.json(.badRequest, error: "invalid_parameter", "to=<node id> is required"))
            }
            return .request(.transferLeader(shard: shard, to: target))
        default:
            return .refusal(.json(.notFound, error: "not_found", "no such endpoint"))
        }
    }

    /// Answers the request from `host`. Call on the node loop's thread.
    public func respond(host: ShardHost) -> StatusRoutes.Response {
        guard let replica = host.replicas[shard] else {
            return .json(.notFound, error: "unknown_shard", "this node hosts no replica of shard \(shard)")
        }
        switch self {
        case .state:
            let state = ShardStateReport(
                shardID: shard, appliedIndex: replica.appliedIndex, stateHash: hex(replica.engine.stateHash()),
                checkpoints: replica.hashHistory.map { .init(index: $0.index, hash: hex($0.hash)) },
                outbox: replica.options.keepsOutbox
                    ? ShardStateReport.Outbox(
                        publishedThrough: replica.outbox.publishedThrough,
                        pendingEntries: replica.outbox.pendingEntryCount,
                        pendingEvents: replica.outbox.pendingEventCount,
                        tradesExecuted: replica.outbox.tradesExecuted, eventsKept: replica.outbox.eventsKept)
                    : nil)
            return .encoded(state)
        case .audit(_, let from, let limit):
            var records: [AuditRecord]
            var next = "-"
            do {
                records = try replica.audit.records(from: from, limit: limit)
                // A full page ends on an entry boundary: the last entry's records are all included
                // (an entry holds up to 65,536 commands), and the next page starts after it.
                if records.count == limit, let last = records.last {
                    let whole = try replica.audit.records(from: last.logIndex, limit: 65_537)
                    records.removeAll { $0.logIndex == last.logIndex }
                    records += whole.prefix { $0.logIndex == last.logIndex }
                    next = "\(last.logIndex + 1)"
                }
            } catch {
                return .json(.internalServerError, error: "audit_unreadable", "\(error)")
            }
            let applied = replica.appliedIndex
            let page = records
            var text = "# audit shard=\(shard) applied=\(applied) next=\(next)\n"
            for record in page {
                text += record.line
                text += "\n"
            }
            return StatusRoutes.Response(
                status: .ok, contentType: "text/plain; charset=utf-8", body: Array(text.utf8), extraHeaders: [])
        case .transferLeader(_, let target):
            let status = replica.status
            guard status.role == .leader else {
                return .json(
                    .conflict, error: "not_leader", "node \(host.nodeID) does not lead shard \(shard)",
                    extra: ["leaderID": "\(status.leader)"])
            }
            guard target != status.id else {
                return .json(.badRequest, error: "invalid_target", "node \(target) already leads shard \(shard)")
            }
            guard let progress = status.progress[target], !progress.isLearner else {
                return .json(.badRequest, error: "invalid_target", "node \(target) is not a voter of shard \(shard)")
            }
            if let refusal = replica.transferLeadership(to: target) {
                return .json(.conflict, error: "transfer_refused", "\(refusal)")
            }
            return .json(
                .ok, error: nil, "transfer started",
                extra: ["shardID": "\(shard)", "from": "\(status.id)", "to": "\(target)"])
        }
    }

    private func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}

/// What `ShardAdminRequest.parse` made of a request under `/shards/`.
public enum ShardAdminParse: Sendable {
    case request(ShardAdminRequest)
    /// The answer to a malformed request (400, 404 or 405).
    case refusal(StatusRoutes.Response)
}

/// `GET /shards/{S}/state`.
public struct ShardStateReport: Codable, Sendable, Hashable {
    public struct Checkpoint: Codable, Sendable, Hashable {
        public var index: UInt64
        public var hash: String
        public init(index: UInt64, hash: String) {
            self.index = index
            self.hash = hash
        }
    }
    public var shardID: UInt32
    public var appliedIndex: UInt64
    /// The engine's state hash at `appliedIndex`, 16 lowercase hex digits.
    public var stateHash: String
    public var checkpoints: [Checkpoint]
    /// The shard's outbox (post-trade), when the cluster keeps one.
    public var outbox: Outbox?

    /// `ShardOutbox` in numbers.
    public struct Outbox: Codable, Sendable, Hashable {
        /// Every event of the entries at or below this log index is in Kafka.
        public var publishedThrough: UInt64
        public var pendingEntries: Int
        public var pendingEvents: Int
        /// Trades the shard executed since its outbox started: what reconciliation expects downstream.
        public var tradesExecuted: UInt64
        public var eventsKept: UInt64
        public init(publishedThrough: UInt64, pendingEntries: Int, pendingEvents: Int, tradesExecuted: UInt64, eventsKept: UInt64) {
            self.publishedThrough = publishedThrough
            self.pendingEntries = pendingEntries
            self.pendingEvents = pendingEvents
            self.tradesExecuted = tradesExecuted
            self.eventsKept = eventsKept
        }
    }

    public init(
        shardID: UInt32, appliedIndex: UInt64, stateHash: String, checkpoints: [Checkpoint], outbox: Outbox? = nil
    ) {
        self.shardID = shardID
        self.appliedIndex = appliedIndex
        self.stateHash = stateHash
        self.checkpoints = checkpoints
        self.outbox = outbox
    }
}

extension StatusRoutes.Response {
    /// A JSON object `{"error": code, "message": message, extra...}` (no `error` key when nil);
    /// values of `extra` that are decimal numbers are written as numbers.
    static func json(
        _ status: HTTPResponseStatus, error: String?, _ message: String, extra: [String: String] = [:],
        allow: String? = nil
    ) -> Self {
        var fields: [(String, String)] = []
        if let error { fields.append(("error", quoted(error))) }
        fields.append(("message", quoted(message)))
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) {
            fields.append((key, UInt64(value) != nil ? value : quoted(value)))
        }
        let body = "{" + fields.map { "\(quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}\n"
        return Self(
            status: status, contentType: "application/json", body: Array(body.utf8),
            extraHeaders: allow.map { [("Allow", $0)] } ?? [])
    }

    static func encoded(_ value: some Encodable) -> Self {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value) else {
            return .json(.internalServerError, error: "encoding_failed", "could not encode the answer")
        }
        return Self(status: .ok, contentType: "application/json", body: Array(data), extraHeaders: [])
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
