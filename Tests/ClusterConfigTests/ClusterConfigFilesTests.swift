import ExchangeCore
import Raft
import Testing

@testable import ClusterConfig

/// The repository's `cluster-config/` directory, found from this file's location.
func clusterConfigDirectory(_ file: String = #filePath) -> String {
    var parts = file.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // ClusterConfigFilesTests.swift, ClusterConfigTests, Tests
    return parts.joined(separator: "/") + "/cluster-config"
}

@Suite struct ClusterConfigFilesTests {
    @Test func versionIsOne() { #expect(ClusterConfigFormat.version == 1) }

    @Test func localYAMLParsesWithTheDocumentedShape() throws {
        let definition = try ClusterDefinition.load(path: clusterConfigDirectory() + "/local.yaml")
        #expect(definition.cluster == "local")
        #expect(definition.nodes.map(\.id) == [1, 2, 3])
        #expect(definition.nodes.allSatisfy { $0.raftAddress.host == "127.0.0.1" && $0.region == "local" })
        #expect(Set(definition.nodes.map(\.zone)) == ["a", "b", "c"])
        #expect(definition.shards.count >= 2)
        #expect(Set(definition.shards.compactMap(\.primary)).count == definition.shards.count)
        #expect(definition.durability.fsync)
        #expect(definition.replication.mode == .regional)
        #expect(definition.timing.tickMilliseconds == 10)
        #expect(definition.shard(for: Symbol("AAPL"))?.id == 1)
        #expect(definition.shard(for: Symbol("NVDA"))?.id == 2)
        #expect(definition.shard(for: Symbol("XXXX")) == nil)
        #expect(definition.node(id: 2)?.clientAddress == NetworkAddress(host: "127.0.0.1", port: 7202))
        #expect(definition.dataDirectory(for: 3) == "data/local/node-3")
        #expect(
            definition.replicas(on: 1) == [
                HostedReplica(shard: 1, role: .primary), HostedReplica(shard: 2, role: .voter),
                HostedReplica(shard: 3, role: .standby),
            ])
        for shard in definition.shards {
            for symbol in shard.symbols {
                let rules = try #require(definition.instrumentRules(for: symbol))
                #expect(throws: Never.self) { try rules.validate() }
            }
        }
    }

    @Test func localYAMLGivesAValidRaftConfigurationForEveryReplica() throws {
        let definition = try ClusterDefinition.load(path: clusterConfigDirectory() + "/local.yaml")
        for shard in definition.shards {
            for replica in shard.replicas {
                let configuration = try definition.raftConfiguration(for: shard.id, node: replica.node)
                try configuration.validate()
                #expect(configuration.id == replica.node)
                #expect(configuration.membership.voters.first == shard.primary)
                #expect(Set(configuration.membership.voters) == Set(shard.replicas.map(\.node)))
                #expect(configuration.membership.learners.isEmpty)
                #expect(configuration.electionPriorities[shard.primary!] == 2)
                #expect(configuration.electionPriorities[shard.standby!] == 1)
                #expect(configuration.electionPriorities.count == 2)
                #expect(configuration.clusterNodes == [1, 2, 3])
                #expect(configuration.locations[replica.node]?.region == "local")
                #expect(configuration.electionTimeoutTicks == 10 && configuration.heartbeatTicks == 1)
                #expect(configuration.preVote && configuration.checkQuorum && !configuration.requireTwoRegionQuorum)
                #expect(configuration.randomSeed == UInt64(shard.id))
            }
        }
        #expect(throws: ClusterConfigError.self) { try definition.raftConfiguration(for: 99, node: 1) }
        #expect(throws: ClusterConfigError.self) { try definition.raftConfiguration(for: 1, node: 9) }
    }

    @Test(arguments: ["multi-host.yaml", "multi-region.yaml", "multi-region-dr.yaml"])
    func shippedFilesParse(_ name: String) throws {
        let definition = try ClusterDefinition.load(path: clusterConfigDirectory() + "/" + name)
        try definition.validate()
        for shard in definition.shards {
            for replica in shard.replicas {
                let configuration = try definition.raftConfiguration(for: shard.id, node: replica.node)
                #expect(configuration.requireTwoRegionQuorum == (definition.replication.mode == .geo))
            }
        }
    }

    @Test func drLearnersBecomeRaftLearners() throws {
        let definition = try ClusterDefinition.load(path: clusterConfigDirectory() + "/multi-region-dr.yaml")
        let configuration = try definition.raftConfiguration(for: 1, node: 4)
        #expect(configuration.membership.voters == [1, 2, 3])
        #expect(configuration.membership.learners == [4])
        #expect(configuration.electionPriorities[4] == nil)
        #expect(definition.dr?.region == "us-west")
    }

    @Test func missingFileIsUnreadable() {
        let error = #expect(throws: ClusterConfigError.self) {
            try ClusterDefinition.load(path: clusterConfigDirectory() + "/no-such-file.yaml")
        }
        #expect(error?.code == .unreadableFile)
    }
}
