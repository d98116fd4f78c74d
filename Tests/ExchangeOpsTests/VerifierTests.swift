import ExchangeClient
import ExchangeOps
import Testing

/// Builders for hand-made verifier inputs: shard 1, replicas on nodes 1, 2, 3.
enum Fixture {
    static func accepted(_ index: UInt64, position: UInt16 = 0, participant: UInt32 = 7, client: UInt64, order: UInt64)
        -> AuditEntry
    {
        AuditEntry(
            index: index, position: position, kind: .newOrder, outcome: .accepted, participant: participant,
            clientOrderID: client, orderID: order)
    }

    static func ack(
        _ index: UInt64, participant: UInt32 = 7, client: UInt64, order: UInt64, reject: UInt16? = nil,
        duplicate: Bool = false, kind: AckRecord.Kind = .newOrder
    ) -> AckRecord {
        AckRecord(
            shard: 1, logIndex: index, kind: kind, participant: participant, clientOrderID: client, orderID: order,
            rejectReason: reject, isDuplicate: duplicate, symbol: "AAPL")
    }

    static func replica(
        node: UInt64, applied: UInt64 = 10, hash: String = "00000000000000aa", records: [AuditEntry],
        checkpoints: [ShardState.Checkpoint] = []
    ) -> ReplicaAudit {
        ReplicaAudit(
            shardID: 1, nodeID: node,
            state: ShardState(shardID: 1, appliedIndex: applied, stateHash: hash, checkpoints: checkpoints),
            records: records)
    }

    /// Three orders (one rejected) and a duplicate retry of the first.
    static let goodRecords: [AuditEntry] = [
        accepted(3, client: 100, order: 1),
        accepted(4, client: 101, order: 2),
        AuditEntry(
            index: 4, position: 1, kind: .newOrder, outcome: .rejected, reason: 9, participant: 7, clientOrderID: 102,
            orderID: 0),
        AuditEntry(
            index: 6, position: 0, kind: .newOrder, outcome: .duplicate, participant: 7, clientOrderID: 100,
            orderID: 1),
        AuditEntry(
            index: 7, position: 0, kind: .cancel, outcome: .accepted, participant: 7, clientOrderID: 103, orderID: 2),
    ]

    static let goodAcks: [AckRecord] = [
        ack(3, client: 100, order: 1),
        ack(4, client: 101, order: 2),
        ack(4, client: 102, order: 0, reject: 9),
        ack(6, client: 100, order: 1, duplicate: true),
        ack(7, client: 103, order: 2, kind: .cancel),
    ]

    static let checkpoints = [ShardState.Checkpoint(index: 5, hash: "1111111111111111")]

    static func goodReplicas() -> [ReplicaAudit] {
        (1...3).map { replica(node: $0, records: goodRecords, checkpoints: checkpoints) }
    }
}

@Suite struct VerifierTests {
    @Test func allGoodPasses() {
        let report = Verifier.check(acks: Fixture.goodAcks, replicas: Fixture.goodReplicas())
        #expect(report.passed, "\(report.violations)")
        #expect(report.acksChecked == 5)
        #expect(report.replicas.count == 3)
        #expect(report.replicas.allSatisfy { $0.records == 5 && $0.coveredBySnapshot == 0 })
        #expect(report.coveredBySnapshot == 0)
    }

    @Test func missingAckOnOneReplicaIsReported() {
        var replicas = Fixture.goodReplicas()
        replicas[1].records.removeAll { $0.clientOrderID == 101 }
        let report = Verifier.check(acks: Fixture.goodAcks, replicas: replicas)
        #expect(!report.passed)
        let missing = report.violations.filter { $0.kind == .missingAck }
        #expect(missing.count == 1)
        #expect(missing.first?.nodeID == 2)
        #expect(missing.first?.logIndex == 4)
        // The other replicas have a record node 2 lacks at an index it applied: divergence.
        #expect(report.violations.contains { $0.kind == .divergentRecords && $0.nodeID == 2 })
    }

    @Test func ackWithWrongOrderIDOrOutcomeIsMissing() {
        let acks = [
            Fixture.ack(3, client: 100, order: 99),  // wrong order id
            Fixture.ack(4, client: 102, order: 0),  // said accepted, was rejected
            Fixture.ack(4, client: 101, order: 2, reject: 3),  // said rejected, was accepted
            Fixture.ack(11, client: 200, order: 5),  // beyond applied
        ]
        let report = Verifier.check(acks: acks, replicas: Fixture.goodReplicas())
        #expect(report.violations.filter { $0.kind == .missingAck }.count == 12)
        #expect(report.violationCount == 12)
    }

    @Test func appliedTwiceIsReported() {
        var replicas = Fixture.goodReplicas()
        for position in replicas.indices {
            replicas[position].records.append(Fixture.accepted(9, client: 100, order: 8))
        }
        let report = Verifier.check(acks: Fixture.goodAcks, replicas: replicas)
        let twice = report.violations.filter { $0.kind == .appliedTwice }
        #expect(twice.count == 3)
        #expect(Set(twice.compactMap(\.nodeID)) == [1, 2, 3])
        #expect(twice.allSatisfy { $0.logIndex == 9 })
    }

    @Test func repeatedStaleRejectIsNotAppliedTwice() {
        var replicas = Fixture.goodReplicas()
        let stale = { (index: UInt64) in
            AuditEntry(
                index: index, position: 0, kind: .newOrder, outcome: .rejected, reason: 22, participant: 7,
                clientOrderID: 5, orderID: 0)
        }
        for position in replicas.indices { replicas[position].records += [stale(8), stale(9)] }
        #expect(Verifier.check(acks: Fixture.goodAcks, replicas: replicas).passed)
        // Other rejections are remembered: a second non-duplicate one is a double execution.
        for position in replicas.indices {
            replicas[position].records[replicas[position].records.count - 1].reason = 9
            replicas[position].records[replicas[position].records.count - 2].reason = 9
        }
        #expect(
            Verifier.check(acks: Fixture.goodAcks, replicas: replicas).violations.map(\.kind)
                == [.appliedTwice, .appliedTwice, .appliedTwice])
    }

    @Test func stateHashMismatchAtEqualAppliedIndex() {
        var replicas = Fixture.goodReplicas()
        replicas[2].state.stateHash = "00000000000000bb"
        let report = Verifier.check(acks: Fixture.goodAcks, replicas: replicas)
        #expect(report.violations.map(\.kind) == [.stateHashMismatch])
        #expect(report.violations.first?.nodeID == 3)
    }

    @Test func stateHashesAtDifferentAppliedIndicesAreNotCompared() {
        var replicas = Fixture.goodReplicas()
        replicas[2].state.stateHash = "00000000000000bb"
        replicas[2].state.appliedIndex = 12
        let report = Verifier.check(acks: Fixture.goodAcks, replicas: replicas)
        #expect(report.passed, "\(report.violations)")
    }

    @Test func checkpointMismatchIsReported() {
        var replicas = Fixture.goodReplicas()
        replicas[0].state.checkpoints = [.init(index: 5, hash: "2222222222222222")]
        replicas[1].state.checkpoints.append(.init(index: 3, hash: "3333333333333333"))  // only one has it: fine
        let report = Verifier.check(acks: Fixture.goodAcks, replicas: replicas)
        #expect(report.violations.map(\.kind) == [.checkpointMismatch, .checkpointMismatch])
        #expect(report.violations.allSatisfy { $0.logIndex == 5 })
    }

    @Test func divergentRecordsAreReported() {
        var replicas = Fixture.goodReplicas()
        replicas[1].records[1].orderID = 77
        let report = Verifier.check(acks: Fixture.goodAcks, replicas: replicas)
        #expect(report.violations.contains { $0.kind == .divergentRecords && $0.nodeID == 2 && $0.logIndex == 4 })
        #expect(report.violations.contains { $0.kind == .missingAck && $0.nodeID == 2 && $0.logIndex == 4 })
    }

    @Test func snapshotGapIsCoveredNotMissing() {
        var replicas = Fixture.goodReplicas()
        // Node 3 installed a snapshot at 5: no records for 1...5, records from 6 on.
        replicas[2].records = [AuditEntry.snapshot(at: 5)] + Fixture.goodRecords.filter { $0.index > 5 }
        let report = Verifier.check(acks: Fixture.goodAcks, replicas: replicas)
        #expect(report.passed, "\(report.violations)")
        let node3 = report.replicas.first { $0.nodeID == 3 }
        // acks at 3, 4, 4 are in the gap; the duplicate at 6's original (index 3) is in the gap too.
        #expect(node3?.coveredBySnapshot == 4)
        #expect(node3?.snapshotGaps == 1)
        #expect(node3?.records == 2)
        #expect(report.coveredBySnapshot == 4)
    }

    @Test func snapshotGapDoesNotExcuseMissingRecordsAfterIt() {
        var replicas = Fixture.goodReplicas()
        replicas[2].records = [AuditEntry.snapshot(at: 5)]
        let report = Verifier.check(acks: Fixture.goodAcks, replicas: replicas)
        #expect(!report.passed)
        #expect(report.violations.filter { $0.kind == .missingAck && $0.nodeID == 3 }.map(\.logIndex) == [6, 7])
    }

    @Test func duplicateAckWhoseOriginalIsMissing() {
        var replicas = Fixture.goodReplicas()
        for position in replicas.indices { replicas[position].records.removeAll { $0.index == 3 } }
        let acks = [Fixture.ack(6, client: 100, order: 1, duplicate: true)]
        let report = Verifier.check(acks: acks, replicas: replicas)
        #expect(report.violations.map(\.kind) == [.missingOriginal, .missingOriginal, .missingOriginal])
        #expect(report.violations.allSatisfy { $0.logIndex == 6 })
    }

    @Test func duplicateOfRejectedNeedsNoOriginal() {
        let records = [
            AuditEntry(
                index: 2, position: 0, kind: .newOrder, outcome: .duplicate, reason: 9, participant: 7,
                clientOrderID: 50, orderID: 0)
        ]
        let replicas = (1...3).map { Fixture.replica(node: $0, records: records) }
        let good = Verifier.check(
            acks: [Fixture.ack(2, client: 50, order: 0, reject: 9, duplicate: true)], replicas: replicas)
        #expect(good.passed, "\(good.violations)")
        let wrongReason = Verifier.check(
            acks: [Fixture.ack(2, client: 50, order: 0, reject: 4, duplicate: true)], replicas: replicas)
        #expect(wrongReason.violationCount == 3)
    }

    @Test func acksForAShardWithoutReplicasAreAViolation() {
        var ack = Fixture.ack(3, client: 100, order: 1)
        ack.shard = 9
        let report = Verifier.check(acks: [ack], replicas: Fixture.goodReplicas())
        #expect(report.violations.map(\.kind) == [.noReplica])
    }

    @Test func mergeAddsCountsAndKeepsTheCap() {
        let acks = (1...(Verifier.violationsKeptMax - 1)).map {
            Fixture.ack(UInt64($0) + 100, client: UInt64($0), order: 1)
        }
        var report = Verifier.check(acks: acks, replicas: [Fixture.replica(node: 1, records: [])])
        let other = Verifier.check(
            acks: Fixture.goodAcks + acks.prefix(5), replicas: [Fixture.replica(node: 2, records: [])])
        report.merge(other)
        #expect(report.acksChecked == acks.count + 10)
        #expect(report.replicas.map(\.nodeID) == [1, 2])
        #expect(report.violationCount == acks.count + 10)
        #expect(report.violations.count == Verifier.violationsKeptMax)
    }

    @Test func renderListsTwentyThenCounts() {
        let acks = (1...30).map { Fixture.ack(UInt64($0) + 100, client: UInt64($0), order: 1) }
        let report = Verifier.check(acks: acks, replicas: [Fixture.replica(node: 1, records: [])])
        #expect(report.violationCount == 30)
        let text = report.render()
        #expect(text.contains("... and 10 more"))
        #expect(text.contains("verify: FAILED"))
    }
}
