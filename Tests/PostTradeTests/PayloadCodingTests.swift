import Foundation
import PostTrade
import Testing

@Suite struct PayloadCodingTests {
    @Test func tradeExecutedUsesSnakeCaseKeysAndRoundTrips() throws {
        let trade = TradeExecuted(
            eventID: "1-42-0", timestampNs: 1_700_000_000_000_000_000, shard: 1, logIndex: 42, eventSeq: 0,
            tradeID: "1-2752512-0", symbol: "AAPL", price: 10_050, quantity: 300, aggressor: "buy",
            buyOrderID: 2_752_512, sellOrderID: 2_686_976, buyAccount: 7, sellAccount: 9, buyParticipant: 3,
            sellParticipant: 4)
        let data = try JSONEncoder().encode(trade)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["event_id"] as? String == "1-42-0")
        #expect(object["type"] as? String == "trade.executed")
        #expect(object["buy_account"] as? Int == 7)
        #expect(try JSONDecoder().decode(TradeExecuted.self, from: data) == trade)
        let probe = try JSONDecoder().decode(EventProbe.self, from: data)
        #expect(probe.type == "trade.executed" && probe.version == 1 && probe.eventID == "1-42-0")
    }
}
