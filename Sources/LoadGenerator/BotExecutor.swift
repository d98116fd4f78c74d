import Dispatch

/// A serial task executor per bot: every task of one bot runs its jobs in FIFO order on one dispatch queue.
///
/// Why: the exchange refuses a client order id at or below the highest it saw from the participant
/// (`staleClientOrderID`), and a bot with several commands in flight draws ids in order but the client writes each
/// request after a few asynchronous hops. On the global concurrent pool two commands of one bot race through those
/// hops and a few percent arrive out of order; on one serial executor the hops are resumed in the order they were
/// taken, so the requests are written in id order (a retry after a failover can still be stale, as documented).
///
/// `@unchecked Sendable`: the only state is the dispatch queue, which is thread-safe.
final class BotExecutor: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { [self] in
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
