public import ExchangeCore

/// Appends little-endian fields to a byte array. Encoders are the only users; they assert their lengths.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    public init(bytes: [UInt8] = []) { self.bytes = bytes }

    public init(reservingCapacity capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    @inline(__always)
    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// 16 bytes: `low` then `high`. - Important: traps on an invalid symbol (the decoder would refuse it).
    @inline(__always)
    public mutating func write(_ symbol: Symbol) {
        precondition(symbol.isValid, "encoding an invalid symbol")
        write(symbol.low)
        write(symbol.high)
    }

    /// 16 bytes, all zero for `nil` ("any symbol" in filters).
    public mutating func write(optionalSymbol symbol: Symbol?) {
        if let symbol { write(symbol) } else { bytes.append(contentsOf: repeatElement(0, count: 16)) }
    }

    public mutating func write(contentsOf data: some Collection<UInt8>) { bytes.append(contentsOf: data) }

    /// A `UInt32` length then the bytes. - Important: traps when longer than `maxBytes`.
    public mutating func write(lengthPrefixed data: [UInt8], maxBytes: Int) {
        precondition(data.count <= maxBytes && data.count <= Int(UInt32.max), "byte field longer than its maximum")
        write(UInt32(data.count))
        bytes.append(contentsOf: data)
    }

    /// A `UInt16` length then the UTF-8 bytes. - Important: traps when longer than `maxBytes`.
    public mutating func write(string: String, maxBytes: Int) {
        let utf8 = Array(string.utf8)
        precondition(utf8.count <= maxBytes && utf8.count <= Int(UInt16.max), "string longer than its maximum")
        write(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Overwrites a previously written `UInt32` at `position` (frame lengths).
    mutating func patch(_ value: UInt32, at position: Int) {
        precondition(position >= 0 && position + 4 <= bytes.count)
        for i in 0..<4 { bytes[position + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }
}
