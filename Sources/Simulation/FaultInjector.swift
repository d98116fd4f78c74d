import Raft

extension Simulator {
    // These walk indices rather than elements: a `SimulatedReplica` copy retains all its references.
    var downCount: Int {
        var count = 0
        for position in replicas.indices where replicas[position].state == .crashed || replicas[position].state == .paused {
            count += 1
        }
        return count
    }

    func ids(in state: ReplicaState) -> [NodeID] {
        replicas.indices.filter { replicas[$0].state == state }.map { replicas[$0].id }
    }

    var leaderIDs: [NodeID] {
        replicas.indices.filter { replicas[$0].state == .running && replicas[$0].isLeader }.map { replicas[$0].id }
    }

    /// The swarm's random faults for one step of the fault phase.
    mutating func injectRandomFaults() {
        let p = parameters
        if random.chance(p.crashProbability), downCount < p.downMax {
            let candidates = ids(in: .running) + ids(in: .paused)
            if !candidates.isEmpty { crash(random.pick(candidates)) }
        }
        if random.chance(p.midReadyCrashProbability), downCount < p.downMax {
            let candidates = ids(in: .running)
            if !candidates.isEmpty {
                scheduleCrash(random.pick(candidates), at: random.pick(CrashPoint.allCases))
            }
        }
        if random.chance(p.restartProbability) {
            let candidates = ids(in: .crashed)
            if !candidates.isEmpty {
                let id = random.pick(candidates)
                if p.bitFlipProbability > 0, random.chance(p.bitFlipProbability), mayLoseForGood(id),
                    flipBitInDurableRecord(of: id) != nil
                {
                    membershipFrozen = true
                }
                restart(id)
            }
        }
        if random.chance(p.pauseProbability), downCount < p.downMax {
            let candidates = ids(in: .running)
            if !candidates.isEmpty { pause(random.pick(candidates)) }
        }
        if random.chance(p.resumeProbability) {
            let candidates = ids(in: .paused)
            if !candidates.isEmpty { resume(random.pick(candidates)) }
        }
        if random.chance(p.partitionProbability) { injectPartition() }
        if random.chance(p.healProbability) { healNetwork() }
        if random.chance(p.flapProbability), replicas.count > 1 {
            let from = random.pick(replicas.map(\.id))
            let to = random.pick(replicas.map(\.id).filter { $0 != from })
            let period = UInt64(random.inRange(2...30))
            network.flap(from: from, to: to, period: period)
            if random.chance(0.5) { network.flap(from: to, to: from, period: period) }
            countFault("flapping-link")
            trace.record(20, from, to, period)
        }
        if random.chance(p.driftProbability) {
            let id = random.pick(replicas.map(\.id))
            setClockRate(id, 0.5 + random.unit())
        }
        if random.chance(p.transferProbability), let leader = leaderIDs.first {
            let voters = replicas[index(of: leader)].status?.membership.voters.filter { $0 != leader } ?? []
            if !voters.isEmpty { transferLeadership(from: leader, to: random.pick(voters)) }
        }
        if random.chance(p.membershipChangeProbability), let leader = leaderIDs.first { injectMembershipChange(leader) }
        if random.chance(p.snapshotProbability) {
            let candidates = ids(in: .running)
            if !candidates.isEmpty { takeSnapshot(on: random.pick(candidates)) }
        }
        for position in replicas.indices {
            if let until = replicas[position].diskFullUntil, now >= until { liftDiskFull(replicas[position].id) }
        }
        if random.chance(p.diskFullProbability), downCount < p.downMax {
            let candidates = ids(in: .running).filter { replicas[index(of: $0)].diskFullUntil == nil }
            if !candidates.isEmpty {
                let id = random.pick(candidates)
                let slack = random.inRange(0...Int(Self.walOptions.segmentBytes) * 2)
                fillDisk(id, slackBytes: slack, ticks: random.inRange(1...p.diskFullTicksMax))
            }
        }
    }

    /// Whether `id` may be lost for good (a bit flip its recovery refuses) with a quorum left: no replica was
    /// lost yet, and the committed configuration and every newer one in any other replica's log (running or
    /// crashed: an uncommitted change may still win) is simple with at least 3 voters. Random membership
    /// changes stop after a loss, so no later one can shrink that.
    func mayLoseForGood(_ id: NodeID) -> Bool {
        guard !replicas.indices.contains(where: { replicas[$0].state == .failed }), !membershipFrozen else {
            return false
        }
        func survivable(_ membership: Membership) -> Bool { !membership.isJoint && membership.voters.count >= 3 }
        guard survivable(committedMembership) else { return false }
        for position in replicas.indices where replicas[position].id != id && replicas[position].state != .absent {
            if let membership = replicas[position].status?.membership, !survivable(membership) { return false }
            for image in [replicas[position].disk.current, replicas[position].disk.durable] {
                if let snapshot = image.snapshot, !survivable(snapshot.metadata.membership) { return false }
                for entry in image.entries where entry.kind == .configuration && entry.index > committedMembershipIndex {
                    guard let membership = Membership(encoded: entry.data), survivable(membership) else { return false }
                }
            }
        }
        return true
    }

    mutating func injectPartition() {
        let all = replicas.filter { $0.state != .absent }.map(\.id)
        guard all.count > 1 else { return }
        switch random.below(3) {
        case 0:
            var sideA: [NodeID] = []
            var sideB: [NodeID] = []
            for id in all { if random.chance(0.5) { sideA.append(id) } else { sideB.append(id) } }
            if sideA.isEmpty || sideB.isEmpty { return }
            partition(sideA, sideB)
        case 1:
            isolate(random.pick(all))
        default:
            // Asymmetric: some directed links drop, their reverse still works.
            let links = random.inRange(1...max(1, all.count))
            for _ in 0..<links {
                let from = random.pick(all)
                let to = random.pick(all.filter { $0 != from })
                blockLink(from: from, to: to)
            }
            countFault("asymmetric-partition")
        }
    }

    /// A random membership change the current configuration allows: add a spare as learner, promote a
    /// learner, demote or remove a voter, remove a learner.
    mutating func injectMembershipChange(_ leader: NodeID) {
        guard !membershipFrozen else { return }
        guard let membership = replicas[index(of: leader)].status?.membership, !membership.isJoint else { return }
        var voters = membership.voters
        var learners = membership.learners
        let spares = replicas.filter { $0.state == .absent && !everMember.contains($0.id) }.map(\.id)
        switch random.below(5) {
        case 0:
            guard let spare = spares.first else { return }
            learners.append(spare)
        case 1:
            guard !learners.isEmpty, voters.count < 7, !options.excluded.contains(.voterChange) else { return }
            let learner = random.pick(learners)
            learners.removeAll { $0 == learner }
            voters.append(learner)
        case 2:
            guard voters.count > 1, !options.excluded.contains(.voterChange) else { return }
            let voter = random.pick(voters)
            voters.removeAll { $0 == voter }
            learners.append(voter)
        case 3:
            guard voters.count > 1, !options.excluded.contains(.voterChange) else { return }
            let voter = random.pick(voters)
            voters.removeAll { $0 == voter }
        default:
            guard !learners.isEmpty else { return }
            let learner = random.pick(learners)
            learners.removeAll { $0 == learner }
        }
        changeMembership(on: leader, voters: voters, learners: learners)
    }
}
