import Foundation
import Postgres
import Testing

@Suite struct PostgresValueTests {
    @Test func byteaParametersUseTheHexFormat() {
        #expect(PostgresValue(bytes: [0x00, 0x01, 0x7f, 0x80, 0xff]).description == "\\x00017f80ff")
        #expect(PostgresValue(bytes: []).description == "\\x")
        // The generic entry (any sequence of bytes) agrees with the array one, for every byte value.
        let all = (0...255).map { UInt8($0) }
        let expected = "\\x" + all.map { String(format: "%02x", $0) }.joined()
        #expect(PostgresValue(bytes: all).text == expected)
        #expect(PostgresValue(bytes: all[...]).text == expected)
        #expect(PostgresValue(bytes: (0...255).lazy.map { UInt8($0) }).text == expected)
    }
}
