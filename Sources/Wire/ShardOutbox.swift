public import ExchangeCore
public import Matching

/// One committed log entry's events that the outbox publisher must get to Kafka.
public struct OutboxEntry: Sendable, Hashable {
    public var logIndex: UInt64
    /// The entry's log time.
    public var timestamp: Timestamp
    /// The entry's events that are published (`ShardOutbox.keeps`), in apply order.
    public var events: [Event]

    public init(logIndex: UInt64, timestamp: Timestamp, events: [Event]) {
        self.logIndex = logIndex
        self.timestamp = timestamp
        self.events = events
    }
}

/// The replicated outbox of a shard: every committed event not yet known to be published, and how far the
/// publisher got (`publishedThrough`, recorded in the log by the leader: `ShardEntry.publishedThrough`).
///
/// Every replica keeps the same outbox (it is part of the replicated state and of the snapshot), so a new
/// leader resumes publishing exactly where the last recorded progress stopped, and compaction never drops an
/// unpublished event: the events live in the snapshot until a `publishedThrough` covers them.
public struct ShardOutbox: Sendable, Hashable {
    /// Every event of every entry at or below this index is in Kafka.
    public private(set) var publishedThrough: UInt64
    /// Entries after `publishedThrough` with at least one published event, oldest first.
    public private(set) var pending: [OutboxEntry]
    /// Index into `pending` of the first live element (amortised removal from the front).
    private var head: Int
    /// Trades executed by the shard since its outbox started (the "executed" of reconciliation).
    public private(set) var tradesExecuted: UInt64
    /// Events kept since the outbox started.
    public private(set) var eventsKept: UInt64

    public init(publishedThrough: UInt64 = 0, pending: [OutboxEntry] = [], tradesExecuted: UInt64 = 0, eventsKept: UInt64 = 0) {
        self.publishedThrough = publishedThrough
        self.pending = pending
        self.head = 0
        self.tradesExecuted = tradesExecuted
        self.eventsKept = eventsKept
    }

    /// Whether an event goes to Kafka at all: book deltas, duplicate answers, stop triggers, band changes and
    /// `resumed` (always preceded by the reopening auction's result, which is published) do not.
    /// Must agree with `PostTrade.ShardEventMapping.isPublished` (a test checks it).
    public static func keeps(_ event: Event) -> Bool {
        switch event {
        case .bookDelta, .duplicate, .triggered, .priceBandSet, .resumed: false
        default: true
        }
    }

    /// The live pending entries, oldest first.
    public var entries: ArraySlice<OutboxEntry> { pending[head...] }
    public var pendingEntryCount: Int { pending.count - head }
    public var pendingEventCount: Int { entries.reduce(0) { $0 + $1.events.count } }

    /// After applying the entry at `logIndex`: keeps its published events, if any.
    public mutating func append(logIndex: UInt64, timestamp: Timestamp, events: some Sequence<Event>) -> OutboxEntry? {
        guard logIndex > publishedThrough else { return nil }
        let kept = events.filter(Self.keeps)
        guard !kept.isEmpty else { return nil }
        eventsKept += UInt64(kept.count)
        for event in kept { if case .trade = event { tradesExecuted += 1 } }
        let entry = OutboxEntry(logIndex: logIndex, timestamp: timestamp, events: kept)
        pending.append(entry)
        return entry
    }

    /// Applies a recorded progress mark: drops every entry at or below `index` (never moves backwards).
    public mutating func markPublished(through index: UInt64) {
        guard index > publishedThrough else { return }
        publishedThrough = index
        while head < pending.count, pending[head].logIndex <= index { head += 1 }
        if head > 1_024, head * 2 > pending.count {
            pending.removeFirst(head)
            head = 0
        }
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.publishedThrough == b.publishedThrough && a.tradesExecuted == b.tradesExecuted
            && a.eventsKept == b.eventsKept && a.entries.elementsEqual(b.entries)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(publishedThrough)
        hasher.combine(tradesExecuted)
        for entry in entries { hasher.combine(entry) }
    }
}

/// The snapshot a shard replica takes: the matching engine's snapshot and the outbox.
///
/// Layout (little-endian): magic "XSHD", u16 version (1), u32 engine snapshot length, the engine snapshot
/// (`MatchingEngine.snapshot()`, magic "XMEN"), u64 publishedThrough, u32 entry count, entries (u64 log index,
/// i64 timestamp, u32 event count, events in `Event`'s canonical encoding), u64 trades executed, u64 events kept. A snapshot that starts with
/// "XMEN" is a bare engine snapshot (builds before the outbox) with an empty outbox.
public struct ShardSnapshot: Sendable, Hashable {
    public static let magic: [UInt8] = Array("XSHD".utf8)
    public static let formatVersion: UInt16 = 1
    public var engine: [UInt8]
    public var outbox: ShardOutbox

    public init(engine: [UInt8], outbox: ShardOutbox) {
        self.engine = engine
        self.outbox = outbox
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: engine.count + 64)
        writer.write(contentsOf: Self.magic)
        writer.write(Self.formatVersion)
        writer.write(lengthPrefixed: engine, maxBytes: Int(UInt32.max))
        writer.write(outbox.publishedThrough)
        writer.write(UInt32(outbox.pendingEntryCount))
        for entry in outbox.entries {
            writer.write(entry.logIndex)
            writer.write(entry.timestamp.rawValue)
            writer.write(UInt32(entry.events.count))
            for event in entry.events { EventCodec.encode(event, into: &writer) }
        }
        writer.write(outbox.tradesExecuted)
        writer.write(outbox.eventsKept)
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        if bytes.count >= 4, Array(bytes[0..<4]) == Array("XMEN".utf8) {
            self.init(engine: bytes, outbox: ShardOutbox())
            return
        }
        var reader = ByteReader(bytes)
        let magicOffset = reader.offset
        var magic: [UInt8] = []
        for _ in 0..<4 { magic.append(try reader.read(UInt8.self, "snapshot magic")) }
        guard magic == Self.magic else {
            throw WireError(.inconsistentFields, offset: magicOffset, "not a shard snapshot (magic \(magic))")
        }
        let versionOffset = reader.offset
        let version = try reader.read(UInt16.self, "snapshot version")
        guard version == Self.formatVersion else {
            throw WireError(.unsupportedVersion, offset: versionOffset, "shard snapshot version \(version)")
        }
        let engine = try reader.readLengthPrefixedBytes(maxBytes: Int(UInt32.max), "engine snapshot")
        let publishedThrough = try reader.read(UInt64.self, "published through")
        let entryCount = try reader.readCount(UInt32.self, max: bytes.count, minimumElementBytes: 20, "outbox entry count")
        var entries: [OutboxEntry] = []
        entries.reserveCapacity(entryCount)
        for _ in 0..<entryCount {
            let logIndex = try reader.read(UInt64.self, "outbox log index")
            let timestamp = Timestamp(nanoseconds: try reader.read(Int64.self, "outbox timestamp"))
            let eventCount = try reader.readCount(UInt32.self, max: bytes.count, minimumElementBytes: 1, "outbox event count")
            var events: [Event] = []
            events.reserveCapacity(eventCount)
            for _ in 0..<eventCount { events.append(try EventCodec.decode(from: &reader)) }
            entries.append(OutboxEntry(logIndex: logIndex, timestamp: timestamp, events: events))
        }
        let tradesExecuted = try reader.read(UInt64.self, "trades executed")
        let eventsKept = try reader.read(UInt64.self, "events kept")
        try reader.expectEnd("shard snapshot")
        self.init(
            engine: engine,
            outbox: ShardOutbox(
                publishedThrough: publishedThrough, pending: entries, tradesExecuted: tradesExecuted,
                eventsKept: eventsKept))
    }
}

/// Where a node hands the outbox of the shards it leads: the outbox publisher (PostTrade's Kafka publisher).
///
/// The node loop calls these on its own thread after every pass; an implementation must never block (hand
/// the work to a thread of its own). Per shard the calls are: `lead` when this node becomes leader (or its
/// outbox was replaced by a snapshot), with every unpublished entry; `append` with entries committed after;
/// `resign` when it stops leading. `deliveredThrough` answers how far Kafka has acknowledged, so the leader
/// records it in the log.
public protocol OutboxSink: AnyObject, Sendable {
    /// Start (over) publishing `shard` for leadership `term`: `entries` are every unpublished entry, oldest
    /// first. Replaces whatever the sink had for the shard.
    func lead(shard: UInt32, term: UInt64, entries: [OutboxEntry])
    /// Entries committed after the ones already handed over in `term`, oldest first.
    func append(shard: UInt32, term: UInt64, entries: [OutboxEntry])
    /// This node no longer leads `shard`: stop publishing it.
    func resign(shard: UInt32)
    /// The highest log index such that every entry handed over in `term` at or below it is acknowledged by
    /// Kafka; nil when nothing was acknowledged yet in this term.
    func deliveredThrough(shard: UInt32, term: UInt64) -> UInt64?
}
