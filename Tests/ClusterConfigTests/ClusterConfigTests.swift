import Testing

@testable import ClusterConfig

@Suite struct ClusterConfigFormatTests {
    @Test func versionIsOne() { #expect(ClusterConfigFormat.version == 1) }
}
