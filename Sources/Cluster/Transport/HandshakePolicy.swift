public import Raft
public import Wire

/// The acceptor's answer to a handshake.
public enum HandshakeAnswer: Sendable, Hashable {
    case accept(HandshakeAccept)
    case reject(HandshakeReject)
}

/// The node transport's handshake rules, pure so that they can be tested as transcripts.
public enum HandshakePolicy {
    /// The acceptor's answer to a dialler's `Handshake`.
    ///
    /// Checked in this order: another cluster (`wrongCluster`), a dialler not among `knownPeers` (or claiming
    /// this node's id or 0: `unknownNode`), a dialler that meant to reach another node (`wrongPeer`), no frame
    /// version both speak (`noCommonVersion`). On success the highest common version is chosen.
    public static func answer(
        to handshake: Handshake, clusterName: String, nodeID: NodeID, knownPeers: Set<NodeID>,
        supportedVersions: ClosedRange<UInt16> = Wire.supportedVersions
    ) -> HandshakeAnswer {
        guard handshake.clusterName == clusterName else {
            return .reject(
                HandshakeReject(
                    reason: .wrongCluster,
                    message: "cluster \(handshake.clusterName) is not \(clusterName)"))
        }
        guard handshake.nodeID != nodeID, knownPeers.contains(handshake.nodeID) else {
            return .reject(
                HandshakeReject(reason: .unknownNode, message: "node \(handshake.nodeID) is not a peer of \(nodeID)"))
        }
        guard handshake.peerNodeID == 0 || handshake.peerNodeID == nodeID else {
            return .reject(
                HandshakeReject(
                    reason: .wrongPeer, message: "this is node \(nodeID), not node \(handshake.peerNodeID)"))
        }
        let low = max(handshake.minimumVersion, supportedVersions.lowerBound)
        let high = min(handshake.maximumVersion, supportedVersions.upperBound)
        guard low <= high else {
            return .reject(
                HandshakeReject(
                    reason: .noCommonVersion,
                    message: "versions \(handshake.minimumVersion)...\(handshake.maximumVersion) and "
                        + "\(supportedVersions.lowerBound)...\(supportedVersions.upperBound) do not overlap"))
        }
        return .accept(HandshakeAccept(clusterName: clusterName, nodeID: nodeID, version: high))
    }

    /// Whether the dialler accepts the acceptor's `HandshakeAccept`: same cluster, the node it meant to reach, a
    /// version it speaks.
    public static func isAcceptable(
        _ accept: HandshakeAccept, clusterName: String, expectedPeer: NodeID,
        supportedVersions: ClosedRange<UInt16> = Wire.supportedVersions
    ) -> Bool {
        accept.clusterName == clusterName && accept.nodeID == expectedPeer
            && supportedVersions.contains(accept.version)
    }
}

/// Exponential backoff with jitter for redialling a peer.
///
/// Attempt `n` (1 after the first failure) waits a delay drawn uniformly from [d/2, d] where
/// `d = min(maximum, initial * 2^(n-1))`: the jitter keeps a cluster whose nodes restarted together from
/// redialling in lockstep.
public struct ReconnectBackoff: Sendable, Hashable {
    public var initialMilliseconds: Int
    public var maximumMilliseconds: Int

    public init(initialMilliseconds: Int, maximumMilliseconds: Int) {
        precondition(initialMilliseconds >= 1 && maximumMilliseconds >= initialMilliseconds, "invalid backoff")
        self.initialMilliseconds = initialMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
    }

    /// The ceiling `d` of attempt `attempt` (>= 1).
    public func ceilingMilliseconds(attempt: Int) -> Int {
        let doublings = min(max(attempt - 1, 0), 30)
        let (product, overflow) = initialMilliseconds.multipliedReportingOverflow(by: 1 << doublings)
        return overflow ? maximumMilliseconds : min(product, maximumMilliseconds)
    }

    /// The delay of attempt `attempt`, with `random` supplying the jitter.
    public func delayMilliseconds(attempt: Int, using random: inout some RandomNumberGenerator) -> Int {
        let ceiling = ceilingMilliseconds(attempt: attempt)
        let floor = max(ceiling / 2, 1)
        return floor >= ceiling ? ceiling : Int.random(in: floor...ceiling, using: &random)
    }
}
