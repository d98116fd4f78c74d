public import ExchangeClient
import Matching
public import Raft

/// What was fetched from one replica for verification.
public struct ReplicaAudit: Sendable, Hashable {
    public var shardID: UInt32
    public var nodeID: NodeID
    public var state: ShardState
    /// The replica's whole audit, in log order, snapshot markers included.
    public var records: [AuditEntry]

    public init(shardID: UInt32, nodeID: NodeID, state: ShardState, records: [AuditEntry]) {
        self.shardID = shardID
        self.nodeID = nodeID
        self.state = state
        self.records = records
    }
}

/// Checks the RPO promise: every acknowledged command is on every replica, nothing was applied twice, and the
/// replicas agree (state hashes, checkpoints, audit records).
///
/// `check` is pure (inputs already fetched); `fetchAndCheck` waits for the cluster to be quiescent, fetches every
/// replica's state and audit, and calls `check`.
public enum Verifier {
    /// Violations kept in a report; the rest are only counted. Default: 1,000.
    public static let violationsKeptMax = 1_000

    // MARK: Pure check

    /// Checks `acks` against `replicas`. Pure.
    public static func check(acks: [AckRecord], replicas: [ReplicaAudit]) -> VerifyReport {
        var report = VerifyReport()
        report.acksChecked = acks.count
        let indexed = replicas.map(IndexedReplica.init)
        var byShard: [UInt32: [IndexedReplica]] = [:]
        for replica in indexed { byShard[replica.audit.shardID, default: []].append(replica) }
        for shardID in byShard.keys.sorted() {
            let shardReplicas = byShard[shardID]!
            checkStateHashes(shardReplicas, into: &report)
            checkRecordAgreement(shardReplicas, into: &report)
            for replica in shardReplicas { checkAppliedOnce(replica, into: &report) }
        }
        var covered: [ReplicaKey: Int] = [:]
        var acksByShard: [UInt32: [AckRecord]] = [:]
        for ack in acks { acksByShard[ack.shard, default: []].append(ack) }
        for shardID in acksByShard.keys.sorted() {
            let shardAcks = acksByShard[shardID]!
            guard let shardReplicas = byShard[shardID], !shardReplicas.isEmpty else {
                report.add(
                    .init(
                        kind: .noReplica, shardID: shardID,
                        message: "\(shardAcks.count) acks for a shard without replica data"))
                continue
            }
            for replica in shardReplicas {
                var count = 0
                for ack in shardAcks { checkAck(ack, on: replica, coveredBySnapshot: &count, into: &report) }
                covered[replica.key] = count
            }
        }
        for replica in indexed {
            let coveredCount = covered[replica.key] ?? 0
            report.coveredBySnapshot += coveredCount
            report.replicas.append(
                .init(
                    shardID: replica.audit.shardID, nodeID: replica.audit.nodeID,
                    appliedIndex: replica.audit.state.appliedIndex, stateHash: replica.audit.state.stateHash,
                    records: replica.recordCount, snapshotGaps: replica.gaps.count, coveredBySnapshot: coveredCount))
        }
        report.replicas.sort { ($0.shardID, $0.nodeID) < ($1.shardID, $1.nodeID) }
        return report
    }

    /// Rejections the engine's session table does not remember (stale client order id, invalid participant):
    /// a retry is rejected again, not answered as a duplicate, and nothing was executed either time, so they do
    /// not count as "applied twice".
    static func isAdmissionReject(_ record: AuditEntry) -> Bool {
        record.outcome == .rejected
            && (record.reason == RejectReason.staleClientOrderID.rawValue
                || record.reason == RejectReason.invalidParticipant.rawValue)
    }

    private struct ReplicaKey: Hashable {
        var shardID: UInt32
        var nodeID: NodeID
    }

    private struct SessionKey: Hashable {
        var participant: UInt32
        var clientOrderID: UInt64
    }

    /// A replica's audit indexed for the checks.
    private struct IndexedReplica {
        var audit: ReplicaAudit
        /// Records (no snapshot markers) by log index, in position order.
        var byIndex: [UInt64: [AuditEntry]] = [:]
        /// Index ranges for which the replica has no records because it installed a snapshot, ascending.
        var gaps: [ClosedRange<UInt64>] = []
        /// Non-duplicate records by session key.
        var originals: [SessionKey: [AuditEntry]] = [:]
        var recordCount = 0

        var key: ReplicaKey { ReplicaKey(shardID: audit.shardID, nodeID: audit.nodeID) }

        init(_ audit: ReplicaAudit) {
            self.audit = audit
            var previous: UInt64 = 0
            for record in audit.records.sorted(by: { ($0.index, $0.position) < ($1.index, $1.position) }) {
                if record.isSnapshot {
                    if record.index > previous { gaps.append((previous + 1)...record.index) }
                    previous = max(previous, record.index)
                    continue
                }
                recordCount += 1
                byIndex[record.index, default: []].append(record)
                if record.outcome != .duplicate && !Verifier.isAdmissionReject(record) {
                    originals[
                        SessionKey(participant: record.participant, clientOrderID: record.clientOrderID),
                        default: []
                    ].append(record)
                }
                previous = max(previous, record.index)
            }
        }

        func inGap(_ index: UInt64) -> Bool { gaps.contains { $0.contains(index) } }
        func hasGap(before index: UInt64) -> Bool { gaps.contains { $0.lowerBound < index } }
    }

    /// (a) Equal state hashes at equal applied indices; equal checkpoint hashes at equal indices.
    private static func checkStateHashes(_ replicas: [IndexedReplica], into report: inout VerifyReport) {
        var hashAtApplied: [UInt64: (NodeID, String)] = [:]
        var checkpoints: [UInt64: (NodeID, String)] = [:]
        for replica in replicas {
            let state = replica.audit.state
            let node = replica.audit.nodeID
            if let (reference, hash) = hashAtApplied[state.appliedIndex] {
                if hash != state.stateHash {
                    report.add(
                        .init(
                            kind: .stateHashMismatch, shardID: state.shardID, nodeID: node,
                            logIndex: state.appliedIndex,
                            message: "state hash \(state.stateHash) differs from node \(reference)'s \(hash)"))
                }
            } else {
                hashAtApplied[state.appliedIndex] = (node, state.stateHash)
            }
            for checkpoint in state.checkpoints {
                if let (reference, hash) = checkpoints[checkpoint.index] {
                    if hash != checkpoint.hash {
                        report.add(
                            .init(
                                kind: .checkpointMismatch, shardID: state.shardID, nodeID: node,
                                logIndex: checkpoint.index,
                                message: "checkpoint hash \(checkpoint.hash) differs from node \(reference)'s \(hash)"))
                    }
                } else {
                    checkpoints[checkpoint.index] = (node, checkpoint.hash)
                }
            }
        }
    }

    /// (b) Replicas that both have records for an index have the same records; a replica that applied an index
    /// outside its snapshot gaps must have the records another replica has there.
    private static func checkRecordAgreement(_ replicas: [IndexedReplica], into report: inout VerifyReport) {
        var reference: [UInt64: (NodeID, [AuditEntry])] = [:]
        for replica in replicas {
            for (index, records) in replica.byIndex {
                if let (node, expected) = reference[index] {
                    if expected != records {
                        report.add(
                            .init(
                                kind: .divergentRecords, shardID: replica.audit.shardID, nodeID: replica.audit.nodeID,
                                logIndex: index,
                                message:
                                    "records [\(describe(records))] differ from node \(node)'s [\(describe(expected))]")
                        )
                    }
                } else {
                    reference[index] = (replica.audit.nodeID, records)
                }
            }
        }
        for index in reference.keys.sorted() {
            let (node, expected) = reference[index]!
            for replica in replicas where replica.byIndex[index] == nil {
                guard index <= replica.audit.state.appliedIndex, !replica.inGap(index) else { continue }
                report.add(
                    .init(
                        kind: .divergentRecords, shardID: replica.audit.shardID, nodeID: replica.audit.nodeID,
                        logIndex: index,
                        message: "no records, but node \(node) has [\(describe(expected))] and this replica applied "
                            + "up to \(replica.audit.state.appliedIndex) without a snapshot gap here"))
            }
        }
    }

    /// (c) No (participant, client order id) has more than one non-duplicate record.
    private static func checkAppliedOnce(_ replica: IndexedReplica, into report: inout VerifyReport) {
        for key in replica.originals.keys.sorted(by: {
            ($0.participant, $0.clientOrderID) < ($1.participant, $1.clientOrderID)
        }) {
            let records = replica.originals[key]!
            guard records.count > 1 else { continue }
            report.add(
                .init(
                    kind: .appliedTwice, shardID: replica.audit.shardID, nodeID: replica.audit.nodeID,
                    logIndex: records[1].index,
                    message: "participant \(key.participant) client order \(key.clientOrderID) applied "
                        + "\(records.count) times: [\(describe(records))]"))
        }
    }

    /// (d) The ack's record is on the replica (or inside one of its snapshot gaps).
    private static func checkAck(
        _ ack: AckRecord, on replica: IndexedReplica, coveredBySnapshot: inout Int, into report: inout VerifyReport
    ) {
        let shardID = replica.audit.shardID
        let nodeID = replica.audit.nodeID
        if replica.inGap(ack.logIndex) {
            coveredBySnapshot += 1
            return
        }
        if ack.logIndex > replica.audit.state.appliedIndex {
            report.add(
                .init(
                    kind: .missingAck, shardID: shardID, nodeID: nodeID, logIndex: ack.logIndex,
                    message: "ack [\(ack.line.replacingTabs())] beyond the replica's applied index "
                        + "\(replica.audit.state.appliedIndex)"))
            return
        }
        let candidates = (replica.byIndex[ack.logIndex] ?? []).filter {
            $0.participant == ack.participant && $0.clientOrderID == ack.clientOrderID
        }
        let expectedKind = AuditEntry.Kind(rawValue: ack.kind.rawValue)
        let found = candidates.contains { record in
            guard record.kind == expectedKind else { return false }
            if ack.isDuplicate {
                return record.outcome == .duplicate && record.reason == (ack.rejectReason ?? 0)
                    && (ack.rejectReason != nil || record.orderID == ack.orderID)
            }
            if let reason = ack.rejectReason { return record.outcome == .rejected && record.reason == reason }
            return record.outcome == .accepted && record.orderID == ack.orderID
        }
        guard found else {
            let seen = candidates.isEmpty ? "no record of this session there" : "found [\(describe(candidates))]"
            report.add(
                .init(
                    kind: .missingAck, shardID: shardID, nodeID: nodeID, logIndex: ack.logIndex,
                    message: "ack [\(ack.line.replacingTabs())]: \(seen)"))
            return
        }
        guard ack.isDuplicate, ack.rejectReason == nil else { return }
        let key = SessionKey(participant: ack.participant, clientOrderID: ack.clientOrderID)
        let original = (replica.originals[key] ?? []).contains {
            $0.index < ack.logIndex && $0.outcome == .accepted && $0.orderID == ack.orderID
        }
        if original { return }
        if replica.hasGap(before: ack.logIndex) {
            coveredBySnapshot += 1
            return
        }
        report.add(
            .init(
                kind: .missingOriginal, shardID: shardID, nodeID: nodeID, logIndex: ack.logIndex,
                message: "duplicate ack [\(ack.line.replacingTabs())]: no earlier accepted record with order id "
                    + "\(ack.orderID)"))
    }

    private static func describe(_ records: [AuditEntry]) -> String {
        records.prefix(4).map(\.description).joined(separator: "; ") + (records.count > 4 ? "; ..." : "")
    }
}
