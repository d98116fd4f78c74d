import PostTrade
import Postgres
import Testing

@Suite(.serialized, .postgresServer)
struct DatabaseMigrationTests {
    static let expectedTables = [
        "balance_openings", "balances", "cleared_legs", "cleared_trades", "consumer_offsets", "dead_letters",
        "journal_entries", "ledger_trades", "outbox", "schema_migrations", "settlement_movements", "settlements",
    ]

    private func tables(_ connection: PostgresConnection) throws -> [String] {
        try connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).rows.compactMap { $0[0] }
    }

    @Test func appliesOnceThenIsIdempotentAndRefusesANewerDatabase() throws {
        try TestDatabase.with(migrate: false) { database in
            let connection = database.connection
            #expect(try Migrations.appliedVersions(connection: connection) == [])
            #expect(try Migrations.apply(connection: connection) == [1])
            #expect(try Migrations.apply(connection: connection) == [])
            #expect(try Migrations.appliedVersions(connection: connection) == [Migrations.latestVersion])
            #expect(try tables(connection) == Self.expectedTables)
            #expect(try database.count("schema_migrations", where: "applied_at IS NOT NULL") == 1)

            // A newer build migrated this database: refuse and change nothing.
            try connection.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, now())")
            let before = try connection.execute("SELECT version, applied_at FROM schema_migrations ORDER BY version")
            let error = #expect(throws: MigrationError.self) { try Migrations.apply(connection: connection) }
            #expect(error == .databaseNewer(found: 999, supported: Migrations.latestVersion))
            #expect(
                try connection.execute("SELECT version, applied_at FROM schema_migrations ORDER BY version") == before)
            #expect(try tables(connection) == Self.expectedTables)
        }
    }

    @Test func refusesAnEmptyButNewerDatabaseWithoutCreatingTables() throws {
        try TestDatabase.with(migrate: false) { database in
            let connection = database.connection
            try connection.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz)")
            try connection.execute("INSERT INTO schema_migrations VALUES (999, now())")
            #expect(throws: MigrationError.databaseNewer(found: 999, supported: Migrations.latestVersion)) {
                try Migrations.apply(connection: connection)
            }
            #expect(try tables(connection) == ["schema_migrations"])
            #expect(try Migrations.appliedVersions(connection: connection) == [999])
        }
    }
}
