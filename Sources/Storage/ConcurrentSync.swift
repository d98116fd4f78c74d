import Glibc

/// Issues `fdatasync` on several files at once and waits for all of them.
///
/// The calling thread syncs the first file itself; the others go to dedicated threads owned by
/// this type (created on first use, at most `threadsMax`, kept for the life of the process). Never
/// on Dispatch's or Swift concurrency's shared workers: a sync can block for milliseconds
/// (CONVENTIONS 6). One round at a time; concurrent callers queue.
enum ConcurrentSync {
    /// Upper bound on dedicated sync threads: beyond this, files share a thread within a round.
    static let threadsMax = 16

    /// Returns, per handle, nil on success or the failure.
    static func run(_ handles: [FileHandle], on fileSystem: POSIXFileSystem) -> [StorageError?] {
        guard handles.count > 1 else {
            return handles.map { handle in
                do throws(StorageError) {
                    try fileSystem.syncData(handle)
                    return nil
                } catch {
                    return error
                }
            }
        }
        return SyncThreadPool.shared.run(handles)
    }
}

/// A fixed set of threads waiting for sync jobs, guarded by one mutex and two condition variables.
private final class SyncThreadPool: @unchecked Sendable {
    // @unchecked Sendable: every mutable field below is read and written only with `mutex` held.
    static let shared = SyncThreadPool()

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let roundMutex: UnsafeMutablePointer<pthread_mutex_t>
    private let workAvailable: UnsafeMutablePointer<pthread_cond_t>
    private let workDone: UnsafeMutablePointer<pthread_cond_t>
    private var queue: [(handle: FileHandle, slot: Int)] = []
    private var results: [StorageError?] = []
    private var remaining = 0
    private var threadCount = 0
    private let fileSystem = POSIXFileSystem()

    private init() {
        mutex = .allocate(capacity: 1)
        roundMutex = .allocate(capacity: 1)
        workAvailable = .allocate(capacity: 1)
        workDone = .allocate(capacity: 1)
        precondition(pthread_mutex_init(mutex, nil) == 0 && pthread_mutex_init(roundMutex, nil) == 0)
        precondition(pthread_cond_init(workAvailable, nil) == 0 && pthread_cond_init(workDone, nil) == 0)
    }

    func run(_ handles: [FileHandle]) -> [StorageError?] {
        pthread_mutex_lock(roundMutex)
        defer { pthread_mutex_unlock(roundMutex) }
        pthread_mutex_lock(mutex)
        let helpersWanted = min(handles.count - 1, ConcurrentSync.threadsMax)
        while threadCount < helpersWanted {
            startThread()
            threadCount += 1
        }
        results = Array(repeating: nil, count: handles.count)
        remaining = handles.count - 1
        queue = handles.enumerated().dropFirst().map { (handle: $0.element, slot: $0.offset) }
        pthread_cond_broadcast(workAvailable)
        pthread_mutex_unlock(mutex)

        var own: StorageError?
        do throws(StorageError) { try fileSystem.syncData(handles[0]) } catch { own = error }

        pthread_mutex_lock(mutex)
        while remaining > 0 { pthread_cond_wait(workDone, mutex) }
        var collected = results
        collected[0] = own
        pthread_mutex_unlock(mutex)
        return collected
    }

    private func startThread() {
        var thread = pthread_t()
        let context = Unmanaged.passUnretained(self).toOpaque()
        let status = pthread_create(&thread, nil, { raw in
            let pool = Unmanaged<SyncThreadPool>.fromOpaque(raw!).takeUnretainedValue()
            pool.workerLoop()
        }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
        pthread_detach(thread)
    }

    private func workerLoop() -> Never {
        pthread_mutex_lock(mutex)
        while true {
            while queue.isEmpty { pthread_cond_wait(workAvailable, mutex) }
            let job = queue.removeLast()
            pthread_mutex_unlock(mutex)
            var failure: StorageError?
            do throws(StorageError) { try fileSystem.syncData(job.handle) } catch { failure = error }
            pthread_mutex_lock(mutex)
            results[job.slot] = failure
            remaining -= 1
            if remaining == 0 { pthread_cond_signal(workDone) }
        }
    }
}
