public import Raft

/// Helpers for scripted scenarios: a calm cluster with no random faults and no automatic clients.
extension Simulator {
    /// A cluster of `voters` (and `learners`) on a calm network (1 tick per message), no random faults, no
    /// automatic clients. Ids: voters 1...voters, learners after them.
    public static func scripted(
        voters: Int, learners: Int = 0, seed: UInt64 = 1, preVote: Bool = true, checkQuorum: Bool = true
    ) -> Simulator {
        var options = SimulationOptions(seed: seed)
        options.excluded = [.priorities]
        var simulator = Simulator(options: options) { parameters in
            parameters.voters = voters
            parameters.learners = learners
            parameters.spares = 0
            parameters.network = NetworkProfile()
            parameters.preVote = preVote
            parameters.checkQuorum = checkQuorum
            parameters.electionTimeoutTicks = 10
            parameters.heartbeatTicks = 1
            parameters.maxMessageBytes = 1 << 20
            parameters.maxInflightMessages = 256
            parameters.proposalProbability = 0
        }
        simulator.faultsActive = false
        simulator.clientsActive = false
        return simulator
    }

    /// Steps until one of `candidates` (default: anyone) leads; returns it, or nil after `ticksMax`.
    public mutating func runUntilLeader(among candidates: Set<NodeID>? = nil, ticksMax: Int = 500) -> NodeID? {
        for _ in 0..<ticksMax {
            step()
            processRetirements()
            if let leader = currentLeader?.id, candidates?.contains(leader) ?? true { return leader }
        }
        return nil
    }

    /// Steps `ticks` times.
    public mutating func run(ticks: Int) {
        for _ in 0..<ticks {
            step()
            processRetirements()
        }
    }

    /// Proposes a new client command on `id` only; the result tells whether that replica took it.
    @discardableResult
    public mutating func propose(on id: NodeID, amount: UInt64 = 1) -> (command: UInt64, result: ProposalResult?) {
        let command = CounterCommand(id: nextCommandID, amount: amount)
        nextCommandID += 1
        outstanding[command.id] = (command, now)
        proposed += 1
        let position = index(of: id)
        guard replicas[position].state == .running, let membership = replicas[position].node?.status.membership else {
            return (command.id, nil)
        }
        let result = replicas[position].node!.propose(command.encoded())
        if case .accepted(let index, let term) = result {
            replicas[position].proposals[command.id] = (index, term, membership)
        }
        trace.record(13, id, command.id)
        return (command.id, result)
    }

    /// Whether the client has seen `command` acknowledged.
    public func isAcknowledged(_ command: UInt64) -> Bool {
        outstanding[command] == nil && checker.acknowledged[command] != nil
    }

    /// The term of the entry committed at `index`, once some replica applied it.
    public func committedTerm(at index: UInt64) -> UInt64? { checker.committed[index]?.term }

    /// The log index an acknowledged command took effect at.
    public func acknowledgedIndex(_ command: UInt64) -> UInt64? { checker.acknowledged[command]?.index }

    /// Heals everything and requires the cluster to finish every outstanding command (the liveness phase).
    public mutating func healAndSettle(ticksMax: Int = 3000) {
        healAll()
        runUntilQuiet(ticksMax: ticksMax)
        finalChecks()
    }

    /// Every other replica (scenarios).
    public func others(than ids: NodeID...) -> [NodeID] {
        replicas.map(\.id).filter { !ids.contains($0) && state(of: $0) != .absent }
    }

    /// Cuts every link between `id` and each of `peers`, both ways.
    public mutating func cut(_ id: NodeID, from peers: [NodeID]) {
        network.partition([id], peers)
        trace.record(23, id, UInt64(peers.count))
    }

    /// Removes every partition (the network profile stays).
    public mutating func reconnectAll() {
        let profile = network.profile
        network.heal()
        network.profile = profile
        trace.record(24)
    }
}
