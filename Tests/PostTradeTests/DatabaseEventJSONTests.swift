import Foundation
import Testing

@testable import PostTrade

/// The hand-written codec against Foundation's: the fast decoder must return what JSONDecoder returns or
/// nil (fall back), never something JSONDecoder would refuse; the encoder's output must decode to the value.
@Suite struct DatabaseEventJSONTests {
    static let awkwardStrings = [
        "AAPL", "", "quote\"back\\slash/", "tab\tnew\nline\r\u{1}\u{1f}", "é ü 中文", "emoji 🚀 𝄞", "\u{7f}",
    ]

    private func randomString(_ generator: inout SplitMix64) -> String {
        Self.awkwardStrings[Int(generator.next() % UInt64(Self.awkwardStrings.count))] + String(generator.next() % 1000)
    }

    @Test func randomPayloadsRoundTripBothWays() throws {
        let seed: UInt64 = 0x5eed_2026
        print("DatabaseEventJSONTests seed \(seed)")
        var generator = SplitMix64(seed: seed)
        let encoders: [JSONEncoder] = [
            JSONEncoder(),
            {
                let e = JSONEncoder()
                e.outputFormatting = [.prettyPrinted, .sortedKeys]
                return e
            }(),
            {
                let e = JSONEncoder()
                e.outputFormatting = [.withoutEscapingSlashes]
                return e
            }(),
        ]
        let decoder = JSONDecoder()
        for round in 0..<300 {
            let encoder = encoders[round % encoders.count]
            var executed = Records.executed(
                round, symbol: randomString(&generator), price: Int64(bitPattern: generator.next()),
                quantity: Int64(bitPattern: generator.next()), buy: generator.next(), sell: generator.next())
            executed.tradeID = randomString(&generator)
            executed.aggressor = round % 3 == 0 ? nil : randomString(&generator)
            executed.buyParticipant = UInt32(truncatingIfNeeded: generator.next())
            let executedBytes = Array(try encoder.encode(executed))
            #expect(EventJSON.decodeTradeExecuted(executedBytes) == executed)

            let cleared = TradeCleared(
                eventID: randomString(&generator), timestampNs: Int64(bitPattern: generator.next()),
                tradeID: randomString(&generator), sourceEventID: randomString(&generator),
                tradeTimestampNs: Int64(bitPattern: generator.next()), symbol: randomString(&generator),
                price: Int64(bitPattern: generator.next()), quantity: Int64(bitPattern: generator.next()),
                notional: Int64(bitPattern: generator.next()),
                legs: (0..<Int(generator.next() % 3)).map { _ in
                    ClearedLeg(
                        side: randomString(&generator), account: generator.next(),
                        participant: UInt32(truncatingIfNeeded: generator.next()),
                        counterparty: randomString(&generator), quantity: Int64(bitPattern: generator.next()),
                        amount: Int64(bitPattern: generator.next()))
                })
            #expect(EventJSON.decodeTradeCleared(Array(try encoder.encode(cleared))) == cleared)
            #expect(try decoder.decode(TradeCleared.self, from: Data(EventJSON.encode(cleared))) == cleared)
            #expect(EventJSON.decodeTradeCleared(EventJSON.encode(cleared)) == cleared)

            let settled = TradeSettled(
                eventID: randomString(&generator), timestampNs: Int64(bitPattern: generator.next()),
                tradeID: randomString(&generator), sourceEventID: randomString(&generator),
                tradeTimestampNs: Int64(bitPattern: generator.next()), symbol: randomString(&generator),
                price: Int64(bitPattern: generator.next()), quantity: Int64(bitPattern: generator.next()),
                notional: Int64(bitPattern: generator.next()), buyAccount: generator.next(),
                sellAccount: generator.next(), status: randomString(&generator),
                reason: round % 2 == 0 ? nil : randomString(&generator),
                movements: (0..<Int(generator.next() % 5)).map { _ in
                    Movement(
                        account: generator.next(), asset: randomString(&generator),
                        amount: Int64(bitPattern: generator.next()))
                })
            #expect(EventJSON.decodeTradeSettled(Array(try encoder.encode(settled))) == settled)
            #expect(try decoder.decode(TradeSettled.self, from: Data(EventJSON.encode(settled))) == settled)
        }
    }

    @Test func oddDocumentsAreDecodedAsJSONDecoderDoesOrLeftToIt() throws {
        let valid = String(decoding: try JSONEncoder().encode(Records.executed(1)), as: UTF8.self)
        let body = valid.dropFirst().dropLast()
        let documents = [
            valid, " \n\(valid)\t ", "{\"extra\":{\"a\":[1,true,null,\"x\"]},\(body)}", "{\(body),\"price\":5}",
            valid.replacingOccurrences(of: "\"price\":10000", with: "\"price\":1.0e4"),
            valid.replacingOccurrences(of: "\"price\":10000", with: "\"price\":010000"),
            valid.replacingOccurrences(of: "\"price\":10000", with: "\"price\":-0"),
            valid.replacingOccurrences(of: "\"price\":10000", with: "\"price\":99999999999999999999"),
            valid.replacingOccurrences(of: "\"buy_account\":1", with: "\"buy_account\":-1"),
            valid.replacingOccurrences(of: "\"shard\":1", with: "\"shard\":4294967296"),
            valid.replacingOccurrences(of: "\"aggressor\":\"buy\"", with: "\"aggressor\":null"),
            valid.replacingOccurrences(of: "\"symbol\":\"AAPL\"", with: "\"symbol\":null"),
            valid.replacingOccurrences(of: "\"symbol\":\"AAPL\"", with: "\"symbol\":\"A\\u0041\\ud83d\\ude80\""),
            valid.replacingOccurrences(of: "\"symbol\":\"AAPL\"", with: "\"symbol\":\"\\ud83d\""),
            valid.replacingOccurrences(of: "\"symbol\":\"AAPL\"", with: "\"sym\\u0062ol\":\"AAPL\""),
            valid + "x", "[\(valid)]", "{", "", "null", "{}",
        ]
        for document in documents {
            let bytes = Array(document.utf8)
            let fast = EventJSON.decodeTradeExecuted(bytes)
            let foundation = try? JSONDecoder().decode(TradeExecuted.self, from: Data(bytes))
            if let fast {
                #expect(fast == foundation, "fast path accepted \(document)")
            }
        }
        #expect(EventJSON.decodeTradeExecuted(Array(valid.utf8)) != nil)
        #expect(EventJSON.decodeTradeExecuted(Array((valid + "x").utf8)) == nil)
        #expect(EventJSON.decodeTradeExecuted(Array("{\(body),\"price\":5}".utf8)) == nil)  // duplicate key
        #expect(EventJSON.decodeTradeExecuted([0xFF] + Array(valid.utf8)) == nil)
        // Invalid UTF-8 inside a string is refused (only pure ASCII skips validation), and so is a lone
        // continuation byte; valid multi-byte text still decodes.
        for broken: [UInt8] in [[0x41, 0xC3, 0x28], [0x41, 0x80], [0xED, 0xA0, 0x80]] {
            let bytes = Array(valid.replacingOccurrences(of: "AAPL", with: "@@").utf8)
            let at = bytes.firstIndex(of: UInt8(ascii: "@"))!
            let document = Array(bytes[..<at]) + broken + Array(bytes[(at + 2)...])
            #expect(EventJSON.decodeTradeExecuted(document) == nil, "\(broken)")
        }
        let accented = valid.replacingOccurrences(of: "\"symbol\":\"AAPL\"", with: "\"symbol\":\"ÉTÉ\"")
        #expect(EventJSON.decodeTradeExecuted(Array(accented.utf8))?.symbol == "ÉTÉ")
    }
}
