import ExchangeCore
import Matching
import Testing

/// §2: participant sessions (de-duplication of retried commands).
@Suite("Session transcripts")
struct SessionTranscripts {
    @Test func participantZeroIsRejectedFirstAndNeverRecorded() throws {
        var t = try EngineTranscript()
        let o = t.limit(1, .buy, 10, at: 99, participant: 0, client: 5)
        #expect(t.send(o) == [t.rejected(o, .invalidParticipant)])
        #expect(t.send(o) == [t.rejected(o, .invalidParticipant)])
        let unknown = t.limit(1, .buy, 10, at: 99, participant: 0, client: 5, symbol: Symbol("NOPE"))
        #expect(t.send(unknown) == [t.rejected(unknown, .invalidParticipant)])
        let cancel = t.cancel(1, participant: 0, client: 6)
        #expect(t.send(cancel) == [t.rejected(cancel, .invalidParticipant)])
        let replace = t.replace(1, price: 98, quantity: 10, participant: 0, client: 7)
        #expect(t.send(replace) == [t.rejected(replace, .invalidParticipant)])
        #expect(t.engine.liveOrderCount == 0)
    }

    @Test func aRetriedNewOrderReturnsTheOriginalOutcomeAndNothingElse() throws {
        var t = try EngineTranscript()
        let b1 = t.limit(1, .buy, 10, at: 99, client: 7)
        #expect(t.send(b1) == [t.accepted(b1), t.delta(.buy, 99, 10)])
        let before = t.observe()
        #expect(t.send(b1) == [t.duplicate(1, 7, .accepted(OrderID(1)))])
        let different = t.limit(2, .buy, 50, at: 98, client: 7)
        #expect(t.send(different) == [t.duplicate(1, 7, .accepted(OrderID(1)))])
        #expect(t.observe() == before)
        #expect(t.engine.liveOrderCount == 1)
    }

    @Test func aRetriedRejectionReturnsTheRejection() throws {
        var t = try EngineTranscript()
        let bad = t.newOrder(1, .buy, 10, type: .market, tif: .gtc, client: 3)
        #expect(t.send(bad) == [t.rejected(bad, .invalidTimeInForce)])
        #expect(t.send(bad) == [t.duplicate(1, 3, .rejected(.invalidTimeInForce))])

        let unknown = t.limit(2, .buy, 10, at: 99, client: 4, symbol: Symbol("NOPE"))
        #expect(t.send(unknown) == [t.rejected(unknown, .unknownSymbol)])
        // Now valid, but the retry still returns the recorded outcome.
        let fixed = t.limit(2, .buy, 10, at: 99, client: 4)
        #expect(t.send(fixed) == [t.duplicate(1, 4, .rejected(.unknownSymbol))])
        #expect(t.engine.liveOrderCount == 0)
    }

    @Test func cancelsAndReplacesAreDeduplicatedToo() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .buy, 10, at: 99, client: 1))
        let replace = t.replace(1, price: 99, quantity: 5, client: 10)
        #expect(t.send(replace) == [t.replaced(replace, leaves: 5, kept: true), t.delta(.buy, 99, 5)])
        #expect(t.send(replace) == [t.duplicate(1, 10, .accepted(OrderID(1)))])
        let cancel = t.cancel(1, client: 11)
        #expect(t.send(cancel) == [t.cancelled(1, 5, leaves: 0, .requested), t.delta(.buy, 99, 0)])
        #expect(t.send(cancel) == [t.duplicate(1, 11, .accepted(OrderID(1)))])
        let again = t.cancel(1, client: 12)
        #expect(t.send(again) == [t.rejected(again, .unknownOrder)])
        #expect(t.send(again) == [t.duplicate(1, 12, .rejected(.unknownOrder))])
    }

    @Test func idsThatLeftTheWindowAreStale() throws {
        var t = try EngineTranscript(sessionWindow: 2)
        let b1 = t.limit(1, .buy, 10, at: 97, client: 1)
        let b2 = t.limit(2, .buy, 10, at: 98, client: 2)
        let b3 = t.limit(3, .buy, 10, at: 99, client: 3)
        for order in [b1, b2, b3] { t.send(order) }
        let before = t.observe()
        #expect(t.send(b1) == [t.rejected(b1, .staleClientOrderID)])
        #expect(t.send(b1) == [t.rejected(b1, .staleClientOrderID)])
        #expect(t.send(b2) == [t.duplicate(1, 2, .accepted(OrderID(2)))])
        #expect(t.send(b3) == [t.duplicate(1, 3, .accepted(OrderID(3)))])
        #expect(t.observe() == before)
    }

    @Test func unseenIDsBelowTheHighWaterAreStale() throws {
        var t = try EngineTranscript()
        let b1 = t.limit(1, .buy, 10, at: 99, client: 10)
        #expect(t.send(b1) == [t.accepted(b1), t.delta(.buy, 99, 10)])
        let b2 = t.limit(2, .buy, 10, at: 98, client: 5)
        #expect(t.send(b2) == [t.rejected(b2, .staleClientOrderID)])
        let b3 = t.limit(3, .buy, 10, at: 98, client: 11)
        #expect(t.send(b3) == [t.accepted(b3), t.delta(.buy, 98, 10)])
    }

    @Test func aProcessedRejectionRaisesTheHighWater() throws {
        var t = try EngineTranscript()
        let bad = t.limit(1, .buy, 0, at: 99, client: 10)
        #expect(t.send(bad) == [t.rejected(bad, .invalidQuantity)])
        let lower = t.limit(2, .buy, 10, at: 99, client: 9)
        #expect(t.send(lower) == [t.rejected(lower, .staleClientOrderID)])
    }

    @Test func duplicatesDoNotRefreshTheWindow() throws {
        var t = try EngineTranscript(sessionWindow: 2)
        let b1 = t.limit(1, .buy, 10, at: 97, client: 1)
        let b2 = t.limit(2, .buy, 10, at: 98, client: 2)
        t.send(b1)
        t.send(b2)
        #expect(t.send(b1) == [t.duplicate(1, 1, .accepted(OrderID(1)))])
        t.send(t.limit(3, .buy, 10, at: 99, client: 3))
        #expect(t.send(b1) == [t.rejected(b1, .staleClientOrderID)])
        #expect(t.send(b2) == [t.duplicate(1, 2, .accepted(OrderID(2)))])
    }

    @Test func sessionsArePerParticipant() throws {
        var t = try EngineTranscript()
        let b1 = t.limit(1, .buy, 10, at: 99, participant: 1, client: 7)
        let b2 = t.limit(2, .buy, 10, at: 98, participant: 2, client: 7)
        #expect(t.send(b1) == [t.accepted(b1), t.delta(.buy, 99, 10)])
        #expect(t.send(b2) == [t.accepted(b2), t.delta(.buy, 98, 10)])
    }

    @Test func eachParticipantHasItsOwnWindow() throws {
        var t = try EngineTranscript(sessionWindow: 1)
        let b1 = t.limit(1, .buy, 10, at: 99, participant: 1, client: 1)
        t.send(b1)
        t.send(t.limit(2, .sell, 10, at: 105, participant: 2, client: 5))
        t.send(t.limit(3, .sell, 10, at: 106, participant: 2, client: 6))
        #expect(t.send(b1) == [t.duplicate(1, 1, .accepted(OrderID(1)))])
    }

    @Test func timedWorkRunsBeforeADuplicate() throws {
        var t = try EngineTranscript()
        t.send(t.limit(1, .sell, 10, at: 101, tif: .gtd, expireAt: TX.sec(1_100), client: 1))
        let b2 = t.limit(2, .buy, 10, at: 99, client: 2)
        t.send(b2)
        #expect(
            t.send(b2, at: TX.sec(1_100)) == [
                t.expired(1, leaves: 10), t.delta(.sell, 101, 0), t.duplicate(1, 2, .accepted(OrderID(2))),
            ])
    }

    @Test func anAcceptedOrderThatWasKilledRecordsAccepted() throws {
        var t = try EngineTranscript()
        let f1 = t.limit(1, .buy, 10, at: 99, tif: .fok, client: 1)
        #expect(t.send(f1) == [t.accepted(f1), t.cancelled(1, 10, leaves: 0, .fillOrKill)])
        // SPEC: "took effect" read as "passed validation and emitted accepted", even if nothing traded.
        #expect(t.send(f1) == [t.duplicate(1, 1, .accepted(OrderID(1)))])
    }
}
