import ExchangeCore
import Matching
public import Wire

extension CommandResult {
    /// The client's answer for an applied new order, cancel or replace: outcome, fills of this
    /// order, its state and leaves after the command. Nil for commands that are not a client's
    /// (halt, resume, bands, session events, heartbeats).
    ///
    /// A duplicate (a retry of a command already applied) carries the original outcome and
    /// `isDuplicate`; its current state is not known from the events (`.unknown`): ask with an
    /// order-status request.
    public init?(applied: AppliedCommand) {
        let participant: ParticipantID
        let clientOrderID: ClientOrderID
        let symbol: Symbol
        var orderID: OrderID
        var stopPending = false
        switch applied.command {
        case .newOrder(let order):
            (participant, clientOrderID, symbol, orderID) = (
                order.participant, order.clientOrderID, order.symbol, order.orderID
            )
            stopPending = order.type == .stop || order.type == .stopLimit
        case .cancel(let cancel):
            (participant, clientOrderID, symbol, orderID) = (
                cancel.participant, cancel.clientOrderID, cancel.symbol, cancel.orderID
            )
        case .replace(let replace):
            (participant, clientOrderID, symbol, orderID) = (
                replace.participant, replace.clientOrderID, replace.symbol, replace.orderID
            )
        case .halt, .resume, .setPriceBand, .endOfSession, .heartbeat:
            return nil
        }
        var outcome = Outcome.accepted
        var isDuplicate = false
        var state = ClientOrderState.unknown
        var leaves = Quantity(0)
        var fills: [Fill] = []
        for event in applied.events {
            switch event {
            case .duplicate(let duplicate):
                isDuplicate = true
                switch duplicate.outcome {
                case .accepted(let original): orderID = original
                case .rejected(let reason): outcome = .rejected(reason)
                }
            case .rejected(let rejected) where rejected.clientOrderID == clientOrderID:
                outcome = .rejected(rejected.reason)
                state = .unknown
            case .accepted(let accepted) where accepted.orderID == orderID:
                leaves = accepted.quantity
                state = stopPending ? .stopPending : .resting
            case .triggered(let triggered) where triggered.orderID == orderID:
                state = .resting
            case .replaced(let replaced) where replaced.orderID == orderID:
                leaves = replaced.leavesQuantity
                state = leaves.rawValue > 0 ? .resting : .filled
            case .trade(let trade) where trade.buyOrderID == orderID || trade.sellOrderID == orderID:
                let isBuy = trade.buyOrderID == orderID
                let ourLeaves = isBuy ? trade.buyLeaves : trade.sellLeaves
                let liquidity: Fill.Liquidity =
                    switch trade.aggressor {
                    case nil: .auction
                    case .some(let side): (side == .buy) == isBuy ? .taker : .maker
                    }
                fills.append(
                    Fill(
                        tradeID: trade.id, price: trade.price, quantity: trade.quantity, leavesQuantity: ourLeaves,
                        liquidity: liquidity))
                leaves = ourLeaves
                state = ourLeaves.rawValue == 0 ? .filled : .resting
            case .cancelled(let cancelled) where cancelled.orderID == orderID:
                leaves = cancelled.leavesQuantity
                state = cancelled.leavesQuantity.rawValue == 0 ? .cancelled : .resting
            case .expired(let expired) where expired.orderID == orderID:
                leaves = Quantity(0)
                state = .cancelled
            default:
                continue
            }
        }
        if case .rejected = outcome { leaves = Quantity(0) }
        let truncated = fills.count > CommandResult.maxFills
        self.init(
            participant: participant, clientOrderID: clientOrderID, orderID: orderID, symbol: symbol,
            outcome: outcome, isDuplicate: isDuplicate, orderState: state, leavesQuantity: leaves,
            logIndex: applied.logIndex, timestamp: applied.timestamp,
            fills: Array(fills.prefix(CommandResult.maxFills)), fillsTruncated: truncated)
    }
}
