public import Postgres

/// A migration refused: the database was changed by a newer build, so this build must not touch it.
public enum MigrationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `schema_migrations` holds `found`, above the newest version this build knows (`supported`).
    /// Nothing was changed.
    case databaseNewer(found: Int, supported: Int)

    public var description: String {
        switch self {
        case .databaseNewer(let found, let supported):
            "database schema version \(found) is newer than this build supports (\(supported)); nothing changed"
        }
    }
}

/// One schema version: statements run in order inside one transaction.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var summary: String
    /// One SQL statement per element (the extended protocol runs one statement per call).
    public var statements: [String]

    public init(version: Int, summary: String, statements: [String]) {
        precondition(version > 0, "migration versions start at 1")
        self.version = version
        self.summary = summary
        self.statements = statements
    }
}

/// The versioned schema of the post-trade worker databases (every worker database gets every table, so
/// one database can host all three workers and `Reconciliation` can join across them).
///
/// Idempotency of every worker rests on these keys: a redelivered record hits a primary key or unique
/// constraint and `ON CONFLICT DO NOTHING` turns the second effect into no effect.
public enum Migrations {
    /// Advisory lock key taken (transaction-scoped) by every migration transaction: "posttrad" in ASCII.
    public static let advisoryLockKey: Int64 = 0x706f_7374_7472_6164

    /// Every migration this build knows, by ascending version without gaps.
    public static let all: [Migration] = [version1]

    /// The newest version this build knows.
    public static var latestVersion: Int { all.last?.version ?? 0 }

    /// Brings the database to ``latestVersion``.
    ///
    /// Each missing version runs in its own transaction that first takes `pg_advisory_xact_lock`, so
    /// concurrent starters serialise and the loser sees the winner's versions. A database whose
    /// newest recorded version is above ``latestVersion`` is refused before anything is changed.
    ///
    /// - Important: call it outside a transaction (it opens its own).
    /// - Returns: the versions applied by this call (empty when the database was current).
    /// - Throws: ``MigrationError/databaseNewer(found:supported:)``, or `PostgresError`.
    @discardableResult
    public static func apply(connection: PostgresConnection) throws -> [Int] {
        precondition(
            all.enumerated().allSatisfy { $0.offset + 1 == $0.element.version },
            "migration versions must be 1, 2, 3, ... without gaps")
        var applied: [Int] = []
        while true {
            let next: Int? = try connection.transaction { connection in
                try connection.execute("SELECT pg_advisory_xact_lock($1::bigint)", [PostgresValue(advisoryLockKey)])
                let missing = try connection.execute("SELECT to_regclass('schema_migrations') IS NULL").bool(0, 0)
                if missing == true {
                    try connection.execute(
                        """
                        CREATE TABLE schema_migrations (
                            version integer PRIMARY KEY,
                            applied_at timestamptz NOT NULL DEFAULT now()
                        )
                        """)
                }
                let current =
                    try connection.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
                    .int64(0, 0).map(Int.init) ?? 0
                if current > latestVersion {
                    // Thrown inside the transaction: even a schema_migrations table created above is rolled back.
                    throw MigrationError.databaseNewer(found: current, supported: latestVersion)
                }
                let done = Set(
                    try connection.execute("SELECT version FROM schema_migrations").rows.compactMap {
                        $0[0].flatMap { Int($0) }
                    })
                guard let migration = all.first(where: { !done.contains($0.version) }) else { return nil }
                for statement in migration.statements {
                    try connection.execute(statement)
                }
                try connection.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())",
                    [PostgresValue(migration.version)])
                return migration.version
            }
            guard let next else { return applied }
            applied.append(next)
        }
    }

    /// Versions recorded in `schema_migrations`, ascending; empty when the table does not exist.
    public static func appliedVersions(connection: PostgresConnection) throws -> [Int] {
        let exists = try connection.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").bool(0, 0)
        guard exists == true else { return [] }
        return try connection.execute("SELECT version FROM schema_migrations ORDER BY version").rows.compactMap {
            $0[0].flatMap { Int($0) }
        }
    }

    // MARK: - Version 1

    /// Offsets and outbox (the runtime's tables, as in `Contracts.swift`), and every worker's tables.
    ///
    /// Accounts are `bigint`: the workers refuse account ids above `Int64.max` as dead letters.
    ///
    /// Child rows (legs, movements, journal entries, balances) have no foreign keys on purpose: a foreign
    /// key costs one locking index probe per child row (8,000 per 1,000-trade ledger batch), which was the
    /// largest cost of a batch. Each child is written in the same statement as its parent, and
    /// `Reconciliation` reports any orphan.
    static let version1 = Migration(
        version: 1,
        summary: "consumer offsets, outbox, clearing, settlement, ledger, dead letters",
        statements: [
            """
            CREATE TABLE consumer_offsets (
                group_id text,
                topic text,
                partition integer,
                next_offset bigint,
                PRIMARY KEY (group_id, topic, partition)
            )
            """,
            """
            CREATE TABLE outbox (
                id bigserial PRIMARY KEY,
                source text NOT NULL DEFAULT '',
                topic text NOT NULL,
                key bytea,
                value bytea NOT NULL,
                headers jsonb NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            // Each worker relays its own rows, in id order.
            "CREATE INDEX outbox_source_id ON outbox (source, id)",
            // Clearing: one row per novated trade, exactly two legs against the CCP.
            """
            CREATE TABLE cleared_trades (
                trade_id text PRIMARY KEY,
                source_event_id text NOT NULL UNIQUE,
                symbol text NOT NULL,
                price bigint NOT NULL CHECK (price > 0),
                quantity bigint NOT NULL CHECK (quantity > 0),
                notional bigint NOT NULL CHECK (notional > 0),
                buy_account bigint NOT NULL CHECK (buy_account > 0),
                sell_account bigint NOT NULL CHECK (sell_account > 0),
                buy_participant bigint NOT NULL,
                sell_participant bigint NOT NULL,
                trade_timestamp_ns bigint NOT NULL,
                cleared_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE cleared_legs (
                trade_id text NOT NULL,
                side text NOT NULL CHECK (side IN ('buy', 'sell')),
                account bigint NOT NULL,
                participant bigint NOT NULL,
                counterparty text NOT NULL,
                quantity bigint NOT NULL CHECK (quantity > 0),
                amount bigint NOT NULL CHECK (amount > 0),
                PRIMARY KEY (trade_id, side)
            )
            """,
            // Settlement: balances never negative; openings make conservation checkable. Half-empty balance
            // pages let the per-batch UPDATE be HOT (no index insert per changed balance).
            """
            CREATE TABLE balance_openings (
                account bigint NOT NULL,
                asset text NOT NULL,
                amount bigint NOT NULL CHECK (amount >= 0),
                opened_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (account, asset)
            )
            """,
            """
            CREATE TABLE balances (
                account bigint NOT NULL,
                asset text NOT NULL,
                amount bigint NOT NULL CHECK (amount >= 0),
                PRIMARY KEY (account, asset)
            ) WITH (fillfactor = 50)
            """,
            """
            CREATE TABLE settlements (
                trade_id text PRIMARY KEY,
                source_event_id text NOT NULL UNIQUE,
                symbol text NOT NULL,
                price bigint NOT NULL,
                quantity bigint NOT NULL,
                notional bigint NOT NULL,
                buy_account bigint NOT NULL,
                sell_account bigint NOT NULL,
                trade_timestamp_ns bigint NOT NULL,
                status text NOT NULL CHECK (status IN ('settled', 'failed')),
                reason text,
                settled_at timestamptz NOT NULL DEFAULT now(),
                CHECK ((status = 'failed') = (reason IS NOT NULL))
            )
            """,
            """
            CREATE TABLE settlement_movements (
                trade_id text NOT NULL,
                seq smallint NOT NULL CHECK (seq BETWEEN 1 AND 4),
                account bigint NOT NULL,
                asset text NOT NULL,
                amount bigint NOT NULL CHECK (amount <> 0),
                PRIMARY KEY (trade_id, seq)
            )
            """,
            // Ledger: one row per journaled trade (also failed ones, without entries); double entry.
            """
            CREATE TABLE ledger_trades (
                trade_id text PRIMARY KEY,
                source_event_id text NOT NULL UNIQUE,
                status text NOT NULL CHECK (status IN ('settled', 'failed')),
                trade_timestamp_ns bigint NOT NULL,
                journaled_at timestamptz NOT NULL DEFAULT clock_timestamp()
            )
            """,
            """
            CREATE TABLE journal_entries (
                trade_id text NOT NULL,
                journal text NOT NULL CHECK (journal IN ('cash', 'securities')),
                seq smallint NOT NULL CHECK (seq BETWEEN 1 AND 4),
                account text NOT NULL,
                counterparty text NOT NULL,
                asset text NOT NULL,
                amount bigint NOT NULL CHECK (amount <> 0),
                PRIMARY KEY (trade_id, journal, seq)
            )
            """,
            // Records any worker refused, once per source position.
            """
            CREATE TABLE dead_letters (
                worker text NOT NULL,
                source_topic text NOT NULL,
                source_partition integer NOT NULL,
                source_offset bigint NOT NULL,
                reason text NOT NULL,
                key bytea,
                value bytea NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (worker, source_topic, source_partition, source_offset)
            )
            """,
        ])
}
