import ExchangeCore
public import Matching
public import Storage
import Wire

/// One applied client command as a replica's audit trail records it (`GET /shards/{S}/audit`).
///
/// Every replica writes the same records for the same entries, which is what
/// `exchangectl verify` checks against the acknowledgements clients received.
public struct AuditRecord: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable {
        /// A marker: this replica installed a snapshot at `logIndex` and has no records for the
        /// indices between the previous record and it.
        case snapshot = 0
        case newOrder = 1
        case cancel = 2
        case replace = 3

        public var name: String {
            switch self {
            case .snapshot: "snapshot"
            case .newOrder: "new"
            case .cancel: "cancel"
            case .replace: "replace"
            }
        }
    }

    public enum Outcome: UInt8, Sendable, Hashable {
        case none = 0
        case accepted = 1
        case rejected = 2
        /// The remembered outcome of an earlier command with the same client order id: nothing ran.
        case duplicate = 3

        public var name: String {
            switch self {
            case .none: "-"
            case .accepted: "accepted"
            case .rejected: "rejected"
            case .duplicate: "duplicate"
            }
        }
    }

    /// Position of a snapshot marker.
    public static let markerPosition: UInt16 = 0xFFFF
    /// Bytes per record on disk: index 8, position 2, kind 1, outcome 1, reason 2, padding 2,
    /// participant 4, client order id 8, order id 8, CRC32C 4 (of the 36 bytes before it).
    public static let byteCount = 40

    public var logIndex: UInt64
    public var position: UInt16
    public var kind: Kind
    public var outcome: Outcome
    /// Reject reason code (for a duplicate: the original's, if it was rejected); 0 otherwise.
    public var reason: UInt16
    public var participant: UInt32
    public var clientOrderID: UInt64
    /// The order the command acted on, exactly as in the client's `CommandResult` (for a duplicate
    /// of an accepted new order: the original order id).
    public var orderID: UInt64

    public init(
        logIndex: UInt64, position: UInt16, kind: Kind, outcome: Outcome, reason: UInt16, participant: UInt32,
        clientOrderID: UInt64, orderID: UInt64
    ) {
        self.logIndex = logIndex
        self.position = position
        self.kind = kind
        self.outcome = outcome
        self.reason = reason
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.orderID = orderID
    }

    public static func snapshotMarker(at index: UInt64) -> AuditRecord {
        AuditRecord(
            logIndex: index, position: markerPosition, kind: .snapshot, outcome: .none, reason: 0, participant: 0,
            clientOrderID: 0, orderID: 0)
    }

    /// The record of an applied client command; nil for operator commands.
    public init?(applied: AppliedCommand) {
        let kind: Kind
        switch applied.command {
        case .newOrder: kind = .newOrder
        case .cancel: kind = .cancel
        case .replace: kind = .replace
        case .halt, .resume, .setPriceBand, .endOfSession, .heartbeat: return nil
        }
        guard let result = CommandResult(applied: applied) else { return nil }
        var outcome = Outcome.accepted
        var reason: UInt16 = 0
        if case .rejected(let rejectReason) = result.outcome {
            outcome = .rejected
            reason = rejectReason.rawValue
        }
        if result.isDuplicate { outcome = .duplicate }
        self.init(
            logIndex: applied.logIndex, position: UInt16(truncatingIfNeeded: applied.position), kind: kind,
            outcome: outcome, reason: reason, participant: result.participant.rawValue,
            clientOrderID: result.clientOrderID.rawValue, orderID: result.orderID.rawValue)
    }

    /// The line `GET /shards/{S}/audit` serves (tab-separated, docs/OPERATIONS.md).
    public var line: String {
        "\(logIndex)\t\(position)\t\(kind.name)\t\(outcome.name)\t\(reason)\t\(participant)\t\(clientOrderID)\t\(orderID)"
    }

    func encode(into bytes: inout [UInt8]) {
        let start = bytes.count
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        put(logIndex)
        put(position)
        put(kind.rawValue)
        put(outcome.rawValue)
        put(reason)
        put(UInt16(0))
        put(participant)
        put(clientOrderID)
        put(orderID)
        put(CRC32C.checksum(bytes[start...]))
    }

    /// Decodes one record; nil if its checksum or fields are invalid (a torn or unwritten tail).
    static func decode(_ bytes: ArraySlice<UInt8>) -> AuditRecord? {
        guard bytes.count == byteCount else { return nil }
        let base = bytes.startIndex
        func get<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            var value: T = 0
            withUnsafeMutableBytes(of: &value) { raw in
                for i in 0..<MemoryLayout<T>.size { raw[i] = bytes[base + offset + i] }
            }
            return T(littleEndian: value)
        }
        guard get(36, UInt32.self) == CRC32C.checksum(bytes[base..<(base + 36)]) else { return nil }
        guard let kind = Kind(rawValue: get(10, UInt8.self)), let outcome = Outcome(rawValue: get(11, UInt8.self)),
            get(0, UInt64.self) > 0
        else { return nil }
        return AuditRecord(
            logIndex: get(0, UInt64.self), position: get(8, UInt16.self), kind: kind, outcome: outcome,
            reason: get(12, UInt16.self), participant: get(16, UInt32.self), clientOrderID: get(20, UInt64.self),
            orderID: get(28, UInt64.self))
    }
}

/// A replica's audit trail: one fixed-size, checksummed record per applied client command, in log
/// order, in `<shard directory>/audit.log`. It is the exchange's record of what every replica
/// executed, and what `exchangectl verify` reads.
///
/// Durability: records are written (not synced) after each apply round, and the file is synced
/// before a snapshot is saved, so everything up to the latest snapshot is durably in the trail; the
/// entries after it are re-applied from the log at restart and their records written again. At
/// open, an unverifiable tail is cut, together with every record of the last log index it still
/// holds beyond the snapshot (that entry may have been recorded only in part; it is replayed).
/// A snapshot installed from the leader leaves a gap, marked by a `snapshot` record.
///
/// - Important: not thread-safe; the node loop's thread calls everything.
public final class AuditTrail {
    public let path: String
    private let fileSystem: any FileSystem
    private let handle: FileHandle
    private var pending: [UInt8] = []
    /// Bytes durably or not in the file (excluding `pending`).
    private var fileSize: UInt64
    /// Log index of the last record (written or pending); 0 when empty.
    public private(set) var lastIndex: UInt64
    /// Records cut from the tail at open (torn or of a possibly incomplete entry).
    public let recoveredCut: Int

    /// Opens (creating) the trail in `directory` and repairs its tail given the replica's snapshot index.
    public init(fileSystem: any FileSystem, directory: String, snapshotIndex: UInt64) throws(StorageError) {
        self.fileSystem = fileSystem
        path = directory + "/audit.log"
        handle = try fileSystem.open(path, mode: .createIfMissing)
        // The file's directory entry must be durable before the trail is relied on.
        try fileSystem.syncDirectory(directory)
        let size = try fileSystem.size(handle)
        var count = size / UInt64(AuditRecord.byteCount)
        var cut = size % UInt64(AuditRecord.byteCount) == 0 ? 0 : 1
        // Walk back over records that do not verify (unwritten or torn).
        var last: AuditRecord?
        while count > 0 {
            let bytes = try fileSystem.read(
                handle, at: (count - 1) * UInt64(AuditRecord.byteCount), count: AuditRecord.byteCount)
            if let record = AuditRecord.decode(bytes[...]) {
                last = record
                break
            }
            count -= 1
            cut += 1
        }
        // The last recorded entry beyond the snapshot may be incomplete: drop all of its records.
        if let record = last, record.logIndex > snapshotIndex {
            let index = record.logIndex
            last = nil
            while count > 0 {
                let bytes = try fileSystem.read(
                    handle, at: (count - 1) * UInt64(AuditRecord.byteCount), count: AuditRecord.byteCount)
                guard let record = AuditRecord.decode(bytes[...]) else { break }
                if record.logIndex == index {
                    count -= 1
                    cut += 1
                } else {
                    last = record
                    break
                }
            }
        }
        fileSize = count * UInt64(AuditRecord.byteCount)
        if fileSize != size { try fileSystem.truncate(handle, to: fileSize) }
        lastIndex = last?.logIndex ?? 0
        recoveredCut = cut
        if lastIndex < snapshotIndex { record(.snapshotMarker(at: snapshotIndex)) }
    }

    deinit { fileSystem.close(handle) }

    /// Buffers a record (ignored if the trail already has records of a later index: a replay).
    public func record(_ record: AuditRecord) {
        guard record.logIndex >= lastIndex else { return }
        record.encode(into: &pending)
        lastIndex = record.logIndex
    }

    /// Whether records of entry `index` are still to be written (false during a replay of entries
    /// the trail already holds).
    public func wants(_ index: UInt64) -> Bool { index > lastIndex }

    /// Writes buffered records to the file (no sync).
    public func flush() throws(StorageError) {
        guard !pending.isEmpty else { return }
        try fileSystem.write(handle, pending, at: fileSize)
        fileSize += UInt64(pending.count)
        pending.removeAll(keepingCapacity: true)
    }

    /// Writes and fdatasyncs: everything recorded so far is durable.
    public func sync() throws(StorageError) {
        try flush()
        try fileSystem.syncData(handle)
    }

    public var recordCount: UInt64 { (fileSize + UInt64(pending.count)) / UInt64(AuditRecord.byteCount) }

    /// Up to `limit` records with log index >= `from`, in log order (flushes first).
    public func records(from: UInt64, limit: Int) throws(StorageError) -> [AuditRecord] {
        try flush()
        let size = UInt64(AuditRecord.byteCount)
        let count = fileSize / size
        // Binary search for the first record with index >= from.
        var low: UInt64 = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            let bytes = try fileSystem.read(handle, at: middle * size, count: AuditRecord.byteCount)
            guard let record = AuditRecord.decode(bytes[...]) else {
                throw StorageError(.ioError, "audit record \(middle) does not verify", path: path)
            }
            if record.logIndex < from { low = middle + 1 } else { high = middle }
        }
        let take = min(UInt64(max(limit, 0)), count - low)
        guard take > 0 else { return [] }
        let bytes = try fileSystem.read(handle, at: low * size, count: Int(take * size))
        var result: [AuditRecord] = []
        result.reserveCapacity(Int(take))
        var offset = 0
        while offset + AuditRecord.byteCount <= bytes.count {
            guard let record = AuditRecord.decode(bytes[offset..<(offset + AuditRecord.byteCount)]) else {
                throw StorageError(.ioError, "audit record \(low + UInt64(result.count)) does not verify", path: path)
            }
            result.append(record)
            offset += AuditRecord.byteCount
        }
        return result
    }
}
