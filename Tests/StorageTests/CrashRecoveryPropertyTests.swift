import Testing

@testable import Storage

/// Appends records to a segment on the simulated file system, syncing some batches, then crashes:
/// the scan must never refuse (crashes only tear the tail), must return every synced record, and
/// must return only a prefix of what was written.
@Suite struct CrashRecoveryPropertyTests {
    @Test func syncedRecordsSurviveCrashAndOnlyTheTailIsTorn() throws {
        let seed = testSeed("syncedRecordsSurviveCrash")
        var random = SeededGenerator(seed: seed)
        for round in 0..<200 {
            let fileSystem = SimulatedFileSystem()
            let handle = try fileSystem.open("/wal/segment-1", mode: .createNew)
            try fileSystem.syncDirectory("/wal")
            var written: [LogRecord] = []
            var syncedCount = 0
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                var batch: [UInt8] = []
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let index = UInt64(written.count + 1)
                    let payloadCount = Int.random(in: 0...40, using: &random)
                    let record = LogRecord(
                        type: .entryNormal, term: 1, index: index,
                        payload: (0..<payloadCount).map { UInt8(truncatingIfNeeded: Int(index) &* 31 &+ $0) })
                    record.encode(into: &batch)
                    written.append(record)
                }
                try fileSystem.append(handle, batch)
                if Bool.random(using: &random) {
                    try fileSystem.syncData(handle)
                    syncedCount = written.count
                }
            }
            fileSystem.crash(random: &random)
            let reopened = try fileSystem.open("/wal/segment-1", mode: .existing)
            let bytes = try fileSystem.read(reopened, at: 0, count: Int(try fileSystem.size(reopened)))
            let scan = try SegmentScanner.scan(bytes, path: "/wal/segment-1")
            let recovered = scan.records.map(\.record)
            #expect(recovered.count >= syncedCount, "seed \(seed) round \(round)")
            #expect(recovered == Array(written.prefix(recovered.count)), "seed \(seed) round \(round)")
            if case .torn = scan.tail {
                #expect(scan.validByteCount < bytes.count, "seed \(seed) round \(round)")
            } else {
                #expect(scan.validByteCount == bytes.count, "seed \(seed) round \(round)")
            }
        }
    }
}
