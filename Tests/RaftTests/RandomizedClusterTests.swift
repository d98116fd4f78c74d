import Raft
import Testing

/// A seeded PRNG for the randomized test (SplitMix64).
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

@Suite("Randomized cluster")
struct RandomizedClusterTests {
    /// Drops, duplicates and reorders messages, partitions and restarts nodes, compacts logs and transfers
    /// leadership, and checks safety on every step: one leader per term, the same entry applied at the same index
    /// everywhere, commit indexes never decreasing. Then heals and requires progress. Re-run a seed by putting
    /// it in `seeds`.
    @Test("safety under faults, then liveness after healing", arguments: UInt64(1)...100)
    func randomized(seed: UInt64) {
        var random = TestRandom(state: seed)
        // Swarm: 1 to 5 voters and 0 to 2 learners per seed.
        let voterCount = 1 + random.below(5)
        let learnerCount = random.below(3)
        let ids: [NodeID] = (1...NodeID(voterCount + learnerCount)).map { $0 }
        let initialVoters = Array(ids.prefix(voterCount))
        let initialLearners = Array(ids.dropFirst(voterCount))
        let preVote = random.chance(50)
        let checkQuorum = random.chance(50)
        let changeMembership = random.chance(50)
        func configuration(_ id: NodeID) -> RaftConfiguration {
            makeConfiguration(
                id: id, voters: initialVoters, learners: initialLearners, preVote: preVote, checkQuorum: checkQuorum,
                seed: seed &* 7 &+ id,
                maxInflight: 4, maxMessageBytes: 200)
        }
        var cluster = TestCluster(ids.map(configuration))
        var leaderOfTerm: [UInt64: NodeID] = [:]
        var appliedAt: [UInt64: Entry] = [:]
        var lastCommit: [NodeID: UInt64] = [:]
        var appliedIndex: [NodeID: UInt64] = [:]
        var nextByte: UInt8 = 0
        var violations: [String] = []

        func check(_ cluster: TestCluster) {
            for id in ids {
                let status = cluster[id].status
                if status.role == .leader {
                    if let other = leaderOfTerm[status.term], other != id {
                        violations.append("two leaders \(other) and \(id) in term \(status.term)")
                    }
                    leaderOfTerm[status.term] = id
                }
                if status.commitIndex < lastCommit[id, default: 0] {
                    violations.append("commit of \(id) went back")
                }
                lastCommit[id] = status.commitIndex
            }
        }

        func processAll() {
            for id in ids {
                guard let ready = cluster.process(id) else { continue }
                if let snapshot = ready.snapshot { appliedIndex[id] = snapshot.metadata.index }
                for entry in ready.committedEntries {
                    if let known = appliedAt[entry.index], known != entry {
                        violations.append("node \(id) applied \(entry) at \(entry.index), others \(known)")
                    }
                    appliedAt[entry.index] = entry
                    appliedIndex[id] = entry.index
                }
            }
        }

        for step in 0..<4_000 {
            let healing = step >= 3_000
            if healing && step == 3_000 {
                cluster.isolated = []
            }
            processAll()
            check(cluster)
            let action = random.below(100)
            if action < 55, !cluster.queue.isEmpty {
                let message = cluster.queue.remove(at: random.below(cluster.queue.count))
                if !healing && random.chance(10) { continue }
                if !healing && random.chance(5) { cluster.queue.append(message) }
                if cluster.isDelivered(message) { cluster[message.to].step(message) }
            } else if action < 80 {
                let id = ids[random.below(ids.count)]
                cluster[id].tick()
            } else if action < 90 {
                for id in cluster.leaders {
                    _ = cluster[id].propose([nextByte])
                    nextByte &+= 1
                }
            } else if !healing && action < 92 {
                let id = ids[random.below(ids.count)]
                if cluster.isolated.contains(id) { cluster.isolated.remove(id) } else { cluster.isolated.insert(id) }
            } else if !healing && action < 93 {
                // Crash and restart from what the node persisted.
                let id = ids[random.below(ids.count)]
                let state = RaftPersistentState(
                    hardState: cluster.hardStates[id] ?? HardState(), snapshot: cluster.snapshots[id],
                    entries: cluster.storage[id]!, appliedIndex: appliedIndex[id])
                cluster[id] = RaftNode(configuration: configuration(id), restoring: state)
                lastCommit[id] = cluster[id].status.commitIndex
            } else if action < 94 {
                let id = ids[random.below(ids.count)]
                let applied = cluster[id].status.appliedIndex
                if applied > cluster[id].status.snapshotIndex + 5 && !cluster[id].hasReady {
                    cluster[id].compact(upTo: applied, snapshotData: [UInt8(truncatingIfNeeded: applied)])
                    cluster.snapshots[id] = cluster[id].latestSnapshot
                    cluster.storage[id]!.removeAll { $0.index <= applied }
                }
            } else if action < 95, let leader = cluster.leaders.first {
                cluster[leader].transferLeadership(to: ids[random.below(ids.count)])
            } else if changeMembership && action < 96, let leader = cluster.leaders.first {
                var voters = ids.filter { _ in random.chance(70) }
                if voters.isEmpty { voters = [ids[0]] }
                let learners = ids.filter { !voters.contains($0) && random.chance(50) }
                _ = cluster[leader].proposeMembershipChange(voters: voters, learners: learners)
            }
        }
        // Liveness: after healing, some leader commits a fresh proposal on every member within a bounded time.
        cluster.filter = nil
        var live = false
        var proposed: (leader: NodeID, term: UInt64, index: UInt64)?
        for _ in 0..<1_000 where !live {
            cluster.tickAll()
            guard let leader = cluster.leaders.max(by: { cluster[$0].status.term < cluster[$1].status.term }) else {
                continue
            }
            let status = cluster[leader].status
            if proposed?.leader != leader || proposed?.term != status.term {
                if let index = cluster[leader].propose([0xFF]).acceptedIndex {
                    proposed = (leader, status.term, index)
                }
                continue
            }
            live = status.membership.allMembers.allSatisfy { cluster[$0].status.commitIndex >= proposed!.index }
        }
        #expect(live, "seed \(seed): no leader committed a proposal on every member after healing")
        if !live {
            for id in ids {
                let st = cluster[id].status
                print(
                    "seed \(seed) node \(id) \(st.role) term \(st.term) leader \(st.leader) last \(st.lastIndex)",
                    "commit \(st.commitIndex) \(st.membership)")
            }
        }
        check(cluster)
        #expect(violations.isEmpty, "seed \(seed): \(violations.prefix(3))")
    }
}
