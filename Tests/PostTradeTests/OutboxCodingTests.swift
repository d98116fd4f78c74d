import Testing

@testable import PostTrade

@Suite struct OutboxCodingTests {
    @Test func headersSurviveTheJSONColumnWithEscapes() {
        let headers = [
            "event_id": "settled-1-2-3", "reason": "bad \"value\" \\ with\ttab\nand newline", "é": "ü", "empty": "",
        ]
        let text = OutboxCoding.headersJSON(headers)
        #expect(OutboxCoding.headers(fromJSON: text) == headers)
        #expect(OutboxCoding.headersJSON([:]) == "{}")
        #expect(text.hasPrefix("{\"empty\":\"\",\"event_id\""), "keys sorted")
    }

    @Test func hexBytesRoundTrip() {
        let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff, 0x10]
        let text = String(describing: PostgresValueHex.hex(bytes))
        #expect(OutboxCoding.bytes(fromHex: text) == bytes)
        #expect(OutboxCoding.bytes(fromHex: "0g") == nil)
        #expect(OutboxCoding.bytes(fromHex: "abc") == nil)
    }
}

/// What `encode(bytea, 'hex')` returns: lowercase hex digits without the `\x` prefix of `PostgresValue(bytes:)`.
enum PostgresValueHex {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
