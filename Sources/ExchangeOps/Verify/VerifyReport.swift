public import Raft

/// The result of `Verifier`: counts, and every violation found (the first `Verifier.violationsKeptMax` kept).
public struct VerifyReport: Sendable, Hashable, Codable {
    /// One broken promise.
    public struct Violation: Sendable, Hashable, Codable, CustomStringConvertible {
        public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
            /// A replica could not be fetched.
            case unreachable
            /// The replicas did not reach the same applied index (equal to the leader's commit) within the timeout.
            case notQuiescent = "not_quiescent"
            /// Two replicas at the same applied index have different state hashes.
            case stateHashMismatch = "state_hash_mismatch"
            /// Two replicas disagree on a state-hash checkpoint.
            case checkpointMismatch = "checkpoint_mismatch"
            /// Two replicas have different audit records for the same log index (or one lacks them outside a
            /// snapshot gap).
            case divergentRecords = "divergent_records"
            /// A (participant, client order id) has more than one non-duplicate record on a replica.
            case appliedTwice = "applied_twice"
            /// An acknowledged command has no matching record on a replica.
            case missingAck = "missing_ack"
            /// A duplicate ack whose accepted original has no record on a replica.
            case missingOriginal = "missing_original"
            /// Acks for a shard no replica data was given for.
            case noReplica = "no_replica"
        }

        public var kind: Kind
        public var shardID: UInt32
        public var nodeID: NodeID?
        public var logIndex: UInt64?
        public var message: String

        public init(kind: Kind, shardID: UInt32, nodeID: NodeID? = nil, logIndex: UInt64? = nil, message: String) {
            self.kind = kind
            self.shardID = shardID
            self.nodeID = nodeID
            self.logIndex = logIndex
            self.message = message
        }

        public var description: String {
            var text = "\(kind.rawValue) shard \(shardID)"
            if let nodeID { text += " node \(nodeID)" }
            if let logIndex { text += " index \(logIndex)" }
            return text + ": " + message
        }
    }

    /// What was checked on one replica.
    public struct ReplicaSummary: Sendable, Hashable, Codable {
        public var shardID: UInt32
        public var nodeID: NodeID
        public var appliedIndex: UInt64
        public var stateHash: String
        /// Audit records (snapshot markers excluded).
        public var records: Int
        /// Snapshot markers (gaps) in the audit.
        public var snapshotGaps: Int
        /// Acks whose index falls in a snapshot gap of this replica (proven by the state hash only).
        public var coveredBySnapshot: Int
    }

    public var acksChecked: Int = 0
    public var replicas: [ReplicaSummary] = []
    /// Sum of `coveredBySnapshot` over replicas.
    public var coveredBySnapshot: Int = 0
    /// The first `Verifier.violationsKeptMax` violations.
    public var violations: [Violation] = []
    /// All violations found, including those not kept.
    public var violationCount: Int = 0

    public init() {}

    /// No violation (which includes: every replica was reachable).
    public var passed: Bool { violationCount == 0 }

    mutating func add(_ violation: Violation) {
        violationCount += 1
        if violations.count < Verifier.violationsKeptMax { violations.append(violation) }
    }

    /// Adds `other`'s counts, replicas and violations to this report (the kept violations stay capped).
    public mutating func merge(_ other: VerifyReport) {
        acksChecked += other.acksChecked
        replicas += other.replicas
        coveredBySnapshot += other.coveredBySnapshot
        for violation in other.violations { add(violation) }
        violationCount += other.violationCount - other.violations.count
    }

    /// Human-readable summary: counts, then the first `listed` violations and how many more there are.
    public func render(listed: Int = 20) -> String {
        var lines = ["acks checked: \(acksChecked)", "replicas: \(replicas.count)"]
        for replica in replicas {
            lines.append(
                "  shard \(replica.shardID) node \(replica.nodeID): applied \(replica.appliedIndex) hash "
                    + "\(replica.stateHash) records \(replica.records) snapshot gaps \(replica.snapshotGaps) "
                    + "covered by snapshot \(replica.coveredBySnapshot)")
        }
        lines.append("covered by snapshot: \(coveredBySnapshot)")
        lines.append("violations: \(violationCount)")
        for violation in violations.prefix(listed) { lines.append("  " + violation.description) }
        if violationCount > listed { lines.append("  ... and \(violationCount - listed) more") }
        lines.append(passed ? "verify: PASSED" : "verify: FAILED")
        return lines.joined(separator: "\n") + "\n"
    }
}
