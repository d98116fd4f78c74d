public import ExchangeCore
public import Matching
public import Raft
import Glibc
import Storage

/// What one `ShardHost.drain` round produced.
public struct HostOutput: Sendable {
    /// Raft messages to send, each with its shard (Raft group); all that they depend on is durable.
    public var messages: [(shard: UInt32, message: Message)] = []
    public var applied: [(shard: UInt32, command: AppliedCommand)] = []
    public var dropped: [(shard: UInt32, command: DroppedCommand)] = []
    /// Replicas that stopped in this round (state-hash mismatch, bad entry or snapshot).
    public var stopped: [(shard: UInt32, error: ShardReplicaError)] = []
    /// Duration of each sync round of this drain, in seconds (for the fsync-latency metric).
    public var syncSeconds: [Double] = []
    /// Per shard, how long applying each `Ready` took (`ShardReplica.finish`), in seconds.
    public var applySeconds: [(shard: UInt32, seconds: Double)] = []
}

/// The replicas of many shards hosted by one node (multi-raft), driven by the node's loop thread.
///
/// One `drain` round writes the `Ready` of every shard, makes all of them durable in one sync round
/// (`WriteAheadLog.syncAll`: the groups' fsyncs run concurrently), then applies and advances every
/// shard. A storage failure is fatal for the node (`HostFailure`): after a failed fsync nothing
/// may be assumed durable, so the process must crash-stop and recover.
///
/// - Important: not thread-safe; one thread calls everything.
public final class ShardHost {
    public let nodeID: NodeID
    public private(set) var replicas: [UInt32: ShardReplica]
    /// Raft messages for a shard this node does not host, dropped.
    public private(set) var unknownShardMessages = 0
    /// `drain` rounds and the syncs they issued, for metrics.
    public private(set) var rounds = 0
    public private(set) var syncRounds = 0

    public init(nodeID: NodeID, replicas: [ShardReplica]) {
        self.nodeID = nodeID
        self.replicas = Dictionary(uniqueKeysWithValues: replicas.map { ($0.shardID, $0) })
    }

    public func tick() {
        for replica in replicas.values { replica.tick() }
    }

    public func step(shard: UInt32, _ message: Message) {
        guard let replica = replicas[shard] else {
            unknownShardMessages += 1
            return
        }
        replica.step(message)
    }

    /// Routes a client command to its shard's replica here. `nil` when this node hosts no replica
    /// of `shard`.
    public func submit(shard: UInt32, _ command: Command, origin: CommandOrigin) -> SubmitResult? {
        replicas[shard]?.submit(command, origin: origin)
    }

    /// Proposes queued commands stamped `now`, then persists, syncs once, applies and advances
    /// every shard until none has anything ready.
    public func drain(now: Timestamp) throws(HostFailure) -> HostOutput {
        rounds += 1
        var output = HostOutput()
        let ordered = replicas.keys.sorted().map { ($0, replicas[$0]!) }
        for (shard, replica) in ordered {
            output.dropped += replica.proposeQueued(now: now).map { (shard, $0) }
        }
        var passes = 0
        while ordered.contains(where: { $0.1.hasReady }) {
            passes += 1
            precondition(passes < 10_000, "shards keep producing Ready without input")
            var prepared: [(UInt32, ShardReplica, Ready)] = []
            for (shard, replica) in ordered where replica.hasReady {
                do {
                    if let ready = try replica.prepare() { prepared.append((shard, replica, ready)) }
                } catch {
                    throw HostFailure(shard: shard, error: error)
                }
            }
            let syncStart = Self.monotonicNanoseconds()
            do {
                try WriteAheadLog.syncAll(prepared.map { $0.1.storage.log })
            } catch {
                throw HostFailure(
                    shard: nil, error: ShardReplicaError(.storage, "sync round failed", walError: error))
            }
            syncRounds += 1
            var applyStart = Self.monotonicNanoseconds()
            output.syncSeconds.append(Double(applyStart - syncStart) / 1e9)
            for (shard, replica, ready) in prepared {
                let result = replica.finish(ready)
                let applyEnd = Self.monotonicNanoseconds()
                output.applySeconds.append((shard, Double(applyEnd - applyStart) / 1e9))
                applyStart = applyEnd
                output.messages += result.messages.map { (shard, $0) }
                output.applied += result.applied.map { (shard, $0) }
                output.dropped += result.dropped.map { (shard, $0) }
                if let stopped = result.stopped { output.stopped.append((shard, stopped)) }
            }
        }
        return output
    }
}

extension ShardHost {
    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// The node cannot go on: its storage failed. Exit, let the supervisor restart the process, and
/// recover from what is on disk.
public struct HostFailure: Error, Sendable, CustomStringConvertible {
    /// The shard whose storage failed, when known.
    public var shard: UInt32?
    public var error: ShardReplicaError

    public var description: String { "HostFailure(shard: \(shard.map(String.init) ?? "-")): \(error)" }
}
