/// Versioned binary codecs: Raft messages between nodes, shard log entry payloads, the client protocol.
public enum Wire {
    /// The wire format version this build speaks.
    public static let version: UInt16 = 1
}
