public import ExchangeCore

/// Reads little-endian fields from a byte array, throwing `WireError` instead of trapping.
///
/// Offsets in errors are `baseOffset + position`, so a decoder nested in a frame reports positions within
/// the frame (or the stream).
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var position: Int
    public let end: Int
    public let baseOffset: Int

    public init(_ bytes: [UInt8], baseOffset: Int = 0) {
        self.bytes = bytes
        position = 0
        end = bytes.count
        self.baseOffset = baseOffset
    }

    public var remaining: Int { end - position }
    public var offset: Int { baseOffset + position }
    public var isAtEnd: Bool { position == end }

    func fail(_ code: WireError.Code, _ message: String) -> WireError {
        WireError(code, offset: offset, message)
    }

    @inline(__always)
    mutating func need(_ count: Int, _ field: StaticString) throws(WireError) {
        if count > remaining {
            throw fail(.truncated, "\(field) needs \(count) bytes, \(remaining) left")
        }
    }

    @inline(__always)
    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: StaticString) throws(WireError) -> T {
        try need(MemoryLayout<T>.size, field)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: T.self) }
        position += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    public mutating func readBool(_ field: StaticString) throws(WireError) -> Bool {
        try need(1, field)
        let byte = bytes[position]
        guard byte <= 1 else { throw fail(.invalidBool, "\(field) is \(byte), not 0 or 1") }
        position += 1
        return byte == 1
    }

    public mutating func readEnum<E: RawRepresentable>(
        _: E.Type, _ field: StaticString
    ) throws(WireError) -> E where E.RawValue: FixedWidthInteger {
        let start = position
        let raw = try read(E.RawValue.self, field)
        guard let value = E(rawValue: raw) else {
            position = start
            throw fail(.invalidEnum, "\(field) has unknown value \(raw)")
        }
        return value
    }

    public mutating func readSymbol(_ field: StaticString) throws(WireError) -> Symbol {
        try need(16, field)
        let start = position
        let symbol = Symbol(low: try read(UInt64.self, field), high: try read(UInt64.self, field))
        guard symbol.isValid else {
            position = start
            throw fail(.invalidSymbol, "\(field) is not 1-16 printable ASCII bytes, zero-padded")
        }
        return symbol
    }

    /// 16 bytes: all zero means `nil`, otherwise a valid symbol.
    public mutating func readOptionalSymbol(_ field: StaticString) throws(WireError) -> Symbol? {
        try need(16, field)
        let start = position
        let symbol = Symbol(low: try read(UInt64.self, field), high: try read(UInt64.self, field))
        if symbol.low == 0 && symbol.high == 0 { return nil }
        guard symbol.isValid else {
            position = start
            throw fail(.invalidSymbol, "\(field) is neither all zero nor a valid symbol")
        }
        return symbol
    }

    /// Reads a count of type `T` and checks it against `max` and against the bytes that remain, given that each
    /// element takes at least `minimumElementBytes`. Nothing is allocated before this check passes.
    public mutating func readCount<T: FixedWidthInteger & UnsignedInteger>(
        _: T.Type, max: Int, minimumElementBytes: Int, _ field: StaticString
    ) throws(WireError) -> Int {
        let start = position
        let raw = try read(T.self, field)
        guard raw <= UInt64(max) else {
            position = start
            throw fail(.countTooLarge, "\(field) is \(raw), maximum \(max)")
        }
        let count = Int(raw)
        guard count <= remaining / Swift.max(1, minimumElementBytes) else {
            position = start
            throw fail(.countTooLarge, "\(field) is \(count) but only \(remaining) bytes remain")
        }
        return count
    }

    /// A `UInt32` length then that many bytes; the length is checked against `maxBytes` and the bytes left.
    public mutating func readLengthPrefixedBytes(maxBytes: Int, _ field: StaticString) throws(WireError) -> [UInt8] {
        let start = position
        let length = Int(try read(UInt32.self, field))
        guard length <= maxBytes else {
            position = start
            throw fail(.lengthTooLarge, "\(field) length \(length) exceeds \(maxBytes)")
        }
        guard length <= remaining else {
            position = start
            throw fail(.truncated, "\(field) length \(length) but only \(remaining) bytes remain")
        }
        let data = Array(bytes[position..<(position + length)])
        position += length
        return data
    }

    /// A `UInt16` length then that many bytes of UTF-8.
    public mutating func readString(
        maxBytes: Int, printableASCII: Bool = false, allowEmpty: Bool = true, _ field: StaticString
    ) throws(WireError) -> String {
        let start = position
        let length = Int(try read(UInt16.self, field))
        guard length <= maxBytes else {
            position = start
            throw fail(.lengthTooLarge, "\(field) length \(length) exceeds \(maxBytes)")
        }
        guard length <= remaining else {
            position = start
            throw fail(.truncated, "\(field) length \(length) but only \(remaining) bytes remain")
        }
        let slice = bytes[position..<(position + length)]
        if !allowEmpty && length == 0 {
            position = start
            throw fail(.invalidString, "\(field) must not be empty")
        }
        if printableASCII {
            guard slice.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else {
                position = start
                throw fail(.invalidString, "\(field) must be printable ASCII")
            }
        }
        let text = String(decoding: slice, as: UTF8.self)
        // Invalid UTF-8 decodes with replacement characters, so the round trip differs.
        guard text.utf8.elementsEqual(slice) else {
            position = start
            throw fail(.invalidString, "\(field) is not valid UTF-8")
        }
        position += length
        return text
    }

    /// Throws `trailingBytes` unless every byte was consumed.
    public func expectEnd(_ what: StaticString) throws(WireError) {
        if position != end { throw fail(.trailingBytes, "\(remaining) bytes after the end of \(what)") }
    }
}
