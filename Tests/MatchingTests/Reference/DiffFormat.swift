import ExchangeCore
import Matching

/// One-line descriptions of commands and events for failure messages, and a side-by-side diff
/// of two event lists.
enum DiffFormat {
    static func describe(_ command: Command) -> String {
        switch command {
        case .newOrder(let o):
            var text =
                "newOrder \(o.orderID) \(o.participant) \(o.clientOrderID) \(o.account) \(o.symbol) \(o.side) "
                + "\(o.type) \(o.timeInForce) px=\(o.price) stop=\(o.stopPrice) qty=\(o.quantity)"
            if o.displayQuantity != .zero { text += " display=\(o.displayQuantity)" }
            if o.postOnly { text += " postOnly" }
            if o.selfTradePrevention != .none { text += " stp=\(o.selfTradePrevention)" }
            if o.expireAt != .zero { text += " expireAt=\(o.expireAt)" }
            return text
        case .cancel(let c):
            return "cancel \(c.orderID) \(c.participant) \(c.clientOrderID) \(c.symbol)"
        case .replace(let r):
            return
                "replace \(r.orderID) \(r.participant) \(r.clientOrderID) \(r.symbol) px=\(r.price) qty=\(r.quantity)"
        case .halt(let symbol): return "halt \(symbol)"
        case .resume(let symbol): return "resume \(symbol)"
        case .setPriceBand(let symbol, let basisPoints, let reference):
            return "setPriceBand \(symbol) bp=\(basisPoints) ref=\(reference)"
        case .endOfSession: return "endOfSession"
        case .heartbeat: return "heartbeat"
        }
    }

    static func describe(_ event: Event) -> String {
        switch event {
        case .accepted(let a):
            return "accepted \(a.orderID) \(a.participant) \(a.clientOrderID) \(a.account) \(a.symbol) \(a.side) "
                + "\(a.type) \(a.timeInForce) px=\(a.price) stop=\(a.stopPrice) qty=\(a.quantity) "
                + "display=\(a.displayQuantity)"
        case .rejected(let r):
            return "rejected \(r.participant) \(r.clientOrderID) \(r.orderID) \(r.symbol) \(r.reason)"
        case .duplicate(let d):
            return "duplicate \(d.participant) \(d.clientOrderID) \(d.outcome)"
        case .trade(let t):
            let aggressor = t.aggressor.map { "\($0)" } ?? "auction"
            return "trade \(t.id) \(t.symbol) \(t.quantity)@\(t.price) aggressor=\(aggressor) "
                + "buy=\(t.buyOrderID)/\(t.buyAccount)/\(t.buyParticipant) leaves=\(t.buyLeaves) "
                + "sell=\(t.sellOrderID)/\(t.sellAccount)/\(t.sellParticipant) leaves=\(t.sellLeaves) t=\(t.timestamp)"
        case .cancelled(let c):
            return
                "cancelled \(c.orderID) \(c.symbol) qty=\(c.cancelledQuantity) leaves=\(c.leavesQuantity) \(c.reason)"
        case .replaced(let r):
            return "replaced \(r.orderID) \(r.participant) \(r.clientOrderID) \(r.symbol) px=\(r.price) "
                + "qty=\(r.quantity) leaves=\(r.leavesQuantity) keptPriority=\(r.keptPriority)"
        case .expired(let e):
            return "expired \(e.orderID) \(e.symbol) leaves=\(e.leavesQuantity)"
        case .triggered(let t):
            return "triggered \(t.orderID) \(t.symbol) stop=\(t.stopPrice) last=\(t.lastTradePrice)"
        case .halted(let h):
            return "halted \(h.symbol) \(h.reason) reopenAt=\(h.reopenAt)"
        case .auction(let a):
            return "auction \(a.symbol) px=\(a.price) volume=\(a.volume) imbalance=\(a.imbalance)"
        case .resumed(let symbol):
            return "resumed \(symbol)"
        case .priceBandSet(let p):
            return "priceBandSet \(p.symbol) bp=\(p.basisPoints) ref=\(p.referencePrice)"
        case .bookDelta(let d):
            return "bookDelta \(d.symbol) \(d.side) \(d.price) qty=\(d.quantity)"
        }
    }

    /// The event's case name.
    static func kind(_ event: Event) -> String {
        switch event {
        case .accepted: "accepted"
        case .rejected: "rejected"
        case .duplicate: "duplicate"
        case .trade: "trade"
        case .cancelled: "cancelled"
        case .replaced: "replaced"
        case .expired: "expired"
        case .triggered: "triggered"
        case .halted: "halted"
        case .auction: "auction"
        case .resumed: "resumed"
        case .priceBandSet: "priceBandSet"
        case .bookDelta: "bookDelta"
        }
    }

    /// Both lists, index by index; differing lines are marked with `!`.
    static func diff(
        expected: [Event], actual: [Event], expectedName: String = "reference",
        actualName: String = "engine"
    ) -> String {
        var lines: [String] = []
        let width = max(expectedName.count, actualName.count)
        func pad(_ name: String) -> String { name + String(repeating: " ", count: width - name.count) }
        for index in 0..<max(expected.count, actual.count) {
            let left = index < expected.count ? describe(expected[index]) : "(none)"
            let right = index < actual.count ? describe(actual[index]) : "(none)"
            if index < expected.count && index < actual.count && expected[index] == actual[index] {
                lines.append("    [\(index)] \(left)")
            } else {
                lines.append("  ! [\(index)] \(pad(expectedName)): \(left)")
                lines.append("  ! [\(index)] \(pad(actualName)): \(right)")
            }
        }
        if lines.isEmpty { lines.append("    (no events on either side)") }
        return lines.joined(separator: "\n")
    }
}
