/// Versioned binary codecs: Raft messages between nodes, shard log entry payloads, the client protocol.
///
/// Pure: no I/O, no clock, no Foundation. Every decoder rejects bad input with a `WireError` and never traps or
/// allocates more than the input it was given (every count and length is checked against the bytes that remain
/// and against a documented maximum before anything is reserved). The byte-level specification is
/// docs/PROTOCOL.md; every multi-byte integer is little-endian.
public enum Wire {
    /// The frame format version this build speaks (the `version` field of every frame header).
    public static let version: UInt16 = 1

    /// Frame versions this build decodes. A frame with any other version is refused with
    /// `WireError.Code.unsupportedVersion`.
    public static let supportedVersions: ClosedRange<UInt16> = 1...1
}
