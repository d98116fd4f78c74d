@preconcurrency import Glibc
import Synchronization

/// A directory a benchmark creates for its files and removes again, with everything in it.
///
/// Always a fresh directory `exchange-bench-<purpose>-<pid>` inside `parent` (default: `$TMPDIR` or
/// `/tmp`, outside any repository): `remove()` deletes only what this process created, never the
/// parent the user named.
final class ScratchDirectory {
    let path: String

    /// Creates `parent/exchange-bench-<purpose>-<pid>`; fails if it already exists.
    init(purpose: String, parent: String?) throws {
        let base = parent ?? Self.temporaryDirectory
        let trimmed = base.count > 1 && base.hasSuffix("/") ? String(base.dropLast()) : base
        path = trimmed + "/exchange-bench-\(purpose)-\(getpid())"
        if mkdir(path, 0o755) != 0 {
            let reason = String(cString: strerror(errno))
            throw ExitCodeError(message: "cannot create \(path): \(reason)")
        }
    }

    /// `$TMPDIR` if set and not empty, else `/tmp`.
    static var temporaryDirectory: String {
        if let value = getenv("TMPDIR"), value.pointee != 0 { return String(cString: value) }
        return "/tmp"
    }

    /// Deletes the directory and everything in it. Errors are reported on standard error, not thrown:
    /// this runs from `defer` blocks.
    func remove() {
        Self.removeTree(path)
    }

    /// Removes `path` recursively (without following symbolic links).
    static func removeTree(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            if let directory = opendir(path) {
                var names: [String] = []
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(directory)
                for name in names { removeTree(path + "/" + name) }
            }
            if rmdir(path) != 0 { log("warning: cannot remove \(path): \(String(cString: strerror(errno)))") }
        } else if unlink(path) != 0 {
            log("warning: cannot remove \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// A failure of a benchmark's own setup (not of the code under test), with a message for the user.
struct ExitCodeError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Sorted-sample statistics (nearest rank).
enum Percentiles {
    /// The `percent`-th percentile of `sorted` (ascending, not empty) by the nearest-rank method.
    static func value(_ sorted: [UInt64], _ percent: Double) -> UInt64 {
        precondition(!sorted.isEmpty, "no samples")
        let rank = Int((percent / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The median of `values` (not empty): the middle one, or the mean of the two middle ones.
    static func median(_ values: [Double]) -> Double {
        precondition(!values.isEmpty, "no values")
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

/// Set by the first SIGINT or SIGTERM: long loops stop at their next check and throw, so that the
/// scratch directory is still removed by its `defer`. A second signal kills the process at once.
let interruptRequested = Atomic<Bool>(false)

enum Interruption {
    /// Installs the SIGINT and SIGTERM handlers; call before creating a scratch directory.
    static func install() {
        for number in [SIGINT, SIGTERM] {
            signal(number) { received in
                interruptRequested.store(true, ordering: .relaxed)
                signal(received, SIG_DFL)
            }
        }
    }

    /// Throws if a signal asked the benchmark to stop.
    static func check() throws {
        if interruptRequested.load(ordering: .relaxed) { throw ExitCodeError(message: "interrupted") }
    }
}
