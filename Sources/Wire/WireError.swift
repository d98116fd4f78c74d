/// Why bytes did not decode. An operating error: the bytes came from a peer, a client or a disk.
///
/// The raw values of `Code` are stable: the client protocol sends them in `ProtocolError` frames
/// (docs/PROTOCOL.md, "Error codes"). Never renumber.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: UInt16, Sendable, Hashable, CaseIterable {
        /// The input ends before the field at `offset` (a torn frame, or a length that lies).
        case truncated = 1
        /// Bytes are left over after a complete message.
        case trailingBytes = 2
        /// A frame's length field is below the 3-byte minimum (version and kind).
        case frameTooShort = 3
        /// A frame is longer than the receiver's `maxFrameBytes`.
        case frameTooLarge = 4
        /// The frame header's version is not one this build speaks.
        case unsupportedVersion = 5
        /// The frame header's kind byte is not a known kind.
        case unknownFrameKind = 6
        /// A known frame kind where it is not allowed (a response sent to a server, a node frame on a client
        /// connection, a handshake after the handshake).
        case unexpectedFrameKind = 7
        /// A tag inside a payload (command, event, Raft message kind, entry kind) is unknown.
        case unknownTag = 8
        /// An enumerated field (side, order type, reason, ...) holds an unknown value.
        case invalidEnum = 9
        /// A boolean field is neither 0 nor 1.
        case invalidBool = 10
        /// A symbol field is not 1-16 printable ASCII bytes, zero-padded.
        case invalidSymbol = 11
        /// A string is not valid for its field (bad UTF-8, non-printable, empty where not allowed).
        case invalidString = 12
        /// An element count exceeds its documented maximum or the bytes that remain.
        case countTooLarge = 13
        /// A byte length exceeds its documented maximum or the bytes that remain.
        case lengthTooLarge = 14
        /// A flags field has bits set that this version does not define.
        case reservedBitsSet = 15
        /// Fields that contradict each other (an accepted outcome with a reject reason, ...).
        case inconsistentFields = 16
    }

    public var code: Code
    /// Byte offset, within the buffer handed to the decoder (for frame decoders: within the stream), of the
    /// field that failed.
    public var offset: Int
    public var message: String

    public init(_ code: Code, offset: Int, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "WireError(\(code), offset: \(offset)): \(message)" }
}
