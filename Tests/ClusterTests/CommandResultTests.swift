import ExchangeCore
import Matching
import Raft
import Testing
import Wire

@testable import Cluster

/// Client answers built from what the replicas applied.
@Suite struct CommandResultTests {
    /// Runs `commands` one by one through a three-replica shard and returns the leader's answers.
    func results(_ commands: [Command]) throws -> [CommandResult] {
        let harness = try ShardHarness()
        let leader = try #require(harness.electLeader())
        var answers: [CommandResult] = []
        for (position, command) in commands.enumerated() {
            let origin = CommandOrigin(connection: 1, requestID: UInt64(position + 1))
            #expect(leader.submit(command, origin: origin) == .queued)
            #expect(harness.runUntil { harness.applied[leader.status.id, default: []].contains { $0.origin == origin } })
            let applied = try #require(harness.applied[leader.status.id]!.first { $0.origin == origin })
            answers.append(try #require(CommandResult(applied: applied)))
        }
        return answers
    }

    @Test func restingFilledRejectedDuplicateAndCancelled() throws {
        let answers = try results([
            ShardHarness.order(1, 1, .sell, price: 10_000, quantity: 10),  // rests
            ShardHarness.order(2, 1, .buy, price: 10_000, quantity: 4),  // takes 4 of it
            ShardHarness.order(2, 2, .buy, price: 99_999, quantity: 1),  // outside the price band
            ShardHarness.order(2, 1, .buy, price: 10_000, quantity: 4),  // a retry of client order 1
        ])
        let resting = answers[0]
        #expect(resting.outcome == .accepted && resting.orderState == .resting)
        #expect(resting.leavesQuantity == Quantity(10) && resting.fills.isEmpty && !resting.isDuplicate)

        let taker = answers[1]
        #expect(taker.outcome == .accepted && taker.orderState == .filled && taker.leavesQuantity == Quantity(0))
        #expect(taker.fills.count == 1)
        #expect(taker.fills.first?.liquidity == .taker && taker.fills.first?.quantity == Quantity(4))
        #expect(taker.fills.first?.price == Price(10_000))

        if case .rejected(let reason) = answers[2].outcome {
            #expect(reason == .priceOutsideBand)
        } else {
            Issue.record("expected a rejection: \(answers[2])")
        }

        let duplicate = answers[3]
        #expect(duplicate.isDuplicate && duplicate.outcome == .accepted)
        #expect(duplicate.orderID == taker.orderID)

        let cancelAnswers = try results([
            ShardHarness.order(3, 1, .buy, price: 9_900, quantity: 7),
        ])
        #expect(cancelAnswers[0].orderState == .resting)
    }

    @Test func cancelAnswersWithTheCancelledState() throws {
        let harness = try ShardHarness()
        let leader = try #require(harness.electLeader())
        let origin1 = CommandOrigin(connection: 1, requestID: 1)
        _ = leader.submit(ShardHarness.order(3, 1, .buy, price: 9_900, quantity: 7), origin: origin1)
        #expect(harness.runUntil { harness.applied[leader.status.id, default: []].contains { $0.origin == origin1 } })
        let placed = try #require(harness.applied[leader.status.id]!.first { $0.origin == origin1 })
        let orderID = OrderID(placed.sequence)
        let origin2 = CommandOrigin(connection: 1, requestID: 2)
        _ = leader.submit(
            .cancel(CancelOrder(participant: ParticipantID(3), clientOrderID: ClientOrderID(2), orderID: orderID, symbol: Symbol("AAPL"))),
            origin: origin2)
        #expect(harness.runUntil { harness.applied[leader.status.id, default: []].contains { $0.origin == origin2 } })
        let cancelled = try #require(
            CommandResult(applied: harness.applied[leader.status.id]!.first { $0.origin == origin2 }!))
        #expect(cancelled.outcome == .accepted && cancelled.orderState == .cancelled)
        #expect(cancelled.orderID == orderID && cancelled.leavesQuantity == Quantity(0))
    }
}
