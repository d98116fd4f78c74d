import Testing

@testable import ExchangeClient

@Suite struct ExchangeClientPlaceholderTests {
    @Test func version() { #expect(ExchangeClientVersion.protocolVersion == 1) }
}
