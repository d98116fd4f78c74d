import Testing

@testable import Storage

@Suite struct LogRecordTests {
    let record = LogRecord(type: .entryNormal, term: 7, index: 42, payload: Array("hello".utf8))

    @Test func roundTrip() throws {
        let bytes = record.encoded()
        #expect(bytes.count == LogRecord.headerByteCount + 5)
        let (decoded, next) = try LogRecord.decode(bytes)
        #expect(decoded == record)
        #expect(next == bytes.count)
    }

    @Test func roundTripEveryTypeAndEmptyPayload() throws {
        var buffer: [UInt8] = []
        let records = LogRecordType.allCases.enumerated().map { position, type in
            LogRecord(
                type: type, term: UInt64.max, index: UInt64(position),
                payload: [UInt8](repeating: 0xEE, count: position))
        }
        for record in records { record.encode(into: &buffer) }
        var offset = 0
        for record in records {
            let (decoded, next) = try LogRecord.decode(buffer, at: offset)
            #expect(decoded == record)
            offset = next
        }
        #expect(offset == buffer.count)
    }

    @Test func truncationAtEveryByteIsRejected() {
        let bytes = record.encoded()
        for length in 0..<bytes.count {
            do {
                _ = try LogRecord.decode(Array(bytes[0..<length]))
                Issue.record("prefix of \(length) bytes decoded")
            } catch {
                #expect(error.code == .truncated, "length \(length)")
            }
        }
    }

    @Test func bitFlipAtEveryBitIsRejected() {
        let bytes = record.encoded()
        for byteIndex in 0..<bytes.count {
            for bit in 0..<8 {
                var corrupt = bytes
                corrupt[byteIndex] ^= 1 << bit
                do {
                    _ = try LogRecord.decode(corrupt)
                    Issue.record("flip of byte \(byteIndex) bit \(bit) decoded")
                } catch {
                    let expected: Set<LogRecordError.Code> =
                        switch byteIndex {
                        case 0: [.badMagic]
                        case 4..<8: [.truncated, .badLength, .badChecksum]
                        default: [.badChecksum]
                        }
                    #expect(expected.contains(error.code), "byte \(byteIndex) bit \(bit): \(error)")
                    #expect(error.offset == 0)
                }
            }
        }
    }

    @Test func oversizedLengthIsBadLength() {
        var bytes = record.encoded()
        bytes[7] = 0xFF
        do {
            _ = try LogRecord.decode(bytes)
            Issue.record("decoded")
        } catch {
            #expect(error.code == .badLength)
        }
    }

    @Test func unknownTypeWithValidChecksumIsBadType() {
        var bytes = record.encoded()
        bytes[1] = 99
        var crc = CRC32C()
        crc.update(bytes[0..<24])
        crc.update(bytes[28...])
        let value = crc.value
        for byteIndex in 0..<4 { bytes[24 + byteIndex] = UInt8(truncatingIfNeeded: value >> (8 * byteIndex)) }
        do {
            _ = try LogRecord.decode(bytes)
            Issue.record("decoded")
        } catch {
            #expect(error.code == .badType)
        }
    }

    @Test func errorNamesOffsetOfSecondRecord() {
        var bytes = record.encoded()
        let second = bytes.count
        record.encode(into: &bytes)
        bytes[second + 30] ^= 0x10
        do {
            _ = try LogRecord.decode(bytes, at: second)
            Issue.record("decoded")
        } catch {
            #expect(error.code == .badChecksum)
            #expect(error.offset == second)
        }
    }
}
