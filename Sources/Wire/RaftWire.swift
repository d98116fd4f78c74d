public import Raft

/// The binary form of `Raft.Message` (every field, entries and snapshot chunks). docs/PROTOCOL.md, "Raft message".
///
///     size  field
///        1  kind (`MessageKind` raw value)
///        1  flags: bit 0 reject, bit 1 a snapshot chunk follows the entries; other bits zero
///        8  from, 8 to, 8 term, 8 logTerm, 8 index, 8 commit, 8 rejectHint, 8 context
///        4  entry count, then per entry: term (8), index (8), kind (1), data length (4), data
///        .  snapshot chunk (flag bit 1): index (8), term (8), membership, offset (8), isLast (1),
///           data length (4), data
///
/// A membership is three lists (voters, outgoing voters, learners), each a `UInt16` count and that many
/// `UInt64` node ids.
public enum RaftWire {
    /// Most entries in one message.
    public static let maxEntryCount = 1 << 20
    /// Most bytes of one entry's data (the same bound as the write-ahead log's records).
    public static let maxEntryDataBytes = 64 << 20
    /// Most bytes of one snapshot chunk's data.
    public static let maxSnapshotChunkBytes = 64 << 20
    /// Most node ids in each list of a membership.
    public static let maxMembershipListCount = 1_024

    static let fixedByteCount = 1 + 1 + 8 * 8 + 4
    static let entryHeaderByteCount = 8 + 8 + 1 + 4
    static let rejectFlag: UInt8 = 1
    static let snapshotFlag: UInt8 = 2

    public static func encodedByteCount(of message: Message) -> Int {
        var count = fixedByteCount
        for entry in message.entries { count += entryHeaderByteCount + entry.data.count }
        if let chunk = message.snapshot {
            count += 8 + 8 + membershipByteCount(chunk.metadata.membership) + 8 + 1 + 4 + chunk.data.count
        }
        return count
    }

    static func membershipByteCount(_ membership: Membership) -> Int {
        6 + 8 * (membership.voters.count + membership.outgoingVoters.count + membership.learners.count)
    }

    public static func encode(_ message: Message, into writer: inout ByteWriter) {
        precondition(message.entries.count <= maxEntryCount, "message has more than maxEntryCount entries")
        let start = writer.count
        writer.write(message.kind.rawValue)
        var flags: UInt8 = 0
        if message.reject { flags |= rejectFlag }
        if message.snapshot != nil { flags |= snapshotFlag }
        writer.write(flags)
        writer.write(message.from)
        writer.write(message.to)
        writer.write(message.term)
        writer.write(message.logTerm)
        writer.write(message.index)
        writer.write(message.commit)
        writer.write(message.rejectHint)
        writer.write(message.context)
        writer.write(UInt32(message.entries.count))
        for entry in message.entries {
            writer.write(entry.term)
            writer.write(entry.index)
            writer.write(entry.kind.rawValue)
            writer.write(lengthPrefixed: entry.data, maxBytes: maxEntryDataBytes)
        }
        if let chunk = message.snapshot {
            writer.write(chunk.metadata.index)
            writer.write(chunk.metadata.term)
            for list in [
                chunk.metadata.membership.voters, chunk.metadata.membership.outgoingVoters,
                chunk.metadata.membership.learners,
            ] {
                precondition(list.count <= maxMembershipListCount, "membership list exceeds maxMembershipListCount")
                writer.write(UInt16(list.count))
                for id in list { writer.write(id) }
            }
            writer.write(chunk.offset)
            writer.write(chunk.isLast)
            writer.write(lengthPrefixed: chunk.data, maxBytes: maxSnapshotChunkBytes)
        }
        assert(writer.count - start == encodedByteCount(of: message), "Raft message length disagrees with layout")
    }

    public static func decode(from reader: inout ByteReader) throws(WireError) -> Message {
        let start = reader.position
        let kindOffset = reader.offset
        let kindByte = try reader.read(UInt8.self, "message kind")
        guard let kind = MessageKind(rawValue: kindByte) else {
            throw WireError(.unknownTag, offset: kindOffset, "unknown Raft message kind \(kindByte)")
        }
        let flagsOffset = reader.offset
        let flags = try reader.read(UInt8.self, "flags")
        guard flags & ~(rejectFlag | snapshotFlag) == 0 else {
            throw WireError(.reservedBitsSet, offset: flagsOffset, "undefined flag bits \(flags)")
        }
        var message = Message(
            kind: kind, from: try reader.read(UInt64.self, "from"), to: try reader.read(UInt64.self, "to"),
            term: try reader.read(UInt64.self, "term"))
        message.logTerm = try reader.read(UInt64.self, "log term")
        message.index = try reader.read(UInt64.self, "index")
        message.commit = try reader.read(UInt64.self, "commit")
        message.reject = flags & rejectFlag != 0
        message.rejectHint = try reader.read(UInt64.self, "reject hint")
        message.context = try reader.read(UInt64.self, "context")
        let count = try reader.readCount(
            UInt32.self, max: maxEntryCount, minimumElementBytes: entryHeaderByteCount, "entry count")
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let term = try reader.read(UInt64.self, "entry term")
            let index = try reader.read(UInt64.self, "entry index")
            let entryKindOffset = reader.offset
            let entryKindByte = try reader.read(UInt8.self, "entry kind")
            guard let entryKind = EntryKind(rawValue: entryKindByte) else {
                throw WireError(.unknownTag, offset: entryKindOffset, "unknown entry kind \(entryKindByte)")
            }
            let data = try reader.readLengthPrefixedBytes(maxBytes: maxEntryDataBytes, "entry data")
            entries.append(Entry(term: term, index: index, kind: entryKind, data: data))
        }
        message.entries = entries
        if flags & snapshotFlag != 0 {
            let index = try reader.read(UInt64.self, "snapshot index")
            let term = try reader.read(UInt64.self, "snapshot term")
            var lists: [[NodeID]] = []
            for _ in 0..<3 {
                let listCount = try reader.readCount(
                    UInt16.self, max: maxMembershipListCount, minimumElementBytes: 8, "membership count")
                var list: [NodeID] = []
                list.reserveCapacity(listCount)
                for _ in 0..<listCount { list.append(try reader.read(UInt64.self, "node id")) }
                lists.append(list)
            }
            let offset = try reader.read(UInt64.self, "chunk offset")
            let isLast = try reader.readBool("is last")
            let data = try reader.readLengthPrefixedBytes(maxBytes: maxSnapshotChunkBytes, "chunk data")
            message.snapshot = SnapshotChunk(
                metadata: SnapshotMetadata(
                    index: index, term: term,
                    membership: Membership(voters: lists[0], outgoingVoters: lists[1], learners: lists[2])),
                offset: offset, data: data, isLast: isLast)
        }
        assert(reader.position - start == encodedByteCount(of: message), "decoded length disagrees with layout")
        return message
    }
}
