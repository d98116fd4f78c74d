import Glibc

/// The real file system, through POSIX calls. Handles are file descriptors; the caller owns them
/// and must `close` each one. Stateless, hence safe to share.
public final class POSIXFileSystem: FileSystem, Sendable {
    /// Permission bits for created files (before umask). Default: 0o644.
    public let filePermissions: UInt32

    public init(filePermissions: UInt32 = 0o644) {
        self.filePermissions = filePermissions
    }

    public func open(_ path: String, mode: OpenMode) throws(StorageError) -> FileHandle {
        var flags = O_RDWR | O_CLOEXEC
        switch mode {
        case .existing: break
        case .createIfMissing: flags |= O_CREAT
        case .createNew: flags |= O_CREAT | O_EXCL
        }
        let descriptor = retryingOnInterrupt { Glibc.open(path, flags, mode_t(filePermissions)) }
        if descriptor < 0 { throw Self.error("open", path: path) }
        return FileHandle(rawValue: descriptor)
    }

    public func close(_ handle: FileHandle) {
        // Linux closes the descriptor even when close fails with EINTR: never retry.
        _ = Glibc.close(handle.rawValue)
    }

    public func write(_ handle: FileHandle, _ bytes: [UInt8], at offset: UInt64) throws(StorageError) {
        var written = 0
        while written < bytes.count {
            let position = offset + UInt64(written)
            let result = bytes.withUnsafeBytes { buffer in
                retryingOnInterrupt {
                    pwrite(handle.rawValue, buffer.baseAddress! + written, buffer.count - written, off_t(position))
                }
            }
            if result < 0 { throw Self.error("pwrite", offset: position) }
            if result == 0 { throw StorageError(.ioError, "pwrite wrote nothing", offset: position) }
            written += result
        }
    }

    public func read(_ handle: FileHandle, at offset: UInt64, count: Int) throws(StorageError) -> [UInt8] {
        precondition(count >= 0)
        var failure: StorageError?
        // Uninitialised capacity: recovery reads whole 64 MiB segments, zero-filling them first
        // would cost as much as the read.
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var filled = 0
            while filled < count {
                let position = offset + UInt64(filled)
                let result = retryingOnInterrupt {
                    pread(handle.rawValue, buffer.baseAddress! + filled, count - filled, off_t(position))
                }
                if result < 0 {
                    failure = Self.error("pread", offset: position)
                    break
                }
                if result == 0 { break }
                filled += result
            }
            initialized = filled
        }
        if let failure { throw failure }
        return bytes
    }

    public func size(_ handle: FileHandle) throws(StorageError) -> UInt64 {
        var status = stat()
        if fstat(handle.rawValue, &status) != 0 { throw Self.error("fstat") }
        return UInt64(status.st_size)
    }

    public func syncData(_ handle: FileHandle) throws(StorageError) {
        if fdatasync(handle.rawValue) != 0 { throw Self.error("fdatasync", code: .syncFailed) }
    }

    public func sync(_ handle: FileHandle) throws(StorageError) {
        if fsync(handle.rawValue) != 0 { throw Self.error("fsync", code: .syncFailed) }
    }

    public func truncate(_ handle: FileHandle, to size: UInt64) throws(StorageError) {
        if retryingOnInterrupt({ ftruncate(handle.rawValue, off_t(size)) }) != 0 {
            throw Self.error("ftruncate", offset: size)
        }
    }

    public func rename(_ source: String, to destination: String) throws(StorageError) {
        if Glibc.rename(source, destination) != 0 { throw Self.error("rename to \(destination)", path: source) }
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        let descriptor = retryingOnInterrupt { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        if descriptor < 0 { throw Self.error("open directory", path: path) }
        defer { _ = Glibc.close(descriptor) }
        if fsync(descriptor) != 0 { throw Self.error("fsync directory", path: path, code: .syncFailed) }
    }

    public func listDirectory(_ path: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else { throw Self.error("opendir", path: path) }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            Glibc.errno = 0
            guard let entry = readdir(directory) else {
                if Glibc.errno != 0 { throw Self.error("readdir", path: path) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func remove(_ path: String) throws(StorageError) {
        if unlink(path) != 0 { throw Self.error("unlink", path: path) }
    }

    public func createDirectory(_ path: String) throws(StorageError) {
        if mkdir(path, 0o755) != 0 {
            if Glibc.errno == EEXIST { return }
            throw Self.error("mkdir", path: path)
        }
        var parent = String(path.reversed().drop(while: { $0 == "/" }).drop(while: { $0 != "/" }).reversed())
        if parent.isEmpty { parent = "." }
        try syncDirectory(parent)
    }

    private static func error(
        _ operation: String, path: String? = nil, offset: UInt64? = nil, code: StorageError.Code? = nil
    ) -> StorageError {
        let number = Glibc.errno
        let mapped: StorageError.Code =
            switch number {
            case ENOENT: .notFound
            case EEXIST: .alreadyExists
            case ENOSPC, EDQUOT: .noSpace
            case EIO: code ?? .ioError
            case EINVAL: .invalidArgument
            case EACCES, EPERM: .permissionDenied
            default: code ?? .other
            }
        let reason = String(cString: strerror(number))
        return StorageError(mapped, "\(operation) failed: \(reason)", path: path, offset: offset, errno: number)
    }
}

private func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result >= 0 || Glibc.errno != EINTR { return result }
    }
}
