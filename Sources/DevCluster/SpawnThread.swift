import Glibc

/// Starts child processes from one dedicated thread that never exits.
///
/// Why a thread of its own: nodes are started with a parent-death signal (`PR_SET_PDEATHSIG`, see
/// `ParentDeathWrapper`), and Linux sends it when the *thread* that created the child exits, not when the process
/// does. Threads of the cooperative pool and of Dispatch come and go (on Linux even the main thread leaves through
/// `pthread_exit` in `dispatch_main`), so spawning from them would kill nodes at random. `posix_spawn` also blocks
/// (briefly) until the child has exec'd, which does not belong on the cooperative pool.
final class SpawnThread: @unchecked Sendable {
    // @unchecked Sendable: `jobs` is only touched with `mutex` held; the thread handle is written once in init.
    static let shared = SpawnThread()

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [@Sendable () -> Void] = []

    private init() {
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(
            &thread, nil,
            { context in
                let spawner = Unmanaged<SpawnThread>.fromOpaque(context!).takeUnretainedValue()
                spawner.loop()
                return nil
            }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
        pthread_detach(thread)
    }

    /// Runs `body` on the spawn thread and returns its result.
    func run<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
            pthread_mutex_lock(mutex)
            jobs.append { continuation.resume(returning: body()) }
            pthread_cond_signal(condition)
            pthread_mutex_unlock(mutex)
        }
    }

    private func loop() {
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty { pthread_cond_wait(condition, mutex) }
            let batch = jobs
            jobs.removeAll()
            pthread_mutex_unlock(mutex)
            for job in batch { job() }
        }
    }
}

/// `posix_spawn` of one node process with its output appended to a log file.
enum ProcessSpawner {
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not import
    /// (it is declared under `_GNU_SOURCE` only).
    typealias CloseFromAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    static let closeFromAction: CloseFromAction? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFromAction.self)
    }()

    /// Spawns `arguments[0]` with `arguments`, stdin from /dev/null, stdout and stderr appended to `logPath`, and no
    /// other file descriptor of this process.
    ///
    /// The child gets its own process group (a Ctrl-C in the terminal reaches only the supervisor, which then stops
    /// the nodes in order), an empty signal mask and default dispositions for the signals the supervisor may ignore.
    static func spawn(arguments: [String], logPath: String) -> Result<pid_t, LocalClusterError> {
        precondition(!arguments.isEmpty, "spawn needs at least the executable")
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process leaks into the child: an inherited socket stays open as long as the child
        // lives. Seen with the in-process mock Kafka: a broker "closed" its connections, yet every child spawned
        // meanwhile held copies, so the clients never saw a disconnect and waited on requests for minutes; and the
        // mock failed to re-bind a broker's port that a child still held open (an assertion in librdkafka).
        guard let closeFrom = closeFromAction else {
            return .failure(
                LocalClusterError(
                    code: .spawnFailed, message: "posix_spawn_file_actions_addclosefrom_np is missing (glibc < 2.34)"))
        }
        let closeStatus = closeFrom(&actions, 3)
        guard closeStatus == 0 else {
            return .failure(
                LocalClusterError(
                    code: .spawnFailed, message: "posix_spawn_file_actions_addclosefrom_np failed",
                    systemError: closeStatus))
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        let flags = Int32(POSIX_SPAWN_SETPGROUP) | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var pid: pid_t = 0
        let status = posix_spawn(&pid, arguments[0], &actions, &attributes, &argv, environ)
        guard status == 0 else {
            return .failure(
                LocalClusterError(
                    code: .spawnFailed, message: "posix_spawn \(arguments[0]) failed", systemError: status))
        }
        return .success(pid)
    }
}

/// What `exchanged dev-child` does: arm the parent-death signal, then become the node.
///
/// A node started by `LocalCluster` must not outlive its supervisor, also when the supervisor is killed with
/// SIGKILL. `posix_spawn` cannot set `PR_SET_PDEATHSIG`, so the supervisor spawns `exchanged dev-child
/// --parent-pid P -- node ...`, which sets it (it survives `execve` of a binary without set-uid or capabilities),
/// checks that the parent has not died already, and `execv`s itself as `exchanged node ...` in the same process.
public enum ParentDeathWrapper {
    /// `PR_SET_PDEATHSIG` from `<linux/prctl.h>`.
    static let setParentDeathSignal: Int32 = 1

    /// Arms SIGKILL-on-parent-death and replaces this process with `executable command...`. Returns only on
    /// failure, with a message for the log.
    public static func execWithParentDeathSignal(parentPID: Int32, command: [String]) -> String {
        // prctl is variadic in C and does not import into Swift; its arguments are all integers, which the
        // x86_64 and aarch64 Linux calling conventions pass the same way for a fixed-arity call.
        typealias PrctlFunction = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let symbol = dlsym(nil, "prctl") else { return "dlsym(prctl) failed" }
        let prctl = unsafeBitCast(symbol, to: PrctlFunction.self)
        guard prctl(setParentDeathSignal, UInt(SIGKILL), 0, 0, 0) == 0 else {
            return "prctl(PR_SET_PDEATHSIG) failed: errno \(errno)"
        }
        guard getppid() == parentPID else { return "the supervisor (pid \(parentPID)) is gone; not starting" }
        let executable = executablePath() ?? "/proc/self/exe"
        let arguments = [executable] + command
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv(executable, &argv)
        let failure = errno
        for pointer in argv { free(pointer) }
        return "execv \(executable) failed: errno \(failure)"
    }

    /// The running executable's path, from /proc/self/exe.
    public static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        buffer[length] = 0
        return FileTree.string(fromNulTerminated: buffer)
    }
}
