import NIOConcurrencyHelpers
public import Prometheus
public import Raft

/// Why a client command was not applied as sent; the `reason` label of `exchange_dropped_commands_total`.
public enum CommandDropReason: String, Sendable, Hashable, CaseIterable {
    /// `submit` reached a replica that does not lead the shard.
    case notLeader = "not_leader"
    /// `submit` refused: the replica's queue was full (back-pressure).
    case overloaded
    /// `submit` refused: leadership is being transferred.
    case transferInProgress = "transfer_in_progress"
    /// Accepted by a leader that lost leadership before the command was committed (`HostOutput.dropped`).
    case leadershipLost = "leadership_lost"
}

/// The Prometheus instruments of one node, created once at start-up with labels bounded by the configuration.
///
/// Every instrument lives in `registry` (a `PrometheusCollectorRegistry` owned by this node, not the global
/// swift-metrics bootstrap, so that tests and several in-process nodes can each have their own); the status
/// server renders it with `registry.emit(into:)`. Shard, follower and peer labels are only those given to `init`:
/// updates for a shard or node that is not configured are ignored, so the number of series never grows at run
/// time.
///
/// All metric names start with `exchange_`. Counters derived from snapshots (elections, leader changes,
/// transport drops) are increased by the difference to the previous snapshot.
///
/// - Important: every method may be called from any thread (instruments are thread-safe and the snapshot
///   bookkeeping is behind a lock), but the node loop is meant to be the only caller: `update(from:)` compares
///   with the previous call, so interleaving two sources of statuses would count differences twice.
public final class NodeMetrics: Sendable {
    /// Default histogram buckets for latencies, in seconds: 50 µs to 2.5 s.
    public static let defaultLatencyBucketsSeconds: [Double] = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    ]

    private struct ShardInstruments: Sendable {
        var proposals: Counter
        var elections: Counter
        var leaderChanges: Counter
        var appliedCommands: Counter
        var droppedCommands: [CommandDropReason: Counter]
        var commitLatency: ValueHistogram
        var applyLatency: ValueHistogram
        var term: Gauge
        var commitIndex: Gauge
        var appliedIndex: Gauge
        var lastIndex: Gauge
        var isLeader: Gauge
        var outboxPendingEvents: Gauge
        var outboxPublishedThrough: Gauge
        var stopped: [String: Gauge]
        var followerLag: [NodeID: Gauge]
    }

    private struct PeerInstruments: Sendable {
        var droppedQueueFull: Counter
        var droppedTooLarge: Counter
        var connected: Gauge
        var queuedMessages: Gauge
        var queuedBytes: Gauge
    }

    /// What the previous snapshots said, to turn them into counter increments.
    private struct Previous: Sendable {
        var term: [UInt32: UInt64] = [:]
        var leader: [UInt32: NodeID] = [:]
        var peerQueueFull: [NodeID: Int] = [:]
        var peerTooLarge: [NodeID: Int] = [:]
        var unknownPeer = 0
        var notRunning = 0
        var inboundFull = 0
    }

    public let registry: PrometheusCollectorRegistry
    public let nodeID: NodeID
    private let shards: [UInt32: ShardInstruments]
    private let peers: [NodeID: PeerInstruments]
    private let fsyncLatency: ValueHistogram
    private let transportDroppedUnknownPeer: Counter
    private let transportDroppedNotRunning: Counter
    private let transportDroppedInboundFull: Counter
    private let previous = NIOLockedValueBox(Previous())

    /// Creates every instrument.
    ///
    /// - Parameters:
    ///   - nodeID: this node.
    ///   - shardReplicas: per hosted shard id, the node ids of all its replicas in the configuration (this node may
    ///     be included; it is left out of the `follower` labels).
    ///   - peers: the other nodes of the cluster (the transport's configured peers).
    ///   - registry: where the instruments are registered; a fresh one by default.
    ///   - latencyBucketsSeconds: upper bounds of the latency histograms' buckets. Default:
    ///     `defaultLatencyBucketsSeconds`.
    public init(
        nodeID: NodeID, shardReplicas: [UInt32: [NodeID]], peers: [NodeID],
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        latencyBucketsSeconds: [Double] = NodeMetrics.defaultLatencyBucketsSeconds
    ) {
        precondition(!latencyBucketsSeconds.isEmpty, "latency histograms need at least one bucket")
        self.registry = registry
        self.nodeID = nodeID

        func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "exchange", metricName: name, unitName: unit, helpText: help)
        }
        func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
            registry.makeCounter(descriptor: descriptor(name, "total", help), labels: labels)
        }
        func gauge(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
            registry.makeGauge(descriptor: descriptor(name, unit, help), labels: labels)
        }
        func histogram(_ name: String, _ help: String, _ labels: [(String, String)]) -> ValueHistogram {
            registry.makeValueHistogram(
                descriptor: descriptor(name, "seconds", help), labels: labels, buckets: latencyBucketsSeconds)
        }

        var shards: [UInt32: ShardInstruments] = [:]
        for (shardID, replicas) in shardReplicas {
            let shard = [("shard", String(shardID))]
            var dropped: [CommandDropReason: Counter] = [:]
            for reason in CommandDropReason.allCases {
                dropped[reason] = counter(
                    "dropped_commands", "Client commands not applied as sent, by reason.",
                    shard + [("reason", reason.rawValue)])
            }
            var stopped: [String: Gauge] = [:]
            for code in NodeStatus.Stopped.allCodes {
                stopped[code] = gauge(
                    "replica_stopped", "", "1 when this node's replica of the shard stopped for this reason.",
                    shard + [("reason", code)])
            }
            var lag: [NodeID: Gauge] = [:]
            for follower in Set(replicas) where follower != nodeID {
                lag[follower] = gauge(
                    "follower_lag", "entries",
                    "Leader only: entries a follower is behind the leader's last index (0 when not leader).",
                    shard + [("follower", String(follower))])
            }
            shards[shardID] = ShardInstruments(
                proposals: counter("proposals", "Client commands accepted for proposal by this leader.", shard),
                elections: counter("elections", "Elections seen by this replica (increases of its term).", shard),
                leaderChanges: counter(
                    "leader_changes", "Times this replica learned of a leader other than the previous one.", shard),
                appliedCommands: counter("applied_commands", "Client commands applied by this replica.", shard),
                droppedCommands: dropped,
                commitLatency: histogram(
                    "commit_latency", "Leader: time from a command's submit to its commit and apply.", shard),
                applyLatency: histogram("apply_latency", "Time to apply one round of committed entries.", shard),
                term: gauge("raft_term", "", "Current Raft term of this replica.", shard),
                commitIndex: gauge("commit_index", "", "Highest log index known to be committed.", shard),
                appliedIndex: gauge("applied_index", "", "Highest log index applied to the state machine.", shard),
                lastIndex: gauge("last_index", "", "Last index of this replica's log.", shard),
                isLeader: gauge("is_leader", "", "1 when this replica leads the shard.", shard),
                outboxPendingEvents: gauge(
                    "outbox_pending_events", "",
                    "Post-trade: committed events not yet recorded as delivered to Kafka (grows while Kafka is down).",
                    shard),
                outboxPublishedThrough: gauge(
                    "outbox_published_through", "", "Post-trade: log index through which every event is in Kafka.",
                    shard),
                stopped: stopped, followerLag: lag)
        }
        self.shards = shards

        var peerInstruments: [NodeID: PeerInstruments] = [:]
        for peer in Set(peers) where peer != nodeID {
            let label = [("peer", String(peer))]
            let droppedHelp = "Raft messages the transport dropped, by peer and reason."
            peerInstruments[peer] = PeerInstruments(
                droppedQueueFull: counter(
                    "transport_messages_dropped", droppedHelp, label + [("reason", "queue_full")]),
                droppedTooLarge: counter("transport_messages_dropped", droppedHelp, label + [("reason", "too_large")]),
                connected: gauge("peer_connected", "", "1 when the dialled connection to the peer is up.", label),
                queuedMessages: gauge(
                    "transport_queued", "messages", "Messages waiting in the peer's outbound queue.", label),
                queuedBytes: gauge("transport_queued", "bytes", "Bytes waiting in the peer's outbound queue.", label))
        }
        self.peers = peerInstruments

        let localHelp = "Raft messages the transport dropped for no particular peer, by reason."
        func localDropped(_ reason: String) -> Counter {
            counter("transport_local_messages_dropped", localHelp, [("reason", reason)])
        }
        transportDroppedUnknownPeer = localDropped("unknown_peer")
        transportDroppedNotRunning = localDropped("not_running")
        transportDroppedInboundFull = localDropped("inbound_full")
        fsyncLatency = registry.makeValueHistogram(
            descriptor: descriptor("fsync_latency", "seconds", "Duration of one sync round over all shards."),
            labels: [], buckets: latencyBucketsSeconds)
    }

    // MARK: Events the node loop reports

    /// One sync round (`WriteAheadLog.syncAll` in `ShardHost.drain`) took `seconds`.
    public func observeSync(seconds: Double) {
        fsyncLatency.record(seconds)
    }

    /// Leader: a client command of `shard` was committed and applied `seconds` after it was submitted.
    public func observeCommit(shard: UInt32, seconds: Double) {
        shards[shard]?.commitLatency.record(seconds)
    }

    /// Applying one round of `shard`'s committed entries (`ShardReplica.finish`) took `seconds`.
    public func observeApply(shard: UInt32, seconds: Double) {
        shards[shard]?.applyLatency.record(seconds)
    }

    /// Counts the outcome of one `ShardHost.submit`: `.queued` is a proposal, anything else a dropped command.
    public func recordSubmit(shard: UInt32, _ result: SubmitResult) {
        guard let instruments = shards[shard] else { return }
        switch result {
        case .queued: instruments.proposals.increment()
        case .notLeader: instruments.droppedCommands[.notLeader]?.increment()
        case .retryLater(.overloaded): instruments.droppedCommands[.overloaded]?.increment()
        case .retryLater(.transferInProgress): instruments.droppedCommands[.transferInProgress]?.increment()
        }
    }

    /// Counts `count` client commands of `shard` accepted for proposal (when not counted by `recordSubmit`).
    public func recordProposals(shard: UInt32, count: Int) {
        guard count > 0 else { return }
        shards[shard]?.proposals.increment(by: Int64(count))
    }

    /// Counts `count` commands of `shard` dropped for `reason`.
    public func recordDropped(shard: UInt32, reason: CommandDropReason, count: Int = 1) {
        guard count > 0 else { return }
        shards[shard]?.droppedCommands[reason]?.increment(by: Int64(count))
    }

    /// Counts what one `ShardHost.drain` round applied and dropped (as `leadership_lost`).
    public func record(_ output: HostOutput) {
        var applied: [UInt32: Int64] = [:]
        for (shard, _) in output.applied { applied[shard, default: 0] += 1 }
        for (shard, count) in applied { shards[shard]?.appliedCommands.increment(by: count) }
        var dropped: [UInt32: Int] = [:]
        for (shard, _) in output.dropped { dropped[shard, default: 0] += 1 }
        for (shard, count) in dropped { recordDropped(shard: shard, reason: .leadershipLost, count: count) }
    }

    // MARK: Snapshots

    /// Sets the shard and peer gauges from `status`, and counts elections (term increases since the previous
    /// status; the first status of a shard only sets the baseline) and leader changes (the known leader becoming a
    /// node other than the previously known one, the first leader included; "unknown" is not a change).
    public func update(from status: NodeStatus) {
        previous.withLockedValue { previous in
            for shard in status.shards {
                guard let instruments = shards[shard.shardID] else { continue }
                if let term = previous.term[shard.shardID], shard.term > term {
                    instruments.elections.increment(by: Int64(clamping: shard.term - term))
                }
                previous.term[shard.shardID] = shard.term
                if shard.leaderID != 0, previous.leader[shard.shardID] != shard.leaderID {
                    instruments.leaderChanges.increment()
                    previous.leader[shard.shardID] = shard.leaderID
                }
            }
        }
        for shard in status.shards {
            guard let instruments = shards[shard.shardID] else { continue }
            instruments.term.set(Double(shard.term))
            instruments.commitIndex.set(Double(shard.commitIndex))
            instruments.appliedIndex.set(Double(shard.appliedIndex))
            instruments.lastIndex.set(Double(shard.lastIndex))
            instruments.isLeader.set(shard.role == .leader ? 1.0 : 0.0)
            instruments.outboxPendingEvents.set(Double(shard.outboxPendingEvents ?? 0))
            instruments.outboxPublishedThrough.set(Double(shard.outboxPublishedThrough ?? 0))
            for (code, gauge) in instruments.stopped {
                gauge.set(shard.stopped?.code == code ? 1.0 : 0.0)
            }
            var lag: [NodeID: UInt64] = [:]
            for follower in shard.followers { lag[follower.nodeID] = follower.lagEntries }
            for (follower, gauge) in instruments.followerLag {
                gauge.set(Double(lag[follower] ?? 0))
            }
        }
        for peer in status.peers {
            guard let instruments = peers[peer.nodeID] else { continue }
            instruments.connected.set(peer.connected ? 1.0 : 0.0)
            instruments.queuedMessages.set(Double(peer.queuedMessages))
            instruments.queuedBytes.set(Double(peer.queuedBytes))
        }
    }

    /// Counts the transport's drops since the previous call and sets the per-peer gauges. A counter that went
    /// down (a new transport) counts its whole new value.
    public func update(from transport: NodeTransportCounters) {
        func delta(_ now: Int, _ before: Int?) -> Int64 {
            guard let before, now >= before else { return Int64(now) }
            return Int64(now - before)
        }
        previous.withLockedValue { previous in
            for (peer, counters) in transport.peers {
                guard let instruments = peers[peer] else { continue }
                let queueFull = delta(counters.droppedQueueFull, previous.peerQueueFull[peer])
                instruments.droppedQueueFull.increment(by: queueFull)
                instruments.droppedTooLarge.increment(by: delta(counters.droppedTooLarge, previous.peerTooLarge[peer]))
                previous.peerQueueFull[peer] = counters.droppedQueueFull
                previous.peerTooLarge[peer] = counters.droppedTooLarge
            }
            transportDroppedUnknownPeer.increment(by: delta(transport.droppedUnknownPeer, previous.unknownPeer))
            transportDroppedNotRunning.increment(by: delta(transport.droppedNotRunning, previous.notRunning))
            transportDroppedInboundFull.increment(by: delta(transport.droppedInboundFull, previous.inboundFull))
            previous.unknownPeer = transport.droppedUnknownPeer
            previous.notRunning = transport.droppedNotRunning
            previous.inboundFull = transport.droppedInboundFull
        }
        for (peer, counters) in transport.peers {
            guard let instruments = peers[peer] else { continue }
            instruments.connected.set(counters.connected ? 1.0 : 0.0)
            instruments.queuedMessages.set(Double(counters.queuedMessages))
            instruments.queuedBytes.set(Double(counters.queuedBytes))
        }
    }

    /// The Prometheus text exposition of every instrument in `registry`.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
