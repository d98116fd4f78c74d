import ExchangeCore
import Matching
import NIOHTTP1
import Raft
import Storage
import Testing
import Wire

@testable import Cluster

@Suite struct AuditTrailTests {
    static func allRecords(_ replica: ShardReplica) throws -> [AuditRecord] {
        try replica.audit.records(from: 0, limit: 1_000_000)
    }

    static func submit(_ harness: ShardHarness, _ range: ClosedRange<UInt64>, participant: UInt64 = 1) {
        guard let leader = harness.leader else { return }
        for number in range {
            let side: Side = number % 2 == 0 ? .buy : .sell
            _ = leader.submit(
                ShardHarness.order(participant + number % 3, number, side, price: 10_000 + Int64(number % 5)),
                origin: CommandOrigin(connection: 1, requestID: number))
            if number % 3 == 0 { harness.round() }
        }
    }

    static func converged(_ harness: ShardHarness) -> Bool {
        harness.leader != nil && harness.leader!.queuedCommandCount == 0
            && Set(harness.replicas.values.map(\.appliedIndex)).count == 1
    }

    @Test func everyReplicaRecordsTheSameCommandsAsTheAcknowledgements() throws {
        let harness = try ShardHarness()
        let leader = try #require(harness.electLeader())
        Self.submit(harness, 1...40)
        // A retry of an applied command is recorded as a duplicate with the original order id.
        _ = leader.submit(
            ShardHarness.order(1 + 3 % 3, 3, .sell, price: 10_003), origin: CommandOrigin(connection: 1, requestID: 99))
        #expect(harness.runUntil { Self.converged(harness) })
        let records = try Self.allRecords(leader)
        #expect(records.count == 41)
        for id in harness.ids { #expect(try Self.allRecords(harness.replicas[id]!) == records, "replica \(id)") }
        let acknowledged = harness.applied[leader.status.id]!.compactMap { applied in
            applied.origin == nil ? nil : CommandResult(applied: applied)
        }
        #expect(acknowledged.count == 41)
        for result in acknowledged {
            let matching = records.filter {
                $0.logIndex == result.logIndex && $0.clientOrderID == result.clientOrderID.rawValue
                    && $0.participant == result.participant.rawValue
            }
            #expect(matching.count == 1)
            #expect(matching.first?.orderID == result.orderID.rawValue)
            #expect((matching.first?.outcome == .duplicate) == result.isDuplicate)
        }
        // Positions increase within an entry, indices never decrease.
        for (earlier, later) in zip(records, records.dropFirst()) {
            #expect((earlier.logIndex, earlier.position) < (later.logIndex, later.position))
        }
    }

    @Test func crashesWithLostWritesNeverLoseOrRepeatARecord() throws {
        let harness = try ShardHarness(options: ShardReplicaOptions(snapshotEveryEntries: 7, stateHashEveryEntries: 3))
        _ = try #require(harness.electLeader())
        var next: UInt64 = 1
        for round in 0..<12 {
            Self.submit(harness, next...(next + 9))
            next += 10
            // Crash a follower (or the leader every fourth round) mid-stream, with unsynced writes lost or torn.
            let victim: NodeID = round % 4 == 3 ? harness.leader!.status.id : (round % 2 == 0 ? 3 : 2)
            harness.round()
            harness.crash(victim)
            Self.submit(harness, next...(next + 4))
            next += 5
            try harness.start(victim)
            #expect(harness.runUntil { Self.converged(harness) }, "round \(round)")
        }
        let leader = try #require(harness.leader)
        let reference = try Self.allRecords(leader)
        for id in harness.ids {
            let records = try Self.allRecords(harness.replicas[id]!)
            // Every record in order, none twice; a snapshot marker may stand for entries a replica
            // received as a snapshot; outside such gaps the trails are identical.
            var seen = Set<[UInt64]>()
            for record in records where record.kind != .snapshot {
                #expect(seen.insert([record.logIndex, UInt64(record.position)]).inserted, "replica \(id) repeats \(record)")
            }
            let markers = records.filter { $0.kind == .snapshot }.map(\.logIndex)
            let covered = records.filter { $0.kind != .snapshot }
            for record in covered { #expect(reference.contains(record), "replica \(id) has \(record)") }
            let missing = reference.filter { $0.kind != .snapshot && !covered.contains($0) }
            for record in missing {
                #expect(markers.contains { $0 >= record.logIndex }, "replica \(id) lacks \(record) outside a snapshot gap")
            }
        }
        #expect(Set(harness.replicas.values.map { $0.engine.stateHash() }).count == 1)
    }

    @Test func aReplicaCaughtUpBySnapshotMarksTheGap() throws {
        let harness = try ShardHarness(options: ShardReplicaOptions(snapshotEveryEntries: 10, stateHashEveryEntries: 3))
        _ = try #require(harness.electLeader())
        harness.crash(3)
        for number in 1...60 as ClosedRange<UInt64> {
            Self.submit(harness, number...number)
            harness.round()
        }
        try harness.start(3)
        #expect(harness.runUntil { Self.converged(harness) })
        let lagging = try Self.allRecords(harness.replicas[3]!)
        let marker = try #require(lagging.first { $0.kind == .snapshot })
        let leaderRecords = try Self.allRecords(harness.leader!)
        #expect(lagging.filter { $0.kind != .snapshot } == leaderRecords.filter { $0.logIndex > marker.logIndex })
    }

    @Test func aTornTailIsCutAndTheLastEntryReplayed() throws {
        let disk = SimulatedFileSystem()
        let trail = try AuditTrail(fileSystem: disk, directory: "/d", snapshotIndex: 0)
        for index in 1...3 as ClosedRange<UInt64> {
            for position in 0..<2 as Range<UInt16> {
                trail.record(
                    AuditRecord(
                        logIndex: index, position: position, kind: .newOrder, outcome: .accepted, reason: 0,
                        participant: 1, clientOrderID: index * 10 + UInt64(position), orderID: index << 16))
            }
        }
        try trail.sync()
        // Garbage after the last record (a torn write).
        let handle = try disk.open("/d/audit.log", mode: .existing)
        try disk.write(handle, [1, 2, 3, 4, 5, 6, 7], at: try disk.size(handle))
        disk.close(handle)
        let reopened = try AuditTrail(fileSystem: disk, directory: "/d", snapshotIndex: 0)
        // The garbage and entry 3 (possibly incomplete, beyond the snapshot) are cut.
        #expect(reopened.lastIndex == 2)
        #expect(reopened.recoveredCut == 3)
        #expect(reopened.wants(3) && !reopened.wants(2))
        #expect(try reopened.records(from: 0, limit: 100).count == 4)
        // With a snapshot at 3, entry 3 was synced before the snapshot: kept.
        let kept = try AuditTrail(fileSystem: disk, directory: "/d", snapshotIndex: 3)
        #expect(kept.lastIndex == 3)
        // Paging finds the first record at or after an index.
        #expect(try kept.records(from: 2, limit: 3).map(\.logIndex) == [2, 2, 3])
        // A snapshot beyond the trail leaves a marker.
        let jumped = try AuditTrail(fileSystem: disk, directory: "/d", snapshotIndex: 9)
        #expect(try jumped.records(from: 4, limit: 10) == [.snapshotMarker(at: 9)])
    }

    @Test func shardEndpointsParseAndAnswer() throws {
        #expect(ShardAdminRequest.parse(method: .GET, uri: "/status") == nil)
        func parsed(_ method: HTTPMethod, _ uri: String) -> ShardAdminRequest? {
            if case .request(let request) = ShardAdminRequest.parse(method: method, uri: uri) { return request }
            return nil
        }
        #expect(parsed(.GET, "/shards/2/audit?from=5&limit=7") == .audit(shard: 2, from: 5, limit: 7))
        #expect(parsed(.GET, "/shards/2/state") == .state(shard: 2))
        #expect(parsed(.POST, "/shards/1/transfer-leader?to=3") == .transferLeader(shard: 1, to: 3))
        func failure(_ method: HTTPMethod, _ uri: String) -> HTTPResponseStatus? {
            if case .refusal(let response) = ShardAdminRequest.parse(method: method, uri: uri) { return response.status }
            return nil
        }
        #expect(failure(.GET, "/shards/x/state") == .badRequest)
        #expect(failure(.GET, "/shards/1/audit?limit=0") == .badRequest)
        #expect(failure(.GET, "/shards/1/audit?from=-1") == .badRequest)
        #expect(failure(.POST, "/shards/1/state") == .methodNotAllowed)
        #expect(failure(.GET, "/shards/1/transfer-leader?to=2") == .methodNotAllowed)
        #expect(failure(.POST, "/shards/1/transfer-leader") == .badRequest)
        #expect(failure(.GET, "/shards/1/nothing") == .notFound)

        let harness = try ShardHarness()
        let leader = try #require(harness.electLeader())
        Self.submit(harness, 1...12)
        #expect(harness.runUntil { Self.converged(harness) })
        let host = ShardHost(nodeID: leader.status.id, replicas: [leader])
        let state = ShardAdminRequest.state(shard: 1).respond(host: host)
        #expect(state.status == .ok)
        let text = String(decoding: state.body, as: UTF8.self)
        #expect(text.contains("\"appliedIndex\":\(leader.appliedIndex)"))
        #expect(ShardAdminRequest.state(shard: 9).respond(host: host).status == .notFound)
        // Paging: pages end on entry boundaries and together hold every record once.
        var from: UInt64 = 0
        var lines: [String] = []
        var pages = 0
        while true {
            let page = ShardAdminRequest.audit(shard: 1, from: from, limit: 2).respond(host: host)
            #expect(page.status == .ok)
            let pageLines = String(decoding: page.body, as: UTF8.self).split(separator: "\n").map(String.init)
            let header = try #require(pageLines.first)
            lines += pageLines.dropFirst()
            pages += 1
            guard let nextField = header.split(separator: " ").last, nextField.hasPrefix("next="),
                let next = UInt64(nextField.dropFirst(5))
            else { break }
            from = next
            if pages > 100 { break }
        }
        #expect(lines == (try Self.allRecords(leader)).map(\.line))
        #expect(pages > 1)
        // Transfer: refused for an unknown target, started for a voter.
        let follower = harness.ids.first { $0 != leader.status.id }!
        #expect(ShardAdminRequest.transferLeader(shard: 1, to: 42).respond(host: host).status == .badRequest)
        #expect(ShardAdminRequest.transferLeader(shard: 1, to: follower).respond(host: host).status == .ok)
    }
}
