import ExchangeCore
import Matching
import Testing

/// §12: a restored snapshot continues exactly like the original, with the same state hash; bad bytes are a
/// typed `SnapshotError`.
@Suite("Snapshot transcripts")
struct SnapshotTranscripts {
    private static let acmeRules = InstrumentRules(
        symbol: TX.acme, priceBandBasisPoints: 2_000, referencePrice: Price(100), breakerThresholdBasisPoints: 1_000,
        breakerWindowSeconds: 60, breakerCoolingOffSeconds: 300)

    /// A state with a bit of everything: icebergs, DAY/GTD orders, an STP-decremented order, stops with a
    /// sequence tie-break, session history, and ACME halted by the breaker with a crossed book (reopens at 1300 s).
    private func richState() throws -> EngineTranscript {
        var t = try EngineTranscript([Self.acmeRules, TX.plain(TX.beta)], sessionWindow: 4)
        let beta = TX.beta
        t.send(t.limit(1, .buy, 100, at: 99, display: 30, symbol: beta))
        t.send(t.limit(2, .buy, 50, at: 99, tif: .day, symbol: beta))
        t.send(t.limit(4, .sell, 60, at: 101, account: 11, symbol: beta))
        t.send(t.limit(3, .sell, 40, at: 102, tif: .gtd, expireAt: TX.sec(1_500), symbol: beta))
        t.send(t.limit(11, .sell, 25, at: 103, tif: .gtd, expireAt: TX.sec(1_200), symbol: beta))
        t.send(t.market(5, .sell, 20, symbol: beta))
        t.send(t.stop(17, .buy, 10, stop: 101, symbol: beta))
        t.send(t.stop(16, .buy, 10, stop: 101, symbol: beta))
        t.send(t.stopLimit(8, .sell, 10, at: 97, stop: 98, tif: .day, symbol: beta))
        t.send(t.limit(10, .buy, 20, at: 101, stp: .decrement, symbol: beta))
        #expect(t.engine.order(OrderID(4))?.leavesQuantity == Quantity(40))

        t.tradeOnce(at: 100, symbol: TX.acme)
        t.send(t.limit(30, .sell, 10, at: 105))
        t.send(t.limit(31, .sell, 10, at: 111))
        t.send(t.stop(33, .buy, 5, stop: 108))
        t.send(t.limit(34, .sell, 10, at: 115))
        let events = t.send(t.limit(32, .buy, 30, at: 111))
        #expect(events.contains(t.halted(.volatility, reopenAt: TX.sec(1_300))))
        return t
    }

    /// Commands that exercise every part of the state, built once and sent to several engines.
    private func continuation(_ t: inout EngineTranscript) -> [(Command, Timestamp)] {
        let beta = TX.beta
        var commands: [(Command, Timestamp)] = []
        func add(_ command: Command, _ second: Int64) { commands.append((command, TX.sec(second))) }
        // Retries: the last of participant 1's commands is a duplicate; an old one fell out of the window.
        add(.newOrder(t.orders[OrderID(32)]!), 1_010)
        add(.newOrder(t.orders[OrderID(1)]!), 1_010)
        add(.newOrder(t.limit(40, .buy, 40, at: 101, symbol: beta)), 1_020)
        add(.replace(t.replace(1, price: 99, quantity: 60, symbol: beta)), 1_030)
        add(.newOrder(t.limit(41, .sell, 30, at: 99, stp: .decrement, account: 11, symbol: beta)), 1_040)
        add(.cancel(t.cancel(34)), 1_050)
        add(.newOrder(t.limit(42, .buy, 10, at: 90)), 1_060)
        add(.heartbeat, 1_200)
        add(.heartbeat, 1_300)
        add(.newOrder(t.limit(43, .sell, 5, at: 111, tif: .ioc)), 1_310)
        add(.setPriceBand(TX.acme, basisPoints: 500, referencePrice: .zero), 1_320)
        add(.endOfSession, 1_400)
        add(.heartbeat, 1_500)
        add(.halt(beta), 1_600)
        add(.resume(beta), 1_601)
        return commands
    }

    @Test func aRestoredEngineHasTheSameViewsAndHash() throws {
        let t = try richState()
        let bytes = t.engine.snapshot()
        var restored = t
        restored.engine = try MatchingEngine(snapshot: bytes)
        #expect(restored.engine.stateHash() == t.engine.stateHash())
        #expect(restored.engine.lastSequence == t.engine.lastSequence)
        #expect(restored.engine.configuration == t.engine.configuration)
        #expect(restored.observe() == t.observe())
        for symbol in [TX.acme, TX.beta] {
            #expect(restored.engine.depth(symbol, levels: 10) == t.engine.depth(symbol, levels: 10))
            #expect(restored.engine.bestBid(symbol) == t.engine.bestBid(symbol))
            #expect(restored.engine.bestAsk(symbol) == t.engine.bestAsk(symbol))
        }
    }

    @Test func aRestoredEngineContinuesIdentically() throws {
        var t = try richState()
        var restored = t
        restored.engine = try MatchingEngine(snapshot: t.engine.snapshot())
        let commands = continuation(&t)
        var all: [Event] = []
        for (index, (command, time)) in commands.enumerated() {
            let original = t.send(command, at: time)
            let copy = restored.send(command, at: time)
            #expect(original == copy, "command \(index): \(command)")
            all += original
        }
        #expect(restored.engine.stateHash() == t.engine.stateHash())
        #expect(restored.observe() == t.observe())

        // The continuation really exercised the restored state.
        let client32 = t.orders[OrderID(32)]!.clientOrderID.rawValue
        #expect(all.contains(t.duplicate(1, client32, .accepted(OrderID(32)))))
        #expect(all.contains(t.rejected(t.orders[OrderID(1)]!, .staleClientOrderID)))
        #expect(all.contains { if case .auction = $0 { true } else { false } })
        #expect(all.contains(t.triggered(17, stop: 101, last: 101, symbol: TX.beta)))
        #expect(all.contains(t.triggered(33, stop: 108, last: 111)))
        #expect(all.contains(t.expired(11, leaves: 25, symbol: TX.beta)))
        #expect(all.contains(t.expired(8, leaves: 10, symbol: TX.beta)))
    }

    @Test func aSnapshotAfterAnyCommandContinuesIdentically() throws {
        var reference = try richState()
        let commands = continuation(&reference)
        var snapshots: [[UInt8]] = []
        var expected: [[Event]] = []
        var hashes: [UInt64] = []
        for (command, time) in commands {
            snapshots.append(reference.engine.snapshot())
            expected.append(reference.send(command, at: time))
            hashes.append(reference.engine.stateHash())
        }
        for start in commands.indices {
            var engine = try MatchingEngine(snapshot: snapshots[start])
            var sequence = engine.lastSequence
            for index in start..<commands.count {
                sequence += 1
                let (command, time) = commands[index]
                #expect(
                    engine.apply(command, timestamp: time, sequence: sequence) == expected[index],
                    "restored before command \(start), command \(index)")
                #expect(engine.stateHash() == hashes[index], "restored before command \(start), command \(index)")
            }
        }
    }

    @Test func aFreshEngineRoundTrips() throws {
        let t = try EngineTranscript([TX.plain(TX.acme), TX.breaker(TX.beta)], sessionWindow: 7, maximumLiveOrders: 9)
        let restored = try MatchingEngine(snapshot: t.engine.snapshot())
        #expect(restored.configuration == t.engine.configuration)
        #expect(restored.stateHash() == t.engine.stateHash())
        #expect(restored.lastSequence == 0)
        #expect(restored.liveOrderCount == 0)
    }

    @Test func replicasThatAppliedTheSameCommandsHaveTheSameHash() throws {
        var a = try richState()
        let b = try richState()
        #expect(a.engine.stateHash() == b.engine.stateHash())
        a.send(a.limit(99, .buy, 1, at: 50, symbol: TX.beta))
        #expect(a.engine.stateHash() != b.engine.stateHash())
    }

    // MARK: Bad bytes

    /// Offsets `n` for which decoding `make(n)` did not throw.
    private func accepted(_ count: Int, _ make: (Int) -> [UInt8]) -> [Int] {
        var accepted: [Int] = []
        for n in 0..<count {
            do {
                _ = try MatchingEngine(snapshot: make(n))
                accepted.append(n)
            } catch {
                let _: SnapshotError = error  // typed throws: always a SnapshotError
            }
        }
        return accepted
    }

    @Test func everyTruncationIsATypedError() throws {
        let bytes = try richState().engine.snapshot()
        #expect(bytes.count > 0)
        #expect(accepted(bytes.count) { Array(bytes.prefix($0)) } == [])
    }

    @Test func aWrongMagicIsATypedError() throws {
        let bytes = try richState().engine.snapshot()
        #expect(
            accepted(min(4, bytes.count)) { n in
                var copy = bytes
                copy[n] ^= 0xA5
                return copy
            } == [])
        #expect(throws: SnapshotError.self) { try MatchingEngine(snapshot: [UInt8](repeating: 0, count: bytes.count)) }
        #expect(throws: SnapshotError.self) { try MatchingEngine(snapshot: Array("not a snapshot".utf8)) }
    }

    @Test func everySingleByteCorruptionIsATypedError() throws {
        let bytes = try richState().engine.snapshot()
        let undetected = accepted(bytes.count) { n in
            var copy = bytes
            copy[n] ^= 0xFF
            return copy
        }
        #expect(undetected == [])
    }
}
