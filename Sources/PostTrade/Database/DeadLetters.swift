import Postgres

/// A record a worker refused, and why.
struct DeadLetter {
    var record: InboundRecord
    var reason: String
}

/// Records dead letters in `dead_letters` (once per worker and source position) and builds the
/// ``Topic/deadLetter`` messages for the newly recorded ones, so a redelivered bad record emits nothing new.
enum DeadLetters {
    static func record(_ deadLetters: [DeadLetter], worker: String, connection: PostgresConnection) throws
        -> [OutboundMessage]
    {
        guard !deadLetters.isEmpty else { return [] }
        let result = try connection.execute(
            """
            INSERT INTO dead_letters (worker, source_topic, source_partition, source_offset, reason, key, value)
            SELECT $1, t, p, o, r, k, v
            FROM unnest($2::text[], $3::integer[], $4::bigint[], $5::text[], $6::bytea[], $7::bytea[])
                AS u(t, p, o, r, k, v)
            ON CONFLICT DO NOTHING
            RETURNING source_topic, source_partition, source_offset
            """,
            [
                PostgresValue(worker),
                PostgresArrayLiteral.text(deadLetters.map(\.record.topic)),
                PostgresArrayLiteral.int64(deadLetters.map { Int64($0.record.partition) }),
                PostgresArrayLiteral.int64(deadLetters.map(\.record.offset)),
                PostgresArrayLiteral.text(deadLetters.map(\.reason)),
                PostgresArrayLiteral.bytea(deadLetters.map(\.record.key)),
                PostgresArrayLiteral.bytea(deadLetters.map { $0.record.value ?? [] }),
            ])
        struct Position: Hashable {
            var topic: String
            var partition: Int64
            var offset: Int64
        }
        var inserted = Set<Position>()
        for row in 0..<result.rowCount {
            inserted.insert(
                Position(
                    topic: result.string(row, 0) ?? "", partition: try result.int64(row, 1) ?? -1,
                    offset: try result.int64(row, 2) ?? -1))
        }
        var messages: [OutboundMessage] = []
        for deadLetter in deadLetters {
            let record = deadLetter.record
            let position = Position(topic: record.topic, partition: Int64(record.partition), offset: record.offset)
            guard inserted.remove(position) != nil else { continue }
            messages.append(message(for: deadLetter))
        }
        return messages
    }

    static func message(for deadLetter: DeadLetter) -> OutboundMessage {
        let record = deadLetter.record
        var headers = [
            EventHeader.reason: deadLetter.reason,
            EventHeader.sourceTopic: record.topic,
            EventHeader.sourcePartition: String(record.partition),
            EventHeader.sourceOffset: String(record.offset),
        ]
        if let eventID = record.headers[EventHeader.eventID] { headers[EventHeader.eventID] = eventID }
        return OutboundMessage(topic: Topic.deadLetter, key: record.key, value: record.value ?? [], headers: headers)
    }
}
