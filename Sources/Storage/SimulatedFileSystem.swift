/// An in-memory `FileSystem` for the simulator, with the crash and fault behaviour of a real disk.
///
/// Each file keeps its durable bytes (as of the last successful sync) and the writes and truncations
/// made since. Directory entries (creation, rename, removal) become durable only with
/// `syncDirectory` of their parent. `crash(random:)` keeps what is durable, replays a random prefix
/// of each file's unsynced operations and may tear the next write at any byte, then forgets every
/// handle. Faults: `failNextSync()`, `capacityBytes` (a full disk), `flipBit(path:byteOffset:bit:)`.
///
/// Not thread-safe: the simulator drives it from one thread.
public final class SimulatedFileSystem: FileSystem {
    private enum Operation {
        case write(offset: Int, bytes: [UInt8])
        case truncate(size: Int)
    }

    private final class Inode {
        var durable: [UInt8] = []
        var current: [UInt8] = []
        var unsynced: [Operation] = []
    }

    /// Path → inode as the running process sees it.
    private var namespace: [String: Inode] = [:]
    /// Path → inode as it would be found after a crash.
    private var durableNamespace: [String: Inode] = [:]
    private var handles: [Int32: (path: String, inode: Inode)] = [:]
    private var nextHandle: Int32 = 3
    /// Handles below this number were invalidated by a crash.
    private var handlesValidFrom: Int32 = 0
    private var syncFailuresPending = 0

    /// Total bytes all files may hold; a write that would exceed it fails with `noSpace` (ENOSPC)
    /// and writes nothing. Default: nil (unbounded).
    public var capacityBytes: Int?

    public init() {}

    // MARK: Faults

    /// The next `syncData`, `sync` or `syncDirectory` fails with `syncFailed` (EIO) and makes nothing
    /// durable. Like Linux after a writeback error, the file's unsynced operations are then dropped
    /// from what can ever become durable: the process still reads them, but no later sync persists
    /// them, and a crash loses them. A log that retried the sync and believed it would lose data.
    public func failNextSync() { syncFailuresPending += 1 }

    /// Flips bit `bit` of the byte at `byteOffset` in the file, both in what the process sees and
    /// in what survives a crash: a latent media error.
    public func flipBit(path: String, byteOffset: Int, bit: Int) {
        precondition((0..<8).contains(bit))
        guard let inode = namespace[path] ?? durableNamespace[path] else {
            preconditionFailure("flipBit on missing file \(path)")
        }
        precondition(byteOffset < inode.current.count || byteOffset < inode.durable.count, "flipBit past end of file")
        if byteOffset < inode.current.count { inode.current[byteOffset] ^= 1 << UInt8(bit) }
        if byteOffset < inode.durable.count { inode.durable[byteOffset] ^= 1 << UInt8(bit) }
        for index in inode.unsynced.indices {
            if case .write(let offset, var bytes) = inode.unsynced[index],
                (offset..<(offset + bytes.count)).contains(byteOffset)
            {
                bytes[byteOffset - offset] ^= 1 << UInt8(bit)
                inode.unsynced[index] = .write(offset: offset, bytes: bytes)
            }
        }
    }

    /// Simulates power loss: durable data survives, a random prefix of each file's unsynced
    /// operations survives, and the first lost write may survive partially (torn at any byte).
    /// Unsynced directory changes are lost. All handles become invalid.
    public func crash(random: inout some RandomNumberGenerator) {
        var survivors: [ObjectIdentifier: Inode] = [:]
        // In path order: a seed must reproduce the same crash (dictionary order varies per process).
        for (_, inode) in durableNamespace.sorted(by: { $0.key < $1.key })
        where survivors[ObjectIdentifier(inode)] == nil {
            survivors[ObjectIdentifier(inode)] = inode
            var contents = inode.durable
            let kept = Int.random(in: 0...inode.unsynced.count, using: &random)
            for operation in inode.unsynced[0..<kept] { Self.apply(operation, to: &contents) }
            if kept < inode.unsynced.count, case .write(let offset, let bytes) = inode.unsynced[kept] {
                let tornLength = Int.random(in: 0...bytes.count, using: &random)
                Self.apply(.write(offset: offset, bytes: Array(bytes[0..<tornLength])), to: &contents)
            }
            inode.durable = contents
            inode.current = contents
            inode.unsynced = []
        }
        namespace = durableNamespace
        handles = [:]
        handlesValidFrom = nextHandle
        syncFailuresPending = 0
    }

    /// The bytes a file would hold after a crash that lost every unsynced operation.
    public func durableContents(of path: String) -> [UInt8]? { durableNamespace[path]?.durable }

    // MARK: FileSystem

    public func open(_ path: String, mode: OpenMode) throws(StorageError) -> FileHandle {
        let inode: Inode
        if let existing = namespace[path] {
            if mode == .createNew { throw StorageError(.alreadyExists, "file exists", path: path, errno: 17) }
            inode = existing
        } else {
            if mode == .existing { throw StorageError(.notFound, "no such file", path: path, errno: 2) }
            inode = Inode()
            namespace[path] = inode
        }
        let handle = FileHandle(rawValue: nextHandle)
        nextHandle += 1
        handles[handle.rawValue] = (path, inode)
        return handle
    }

    /// Closing a handle that a crash invalidated is allowed (its owner is being torn down).
    public func close(_ handle: FileHandle) {
        let known = handles.removeValue(forKey: handle.rawValue) != nil
        precondition(known || handle.rawValue < handlesValidFrom, "close of unknown handle")
    }

    public func write(_ handle: FileHandle, _ bytes: [UInt8], at offset: UInt64) throws(StorageError) {
        let (path, inode) = try entry(handle)
        let end = Int(offset) + bytes.count
        if let capacityBytes, end > inode.current.count {
            let used = namespace.values.reduce(0) { $0 + $1.current.count }
            if used + end - inode.current.count > capacityBytes {
                throw StorageError(.noSpace, "no space left on device", path: path, offset: offset, errno: 28)
            }
        }
        let operation = Operation.write(offset: Int(offset), bytes: bytes)
        Self.apply(operation, to: &inode.current)
        inode.unsynced.append(operation)
    }

    public func read(_ handle: FileHandle, at offset: UInt64, count: Int) throws(StorageError) -> [UInt8] {
        let inode = try entry(handle).inode
        let start = min(Int(offset), inode.current.count)
        return Array(inode.current[start..<min(start + count, inode.current.count)])
    }

    public func size(_ handle: FileHandle) throws(StorageError) -> UInt64 {
        UInt64(try entry(handle).inode.current.count)
    }

    public func syncData(_ handle: FileHandle) throws(StorageError) {
        let (path, inode) = try entry(handle)
        do {
            try consumeSyncFailure(path: path)
        } catch {
            inode.unsynced = []
            throw error
        }
        for operation in inode.unsynced { Self.apply(operation, to: &inode.durable) }
        inode.unsynced = []
    }

    public func sync(_ handle: FileHandle) throws(StorageError) {
        try syncData(handle)
    }

    public func truncate(_ handle: FileHandle, to size: UInt64) throws(StorageError) {
        let inode = try entry(handle).inode
        let operation = Operation.truncate(size: Int(size))
        Self.apply(operation, to: &inode.current)
        inode.unsynced.append(operation)
    }

    public func rename(_ source: String, to destination: String) throws(StorageError) {
        guard let inode = namespace.removeValue(forKey: source) else {
            throw StorageError(.notFound, "no such file", path: source, errno: 2)
        }
        namespace[destination] = inode
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        try consumeSyncFailure(path: path)
        let prefix = path.hasSuffix("/") ? path : path + "/"
        func inDirectory(_ candidate: String) -> Bool {
            candidate.hasPrefix(prefix) && !candidate.dropFirst(prefix.count).contains("/")
        }
        durableNamespace = durableNamespace.filter { !inDirectory($0.key) }
        for (name, inode) in namespace where inDirectory(name) { durableNamespace[name] = inode }
    }

    public func listDirectory(_ path: String) throws(StorageError) -> [String] {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return namespace.keys.compactMap { candidate -> String? in
            guard candidate.hasPrefix(prefix) else { return nil }
            let name = candidate.dropFirst(prefix.count)
            return name.contains("/") ? nil : String(name)
        }.sorted()
    }

    public func remove(_ path: String) throws(StorageError) {
        if namespace.removeValue(forKey: path) == nil {
            throw StorageError(.notFound, "no such file", path: path, errno: 2)
        }
    }

    /// Directories are implicit in the simulated namespace (a path's prefix): nothing to do.
    public func createDirectory(_ path: String) throws(StorageError) {}

    // MARK: Helpers

    private func entry(_ handle: FileHandle) throws(StorageError) -> (path: String, inode: Inode) {
        guard let entry = handles[handle.rawValue] else {
            throw StorageError(.invalidArgument, "bad file handle \(handle.rawValue)", errno: 9)
        }
        return entry
    }

    private func consumeSyncFailure(path: String) throws(StorageError) {
        if syncFailuresPending > 0 {
            syncFailuresPending -= 1
            throw StorageError(.syncFailed, "injected sync failure", path: path, errno: 5)
        }
    }

    private static func apply(_ operation: Operation, to contents: inout [UInt8]) {
        switch operation {
        case .write(let offset, let bytes):
            if contents.count < offset + bytes.count {
                contents.append(contentsOf: repeatElement(0, count: offset + bytes.count - contents.count))
            }
            contents.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        case .truncate(let size):
            if size < contents.count {
                contents.removeLast(contents.count - size)
            } else {
                contents.append(contentsOf: repeatElement(0, count: size - contents.count))
            }
        }
    }
}
