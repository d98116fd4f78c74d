import ExchangeCore

/// One order in the engine's pool. Resting orders are linked FIFO within their level.
struct OrderRecord: Sendable {
    var orderID: UInt64 = 0
    var account: UInt64 = 0
    var clientOrderID: UInt64 = 0
    var price: Int64 = 0
    var stopPrice: Int64 = 0
    /// Current total quantity (replace changes it).
    var quantity: Int64 = 0
    var leaves: Int64 = 0
    var visible: Int64 = 0
    /// Iceberg peak; 0 when fully visible.
    var display: Int64 = 0
    /// Quantity traded.
    var filled: Int64 = 0
    var expireAt: Int64 = 0
    /// Sequence of the command that accepted the order (stop trigger tie-break).
    var entrySequence: UInt64 = 0
    var participant: UInt32 = 0
    var book: Int32 = -1
    /// Level slot while resting, -1 otherwise.
    var level: Int32 = -1
    var prev: Int32 = -1
    var next: Int32 = -1
    var side: Side = .buy
    var type: OrderType = .limit
    var timeInForce: TimeInForce = .gtc
    var selfTradePrevention: SelfTradePrevention = .none
    var postOnly: Bool = false
    var untriggered: Bool = false
}

/// One price level: a FIFO of resting orders.
struct LevelRecord: Sendable {
    var price: Int64
    /// Sum of the visible quantity of its orders.
    var visible: Int64
    var head: Int32
    var tail: Int32
    var count: Int32
    var book: Int32
    var side: Side
}

/// An untriggered stop in its symbol's trigger queue.
struct StopEntry: Sendable, Equatable {
    var stopPrice: Int64
    var entrySequence: UInt64
    var slot: Int32
}

/// Everything the engine keeps per symbol.
struct BookState: Sendable {
    // Hot fields first: they share the first cache line of the book.
    var bids = Ladder()
    var asks = Ladder()
    var haltReason: HaltReason? = nil
    var referencePrice: Int64
    var bandBasisPoints: Int64
    /// 0 until the first trade.
    var lastTradePrice: Int64 = 0
    var reopenAt: Int64 = 0
    /// Sorted so that the next to trigger is last: stop price descending, then sequence descending.
    var buyStops: [StopEntry] = []
    /// Sorted so that the next to trigger is last: stop price ascending, then sequence descending.
    var sellStops: [StopEntry] = []
    var breaker: BreakerWindow
    var rules: InstrumentRules

    init(rules: InstrumentRules) {
        self.rules = rules
        self.referencePrice = rules.referencePrice.rawValue
        self.bandBasisPoints = rules.priceBandBasisPoints
        self.breaker = BreakerWindow(seconds: rules.breakerWindowSeconds)
    }

    @inline(__always) var breakerEnabled: Bool { rules.breakerThresholdBasisPoints > 0 }
}

/// A pending GTD expiry; entries of orders that died since are skipped when popped.
struct ExpiryEntry: Sendable {
    var expireAt: Int64
    var orderID: UInt64

    @inline(__always) static func precedes(_ a: Self, _ b: Self) -> Bool {
        a.expireAt < b.expireAt || (a.expireAt == b.expireAt && a.orderID < b.orderID)
    }
}

/// Per-participant de-duplication state (docs/MATCHING.md §2), in flat arrays:
/// session `s` owns ring slots `s * window ..< (s + 1) * window`.
struct SessionTable: Sendable {
    let window: Int
    var index = OrderIndex(minimumCapacity: 64)
    var participants: [UInt32] = []
    var highWater: [UInt64] = []
    var start: [Int] = []
    var count: [Int] = []
    var clientOrderIDs: [UInt64] = []
    var orderIDs: [UInt64] = []
    /// 0: accepted; otherwise a `RejectReason` raw value.
    var reasons: [UInt16] = []

    init(window: Int) {
        self.window = window
    }

    @inline(__always) func session(of participant: UInt32) -> Int? {
        index.find(UInt64(participant)).map { Int($0) }
    }

    mutating func createSession(_ participant: UInt32) -> Int {
        let s = participants.count
        participants.append(participant)
        highWater.append(0)
        start.append(0)
        count.append(0)
        clientOrderIDs.append(contentsOf: repeatElement(0, count: window))
        orderIDs.append(contentsOf: repeatElement(0, count: window))
        reasons.append(contentsOf: repeatElement(0, count: window))
        index.insert(UInt64(participant), Int32(s))
        return s
    }

    /// The remembered outcome of `clientOrderID`, if it is still in the window.
    func outcome(session s: Int, clientOrderID: UInt64) -> CommandOutcome? {
        // Ids in the ring increase from oldest to newest: binary search.
        var low = 0
        var high = count[s]
        let base = s * window
        while low < high {
            let mid = (low + high) / 2
            let id = clientOrderIDs[base + (start[s] + mid) % window]
            if id < clientOrderID { low = mid + 1 } else { high = mid }
        }
        guard low < count[s] else { return nil }
        let slot = base + (start[s] + low) % window
        guard clientOrderIDs[slot] == clientOrderID else { return nil }
        let reason = reasons[slot]
        if reason == 0 { return .accepted(OrderID(orderIDs[slot])) }
        return .rejected(RejectReason(rawValue: reason)!)
    }

    @inline(__always)
    mutating func record(session s: Int, clientOrderID: UInt64, orderID: UInt64, reason: UInt16) {
        let base = s * window
        if count[s] == window {
            start[s] = start[s] + 1 == window ? 0 : start[s] + 1
            count[s] -= 1
        }
        var position = start[s] + count[s]
        if position >= window { position -= window }
        clientOrderIDs[base + position] = clientOrderID
        orderIDs[base + position] = orderID
        reasons[base + position] = reason
        count[s] += 1
        highWater[s] = clientOrderID
    }
}
