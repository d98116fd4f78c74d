import Foundation

// A minimal JSON parser and JSON Schema (draft 2020-12) validator for the subset docs/events uses. Our own
// parser instead of JSONSerialization so that integers, booleans and duplicate keys are seen exactly.

/// A parsed JSON value.
enum JSONValue: Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    var object: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var integer: Int64? { if case .number(let n) = self { n.exactInteger } else { nil } }

    subscript(key: String) -> JSONValue? { object?[key] }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): String(b)
        case .number(let n): n.text
        case .string(let s): "\"\(s)\""
        case .array(let a): "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let o): "{" + o.keys.sorted().map { "\"\($0)\":\(o[$0]!)" }.joined(separator: ",") + "}"
        }
    }

    init(_ integer: Int64) { self = .number(JSONNumber(text: String(integer))) }
}

/// A JSON number as written, with its value as a Double and, when it is an integer that fits, as Int64.
struct JSONNumber: Equatable {
    var text: String
    var value: Double
    var exactInteger: Int64?

    init(text: String) {
        self.text = text
        value = Double(text) ?? .nan
        exactInteger = Int64(text)
    }

    var isInteger: Bool { value.isFinite && value.rounded(.towardZero) == value }

    static func == (a: Self, b: Self) -> Bool {
        if let x = a.exactInteger, let y = b.exactInteger { return x == y }
        return a.value == b.value
    }

    /// -1, 0, 1; exact when both are Int64.
    func compare(_ other: JSONNumber) -> Int {
        if let x = exactInteger, let y = other.exactInteger { return x < y ? -1 : (x == y ? 0 : 1) }
        return value < other.value ? -1 : (value == other.value ? 0 : 1)
    }
}

struct JSONParseError: Error, CustomStringConvertible {
    var offset: Int
    var message: String
    var description: String { "JSON parse error at byte \(offset): \(message)" }
}

/// Strict RFC 8259 parser; duplicate object keys are an error.
struct JSONParser {
    private let bytes: [UInt8]
    private var index = 0

    static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("trailing bytes") }
        return value
    }

    static func parse(_ data: Data) throws(JSONParseError) -> JSONValue { try parse([UInt8](data)) }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ message: String) -> JSONParseError { JSONParseError(offset: index, message: message) }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func expect(_ literal: String) throws(JSONParseError) {
        for byte in literal.utf8 {
            guard index < bytes.count, bytes[index] == byte else { throw error("expected \(literal)") }
            index += 1
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < 64 else { throw error("nested too deep") }
        guard index < bytes.count else { throw error("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        default: return .number(try parseNumber())
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected key") }
            let key = try parseString()
            skipWhitespace()
            try expect(":")
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            guard members.updateValue(value, forKey: key) == nil else { throw error("duplicate key \(key)") }
            skipWhitespace()
            guard index < bytes.count else { throw error("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            } else {
                throw error("expected , or }")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            } else {
                throw error("expected , or ]")
            }
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count,
            let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
        else { throw error("bad \\u escape") }
        index += 4
        return code
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1
        var utf8: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else { throw error("invalid UTF-8") }
                return text
            case 0..<0x20:
                throw error("control character in string")
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw error("unterminated escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code) {
                        try expect("\\u")
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("bad surrogate pair") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("bad code point") }
                    utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw error("bad escape")
                }
            default:
                utf8.append(byte)
            }
        }
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = index
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.index
            while parser.index < parser.bytes.count, (0x30...0x39).contains(parser.bytes[parser.index]) {
                parser.index += 1
            }
            return parser.index - from
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("expected a value") }
        if integerDigits > 1, bytes[integerStart] == 0x30 { throw error("leading zero") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw error("expected fraction digits") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits(&self) > 0 else { throw error("expected exponent digits") }
        }
        return JSONNumber(text: String(decoding: bytes[start..<index], as: UTF8.self))
    }
}

/// One way a document breaks its schema; `path` is a JSON path such as `$.legs[0].side`.
struct SchemaViolation: Equatable, CustomStringConvertible {
    var path: String
    var message: String
    var description: String { "\(path): \(message)" }
}

/// Validates documents against one schema of docs/events. Supported keywords: type (a name or a list of
/// names), required, properties, additionalProperties (false or a schema), enum, const, minimum, maximum,
/// minLength, maxLength, pattern, items, minItems, maxItems; annotations ($schema, $id, title, description)
/// are ignored. ``unsupportedKeywords()`` lists anything else, so a schema cannot silently use more.
struct JSONSchemaValidator {
    static let supportedKeywords: Set<String> = [
        "type", "required", "properties", "additionalProperties", "enum", "const", "minimum", "maximum",
        "minLength", "maxLength", "pattern", "items", "minItems", "maxItems",
    ]
    static let annotationKeywords: Set<String> = ["$schema", "$id", "title", "description"]

    let schema: JSONValue

    /// The package root, found from this file's path (`<root>/Tests/PostTradeTests/JSONSchemaValidator.swift`).
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    static var eventsDirectory: URL { packageRoot.appendingPathComponent("docs/events") }

    static func schemaURL(topic: String, version: Int = 1) -> URL {
        eventsDirectory.appendingPathComponent("\(topic).v\(version).schema.json")
    }

    /// Loads `docs/events/<topic>.v<version>.schema.json`.
    static func load(topic: String, version: Int = 1) throws -> JSONSchemaValidator {
        let data = try Data(contentsOf: schemaURL(topic: topic, version: version))
        return JSONSchemaValidator(schema: try JSONParser.parse(data))
    }

    init(schema: JSONValue) { self.schema = schema }

    /// Parses and validates; a document that is not JSON is one violation at `$`.
    func validate(_ bytes: [UInt8]) -> [SchemaViolation] {
        do {
            return validate(try JSONParser.parse(bytes))
        } catch {
            return [SchemaViolation(path: "$", message: error.description)]
        }
    }

    func validate(_ value: JSONValue) -> [SchemaViolation] {
        var violations: [SchemaViolation] = []
        Self.check(value, against: schema, path: "$", into: &violations)
        return violations
    }

    /// Keywords the schema uses that this validator does not implement, with their schema paths.
    func unsupportedKeywords() -> [String] {
        var found: [String] = []
        func walk(_ node: JSONValue, _ path: String) {
            guard let object = node.object else { return found.append("\(path): schema is not an object") }
            for (key, sub) in object {
                if !Self.supportedKeywords.contains(key) && !Self.annotationKeywords.contains(key) {
                    found.append("\(path).\(key)")
                }
                switch key {
                case "properties":
                    for (name, property) in sub.object ?? [:] { walk(property, "\(path).properties.\(name)") }
                case "items", "additionalProperties":
                    if case .object = sub { walk(sub, "\(path).\(key)") }
                default:
                    break
                }
            }
        }
        walk(schema, "#")
        return found.sorted()
    }

    private static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .number(let n): n.isInteger ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        let actual = typeName(value)
        return actual == type || (type == "number" && actual == "integer")
    }

    private static func check(
        _ value: JSONValue, against schema: JSONValue, path: String, into violations: inout [SchemaViolation]
    ) {
        if case .bool(let allowed) = schema {
            if !allowed { violations.append(SchemaViolation(path: path, message: "not allowed")) }
            return
        }
        guard let rules = schema.object else { return }
        func fail(_ message: String) { violations.append(SchemaViolation(path: path, message: message)) }

        if let type = rules["type"] {
            let allowed = type.string.map { [$0] } ?? (type.array ?? []).compactMap(\.string)
            if !allowed.contains(where: { matches(value, type: $0) }) {
                fail("expected type \(allowed.joined(separator: " or ")), found \(typeName(value))")
            }
        }
        if let constant = rules["const"], constant != value { fail("expected \(constant), found \(value)") }
        if let values = rules["enum"]?.array, !values.contains(value) { fail("\(value) is not one of \(values)") }

        if case .number(let number) = value {
            if case .number(let minimum)? = rules["minimum"], number.compare(minimum) < 0 {
                fail("\(number.text) is below the minimum \(minimum.text)")
            }
            if case .number(let maximum)? = rules["maximum"], number.compare(maximum) > 0 {
                fail("\(number.text) is above the maximum \(maximum.text)")
            }
        }
        if case .string(let text) = value {
            let length = text.unicodeScalars.count
            if let minimum = rules["minLength"]?.integer, length < minimum { fail("shorter than \(minimum)") }
            if let maximum = rules["maxLength"]?.integer, length > maximum { fail("longer than \(maximum)") }
            if let pattern = rules["pattern"]?.string {
                if let regex = try? NSRegularExpression(pattern: pattern) {
                    let range = NSRange(text.startIndex..., in: text)
                    if regex.firstMatch(in: text, range: range) == nil { fail("\"\(text)\" does not match \(pattern)") }
                } else {
                    fail("schema pattern \(pattern) does not compile")
                }
            }
        }
        if case .array(let elements) = value {
            if let minimum = rules["minItems"]?.integer, elements.count < minimum {
                fail("fewer than \(minimum) items")
            }
            if let maximum = rules["maxItems"]?.integer, elements.count > maximum {
                fail("more than \(maximum) items")
            }
            if let items = rules["items"] {
                for (i, element) in elements.enumerated() {
                    check(element, against: items, path: "\(path)[\(i)]", into: &violations)
                }
            }
        }
        if case .object(let members) = value {
            for name in rules["required"]?.array ?? [] {
                if let name = name.string, members[name] == nil { fail("missing required property \(name)") }
            }
            let properties = rules["properties"]?.object ?? [:]
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let property = properties[name] {
                    check(member, against: property, path: "\(path).\(name)", into: &violations)
                } else if let additional = rules["additionalProperties"] {
                    if case .bool(false) = additional {
                        violations.append(SchemaViolation(path: "\(path).\(name)", message: "property not allowed"))
                    } else {
                        check(member, against: additional, path: "\(path).\(name)", into: &violations)
                    }
                }
            }
        }
    }
}
