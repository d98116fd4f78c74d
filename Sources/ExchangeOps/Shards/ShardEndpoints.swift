public import Cluster
public import Raft

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A replica's answer to `GET /shards/{S}/state`: its state hash at its applied index, and recent state-hash
/// checkpoints at fixed indices (all replicas must agree at equal indices). The node's own type.
public typealias ShardState = ShardStateReport

/// One line of `GET /shards/{S}/audit`: an applied client command, or a snapshot marker.
public struct AuditEntry: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable {
        case newOrder = "new"
        case cancel
        case replace
        /// The replica installed a snapshot at `index` and has no records between the previous record and it.
        case snapshot
    }

    public enum Outcome: String, Sendable, Hashable, Codable {
        case accepted
        case rejected
        case duplicate
        /// Snapshot markers only.
        case none = "-"
    }

    /// Position of snapshot markers.
    public static let snapshotPosition: UInt16 = 65_535

    public var index: UInt64
    /// Position of the command inside its log entry.
    public var position: UInt16
    public var kind: Kind
    public var outcome: Outcome
    /// The reject reason code; 0 when accepted. For a duplicate, the original's reject code (0 if it was accepted).
    public var reason: UInt16
    public var participant: UInt32
    public var clientOrderID: UInt64
    /// For a duplicate, the original's order id.
    public var orderID: UInt64

    public init(
        index: UInt64, position: UInt16, kind: Kind, outcome: Outcome, reason: UInt16 = 0, participant: UInt32,
        clientOrderID: UInt64, orderID: UInt64
    ) {
        self.index = index
        self.position = position
        self.kind = kind
        self.outcome = outcome
        self.reason = reason
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.orderID = orderID
    }

    /// The marker of a snapshot installed at `index`.
    public static func snapshot(at index: UInt64) -> AuditEntry {
        AuditEntry(
            index: index, position: snapshotPosition, kind: .snapshot, outcome: .none, participant: 0, clientOrderID: 0,
            orderID: 0)
    }

    public var isSnapshot: Bool { kind == .snapshot }

    /// The record's line, as the node serves it.
    public var line: String {
        [
            String(index), String(position), kind.rawValue, outcome.rawValue, String(reason), String(participant),
            String(clientOrderID), String(orderID),
        ].joined(separator: "\t")
    }

    public var description: String { line.replacingTabs() }
}

/// One page of `GET /shards/{S}/audit`.
public struct AuditPage: Sendable, Hashable {
    public var shardID: UInt32
    public var appliedIndex: UInt64
    /// The `from` of the next page; nil when this page reached the applied index.
    public var next: UInt64?
    public var records: [AuditEntry]

    public init(shardID: UInt32, appliedIndex: UInt64, next: UInt64?, records: [AuditEntry]) {
        self.shardID = shardID
        self.appliedIndex = appliedIndex
        self.next = next
        self.records = records
    }

    /// Parses a page body. Pure.
    ///
    /// - Throws: `malformedResponse` naming the line and the field.
    public static func parse(_ text: String) throws(OpsError) -> AuditPage {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
        guard let header = lines.next(), header.hasPrefix("# audit ") else {
            throw OpsError(.malformedResponse, "audit: the first line must be '# audit shard=S applied=A next=J'")
        }
        var fields: [Substring: Substring] = [:]
        for field in header.dropFirst("# audit ".count).split(separator: " ") {
            let parts = field.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard let shard = fields["shard"].flatMap({ UInt32($0) }),
            let applied = fields["applied"].flatMap({ UInt64($0) }), let nextText = fields["next"]
        else {
            throw OpsError(.malformedResponse, "audit: malformed header '\(header)'")
        }
        let next: UInt64?
        if nextText == "-" {
            next = nil
        } else if let value = UInt64(nextText) {
            next = value
        } else {
            throw OpsError(.malformedResponse, "audit: next '\(nextText)' is neither a number nor '-'")
        }
        var records: [AuditEntry] = []
        var lineNumber = 1
        while let line = lines.next() {
            lineNumber += 1
            if line.hasPrefix("#") { continue }
            records.append(try parseRecord(line, lineNumber: lineNumber))
        }
        return AuditPage(shardID: shard, appliedIndex: applied, next: next, records: records)
    }

    static func parseRecord(_ line: Substring, lineNumber: Int) throws(OpsError) -> AuditEntry {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count == 8 else {
            throw OpsError(.malformedResponse, "audit line \(lineNumber): expected 8 fields, found \(fields.count)")
        }
        func number<T: FixedWidthInteger>(_ position: Int, _ name: String, _: T.Type) throws(OpsError) -> T {
            guard let value = T(fields[position]) else {
                throw OpsError(.malformedResponse, "audit line \(lineNumber): \(name) '\(fields[position])' is invalid")
            }
            return value
        }
        guard let kind = AuditEntry.Kind(rawValue: String(fields[2])) else {
            throw OpsError(.malformedResponse, "audit line \(lineNumber): unknown kind '\(fields[2])'")
        }
        guard let outcome = AuditEntry.Outcome(rawValue: String(fields[3])) else {
            throw OpsError(.malformedResponse, "audit line \(lineNumber): unknown outcome '\(fields[3])'")
        }
        return AuditEntry(
            index: try number(0, "index", UInt64.self), position: try number(1, "position", UInt16.self), kind: kind,
            outcome: outcome, reason: try number(4, "reason", UInt16.self),
            participant: try number(5, "participant", UInt32.self),
            clientOrderID: try number(6, "clientOrderID", UInt64.self), orderID: try number(7, "orderID", UInt64.self))
    }
}

/// The leader's answer to a started transfer.
public struct TransferStarted: Sendable, Hashable, Codable {
    public var shardID: UInt32
    public var from: NodeID
    public var to: NodeID

    public init(shardID: UInt32, from: NodeID, to: NodeID) {
        self.shardID = shardID
        self.from = from
        self.to = to
    }
}

/// Calls to the shard endpoints of one node.
public enum ShardEndpoints {
    /// Lines per audit page requested by `fetchAudit`. Default: 100,000 (the node's maximum).
    public static let auditPageLinesMax = 100_000

    /// `GET /shards/{S}/state`.
    ///
    /// - Throws: `unknownShard` on 404; the `OpsHTTPClient` errors; `malformedResponse`.
    public static func fetchState(host: String, port: Int, shard: UInt32, timeout: Duration) async throws(OpsError)
        -> ShardState
    {
        let path = "/shards/\(shard)/state"
        let response = try await OpsHTTPClient.request("GET", host: host, port: port, path: path, timeout: timeout)
        if response.status == 404 {
            throw OpsError(
                .unknownShard, "\(host):\(port) hosts no replica of shard \(shard)", httpStatus: 404,
                body: String(response.text.prefix(4096)))
        }
        try OpsHTTPClient.expectOK(response, "GET", path, host: host, port: port)
        do {
            return try JSONDecoder().decode(ShardState.self, from: Data(response.body))
        } catch {
            throw OpsError(.malformedResponse, "GET \(path) on \(host):\(port): \(error)")
        }
    }

    /// `GET /shards/{S}/audit?from=&limit=`, one page.
    public static func fetchAuditPage(
        host: String, port: Int, shard: UInt32, from: UInt64, limit: Int, timeout: Duration
    ) async throws(OpsError) -> AuditPage {
        let path = "/shards/\(shard)/audit?from=\(from)&limit=\(limit)"
        let response = try await OpsHTTPClient.request("GET", host: host, port: port, path: path, timeout: timeout)
        if response.status == 404 {
            throw OpsError(
                .unknownShard, "\(host):\(port) hosts no replica of shard \(shard)", httpStatus: 404,
                body: String(response.text.prefix(4096)))
        }
        try OpsHTTPClient.expectOK(response, "GET", path, host: host, port: port)
        let page = try AuditPage.parse(response.text)
        guard page.shardID == shard else {
            throw OpsError(.malformedResponse, "GET \(path) on \(host):\(port) answered for shard \(page.shardID)")
        }
        return page
    }

    /// Every audit record of the replica, following `next` until the applied index; returns the records and the
    /// applied index of the last page. `timeout` applies to each page.
    public static func fetchAudit(host: String, port: Int, shard: UInt32, timeout: Duration) async throws(OpsError)
        -> (records: [AuditEntry], appliedIndex: UInt64)
    {
        var records: [AuditEntry] = []
        var from: UInt64 = 1
        while true {
            let page = try await fetchAuditPage(
                host: host, port: port, shard: shard, from: from, limit: auditPageLinesMax, timeout: timeout)
            records.append(contentsOf: page.records)
            guard let next = page.next else { return (records, page.appliedIndex) }
            guard next > from else {
                throw OpsError(
                    .malformedResponse,
                    "audit of shard \(shard) on \(host):\(port): next=\(next) does not advance past \(from)")
            }
            from = next
        }
    }

    /// `POST /shards/{S}/transfer-leader?to=N` to the node that leads S.
    ///
    /// - Throws: `transferRefused` on 409 (`not_leader`) or 400 (`invalid_target`), with the body;
    ///   `unknownShard` on 404.
    public static func transferLeader(host: String, port: Int, shard: UInt32, to target: NodeID, timeout: Duration)
        async throws(OpsError) -> TransferStarted
    {
        let path = "/shards/\(shard)/transfer-leader?to=\(target)"
        let response = try await OpsHTTPClient.request("POST", host: host, port: port, path: path, timeout: timeout)
        let body = String(response.text.prefix(4096))
        switch response.status {
        case 200:
            do {
                return try JSONDecoder().decode(TransferStarted.self, from: Data(response.body))
            } catch {
                throw OpsError(.malformedResponse, "POST \(path) on \(host):\(port): \(error)")
            }
        case 404:
            throw OpsError(
                .unknownShard, "\(host):\(port) hosts no replica of shard \(shard)", httpStatus: 404,
                body: body)
        case 409:
            throw OpsError(
                .transferRefused, "\(host):\(port) does not lead shard \(shard)", httpStatus: 409, body: body)
        case 400:
            throw OpsError(
                .transferRefused, "\(host):\(port) refused node \(target) as target", httpStatus: 400,
                body: body)
        default:
            throw OpsError(
                .badStatus, "POST \(path) on \(host):\(port) answered \(response.status)",
                httpStatus: response.status, body: body)
        }
    }
}

extension String {
    func replacingTabs() -> String { split(separator: "\t", omittingEmptySubsequences: false).joined(separator: " ") }
}
