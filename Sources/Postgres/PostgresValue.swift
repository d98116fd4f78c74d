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
        // Generic, and not inlinable across modules: a caller outside this module would iterate through witness
        // tables byte by byte. Copy once into an array and encode that.
        self.init(bytes: Array(bytes))
    }

    /// `bytea` in hex format (`\x0aff...`), written straight into the string's storage: this runs for every
    /// bytea parameter (the workers' outbox rows) and was their hottest path.
    public init(bytes: [UInt8]) {
        self.text = bytes.withUnsafeBufferPointer { source in
            String(unsafeUninitializedCapacity: 2 + source.count * 2) { target in
                let digits: StaticString = "0123456789abcdef"
                let hex = digits.utf8Start
                target[0] = UInt8(ascii: "\\")
                target[1] = UInt8(ascii: "x")
                var index = 2
                for byte in source {
                    target[index] = hex[Int(byte >> 4)]
                    target[index + 1] = hex[Int(byte & 0x0f)]
                    index += 2
                }
                return index
            }
        }
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
