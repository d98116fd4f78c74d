public import Raft

/// Snapshot files of one Raft group in one directory.
///
/// A snapshot is written to a temporary file, synced, renamed to its final name and the directory
/// synced; only then are older snapshots deleted. A crash at any point leaves either the old or the
/// new snapshot complete (plus, perhaps, a temporary file, removed by `removeLeftovers`).
///
/// File layout, little-endian (`headerByteCount` bytes of header, then membership, data and a CRC):
///
///     offset  size  field
///          0     4  magic "XSNP"
///          4     2  format version (`currentVersion`)
///          6     2  reserved, zero
///          8     8  index
///         16     8  term
///         24     4  membership length in bytes
///         28     4  reserved, zero
///         32     8  data length in bytes
///         40     4  CRC32C over bytes 0..<40
///         44     4  zero
///         48     -  membership (`Membership.encoded()`), data, then CRC32C of both (4 bytes)
///
/// - Important: not thread-safe; one storage thread drives it.
public final class SnapshotStore {
    public static let magic: [UInt8] = Array("XSNP".utf8)
    public static let currentVersion: UInt16 = 1
    public static let headerByteCount = 48

    public let fileSystem: any FileSystem
    public let directory: String

    public init(fileSystem: any FileSystem, directory: String) {
        self.fileSystem = fileSystem
        self.directory = directory
    }

    /// `snapshot-<index>-<term>.snap` with 16 hex digits each, so that names sort by index.
    public static func fileName(index: UInt64, term: UInt64) -> String {
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
        }
        return "snapshot-\(hex(index))-\(hex(term)).snap"
    }

    static func parse(fileName name: String) -> (index: UInt64, term: UInt64)? {
        guard name.hasPrefix("snapshot-"), name.hasSuffix(".snap"), name.count == 9 + 16 + 1 + 16 + 5 else {
            return nil
        }
        let body = name.dropFirst(9).dropLast(5)
        guard let index = UInt64(body.prefix(16), radix: 16), let term = UInt64(body.suffix(16), radix: 16) else {
            return nil
        }
        return (index, term)
    }

    public static func encode(_ snapshot: Snapshot) -> [UInt8] {
        let membership = snapshot.metadata.membership.encoded()
        var bytes = magic
        bytes.reserveCapacity(headerByteCount + membership.count + snapshot.data.count + 4)
        appendLittleEndian(currentVersion, to: &bytes)
        appendLittleEndian(UInt16(0), to: &bytes)
        appendLittleEndian(snapshot.metadata.index, to: &bytes)
        appendLittleEndian(snapshot.metadata.term, to: &bytes)
        appendLittleEndian(UInt32(membership.count), to: &bytes)
        appendLittleEndian(UInt32(0), to: &bytes)
        appendLittleEndian(UInt64(snapshot.data.count), to: &bytes)
        appendLittleEndian(CRC32C.checksum(bytes), to: &bytes)
        appendLittleEndian(UInt32(0), to: &bytes)
        bytes.append(contentsOf: membership)
        bytes.append(contentsOf: snapshot.data)
        var crc = CRC32C()
        crc.update(membership)
        crc.update(snapshot.data)
        appendLittleEndian(crc.value, to: &bytes)
        return bytes
    }

    /// Decodes a snapshot file's bytes; `path` only names the file in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(WALError) -> Snapshot {
        guard bytes.count >= headerByteCount + 4 else {
            throw WALError(.badSnapshot, "snapshot file of \(bytes.count) bytes is too short", path: path, offset: 0)
        }
        guard Array(bytes[0..<4]) == magic else {
            throw WALError(.badHeader, "not a snapshot file (bad magic)", path: path, offset: 0)
        }
        guard CRC32C.checksum(bytes[0..<40]) == readLittleEndian(UInt32.self, bytes, 40) else {
            throw WALError(.badHeader, "snapshot header checksum mismatch", path: path, offset: 40)
        }
        let version = readLittleEndian(UInt16.self, bytes, 4)
        guard version == currentVersion else {
            throw WALError(.unsupportedVersion, "snapshot format version \(version)", path: path, offset: 4)
        }
        let membershipCount = Int(readLittleEndian(UInt32.self, bytes, 24))
        let dataCount = readLittleEndian(UInt64.self, bytes, 32)
        let expected = UInt64(headerByteCount) + UInt64(membershipCount) + dataCount + 4
        guard expected == UInt64(bytes.count) else {
            throw WALError(
                .badSnapshot, "snapshot file is \(bytes.count) bytes, its header says \(expected)", path: path,
                offset: 24)
        }
        let membershipStart = headerByteCount
        let dataStart = membershipStart + membershipCount
        let dataEnd = dataStart + Int(dataCount)
        var crc = CRC32C()
        crc.update(bytes[membershipStart..<dataEnd])
        guard crc.value == readLittleEndian(UInt32.self, bytes, dataEnd) else {
            throw WALError(.badSnapshot, "snapshot body checksum mismatch", path: path, offset: UInt64(dataEnd))
        }
        guard let membership = Membership(encoded: Array(bytes[membershipStart..<dataStart])) else {
            throw WALError(.badSnapshot, "snapshot membership does not decode", path: path, offset: UInt64(membershipStart))
        }
        let metadata = SnapshotMetadata(
            index: readLittleEndian(UInt64.self, bytes, 8), term: readLittleEndian(UInt64.self, bytes, 16),
            membership: membership)
        return Snapshot(metadata: metadata, data: Array(bytes[dataStart..<dataEnd]))
    }

    /// Makes `snapshot` durable, then deletes older snapshots.
    ///
    /// - Throws: `WALError(.storage)`; after a failure the previous snapshot is still the newest
    ///   durable one (a half-written temporary file is removed on a best-effort basis).
    public func save(_ snapshot: Snapshot) throws(WALError) {
        let name = Self.fileName(index: snapshot.metadata.index, term: snapshot.metadata.term)
        let path = directory + "/" + name
        let temporary = path + ".tmp"
        do throws(StorageError) {
            let existing = try fileSystem.listDirectory(directory)
            if existing.contains(name + ".tmp") { try fileSystem.remove(temporary) }
            let handle = try fileSystem.open(temporary, mode: .createNew)
            do throws(StorageError) {
                try fileSystem.write(handle, Self.encode(snapshot), at: 0)
                try fileSystem.sync(handle)
            } catch {
                fileSystem.close(handle)
                try? fileSystem.remove(temporary)
                throw error
            }
            fileSystem.close(handle)
            try fileSystem.rename(temporary, to: path)
            try fileSystem.syncDirectory(directory)
            // The new snapshot is durable: the older ones may go.
            var removed = false
            for other in existing where other != name {
                if let parsed = Self.parse(fileName: other), parsed.index <= snapshot.metadata.index {
                    try fileSystem.remove(directory + "/" + other)
                    removed = true
                }
            }
            if removed { try fileSystem.syncDirectory(directory) }
        } catch {
            throw WALError(error)
        }
    }

    /// The newest snapshot, verified; nil if there is none.
    ///
    /// - Throws: `WALError` naming the file if the newest snapshot is unreadable. Older snapshots are
    ///   not used instead: the log segments they would need may already be deleted.
    public func loadLatest() throws(WALError) -> Snapshot? {
        let names: [String]
        do { names = try fileSystem.listDirectory(directory) } catch { throw WALError(error) }
        let candidates = names.compactMap { name in Self.parse(fileName: name).map { (name, $0) } }
        guard let newest = candidates.max(by: { ($0.1.index, $0.1.term) < ($1.1.index, $1.1.term) }) else {
            return nil
        }
        let path = directory + "/" + newest.0
        let bytes: [UInt8]
        do {
            let handle = try fileSystem.open(path, mode: .existing)
            defer { fileSystem.close(handle) }
            bytes = try fileSystem.read(handle, at: 0, count: Int(try fileSystem.size(handle)))
        } catch {
            throw WALError(error)
        }
        let snapshot = try Self.decode(bytes, path: path)
        guard snapshot.metadata.index == newest.1.index, snapshot.metadata.term == newest.1.term else {
            throw WALError(
                .badSnapshot,
                "snapshot file holds index \(snapshot.metadata.index) term \(snapshot.metadata.term), its name differs",
                path: path)
        }
        return snapshot
    }

    /// Removes temporary files of interrupted saves. Call after a successful recovery.
    public func removeLeftovers() throws(WALError) {
        do {
            let leftovers = try fileSystem.listDirectory(directory).filter { $0.hasSuffix(".snap.tmp") }
            for name in leftovers { try fileSystem.remove(directory + "/" + name) }
            if !leftovers.isEmpty { try fileSystem.syncDirectory(directory) }
        } catch {
            throw WALError(error)
        }
    }
}
