import Foundation
import Postgres
import Testing

@Suite(.serialized)
struct LocalPostgresRestartTests {
    @Test func restartKeepsDataDirectoryPortAndCommittedRows() throws {
        let server = LocalPostgresServer()
        defer { server.stop() }
        try server.start()
        let port = server.port
        let connectionString = server.connectionString
        let dataDirectory = try #require(server.dataDirectory)

        let connection = try PostgresConnection(connectionString: connectionString)
        try connection.execute("CREATE TABLE kept (id bigint PRIMARY KEY)")
        try connection.execute("INSERT INTO kept (id) VALUES (1), (2)")
        // An open transaction at shutdown is rolled back, not kept.
        try connection.execute("BEGIN")
        try connection.execute("INSERT INTO kept (id) VALUES (3)")

        server.stop(keepingData: true)
        #expect(!server.isRunning)
        #expect(server.port == port)
        #expect(server.dataDirectory == dataDirectory)
        #expect(FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION"))
        #expect(throws: PostgresError.self) { try connection.execute("SELECT 1") }
        connection.close()
        let whileStopped = #expect(throws: PostgresError.self) {
            _ = try PostgresConnection(connectionString: connectionString)
        }
        #expect(whileStopped?.code == .connectionFailed)

        try server.start()
        #expect(server.isRunning)
        #expect(server.port == port)
        #expect(server.connectionString == connectionString)
        let again = try PostgresConnection(connectionString: connectionString)
        #expect(try again.execute("SELECT id FROM kept ORDER BY id").rows == [["1"], ["2"]])
        #expect(try again.execute("SHOW fsync").string(0, 0) == "on")
        again.close()

        server.stop()
        #expect(!server.isRunning)
        #expect(server.dataDirectory == nil)
        #expect(!FileManager.default.fileExists(atPath: dataDirectory))
    }
}
