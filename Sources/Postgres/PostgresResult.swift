/// The outcome of one statement, copied out of libpq's `PGresult` before that is cleared.
///
/// Values are in PostgreSQL's text format; `nil` is SQL `NULL`. Row and column indexes are
/// zero-based; an index out of range is a programmer error and traps.
public struct PostgresResult: Sendable, Hashable {
    /// Column names in select-list order; empty for commands that return no rows.
    public let columnNames: [String]
    public let rows: [[String?]]
    /// `PQcmdTuples`: rows inserted, updated, deleted, selected, moved, fetched or copied.
    /// 0 when the command reports no count (DDL, BEGIN, ...).
    public let rowsAffected: Int
    /// `PQcmdStatus`, for example `"INSERT 0 3"` or `"CREATE TABLE"`.
    public let commandTag: String

    public init(columnNames: [String], rows: [[String?]], rowsAffected: Int, commandTag: String) {
        precondition(rows.allSatisfy { $0.count == columnNames.count }, "every row must have one value per column")
        self.columnNames = columnNames
        self.rows = rows
        self.rowsAffected = rowsAffected
        self.commandTag = commandTag
    }

    public var rowCount: Int { rows.count }

    /// The index of the first column with this name, if any.
    public func columnIndex(named name: String) -> Int? {
        columnNames.firstIndex(of: name)
    }

    /// The value as text, or `nil` for SQL `NULL`.
    public func string(_ row: Int, _ column: Int) -> String? {
        rows[row][column]
    }

    /// The value as a 64-bit integer (`smallint`, `integer`, `bigint`, or text holding one), or `nil` for SQL `NULL`.
    /// - Throws: `badResult` when the text is not a 64-bit integer.
    public func int64(_ row: Int, _ column: Int) throws(PostgresError) -> Int64? {
        guard let text = rows[row][column] else { return nil }
        guard let value = Int64(text) else {
            throw PostgresError(
                code: .badResult, message: "value at row \(row), column \(column) is not a 64-bit integer: \(text)")
        }
        return value
    }

    /// The value of a `boolean` column (`t` / `f` in text format), or `nil` for SQL `NULL`.
    /// - Throws: `badResult` for any other text.
    public func bool(_ row: Int, _ column: Int) throws(PostgresError) -> Bool? {
        switch rows[row][column] {
        case nil: return nil
        case "t"?: return true
        case "f"?: return false
        case let text?:
            throw PostgresError(
                code: .badResult, message: "value at row \(row), column \(column) is not a boolean: \(text)")
        }
    }
}
