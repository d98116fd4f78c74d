/// A statement parameter, carried to the server in PostgreSQL's text format.
///
/// Parameters travel separately from the SQL text (`PQexecParams`), so no quoting or escaping is
/// applied or needed. SQL `NULL` is `nil` in a `[PostgresValue?]`. The server infers each
/// parameter's type from the statement (`$1::bigint` to force one).
public struct PostgresValue: Sendable, Hashable, CustomStringConvertible {
    /// The text representation sent to the server. Never contains a NUL character (checked at send time).
    public var text: String

    public init(text: String) { self.text = text }
    public init(_ value: String) { self.text = value }
    public init(_ value: Int64) { self.text = String(value) }
    public init(_ value: Int) { self.text = String(value) }
    public init(_ value: Int32) { self.text = String(value) }
    public init(_ value: Bool) { self.text = value ? "true" : "false" }
    /// Doubles are sent with Swift's shortest round-tripping representation; non-finite values use
    /// PostgreSQL's spellings (`NaN`, `Infinity`, `-Infinity`).
    public init(_ value: Double) {
        if value.isNaN {
            self.text = "NaN"
        } else if value.isInfinite {
            self.text = value < 0 ? "-Infinity" : "Infinity"
        } else {
            self.text = String(value)
        }
    }
    /// `bytea` in hex format (`\x0aff...`).
    public init(bytes: some Sequence<UInt8>) {
        // Built as UTF-8 bytes, not Characters: this runs for every bytea parameter (outbox rows) and
        // appending Characters one by one was the workers' hottest path.
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var utf8: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        utf8.reserveCapacity(2 + bytes.underestimatedCount * 2)
        for byte in bytes {
            utf8.append(digits[Int(byte >> 4)])
            utf8.append(digits[Int(byte & 0x0f)])
        }
        self.text = String(decoding: utf8, as: UTF8.self)
    }

    public var description: String { text }
}

extension PostgresValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.text = value }
}

extension PostgresValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self.text = String(value) }
}

extension PostgresValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self.init(value) }
}

extension PostgresValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self.init(value) }
}
