import Testing

@testable import Raft

@Suite("Replication")
struct ReplicationTests {
    @Test("proposals between two Readys travel in one append per follower (batching)")
    func batching() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        for byte in UInt8(0)..<100 { _ = cluster.propose(1, byte) }
        let ready = cluster.process(1)!
        #expect(ready.entries.count == 100)
        let appends = ready.messages.filter { $0.kind == .append }
        #expect(appends.count == 2)
        #expect(appends.allSatisfy { $0.entries.count == 100 })
        cluster.stabilize()
        for id in NodeID(1)...3 { #expect(cluster.appliedData(id) == (0..<100).map { [$0] }) }
    }

    @Test("pipelining stops at maxInflightMessages and maxMessageBytes bounds every append")
    func flowControl() {
        // Each entry of 10 data bytes counts 34 bytes: two fit under 70 bytes.
        var cluster = TestCluster(
            (1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3], maxInflight: 3, maxMessageBytes: 70) })
        cluster.elect(1)
        for _ in 0..<20 { _ = cluster[1].propose([UInt8](repeating: 1, count: 10)) }
        let ready = cluster.process(1)!
        let toTwo = ready.messages.filter { $0.to == 2 && $0.kind == .append }
        #expect(toTwo.count == 3)
        #expect(toTwo.allSatisfy { $0.entries.count == 2 })
        #expect(cluster[1].status.progress[2]?.inflightMessages == 3)
        #expect(cluster[1].status.progress[2]?.state == .replicate)
        // One acknowledgement frees one slot: exactly one more append goes out.
        cluster.queue = []
        cluster[2].step(toTwo[0])
        let ack = cluster.process(2)!.messages
        cluster[1].step(ack[0])
        let next = cluster.process(1)!.messages.filter { $0.to == 2 && $0.kind == .append }
        #expect(next.count == 1)
        #expect(next.first?.index == 7)  // after [2,3], [4,5], [6,7]
        cluster.queue = []
        cluster.stabilize()
        // Lost appends are recovered from heartbeats.
        cluster.tickAll(times: 3)
        #expect(cluster[2].status.lastIndex == 21)
        #expect(cluster[2].status.commitIndex == 21)
    }

    @Test("a leader refuses proposals beyond maxUncommittedBytes until they commit")
    func uncommittedBytesCap() {
        var cluster = TestCluster(
            (1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3], maxUncommittedBytes: 10) })
        cluster.elect(1)
        #expect(cluster[1].propose([UInt8](repeating: 0, count: 6)).acceptedIndex == 2)
        #expect(
            cluster[1].propose([UInt8](repeating: 0, count: 6)) == .refused(.tooManyUncommittedBytes(limitBytes: 10)))
        cluster.stabilize()
        #expect(cluster[1].propose([UInt8](repeating: 0, count: 6)).acceptedIndex == 3)
        #expect(cluster[2].propose([1]) == .refused(.notLeader(leaderHint: 1)))
    }

    @Test("the leader counts its own entry only after advance reports it persisted")
    func leaderCountsItselfAfterPersistence() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        let index = cluster.propose(1, 9).acceptedIndex!
        let ready = cluster[1].ready()  // not yet advanced: not durable on the leader
        #expect(ready.entries.map(\.index) == [index])
        for message in ready.messages where message.to == 2 { cluster[2].step(message) }
        let follower = cluster.process(2)!
        // The follower's acknowledgement is released together with the entries it must persist first.
        #expect(follower.entries.map(\.index) == [index])
        #expect(follower.messages.map(\.kind) == [.appendResponse])
        cluster.queue = []
        cluster[1].step(follower.messages[0])
        #expect(cluster[1].status.commitIndex == index - 1)  // only 1 of 3 durable copies counted
        cluster[1].advance(ready)
        #expect(cluster[1].status.commitIndex == index)
    }

    @Test("committed entries are handed out in Readys of at most maxCommittedBytesPerReady")
    func boundedApply() {
        var configuration = makeConfiguration(id: 1, voters: [1])
        configuration.maxCommittedBytesPerReady = 100  // 34 bytes per 10-byte entry: two per Ready
        var cluster = TestCluster([configuration])
        cluster.elect(1)
        for _ in 0..<6 { _ = cluster[1].propose([UInt8](repeating: 1, count: 10)) }
        cluster.process(1)  // persists the entries; the commit follows in advance
        var sizes: [Int] = []
        while let ready = cluster.process(1) { sizes.append(ready.committedEntries.count) }
        #expect(sizes == [2, 2, 2])
        #expect(cluster[1].status.appliedIndex == 7)
    }

    @Test("a single-node group commits only after advance")
    func singleNode() {
        var cluster = TestCluster([makeConfiguration(id: 1, voters: [1])])
        cluster.elect(1)
        #expect(cluster.leaders == [1])
        let index = cluster.propose(1, 5).acceptedIndex!
        #expect(cluster[1].status.commitIndex < index)
        cluster.stabilize()
        #expect(cluster[1].status.commitIndex == index)
        #expect(cluster.appliedData(1) == [[5]])
    }

    @Test("fast back-off: a follower with a long divergent tail is matched in few round trips")
    func fastBackOff() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        cluster.isolated = [1]
        for byte in UInt8(0)..<50 { _ = cluster.propose(1, byte) }  // never committed: 1 is cut off
        cluster.stabilize()
        cluster.isolated = [1]
        cluster.elect(2)  // term 2: index 2 onwards now differs from 1's tail
        #expect(cluster.leaders.contains(2))
        for byte in UInt8(100)..<200 { _ = cluster.propose(2, byte) }
        cluster.stabilize()
        cluster.elect(3)  // term 3: probes 1 from its last index, far beyond 1's divergent tail
        #expect(cluster.leaders.contains(3))
        cluster.stabilize()
        cluster.sent = []
        cluster.isolated = []
        cluster.tickAll(times: 2)
        let rejections = cluster.sent.filter { $0.from == 1 && $0.kind == .appendResponse && $0.reject }
        #expect(rejections.count >= 1)
        #expect(rejections.count <= 2)
        #expect(cluster.appliedData(1) == (100..<200).map { [$0] })
        #expect(cluster[1].status.lastIndex == cluster[3].status.lastIndex)
    }

    @Test("figure 8: an old-term entry on a majority is not committed by counting and may be overwritten")
    func figureEight() {
        var cluster = TestCluster(
            (1...5).map { makeConfiguration(id: $0, voters: [1, 2, 3, 4, 5], maxMessageBytes: 1) })
        cluster.elect(1)  // term 1, no-op at index 1 committed everywhere
        cluster.isolated = [3, 4, 5]
        _ = cluster.propose(1, 0xA)  // index 2, term 1, only on 1 and 2
        cluster.stabilize()
        cluster.isolated = [1, 2]
        cluster.filter = { !($0.from == 5 && $0.kind == .append) }
        cluster.elect(5)  // term 2 with votes of 3 and 4; its entries stay local
        #expect(cluster[5].status.role == .leader)
        _ = cluster.propose(5, 0xB)
        cluster.stabilize()
        cluster.isolated = []
        cluster.tick(5)  // 5's heartbeats (not its appends) make 1 and 2 followers of term 2
        cluster.stabilize()
        #expect(cluster[1].status.role == .follower)
        cluster.isolated = [5]
        cluster.rewrite = { message in  // entries of term 3 never arrive
            var stripped = message
            stripped.entries.removeAll { $0.term == 3 }
            return stripped
        }
        for _ in 0..<3 where cluster[1].status.role != .leader { cluster.elect(1) }  // term 2 fails, term 3 wins
        #expect(cluster[1].status.role == .leader)
        #expect(cluster[1].status.term == 3)
        cluster.tickAll(times: 3)
        // Index 2 (term 1) is now on 1, 2, 3 and 4, a majority, but it must not commit by counting.
        #expect(cluster[3].status.lastIndex >= 2)
        #expect(cluster[1].status.commitIndex == 1)
        // 5 can still win (its last term 2 beats term 1) and overwrite index 2: safe, as it never committed.
        cluster.isolated = []
        cluster.filter = { !($0.to == 5 && $0.kind == .append) }
        cluster.tick(1)  // 1's heartbeat tells the stale leader 5 about term 3
        cluster.stabilize()
        #expect(cluster[5].status.role == .follower)
        #expect(cluster[5].status.lastIndex == 3)
        cluster.filter = nil
        cluster.isolated = [1]
        cluster.rewrite = nil
        for _ in 0..<3 where cluster[5].status.role != .leader { cluster.elect(5) }
        #expect(cluster[5].status.role == .leader)
        cluster.isolated = []
        cluster.tickAll(times: 3)
        for id in NodeID(1)...5 {
            #expect(cluster.appliedData(id) == [[0xB]], "node \(id)")
        }
    }

    @Test("a follower never commits beyond the prefix the leader verified")
    func commitCappedToVerifiedPrefix() {
        let stale = (1...3).map { Entry(term: 1, index: UInt64($0)) }
        var node = RaftNode(
            configuration: makeConfiguration(id: 2, voters: [1, 2, 3]),
            restoring: RaftPersistentState(hardState: HardState(term: 1, vote: 0, commit: 0), entries: stale))
        node.step(Message(kind: .append, from: 1, to: 2, term: 2, logTerm: 1, index: 1, commit: 3))
        #expect(node.status.commitIndex == 1)
        #expect(node.ready().messages == [Message(kind: .appendResponse, from: 2, to: 1, term: 2, index: 1)])
    }

    @Test("truncating a committed entry traps")
    func committedEntryTruncationTraps() async {
        await #expect(processExitsWith: .failure) {
            // `step` already answers appends below the commit index without touching the log; the log itself
            // refuses to truncate a committed entry.
            var log = RaftLog(
                snapshotIndex: 0, snapshotTerm: 0, entries: (1...3).map { Entry(term: 1, index: UInt64($0)) },
                committed: 3, applied: 0)
            _ = log.merge([Entry(term: 2, index: 2)])
        }
    }

    @Test("a restarted follower restores its log and catches up")
    func restart() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        for byte in UInt8(0)..<5 { _ = cluster.propose(1, byte) }
        cluster.stabilize()
        let state = RaftPersistentState(
            hardState: cluster.hardStates[3]!, entries: cluster.storage[3]!, appliedIndex: 0)
        cluster[3] = RaftNode(configuration: makeConfiguration(id: 3, voters: [1, 2, 3]), restoring: state)
        cluster.applied[3] = []
        #expect(cluster[3].status.lastIndex == 6)
        #expect(cluster[3].status.term == 1)
        _ = cluster.propose(1, 5)
        cluster.stabilize()
        #expect(cluster.appliedData(3) == (0..<6).map { [$0] })
    }
}
