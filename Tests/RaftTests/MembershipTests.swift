import Raft
import Testing

@Suite("Membership change")
struct MembershipTests {
    @Test("add a learner, promote it by joint consensus (entered, then left automatically)")
    func learnerThenVoter() {
        var configurations = (1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) }
        // A joining replica starts with the membership it joins.
        configurations.append(makeConfiguration(id: 4, voters: [1, 2, 3], learners: [4]))
        var cluster = TestCluster(configurations)
        cluster.elect(1)
        _ = cluster.propose(1, 1)
        cluster.stabilize()
        #expect(cluster[1].proposeMembershipChange(voters: [1, 2, 3], learners: [4]).acceptedIndex != nil)
        cluster.stabilize()
        cluster.tickAll(times: 2)
        #expect(cluster[1].status.membership == Membership(voters: [1, 2, 3], learners: [4]))
        #expect(cluster[4].status.role == .learner)
        #expect(cluster.appliedData(4) == [[1]])
        #expect(cluster[1].status.progress[4]?.isLearner == true)

        let joint = cluster[1].proposeMembershipChange(voters: [1, 2, 3, 4], learners: [])
        #expect(joint.acceptedIndex != nil)
        #expect(cluster[1].status.membership == Membership(voters: [1, 2, 3, 4], outgoingVoters: [1, 2, 3]))
        #expect(
            cluster[1].proposeMembershipChange(voters: [1, 2], learners: []) == .refused(.membershipChangeInProgress))
        cluster.stabilize()
        cluster.tickAll(times: 2)
        for id in NodeID(1)...4 {
            #expect(cluster[id].status.membership == Membership(voters: [1, 2, 3, 4]), "node \(id)")
        }
        #expect(cluster[4].status.role == .follower)
        let changes = cluster.applied[4]!.filter { $0.kind == .configuration }.compactMap {
            Membership(encoded: $0.data)
        }
        #expect(
            changes == [
                Membership(voters: [1, 2, 3], learners: [4]),
                Membership(voters: [1, 2, 3, 4], outgoingVoters: [1, 2, 3]),
                Membership(voters: [1, 2, 3, 4]),
            ])
        // The new voter counts: with 1 and 2 gone, 3 and 4 alone are not a quorum of 4.
        cluster.isolated = [1, 2]
        _ = cluster.propose(1, 2)
        cluster.stabilize()
        #expect(cluster[1].status.commitIndex < cluster[1].status.lastIndex)
    }

    @Test("in joint consensus an entry needs a majority of both the old and the new voters")
    func jointNeedsBothMajorities() {
        var configurations = (1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) }
        configurations += (4...5).map { makeConfiguration(id: $0, voters: [1, 2, 3], learners: [4, 5]) }
        var cluster = TestCluster(configurations)
        cluster.elect(1)
        _ = cluster[1].proposeMembershipChange(voters: [1, 2, 3], learners: [4, 5])
        cluster.stabilize()
        // Move to {1, 4, 5}; 4 and 5 cannot hear anything: the joint entry lacks a new-config majority.
        cluster.isolated = [4, 5]
        let joint = cluster[1].proposeMembershipChange(voters: [1, 4, 5], learners: []).acceptedIndex!
        cluster.stabilize()
        #expect(cluster[1].status.commitIndex < joint)
        #expect(cluster[1].status.membership.isJoint)
        cluster.isolated = []
        cluster.tickAll(times: 3)
        #expect(cluster[4].status.membership == Membership(voters: [1, 4, 5]))
        #expect(cluster[1].status.membership == Membership(voters: [1, 4, 5]))
        #expect(cluster.leaders == [1])
        // 2 and 3 are no longer members: their campaigns (with the log they had) are dropped as unknown senders.
        cluster[1].step(Message(kind: .vote, from: 2, to: 1, term: 99, logTerm: 1, index: 1))
        #expect(cluster[1].status.droppedMessages[.unknownSender] == 1)
        #expect(cluster[1].status.term < 99)
    }

    @Test("a removed leader steps down once its removal commits; the rest elect a new leader")
    func removeLeader() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        #expect(cluster[1].proposeMembershipChange(voters: [2, 3], learners: []).acceptedIndex != nil)
        cluster.stabilize()
        cluster.tickAll(times: 1)
        #expect(cluster[1].status.role == .follower)
        #expect(cluster[1].status.membership == Membership(voters: [2, 3]))
        cluster.isolated = [1]
        for _ in 0..<60 where cluster.leaders.isEmpty { cluster.tickAll() }
        #expect(cluster.leaders.count == 1)
        #expect(!cluster.leaders.contains(1))
        let leader = cluster.leaders[0]
        let index = cluster.propose(leader, 7).acceptedIndex!
        cluster.stabilize()
        #expect(cluster[leader].status.commitIndex == index)
    }

    @Test("invalid memberships are refused")
    func invalid() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        cluster.stabilize()
        #expect(cluster[1].proposeMembershipChange(voters: [], learners: []) == .refused(.invalidMembership))
        #expect(cluster[1].proposeMembershipChange(voters: [1, 2], learners: [2]) == .refused(.invalidMembership))
        #expect(
            cluster[2].proposeMembershipChange(voters: [1, 2], learners: []) == .refused(.notLeader(leaderHint: 1)))
    }
}

@Suite("Snapshot")
struct SnapshotTests {
    @Test("a lagging follower receives the snapshot in chunks, installs it, and then follows the log")
    func chunkedSnapshot() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3], maxMessageBytes: 100) })
        cluster.elect(1)
        cluster.isolated = [3]
        for byte in UInt8(0)..<20 { _ = cluster.propose(1, byte) }
        cluster.stabilize()
        let applied = cluster[1].status.appliedIndex
        #expect(applied == 21)
        let state = [UInt8]((0..<1_000).map { UInt8(truncatingIfNeeded: $0) })
        cluster[1].compact(upTo: applied, snapshotData: state)
        #expect(cluster[1].status.snapshotIndex == 21)
        #expect(
            cluster[1].latestSnapshot?.metadata
                == SnapshotMetadata(index: 21, term: 1, membership: Membership(voters: [1, 2, 3])))
        cluster.isolated = []
        cluster.sent = []
        cluster.tickAll(times: 3)
        let chunks = cluster.sent.filter { $0.kind == .snapshot }.compactMap(\.snapshot)
        #expect(chunks.count == 10)
        #expect(chunks.allSatisfy { $0.data.count <= 100 })
        #expect(chunks.last?.isLast == true)
        #expect(cluster.snapshots[3]?.data == state)
        #expect(cluster.snapshots[3]?.metadata.index == 21)
        #expect(cluster[3].status.commitIndex == 21)
        #expect(cluster[3].status.snapshotIndex == 21)
        // Transcript: the Ready that installs the snapshot carries the acknowledgement, to send once installed.
        let install = cluster.readies.first { $0.node == 3 && $0.ready.snapshot != nil }!.ready
        #expect(install.snapshot?.metadata.index == 21)
        #expect(install.entries.isEmpty)
        #expect(install.hardState?.commit == 21)
        #expect(install.messages == [Message(kind: .appendResponse, from: 3, to: 1, term: 1, index: 21)])
        _ = cluster.propose(1, 99)
        cluster.stabilize()
        #expect(cluster.appliedData(3) == [[99]])
        #expect(cluster[3].status.appliedIndex == 22)
    }

    @Test("lost chunks are resent from the follower's offset")
    func lostChunk() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3], maxMessageBytes: 100) })
        cluster.elect(1)
        cluster.isolated = [3]
        for byte in UInt8(0)..<5 { _ = cluster.propose(1, byte) }
        cluster.stabilize()
        cluster[1].compact(upTo: cluster[1].status.appliedIndex, snapshotData: [UInt8](repeating: 7, count: 450))
        cluster.isolated = []
        nonisolated(unsafe) var droppedOnce = false
        cluster.filter = { message in
            if message.kind == .snapshot, message.snapshot?.offset == 200, !droppedOnce {
                droppedOnce = true
                return false
            }
            return true
        }
        cluster.tickAll(times: 6)
        #expect(droppedOnce)
        #expect(cluster.snapshots[3]?.data == [UInt8](repeating: 7, count: 450))
        #expect(cluster[3].status.commitIndex == cluster[1].status.commitIndex)
    }

    @Test("a restarted node restores from its snapshot and the entries after it")
    func restoreFromSnapshot() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        for byte in UInt8(0)..<4 { _ = cluster.propose(1, byte) }
        cluster.stabilize()
        cluster[2].compact(upTo: 3, snapshotData: [3])
        let snapshot = cluster[2].latestSnapshot!
        let entries = cluster.storage[2]!.filter { $0.index > 3 }
        let node = RaftNode(
            configuration: makeConfiguration(id: 2, voters: [1, 2, 3]),
            restoring: RaftPersistentState(hardState: cluster.hardStates[2]!, snapshot: snapshot, entries: entries))
        #expect(node.status.snapshotIndex == 3)
        #expect(node.status.lastIndex == 5)
        #expect(node.status.appliedIndex == 3)
        var restarted = node
        let ready = restarted.ready()
        #expect(ready.committedEntries.map(\.index) == [4, 5])
    }
}

@Suite("Membership regressions")
struct MembershipRegressionTests {
    @Test("a leader that appended its own removal and lost leadership can still get it committed")
    func removedLeaderWithTheOnlyLeaveEntry() throws {
        var cluster = TestCluster(
            (1...2).map { makeConfiguration(id: $0, voters: [1, 2], preVote: true, checkQuorum: true) })
        cluster.elect(1)
        let leave = Membership(voters: [2])
        cluster.filter = { message in
            !message.entries.contains { $0.kind == .configuration && Membership(encoded: $0.data) == leave }
        }
        #expect(cluster[1].proposeMembershipChange(voters: [2], learners: []).acceptedIndex != nil)
        cluster.stabilize()
        // The joint configuration committed; only 1 holds the entry that leaves it.
        #expect(cluster[1].status.membership == leave)
        #expect(cluster[2].status.membership == Membership(voters: [2], outgoingVoters: [1, 2]))
        cluster.isolated = [1]
        cluster.tickAll(times: 20)  // check-quorum: 1 steps down
        #expect(cluster.leaders.isEmpty)
        cluster.isolated = []
        cluster.filter = nil
        for _ in 0..<200 where !(cluster.leaders == [2] && cluster[2].status.membership == leave) {
            cluster.tickAll()
        }
        #expect(cluster.leaders == [2])
        #expect(cluster[2].status.membership == leave)
        let index = try #require(cluster.propose(2, 1).acceptedIndex)
        cluster.stabilize()
        #expect(cluster[2].status.commitIndex == index)
        #expect(cluster[1].status.role == .follower)
    }
}
