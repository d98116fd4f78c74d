import Dispatch

/// Issues `fdatasync` on several files at once, one worker each, and waits for all of them.
enum ConcurrentSync {
    /// Returns, per handle, nil on success or the failure.
    static func run(_ handles: [FileHandle], on fileSystem: POSIXFileSystem) -> [StorageError?] {
        let results = ResultSlots(count: handles.count)
        DispatchQueue.concurrentPerform(iterations: handles.count) { position in
            do throws(StorageError) {
                try fileSystem.syncData(handles[position])
            } catch {
                results.store(error, at: position)
            }
        }
        return results.values
    }
}

/// Per-iteration result slots written by `concurrentPerform` workers: each slot by exactly one
/// worker, read only after `concurrentPerform` returned (which orders the writes before the read).
private final class ResultSlots: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<StorageError?>
    private let count: Int
    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
    }
    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }
    func store(_ error: StorageError, at position: Int) {
        precondition(position >= 0 && position < count)
        slots[position] = error
    }
    var values: [StorageError?] { Array(UnsafeBufferPointer(start: slots, count: count)) }
}
