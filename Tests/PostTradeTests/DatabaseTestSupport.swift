import Foundation
import PostTrade
import Postgres
import Testing

/// Suite trait: one private PostgreSQL server for the whole suite, stopped when the suite ends (also on
/// failure). Each test gets its own fresh database on it through ``TestDatabase/with(migrate:_:)``.
struct PostgresServerTrait: SuiteTrait, TestScoping {
    @TaskLocal static var connectionString: String?

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = LocalPostgresServer()
        defer { server.stop() }
        try server.start()
        try await Self.$connectionString.withValue(server.connectionString) {
            try await function()
        }
    }
}

extension Trait where Self == PostgresServerTrait {
    /// A private PostgreSQL server for the suite (`LocalPostgresServer`).
    static var postgresServer: Self { PostgresServerTrait() }
}

/// A fresh database on the suite's server, migrated to the latest schema unless asked not to.
final class TestDatabase {
    let serverConnectionString: String
    let name: String
    let connection: PostgresConnection

    private init(migrate: Bool) throws {
        guard let serverConnectionString = PostgresServerTrait.connectionString else {
            preconditionFailure("TestDatabase needs the .postgresServer trait on the suite")
        }
        self.serverConnectionString = serverConnectionString
        name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = try PostgresConnection(connectionString: serverConnectionString)
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(name)")
        connection = try PostgresConnection(connectionString: Self.replacingDatabase(serverConnectionString, name))
        if migrate { try Migrations.apply(connection: connection) }
    }

    private static func replacingDatabase(_ connectionString: String, _ name: String) -> String {
        connectionString.replacingOccurrences(of: "dbname=postgres", with: "dbname=\(name)")
    }

    /// Creates a database, runs `body`, closes the connection and drops the database on every path.
    static func with<T>(migrate: Bool = true, _ body: (TestDatabase) throws -> T) throws -> T {
        let database = try TestDatabase(migrate: migrate)
        defer { database.drop() }
        return try body(database)
    }

    private func drop() {
        connection.close()
        if let admin = try? PostgresConnection(connectionString: serverConnectionString) {
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            admin.close()
        }
    }

    func count(_ table: String, where condition: String = "true") throws -> Int {
        Int(try connection.execute("SELECT count(*) FROM \(table) WHERE \(condition)").int64(0, 0) ?? -1)
    }

    func newConnection() throws -> PostgresConnection {
        try PostgresConnection(connectionString: Self.replacingDatabase(serverConnectionString, name))
    }
}

/// What the worker runtime does per batch, for tests: one transaction around the logic, the outbox insert
/// and the offset upsert.
enum RuntimeSimulation {
    @discardableResult
    static func runBatch(
        _ logic: some WorkerLogic, _ records: [InboundRecord], connection: PostgresConnection
    ) throws -> [OutboundMessage] {
        try connection.transaction { connection in
            let messages = try logic.process(records, connection: connection)
            try insertOutbox(messages, connection: connection)
            var nextOffsets: [String: [Int32: Int64]] = [:]
            for record in records {
                nextOffsets[record.topic, default: [:]][record.partition] = max(
                    nextOffsets[record.topic]?[record.partition] ?? 0, record.offset + 1)
            }
            for (topic, partitions) in nextOffsets {
                for (partition, next) in partitions {
                    try connection.execute(
                        """
                        INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
                        ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = excluded.next_offset
                        """,
                        [
                            PostgresValue("exchange.\(logic.name)"), PostgresValue(topic), PostgresValue(partition),
                            PostgresValue(next),
                        ])
                }
            }
            return messages
        }
    }

    static func insertOutbox(_ messages: [OutboundMessage], connection: PostgresConnection) throws {
        guard !messages.isEmpty else { return }
        try connection.copyIn(
            table: "outbox", columns: ["topic", "key", "value", "headers"],
            rows: messages.map { message in
                let headers = try! JSONSerialization.data(withJSONObject: message.headers, options: [.sortedKeys])
                return [
                    PostgresValue(message.topic), message.key.map { PostgresValue(bytes: $0) },
                    PostgresValue(bytes: message.value), PostgresValue(String(decoding: headers, as: UTF8.self)),
                ]
            })
    }
}

/// Builders for test records.
enum Records {
    static func executed(
        _ index: Int, symbol: String = "AAPL", price: Int64 = 10_000, quantity: Int64 = 10, buy: UInt64 = 1,
        sell: UInt64 = 2, timestampNs: Int64? = nil
    ) -> TradeExecuted {
        TradeExecuted(
            eventID: "1-\(index)-0", timestampNs: timestampNs ?? WallClock.nanoseconds(), shard: 1,
            logIndex: UInt64(index), eventSeq: 0, tradeID: "1-\(index)-0-t", symbol: symbol, price: price,
            quantity: quantity, aggressor: "buy", buyOrderID: UInt64(2 * index), sellOrderID: UInt64(2 * index + 1),
            buyAccount: buy, sellAccount: sell, buyParticipant: 3, sellParticipant: 4)
    }

    static func record(_ value: some Encodable, topic: String, offset: Int64, partition: Int32 = 0) -> InboundRecord {
        record(bytes: Array(try! JSONEncoder().encode(value)), topic: topic, offset: offset, partition: partition)
    }

    static func record(bytes: [UInt8]?, topic: String, offset: Int64, partition: Int32 = 0) -> InboundRecord {
        InboundRecord(topic: topic, partition: partition, offset: offset, key: Array("AAPL".utf8), value: bytes)
    }

    /// The messages of one worker as the next worker's input, numbered from `firstOffset`.
    static func consumed(_ messages: [OutboundMessage], topic: String, firstOffset: Int64 = 0) -> [InboundRecord] {
        messages.filter { $0.topic == topic }.enumerated().map { index, message in
            InboundRecord(
                topic: message.topic, partition: 0, offset: firstOffset + Int64(index), key: message.key,
                value: message.value, headers: message.headers)
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ message: OutboundMessage) throws -> T {
        try JSONDecoder().decode(type, from: Data(message.value))
    }
}
