import ClusterConfig
import DevCluster
import ExchangeClient
import ExchangeOps
@preconcurrency import Glibc
import LoadGenerator
import Logging
import Raft
import Synchronization

/// A three-voter cluster of real `exchanged node` processes for W2 and W3: one shard, separate data
/// directories on the scratch disk, fsync on, loopback.
struct BenchCluster {
    let scratch: ScratchDirectory
    let cluster: LocalCluster
    let definition: ClusterDefinition

    /// Writes a definition with free ports under `scratch`, starts the three nodes and waits for a leader.
    static func start(scratch: ScratchDirectory, symbols: Int) async throws -> BenchCluster {
        let path = try LocalCluster.writeTestDefinition(
            root: scratch.path + "/cluster", nodes: 3, shards: 1, symbolsPerShard: symbols, cluster: "bench")
        let binary = try LocalCluster.findBinary(named: "exchanged")
        var logger = Logger(label: "exchange.bench")
        logger.logLevel = .warning
        let cluster = try LocalCluster(
            definitionPath: path, root: scratch.path + "/cluster", binary: binary, logger: logger)
        try await cluster.startAll()
        try await cluster.waitUntilEveryShardHasLeader(timeout: .seconds(60))
        return BenchCluster(scratch: scratch, cluster: cluster, definition: cluster.definition)
    }

    func stop() async { await cluster.stopAll(timeout: .seconds(10)) }

    /// The node leading shard 1 now: of the nodes whose own `/status` says leader, the one in the
    /// highest term (a status is up to 100 ms old, so a deposed leader may still claim it).
    func leader() async -> NodeID? {
        let statuses = await cluster.fetchStatuses()
        var best: (node: NodeID, term: UInt64)?
        for (node, status) in statuses {
            guard let shard = status.shards.first(where: { $0.shardID == 1 && $0.role == .leader }) else { continue }
            if best == nil || shard.term > best!.term { best = (node, shard.term) }
        }
        return best?.node
    }

    /// Waits until the primary (node 1) leads shard 1 again and every replica has caught up (within 100
    /// entries: under load the leader's log is always a little ahead).
    func settle(timeout: Duration = .seconds(30)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            let statuses = await cluster.fetchStatuses()
            if statuses.count == 3,
                let leading = statuses[1]?.shards.first(where: { $0.shardID == 1 }), leading.role == .leader,
                leading.followers.count == 2,
                leading.followers.allSatisfy({ $0.lagEntries <= 100 && $0.replication == "replicate" && $0.recentActive })
            {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ExitCodeError(message: "the cluster did not settle (primary leading, followers caught up) in \(timeout)")
    }

    func loadOptions(_ mode: LoadMode, seconds: Double, ackLog: String?, onAck: LoadOptions.AckHandler? = nil)
        -> LoadOptions
    {
        LoadOptions(
            mode: mode, duration: .milliseconds(Int64(seconds * 1_000)), participants: 8,
            seed: UInt64(getpid()), ackLogPath: ackLog,
            // Retries back off from 1 ms to at most 50 ms (the library's default ceiling is 500 ms): a
            // trading client that wants the shortest gap after a failover retries this eagerly.
            client: ExchangeClientConfiguration(
                requestTimeout: .seconds(5), retryBudget: 200, backoffInitial: .milliseconds(1),
                backoffMax: .milliseconds(50)),
            onAck: onAck)
    }
}

/// Times of acknowledgements on the monotonic clock, collected from `LoadOptions.onAck`.
final class AckTimes: Sendable {
    private let times = Mutex<[UInt64]>([])

    private let newest = Mutex<UInt64>(0)

    func add(_ time: UInt64) {
        times.withLock { $0.append(time) }
        newest.withLock { $0 = max($0, time) }
    }

    /// The time of the latest acknowledgement (0 before the first).
    func latest() -> UInt64 { newest.withLock { $0 } }

    /// The longest interval without an acknowledgement that ends after `fault` and starts before
    /// `fault + window`: the client-visible gap the fault caused (nil if no ack followed it).
    func gap(after fault: UInt64, window: UInt64) -> UInt64? {
        let sorted = times.withLock { $0.sorted() }
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] <= fault { low = middle + 1 } else { high = middle }
        }
        // `low` is the first ack after the fault.
        guard low < sorted.count else { return nil }
        var longest = low > 0 ? sorted[low] - sorted[low - 1] : 0
        var index = low
        while index + 1 < sorted.count, sorted[index] < fault + window {
            longest = max(longest, sorted[index + 1] - sorted[index])
            index += 1
        }
        return longest
    }
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}
