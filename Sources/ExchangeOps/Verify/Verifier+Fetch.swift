public import ClusterConfig
public import ExchangeClient
import Raft

extension Verifier {
    /// Poll interval while waiting for quiescence. Default: 200 ms.
    public static let quiescencePollInterval = Duration.milliseconds(200)
    /// Timeout of each state and audit-page request once the cluster is quiescent. Default: 10 s.
    public static let fetchTimeout = Duration.seconds(10)

    /// Why `report` is not quiescent, per shard; empty when every replica of every shard answered, all have the
    /// same applied index and it equals the leader's commit index. Pure.
    public static func quiescenceProblems(_ report: ClusterStatusReport) -> [(shardID: UInt32, problem: String)] {
        var problems: [(UInt32, String)] = []
        for leadership in report.shards {
            let rows = report.rows.filter { $0.shardID == leadership.shardID }
            if let row = rows.first(where: { $0.shard == nil }) {
                problems.append((leadership.shardID, "node \(row.nodeID) is \(row.stateText)"))
                continue
            }
            guard let leaderID = leadership.leaderID,
                let leader = rows.first(where: { $0.nodeID == leaderID })?.shard
            else {
                problems.append((leadership.shardID, "no single leader"))
                continue
            }
            let applied = Set(rows.compactMap { $0.shard?.appliedIndex })
            if applied != [leader.commitIndex] {
                let detail = rows.map { "node \($0.nodeID) applied \($0.shard!.appliedIndex)" }.joined(separator: ", ")
                problems.append((leadership.shardID, "leader commit \(leader.commitIndex), \(detail)"))
            }
        }
        return problems
    }

    /// Waits (up to `timeout`, polling `/status`) until every shard is quiescent, then fetches every replica's
    /// state and whole audit and runs `check(acks:replicas:)`. Never throws: unreachable replicas and a cluster
    /// that never became quiescent are violations of the report.
    ///
    /// - Important: stop the load first; commands applied while fetching make the replicas' audits differ in
    ///   length (harmless) and their applied indices differ (state hashes are then not compared).
    public static func fetchAndCheck(definition: ClusterDefinition, acks: [AckRecord], timeout: Duration) async
        -> VerifyReport
    {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var problems: [(shardID: UInt32, problem: String)] = []
        while true {
            let remaining = clock.now.duration(to: deadline)
            let status = await fetchClusterStatus(
                definition, timeout: max(.milliseconds(100), min(remaining, .seconds(2))))
            problems = quiescenceProblems(status)
            if problems.isEmpty || clock.now >= deadline { break }
            try? await Task.sleep(for: quiescencePollInterval)
        }
        var report = VerifyReport()
        for (shardID, problem) in problems {
            report.add(
                .init(kind: .notQuiescent, shardID: shardID, message: "not quiescent within \(timeout): \(problem)"))
        }
        var acksByShard: [UInt32: [AckRecord]] = [:]
        for ack in acks { acksByShard[ack.shard, default: []].append(ack) }
        // One shard at a time, so that only one shard's audits are in memory at once.
        for shard in definition.shards {
            let (replicas, failures) = await fetchReplicas(of: shard, definition: definition)
            for failure in failures { report.add(failure) }
            report.merge(check(acks: acksByShard.removeValue(forKey: shard.id) ?? [], replicas: replicas))
        }
        // Acks of shards the definition does not have: `check` reports them as `noReplica`.
        let unknown = acksByShard.keys.sorted().flatMap { acksByShard[$0]! }
        if !unknown.isEmpty { report.merge(check(acks: unknown, replicas: [])) }
        return report
    }

    /// Fetches state and whole audit of every replica of `shard` concurrently; the ones that fail are returned as
    /// `unreachable` violations.
    private static func fetchReplicas(of shard: ShardDefinition, definition: ClusterDefinition) async
        -> (replicas: [ReplicaAudit], failures: [VerifyReport.Violation])
    {
        let nodes = shard.replicas.compactMap { definition.node(id: $0.node) }
        let shardID = shard.id
        // Plain values out of the child tasks (see `fetchClusterStatus`: typed throws inside a task group's
        // closures trapped in a release build).
        let answers = await withTaskGroup(of: ReplicaAnswer.self) { group in
            for (position, node) in nodes.enumerated() {
                let host = dialHost(node.metricsAddress)
                let port = Int(node.metricsAddress.port)
                let nodeID = node.id
                group.addTask {
                    await ReplicaAnswer.fetch(position: position, host: host, port: port, shard: shardID, node: nodeID)
                }
            }
            var answers: [Int: Result<ReplicaAudit, OpsError>] = [:]
            for await answer in group { answers[answer.position] = answer.result }
            return answers
        }
        let fetched = nodes.indices.map { answers[$0] }
        var replicas: [ReplicaAudit] = []
        var failures: [VerifyReport.Violation] = []
        for (node, result) in zip(nodes, fetched) {
            switch result! {
            case .success(let replica): replicas.append(replica)
            case .failure(let error):
                failures.append(
                    .init(kind: .unreachable, shardID: shardID, nodeID: node.id, message: error.description))
            }
        }
        return (replicas, failures)
    }
}

/// One replica's state and audit trail, or why they could not be fetched.
struct ReplicaAnswer: Sendable {
    var position: Int
    var result: Result<ReplicaAudit, OpsError>

    static func fetch(position: Int, host: String, port: Int, shard: UInt32, node: NodeID) async -> ReplicaAnswer {
        do {
            let state = try await ShardEndpoints.fetchState(
                host: host, port: port, shard: shard, timeout: Verifier.fetchTimeout)
            let audit = try await ShardEndpoints.fetchAudit(
                host: host, port: port, shard: shard, timeout: Verifier.fetchTimeout)
            let replica = ReplicaAudit(shardID: shard, nodeID: node, state: state, records: audit.records)
            return ReplicaAnswer(position: position, result: .success(replica))
        } catch {
            return ReplicaAnswer(position: position, result: .failure(error))
        }
    }
}
