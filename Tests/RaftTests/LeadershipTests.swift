import Raft
import Testing

@Suite("Leader transfer")
struct TransferTests {
    @Test("the target catches up, receives timeoutNow, and campaigns without pre-vote")
    func transfer() {
        var cluster = TestCluster(
            (1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3], preVote: true, checkQuorum: true) })
        cluster.elect(1)
        cluster.isolated = [3]
        for byte in UInt8(0)..<5 { _ = cluster.propose(1, byte) }
        cluster.stabilize()
        cluster.isolated = []
        cluster.sent = []
        #expect(cluster[1].transferLeadership(to: 3) == nil)
        #expect(cluster[1].propose([9]) == .refused(.transferInProgress(target: 3)))
        cluster.stabilize()
        cluster.tickAll(times: 2)
        #expect(cluster.leaders == [3])
        #expect(cluster[3].status.term == 2)
        #expect(cluster.appliedData(3) == (0..<5).map { [$0] })
        // timeoutNow only after 3 acknowledged the leader's whole log; no pre-vote round; votes bypass the lease.
        let timeoutNow = cluster.sent.firstIndex { $0.kind == .timeoutNow }!
        let caughtUp = cluster.sent.firstIndex { $0.kind == .appendResponse && $0.from == 3 && $0.index == 6 }!
        #expect(caughtUp < timeoutNow)
        #expect(!cluster.sent.contains { $0.kind == .preVote })
        #expect(cluster.sent.filter { $0.kind == .vote }.allSatisfy { $0.context == RaftNode.transferCampaignContext })
    }

    @Test("a transfer to an unreachable target is aborted after an election timeout")
    func transferAborted() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        cluster.isolated = [3]
        _ = cluster.propose(1, 1)
        cluster.stabilize()
        #expect(cluster[1].transferLeadership(to: 3) == nil)
        #expect(cluster[1].status.leadTransferee == 3)
        #expect(cluster[1].propose([2]) == .refused(.transferInProgress(target: 3)))
        cluster.tickAll(times: 10)
        #expect(cluster[1].status.leadTransferee == 0)
        #expect(cluster[1].propose([2]).acceptedIndex != nil)
        #expect(cluster[1].transferLeadership(to: 7) == .notAVoter(7))
        #expect(cluster[1].transferLeadership(to: 1) == .alreadyLeader)
    }
}

@Suite("ReadIndex")
struct ReadIndexTests {
    @Test("a read is confirmed only after a heartbeat quorum, at the commit index")
    func readConfirmedByQuorum() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        _ = cluster.propose(1, 1)
        cluster.stabilize()
        #expect(cluster[1].readIndex(requestID: 42) == nil)
        let ready = cluster.process(1)!
        #expect(ready.readStates.isEmpty)
        #expect(ready.messages.filter { $0.kind == .heartbeat }.map(\.context) == [42, 42])
        cluster.stabilize()
        #expect(cluster.readStates[1] == [ReadState(requestID: 42, index: 2)])
        #expect(cluster[2].readIndex(requestID: 43) == .notLeader(leaderHint: 1))
    }

    @Test("an isolated leader never confirms a read")
    func isolatedLeaderCannotRead() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        cluster.isolated = [1]
        #expect(cluster[1].readIndex(requestID: 7) == nil)
        cluster.tickAll(times: 5)
        #expect(cluster.readStates[1, default: []].isEmpty)
        cluster.isolated = []
        cluster.tickAll(times: 1)  // periodic heartbeats carry the pending read
        #expect(cluster.readStates[1] == [ReadState(requestID: 7, index: 1)])
    }

    @Test("a read asked before the new leader commits its no-op waits for it")
    func readWaitsForCommitInTerm() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster[1].campaign()
        cluster.process(1)
        let votes = cluster.queue
        cluster.queue = []
        for vote in votes { cluster[vote.to].step(vote) }
        cluster.process(2)
        cluster.process(3)
        let responses = cluster.queue
        cluster.queue = []
        for response in responses { cluster[1].step(response) }
        #expect(cluster[1].status.role == .leader)
        #expect(cluster[1].readIndex(requestID: 5) == nil)
        let ready = cluster.process(1)!
        #expect(ready.messages.allSatisfy { $0.kind == .append })
        cluster.stabilize()
        #expect(cluster.readStates[1] == [ReadState(requestID: 5, index: 1)])
    }
}

@Suite("Election priority")
struct PriorityTests {
    @Test("the hot standby (higher priority) wins when the primary dies, whatever the seed")
    func standbyWins() {
        for seed in UInt64(1)...10 {
            let priorities: [NodeID: Int] = [1: 20, 2: 10]
            var cluster = TestCluster(
                (1...3).map {
                    makeConfiguration(
                        id: $0, voters: [1, 2, 3], preVote: true, checkQuorum: true, seed: seed &* 31 &+ $0,
                        priorities: priorities)
                })
            cluster.elect(1)
            cluster.isolated = [1]
            for _ in 0..<60 where cluster[2].status.role != .leader && cluster[3].status.role != .leader {
                cluster.tickAll()
            }
            #expect(cluster[2].status.role == .leader, "seed \(seed)")
            #expect(cluster[3].status.role == .follower, "seed \(seed)")
            // The primary comes back, catches up and takes leadership back by transfer.
            cluster.isolated = []
            cluster.tickAll(times: 2)
            #expect(cluster[2].transferLeadership(to: 1) == nil)
            cluster.tickAll(times: 3)
            #expect(cluster.leaders == [1], "seed \(seed)")
        }
    }

    @Test("a lower priority waits an extra election timeout per higher priority level")
    func lowerPriorityWaits() {
        let priorities: [NodeID: Int] = [1: 2, 2: 1]
        for (id, minimum, maximum) in [(NodeID(1), 10, 20), (2, 20, 30), (3, 30, 40)] {
            var node = RaftNode(
                configuration: makeConfiguration(id: id, voters: [1, 2, 3], priorities: priorities), restoring: .empty)
            var ticks = 0
            while node.status.role == .follower && ticks < 100 {
                node.tick()
                ticks += 1
            }
            #expect((minimum..<maximum).contains(ticks), "node \(id) campaigned after \(ticks) ticks")
        }
    }
}

@Suite("Geo quorum")
struct GeoQuorumTests {
    static let locations: [NodeID: NodeLocation] = [
        1: NodeLocation(region: "eu", zone: "a"), 2: NodeLocation(region: "eu", zone: "b"),
        3: NodeLocation(region: "us", zone: "a"),
    ]

    @Test("an entry commits only when the acknowledging quorum spans two regions")
    func twoRegions() {
        var cluster = TestCluster(
            (1...3).map {
                makeConfiguration(id: $0, voters: [1, 2, 3], geo: true, locations: Self.locations)
            })
        cluster.isolated = [3]
        cluster.elect(1)  // 1 and 2: a quorum, but one region: the no-op does not commit
        #expect(cluster[1].status.role == .leader)
        let index = cluster.propose(1, 1).acceptedIndex!
        cluster.stabilize()
        #expect(cluster[1].status.commitIndex == 0)
        #expect(cluster[2].status.lastIndex == index)
        cluster.isolated = []
        cluster.tickAll(times: 2)
        #expect(cluster[1].status.commitIndex == index)
        #expect(cluster.appliedData(2) == [[1]])
    }

    @Test("without geo mode the same quorum commits within one region")
    func oneRegion() {
        var cluster = TestCluster(
            (1...3).map {
                makeConfiguration(id: $0, voters: [1, 2, 3], geo: false, locations: Self.locations)
            })
        cluster.isolated = [3]
        cluster.elect(1)
        let index = cluster.propose(1, 1).acceptedIndex!
        cluster.stabilize()
        #expect(cluster[1].status.commitIndex == index)
    }
}
