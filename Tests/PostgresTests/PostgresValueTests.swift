import Postgres
import Testing

@Suite struct PostgresValueTests {
    @Test func byteaParametersUseTheHexFormat() {
        #expect(PostgresValue(bytes: [0x00, 0x01, 0x7f, 0x80, 0xff]).description == "\\x00017f80ff")
        #expect(PostgresValue(bytes: []).description == "\\x")
    }
}
