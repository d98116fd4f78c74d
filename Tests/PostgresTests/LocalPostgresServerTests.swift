import Foundation
import Postgres
import Testing

@Suite(.serialized)
struct LocalPostgresServerTests {
    @Test func serverRunsWithFsyncOnAndStopRemovesEverything() throws {
        let server = LocalPostgresServer()
        defer { server.stop() }
        try server.start()
        #expect(server.isRunning)
        #expect(server.port > 0)
        let connectionString = server.connectionString
        let dataDirectory = try #require(server.dataDirectory)
        #expect(FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION"))

        let connection = try PostgresConnection(connectionString: connectionString)
        #expect(try connection.execute("SHOW fsync").string(0, 0) == "on")
        #expect(try connection.execute("SHOW listen_addresses").string(0, 0) == "127.0.0.1")
        #expect(try connection.execute("SHOW unix_socket_directories").string(0, 0) == dataDirectory)
        // Server-side: the backend never runs as root (initdb and postgres refuse it).
        #expect(try connection.execute("SELECT current_user").string(0, 0) == "postgres")
        connection.close()

        server.stop()
        #expect(!server.isRunning)
        #expect(server.dataDirectory == nil)
        #expect(!FileManager.default.fileExists(atPath: dataDirectory))
        let afterStop = #expect(throws: PostgresError.self) {
            _ = try PostgresConnection(connectionString: connectionString)
        }
        #expect(afterStop?.code == .connectionFailed)
        server.stop()  // A second stop is harmless.
    }
}
