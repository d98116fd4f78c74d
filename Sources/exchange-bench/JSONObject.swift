/// A hand-written JSON object builder: keys in insertion order, numbers as given.
///
/// Enough for report lines; strings are escaped for quotes, backslashes and control characters.
struct JSONObject {
    private var members: [String] = []

    mutating func add(_ key: String, _ value: String) {
        members.append("\(Self.quoted(key)):\(Self.quoted(value))")
    }

    mutating func add(_ key: String, _ value: Int) {
        members.append("\(Self.quoted(key)):\(value)")
    }

    mutating func add(_ key: String, _ value: UInt64) {
        members.append("\(Self.quoted(key)):\(value)")
    }

    mutating func add(_ key: String, _ value: Bool) {
        members.append("\(Self.quoted(key)):\(value ? "true" : "false")")
    }

    mutating func addNull(_ key: String) {
        members.append("\(Self.quoted(key)):null")
    }

    /// A number with `decimals` digits after the point.
    mutating func add(_ key: String, _ value: Double, decimals: Int) {
        members.append("\(Self.quoted(key)):\(fixed(value, decimals: decimals))")
    }

    mutating func add(_ key: String, _ value: JSONObject) {
        members.append("\(Self.quoted(key)):\(value.text)")
    }

    /// An array of already-encoded JSON values.
    mutating func add(_ key: String, rawArray values: [String]) {
        members.append("\(Self.quoted(key)):[\(values.joined(separator: ","))]")
    }

    var text: String { "{" + members.joined(separator: ",") + "}" }

    static func quoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// `value` rounded to `decimals` digits after the point, without Foundation.
func fixed(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    var fraction = String(Int(scaled - Double(whole) * scale))
    while fraction.count < decimals { fraction = "0" + fraction }
    let sign = value < 0 && scaled != 0 ? "-" : ""
    return decimals == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
}

/// `value` with thousands separators: 3,000,000.
func grouped(_ value: Int) -> String {
    let digits = String(abs(value))
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return (value < 0 ? "-" : "") + out
}
