/// An open file of a `FileSystem`. Only meaningful to the file system that returned it.
public struct FileHandle: Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
}

/// How `FileSystem.open` treats a missing or existing file.
public enum OpenMode: Sendable, Hashable {
    /// Open an existing file; `notFound` if it does not exist.
    case existing
    /// Open, creating an empty file if missing.
    case createIfMissing
    /// Create a new file; `alreadyExists` if it exists.
    case createNew
}

/// The file operations the write-ahead log and snapshot writer use, so that the simulator can
/// substitute `SimulatedFileSystem` for `POSIXFileSystem`.
///
/// - Important: every call may block on the disk. Call from the storage thread, never from the
///   cooperative pool or an event loop. After `syncData` or `sync` throws, the written data must not
///   be treated as durable, nor may the sync be retried as if it had succeeded: the caller crash-stops
///   (as PostgreSQL does since its fsync incident).
public protocol FileSystem: AnyObject {
    func open(_ path: String, mode: OpenMode) throws(StorageError) -> FileHandle
    /// Closes `handle`. Closing an unknown handle is a programmer error.
    func close(_ handle: FileHandle)
    /// Writes all of `bytes` at `offset`, extending the file if needed.
    func write(_ handle: FileHandle, _ bytes: [UInt8], at offset: UInt64) throws(StorageError)
    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    func read(_ handle: FileHandle, at offset: UInt64, count: Int) throws(StorageError) -> [UInt8]
    func size(_ handle: FileHandle) throws(StorageError) -> UInt64
    /// fdatasync: makes the file's data (and its size) durable.
    func syncData(_ handle: FileHandle) throws(StorageError)
    /// fsync: makes the file's data and metadata durable.
    func sync(_ handle: FileHandle) throws(StorageError)
    func truncate(_ handle: FileHandle, to size: UInt64) throws(StorageError)
    /// Atomically replaces `destination`; durable only after `syncDirectory` of its directory.
    func rename(_ source: String, to destination: String) throws(StorageError)
    /// Makes creations, renames and removals in `path` durable.
    func syncDirectory(_ path: String) throws(StorageError)
    /// Names (not paths) of the entries in directory `path`, sorted, without `.` and `..`.
    func listDirectory(_ path: String) throws(StorageError) -> [String]
    func remove(_ path: String) throws(StorageError)
    /// Creates directory `path` if it does not exist (its parent must), and makes the creation
    /// durable by syncing the parent.
    func createDirectory(_ path: String) throws(StorageError)
}

extension FileSystem {
    /// Writes `bytes` at the end of the file and returns the offset they were written at.
    @discardableResult
    public func append(_ handle: FileHandle, _ bytes: [UInt8]) throws(StorageError) -> UInt64 {
        let offset = try size(handle)
        try write(handle, bytes, at: offset)
        return offset
    }
}

/// An operating error from a `FileSystem`: the disk, not the program, is at fault.
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        case notFound
        case alreadyExists
        /// The disk is full (ENOSPC, EDQUOT).
        case noSpace
        /// fsync or fdatasync failed: data written since the last successful sync may be lost.
        case syncFailed
        case ioError
        case invalidArgument
        case permissionDenied
        /// A failure with no more specific code; see `errno`.
        case other
    }

    public var code: Code
    public var message: String
    public var path: String?
    public var offset: UInt64?
    /// The raw errno for POSIX failures (simulated failures use the errno they imitate).
    public var errno: Int32?

    public init(_ code: Code, _ message: String, path: String? = nil, offset: UInt64? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
    }

    public var description: String {
        var text = "StorageError(\(code)): \(message)"
        if let path { text += " path=\(path)" }
        if let offset { text += " offset=\(offset)" }
        if let errno { text += " errno=\(errno)" }
        return text
    }
}
