/// SHA-256 over the canonical encoding (`Event.encode(into:)`) of a stream of events.
///
/// Two engines that emitted the same events in the same order have the same digest. The encoding
/// is self-delimiting (a tag and a fixed length per case), so the digest of a stream does not
/// depend on how it was split into calls.
///
/// One scratch buffer is reused for every call: after it has grown to the largest batch seen,
/// adding events allocates nothing.
public struct EventDigest: Sendable {
    private var hasher = SHA256()
    private var scratch: [UInt8]
    /// Events added so far.
    public private(set) var eventCount = 0
    /// Bytes of canonical encoding added so far.
    public private(set) var byteCount = 0

    public init() {
        scratch = []
        scratch.reserveCapacity(64 * Event.maximumEncodedByteCount)
    }

    /// Adds one event.
    public mutating func add(_ event: Event) {
        scratch.removeAll(keepingCapacity: true)
        event.encode(into: &scratch)
        flush(events: 1)
    }

    /// Adds events in order (for example everything one command emitted).
    public mutating func add(contentsOf events: [Event]) {
        scratch.removeAll(keepingCapacity: true)
        for event in events {
            event.encode(into: &scratch)
        }
        flush(events: events.count)
    }

    /// The SHA-256 of the stream so far; more events may still be added.
    public func finalize() -> [UInt8] {
        hasher.finalize()
    }

    /// Lower-case hexadecimal of `finalize()`.
    public func finalizeHex() -> String {
        hasher.finalizeHex()
    }

    private mutating func flush(events: Int) {
        scratch.withUnsafeBytes { hasher.update($0) }
        eventCount += events
        byteCount += scratch.count
    }
}
