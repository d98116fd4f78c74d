import Postgres
import Testing

/// Each test starts its own `LocalPostgresServer` and stops it in a `defer`, so no server outlives a
/// test, also when an expectation fails or the test throws.
@Suite(.serialized)
struct PostgresConnectionTests {
    struct BodyFailure: Error, Equatable {}

    /// Starts a private server, connects, runs `body`, then closes and stops.
    private func withServer(_ body: (PostgresConnection, LocalPostgresServer) throws -> Void) throws {
        let server = LocalPostgresServer()
        defer { server.stop() }
        try server.start()
        let connection = try PostgresConnection(connectionString: server.connectionString)
        defer { connection.close() }
        try body(connection, server)
    }

    private func count(_ connection: PostgresConnection, _ table: String) throws -> Int64? {
        try connection.execute("SELECT count(*) FROM \(table)").int64(0, 0)
    }

    @Test func insertWithParametersSelectBackAndNulls() throws {
        try withServer { connection, _ in
            try connection.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, note text)")
            let insert = try connection.execute(
                "INSERT INTO accounts (id, name, note) VALUES ($1, $2, $3), ($4, $5, $6)",
                [1, "alice", nil, PostgresValue(Int64(2)), "bob", "vip"])
            #expect(insert.rowsAffected == 2)
            #expect(insert.commandTag == "INSERT 0 2")

            let result = try connection.execute("SELECT id, name, note FROM accounts ORDER BY id")
            #expect(result.columnNames == ["id", "name", "note"])
            #expect(result.rows == [["1", "alice", nil], ["2", "bob", "vip"]])
            #expect(try result.int64(0, 0) == 1)
            #expect(result.string(0, 1) == "alice")
            #expect(result.string(0, 2) == nil)
            #expect(result.string(1, 2) == "vip")
            #expect(result.columnIndex(named: "note") == 2)
            #expect(throws: PostgresError.self) { try result.int64(0, 1) }

            let isNull = try connection.execute("SELECT $1::text IS NULL, $2::text IS NULL", [nil, ""])
            #expect(try isNull.bool(0, 0) == true)
            #expect(try isNull.bool(0, 1) == false)

            // A parameter with a NUL character (C strings cannot carry it) is refused before anything is sent;
            // the connection stays usable and nothing changed.
            for text in ["a\u{0}b", "\u{0}", "long " + String(repeating: "x", count: 10_000) + "\u{0}"] {
                let refusal = #expect(throws: PostgresError.self) {
                    try connection.execute("INSERT INTO accounts (id, name) VALUES (3, $1)", [PostgresValue(text)])
                }
                #expect(refusal?.code == .invalidArgument)
                #expect(refusal?.message.contains("parameter $1 contains a NUL character") == true)
            }
            #expect(try count(connection, "accounts") == 2)
        }
    }

    @Test func uniqueViolationReportsSQLStateAndConnectionStaysUsable() throws {
        try withServer { connection, _ in
            try connection.execute("CREATE TABLE orders (id bigint PRIMARY KEY)")
            try connection.execute("INSERT INTO orders (id) VALUES ($1)", [7])
            let error = #expect(throws: PostgresError.self) {
                try connection.execute("INSERT INTO orders (id) VALUES ($1)", [7])
            }
            #expect(error?.code == .queryFailed)
            #expect(error?.sqlState == PostgresError.uniqueViolationSQLState)
            #expect(error?.message.contains("duplicate key") == true)

            try connection.execute("INSERT INTO orders (id) VALUES ($1)", [8])
            #expect(try count(connection, "orders") == 2)
        }
    }

    @Test func throwingTransactionIsRolledBack() throws {
        try withServer { connection, _ in
            try connection.execute("CREATE TABLE fills (id bigint PRIMARY KEY)")
            #expect(throws: BodyFailure()) {
                try connection.transaction { transaction in
                    try transaction.execute("INSERT INTO fills (id) VALUES (1)")
                    throw BodyFailure()
                }
            }
            #expect(try count(connection, "fills") == 0)

            let committed = try connection.transaction { transaction in
                try transaction.execute("INSERT INTO fills (id) VALUES (2)").rowsAffected
            }
            #expect(committed == 1)
            #expect(try count(connection, "fills") == 1)

            // A failed statement whose error the body swallows must not look like a commit.
            let aborted = #expect(throws: PostgresError.self) {
                try connection.transaction { transaction in
                    try transaction.execute("INSERT INTO fills (id) VALUES (3)")
                    _ = try? transaction.execute("INSERT INTO fills (id) VALUES (2)")
                }
            }
            #expect(aborted?.code == .transactionAborted)
            #expect(try count(connection, "fills") == 1)
        }
    }

    @Test func preparedStatementExecutedSeveralTimes() throws {
        try withServer { connection, _ in
            try connection.execute("CREATE TABLE trades (id bigint PRIMARY KEY, price bigint NOT NULL)")
            try connection.prepare(name: "insert_trade", sql: "INSERT INTO trades (id, price) VALUES ($1, $2)")
            for id in 1...5 {
                let result = try connection.executePrepared(
                    name: "insert_trade", parameters: [PostgresValue(id), PostgresValue(id * 100)])
                #expect(result.rowsAffected == 1)
            }
            try connection.prepare(name: "price_of", sql: "SELECT price FROM trades WHERE id = $1")
            #expect(try connection.executePrepared(name: "price_of", parameters: [3]).int64(0, 0) == 300)
            #expect(try connection.executePrepared(name: "price_of", parameters: [5]).int64(0, 0) == 500)
            #expect(try count(connection, "trades") == 5)

            let missing = #expect(throws: PostgresError.self) {
                try connection.executePrepared(name: "no_such_statement")
            }
            #expect(missing?.sqlState == "26000")
        }
    }

    @Test func copyInTenThousandRows() throws {
        try withServer { connection, _ in
            try connection.execute("CREATE TABLE ticks (id bigint PRIMARY KEY, symbol text, note text)")
            let rowCount = 10_000
            let rows = (0..<rowCount).lazy.map { index -> [PostgresValue?] in
                let note: PostgresValue? =
                    index.isMultiple(of: 10) ? nil : PostgresValue("tab\there\nline \\ ü \(index)")
                return [PostgresValue(index), PostgresValue("SYM\(index % 7)"), note]
            }
            let copied = try connection.copyIn(table: "ticks", columns: ["id", "symbol", "note"], rows: rows)
            #expect(copied == rowCount)
            #expect(try count(connection, "ticks") == Int64(rowCount))
            #expect(try connection.execute("SELECT count(*) FROM ticks WHERE note IS NULL").int64(0, 0) == 1_000)
            let row = try connection.execute("SELECT symbol, note FROM ticks WHERE id = $1", [4_321])
            #expect(row.rows == [["SYM2", "tab\there\nline \\ ü 4321"]])

            // A malformed row aborts the whole COPY; nothing is loaded and the connection stays usable.
            try connection.execute("CREATE TABLE other (id bigint)")
            let error = #expect(throws: PostgresError.self) {
                try connection.copyIn(table: "other", columns: ["id"], rows: [[1], [2, 3]])
            }
            #expect(error?.code == .invalidArgument)
            #expect(try count(connection, "other") == 0)
            // Data the server rejects gives copyFailed with the server's SQLSTATE.
            let rejected = #expect(throws: PostgresError.self) {
                try connection.copyIn(table: "other", columns: ["id"], rows: [["not a number"]])
            }
            #expect(rejected?.code == .copyFailed)
            #expect(rejected?.sqlState == "22P02")
            #expect(try count(connection, "other") == 0)
        }
    }

    @Test func badConnectionStringGivesConnectionFailed() throws {
        let unparsable = #expect(throws: PostgresError.self) {
            _ = try PostgresConnection(connectionString: "this is not a connection string")
        }
        #expect(unparsable?.code == .connectionFailed)
        #expect(unparsable?.message.isEmpty == false)

        // Port 1 on loopback: nothing listens there, the connection is refused.
        let refused = #expect(throws: PostgresError.self) {
            _ = try PostgresConnection(connectionString: "host=127.0.0.1 port=1 connect_timeout=5")
        }
        #expect(refused?.code == .connectionFailed)
        #expect(refused?.message.isEmpty == false)
    }

    @Test func quotesAndUnicodeRoundTripAsParameters() throws {
        try withServer { connection, _ in
            try connection.execute("CREATE TABLE notes (id bigint PRIMARY KEY, body text)")
            let bodies = [
                "Robert'); DROP TABLE notes;--",
                "\"double\" and 'single' quotes, $1 and $$dollar$$",
                "日本語 ünïcødé 🚀 ",
                "back\\slash\ttab\nnewline",
                "",
            ]
            for (id, body) in bodies.enumerated() {
                try connection.execute(
                    "INSERT INTO notes (id, body) VALUES ($1, $2)", [PostgresValue(id), PostgresValue(body)])
            }
            let result = try connection.execute("SELECT body FROM notes ORDER BY id")
            #expect(result.rows.map { $0[0] } == bodies)
            #expect(try count(connection, "notes") == Int64(bodies.count))
            let byValue = try connection.execute("SELECT id FROM notes WHERE body = $1", [PostgresValue(bodies[0])])
            #expect(try byValue.int64(0, 0) == 0)

            let nul = #expect(throws: PostgresError.self) {
                try connection.execute("SELECT $1::text", ["a\u{0}b"])
            }
            #expect(nul?.code == .invalidArgument)
        }
    }

    @Test func closedConnectionAndCopyThroughExecuteAreErrors() throws {
        try withServer { connection, server in
            try connection.execute("CREATE TABLE items (id bigint)")
            let copy = #expect(throws: PostgresError.self) {
                try connection.execute("COPY items FROM STDIN")
            }
            #expect(copy?.code == .badResult)
            #expect(try count(connection, "items") == 0)

            let second = try PostgresConnection(connectionString: server.connectionString)
            second.close()
            second.close()
            #expect(second.isClosed)
            let closed = #expect(throws: PostgresError.self) { try second.execute("SELECT 1") }
            #expect(closed?.code == .connectionClosed)
        }
    }
}
