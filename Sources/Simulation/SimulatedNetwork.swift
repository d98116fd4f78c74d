import Raft

/// How a seed's network misbehaves. Probabilities are per message.
public struct NetworkProfile: Sendable, Hashable {
    /// Default: 1. Range: 1...`delayTicksMax`.
    public var delayTicksMin: Int = 1
    /// Default: 3. Range: 1...20.
    public var delayTicksMax: Int = 3
    /// Default: 0. Range: 0...0.3.
    public var lossProbability: Double = 0
    /// Default: 0. Range: 0...0.2.
    public var duplicateProbability: Double = 0
    /// Extra random delay of up to `reorderTicksMax` ticks with this probability. Default: 0.
    public var reorderProbability: Double = 0
    /// Default: 0. Range: 0...20.
    public var reorderTicksMax: Int = 0

    public init() {}

    /// The calm network of the liveness phase.
    public static let calm = NetworkProfile()
}

/// A message on its way.
struct InFlightMessage {
    var deliverAt: UInt64
    var sequence: UInt64
    var message: Message
}

/// Simulated links between replicas: delay, loss, duplication, reordering, partitions (directed, so
/// asymmetric partitions are a subset of links), and flapping links that go up and down on a period.
struct SimulatedNetwork {
    var profile: NetworkProfile
    private(set) var inFlight: [InFlightMessage] = []
    private var sequence: UInt64 = 0
    /// Directed links `from -> to` that drop everything.
    private(set) var blocked: Set<Link> = []
    /// Links that alternate between up and down every `period` ticks.
    private(set) var flapping: [Link: UInt64] = [:]
    private(set) var sent = 0
    private(set) var dropped = 0
    private(set) var duplicated = 0
    private(set) var reordered = 0

    struct Link: Hashable {
        var from: NodeID
        var to: NodeID
    }

    init(profile: NetworkProfile) {
        self.profile = profile
    }

    func isUp(from: NodeID, to: NodeID, now: UInt64) -> Bool {
        let link = Link(from: from, to: to)
        if blocked.contains(link) { return false }
        if let period = flapping[link], (now / period) % 2 == 1 { return false }
        return true
    }

    mutating func send(_ message: Message, now: UInt64, random: inout SimulationRandom) {
        sent += 1
        if !isUp(from: message.from, to: message.to, now: now) || random.chance(profile.lossProbability) {
            dropped += 1
            return
        }
        enqueue(message, now: now, random: &random)
        if random.chance(profile.duplicateProbability) {
            duplicated += 1
            enqueue(message, now: now, random: &random)
        }
    }

    private mutating func enqueue(_ message: Message, now: UInt64, random: inout SimulationRandom) {
        var delay = UInt64(random.inRange(profile.delayTicksMin...max(profile.delayTicksMin, profile.delayTicksMax)))
        if profile.reorderTicksMax > 0, random.chance(profile.reorderProbability) {
            delay += UInt64(random.inRange(1...profile.reorderTicksMax))
            reordered += 1
        }
        sequence += 1
        inFlight.append(InFlightMessage(deliverAt: now + delay, sequence: sequence, message: message))
    }

    /// Removes and returns the messages due at `now` for replicas `accepting` says can receive, in
    /// delivery order. Messages to a paused replica wait; the caller drops those to a crashed one.
    mutating func deliverDue(now: UInt64, accepting: (NodeID) -> Bool) -> [Message] {
        var due: [InFlightMessage] = []
        var keep: [InFlightMessage] = []
        keep.reserveCapacity(inFlight.count)
        for item in inFlight {
            if item.deliverAt <= now && accepting(item.message.to) {
                due.append(item)
            } else {
                keep.append(item)
            }
        }
        inFlight = keep
        due.sort { ($0.deliverAt, $0.sequence) < ($1.deliverAt, $1.sequence) }
        var delivered: [Message] = []
        delivered.reserveCapacity(due.count)
        for item in due {
            // A link that went down while the message was in the air loses it.
            if isUp(from: item.message.from, to: item.message.to, now: now) {
                delivered.append(item.message)
            } else {
                dropped += 1
            }
        }
        return delivered
    }

    /// Drops everything queued for `node` (it crashed: its sockets are gone).
    mutating func dropAll(to node: NodeID) {
        let before = inFlight.count
        inFlight.removeAll { $0.message.to == node }
        dropped += before - inFlight.count
    }

    mutating func block(from: NodeID, to: NodeID) {
        blocked.insert(Link(from: from, to: to))
    }

    mutating func flap(from: NodeID, to: NodeID, period: UInt64) {
        flapping[Link(from: from, to: to)] = max(1, period)
    }

    /// Splits `nodes` into two sides that cannot talk to each other (both directions).
    mutating func partition(_ sideA: [NodeID], _ sideB: [NodeID]) {
        for a in sideA {
            for b in sideB {
                block(from: a, to: b)
                block(from: b, to: a)
            }
        }
    }

    /// Removes every partition and flapping link and calms the network.
    mutating func heal() {
        blocked.removeAll()
        flapping.removeAll()
        profile = .calm
    }
}
