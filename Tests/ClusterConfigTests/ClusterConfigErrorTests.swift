import ExchangeCore
import Testing

@testable import ClusterConfig

/// A small valid definition; each broken case edits one spot of it.
let validDocument = """
    version: 1
    cluster: test
    nodes:
      - id: 1
        raftAddress: 127.0.0.1:7101
        clientAddress: 127.0.0.1:7201
        metricsAddress: 127.0.0.1:9101
        region: r1
        zone: a
      - id: 2
        raftAddress: 127.0.0.1:7102
        clientAddress: 127.0.0.1:7202
        metricsAddress: 127.0.0.1:9102
        region: r1
        zone: b
      - id: 3
        raftAddress: 127.0.0.1:7103
        clientAddress: 127.0.0.1:7203
        metricsAddress: 127.0.0.1:9103
        region: r1
        zone: c
    shards:
      - id: 1
        symbols: [AAPL, MSFT]
        replicas:
          - { node: 1, role: primary }
          - { node: 2, role: standby }
          - { node: 3, role: voter }
      - id: 2
        symbols: [TSLA]
        replicas:
          - { node: 2, role: primary }
          - { node: 3, role: standby }
          - { node: 1, role: voter }
    instruments:
      - { symbol: AAPL, referencePrice: 1900000 }
      - { symbol: MSFT, referencePrice: 4200000, tickSize: 100 }
      - { symbol: TSLA, referencePrice: 2500000 }
    timing:
      tickMilliseconds: 10
      electionTicks: 10
      heartbeatTicks: 1
    durability:
      fsync: true
    replication:
      mode: regional

    """

struct BrokenCase: CustomTestStringConvertible, Sendable {
    var name: String
    var replacements: [(String, String)]
    var code: ClusterConfigError.Code
    var path: String
    /// When set, the error must carry this line.
    var line: Int? = nil
    var testDescription: String { name }
}

let brokenCases: [BrokenCase] = [
    BrokenCase(
        name: "YAML syntax error", replacements: [("    zone: b\n", "    zone: [b\n")], code: .yamlSyntax, path: "",
        line: 16),
    BrokenCase(
        name: "duplicate key", replacements: [("cluster: test\n", "cluster: test\ncluster: again\n")], code: .duplicate,
        path: ""),
    BrokenCase(
        name: "unknown top-level key", replacements: [("timing:", "timeing:")], code: .unknownKey, path: "timeing",
        line: 39),
    BrokenCase(
        name: "typo in durability", replacements: [("  fsync: true", "  fsynk: true")], code: .unknownKey,
        path: "durability.fsynk"),
    BrokenCase(
        name: "unknown replica key",
        replacements: [("{ node: 3, role: voter }", "{ node: 3, role: voter, weight: 2 }")],
        code: .unknownKey, path: "shards[0].replicas[2].weight"),
    BrokenCase(
        name: "null fsync", replacements: [("  fsync: true", "  fsync:")], code: .wrongType, path: "durability.fsync"),
    BrokenCase(
        name: "missing fsync key", replacements: [("durability:\n  fsync: true", "durability: {}")], code: .missingKey,
        path: "durability.fsync"),
    BrokenCase(
        name: "missing durability section", replacements: [("durability:\n  fsync: true\n", "")], code: .missingKey,
        path: "durability"),
    BrokenCase(
        name: "fsync false without acknowledgement", replacements: [("fsync: true", "fsync: false")], code: .missingKey,
        path: "durability.acknowledgeWithoutFsync"),
    BrokenCase(
        name: "acknowledgement with fsync on",
        replacements: [("fsync: true", "fsync: true\n  acknowledgeWithoutFsync: true")],
        code: .invalidValue, path: "durability.acknowledgeWithoutFsync"),
    BrokenCase(
        name: "missing replication mode", replacements: [("  mode: regional", "  {}")], code: .missingKey,
        path: "replication.mode"),
    BrokenCase(
        name: "bad replication mode", replacements: [("mode: regional", "mode: global")], code: .invalidValue,
        path: "replication.mode"),
    BrokenCase(
        name: "unsupported version", replacements: [("version: 1", "version: 2")], code: .unsupportedVersion,
        path: "version", line: 1),
    BrokenCase(name: "missing version", replacements: [("version: 1\n", "")], code: .missingKey, path: "version"),
    BrokenCase(
        name: "quoted integer", replacements: [("electionTicks: 10", "electionTicks: \"10\"")], code: .wrongType,
        path: "timing.electionTicks"),
    BrokenCase(
        name: "string for integer", replacements: [("  - id: 2\n", "  - id: two\n")], code: .wrongType,
        path: "nodes[1].id"),
    BrokenCase(
        name: "mapping for list", replacements: [("symbols: [TSLA]", "symbols: { TSLA: 1 }")], code: .wrongType,
        path: "shards[1].symbols"),
    BrokenCase(
        name: "yes is not a boolean", replacements: [("fsync: true", "fsync: yes")], code: .wrongType,
        path: "durability.fsync"),
    BrokenCase(
        name: "null value", replacements: [("region: r1\n    zone: c", "region:\n    zone: c")], code: .wrongType,
        path: "nodes[2].region"),
    BrokenCase(
        name: "node id zero", replacements: [("  - id: 3\n", "  - id: 0\n")], code: .outOfRange, path: "nodes[2].id"),
    BrokenCase(
        name: "duplicate node id", replacements: [("  - id: 3\n", "  - id: 2\n")], code: .duplicate, path: "nodes[2].id"
    ),
    BrokenCase(
        name: "port zero", replacements: [("127.0.0.1:7103", "127.0.0.1:0")], code: .outOfRange,
        path: "nodes[2].raftAddress", line: 17),
    BrokenCase(
        name: "port too large", replacements: [("127.0.0.1:9102", "127.0.0.1:65536")], code: .outOfRange,
        path: "nodes[1].metricsAddress"),
    BrokenCase(
        name: "port missing", replacements: [("127.0.0.1:7201", "127.0.0.1")], code: .invalidValue,
        path: "nodes[0].clientAddress"),
    BrokenCase(
        name: "bad IPv4", replacements: [("127.0.0.1:7201", "127.0.0.256:7201")], code: .invalidValue,
        path: "nodes[0].clientAddress"),
    BrokenCase(
        name: "IPv6 without brackets", replacements: [("127.0.0.1:7201", "::1:7201")], code: .invalidValue,
        path: "nodes[0].clientAddress"),
    BrokenCase(
        name: "wildcard Raft address", replacements: [("127.0.0.1:7101", "0.0.0.0:7101")], code: .invalidValue,
        path: "nodes[0].raftAddress"),
    BrokenCase(
        name: "bad host name", replacements: [("127.0.0.1:7101", "bad_host:7101")], code: .invalidValue,
        path: "nodes[0].raftAddress"),
    BrokenCase(
        name: "duplicate address across nodes", replacements: [("127.0.0.1:7202", "127.0.0.1:7101")], code: .duplicate,
        path: "nodes[1].clientAddress", line: 12),
    BrokenCase(
        name: "duplicate address within a node", replacements: [("127.0.0.1:9101", "127.0.0.1:7201")], code: .duplicate,
        path: "nodes[0].metricsAddress"),
    BrokenCase(
        name: "empty zone label", replacements: [("zone: a", "zone: \"\"")], code: .invalidValue,
        path: "nodes[0].zone"),
    BrokenCase(
        name: "bad region label", replacements: [("region: r1\n    zone: b", "region: r 1\n    zone: b")],
        code: .invalidValue, path: "nodes[1].region"),
    BrokenCase(
        name: "cluster name too long",
        replacements: [("cluster: test", "cluster: " + String(repeating: "x", count: 65))], code: .invalidValue,
        path: "cluster", line: 2),
    BrokenCase(
        name: "cluster name not ASCII", replacements: [("cluster: test", "cluster: tëst")], code: .invalidValue,
        path: "cluster"),
    BrokenCase(
        name: "empty node list", replacements: [("nodes:\n  - id: 1", "nodes: []\nunused:\n  - id: 1")],
        code: .unknownKey, path: "unused"),
    BrokenCase(
        name: "duplicate shard id", replacements: [("  - id: 2\n    symbols", "  - id: 1\n    symbols")],
        code: .duplicate, path: "shards[1].id"),
    BrokenCase(
        name: "shard id zero", replacements: [("  - id: 2\n    symbols", "  - id: 0\n    symbols")], code: .outOfRange,
        path: "shards[1].id"),
    BrokenCase(
        name: "empty symbol list",
        replacements: [("symbols: [TSLA]", "symbols: []"), ("  - { symbol: TSLA, referencePrice: 2500000 }\n", "")],
        code: .invalidValue, path: "shards[1].symbols"),
    BrokenCase(
        name: "bad symbol", replacements: [("[AAPL, MSFT]", "[AAPL, \"MS FT\"]")], code: .invalidValue,
        path: "shards[0].symbols[1]"),
    BrokenCase(
        name: "duplicate symbol", replacements: [("symbols: [TSLA]", "symbols: [TSLA, AAPL]")], code: .duplicate,
        path: "shards[1].symbols[1]"),
    BrokenCase(
        name: "unknown node", replacements: [("{ node: 1, role: voter }", "{ node: 9, role: voter }")],
        code: .unknownReference,
        path: "shards[1].replicas[2].node", line: 34),
    BrokenCase(
        name: "node twice in a shard", replacements: [("{ node: 3, role: voter }", "{ node: 1, role: voter }")],
        code: .duplicate, path: "shards[0].replicas[2].node"),
    BrokenCase(
        name: "two primaries", replacements: [("{ node: 3, role: voter }", "{ node: 3, role: primary }")],
        code: .duplicate, path: "shards[0].replicas[2].role"),
    BrokenCase(
        name: "two standbys", replacements: [("{ node: 3, role: voter }", "{ node: 3, role: standby }")],
        code: .duplicate, path: "shards[0].replicas[2].role"),
    BrokenCase(
        name: "no primary", replacements: [("{ node: 1, role: primary }", "{ node: 1, role: voter }")],
        code: .invalidValue, path: "shards[0].replicas"),
    BrokenCase(
        name: "bad role", replacements: [("{ node: 3, role: voter }", "{ node: 3, role: leader }")],
        code: .invalidValue, path: "shards[0].replicas[2].role"),
    BrokenCase(
        name: "even voter count", replacements: [("      - { node: 3, role: voter }\n", "")], code: .invalidValue,
        path: "shards[0].replicas"),
    BrokenCase(
        name: "symbol without rules", replacements: [("  - { symbol: TSLA, referencePrice: 2500000 }\n", "")],
        code: .unknownReference, path: "shards[1].symbols[0]"),
    BrokenCase(
        name: "rules for an unknown symbol", replacements: [("symbol: TSLA, ref", "symbol: NVDA, ref")],
        code: .unknownReference, path: "instruments[2].symbol"),
    BrokenCase(
        name: "duplicate rules", replacements: [("symbol: TSLA, ref", "symbol: AAPL, ref")], code: .duplicate,
        path: "instruments[2].symbol"),
    BrokenCase(
        name: "missing reference price",
        replacements: [("{ symbol: TSLA, referencePrice: 2500000 }", "{ symbol: TSLA }")], code: .missingKey,
        path: "instruments[2].referencePrice"),
    BrokenCase(
        name: "reference price off tick",
        replacements: [("referencePrice: 4200000, tickSize: 100", "referencePrice: 4200050, tickSize: 100")],
        code: .outOfRange, path: "instruments[1].referencePrice", line: 37),
    BrokenCase(
        name: "instrument tick size zero", replacements: [("tickSize: 100", "tickSize: 0")], code: .outOfRange,
        path: "instruments[1].tickSize"),
    BrokenCase(
        name: "unknown instrument key", replacements: [("tickSize: 100", "tick: 100")], code: .unknownKey,
        path: "instruments[1].tick"),
    BrokenCase(
        name: "tick out of range", replacements: [("tickMilliseconds: 10", "tickMilliseconds: 0")], code: .outOfRange,
        path: "timing.tickMilliseconds"),
    BrokenCase(
        name: "heartbeat not below election", replacements: [("heartbeatTicks: 1", "heartbeatTicks: 10")],
        code: .outOfRange, path: "timing.heartbeatTicks"),
    BrokenCase(
        name: "integer overflow", replacements: [("electionTicks: 10", "electionTicks: 99999999999999999999999")],
        code: .outOfRange, path: "timing.electionTicks"),
    BrokenCase(
        name: "batching out of range", replacements: [("timing:", "batching:\n  maxCommandsPerEntry: 70000\ntiming:")],
        code: .outOfRange, path: "batching.maxCommandsPerEntry"),
    BrokenCase(
        name: "snapshot keep zero", replacements: [("timing:", "snapshots:\n  keep: 0\ntiming:")], code: .outOfRange,
        path: "snapshots.keep"),
    BrokenCase(
        name: "state hash disabled", replacements: [("timing:", "stateHash:\n  everyEntries: 0\ntiming:")],
        code: .outOfRange, path: "stateHash.everyEntries"),
    BrokenCase(
        name: "frame smaller than an entry",
        replacements: [("timing:", "transport:\n  maxFrameBytes: 1048576\ntiming:")],
        code: .invalidValue, path: "transport.maxFrameBytes"),
    BrokenCase(
        name: "geo mode in one region", replacements: [("mode: regional", "mode: geo")], code: .invalidValue,
        path: "shards[0].replicas"),
    BrokenCase(
        name: "regional mode over two regions", replacements: [("region: r1\n    zone: c", "region: r2\n    zone: c")],
        code: .invalidValue, path: "shards[0].replicas"),
    BrokenCase(
        name: "DR region unknown", replacements: [("mode: regional\n", "mode: regional\ndr:\n  region: mars\n")],
        code: .unknownReference, path: "dr.region"),
    BrokenCase(
        name: "DR section without region", replacements: [("mode: regional\n", "mode: regional\ndr: {}\n")],
        code: .missingKey, path: "dr.region"),
    BrokenCase(
        name: "DR region holds voters", replacements: [("mode: regional\n", "mode: regional\ndr:\n  region: r1\n")],
        code: .invalidValue, path: "shards[0].replicas[0].role"),
    BrokenCase(
        name: "raft section wrong type", replacements: [("timing:", "raft: [preVote]\ntiming:")], code: .wrongType,
        path: "raft"),
    BrokenCase(
        name: "document is a list", replacements: [("version: 1\n", "- version: 1\n")], code: .yamlSyntax, path: ""),
]

@Suite struct ClusterConfigErrorTests {
    @Test func theValidDocumentParses() throws {
        let definition = try ClusterDefinition.parse(yaml: validDocument, source: "valid.yaml")
        #expect(definition.shards.count == 2)
        #expect(definition.instrumentRules(for: Symbol("MSFT"))?.tickSize == 100)
        #expect(definition.instrumentRules(for: Symbol("AAPL"))?.minimumQuantity == Quantity(1))
        #expect(definition.batching == BatchingSettings())
        #expect(definition.dataDirectory(for: 1) == "data/node-1")
    }

    @Test(arguments: brokenCases)
    func brokenDocumentIsRefused(_ broken: BrokenCase) throws {
        var text = validDocument
        for (old, new) in broken.replacements {
            try #require(text.contains(old), "the case's anchor \(old.debugDescription) is not in the document")
            text = text.replacing(old, with: new, maxReplacements: 1)
        }
        let error = try #require(throws: ClusterConfigError.self) {
            try ClusterDefinition.parse(yaml: text, source: "broken.yaml")
        }
        #expect(error.code == broken.code, "\(error)")
        #expect(error.path == broken.path, "\(error)")
        #expect(error.source == "broken.yaml")
        if !broken.path.isEmpty {
            #expect(error.message.hasPrefix(broken.path + ": "), "the message names the field: \(error.message)")
        }
        if let line = broken.line {
            #expect(error.line == line, "\(error)")
        }
        #expect(error.description.hasPrefix("broken.yaml"))
    }

    @Test func theFirstErrorInTheDocumentedOrderIsReported() throws {
        // Three errors: an unknown node (shards), a bad port (nodes) and an unknown key (root). Unknown keys of a
        // mapping come first, then the sections in table order, so the same file always gives the same error.
        var text = validDocument.replacing("{ node: 1, role: voter }", with: "{ node: 9, role: voter }")
        text = text.replacing("127.0.0.1:7103", with: "127.0.0.1:0")
        let withTypo = text.replacing("timing:", with: "timming:")
        for _ in 0..<3 {
            let first = try #require(throws: ClusterConfigError.self) {
                try ClusterDefinition.parse(yaml: withTypo, source: "x.yaml")
            }
            #expect(first.code == .unknownKey && first.path == "timming")
        }
        let second = try #require(throws: ClusterConfigError.self) {
            try ClusterDefinition.parse(yaml: text, source: "x.yaml")
        }
        #expect(second.code == .outOfRange && second.path == "nodes[2].raftAddress")
    }

    @Test func unknownNodeMessageNamesTheFieldAndTheNode() throws {
        let text = validDocument.replacing("{ node: 1, role: voter }", with: "{ node: 9, role: voter }")
        let error = try #require(throws: ClusterConfigError.self) {
            try ClusterDefinition.parse(yaml: text, source: "x.yaml")
        }
        #expect(error.message == "shards[1].replicas[2].node: node 9 is not defined in nodes")
        #expect(
            error.description
                == "x.yaml:34:17: shards[1].replicas[2].node: node 9 is not defined in nodes [unknownReference]")
    }

    @Test func unknownKeyMessageListsTheAllowedKeys() throws {
        let text = validDocument.replacing("  fsync: true", with: "  fsynk: true")
        let error = try #require(throws: ClusterConfigError.self) {
            try ClusterDefinition.parse(yaml: text, source: "x.yaml")
        }
        #expect(error.message == "durability.fsynk: unknown key; expected one of fsync, acknowledgeWithoutFsync")
    }

    @Test func fsyncOffNeedsTheExplicitAcknowledgement() throws {
        let text = validDocument.replacing("fsync: true", with: "fsync: false\n  acknowledgeWithoutFsync: true")
        let definition = try ClusterDefinition.parse(yaml: text, source: "x.yaml")
        #expect(!definition.durability.fsync && definition.durability.acknowledgeWithoutFsync)
        let refused = validDocument.replacing("fsync: true", with: "fsync: false\n  acknowledgeWithoutFsync: false")
        let error = try #require(throws: ClusterConfigError.self) {
            try ClusterDefinition.parse(yaml: refused, source: "x.yaml")
        }
        #expect(error.code == .missingKey)
    }

    @Test func validateCatchesDefinitionsBuiltInCode() throws {
        var definition = try ClusterDefinition.parse(yaml: validDocument, source: "valid.yaml")
        try definition.validate()
        definition.shards[1].replicas.append(ReplicaDefinition(node: 3, role: .learner))
        let error = try #require(throws: ClusterConfigError.self) { try definition.validate() }
        #expect(error.code == .duplicate && error.path == "shards[1].replicas[3].node" && error.line == nil)
    }

    @Test func addresses() {
        func parse(_ text: String) -> NetworkAddress? { try? NetworkAddress.parse(text, dialled: true).get() }
        #expect(parse("[::1]:7101") == NetworkAddress(host: "::1", port: 7101))
        #expect(parse("[2001:db8::8:800:200c:417a]:1")?.description == "[2001:db8::8:800:200c:417a]:1")
        #expect(parse("[::ffff:10.0.0.1]:80") != nil)
        #expect(parse("Node-1.Example.COM:443")?.host == "node-1.example.com")
        #expect(parse("10.0.0.1:65535")?.port == 65535)
        #expect(parse("[::]:7101") == nil)
        #expect(parse("[1::2::3]:1") == nil)
        #expect(parse("[12345::]:1") == nil)
        #expect(parse("01.2.3.4:1") == nil)
        #expect(parse("host:-1") == nil)
        #expect(parse("-host:1") == nil)
        #expect(parse(":7101") == nil)
        #expect((try? NetworkAddress.parse("0.0.0.0:9100", dialled: false).get()) != nil)
    }
}
