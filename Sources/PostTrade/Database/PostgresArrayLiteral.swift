import Postgres

/// Builds PostgreSQL array literals (`{1,2,3}`, `{"a","b"}`) sent as one text parameter, so a whole batch
/// travels in one statement (`unnest($1::bigint[], $2::text[], ...)`) instead of one round trip per row.
enum PostgresArrayLiteral {
    static func int64<S: Sequence>(_ values: S) -> PostgresValue where S.Element == Int64 {
        var text = "{"
        var first = true
        for value in values {
            if !first { text.append(",") }
            first = false
            text.append(String(value))
        }
        text.append("}")
        return PostgresValue(text: text)
    }

    static func int64<S: Sequence>(_ values: S) -> PostgresValue where S.Element == Int64? {
        var text = "{"
        var first = true
        for value in values {
            if !first { text.append(",") }
            first = false
            text.append(value.map { String($0) } ?? "NULL")
        }
        text.append("}")
        return PostgresValue(text: text)
    }

    static func text<S: Sequence>(_ values: S) -> PostgresValue where S.Element == String? {
        var text = "{"
        var first = true
        for value in values {
            if !first { text.append(",") }
            first = false
            guard let value else {
                text.append("NULL")
                continue
            }
            appendQuoted(value, to: &text)
        }
        text.append("}")
        return PostgresValue(text: text)
    }

    static func text<S: Sequence>(_ values: S) -> PostgresValue where S.Element == String {
        text(values.lazy.map { Optional($0) })
    }

    /// `bytea[]` elements in hex format (`\x0aff`), `nil` is NULL.
    static func bytea<S: Sequence>(_ values: S) -> PostgresValue where S.Element == [UInt8]? {
        text(values.lazy.map { $0.map { PostgresValue(bytes: $0).text } })
    }

    /// Double-quotes an element, escaping `"` and backslash (array literal syntax).
    private static func appendQuoted(_ value: String, to text: inout String) {
        var value = value
        let needsEscape = value.withUTF8 { bytes in
            bytes.contains { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        text.append("\"")
        if needsEscape {
            for character in value.unicodeScalars {
                if character == "\"" || character == "\\" { text.unicodeScalars.append("\\") }
                text.unicodeScalars.append(character)
            }
        } else {
            text.append(value)
        }
        text.append("\"")
    }
}
