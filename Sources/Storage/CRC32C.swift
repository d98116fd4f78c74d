import CCRC32C

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI (RFC 3720), ext4 and
/// most write-ahead logs. With the SSE4.2 `crc32` instruction when the CPU has it (`CCRC32C`),
/// else table-driven, slicing-by-8 (`updateInSoftware`, also what the tests compare against).
///
/// Usage: `CRC32C.checksum(bytes)` for one buffer, or `var crc = CRC32C(); crc.update(a); crc.update(b);
/// crc.value` to checksum several non-contiguous pieces (a record header and its payload).
public struct CRC32C: Sendable, Hashable {
    /// The reflected Castagnoli polynomial.
    public static let polynomial: UInt32 = 0x82F6_3B78

    /// Eight 256-entry tables laid out contiguously: `tables[k * 256 + b]`.
    @usableFromInline static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1
            }
            tables[byte] = crc
        }
        for byte in 0..<256 {
            var crc = tables[byte]
            for slice in 1..<8 {
                crc = tables[Int(crc & 0xFF)] ^ (crc >> 8)
                tables[slice * 256 + byte] = crc
            }
        }
        return tables
    }()

    /// The running register (pre- and post-inverted, so `value` is the finished checksum).
    @usableFromInline var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// The checksum of everything passed to `update` so far.
    @inlinable public var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// Whether `update` uses the CPU's crc32 instruction.
    public static let usesHardware = ccrc32c_hardware_available() == 1

    /// Feeds `bytes` into the checksum.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if CRC32C.usesHardware {
            guard let base = bytes.baseAddress else { return }
            state = ccrc32c_hardware_update(state, base, bytes.count)
        } else {
            updateInSoftware(bytes)
        }
    }

    /// Feeds `bytes` into the checksum with the portable table-driven code.
    public mutating func updateInSoftware(_ bytes: UnsafeRawBufferPointer) {
        var crc = state
        var index = 0
        let count = bytes.count
        CRC32C.tables.withUnsafeBufferPointer { table in
            while count - index >= 8 {
                let low =
                    crc
                    ^ (UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8
                        | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24)
                crc =
                    table[7 * 256 + Int(low & 0xFF)]
                    ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)]
                    ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(bytes[index + 4])]
                    ^ table[2 * 256 + Int(bytes[index + 5])]
                    ^ table[1 * 256 + Int(bytes[index + 6])]
                    ^ table[Int(bytes[index + 7])]
                index += 8
            }
            while index < count {
                crc = table[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        state = crc
    }

    /// Feeds `bytes` into the checksum.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(UnsafeRawBufferPointer(buffer))
        }
        if handled == nil {
            let copy = Array(bytes)
            copy.withUnsafeBytes { update($0) }
        }
    }

    /// The CRC32C of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.value
    }
}
