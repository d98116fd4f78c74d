public import ExchangeCore
public import Matching

/// The payload (`Entry.data`) of every `.normal` entry of a shard's Raft log: a batch of commands stamped by the
/// leader, and optionally the leader's state hash for the replicas to compare.
///
/// Layout (docs/PROTOCOL.md, "Shard log entry"), little-endian:
///
///     offset  size  field
///          0     2  format version (1)
///          2     8  timestamp: leader's log time, nanoseconds since the Unix epoch (Int64), monotonic per shard
///         10     1  flags: bit 0 = a state-hash check follows; bit 1 = an outbox mark follows; other bits zero
///         11    16  state-hash check, only when flag bit 0: index (UInt64), hash (UInt64)
///          .     8  outbox mark, only when flag bit 1: published through log index (UInt64)
///          .     4  command count (UInt32, at most `maxCommandCount`)
///          .     .  commands (`CommandCodec`), back to back
///
/// - Important: replicas apply with no clock of their own: every command of the entry is applied with
///   `timestamp`. The leader must stamp entries with non-decreasing timestamps (the engine raises a lower one
///   to the previous, but a decreasing stamp is a leader bug worth catching).
public struct ShardEntry: Sendable, Hashable {
    /// The payload format version this build writes and reads.
    public static let formatVersion: UInt16 = 1
    /// Most commands in one entry. Lets the applier derive command sequences as `(logIndex << 16) | position`
    /// (strictly increasing across entries, unique in the committed log). Default: 65,536.
    public static let maxCommandCount = 1 << 16
    /// Header bytes without a state-hash check.
    public static let headerByteCount = 2 + 8 + 1 + 4
    static let stateHashFlag: UInt8 = 1
    static let outboxMarkFlag: UInt8 = 2

    /// The leader's log time for every command of this entry.
    public var timestamp: Timestamp
    public var commands: [Command]
    /// The leader's state hash after applying the entry at `stateHash.index`, for followers to compare.
    public var stateHash: StateHashCheck?
    /// The outbox publisher's progress: every published event of every entry at or below this index is in
    /// Kafka (`ShardOutbox.markPublished`). Recorded by the leader.
    public var publishedThrough: UInt64?

    public init(
        timestamp: Timestamp, commands: [Command], stateHash: StateHashCheck? = nil, publishedThrough: UInt64? = nil
    ) {
        self.timestamp = timestamp
        self.commands = commands
        self.stateHash = stateHash
        self.publishedThrough = publishedThrough
    }

    public var encodedByteCount: Int {
        commands.reduce(Self.headerByteCount + (stateHash == nil ? 0 : 16) + (publishedThrough == nil ? 0 : 8)) {
            $0 + CommandCodec.encodedByteCount(of: $1)
        }
    }

    public func encode(into writer: inout ByteWriter) {
        precondition(commands.count <= Self.maxCommandCount, "shard entry has more than maxCommandCount commands")
        let start = writer.count
        writer.write(Self.formatVersion)
        writer.write(timestamp.rawValue)
        writer.write((stateHash == nil ? UInt8(0) : Self.stateHashFlag) | (publishedThrough == nil ? 0 : Self.outboxMarkFlag))
        if let stateHash {
            writer.write(stateHash.index)
            writer.write(stateHash.hash)
        }
        if let publishedThrough { writer.write(publishedThrough) }
        writer.write(UInt32(commands.count))
        for command in commands { CommandCodec.encode(command, into: &writer) }
        assert(writer.count - start == encodedByteCount, "shard entry length disagrees with its layout")
    }

    /// The bytes to put in `Entry.data`.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: encodedByteCount)
        encode(into: &writer)
        return writer.bytes
    }

    /// Decodes an `Entry.data`; every byte must belong to the entry.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        let versionOffset = reader.offset
        let version = try reader.read(UInt16.self, "format version")
        guard version == Self.formatVersion else {
            throw WireError(.unsupportedVersion, offset: versionOffset, "shard entry format version \(version)")
        }
        timestamp = Timestamp(nanoseconds: try reader.read(Int64.self, "timestamp"))
        let flagsOffset = reader.offset
        let flags = try reader.read(UInt8.self, "flags")
        guard flags & ~(Self.stateHashFlag | Self.outboxMarkFlag) == 0 else {
            throw WireError(.reservedBitsSet, offset: flagsOffset, "undefined flag bits \(flags)")
        }
        if flags & Self.stateHashFlag != 0 {
            stateHash = StateHashCheck(
                index: try reader.read(UInt64.self, "state hash index"),
                hash: try reader.read(UInt64.self, "state hash"))
        } else {
            stateHash = nil
        }
        publishedThrough = flags & Self.outboxMarkFlag != 0 ? try reader.read(UInt64.self, "published through") : nil
        let count = try reader.readCount(
            UInt32.self, max: Self.maxCommandCount, minimumElementBytes: CommandCodec.minimumEncodedByteCount,
            "command count")
        var commands: [Command] = []
        commands.reserveCapacity(count)
        for _ in 0..<count { commands.append(try CommandCodec.decode(from: &reader)) }
        try reader.expectEnd("shard entry")
        self.commands = commands
    }
}

/// A replica's state hash after applying one log index (`MatchingEngine.stateHash()`).
public struct StateHashCheck: Sendable, Hashable {
    /// The log index after whose application the hash was taken.
    public var index: UInt64
    public var hash: UInt64

    public init(index: UInt64, hash: UInt64) {
        self.index = index
        self.hash = hash
    }
}
