import CLibPQ

extension PostgresConnection {
    /// Bytes buffered before each `PQputCopyData` call.
    static let copyChunkBytesMax = 64 * 1024

    /// Bulk-loads rows with `COPY table (columns) FROM STDIN` in text format.
    ///
    /// `table` and each column are single identifiers, quoted with `PQescapeIdentifier` (so a
    /// schema-qualified name must be made the search-path default instead). Values are escaped for
    /// the text format (backslash, tab, newline, carriage return); `nil` is NULL.
    ///
    /// If a row has the wrong number of values or a value contains NUL, the COPY is aborted
    /// (nothing is loaded) and `invalidArgument` is thrown; the connection stays usable.
    /// - Returns: the number of rows the server reports as copied.
    /// - Throws: `copyFailed` (with `sqlState`) when the server rejects the data.
    @discardableResult
    public func copyIn(table: String, columns: [String], rows: some Sequence<[PostgresValue?]>) throws(PostgresError)
        -> Int
    {
        let connection = try openHandle()
        guard !columns.isEmpty else {
            throw PostgresError(code: .invalidArgument, message: "copyIn needs at least one column")
        }
        let quotedTable = try quoteIdentifier(table)
        var quotedColumns: [String] = []
        for column in columns { quotedColumns.append(try quoteIdentifier(column)) }
        let statement = "COPY \(quotedTable) (\(quotedColumns.joined(separator: ", "))) FROM STDIN"

        _ = try consume(PQexec(connection, statement), expecting: .copyIn)

        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.copyChunkBytesMax + 1024)
        var rowIndex = 0
        for row in rows {
            guard row.count == columns.count else {
                abortCopy(reason: "row \(rowIndex) has \(row.count) values, expected \(columns.count)")
                throw PostgresError(
                    code: .invalidArgument,
                    message: "copyIn row \(rowIndex) has \(row.count) values, expected \(columns.count)")
            }
            for (columnIndex, value) in row.enumerated() {
                if columnIndex > 0 { buffer.append(UInt8(ascii: "\t")) }
                guard let value else {
                    buffer.append(UInt8(ascii: "\\"))
                    buffer.append(UInt8(ascii: "N"))
                    continue
                }
                guard Self.appendEscaped(value.text, to: &buffer) else {
                    abortCopy(reason: "row \(rowIndex) column \(columnIndex) contains NUL")
                    throw PostgresError(
                        code: .invalidArgument,
                        message: "copyIn row \(rowIndex), column \(columnIndex) contains a NUL character")
                }
            }
            buffer.append(UInt8(ascii: "\n"))
            rowIndex += 1
            if buffer.count >= Self.copyChunkBytesMax {
                try putCopyData(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        if !buffer.isEmpty { try putCopyData(buffer) }

        guard PQputCopyEnd(connection, nil) == 1 else {
            let message = connectionErrorMessage()
            _ = drainResults()
            throw PostgresError(code: .copyFailed, message: message)
        }
        let (error, last) = drainResults()
        if var error {
            error.code = .copyFailed
            throw error
        }
        guard let last else { throw PostgresError(code: .badResult, message: "COPY finished without a result") }
        return last.rowsAffected
    }

    private func putCopyData(_ bytes: [UInt8]) throws(PostgresError) {
        let connection = try openHandle()
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                PQputCopyData(connection, chars.baseAddress, Int32(chars.count))
            }
        }
        // Blocking connection: 1 = queued, -1 = error (0 only happens in nonblocking mode).
        guard status == 1 else {
            let message = connectionErrorMessage()
            _ = drainResults()
            throw PostgresError(code: .copyFailed, message: message)
        }
    }

    /// Ends COPY with an error so the server discards everything sent, then drains its results.
    private func abortCopy(reason: String) {
        guard let connection = try? openHandle() else { return }
        _ = PQputCopyEnd(connection, reason)
        _ = drainResults()
    }

    private func quoteIdentifier(_ identifier: String) throws(PostgresError) -> String {
        let connection = try openHandle()
        try Self.checkNoNUL(identifier, what: "identifier")
        let byteCount = identifier.utf8.count
        guard let quoted = PQescapeIdentifier(connection, identifier, byteCount) else {
            throw PostgresError(code: .invalidArgument, message: connectionErrorMessage())
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    /// Appends `text` escaped for COPY text format. Returns false if it contains NUL.
    static func appendEscaped(_ text: String, to buffer: inout [UInt8]) -> Bool {
        for byte in text.utf8 {
            switch byte {
            case 0:
                return false
            case UInt8(ascii: "\\"):
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\t"):
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "t"))
            case UInt8(ascii: "\n"):
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"):
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "r"))
            default:
                buffer.append(byte)
            }
        }
        return true
    }
}
