public import Raft

/// Identity of a Raft group (a shard, or the control plane's meta group) on the node transport.
public struct RaftGroupID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "G\(rawValue)" }
}

/// The first frame on a node-to-node connection, sent by the side that dialled.
///
/// The acceptor answers `HandshakeAccept` or `HandshakeReject` (then closes). Nothing else may be sent before
/// the handshake completes.
public struct Handshake: Sendable, Hashable {
    /// Most bytes in `clusterName`.
    public static let maxClusterNameBytes = 64

    /// Whether `name` can be sent: 1-64 bytes of printable ASCII (`0x20...0x7E`).
    public static func isValidClusterName(_ name: String) -> Bool {
        let utf8 = name.utf8
        return !utf8.isEmpty && utf8.count <= maxClusterNameBytes && utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
    }

    /// The cluster's name from its configuration: 1-64 bytes of printable ASCII. Peers of another cluster are
    /// rejected.
    public var clusterName: String
    /// The dialler's node id (never 0).
    public var nodeID: NodeID
    /// The node the dialler believes it reached (0: any); a mismatch is rejected (stale address books).
    public var peerNodeID: NodeID
    /// Frame versions the dialler speaks; the acceptor picks the highest both speak.
    public var minimumVersion: UInt16
    public var maximumVersion: UInt16

    public init(
        clusterName: String, nodeID: NodeID, peerNodeID: NodeID = 0,
        minimumVersion: UInt16 = Wire.supportedVersions
            .lowerBound, maximumVersion: UInt16 = Wire.supportedVersions.upperBound
    ) {
        self.clusterName = clusterName
        self.nodeID = nodeID
        self.peerNodeID = peerNodeID
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
    }
}

/// The acceptor's yes: its own identity and the version both sides use from now on.
public struct HandshakeAccept: Sendable, Hashable {
    public var clusterName: String
    public var nodeID: NodeID
    public var version: UInt16

    public init(clusterName: String, nodeID: NodeID, version: UInt16 = Wire.version) {
        self.clusterName = clusterName
        self.nodeID = nodeID
        self.version = version
    }
}

/// The acceptor's no; it closes the connection after sending it.
public struct HandshakeReject: Sendable, Hashable {
    /// Stable codes; never renumber.
    public enum Reason: UInt16, Sendable, Hashable, CaseIterable {
        case wrongCluster = 1
        case unknownNode = 2
        /// The dialler reached a node other than `peerNodeID`.
        case wrongPeer = 3
        case noCommonVersion = 4
        /// The node is shutting down or already has a connection from this peer.
        case unavailable = 5
    }

    public static let maxMessageBytes = 1_024

    public var reason: Reason
    /// Human-readable detail (UTF-8, at most 1,024 bytes).
    public var message: String

    /// `message` is cut to `maxMessageBytes` (on a character boundary) so that encoding never traps.
    public init(reason: Reason, message: String) {
        self.reason = reason
        self.message = truncatedUTF8(message, maxBytes: Self.maxMessageBytes)
    }
}

/// One Raft message for one group.
public struct RaftEnvelope: Sendable, Hashable {
    public var group: RaftGroupID
    public var message: Message

    public init(group: RaftGroupID, message: Message) {
        self.group = group
        self.message = message
    }
}

/// Everything sent between nodes.
public enum NodeMessage: Sendable, Hashable {
    case handshake(Handshake)
    case handshakeAccept(HandshakeAccept)
    case handshakeReject(HandshakeReject)
    case raft(RaftEnvelope)

    public var frameKind: FrameKind {
        switch self {
        case .handshake: .handshake
        case .handshakeAccept: .handshakeAccept
        case .handshakeReject: .handshakeReject
        case .raft: .raft
        }
    }

    /// Appends the whole frame (header and payload) to `bytes`.
    ///
    /// - Important: traps on a cluster name that is empty, longer than 64 bytes or not printable ASCII (the
    ///   decoder would refuse it); validate names when loading the configuration.
    public func encodeFrame(into bytes: inout [UInt8]) {
        Frame.encode(kind: frameKind, into: &bytes) { writer in
            switch self {
            case .handshake(let h):
                precondition(Handshake.isValidClusterName(h.clusterName), "invalid cluster name")
                writer.write(string: h.clusterName, maxBytes: Handshake.maxClusterNameBytes)
                writer.write(h.nodeID)
                writer.write(h.peerNodeID)
                writer.write(h.minimumVersion)
                writer.write(h.maximumVersion)
            case .handshakeAccept(let a):
                precondition(Handshake.isValidClusterName(a.clusterName), "invalid cluster name")
                writer.write(string: a.clusterName, maxBytes: Handshake.maxClusterNameBytes)
                writer.write(a.nodeID)
                writer.write(a.version)
            case .handshakeReject(let r):
                writer.write(r.reason.rawValue)
                writer.write(string: r.message, maxBytes: HandshakeReject.maxMessageBytes)
            case .raft(let envelope):
                writer.write(envelope.group.rawValue)
                RaftWire.encode(envelope.message, into: &writer)
            }
        }
    }

    public func encodedFrame() -> [UInt8] {
        var bytes: [UInt8] = []
        encodeFrame(into: &bytes)
        return bytes
    }

    /// Decodes a node frame's payload. Client frame kinds are refused with `unexpectedFrameKind`.
    /// Error offsets count from the start of the frame.
    public init(decoding frame: Frame) throws(WireError) {
        var reader = ByteReader(frame.payload, baseOffset: Frame.headerByteCount)
        switch frame.kind {
        case .handshake:
            let name = try reader.readString(
                maxBytes: Handshake.maxClusterNameBytes, printableASCII: true, allowEmpty: false, "cluster name")
            let nodeID = try reader.read(UInt64.self, "node id")
            let peer = try reader.read(UInt64.self, "peer node id")
            let minimum = try reader.read(UInt16.self, "minimum version")
            let maximumOffset = reader.offset
            let maximum = try reader.read(UInt16.self, "maximum version")
            guard minimum <= maximum else {
                throw WireError(.inconsistentFields, offset: maximumOffset, "version range \(minimum)...\(maximum)")
            }
            self = .handshake(
                Handshake(
                    clusterName: name, nodeID: nodeID, peerNodeID: peer, minimumVersion: minimum,
                    maximumVersion: maximum))
        case .handshakeAccept:
            let name = try reader.readString(
                maxBytes: Handshake.maxClusterNameBytes, printableASCII: true, allowEmpty: false, "cluster name")
            self = .handshakeAccept(
                HandshakeAccept(
                    clusterName: name, nodeID: try reader.read(UInt64.self, "node id"),
                    version: try reader.read(UInt16.self, "version")))
        case .handshakeReject:
            let reason = try reader.readEnum(HandshakeReject.Reason.self, "reject reason")
            let message = try reader.readString(maxBytes: HandshakeReject.maxMessageBytes, "message")
            self = .handshakeReject(HandshakeReject(reason: reason, message: message))
        case .raft:
            let group = RaftGroupID(try reader.read(UInt32.self, "group id"))
            self = .raft(RaftEnvelope(group: group, message: try RaftWire.decode(from: &reader)))
        default:
            throw WireError(.unexpectedFrameKind, offset: 6, "\(frame.kind) is not a node frame")
        }
        try reader.expectEnd("node message")
    }
}
