import Testing

@testable import Storage

@Suite struct SegmentScannerTests {
    static let records = (1...4).map {
        LogRecord(type: .entryNormal, term: 3, index: UInt64($0), payload: [UInt8](repeating: UInt8($0), count: $0 * 5))
    }
    static let segment: [UInt8] = {
        var bytes: [UInt8] = []
        for record in records { record.encode(into: &bytes) }
        return bytes
    }()
    static let offsets: [Int] = {
        var offsets: [Int] = []
        var offset = 0
        for record in records {
            offsets.append(offset)
            offset += record.encodedByteCount
        }
        return offsets
    }()

    @Test func cleanEnd() throws {
        let scan = try SegmentScanner.scan(Self.segment, path: "seg")
        #expect(scan.records.map(\.record) == Self.records)
        #expect(scan.records.map(\.offset) == Self.offsets)
        #expect(scan.validByteCount == Self.segment.count)
        #expect(scan.tail == .clean)
    }

    @Test func emptyAndPreallocatedSegmentsAreClean() throws {
        let empty = try SegmentScanner.scan([], path: "seg")
        #expect(empty.records.isEmpty && empty.validByteCount == 0 && empty.tail == .clean)
        let preallocated = try SegmentScanner.scan(Self.segment + [UInt8](repeating: 0, count: 4096), path: "seg")
        #expect(preallocated.records.map(\.record) == Self.records)
        #expect(preallocated.validByteCount == Self.segment.count)
        #expect(preallocated.tail == .clean)
    }

    /// Cutting the segment at every byte inside the last record leaves a torn tail to truncate.
    @Test func tornLastRecordAtEveryByte() throws {
        let lastStart = Self.offsets.last!
        for cut in (lastStart + 1)..<Self.segment.count {
            for padding in [0, 64] {
                let bytes = Array(Self.segment[0..<cut]) + [UInt8](repeating: 0, count: padding)
                let scan = try SegmentScanner.scan(bytes, path: "seg")
                #expect(scan.records.map(\.record) == Array(Self.records.dropLast()), "cut \(cut)")
                #expect(scan.validByteCount == lastStart, "cut \(cut)")
                guard case .torn(let error) = scan.tail else {
                    Issue.record("cut \(cut) padding \(padding): tail \(scan.tail)")
                    continue
                }
                #expect(error.offset == lastStart)
            }
        }
    }

    /// A bit flip anywhere in the last record is a torn tail; anywhere earlier it is refused.
    @Test func bitFlipAtEveryByte() {
        let lastStart = Self.offsets.last!
        for byteIndex in 0..<Self.segment.count {
            var bytes = Self.segment
            bytes[byteIndex] ^= 0x04
            let damagedRecord = Self.offsets.lastIndex { $0 <= byteIndex }!
            do {
                let scan = try SegmentScanner.scan(bytes, path: "seg-7")
                #expect(byteIndex >= lastStart, "flip at \(byteIndex) accepted")
                #expect(scan.validByteCount == lastStart)
                #expect(scan.records.count == Self.records.count - 1)
                if case .clean = scan.tail { Issue.record("flip at \(byteIndex) reported clean") }
            } catch {
                #expect(byteIndex < lastStart, "flip at \(byteIndex) in last record refused")
                #expect(error.path == "seg-7")
                #expect(error.offset == Self.offsets[damagedRecord])
                #expect(error.nextValidRecordOffset == Self.offsets[damagedRecord + 1])
            }
        }
    }

    @Test func garbageAfterValidRecordsIsTornTail() throws {
        let bytes = Self.segment + [1, 2, 3, 0, 0]
        let scan = try SegmentScanner.scan(bytes, path: "seg")
        #expect(scan.validByteCount == Self.segment.count)
        #expect(scan.tail == .torn(LogRecordError(.truncated, offset: Self.segment.count, scan.tornMessage)))
    }
}

extension SegmentScan {
    fileprivate var tornMessage: String {
        if case .torn(let error) = tail { return error.message }
        return ""
    }
}
