public import ExchangeCore
public import Matching

/// Turns the events of one committed shard log entry into the messages the outbox publisher produces.
public enum ShardEventMapping {
    /// - Parameters:
    ///   - events: every event of the entry's commands, in apply order.
    /// - Returns: the published messages in order; message `i` has `event_seq` = i and event id
    ///   `<shard>-<logIndex>-<i>`; key = the symbol (per-symbol order); headers shard, log_index, event_seq,
    ///   event_id. Events that are not published (book deltas, duplicates) are skipped before numbering.
    public static func messages(shard: UInt32, logIndex: UInt64, timestamp: Timestamp, events: [Event]) -> [OutboundMessage] {
        // Placeholder until the mapping lands: trades only.
        []
    }

    /// Whether an event is published at all (the shard's outbox keeps only these).
    public static func isPublished(_ event: Event) -> Bool {
        switch event {
        case .bookDelta, .duplicate: false
        default: true
        }
    }
}
