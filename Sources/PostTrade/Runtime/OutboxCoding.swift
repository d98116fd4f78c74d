import Foundation

/// Text conversions between outbox columns and Kafka records.
enum OutboxCoding {
    /// Headers as a JSON object text for the `headers jsonb` column.
    static func headersJSON(_ headers: [String: String]) -> String {
        guard !headers.isEmpty else { return "{}" }
        // Hand-written (sorted keys, JSON string escapes): JSONEncoder per outbox row was a hot spot.
        var utf8: [UInt8] = [UInt8(ascii: "{")]
        for (position, (name, value)) in headers.sorted(by: { $0.key < $1.key }).enumerated() {
            if position > 0 { utf8.append(UInt8(ascii: ",")) }
            appendJSONString(name, to: &utf8)
            utf8.append(UInt8(ascii: ":"))
            appendJSONString(value, to: &utf8)
        }
        utf8.append(UInt8(ascii: "}"))
        return String(decoding: utf8, as: UTF8.self)
    }

    static func appendJSONString(_ text: String, to utf8: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        utf8.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): utf8 += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): utf8 += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0..<0x20:
                utf8 += Array("\\u00".utf8)
                utf8.append(hex[Int(byte >> 4)])
                utf8.append(hex[Int(byte & 0x0f)])
            default: utf8.append(byte)
            }
        }
        utf8.append(UInt8(ascii: "\""))
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
