import NIOConcurrencyHelpers

/// The latest `NodeStatus`, published by the node loop and read by the status server from any thread.
///
/// Reading takes one short lock and copies the value (copy-on-write arrays): cheap enough for an event loop.
/// The node loop decides how often to refresh it (e.g. every few ticks, not every round).
public final class NodeStatusBox: Sendable {
    private let box = NIOLockedValueBox<NodeStatus?>(nil)

    public init(_ initial: NodeStatus? = nil) {
        box.withLockedValue { $0 = initial }
    }

    /// Replaces the published status.
    public func publish(_ status: NodeStatus) {
        box.withLockedValue { $0 = status }
    }

    /// The last published status; nil before the first `publish`.
    public var current: NodeStatus? {
        box.withLockedValue { $0 }
    }
}
