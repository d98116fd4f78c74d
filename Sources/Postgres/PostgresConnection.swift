import CLibPQ
import Glibc
public import Logging

/// One blocking libpq connection (`PGconn`).
///
/// Not `Sendable` and not thread-safe: libpq documents that a `PGconn` must not be used from
/// two threads at once. Create it on the thread (or in the task) that uses it, and keep every
/// call on that thread.
///
/// - Important: every call blocks the calling thread until the server answers. Never call it on
///   a NIO event loop or from the cooperative thread pool; run it on a dedicated thread
///   (for example `NIOThreadPool`).
///
/// All `PGresult`s are copied into `PostgresResult` and cleared before a call returns, on every
/// path. The `PGconn` is finished once, by `close()` or by `deinit`.
public final class PostgresConnection {
    /// The `PGconn*`; `nil` after `close()`.
    private var handle: OpaquePointer?
    let logger: Logger

    /// Connects with `PQconnectdb` and sets the client encoding to UTF-8.
    ///
    /// - Parameter connectionString: a libpq connection string (`host=127.0.0.1 port=5432 dbname=x`)
    ///   or URI (`postgresql://user@host:port/db`).
    /// - Throws: `connectionFailed` with libpq's message when the connection cannot be made.
    public init(connectionString: String, logger: Logger = Logger(label: "exchange.postgres")) throws(PostgresError) {
        guard !connectionString.utf8.contains(0) else {
            throw PostgresError(code: .invalidArgument, message: "connection string contains a NUL character")
        }
        guard let connection = PQconnectdb(connectionString) else {
            throw PostgresError(code: .connectionFailed, message: "PQconnectdb returned no connection (out of memory)")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = PostgresError.trimmed(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw PostgresError(code: .connectionFailed, message: message)
        }
        guard PQsetClientEncoding(connection, "UTF8") == 0 else {
            let message = PostgresError.trimmed(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw PostgresError(code: .connectionFailed, message: "cannot set client encoding to UTF8: \(message)")
        }
        self.handle = connection
        self.logger = logger
        // Server NOTICE/WARNING messages go to the logger instead of libpq's default (stderr).
        // The processor is unset by PQfinish, which runs before `self` is freed.
        PQsetNoticeProcessor(
            connection,
            { context, message in
                guard let context, let message else { return }
                let connection = Unmanaged<PostgresConnection>.fromOpaque(context).takeUnretainedValue()
                connection.logger.notice(
                    "postgres server notice",
                    metadata: ["postgres.notice": "\(PostgresError.trimmed(String(cString: message)))"])
            },
            Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Closes the connection. Later calls throw `connectionClosed`. Calling it twice is harmless.
    public func close() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    public var isClosed: Bool { handle == nil }

    /// Runs one statement with `PQexecParams`; parameters are `$1`, `$2`, ... in text format, `nil` is NULL.
    ///
    /// Only one statement per call (the extended protocol forbids several). A failed statement
    /// leaves the connection usable (inside a transaction, the transaction is aborted).
    /// - Throws: `queryFailed` with `sqlState` when the server rejects the statement.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue?] = []) throws(PostgresError) -> PostgresResult {
        let connection = try openHandle()
        try Self.checkNoNUL(sql, what: "SQL text")
        let result = try Self.withCParameters(parameters) { values, count in
            PQexecParams(connection, sql, count, nil, values, nil, nil, 0)
        }
        return try consume(result, expecting: .rows)
    }

    /// Prepares a named statement (`PQprepare`) for `executePrepared`. Parameter types are inferred
    /// by the server. Names live until the connection closes or `DEALLOCATE`.
    public func prepare(name: String, sql: String) throws(PostgresError) {
        let connection = try openHandle()
        try Self.checkNoNUL(name, what: "statement name")
        try Self.checkNoNUL(sql, what: "SQL text")
        _ = try consume(PQprepare(connection, name, sql, 0, nil), expecting: .rows)
    }

    /// Executes a statement prepared with `prepare(name:sql:)` (`PQexecPrepared`).
    @discardableResult
    public func executePrepared(name: String, parameters: [PostgresValue?] = []) throws(PostgresError)
        -> PostgresResult
    {
        let connection = try openHandle()
        try Self.checkNoNUL(name, what: "statement name")
        let result = try Self.withCParameters(parameters) { values, count in
            PQexecPrepared(connection, name, count, values, nil, nil, 0)
        }
        return try consume(result, expecting: .rows)
    }

    /// Runs `body` between `BEGIN` and `COMMIT`.
    ///
    /// If `body` throws, the transaction is rolled back and the body's error is rethrown (a failing
    /// `ROLLBACK` is logged, not thrown, so the cause is not hidden). If a statement failed inside
    /// `body` but `body` caught that error and returned, the transaction is rolled back and
    /// `transactionAborted` is thrown: PostgreSQL would otherwise turn the `COMMIT` into a silent
    /// rollback.
    ///
    /// - Important: not reentrant: calling it inside another transaction throws `invalidArgument`.
    /// - Throws: the body's error, or a `PostgresError`.
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try openHandle()
        guard PQtransactionStatus(connection) == PQTRANS_IDLE else {
            throw PostgresError(code: .invalidArgument, message: "transaction started while another is open")
        }
        try execute("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackAfterFailure()
            throw error
        }
        if let handle, PQtransactionStatus(handle) == PQTRANS_INERROR {
            rollbackAfterFailure()
            throw PostgresError(
                code: .transactionAborted,
                message: "a statement failed inside the transaction; it was rolled back instead of committed")
        }
        try execute("COMMIT")
        return value
    }

    private func rollbackAfterFailure() {
        guard let handle, PQtransactionStatus(handle) != PQTRANS_IDLE else { return }
        do {
            try execute("ROLLBACK")
        } catch {
            logger.error("postgres rollback failed", metadata: ["postgres.error": "\(error)"])
        }
    }

    // MARK: - Internals shared with the COPY extension

    func openHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle else {
            throw PostgresError(code: .connectionClosed, message: "connection is closed")
        }
        return handle
    }

    func connectionErrorMessage() -> String {
        guard let handle else { return "connection is closed" }
        return PostgresError.trimmed(String(cString: PQerrorMessage(handle)))
    }

    /// The error for a missing result: libpq returns `NULL` for out-of-memory or a broken connection.
    func missingResultError() -> PostgresError {
        if let handle, PQstatus(handle) == CONNECTION_BAD {
            return PostgresError(code: .connectionClosed, message: connectionErrorMessage())
        }
        return PostgresError(code: .badResult, message: "libpq returned no result: \(connectionErrorMessage())")
    }

    enum Expectation {
        /// `PGRES_COMMAND_OK` or `PGRES_TUPLES_OK`.
        case rows
        /// `PGRES_COPY_IN`.
        case copyIn
    }

    /// Checks, copies out and clears one result. Clears it on every path.
    func consume(_ result: OpaquePointer?, expecting expectation: Expectation) throws(PostgresError) -> PostgresResult {
        guard let result else { throw missingResultError() }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch (status, expectation) {
        case (PGRES_COMMAND_OK, .rows), (PGRES_TUPLES_OK, .rows):
            return Self.copyOut(result)
        case (PGRES_COPY_IN, .copyIn):
            return PostgresResult(columnNames: [], rows: [], rowsAffected: 0, commandTag: "")
        case (PGRES_FATAL_ERROR, _), (PGRES_NONFATAL_ERROR, _), (PGRES_BAD_RESPONSE, _):
            throw Self.error(from: result, code: .queryFailed)
        case (PGRES_COPY_IN, _), (PGRES_COPY_OUT, _), (PGRES_COPY_BOTH, _):
            let name = String(cString: PQresStatus(status))
            abandonCopy()
            throw PostgresError(
                code: .badResult, message: "statement started \(name); use copyIn(table:columns:rows:) for COPY")
        default:
            throw PostgresError(
                code: .badResult, message: "unexpected result status \(String(cString: PQresStatus(status)))")
        }
    }

    /// Leaves COPY mode entered by a statement we did not expect to copy, so the connection stays usable.
    private func abandonCopy() {
        guard let handle else { return }
        _ = PQputCopyEnd(handle, "COPY is not supported through execute")
        var buffer: UnsafeMutablePointer<CChar>?
        while PQgetCopyData(handle, &buffer, 0) > 0 {
            PQfreemem(buffer)
            buffer = nil
        }
        _ = drainResults()
    }

    /// Reads and clears every pending result; returns the first error and the last command result.
    func drainResults() -> (error: PostgresError?, last: PostgresResult?) {
        guard let handle else {
            return (PostgresError(code: .connectionClosed, message: "connection is closed"), nil)
        }
        var firstError: PostgresError?
        var last: PostgresResult?
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
                last = Self.copyOut(result)
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                // Only reachable if the server is still in COPY mode; stop rather than loop forever.
                if firstError == nil {
                    firstError = PostgresError(code: .badResult, message: "server still in COPY mode")
                }
                return (firstError, last)
            default:
                if firstError == nil { firstError = Self.error(from: result, code: .queryFailed) }
            }
        }
        return (firstError, last)
    }

    static func error(from result: OpaquePointer, code: PostgresError.Code) -> PostgresError {
        let message = PostgresError.trimmed(String(cString: PQresultErrorMessage(result)))
        // PG_DIAG_SQLSTATE is the field code 'C'.
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        return PostgresError(code: code, message: message, sqlState: sqlState)
    }

    private static func copyOut(_ result: OpaquePointer) -> PostgresResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var columnNames: [String] = []
        columnNames.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            columnNames.append(PQfname(result, Int32(column)).map { String(cString: $0) } ?? "")
        }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) != 0 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(values)
        }
        let rowsAffected = Int(String(cString: PQcmdTuples(result))) ?? 0
        let commandTag = String(cString: PQcmdStatus(result))
        return PostgresResult(columnNames: columnNames, rows: rows, rowsAffected: rowsAffected, commandTag: commandTag)
    }

    static func checkNoNUL(_ text: String, what: String) throws(PostgresError) {
        // memchr over the contiguous UTF-8 (every parameter of every statement passes here); the generic scan
        // of `utf8` was a visible share of the workers' time.
        let hasNUL =
            text.utf8.withContiguousStorageIfAvailable { buffer in
                buffer.baseAddress.map { memchr($0, 0, buffer.count) != nil } ?? false
            } ?? text.utf8.contains(0)
        if hasNUL {
            throw PostgresError(code: .invalidArgument, message: "\(what) contains a NUL character")
        }
    }

    /// The protocol carries the parameter count in 16 bits.
    static let parameterCountMax = 65_535

    /// Duplicates the parameters into C strings for the duration of `body` and frees them after.
    private static func withCParameters(
        _ parameters: [PostgresValue?],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>?, Int32) -> OpaquePointer?
    ) throws(PostgresError) -> OpaquePointer? {
        guard parameters.count <= parameterCountMax else {
            throw PostgresError(
                code: .invalidArgument, message: "\(parameters.count) parameters; at most \(parameterCountMax)")
        }
        for (index, parameter) in parameters.enumerated() {
            if let parameter { try checkNoNUL(parameter.text, what: "parameter $\(index + 1)") }
        }
        let values: [UnsafeMutablePointer<CChar>?] = parameters.map { parameter in
            parameter.map { value in
                guard let copy = strdup(value.text) else { fatalError("strdup: out of memory") }
                return copy
            }
        }
        defer { for value in values { free(value) } }
        let constValues = values.map { $0.map { UnsafePointer($0) } }
        return constValues.withUnsafeBufferPointer { buffer in
            body(buffer.baseAddress, Int32(parameters.count))
        }
    }
}
