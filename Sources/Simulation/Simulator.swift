public import Raft
import Storage

/// A deterministic cluster simulator in the style of TigerBeetle's VOPR: one thread, simulated time
/// in ticks, every random choice drawn from one seed. A seed draws a cluster shape and fault mix
/// (`SwarmParameters`), runs a fault phase with clients proposing commands, then heals everything
/// and requires the cluster to finish every outstanding command (liveness). `InvariantChecker`
/// checks safety on every step.
///
/// Scenarios drive the same machinery by hand: `step()`, `crash(_:)`, `partition(_:_:)`...
public struct Simulator {
    public let options: SimulationOptions
    public private(set) var parameters: SwarmParameters
    public internal(set) var checker = InvariantChecker()
    public internal(set) var now: UInt64 = 0
    public internal(set) var faults: [String: Int] = [:]
    var random: SimulationRandom
    var network: SimulatedNetwork
    var replicas: [SimulatedReplica] = []
    var trace = TraceDigest()
    var eventLog: [String] = []

    /// Client commands not yet acknowledged: id -> (command, tick of the last proposal).
    var outstanding: [UInt64: (command: CounterCommand, lastProposed: UInt64)] = [:]
    var nextCommandID: UInt64 = 1
    public internal(set) var proposed = 0
    public internal(set) var acknowledgedCount = 0
    /// Replicas ever added to the group (spares are added once, removed replicas never come back).
    var everMember: Set<NodeID> = []
    var latestConfigurationIndex: UInt64 = 0
    /// Client proposals per step while true.
    public var clientsActive = true
    /// Random faults per step while true.
    public var faultsActive = true
    var healed = false
    /// Cap on commands in flight from clients.
    var outstandingMax = 64

    public init(options: SimulationOptions) {
        self.init(options: options, parametersOverride: nil)
    }

    /// A simulator with hand-picked parameters (scenarios).
    public init(options: SimulationOptions, parametersOverride: ((inout SwarmParameters) -> Void)?) {
        self.options = options
        var random = SimulationRandom(seed: options.seed)
        var parameters = SwarmParameters(random: &random, excluding: options.excluded)
        if let faultSteps = options.faultSteps { parameters.faultSteps = faultSteps }
        parametersOverride?(&parameters)
        self.parameters = parameters
        self.random = random.fork()
        network = SimulatedNetwork(profile: parameters.network)
        setUpCluster()
    }

    // MARK: - Cluster

    var voterIDs: [NodeID] { (1...parameters.voters).map { NodeID($0) } }

    mutating func setUpCluster() {
        let voters = voterIDs
        let learners = (0..<parameters.learners).map { NodeID(parameters.voters + 1 + $0) }
        let spares = (0..<parameters.spares).map { NodeID(parameters.voters + parameters.learners + 1 + $0) }
        let membership = Membership(voters: voters, learners: learners)
        committedMembership = membership
        var priorities: [NodeID: Int] = [:]
        if random.chance(0.3) {
            for voter in voters { priorities[voter] = random.inRange(0...3) }
        }
        if options.excluded.contains(.priorities)
            || (options.excluded.contains(.prioritiesWithoutPreVote) && !parameters.preVote)
        {
            priorities = [:]
        }
        electionPriorities = priorities
        for id in voters + learners + spares {
            var configuration = RaftConfiguration(
                id: id, membership: membership, preVote: parameters.preVote, checkQuorum: parameters.checkQuorum,
                requireTwoRegionQuorum: false)
            configuration.electionTimeoutTicks = parameters.electionTimeoutTicks
            configuration.heartbeatTicks = min(parameters.heartbeatTicks, parameters.electionTimeoutTicks - 1)
            configuration.maxMessageBytes = parameters.maxMessageBytes
            configuration.maxInflightMessages = parameters.maxInflightMessages
            configuration.randomSeed = random.next()
            configuration.electionPriorities = priorities
            configuration.clusterNodes = Set(voters + learners + spares)
            let isSpare = spares.contains(id)
            var replica = SimulatedReplica(id: id, configuration: configuration, state: isSpare ? .absent : .crashed)
            replica.hardState = HardState()
            replicas.append(replica)
            if !isSpare {
                everMember.insert(id)
                start(index(of: id))
            }
        }
    }

    func index(of id: NodeID) -> Int { Int(id) - 1 }

    /// Starts (or restarts) a replica from its storage: the real recovery on its simulated file system,
    /// checked against the oracle. Returns false when it could not start (full disk, refused data).
    @discardableResult
    mutating func start(_ position: Int) -> Bool {
        let durableCommit = replicas[position].disk.durable.hardState.commit
        guard let (recovered, applied) = recover(position) else { return false }
        var replica = replicas[position]
        var machine = CounterStateMachine()
        var appliedIndex: UInt64?
        let snapshotIndex = recovered.snapshot?.metadata.index ?? 0
        if let snapshot = recovered.snapshot {
            machine = CounterStateMachine(
                snapshotData: snapshot.data, forgettingDeduplication: options.flaws.contains(.forgetDeduplication))
                ?? CounterStateMachine()
        }
        // The applied state is used only within what recovery found committed (a violation was reported
        // otherwise); Raft re-delivers the committed entries after it.
        if let applied, applied.metadata.index > snapshotIndex, applied.metadata.index <= recovered.hardState.commit,
            let restored = CounterStateMachine(
                snapshotData: applied.data, forgettingDeduplication: options.flaws.contains(.forgetDeduplication))
        {
            machine = restored
            appliedIndex = applied.metadata.index
        }
        var persistent = recovered
        persistent.appliedIndex = appliedIndex
        replica.node = RaftNode(configuration: replica.configuration, restoring: persistent)
        replica.machine = machine
        replica.hardState = recovered.hardState
        replica.state = .running
        replica.proposals = [:]
        replica.crashPoint = nil
        replica.syncFailureInjected = false
        replica.incarnation += 1
        replica.status = replica.node?.status
        if let restored = replica.status?.commitIndex, restored < durableCommit {
            checker.fail(.commitDecreased, replica.id, "restarted at commit \(restored) below durable \(durableCommit)")
        }
        replicas[position] = replica
        return true
    }

    // MARK: - Faults (public for scenarios)

    mutating func countFault(_ kind: String) {
        faults[kind, default: 0] += 1
    }

    mutating func note(_ line: @autoclosure () -> String) {
        if options.keepEventLog { eventLog.append("[\(now)] " + line()) }
    }

    /// Kills a replica: its file system keeps what was synced plus a random prefix of each file's
    /// unsynced writes, the next one torn at any byte. What survived shows at the restart (the real
    /// recovery), where it is checked against the oracle and the lost and torn writes are counted.
    public mutating func crash(_ id: NodeID) {
        let position = index(of: id)
        guard replicas[position].state == .running || replicas[position].state == .paused else { return }
        // Drop the storage first: its log closes its file handle, which the crash invalidates.
        replicas[position].storage = nil
        replicas[position].appliedStore = nil
        var generator = SimulationRandomGenerator(random.fork())
        replicas[position].fileSystem.crash(random: &generator)
        replicas[position].node = nil
        replicas[position].status = nil
        replicas[position].state = .crashed
        replicas[position].proposals = [:]
        network.dropAll(to: id)
        countFault("crash")
        trace.record(1, id)
        note("crash \(id)")
    }

    /// Crashes `id` inside the handling of its next `Ready`, at `point`.
    public mutating func scheduleCrash(_ id: NodeID, at point: CrashPoint) {
        replicas[index(of: id)].crashPoint = point
    }

    public mutating func restart(_ id: NodeID) {
        let position = index(of: id)
        guard replicas[position].state == .crashed else { return }
        guard start(position) else { return }
        countFault("restart")
        trace.record(2, id)
        note("restart \(id)")
    }

    public mutating func pause(_ id: NodeID) {
        let position = index(of: id)
        guard replicas[position].state == .running else { return }
        replicas[position].state = .paused
        countFault("pause")
        trace.record(3, id)
        note("pause \(id)")
    }

    public mutating func resume(_ id: NodeID) {
        let position = index(of: id)
        guard replicas[position].state == .paused else { return }
        replicas[position].state = .running
        trace.record(4, id)
        note("resume \(id)")
    }

    /// Cuts both directions between the two sides.
    public mutating func partition(_ sideA: [NodeID], _ sideB: [NodeID]) {
        network.partition(sideA, sideB)
        countFault("partition")
        trace.record(5, UInt64(sideA.count), UInt64(sideB.count))
        note("partition \(sideA) | \(sideB)")
    }

    /// Cuts `from -> to` only.
    public mutating func blockLink(from: NodeID, to: NodeID) {
        network.block(from: from, to: to)
        trace.record(6, from, to)
    }

    public mutating func isolate(_ id: NodeID) {
        let others = replicas.map(\.id).filter { $0 != id }
        network.partition([id], others)
        countFault("isolate")
        trace.record(7, id)
        note("isolate \(id)")
    }

    public mutating func healNetwork() {
        network.heal()
        network.profile = healed ? .calm : parameters.network
        trace.record(8)
        note("heal network")
    }

    public mutating func setClockRate(_ id: NodeID, _ rate: Double) {
        replicas[index(of: id)].clockRate = rate
        countFault("clock-drift")
        trace.record(9, id, UInt64(rate * 1000))
    }

    public mutating func setNetworkProfile(_ profile: NetworkProfile) {
        network.profile = profile
    }

    /// Asks `id` (if leader) to hand leadership to `target`.
    public mutating func transferLeadership(from id: NodeID, to target: NodeID) {
        let position = index(of: id)
        guard replicas[position].state == .running, replicas[position].node != nil else { return }
        let refusal = replicas[position].node!.transferLeadership(to: target)
        countFault("leader-transfer")
        trace.record(10, id, target, refusal == nil ? 1 : 0)
        note("transfer \(id) -> \(target): \(String(describing: refusal))")
    }

    /// Proposes a new membership on `id` (if leader). Spares named in it are started first.
    @discardableResult
    public mutating func changeMembership(on id: NodeID, voters: [NodeID], learners: [NodeID]) -> ProposalResult? {
        let position = index(of: id)
        guard replicas[position].state == .running, replicas[position].node != nil else { return nil }
        let result = replicas[position].node!.proposeMembershipChange(voters: voters, learners: learners)
        countFault("membership-change")
        if case .accepted = result {
            for member in voters + learners where !everMember.contains(member) {
                everMember.insert(member)
                let spare = index(of: member)
                replicas[spare].configuration.membership = Membership(voters: voters, learners: learners)
                start(spare)
            }
        }
        trace.record(11, id, UInt64(voters.count), UInt64(learners.count))
        note("membership \(voters) learners \(learners) on \(id): \(result)")
        return result
    }

    /// Makes `id` take a snapshot of its state machine and compact its log behind it.
    public mutating func takeSnapshot(on id: NodeID) {
        let position = index(of: id)
        guard replicas[position].state == .running, replicas[position].node != nil else { return }
        let machine = replicas[position].machine
        guard machine.appliedIndex > (replicas[position].disk.current.snapshot?.metadata.index ?? 0) else { return }
        let data = machine.snapshotData()
        replicas[position].node!.compact(upTo: machine.appliedIndex, snapshotData: data)
        guard let snapshot = replicas[position].node!.latestSnapshot, snapshot.metadata.index == machine.appliedIndex
        else { return }
        replicas[position].disk.write(.compact(snapshot))
        // A shell that never syncs does not save snapshots either (they would be durable at once).
        if !options.flaws.contains(.neverSync) {
            do throws(WALError) {
                try replicas[position].storage!.saveSnapshot(snapshot)
                try replicas[position].storage!.sync()
            } catch {
                crashStop(position, after: error)
                return
            }
            replicas[position].disk.sync()
        }
        countFault("snapshot")
        trace.record(12, id, snapshot.metadata.index)
        note("snapshot \(id) at \(snapshot.metadata.index)")
    }

    // MARK: - Clients

    /// Proposes a new client command on a replica that believes it leads. Returns its id.
    @discardableResult
    public mutating func proposeCommand(amount: UInt64? = nil) -> UInt64 {
        let command = CounterCommand(id: nextCommandID, amount: amount ?? UInt64(random.inRange(1...1000)))
        nextCommandID += 1
        outstanding[command.id] = (command, now)
        proposed += 1
        submit(command)
        return command.id
    }

    /// Sends `command` to a replica that claims leadership (any, if several do).
    mutating func submit(_ command: CounterCommand) {
        outstanding[command.id]?.lastProposed = now
        let leaders = replicas.indices.filter { replicas[$0].state == .running && replicas[$0].isLeader }
        guard !leaders.isEmpty else { return }
        let position = random.pick(leaders)
        guard let status = replicas[position].status else { return }
        // This leader already holds the command from this term: it commits it or loses leadership; a second
        // copy would only lengthen its log (a real client waits for the outcome or a new leader).
        if let pending = replicas[position].proposals[command.id], pending.term == status.term { return }
        let membership = status.membership
        let result = replicas[position].node!.propose(command.encoded())
        if case .accepted(let index, let term) = result {
            replicas[position].proposals[command.id] = (index, term, membership)
            trace.record(13, replicas[position].id, command.id, index, term)
        } else {
            trace.record(14, replicas[position].id, command.id)
        }
    }

    mutating func runClients() {
        let retryTicks = UInt64(parameters.electionTimeoutTicks * (healed ? 1 : 3))
        for id in outstanding.keys.sorted() {
            guard let entry = outstanding[id], now >= entry.lastProposed + retryTicks else { continue }
            submit(entry.command)
        }
        if clientsActive, outstanding.count < outstandingMax, random.chance(parameters.proposalProbability) {
            proposeCommand()
        }
    }

    // MARK: - Stepping

    /// One simulated tick: faults (while active), network delivery, clients, every replica's shell loop.
    public mutating func step() {
        now += 1
        checker.step = now
        if faultsActive && !healed { injectRandomFaults() }
        let delivered = network.deliverDue(now: now) { [replicas] id in
            let position = Int(id) - 1
            return position >= 0 && position < replicas.count && replicas[position].state != .paused
        }
        var inboxes = [[Message]](repeating: [], count: replicas.count)
        for message in delivered {
            let position = index(of: message.to)
            guard position >= 0, position < replicas.count, replicas[position].state == .running else { continue }
            inboxes[position].append(message)
            if options.keepEventLog {
                let chunk = message.snapshot.map {
                    "\($0.metadata.index)@\($0.offset)+\($0.data.count) last \($0.isLast)"
                }
                note(
                    "deliver \(message.kind) \(message.from)->\(message.to) t\(message.term) i\(message.index) "
                        + "lt\(message.logTerm) n\(message.entries.count) c\(message.commit) reject \(message.reject) "
                        + "hint \(message.rejectHint) chunk \(chunk ?? "-")")
            }
            trace.record(
                15, message.from, message.to, UInt64(message.kind.rawValue), message.term, message.index,
                UInt64(message.entries.count), message.commit, message.reject ? 1 : 0)
        }
        runClients()
        for position in replicas.indices where replicas[position].state == .running {
            runShell(position, inbox: inboxes[position])
        }
        if options.flaws.contains(.sendBeforeSync) {
            for position in replicas.indices where replicas[position].state == .running {
                do throws(WALError) {
                    try replicas[position].storage!.sync()
                } catch {
                    crashStop(position, after: error)
                    continue
                }
                replicas[position].disk.sync()
            }
        }
    }

    /// The shell loop of one replica: tick, step messages, then drain `Ready` honouring its contract.
    mutating func runShell(_ position: Int, inbox: [Message]) {
        replicas[position].clockCarry += replicas[position].clockRate
        while replicas[position].clockCarry >= 1 {
            replicas[position].clockCarry -= 1
            replicas[position].node!.tick()
        }
        for message in inbox {
            replicas[position].node!.step(message)
        }
        var rounds = 0
        while replicas[position].state == .running, replicas[position].node!.hasReady {
            rounds += 1
            precondition(rounds < 10_000, "a replica keeps producing Ready without input")
            let ready = replicas[position].node!.ready()
            if !handle(ready, at: position) { return }
            replicas[position].node!.advance(ready)
        }
        guard replicas[position].state == .running else { return }
        let status = replicas[position].node!.status
        if let previous = replicas[position].status {
            checker.observeCommit(replicas[position].id, previous: previous.commitIndex, now: status.commitIndex)
        }
        replicas[position].status = status
        if status.role == .candidate || status.role == .preCandidate, !mayCampaign(position, status: status) {
            checker.observeLearnerCampaign(
                status.id, term: status.term, detail: "\(status.role) in \(status.membership)")
        }
        if status.role == .leader {
            checker.observeLeader(replicas[position].id, term: status.term, image: replicas[position].disk.current)
        }
    }

    /// Handles one `Ready`. Returns false when the replica crashed part-way.
    mutating func handle(_ ready: Ready, at position: Int) -> Bool {
        let id = replicas[position].id
        let flaws = options.flaws
        // 1. Persist: snapshot, entries, hard state; then sync.
        if let snapshot = ready.snapshot {
            replicas[position].disk.write(.snapshot(snapshot))
            replicas[position].machine = CounterStateMachine(
                snapshotData: snapshot.data, forgettingDeduplication: flaws.contains(.forgetDeduplication))
                ?? CounterStateMachine()
            trace.record(16, id, snapshot.metadata.index, snapshot.metadata.term)
            countFault("snapshot-install")
        }
        if !ready.entries.isEmpty {
            checker.observeWrite(id, batch: ready.entries, before: replicas[position].disk.current)
            replicas[position].disk.write(.entries(ready.entries))
        }
        if let hardState = ready.hardState {
            checker.observeHardState(
                id, old: replicas[position].hardState, new: hardState,
                lastIndex: replicas[position].disk.current.lastIndex)
            replicas[position].disk.write(.hardState(hardState))
            replicas[position].hardState = hardState
        }
        // The real storage: the same writes (an installed snapshot is durable at once).
        if ready.snapshot != nil || !ready.entries.isEmpty || ready.hardState != nil {
            do throws(WALError) {
                try replicas[position].storage!.write(ready)
            } catch {
                crashStop(position, after: error)
                return false
            }
        }
        if ready.snapshot != nil, crashOnSnapshotInstall == id {
            crashOnSnapshotInstall = nil
            countFault("crash-installing-snapshot")
            crash(id)
            return false
        }
        if replicas[position].crashPoint == .beforeSync {
            countFault("crash-before-sync")
            crash(id)
            return false
        }
        if flaws.isDisjoint(with: [.sendBeforeSync, .neverSync]) {
            if parameters.syncFailureProbability > 0, faultsActive, !healed, replicas[position].storage!.log.needsSync,
                random.chance(parameters.syncFailureProbability), downCount < parameters.downMax
            {
                injectSyncFailure(position)
            }
            do throws(WALError) {
                try replicas[position].storage!.sync()
            } catch {
                // Crash-stop: nothing of this Ready may be assumed durable, and its messages are not sent.
                crashStop(position, after: error)
                return false
            }
            replicas[position].disk.sync()
        }
        if replicas[position].crashPoint == .beforeSend {
            countFault("crash-before-send")
            crash(id)
            return false
        }
        // 2. Send.
        for message in ready.messages {
            if message.kind == .vote || message.kind == .preVote { votesRequested += 1 }
            network.send(message, now: now, random: &random)
        }
        // 3. Apply.
        for entry in ready.committedEntries {
            apply(entry, at: position)
            guard replicas[position].state == .running else { return false }
        }
        if replicas[position].crashPoint == .afterApply {
            countFault("crash-after-apply")
            crash(id)
            return false
        }
        // The application persists its applied index now and then (not on every entry: a crash in
        // between must make Raft deliver the committed entries after the durable applied index again).
        // A shell that never syncs does not save it either (a save is durable at once).
        if !ready.committedEntries.isEmpty, random.chance(0.2), !flaws.contains(.neverSync) {
            let machine = replicas[position].machine
            let data = machine.snapshotData()
            replicas[position].disk.write(.applicationState(index: machine.appliedIndex, data: data))
            let metadata = SnapshotMetadata(
                index: machine.appliedIndex, term: 0, membership: replicas[position].configuration.membership)
            do throws(WALError) {
                try replicas[position].appliedStore!.save(Snapshot(metadata: metadata, data: data))
                try replicas[position].storage!.sync()
            } catch {
                crashStop(position, after: error)
                return false
            }
            replicas[position].disk.sync()
        }
        return true
    }

    mutating func apply(_ entry: Entry, at position: Int) {
        let id = replicas[position].id
        let machine = replicas[position].machine
        if entry.index <= machine.appliedIndex {
            checker.fail(
                .appliedTwice, id, "entry \(entry.index) delivered again after applying \(machine.appliedIndex)")
            return
        }
        if entry.index != machine.appliedIndex + 1 {
            checker.fail(.divergentApply, id, "entry \(entry.index) delivered after \(machine.appliedIndex): a gap")
            crash(id)
            return
        }
        let outcome = replicas[position].machine.apply(entry)
        checker.observeApply(
            id, entry: entry, outcome: outcome, stateDigest: replicas[position].machine.stateDigest,
            commit: replicas[position].hardState.commit)
        trace.record(17, id, entry.index, entry.term)
        if entry.kind == .configuration { applyConfiguration(entry) }
        // Acknowledge to the client if this incarnation proposed it.
        let command: CounterCommand
        let effectiveIndex: UInt64
        switch outcome {
        case .nothing: return
        case .applied(let applied): command = applied; effectiveIndex = entry.index
        case .duplicate(let duplicate, let firstIndex): command = duplicate; effectiveIndex = firstIndex
        }
        guard let proposal = replicas[position].proposals.removeValue(forKey: command.id) else { return }
        guard outstanding[command.id] != nil else { return }
        let effectiveTerm = effectiveIndex == entry.index ? entry.term : checker.committed[effectiveIndex]?.term ?? 0
        // The configuration the leader counts under now (the newest one in its log), or the one at proposal.
        let membership = replicas[position].node?.status.membership ?? proposal.membership
        let (durable, detail) = durableOnQuorum(index: effectiveIndex, term: effectiveTerm, membership: membership)
        let durableAtProposal = durable
            || durableOnQuorum(index: effectiveIndex, term: effectiveTerm, membership: proposal.membership).0
        var fullDetail = detail
        if !durableAtProposal, let status = replicas[position].node?.status {
            let matches = status.progress.keys.sorted().map { "\($0):m\(status.progress[$0]!.match)" }
            fullDetail += "; leader progress: " + matches.joined(separator: " ")
            fullDetail += " proposal membership \(proposal.membership) commit \(status.commitIndex)"
        }
        checker.observeAcknowledgement(
            id, command: command.id, index: effectiveIndex, term: effectiveTerm, durableOnQuorum: durableAtProposal,
            detail: fullDetail)
        outstanding[command.id] = nil
        acknowledgedCount += 1
        trace.record(18, id, command.id, effectiveIndex)
    }

    /// A replica may campaign as a voter of the newest configuration in its log, or as a voter of the one
    /// before while the newest is not committed (the core's rule: a leader that appended its own removal and
    /// lost leadership may hold the only log able to win).
    func mayCampaign(_ position: Int, status: RaftStatus) -> Bool {
        if status.membership.allVoters.contains(status.id) { return true }
        let image = replicas[position].disk.current
        var newest: UInt64?
        for entry in image.entries.reversed() where entry.kind == .configuration {
            if newest == nil {
                newest = entry.index
                if entry.index <= status.commitIndex { return false }
                continue
            }
            return Membership(encoded: entry.data)?.allVoters.contains(status.id) ?? false
        }
        guard newest != nil else { return false }
        let previous = image.snapshot?.metadata.membership ?? replicas[position].configuration.membership
        return previous.allVoters.contains(status.id)
    }

    /// Whether `(index, term)` is durable on a majority of each voter set of `membership`.
    func durableOnQuorum(index: UInt64, term: UInt64, membership: Membership) -> (Bool, String) {
        func count(_ voters: [NodeID]) -> Int {
            voters.filter { voter in
                let position = Int(voter) - 1
                return position < replicas.count && replicas[position].disk.durable.covers(index: index, term: term)
            }.count
        }
        let incoming = count(membership.voters)
        var ok = incoming * 2 > membership.voters.count
        var detail = "durable on \(incoming) of voters \(membership.voters)"
        if membership.isJoint {
            let outgoing = count(membership.outgoingVoters)
            ok = ok && outgoing * 2 > membership.outgoingVoters.count
            detail += ", \(outgoing) of outgoing \(membership.outgoingVoters)"
        }
        if !ok {
            detail += "; disks:"
            for voter in membership.allVoters.sorted() {
                let image = replicas[Int(voter) - 1].disk.durable
                let term = image.term(at: index).map(String.init) ?? "-"
                detail += " \(voter):last\(image.lastIndex)/snap\(image.snapshot?.metadata.index ?? 0)/t\(term)"
            }
        }
        return (ok, detail)
    }

    /// A committed configuration that leaves a replica out retires it for good.
    mutating func applyConfiguration(_ entry: Entry) {
        guard let membership = Membership(encoded: entry.data) else { return }
        if entry.index > committedMembershipIndex {
            committedMembershipIndex = entry.index
            committedMembership = membership
        }
        guard entry.index > latestConfigurationIndex, !membership.isJoint else { return }
        latestConfigurationIndex = entry.index
        let members = membership.allMembers
        for position in replicas.indices where replicas[position].state != .absent {
            let id = replicas[position].id
            guard everMember.contains(id), !members.contains(id) else { continue }
            // Removed: shut it down for good once the removal is committed.
            retirements.append(id)
        }
    }

    var retirements: [NodeID] = []
    /// The newest configuration any replica applied (committed), and its index.
    var committedMembership = Membership(voters: [])
    var committedMembershipIndex: UInt64 = 0
    public internal(set) var electionPriorities: [NodeID: Int] = [:]
    /// Vote and pre-vote requests sent (scenarios check elections happened).
    public internal(set) var votesRequested = 0
    /// No random membership changes once a replica is lost for good (a refused bit flip).
    var membershipFrozen = false
    /// Crash this replica before syncing the next `Ready` that installs a snapshot (scenario hook).
    public var crashOnSnapshotInstall: NodeID?
}
