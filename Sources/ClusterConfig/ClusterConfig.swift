/// The YAML cluster definition (`cluster-config/*.yaml`): nodes, shards, instrument rules, timing.
public enum ClusterConfigFormat {
    /// The `version:` this build reads.
    public static let version = 1
}
