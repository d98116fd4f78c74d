import ExchangeCore
import Foundation
import Matching
import Testing

/// Runs `MatchingEngine` and `ReferenceEngine` on the same seeded command streams and requires
/// identical events for every command; every `viewInterval` commands the views must agree too.
/// On the fast engine it also checks the invariants of `MatchingPropertyChecker` on every step,
/// and restores snapshots at random points: a restored engine must have the original's
/// `stateHash()` and views, then emit exactly the original's events for the rest of the stream.
/// To keep one replica running, not one per point, the next point snapshots the replica (so a
/// restored engine is also snapshotted and restored again) and the replica before it retires.
///
/// Environment:
/// - `DIFF_SEED=n`: run only seed `n` (a failure prints the seed to use).
/// - `DIFF_COMMANDS=n`: commands in total over all seeds (with `DIFF_SEED`: for that seed).
///   Default: 1,000,000, in debug builds too (about 70 s of CPU on two cores in debug, 10 s in
///   release); the eight seeds run in parallel.
@Suite struct DifferentialTests {
    static let defaultSeeds: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8]

    static let seeds: [UInt64] = {
        if let text = ProcessInfo.processInfo.environment["DIFF_SEED"], let seed = UInt64(text) { return [seed] }
        return defaultSeeds
    }()

    static let commandsPerSeed: Int = {
        let total = ProcessInfo.processInfo.environment["DIFF_COMMANDS"].flatMap { Int($0) } ?? 1_000_000
        return max(1, total / seeds.count)
    }()

    /// Views are compared every this many commands (and after the last one).
    static let viewInterval = 64
    /// About one snapshot/restore point per this many commands (at least two per seed).
    static let commandsPerSnapshot = 25_000

    @Test(arguments: seeds)
    func engineMatchesReference(seed: UInt64) throws {
        let commands = Self.commandsPerSeed
        print("DifferentialTests: DIFF_SEED=\(seed) DIFF_COMMANDS=\(commands)")
        var generator = CommandGenerator(seed: seed)
        let configuration = generator.configuration
        var reference = try ReferenceEngine(configuration: configuration)
        var engine = try MatchingEngine(configuration: configuration)
        var checker = MatchingPropertyChecker(configuration: configuration)
        var snapshotRandom = CommandGenerator.SplitMix64(seed: seed ^ 0xD1FF_5EED)
        var snapshotPoints: Set<Int> = [min(commands - 1, Int(snapshotRandom.int(0...200)))]
        for _ in 0...(commands / Self.commandsPerSnapshot) {
            snapshotPoints.insert(snapshotRandom.int(0..<commands))
        }
        /// The engine last restored from a snapshot, running in lockstep with the original.
        var replica: (engine: MatchingEngine, restoredAfter: Int)?
        var restores = 0
        var recent: [(index: Int, step: CommandGenerator.Step, events: [Event])] = []
        var counts: [String: Int] = [:]

        func fail(_ index: Int, _ step: CommandGenerator.Step, _ what: String) {
            Issue.record(
                """
                DIFF_SEED=\(seed): \(what)
                at command #\(index) (sequence \(step.sequence), timestamp \(step.timestamp)): \
                \(DiffFormat.describe(step.command))
                preceding commands (reference events):
                \(recent.map { entry in
                    "  #\(entry.index) seq \(entry.step.sequence) t=\(entry.step.timestamp) "
                        + DiffFormat.describe(entry.step.command)
                        + entry.events.map { "\n      " + DiffFormat.describe($0) }.joined()
                }.joined(separator: "\n"))
                re-run: DIFF_SEED=\(seed) DIFF_COMMANDS=\(index + 1) swift test --filter DifferentialTests
                """)
        }

        for index in 0..<commands {
            let step = generator.next()
            let expected = reference.apply(step.command, timestamp: step.timestamp, sequence: step.sequence)
            let actual = engine.apply(step.command, timestamp: step.timestamp, sequence: step.sequence)
            guard expected == actual else {
                fail(
                    index, step,
                    "reference and MatchingEngine disagree; events (! marks differences):\n"
                        + DiffFormat.diff(expected: expected, actual: actual))
                return
            }
            if let restoredAfter = replica?.restoredAfter {
                let replayed = replica!.engine.apply(step.command, timestamp: step.timestamp, sequence: step.sequence)
                guard replayed == actual else {
                    fail(
                        index, step,
                        "engine restored after command #\(restoredAfter) diverges from the original:\n"
                            + DiffFormat.diff(
                                expected: actual, actual: replayed, expectedName: "original",
                                actualName: "restored"))
                    return
                }
            }

            var violations = checker.observe(actual) + checker.checkNotCrossed(engine)
            let checkViews = index % Self.viewInterval == 0 || index == commands - 1
            if checkViews { violations += checker.checkBooks(engine) }
            guard violations.isEmpty else {
                fail(
                    index, step,
                    "property violated by MatchingEngine:\n" + violations.joined(separator: "\n")
                        + "\nevents:\n" + actual.map(DiffFormat.describe).joined(separator: "\n"))
                return
            }
            if checkViews, let difference = Self.viewDifference(reference, engine, configuration) {
                fail(index, step, "views differ after the command:\n" + difference)
                return
            }
            if let id = Self.orderID(of: step.command), reference.order(id) != engine.order(id) {
                fail(
                    index, step,
                    "order(\(id)) differs:\n  reference: \(String(describing: reference.order(id)))\n"
                        + "  engine:    \(String(describing: engine.order(id)))")
                return
            }

            if snapshotPoints.contains(index) {
                let bytes = (replica?.engine ?? engine).snapshot()
                let restored: MatchingEngine
                do {
                    restored = try MatchingEngine(snapshot: bytes)
                } catch {
                    fail(index, step, "snapshot of \(bytes.count) bytes does not restore: \(error)")
                    return
                }
                guard restored.stateHash() == engine.stateHash(), restored.lastSequence == engine.lastSequence,
                    Self.viewDifference(reference, restored, configuration) == nil
                else {
                    fail(
                        index, step,
                        "restored engine differs right after restore: hash \(restored.stateHash()) vs "
                            + "\(engine.stateHash()), lastSequence \(restored.lastSequence) vs \(engine.lastSequence)\n"
                            + (Self.viewDifference(reference, restored, configuration) ?? ""))
                    return
                }
                replica = (restored, index)
                restores += 1
            }

            recent.append((index, step, expected))
            if recent.count > 6 { recent.removeFirst() }
            for event in expected { counts[DiffFormat.kind(event), default: 0] += 1 }
        }

        if let replica {
            #expect(
                replica.engine.stateHash() == engine.stateHash(),
                "DIFF_SEED=\(seed): engine restored after command #\(replica.restoredAfter) ends with another stateHash"
            )
        }
        print(
            "DifferentialTests: DIFF_SEED=\(seed) done: \(commands) commands, \(restores) snapshot restores, "
                + "events \(counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
    }

    /// Hand-written edge cases (`ScenarioScript.all`): identical events for every command and
    /// identical views after every command.
    @Test func scriptedScenariosMatch() throws {
        for script in ScenarioScript.all {
            var reference = try ReferenceEngine(configuration: script.configuration)
            var engine = try MatchingEngine(configuration: script.configuration)
            for (index, step) in script.steps.enumerated() {
                let sequence = UInt64(index + 1)
                let expected = reference.apply(step.command, timestamp: step.timestamp, sequence: sequence)
                let actual = engine.apply(step.command, timestamp: step.timestamp, sequence: sequence)
                #expect(
                    expected == actual,
                    """
                    scenario "\(script.name)", command #\(index) \(DiffFormat.describe(step.command)):
                    \(DiffFormat.diff(expected: expected, actual: actual))
                    """)
                let difference = Self.viewDifference(reference, engine, script.configuration)
                #expect(difference == nil, "scenario \"\(script.name)\", after command #\(index): \(difference ?? "")")
                if expected != actual || difference != nil { break }
            }
        }
    }

    private static func orderID(of command: Command) -> OrderID? {
        switch command {
        case .newOrder(let order): return order.orderID
        case .cancel(let cancel): return cancel.orderID
        case .replace(let replace): return replace.orderID
        default: return nil
        }
    }

    /// The first view that differs, described; nil when all agree.
    static func viewDifference(
        _ reference: ReferenceEngine, _ engine: some MatchingStateMachine, _ configuration: EngineConfiguration
    ) -> String? {
        if reference.liveOrderCount != engine.liveOrderCount {
            return "liveOrderCount: reference \(reference.liveOrderCount), engine \(engine.liveOrderCount)"
        }
        for symbol in configuration.instruments.map(\.symbol) + [CommandGenerator.unknownSymbol] {
            let expectedBook = reference.book(symbol)
            let actualBook = engine.book(symbol)
            if expectedBook != actualBook {
                return "book(\(symbol)):\n  reference: \(describe(expectedBook))\n  engine:    \(describe(actualBook))"
            }
            if reference.untriggeredStops(symbol) != engine.untriggeredStops(symbol) {
                return "untriggeredStops(\(symbol)):\n"
                    + "  reference: \(String(describing: reference.untriggeredStops(symbol)))"
                    + "\n  engine:    \(String(describing: engine.untriggeredStops(symbol)))"
            }
            if reference.symbolStatus(symbol) != engine.symbolStatus(symbol) {
                return "symbolStatus(\(symbol)):\n  reference: \(String(describing: reference.symbolStatus(symbol)))"
                    + "\n  engine:    \(String(describing: engine.symbolStatus(symbol)))"
            }
            if reference.depth(symbol, levels: 3) != engine.depth(symbol, levels: 3)
                || reference.bestBid(symbol) != engine.bestBid(symbol)
                || reference.bestAsk(symbol) != engine.bestAsk(symbol)
            {
                return "depth(\(symbol), 3) / best bid / best ask:\n"
                    + "  reference: \(String(describing: reference.depth(symbol, levels: 3)))\n"
                    + "  engine:    \(String(describing: engine.depth(symbol, levels: 3)))"
            }
        }
        return nil
    }

    private static func describe(_ book: OrderBookView?) -> String {
        guard let book else { return "nil" }
        func side(_ orders: [RestingOrderView]) -> String {
            orders.map {
                "\($0.orderID) \($0.price) \($0.leavesQuantity)/\($0.visibleQuantity) \($0.participant) \($0.account)"
            }
            .joined(separator: ", ")
        }
        return "bids [\(side(book.bids))] asks [\(side(book.asks))]"
    }
}
