/// An instrument's ticker: 1 to 16 bytes of printable ASCII (`0x21...0x7E`), stored inline.
///
/// Fixed size and trivially copyable so that commands and events hold no references.
public struct Symbol: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Bytes 0-7, little-endian packed, zero-padded.
    public var low: UInt64
    /// Bytes 8-15, little-endian packed, zero-padded.
    public var high: UInt64

    public static let maximumLength = 16

    @inlinable public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    /// Validates and packs `text`; throws on empty, too long or non-printable input.
    public init(validating text: some StringProtocol) throws(SymbolError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw SymbolError.empty }
        guard bytes.count <= Self.maximumLength else { throw SymbolError.tooLong(length: bytes.count) }
        var low: UInt64 = 0
        var high: UInt64 = 0
        for (i, byte) in bytes.enumerated() {
            guard byte >= 0x21 && byte <= 0x7E else { throw SymbolError.invalidByte(byte, position: i) }
            if i < 8 {
                low |= UInt64(byte) << (8 * UInt64(i))
            } else {
                high |= UInt64(byte) << (8 * UInt64(i - 8))
            }
        }
        self.init(low: low, high: high)
    }

    /// Packs a literal known to be valid; traps otherwise (programmer error).
    public init(_ text: StaticString) {
        do {
            try self.init(validating: text.description)
        } catch {
            preconditionFailure("invalid symbol literal \(text): \(error)")
        }
    }

    /// Whether the packed bytes form a valid symbol (used by decoders of untrusted input).
    public var isValid: Bool {
        var ended = false
        for i in 0..<16 {
            let word = i < 8 ? low : high
            let byte = UInt8(truncatingIfNeeded: word >> (8 * UInt64(i % 8)))
            if byte == 0 {
                if i == 0 { return false }
                ended = true
            } else if ended || byte < 0x21 || byte > 0x7E {
                return false
            }
        }
        return true
    }

    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for i in 0..<16 {
            let word = i < 8 ? low : high
            let byte = UInt8(truncatingIfNeeded: word >> (8 * UInt64(i % 8)))
            if byte == 0 { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @inlinable public static func < (a: Self, b: Self) -> Bool {
        // Packing is little-endian, so byte-swapping gives lexicographic byte order.
        (a.low.byteSwapped, a.high.byteSwapped) < (b.low.byteSwapped, b.high.byteSwapped)
    }
}

/// Why a text is not a valid `Symbol`.
public enum SymbolError: Error, Equatable, Sendable {
    case empty
    case tooLong(length: Int)
    case invalidByte(UInt8, position: Int)
}
