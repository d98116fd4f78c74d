import Raft
import Testing

@Suite("Election")
struct ElectionTests {
    @Test("election timeouts are randomised in [T, 2T) ticks and depend on the seed")
    func randomisedTimeouts() {
        var observed = Set<Int>()
        for seed in UInt64(1)...20 {
            var node = RaftNode(
                configuration: makeConfiguration(id: 1, voters: [1, 2, 3], seed: seed), restoring: .empty)
            var ticks = 0
            while node.status.role == .follower {
                node.tick()
                ticks += 1
                #expect(ticks < 100)
                if ticks >= 100 { break }
            }
            #expect((10..<20).contains(ticks), "seed \(seed) campaigned after \(ticks) ticks")
            observed.insert(ticks)
        }
        #expect(observed.count > 1)
    }

    @Test("transcript: a follower times out, asks for votes, wins and appends a no-op")
    func electionTranscript() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster[1].campaign()
        let campaign = cluster.process(1)!
        #expect(campaign.hardState == HardState(term: 1, vote: 1, commit: 0))
        #expect(campaign.softState == SoftState(leader: 0, role: .candidate))
        #expect(
            campaign.messages == [
                Message(kind: .vote, from: 1, to: 2, term: 1),
                Message(kind: .vote, from: 1, to: 3, term: 1),
            ])
        cluster.queue = []
        cluster[2].step(campaign.messages[0])
        let vote = cluster.process(2)!
        #expect(vote.hardState == HardState(term: 1, vote: 1, commit: 0))
        #expect(vote.messages == [Message(kind: .voteResponse, from: 2, to: 1, term: 1)])
        cluster.queue = []
        cluster[1].step(vote.messages[0])
        #expect(cluster[1].status.role == .leader)
        let leading = cluster.process(1)!
        #expect(leading.softState == SoftState(leader: 1, role: .leader))
        #expect(leading.entries == [Entry(term: 1, index: 1, kind: .noop)])
        #expect(leading.messages.map(\.kind) == [.append, .append])
        #expect(leading.messages[0].entries == [Entry(term: 1, index: 1, kind: .noop)])
        // Not committed yet: only the leader's own durable copy counts so far.
        #expect(cluster[1].status.commitIndex == 0)
        cluster.queue = []
        cluster[2].step(leading.messages[0])
        let ack = cluster.process(2)!
        #expect(ack.entries == [Entry(term: 1, index: 1, kind: .noop)])
        #expect(ack.messages == [Message(kind: .appendResponse, from: 2, to: 1, term: 1, index: 1)])
        cluster[1].step(ack.messages[0])
        #expect(cluster[1].status.commitIndex == 1)
    }

    @Test("a node whose vote is refused by a quorum goes back to follower; a stale log loses")
    func upToDateLogWins() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        let accepted = cluster[1].proposeAndCheck(7)
        #expect(accepted)
        cluster.isolated = [3]
        cluster.stabilize()
        _ = cluster.propose(1, 8)
        cluster.stabilize()
        // 3 missed entry 3; it campaigns at a higher term but 1 and 2 refuse it.
        cluster.isolated = []
        cluster.elect(3)
        #expect(cluster[3].status.role != .leader)
        #expect(cluster.leaders.count <= 1)
        cluster.elect(2)
        #expect(cluster.leaders == [2])
        #expect(cluster.appliedData(3) == [[7], [8]])
    }

    @Test("learners never campaign and refuse to vote")
    func learnersDoNotVote() {
        let configurations = (1...3).map { makeConfiguration(id: $0, voters: [1, 2], learners: [3]) }
        var cluster = TestCluster(configurations)
        cluster.tick(3, times: 100)
        #expect(cluster[3].status.role == .learner)
        #expect(!cluster[3].hasReady || cluster[3].ready().messages.isEmpty)
        cluster[3].step(Message(kind: .vote, from: 1, to: 3, term: 5, logTerm: 0, index: 0))
        let answer = cluster[3].ready().messages
        #expect(answer.count == 1)
        #expect(answer.first?.reject == true)
        #expect(answer.first?.kind == .voteResponse)
        #expect(cluster[3].status.vote == 0)
    }

    @Test("a learner grants a vote only to a candidate whose log is strictly ahead (it may have been promoted)")
    func learnerPromotedWithoutKnowing() {
        var learner = RaftNode(
            configuration: makeConfiguration(id: 4, voters: [1, 2, 3], learners: [4]),
            restoring: RaftPersistentState(hardState: HardState(term: 1), entries: [Entry(term: 1, index: 1)]))
        learner.step(Message(kind: .vote, from: 1, to: 4, term: 2, logTerm: 1, index: 1))
        let refusal = learner.ready()
        #expect(refusal.messages == [Message(kind: .voteResponse, from: 4, to: 1, term: 2, reject: true)])
        learner.advance(refusal)
        learner.step(Message(kind: .vote, from: 2, to: 4, term: 3, logTerm: 1, index: 5))
        #expect(learner.status.vote == 2)
        let grant = learner.ready()
        #expect(grant.hardState == HardState(term: 3, vote: 2, commit: 0))
        #expect(grant.messages == [Message(kind: .voteResponse, from: 4, to: 2, term: 3)])
        #expect(learner.status.role == .learner)
    }
}

@Suite("Pre-vote and check-quorum")
struct PreVoteTests {
    @Test("a partitioned node with pre-vote does not bump its term, and rejoins without disruption")
    func partitionedNodeKeepsTerm() {
        var cluster = TestCluster(
            (1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3], preVote: true, checkQuorum: true) })
        cluster.elect(1)
        #expect(cluster.leaders == [1])
        let term = cluster[1].status.term
        cluster.isolated = [3]
        for _ in 0..<100 { cluster.tickAll() }
        #expect(cluster[3].status.term == term)
        #expect(cluster[3].status.role == .preCandidate)
        cluster.isolated = []
        cluster.tickAll(times: 3)
        #expect(cluster.leaders == [1])
        #expect(cluster[1].status.term == term)
        #expect(cluster[3].status.leader == 1)
    }

    @Test("without pre-vote the partitioned node bumps its term (the disruption pre-vote prevents)")
    func withoutPreVoteTermGrows() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        let term = cluster[1].status.term
        cluster.isolated = [3]
        for _ in 0..<100 { cluster.tickAll() }
        #expect(cluster[3].status.term > term)
    }

    @Test("transcript: pre-vote request carries term+1 and the responder's term stays")
    func preVoteTranscript() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3], preVote: true) })
        cluster[1].campaign()
        let ready = cluster.process(1)!
        #expect(ready.hardState == nil)
        #expect(ready.softState == SoftState(leader: 0, role: .preCandidate))
        #expect(
            ready.messages == [
                Message(kind: .preVote, from: 1, to: 2, term: 1),
                Message(kind: .preVote, from: 1, to: 3, term: 1),
            ])
        cluster.queue = []
        cluster[2].step(ready.messages[0])
        let answer = cluster.process(2)!
        #expect(answer.hardState == nil)
        #expect(answer.messages == [Message(kind: .preVoteResponse, from: 2, to: 1, term: 1)])
        #expect(cluster[2].status.term == 0)
        cluster.queue = []
        cluster[1].step(answer.messages[0])
        #expect(cluster[1].status.role == .candidate)
        #expect(cluster[1].status.term == 1)
    }

    @Test("check-quorum: a leader cut off from a quorum steps down within an election timeout")
    func leaderStepsDown() {
        var cluster = TestCluster(
            (1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3], preVote: true, checkQuorum: true) })
        cluster.elect(1)
        cluster.isolated = [1]
        for _ in 0..<(2 * 10) {
            cluster.tick(1)
            cluster.stabilize()
        }
        #expect(cluster[1].status.role == .follower)
    }

    @Test("without check-quorum an isolated leader stays leader")
    func leaderStaysWithoutCheckQuorum() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        cluster.isolated = [1]
        for _ in 0..<(2 * 10) {
            cluster.tick(1)
            cluster.stabilize()
        }
        #expect(cluster[1].status.role == .leader)
    }

    @Test("a node that heard from the leader within the election timeout ignores vote requests")
    func leaseIgnoresVotes() {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3], checkQuorum: true) })
        cluster.elect(1)
        let term = cluster[2].status.term
        cluster[2].step(Message(kind: .vote, from: 3, to: 2, term: term + 5, logTerm: 1, index: 100))
        #expect(cluster[2].status.term == term)
        #expect(cluster[2].status.droppedMessages[.leaderLease] == 1)
        // A leader-transfer campaign bypasses the lease.
        cluster[2].step(
            Message(
                kind: .vote, from: 3, to: 2, term: term + 5, logTerm: 1, index: 100,
                context: RaftNode.transferCampaignContext))
        #expect(cluster[2].status.term == term + 5)
        #expect(cluster[2].status.vote == 3)
    }
}

extension RaftNode {
    mutating func proposeAndCheck(_ byte: UInt8) -> Bool {
        propose([byte]).acceptedIndex != nil
    }
}
