import ExchangeCore
import Matching
import Wire

/// The node loop's side of the execution feed: turns the commands a pass applied into an
/// `ExecutionBatch` and publishes it. Keeps, per shard, which participant owns each live order,
/// because cancel, expiry and trigger events name only the order (their order may be gone from the
/// book once the pass is over).
///
/// - Important: node loop thread only; call `seed` once before the first pass and `publish` after
///   every `ShardHost.drain`.
struct ExecutionPublisher {
    /// Rebuild an index from its engine once it holds this many more orders than the engine has
    /// live ones (orders that ended without an event saying so): bounds its memory.
    static let ownerSlackMax = 65_536

    private var owners: [UInt32: OrderOwnerIndex] = [:]
    /// Latest snapshot index seen per shard, to notice a snapshot installed from the leader.
    private var snapshotIndex: [UInt32: UInt64] = [:]

    /// Builds every shard's owner index from its engine (after recovery, before the first pass).
    mutating func seed(_ host: ShardHost) {
        for (shard, replica) in host.replicas {
            owners[shard] = OrderOwnerIndex(engine: replica.engine)
            snapshotIndex[shard] = replica.raft.latestSnapshot?.metadata.index ?? 0
        }
    }

    mutating func publish(_ output: HostOutput, host: ShardHost, to feed: ExecutionFeed) {
        // A snapshot installed in this pass replaced the engine: the orders it holds are not in the
        // index. A local compaction also moves the snapshot index, but only past entries this pass
        // applied; reseeding then is merely wasted work.
        for (shard, replica) in host.replicas {
            let latest = replica.raft.latestSnapshot?.metadata.index ?? 0
            guard latest != snapshotIndex[shard] else { continue }
            snapshotIndex[shard] = latest
            let appliedUpToIt = output.applied.contains { $0.shard == shard && $0.command.logIndex <= latest }
            if !appliedUpToIt { owners[shard] = OrderOwnerIndex(engine: replica.engine) }
        }
        if output.applied.isEmpty { return }
        let encode = feed.hasSubscribers
        var batch = ExecutionBatch()
        var eventIndex: UInt32 = 0
        for (shard, applied) in output.applied {
            guard let replica = host.replicas[shard] else { continue }
            if applied.position == 0 { eventIndex = 0 }
            let commandSymbol = applied.command.symbol
            for event in applied.events {
                let eventOwners = owners[shard, default: OrderOwnerIndex()].observe(event, engine: replica.engine)
                if encode {
                    batch.append(
                        shard: shard,
                        report: ExecutionReport(
                            logIndex: applied.logIndex, eventIndex: eventIndex, timestamp: applied.timestamp,
                            event: event),
                        symbol: event.symbol ?? commandSymbol, owners: eventOwners)
                }
                eventIndex += 1
            }
        }
        for (shard, replica) in host.replicas {
            if let index = owners[shard], index.count > replica.engine.liveOrderCount + Self.ownerSlackMax {
                owners[shard] = OrderOwnerIndex(engine: replica.engine)
            }
        }
        if encode { feed.publish(batch) }
    }
}

/// Order id -> participant for the live orders of one shard.
struct OrderOwnerIndex {
    private var owners: [OrderID: ParticipantID] = [:]

    init() {}

    /// Every resting order and untriggered stop of `engine`.
    init(engine: MatchingEngine) {
        for instrument in engine.configuration.instruments {
            let symbol = instrument.symbol
            if let book = engine.book(symbol) {
                for order in book.bids { owners[order.orderID] = order.participant }
                for order in book.asks { owners[order.orderID] = order.participant }
            }
            for stop in engine.untriggeredStops(symbol) ?? [] { owners[stop.orderID] = stop.participant }
        }
    }

    var count: Int { owners.count }

    /// The participants `event` concerns, updating the index with it. An order not in the index is
    /// looked up in `engine` (after the pass: found only if still live).
    mutating func observe(_ event: Event, engine: MatchingEngine) -> (ParticipantID?, ParticipantID?) {
        switch event {
        case .accepted(let accepted):
            owners[accepted.orderID] = accepted.participant
            return (accepted.participant, nil)
        case .rejected(let rejected):
            return (rejected.participant.rawValue == 0 ? nil : rejected.participant, nil)
        case .duplicate(let duplicate):
            return (duplicate.participant, nil)
        case .trade(let trade):
            if trade.buyLeaves.rawValue == 0 { owners[trade.buyOrderID] = nil }
            if trade.sellLeaves.rawValue == 0 { owners[trade.sellOrderID] = nil }
            return (trade.buyParticipant, trade.buyParticipant == trade.sellParticipant ? nil : trade.sellParticipant)
        case .cancelled(let cancelled):
            let owner = owner(of: cancelled.orderID, engine: engine)
            if cancelled.leavesQuantity.rawValue == 0 { owners[cancelled.orderID] = nil }
            return (owner, nil)
        case .replaced(let replaced):
            owners[replaced.orderID] = replaced.leavesQuantity.rawValue == 0 ? nil : replaced.participant
            return (replaced.participant, nil)
        case .expired(let expired):
            let owner = owner(of: expired.orderID, engine: engine)
            owners[expired.orderID] = nil
            return (owner, nil)
        case .triggered(let triggered):
            return (owner(of: triggered.orderID, engine: engine), nil)
        case .halted, .auction, .resumed, .priceBandSet, .bookDelta:
            return (nil, nil)
        }
    }

    private mutating func owner(of order: OrderID, engine: MatchingEngine) -> ParticipantID? {
        if let known = owners[order] { return known }
        guard let live = engine.order(order)?.participant else { return nil }
        owners[order] = live
        return live
    }
}

extension Event {
    /// The symbol the event is about; nil for a duplicate (its command names it).
    var symbol: Symbol? {
        switch self {
        case .accepted(let e): e.symbol
        case .rejected(let e): e.symbol
        case .duplicate: nil
        case .trade(let e): e.symbol
        case .cancelled(let e): e.symbol
        case .replaced(let e): e.symbol
        case .expired(let e): e.symbol
        case .triggered(let e): e.symbol
        case .halted(let e): e.symbol
        case .auction(let e): e.symbol
        case .resumed(let symbol): symbol
        case .priceBandSet(let e): e.symbol
        case .bookDelta(let e): e.symbol
        }
    }
}

extension Command {
    /// The symbol the command names; nil for session-wide commands.
    var symbol: Symbol? {
        switch self {
        case .newOrder(let order): order.symbol
        case .cancel(let cancel): cancel.symbol
        case .replace(let replace): replace.symbol
        case .halt(let symbol), .resume(let symbol): symbol
        case .setPriceBand(let symbol, _, _): symbol
        case .endOfSession, .heartbeat: nil
        }
    }
}
