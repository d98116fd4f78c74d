/// An operating error from libpq or from the PostgreSQL server.
///
/// `code` says which step failed; `message` is libpq's text (`PQerrorMessage` or `PQresultErrorMessage`,
/// trimmed); `sqlState` is the server's five-character SQLSTATE when the server reported one
/// (for example `"23505"` for a unique violation), which is what callers should branch on.
public struct PostgresError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The step that failed. Stable names, extended as the adapter grows.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String

        private init(_ name: String) { self.name = name }

        /// `PQconnectdb` did not reach `CONNECTION_OK` (bad connection string, server down, auth).
        public static let connectionFailed = Code("connectionFailed")
        /// The connection was used after `close()`, or libpq reports it as broken.
        public static let connectionClosed = Code("connectionClosed")
        /// The server rejected a statement; see `sqlState`.
        public static let queryFailed = Code("queryFailed")
        /// libpq returned a result of an unexpected kind, or a value did not parse as the asked type.
        public static let badResult = Code("badResult")
        /// The caller passed something libpq cannot carry (NUL in text, wrong column count, ...).
        public static let invalidArgument = Code("invalidArgument")
        /// Sending COPY data failed or the server rejected it.
        public static let copyFailed = Code("copyFailed")
        /// A statement failed inside `transaction` and its error was swallowed by the body: the
        /// transaction was rolled back instead of committed.
        public static let transactionAborted = Code("transactionAborted")
        /// `LocalPostgresServer` could not create, start or stop its server.
        public static let serverFailed = Code("serverFailed")

        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// SQLSTATE from `PQresultErrorField(result, PG_DIAG_SQLSTATE)`, when the server sent one.
    public var sqlState: String?

    public init(code: Code, message: String, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    public var description: String {
        if let sqlState {
            return "PostgresError(\(code), sqlState: \(sqlState)): \(message)"
        }
        return "PostgresError(\(code)): \(message)"
    }
}

extension PostgresError {
    /// SQLSTATE of a unique-constraint violation.
    public static let uniqueViolationSQLState = "23505"

    /// libpq messages end in a newline and sometimes carry several lines; keep them but trim the ends.
    static func trimmed(_ message: String) -> String {
        var text = Substring(message)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        return String(text)
    }
}
