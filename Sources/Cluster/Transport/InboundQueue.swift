import NIOConcurrencyHelpers
public import Raft

/// One Raft message received from a peer, for the node loop to step into the replica of `group`.
public struct InboundRaftMessage: Sendable, Hashable {
    /// The peer the connection authenticated in its handshake.
    public var from: NodeID
    public var group: UInt32
    public var message: Message
    /// Size of the frame it came in.
    public var byteCount: Int

    public init(from: NodeID, group: UInt32, message: Message, byteCount: Int) {
        self.from = from
        self.group = group
        self.message = message
        self.byteCount = byteCount
    }
}

/// Bounded multi-producer queue between the event loops (producers) and the node loop (the consumer).
///
/// Event loops never block on it: `push` takes a short lock and drops when the queue is full (Raft tolerates
/// lost messages; a full queue means the node loop is behind and more input would not help it).
final class InboundQueue: Sendable {
    private struct State {
        var messages: [InboundRaftMessage] = []
        var head = 0
        var bytes = 0
    }

    let messagesMax: Int
    let bytesMax: Int
    private let state = NIOLockedValueBox(State())

    init(messagesMax: Int, bytesMax: Int) {
        self.messagesMax = messagesMax
        self.bytesMax = bytesMax
    }

    enum PushResult { case queuedFirst, queued, full }

    func push(_ message: InboundRaftMessage) -> PushResult {
        state.withLockedValue { state in
            let count = state.messages.count - state.head
            guard count < messagesMax, state.bytes + message.byteCount <= bytesMax || count == 0 else {
                return .full
            }
            state.messages.append(message)
            state.bytes += message.byteCount
            return count == 0 ? .queuedFirst : .queued
        }
    }

    func drain(maxMessages: Int) -> [InboundRaftMessage] {
        state.withLockedValue { state in
            let count = state.messages.count - state.head
            if count <= maxMessages {
                var taken: [InboundRaftMessage] = []
                swap(&taken, &state.messages)
                if state.head > 0 { taken.removeFirst(state.head) }
                state.head = 0
                state.bytes = 0
                return taken
            }
            let end = state.head + maxMessages
            let taken = Array(state.messages[state.head..<end])
            for message in taken { state.bytes -= message.byteCount }
            state.head = end
            if state.head >= state.messages.count / 2 {
                state.messages.removeFirst(state.head)
                state.head = 0
            }
            return taken
        }
    }

    var count: Int { state.withLockedValue { $0.messages.count - $0.head } }
}
