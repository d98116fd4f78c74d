import Yams

/// A 1-based position in the source text.
struct SourcePosition: Hashable, Sendable {
    var line: Int
    var column: Int

    init?(_ mark: Mark?) {
        guard let mark else { return nil }
        line = mark.line
        column = mark.column
    }
}

/// Walks a composed YAML tree strictly: exact kinds, no unknown keys, no implicit conversions. Remembers the
/// position of every value it reads, by path, so that later cross-field checks can point at the line.
final class YAMLReader {
    let source: String
    private(set) var positions: [String: SourcePosition] = [:]

    init(source: String) { self.source = source }

    func error(_ code: ClusterConfigError.Code, _ path: String, _ reason: String, at position: SourcePosition?)
        -> ClusterConfigError
    {
        ClusterConfigError(
            code: code, path: path, source: source, line: position?.line, column: position?.column,
            message: path.isEmpty ? reason : "\(path): \(reason)")
    }

    func note(_ path: String, _ node: Node) {
        if let position = SourcePosition(node.mark) { positions[path] = position }
    }

    static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    static func element(_ path: String, _ index: Int) -> String { "\(path)[\(index)]" }

    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull(scalar) { return "null" }
            return scalar.style == .plain ? "'\(scalar.string)'" : "the quoted string \"\(scalar.string)\""
        }
    }

    static func isNull(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    // MARK: Kinds

    func mapping(_ node: Node, _ path: String, keys allowed: [String]) throws(ClusterConfigError) -> MappingFields {
        note(path, node)
        guard case .mapping(let mapping) = node else {
            throw error(.wrongType, path, "expected a mapping, found \(Self.describe(node))", at: .init(node.mark))
        }
        var values: [String: Node] = [:]
        for (key, value) in mapping {
            guard case .scalar(let keyScalar) = key else {
                throw error(
                    .wrongType, path, "keys must be plain strings, found \(Self.describe(key))", at: .init(key.mark))
            }
            let name = keyScalar.string
            guard allowed.contains(name) else {
                throw error(
                    .unknownKey, Self.child(path, name),
                    "unknown key; expected one of \(allowed.joined(separator: ", "))", at: .init(key.mark))
            }
            values[name] = value
        }
        return MappingFields(reader: self, path: path, values: values, position: .init(node.mark))
    }

    func sequence(_ node: Node, _ path: String) throws(ClusterConfigError) -> [Node] {
        note(path, node)
        guard case .sequence(let sequence) = node else {
            throw error(.wrongType, path, "expected a list, found \(Self.describe(node))", at: .init(node.mark))
        }
        return Array(sequence)
    }

    func string(_ node: Node, _ path: String) throws(ClusterConfigError) -> String {
        note(path, node)
        guard case .scalar(let scalar) = node, !Self.isNull(scalar) else {
            throw error(.wrongType, path, "expected a string, found \(Self.describe(node))", at: .init(node.mark))
        }
        return scalar.string
    }

    func bool(_ node: Node, _ path: String) throws(ClusterConfigError) -> Bool {
        note(path, node)
        if case .scalar(let scalar) = node, scalar.style == .plain {
            if scalar.string == "true" { return true }
            if scalar.string == "false" { return false }
        }
        throw error(.wrongType, path, "expected true or false, found \(Self.describe(node))", at: .init(node.mark))
    }

    /// A plain decimal integer (optionally signed, `_` allowed between digits) within `range`.
    func integer<T: FixedWidthInteger>(_ node: Node, _ path: String, _ range: ClosedRange<T>) throws(ClusterConfigError)
        -> T
    {
        note(path, node)
        let position = SourcePosition(node.mark)
        guard case .scalar(let scalar) = node, scalar.style == .plain, !Self.isNull(scalar) else {
            throw error(.wrongType, path, "expected an integer, found \(Self.describe(node))", at: position)
        }
        var text = Substring(scalar.string)
        var negative = false
        if let sign = text.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            text = text.dropFirst()
        }
        guard let first = text.first, first.isASCII, first.isNumber, text.last != "_",
            text.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "_" })
        else {
            throw error(.wrongType, path, "expected an integer, found \(Self.describe(node))", at: position)
        }
        let digits = text.filter { $0 != "_" }
        let rangeText = "\(range.lowerBound)...\(range.upperBound)"
        guard let magnitude = T(negative ? "-" + digits : String(digits)), range.contains(magnitude) else {
            throw error(.outOfRange, path, "\(scalar.string) is out of range \(rangeText)", at: position)
        }
        return magnitude
    }
}

/// The fields of one mapping whose keys were already checked against the allowed set.
struct MappingFields {
    let reader: YAMLReader
    let path: String
    let values: [String: Node]
    let position: SourcePosition?

    func path(_ key: String) -> String { YAMLReader.child(path, key) }

    func optional(_ key: String) -> Node? { values[key] }

    func required(_ key: String) throws(ClusterConfigError) -> Node {
        guard let node = values[key] else {
            throw reader.error(.missingKey, path(key), "missing required key", at: position)
        }
        return node
    }

    func integer<T: FixedWidthInteger>(_ key: String, _ range: ClosedRange<T>, default value: T)
        throws(ClusterConfigError) -> T
    {
        guard let node = values[key] else { return value }
        return try reader.integer(node, path(key), range)
    }

    func requiredInteger<T: FixedWidthInteger>(_ key: String, _ range: ClosedRange<T>) throws(ClusterConfigError) -> T {
        try reader.integer(required(key), path(key), range)
    }

    func bool(_ key: String, default value: Bool) throws(ClusterConfigError) -> Bool {
        guard let node = values[key] else { return value }
        return try reader.bool(node, path(key))
    }

    func requiredString(_ key: String) throws(ClusterConfigError) -> String {
        try reader.string(required(key), path(key))
    }
}
