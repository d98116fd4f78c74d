import Testing

@testable import Wire

@Suite struct WireVersionTests {
    @Test func versionIsOne() { #expect(Wire.version == 1) }
}
