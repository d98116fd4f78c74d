import Glibc

/// The few file operations the supervisor needs, on plain POSIX calls.
enum FileTree {
    /// The text before the first NUL of a C buffer.
    static func string(fromNulTerminated buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws(LocalClusterError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw LocalClusterError(code: .fileSystem, message: "mkdir \(current)", systemError: errno)
            }
        }
    }

    /// Appends `text` to `path`, creating it.
    static func append(_ text: String, to path: String) throws(LocalClusterError) {
        try write(text, to: path, flags: O_WRONLY | O_CREAT | O_APPEND)
    }

    /// Replaces `path` atomically (write a temporary file, rename).
    static func replace(_ path: String, with text: String) throws(LocalClusterError) {
        let temporary = path + ".tmp"
        try write(text, to: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        if rename(temporary, path) != 0 {
            throw LocalClusterError(code: .fileSystem, message: "rename \(temporary)", systemError: errno)
        }
    }

    /// Creates or overwrites `path`.
    static func create(_ path: String, with text: String) throws(LocalClusterError) {
        try write(text, to: path, flags: O_WRONLY | O_CREAT | O_TRUNC)
    }

    private static func write(_ text: String, to path: String, flags: Int32) throws(LocalClusterError) {
        let descriptor = open(path, flags | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw LocalClusterError(code: .fileSystem, message: "open \(path)", systemError: errno)
        }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes {
                Glibc.write(descriptor, $0.baseAddress! + written, bytes.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw LocalClusterError(code: .fileSystem, message: "write \(path)", systemError: errno)
            }
            written += result
        }
    }

    /// The whole file as UTF-8 (invalid bytes replaced), or nil if it cannot be opened.
    static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `rm -rf path` (does not follow symbolic links).
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR, let directory = opendir(path) {
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(directory)
            for name in names { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
