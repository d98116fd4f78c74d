import Foundation

/// Text conversions between outbox columns and Kafka records.
enum OutboxCoding {
    /// Headers as a JSON object text for the `headers jsonb` column.
    static func headersJSON(_ headers: [String: String]) -> String {
        guard !headers.isEmpty else { return "{}" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // [String: String] always encodes.
        let data = try! encoder.encode(headers)
        return String(decoding: data, as: UTF8.self)
    }

    /// A `headers` column (JSON object text) back into text headers; non-string values keep their JSON text.
    static func headers(fromJSON text: String) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
            let dictionary = object as? [String: Any]
        else { return [:] }
        var headers: [String: String] = [:]
        for (name, value) in dictionary {
            if let text = value as? String {
                headers[name] = text
            } else if value is NSNull {
                headers[name] = ""
            } else if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
                headers[name] = String(decoding: data, as: UTF8.self)
            }
        }
        return headers
    }

    /// `encode(bytea, 'hex')` output back into bytes; `nil` for SQL NULL or malformed text.
    static func bytes(fromHex text: String?) -> [UInt8]? {
        guard let text else { return nil }
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
