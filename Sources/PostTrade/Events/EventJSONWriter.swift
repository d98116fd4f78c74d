/// A minimal JSON writer for the published payloads: one flat-ish object into a byte buffer, no
/// reflection, no intermediate dictionaries. The shard publisher encodes every event with it;
/// `JSONEncoder` would cost several times more per event (see `EventSchemaTests`).
///
/// Output is valid JSON equal in meaning to `JSONEncoder`'s for the same payload: the same keys,
/// `nil` optionals omitted, integers in decimal, strings escaped per RFC 8259.
///
/// - Important: keys are `StaticString`s written without escaping; they must be plain snake_case ASCII.
struct EventJSONWriter {
    private(set) var bytes: [UInt8]
    /// Whether the next member of the innermost open object is its first (no comma before it).
    private var firstMember = true

    init(capacityBytes: Int = 384) {
        bytes = []
        bytes.reserveCapacity(capacityBytes)
    }

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        firstMember = true
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        firstMember = false
    }

    /// The envelope every payload starts with (docs/events/README.md).
    mutating func envelope(
        type: String, version: Int, eventID: String, timestampNs: Int64, shard: UInt32, logIndex: UInt64,
        eventSeq: UInt32
    ) {
        field("type", type)
        field("version", Int64(version))
        field("event_id", eventID)
        field("timestamp_ns", timestampNs)
        field("shard", UInt64(shard))
        field("log_index", logIndex)
        field("event_seq", UInt64(eventSeq))
    }

    mutating func field(_ key: StaticString, _ value: Int64) {
        writeKey(key)
        writeDecimal(value)
    }

    mutating func field(_ key: StaticString, _ value: UInt64) {
        writeKey(key)
        writeDecimal(value)
    }

    mutating func field(_ key: StaticString, _ value: UInt32) {
        writeKey(key)
        writeDecimal(UInt64(value))
    }

    mutating func field(_ key: StaticString, _ value: Bool) {
        writeKey(key)
        if value {
            bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])  // true
        } else {
            bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])  // false
        }
    }

    mutating func field(_ key: StaticString, _ value: String) {
        writeKey(key)
        writeString(value)
    }

    /// Omitted when nil, as `JSONEncoder` does for synthesized `Codable`.
    mutating func field(_ key: StaticString, _ value: Int64?) {
        if let value { field(key, value) }
    }

    /// Omitted when nil, as `JSONEncoder` does for synthesized `Codable`.
    mutating func field(_ key: StaticString, _ value: String?) {
        if let value { field(key, value) }
    }

    private mutating func writeKey(_ key: StaticString) {
        if !firstMember { bytes.append(UInt8(ascii: ",")) }
        firstMember = false
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30])
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func writeDecimal(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        writeDecimal(value.magnitude)
    }

    private mutating func writeDecimal(_ value: UInt64) {
        if value < 10 {
            bytes.append(0x30 + UInt8(truncatingIfNeeded: value))
            return
        }
        var digitCount = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digitCount += 1
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: digitCount))
        rest = value
        var index = start + digitCount - 1
        while index >= start {
            bytes[index] = 0x30 + UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            index -= 1
        }
    }
}
