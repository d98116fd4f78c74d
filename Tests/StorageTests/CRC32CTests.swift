import Testing

@testable import Storage

@Suite struct CRC32CTests {
    @Test func standardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test func emptyInputIsZero() {
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    /// Slicing-by-8 must agree with the bytewise definition at every length and split point.
    @Test func slicedAgreesWithBitwiseReference() {
        func reference(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            return crc ^ 0xFFFF_FFFF
        }
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for length in 0...data.count {
            let prefix = Array(data[0..<length])
            let expected = reference(prefix)
            #expect(CRC32C.checksum(prefix) == expected)
            let split = length / 3
            var crc = CRC32C()
            crc.update(prefix[0..<split])
            crc.update(prefix[split...])
            #expect(crc.value == expected)
        }
    }
}

/// The hardware path (when this CPU has one) and the software path agree everywhere.
@Suite struct CRC32CHardwareTests {
    @Test func hardwareAndSoftwareAgreeAtEveryLengthAndAlignment() {
        print("CRC32C hardware: \(CRC32C.usesHardware)")
        let data = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 7) }
        data.withUnsafeBytes { raw in
            for start in 0..<9 {
                for length in stride(from: 0, through: raw.count - start, by: 1) {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    var software = CRC32C()
                    software.updateInSoftware(slice)
                    var dispatched = CRC32C()
                    dispatched.update(slice)
                    #expect(software.value == dispatched.value, "start \(start) length \(length)")
                }
            }
        }
    }
}
