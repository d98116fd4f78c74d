import Raft
import Testing

@Suite("Bad messages")
struct BadMessageTests {
    func follower() -> RaftNode {
        var cluster = TestCluster((1...3).map { makeConfiguration(id: $0, voters: [1, 2, 3]) })
        cluster.elect(1)
        _ = cluster.propose(1, 1)
        cluster.stabilize()
        return cluster[2]
    }

    @Test("a message from an unknown node is dropped and counted")
    func unknownSender() {
        var node = follower()
        let before = node.status
        node.step(
            Message(kind: .append, from: 9, to: 2, term: 5, logTerm: 1, index: 2, entries: [Entry(term: 5, index: 3)]))
        #expect(node.status.droppedMessages[.unknownSender] == 1)
        #expect(node.status.term == before.term)
        #expect(node.status.lastIndex == before.lastIndex)
        #expect(!node.hasReady)
    }

    @Test("a cluster node no membership named yet is followed as leader; others stay unknown")
    func clusterNodeIsKnown() {
        // Replica 2 lags: it never saw the configuration that added 9, but the cluster lists 9.
        var configuration = makeConfiguration(id: 2, voters: [1, 2, 3])
        configuration.clusterNodes = [1, 2, 3, 9]
        var node = RaftNode(configuration: configuration, restoring: .empty)
        node.step(Message(kind: .append, from: 9, to: 2, term: 5, logTerm: 0, index: 0, entries: [Entry(term: 5, index: 1)]))
        #expect(node.status.droppedMessages[.unknownSender] == nil)
        #expect(node.status.term == 5)
        #expect(node.status.leader == 9)
        #expect(node.status.lastIndex == 1)
        node.step(Message(kind: .append, from: 8, to: 2, term: 6, logTerm: 5, index: 1, entries: [Entry(term: 6, index: 2)]))
        #expect(node.status.droppedMessages[.unknownSender] == 1)
        #expect(node.status.term == 5)
        #expect(node.status.lastIndex == 1)
    }

    @Test("a message for another node is dropped and counted")
    func wrongRecipient() {
        var node = follower()
        node.step(Message(kind: .heartbeat, from: 1, to: 3, term: 1))
        #expect(node.status.droppedMessages[.wrongRecipient] == 1)
    }

    @Test("a stale-term append is dropped and counted; the stale leader learns the newer term")
    func staleTerm() {
        var node = follower()
        node.step(Message(kind: .vote, from: 3, to: 2, term: 7, logTerm: 1, index: 2))  // moves to term 7
        _ = node.ready()
        node.step(
            Message(kind: .append, from: 1, to: 2, term: 1, logTerm: 1, index: 2, entries: [Entry(term: 1, index: 3)]))
        #expect(node.status.droppedMessages[.staleTerm] == 1)
        #expect(node.status.lastIndex == 2)
    }

    @Test("a stale leader gets an answer carrying the newer term")
    func staleLeaderToldNewTerm() {
        var node = RaftNode(
            configuration: makeConfiguration(id: 2, voters: [1, 2, 3], checkQuorum: true),
            restoring: RaftPersistentState(hardState: HardState(term: 4)))
        node.step(Message(kind: .heartbeat, from: 1, to: 2, term: 3))
        #expect(node.status.droppedMessages[.staleTerm] == 1)
        #expect(node.ready().messages == [Message(kind: .appendResponse, from: 2, to: 1, term: 4)])
    }

    @Test("a candidate behind our term is refused with our term, so it catches up")
    func staleCandidateToldNewTerm() {
        var node = RaftNode(
            configuration: makeConfiguration(id: 2, voters: [1, 2, 3]),
            restoring: RaftPersistentState(hardState: HardState(term: 5)))
        node.step(Message(kind: .vote, from: 3, to: 2, term: 3, logTerm: 9, index: 9))
        #expect(node.status.droppedMessages[.staleTerm] == 1)
        #expect(node.status.vote == 0)
        #expect(node.ready().messages == [Message(kind: .voteResponse, from: 2, to: 3, term: 5, reject: true)])
    }

    @Test("an append whose entries are not contiguous is dropped as malformed")
    func nonContiguousAppend() {
        var node = follower()
        let term = node.status.term
        node.step(
            Message(
                kind: .append, from: 1, to: 2, term: term, logTerm: term, index: 2,
                entries: [Entry(term: term, index: 3), Entry(term: term, index: 5)]))
        node.step(
            Message(
                kind: .append, from: 1, to: 2, term: term, logTerm: term, index: 2,
                entries: [Entry(term: term + 1, index: 3)]))  // entry term beyond the message term
        node.step(Message(kind: .snapshot, from: 1, to: 2, term: term))  // snapshot without chunk
        node.step(Message(kind: .heartbeat, from: 1, to: 2, term: 0))  // term 0
        #expect(node.status.droppedMessages[.malformed] == 4)
        #expect(node.status.lastIndex == 2)
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test("defaults validate")
    func defaults() throws {
        let configuration = makeConfiguration(id: 1, voters: [1, 2, 3])
        #expect(configuration.electionTimeoutTicks == 10)
        #expect(configuration.heartbeatTicks == 1)
        try configuration.validate()
    }

    @Test("each out-of-range field is named")
    func namesField() {
        func field(_ change: (inout RaftConfiguration) -> Void) -> RaftConfigurationError.Field? {
            var configuration = makeConfiguration(id: 1, voters: [1, 2, 3])
            change(&configuration)
            do {
                try configuration.validate()
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field { $0.id = 0 } == .id)
        #expect(field { $0.membership = Membership(voters: []) } == .membership)
        #expect(field { $0.membership = Membership(voters: [1, 2], learners: [2]) } == .membership)
        #expect(field { $0.electionTimeoutTicks = 1 } == .electionTimeoutTicks)
        #expect(field { $0.heartbeatTicks = 10 } == .heartbeatTicks)
        #expect(field { $0.maxInflightMessages = 0 } == .maxInflightMessages)
        #expect(field { $0.maxMessageBytes = 0 } == .maxMessageBytes)
        #expect(field { $0.maxUncommittedBytes = 0 } == .maxUncommittedBytes)
        #expect(field { $0.maxCommittedBytesPerReady = 0 } == .maxCommittedBytesPerReady)
        #expect(field { $0.electionPriorities = [1: -1] } == .electionPriorities)
        #expect(field { $0.requireTwoRegionQuorum = true } == .locations)
        #expect(
            field {
                $0.requireTwoRegionQuorum = true
                $0.locations = [
                    1: NodeLocation(region: "eu"), 2: NodeLocation(region: "eu"), 3: NodeLocation(region: "eu"),
                ]
            } == .requireTwoRegionQuorum)
    }

    @Test("membership payloads round-trip and bad bytes are rejected")
    func membershipEncoding() {
        let membership = Membership(voters: [1, 2, 3], outgoingVoters: [1, 2], learners: [9])
        #expect(Membership(encoded: membership.encoded()) == membership)
        #expect(Membership(encoded: Array(membership.encoded().dropLast())) == nil)
        #expect(Membership(encoded: []) == nil)
    }
}
