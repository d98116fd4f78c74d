public import Raft

extension Simulator {
    /// Runs the seed: the fault phase, then heal and the liveness phase, then the final checks.
    public static func run(_ options: SimulationOptions) -> SimulationResult {
        var simulator = Simulator(options: options)
        return simulator.runPhases()
    }

    public mutating func runPhases() -> SimulationResult {
        for _ in 0..<parameters.faultSteps {
            step()
            processRetirements()
            if checker.violations.count >= checker.violationsMax { break }
        }
        if checker.violations.isEmpty {
            healAll()
            _ = runUntilQuiet(ticksMax: options.livenessTicksMax)
        }
        finalChecks()
        return result()
    }

    /// Heals everything: network, paused and crashed replicas, clocks. No more random faults or new commands.
    public mutating func healAll() {
        healed = true
        faultsActive = false
        clientsActive = false
        network.heal()
        for position in replicas.indices {
            liftDiskFull(replicas[position].id)
            replicas[position].clockRate = 1
            replicas[position].crashPoint = nil
            switch replicas[position].state {
            case .paused: resume(replicas[position].id)
            case .crashed: restart(replicas[position].id)
            case .running, .absent, .failed: break
            }
        }
        trace.record(21)
        note("heal all")
    }

    /// The group as the newest leader sees it, and that leader.
    var currentLeader: (id: NodeID, status: RaftStatus)? {
        var best: (NodeID, RaftStatus)?
        for position in replicas.indices where replicas[position].state == .running {
            guard let status = replicas[position].status, status.role == .leader else { continue }
            if best == nil || status.term > best!.1.term { best = (replicas[position].id, status) }
        }
        return best
    }

    /// True when a leader exists, no client command is outstanding, and every member applied everything the
    /// leader committed (members lost for good, `.failed`, excepted: the rest must carry on without them).
    public var isQuiet: Bool {
        guard outstanding.isEmpty, let leader = currentLeader else { return false }
        let members = leader.status.membership.allMembers
        for position in replicas.indices
        where members.contains(replicas[position].id) && replicas[position].state != .failed {
            guard replicas[position].state == .running, let status = replicas[position].status else { return false }
            let leaderCommit = leader.status.commitIndex
            if status.commitIndex < leaderCommit || replicas[position].machine.appliedIndex < leaderCommit {
                return false
            }
        }
        return leader.status.commitIndex == leader.status.lastIndex
    }

    /// Steps until `isQuiet` or the bound; a missed bound is a liveness violation. Returns ticks used.
    @discardableResult
    public mutating func runUntilQuiet(ticksMax: Int) -> Int {
        for tick in 0..<ticksMax {
            step()
            processRetirements()
            if isQuiet { return tick + 1 }
            if !checker.violations.isEmpty { return tick + 1 }
        }
        let leader = currentLeader.map { "leader \($0.id) term \($0.status.term) commit \($0.status.commitIndex)" }
        checker.observeLivenessFailure(
            "not quiet \(ticksMax) ticks after healing: \(leader ?? "no leader"), \(outstanding.count) commands "
                + "outstanding; replicas: " + replicaSummary)
        return ticksMax
    }

    var replicaSummary: String {
        replicas.map { replica in
            let status = replica.status.map {
                "\($0.role) t\($0.term) c\($0.commitIndex) last\($0.lastIndex) leader\($0.leader)"
            }
            var progress = ""
            if let status = replica.node?.status, status.role == .leader {
                progress = " progress[" + status.progress.keys.sorted().map { id in
                    let p = status.progress[id]!
                    return "\(id):m\(p.match)n\(p.next)s\(p.state.rawValue)i\(p.inflightMessages)a\(p.recentActive)"
                }.joined(separator: " ") + "] snap\(status.snapshotIndex)"
                let uncommitted = replica.disk.current.entries.filter { $0.index > status.commitIndex }
                let kinds = Dictionary(grouping: uncommitted, by: \.kind).mapValues(\.count)
                progress += " uncommitted " + kinds.keys.sorted { $0.rawValue < $1.rawValue }.map {
                    "\($0):\(kinds[$0]!)"
                }.joined(separator: ",")
            }
            return "\(replica.id):\(replica.state) \(status ?? "-") applied\(replica.machine.appliedIndex)\(progress)"
        }.joined(separator: "; ")
    }

    /// Shuts down replicas a committed configuration removed.
    mutating func processRetirements() {
        guard !retirements.isEmpty else { return }
        for id in retirements {
            let position = index(of: id)
            guard replicas[position].state != .absent else { continue }
            replicas[position].state = .absent
            replicas[position].node = nil
            replicas[position].storage = nil
            replicas[position].appliedStore = nil
            replicas[position].status = nil
            network.dropAll(to: id)
            trace.record(22, id)
            note("retire \(id)")
        }
        retirements.removeAll()
    }

    mutating func finalChecks() {
        let running = replicas.filter { $0.state == .running }.map { ($0.id, $0.machine) }
        checker.checkAcknowledgedSurvive(replicas: running)
    }

    public func result() -> SimulationResult {
        var faults = self.faults
        if network.dropped > 0 { faults["message-drop", default: 0] += network.dropped }
        if network.duplicated > 0 { faults["message-duplicate", default: 0] += network.duplicated }
        if network.reordered > 0 { faults["message-reorder", default: 0] += network.reordered }
        return SimulationResult(
            options: options, parameters: parameters, steps: Int(now), faults: faults,
            violations: checker.violations, traceDigest: trace.value, traceEvents: trace.events,
            acknowledged: acknowledgedCount, proposed: proposed, committedIndex: checker.committedIndexMax,
            eventLog: eventLog, electionPriorities: electionPriorities)
    }

    /// The replica's state machine (scenarios and tests).
    public func machine(of id: NodeID) -> CounterStateMachine { replicas[index(of: id)].machine }
    public func status(of id: NodeID) -> RaftStatus? { replicas[index(of: id)].status }
    public func state(of id: NodeID) -> ReplicaState { replicas[index(of: id)].state }
    public func durableImage(of id: NodeID) -> DiskImage { replicas[index(of: id)].disk.durable }
    public var leader: NodeID? { currentLeader?.id }
    public var outstandingCommands: Int { outstanding.count }
    public var violations: [Violation] { checker.violations }
    public var replicaIDs: [NodeID] { replicas.map(\.id) }

    /// Steps until `condition` holds (true) or `ticksMax` passes (false).
    public mutating func run(ticksMax: Int, until condition: (Simulator) -> Bool) -> Bool {
        for _ in 0..<ticksMax {
            step()
            processRetirements()
            if condition(self) { return true }
        }
        return false
    }
}
