import ArgumentParser
import Raft

/// `exchange-bench raft`: entries committed per second through a 3-voter Raft group held in memory.
///
/// The three `RaftNode`s run on one thread; "persisting" a `Ready` costs nothing and messages are delivered at
/// once, so the figure is the cost of the consensus core alone (no disk, no network). Each round the leader
/// receives `batch` proposals, then Readys are handled and messages delivered until the group is quiet; the
/// rate is committed entries over wall time. `--runs` runs per batch size, the median is reported.
struct RaftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft",
        abstract: "Raft: entries committed per second through a 3-voter in-memory group (batches 1, 64, 1024)."
    )

    @Option(help: "Timed runs per batch size; the median is reported.")
    var runs = 3

    @Option(help: "Entries committed per run with batches of 64 and 1024 (batches of 1 use a tenth).")
    var entries = 2_000_000

    @Option(help: "Payload bytes per entry.")
    var payloadBytes = 16

    @Flag(help: "Print one JSON object on the last line.")
    var json = false

    static let batchSizes = [1, 64, 1024]

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard entries >= 10_240 else { throw ValidationError("--entries must be at least 10240") }
        guard (0...65_536).contains(payloadBytes) else {
            throw ValidationError("--payload-bytes must be in 0...65536")
        }
    }

    func run() throws {
        var medians: [Int: Double] = [:]
        for batch in Self.batchSizes {
            let target = batch == 1 ? entries / 10 : entries
            var rates: [Double] = []
            for index in 0..<runs {
                let rate = try Self.measure(batch: batch, entries: target, payloadBytes: payloadBytes)
                log("  batch \(batch) run \(index + 1)/\(runs): \(grouped(Int(rate.rounded()))) entries/s")
                rates.append(rate)
            }
            rates.sort()
            medians[batch] =
                rates.count % 2 == 1
                ? rates[rates.count / 2] : (rates[rates.count / 2 - 1] + rates[rates.count / 2]) / 2
        }
        print("raft: 3 voters in memory, \(payloadBytes)-byte entries, median of \(runs) runs")
        print("batch      entries/s")
        for batch in Self.batchSizes {
            let label = String(batch)
            print(
                label + String(repeating: " ", count: max(1, 6 - label.count))
                    + leftPadded(grouped(Int(medians[batch]!.rounded())), 15))
        }
        if json {
            var rates = JSONObject()
            for batch in Self.batchSizes { rates.add(String(batch), medians[batch]!, decimals: 0) }
            var object = JSONObject()
            object.add("workload", "raft")
            object.add("entries_per_s", rates)
            print(object.text)
        }
    }

    private func leftPadded(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    /// One run: a fresh group, a leader elected, then `entries` proposals in rounds of `batch`.
    static func measure(batch: Int, entries: Int, payloadBytes: Int) throws -> Double {
        var group = InMemoryGroup()
        group.nodes[0].campaign()
        group.pump()
        guard group.nodes[0].status.role == .leader else {
            log("error: node 1 did not become leader")
            throw ExitCode.failure
        }
        let payload = [UInt8](repeating: 0xA5, count: payloadBytes)
        let base = group.nodes[0].status.commitIndex
        var committed = 0
        let start = MonotonicClock.nanoseconds()
        while committed < entries {
            for _ in 0..<batch {
                guard case .accepted = group.nodes[0].propose(payload) else {
                    log("error: the leader refused a proposal")
                    throw ExitCode.failure
                }
            }
            group.pump()
            committed = Int(group.nodes[0].status.commitIndex - base)
        }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        for node in group.nodes where node.status.commitIndex != group.nodes[0].status.commitIndex {
            log("error: node \(node.status.id) did not commit everything")
            throw ExitCode.failure
        }
        return Double(committed) / seconds
    }
}

/// Three `RaftNode`s wired to each other in memory: persistence is free, delivery is immediate.
private struct InMemoryGroup {
    var nodes: [RaftNode]
    private var queue: [Message] = []
    private var delivering: [Message] = []

    init() {
        let ids: [NodeID] = [1, 2, 3]
        nodes = ids.map { id in
            var configuration = RaftConfiguration(
                id: id, membership: Membership(voters: ids), preVote: true, checkQuorum: true,
                requireTwoRegionQuorum: false)
            configuration.randomSeed = 1
            return RaftNode(configuration: configuration, restoring: .empty)
        }
    }

    /// Handles Readys and delivers messages until the group is quiet.
    mutating func pump() {
        var moved = true
        while moved {
            moved = false
            for index in nodes.indices where nodes[index].hasReady {
                let ready = nodes[index].ready()
                queue.append(contentsOf: ready.messages)
                nodes[index].advance(ready)
                moved = true
            }
            swap(&queue, &delivering)
            for message in delivering {
                nodes[Int(message.to) - 1].step(message)
                moved = true
            }
            delivering.removeAll(keepingCapacity: true)
        }
    }
}
