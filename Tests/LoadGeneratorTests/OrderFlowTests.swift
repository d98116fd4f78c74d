import ExchangeClient
import ExchangeCore
import Glibc
import Matching
import Testing
import Wire
import Workloads

@testable import LoadGenerator

/// A stand-in for the exchange that answers an `OrderFlow`'s commands: new GTC limits rest under fresh order ids,
/// IOC orders are done at once, cancels and replaces of resting orders succeed, and orders the exchange filled
/// behind the bot's back (`fillEveryNth`) make the next cancel or replace of them a rejection.
private struct FakeExchange {
    var nextOrderID: UInt64 = 1
    var logIndex: UInt64 = 0
    var resting: Set<OrderID> = []
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func answer(_ command: FlowCommand) -> CommandResult {
        logIndex += 1
        func result(_ orderID: OrderID, _ outcome: CommandResult.Outcome, _ state: ClientOrderState) -> CommandResult {
            CommandResult(
                participant: ParticipantID(1), clientOrderID: command.clientOrderID, orderID: orderID,
                symbol: command.symbol, outcome: outcome, orderState: state, leavesQuantity: Quantity(0),
                logIndex: logIndex, timestamp: .zero)
        }
        switch command {
        case .newOrder(let order):
            let orderID = OrderID(nextOrderID)
            nextOrderID += 1
            if order.timeInForce == .ioc { return result(orderID, .accepted, .cancelled) }
            resting.insert(orderID)
            return result(orderID, .accepted, .resting)
        case .cancel(let cancel):
            guard resting.remove(cancel.orderID) != nil else {
                return result(cancel.orderID, .rejected(.unknownOrder), .unknown)
            }
            return result(cancel.orderID, .accepted, .cancelled)
        case .replace(let replace):
            guard resting.contains(replace.orderID) else {
                return result(replace.orderID, .rejected(.unknownOrder), .unknown)
            }
            return result(replace.orderID, .accepted, .resting)
        }
    }

    /// Another bot's marketable order fills a random resting order (the flow is not told).
    mutating func fillOneBehindTheBotsBack() {
        guard !resting.isEmpty else { return }
        let sorted = resting.sorted()
        resting.remove(sorted[random.next(below: sorted.count)])
    }
}

@Suite struct OrderFlowTests {
    static let instruments = [
        FlowInstrument(
            rules: InstrumentRules(symbol: Symbol("AAPL"), tickSize: 100, referencePrice: Price(1_900_000)))!,
        FlowInstrument(
            rules: InstrumentRules(
                symbol: Symbol("TSLA"), tickSize: 100, priceBandBasisPoints: 2_000, referencePrice: Price(2_500_000)))!,
    ]

    /// Runs `count` commands with up to `inFlight` unanswered at once (answered in a seeded random order) and
    /// checks on every cancel and replace that it names an order this flow learned resting and that no other
    /// command in flight names. Returns the commands.
    func drive(seed: UInt64, count: Int, inFlight: Int = 8) -> [FlowCommand] {
        var flow = OrderFlow(
            participant: ParticipantID(1), instruments: Self.instruments, seed: seed, restingTarget: 50,
            firstClientOrderID: 1_000)
        var exchange = FakeExchange(seed: seed &+ 1)
        var scheduler = SplitMix64(seed: 99)
        var commands: [FlowCommand] = []
        var pending: [FlowCommand] = []
        var learnedResting: Set<OrderID> = []
        var named: Set<OrderID> = []
        var lastClientOrderID: UInt64 = 999
        while commands.count < count || !pending.isEmpty {
            if commands.count < count && pending.count < inFlight {
                let command = flow.next()
                #expect(command.clientOrderID.rawValue == lastClientOrderID + 1, "client order ids increase by one")
                lastClientOrderID = command.clientOrderID.rawValue
                if let target = command.targetOrderID {
                    #expect(learnedResting.contains(target), "\(command) names an order the flow never learned")
                    #expect(flow.knows(target, in: command.symbol))
                    #expect(!named.contains(target), "\(command) names an order already named in flight")
                    named.insert(target)
                }
                commands.append(command)
                pending.append(command)
                continue
            }
            let command = pending.remove(at: scheduler.next(below: pending.count))
            if scheduler.next(below: 20) == 0 { exchange.fillOneBehindTheBotsBack() }
            if scheduler.next(below: 100) == 0 {
                flow.forget(command)
                if let target = command.targetOrderID { learnedResting.remove(target) }
            } else {
                let result = exchange.answer(command)
                if case .newOrder(let order) = command, order.timeInForce == .gtc {
                    learnedResting.insert(result.orderID)
                }
                if case .cancel(let cancel) = command { learnedResting.remove(cancel.orderID) }
                if case .replace(let replace) = command, case .rejected = result.outcome {
                    learnedResting.remove(replace.orderID)
                }
                flow.learn(command, result: result)
            }
            if let target = command.targetOrderID { named.remove(target) }
        }
        return commands
    }

    @Test func sameSeedSameCommands() {
        let first = drive(seed: 7, count: 3_000)
        let second = drive(seed: 7, count: 3_000)
        let other = drive(seed: 8, count: 3_000)
        #expect(first == second)
        #expect(first != other)
    }

    @Test func cancelsAndReplacesNameOnlyKnownOrdersAndTheMixIsW1a() {
        // Re-run a failing seed with ORDER_FLOW_SEED=<seed>.
        let seed =
            getenv("ORDER_FLOW_SEED").flatMap { UInt64(String(cString: $0)) } ?? UInt64.random(in: 1...UInt64.max)
        print("OrderFlowTests seed \(seed) (re-run with ORDER_FLOW_SEED=\(seed))")
        let commands = drive(seed: seed, count: 20_000)
        var kinds: [AckRecord.Kind: Int] = [:]
        var marketable = 0
        for command in commands {
            kinds[command.kind, default: 0] += 1
            if case .newOrder(let order) = command, order.timeInForce == .ioc { marketable += 1 }
        }
        // W1a: 82% replace, 9% new limit, 6% cancel, 3% IOC; below the resting target cancels become new limits.
        #expect(kinds[.replace, default: 0] > commands.count * 70 / 100, "\(kinds)")
        #expect(kinds[.cancel, default: 0] > 0, "\(kinds)")
        #expect(marketable > commands.count / 100 && marketable < commands.count * 6 / 100, "\(marketable)")
    }

    @Test func pricesStayOnTickInsideHalfTheBand() {
        var flow = OrderFlow(
            participant: ParticipantID(3), instruments: Self.instruments, seed: 5, restingTarget: 10)
        for _ in 0..<2_000 {
            let command = flow.next()
            let instrument = Self.instruments.first { $0.symbol == command.symbol }!
            let price: Int64
            switch command {
            case .newOrder(let order):
                price = order.price.rawValue
                #expect(order.participant == ParticipantID(3) && order.account == AccountID(3))
                #expect(order.quantity.rawValue >= 1 && order.quantity.rawValue % instrument.lotSize == 0)
            case .replace(let replace): price = replace.price.rawValue
            case .cancel: continue
            }
            #expect(price % instrument.tickSize == 0)
            let distance = abs(price - instrument.referencePrice)
            #expect(distance >= instrument.tickSize)
            // Within half of the 10% (AAPL) or 20% (TSLA) band, and never beyond W1a's 800 ticks (+1 for IOC).
            #expect(distance <= instrument.referencePrice / 20 * (instrument.symbol == Symbol("TSLA") ? 2 : 1))
            #expect(distance <= instrument.tickSize * 801)
            if case .newOrder(let order) = command, order.timeInForce == .gtc {
                flow.learn(
                    command,
                    result: CommandResult(
                        participant: ParticipantID(3), clientOrderID: order.clientOrderID,
                        orderID: OrderID(order.clientOrderID.rawValue), symbol: order.symbol, outcome: .accepted,
                        orderState: .resting, leavesQuantity: order.quantity, logIndex: 1, timestamp: .zero))
            } else {
                flow.forget(command)
            }
        }
    }

    @Test func tooLowAReferencePriceHasNoGrid() {
        let penny = InstrumentRules(symbol: Symbol("PENNY"), tickSize: 100, referencePrice: Price(100))
        #expect(FlowInstrument(rules: penny) == nil)
    }
}
