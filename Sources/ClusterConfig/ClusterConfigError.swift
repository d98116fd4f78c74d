/// Why a cluster definition was refused: a stable `code`, the dotted `path` of the offending field
/// (`shards[1].replicas[0].node`), its position in the file when known, and a message that starts with the path.
///
/// Parsing stops at the first error. The order is fixed, so the same file always yields the same error:
/// YAML syntax; then, mapping by mapping, unknown keys before missing or mistyped fields; sections in the order of
/// the field table in `cluster-config/README.md`; then ranges; then cross-references and cross-field rules.
public struct ClusterConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable error codes; tools may match on them.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The text is not well-formed YAML (or holds more than one document).
        case yamlSyntax
        /// A key that the format does not define (typos are never ignored).
        case unknownKey
        /// A required key (or section) is absent.
        case missingKey
        /// A value of the wrong YAML kind: a mapping where a list belongs, a quoted string where an integer belongs...
        case wrongType
        /// A number outside its documented range.
        case outOfRange
        /// A value that must be unique appears twice (node id, address, symbol, shard id, replica, primary...).
        case duplicate
        /// A reference to something not defined (a node id, a symbol, a region).
        case unknownReference
        /// A value of the right type that breaks a rule (even voter count, malformed address, bad name...).
        case invalidValue
        /// `version` is not one this build reads.
        case unsupportedVersion
        /// The file could not be read (`load(path:)` only).
        case unreadableFile
    }

    public var code: Code
    /// Dotted path of the field; empty for the whole document.
    public var path: String
    /// Where the file was read from (a path, or the `source` given to `parse`).
    public var source: String
    /// 1-based line of the offending node, when the YAML parser reported one.
    public var line: Int?
    /// 1-based column of the offending node, when the YAML parser reported one.
    public var column: Int?
    /// Human-readable reason, starting with `path` (e.g. `shards[1].replicas[0].node: node 9 is not defined in
    /// nodes`).
    public var message: String

    public init(code: Code, path: String, source: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.code = code
        self.path = path
        self.source = source
        self.line = line
        self.column = column
        self.message = message
    }

    /// `source:line:column: message (code)`, the way compilers print errors.
    public var description: String {
        var text = source
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        return "\(text): \(message) [\(code.rawValue)]"
    }
}
