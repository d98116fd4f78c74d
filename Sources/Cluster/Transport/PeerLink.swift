import NIOConcurrencyHelpers
import NIOCore
import Raft

/// One configured peer: its bounded outbound queue, its dialled connection and its counters.
///
/// Shared by the callers of `NodeTransport.send` (any thread) and the event loop that owns the connection; all
/// state sits behind one short lock that is never held across I/O or a callback.
final class PeerLink: Sendable {
    enum Connection {
        /// Not started, or between a failure and the next `scheduleRedial`.
        case idle
        /// A redial is scheduled.
        case waiting(Scheduled<Void>)
        /// TCP connect in flight (the future is nil for the moment between the decision and the bootstrap call).
        case connecting(EventLoopFuture<any Channel>?)
        /// Connected, handshake sent, no answer yet.
        case handshaking(any Channel)
        /// Handshake accepted: the queue drains into this channel.
        case established(any Channel)
        /// `stop()` was called; nothing is dialled or queued again.
        case stopped
    }

    private struct State {
        var address: PeerAddress
        var running = false
        var connection = Connection.idle
        var queue: [[UInt8]] = []
        var queueHead = 0
        var queuedBytes = 0
        /// A drain is scheduled on the channel's event loop, or parked until the channel becomes writable.
        var drainPending = false
        /// Failures since the last established connection; drives the backoff.
        var consecutiveFailures = 0
        var counters = NodeTransportCounters.Peer()

        var queuedCount: Int { queue.count - queueHead }
    }

    let peerID: NodeID
    let messagesMax: Int
    let bytesMax: Int
    private let state: NIOLockedValueBox<State>

    init(peerID: NodeID, address: PeerAddress, messagesMax: Int, bytesMax: Int) {
        self.peerID = peerID
        self.messagesMax = messagesMax
        self.bytesMax = bytesMax
        state = NIOLockedValueBox(State(address: address))
    }

    // MARK: Queue

    enum EnqueueResult {
        case queued(drainOn: (any Channel)?)
        case full
        case notRunning
    }

    func enqueue(_ frame: [UInt8]) -> EnqueueResult {
        state.withLockedValue { state in
            guard state.running else { return .notRunning }
            guard state.queuedCount < messagesMax, state.queuedBytes + frame.count <= bytesMax else {
                state.counters.droppedQueueFull += 1
                return .full
            }
            state.queue.append(frame)
            state.queuedBytes += frame.count
            if case .established(let channel) = state.connection, !state.drainPending {
                state.drainPending = true
                return .queued(drainOn: channel)
            }
            return .queued(drainOn: nil)
        }
    }

    func countTooLarge() {
        state.withLockedValue { $0.counters.droppedTooLarge += 1 }
    }

    struct Batch {
        var channel: any Channel
        var frames: [[UInt8]]
        var byteCount: Int
        var more: Bool
    }

    /// Takes up to `maxBytes` of queued frames (at least one) for the established channel, if it is writable.
    /// Returns nil when there is nothing to write now; a non-writable channel parks the drain until
    /// `channelWritabilityChanged`.
    func takeBatch(maxBytes: Int) -> Batch? {
        state.withLockedValue { state in
            guard case .established(let channel) = state.connection else {
                state.drainPending = false
                return nil
            }
            guard state.queuedCount > 0 else {
                state.drainPending = false
                return nil
            }
            guard channel.isWritable else {
                state.drainPending = true
                return nil
            }
            var end = state.queueHead
            var bytes = 0
            while end < state.queue.count && (end == state.queueHead || bytes + state.queue[end].count <= maxBytes) {
                bytes += state.queue[end].count
                end += 1
            }
            let frames = Array(state.queue[state.queueHead..<end])
            if end == state.queue.count {
                state.queue.removeAll(keepingCapacity: state.queue.capacity <= 4_096)
                state.queueHead = 0
            } else {
                state.queueHead = end
                if state.queueHead >= state.queue.count / 2 {
                    state.queue.removeFirst(state.queueHead)
                    state.queueHead = 0
                }
            }
            state.queuedBytes -= bytes
            state.counters.messagesSent += frames.count
            state.counters.bytesSent += bytes
            state.counters.writeBatches += 1
            let more = state.queuedCount > 0
            state.drainPending = more
            return Batch(channel: channel, frames: frames, byteCount: bytes, more: more)
        }
    }

    // MARK: Connection lifecycle

    func start() {
        state.withLockedValue { $0.running = true }
    }

    /// Moves to `connecting` if a dial may start now (running, idle or waiting, port known).
    func beginDial() -> PeerAddress? {
        state.withLockedValue { state in
            guard state.running, state.address.port != 0 else { return nil }
            switch state.connection {
            case .idle, .waiting:
                state.connection = .connecting(nil)
                return state.address
            case .connecting, .handshaking, .established, .stopped:
                return nil
            }
        }
    }

    /// Records the connect future; false when the link was stopped meanwhile.
    func dialStarted(_ future: EventLoopFuture<any Channel>) -> Bool {
        state.withLockedValue { state in
            if case .connecting(nil) = state.connection {
                state.connection = .connecting(future)
                return true
            }
            if case .stopped = state.connection { return false }
            // The connection went active (even handshaking) before the future was stored.
            return true
        }
    }

    /// The TCP connect failed. Returns whether a redial should be scheduled.
    func dialFailed() -> Bool {
        state.withLockedValue { state in
            state.counters.connectFailures += 1
            guard case .connecting = state.connection else { return false }
            state.connection = .idle
            return true
        }
    }

    /// The dialled channel is active; false when the link is stopped (the caller closes the channel).
    func handshaking(_ channel: any Channel) -> Bool {
        state.withLockedValue { state in
            switch state.connection {
            case .stopped:
                return false
            default:
                state.connection = .handshaking(channel)
                return true
            }
        }
    }

    /// The peer accepted; returns whether the queue must be drained now.
    func established(_ channel: any Channel) -> Bool {
        state.withLockedValue { state in
            guard case .handshaking(let current) = state.connection, current === channel else { return false }
            state.connection = .established(channel)
            state.consecutiveFailures = 0
            state.counters.connects += 1
            state.drainPending = state.queuedCount > 0
            return state.drainPending
        }
    }

    func handshakeFailed() {
        state.withLockedValue { $0.counters.connectFailures += 1 }
    }

    /// The dialled channel closed. Returns whether a redial should be scheduled.
    func connectionClosed(_ channel: any Channel) -> Bool {
        state.withLockedValue { state in
            switch state.connection {
            case .handshaking(let current) where current === channel:
                state.connection = .idle
                return true
            case .established(let current) where current === channel:
                state.counters.disconnects += 1
                state.connection = .idle
                state.drainPending = false
                return true
            default:
                return false
            }
        }
    }

    /// Schedules a redial with `schedule(delayMilliseconds)` if the link is idle and running.
    func scheduleRedial(
        backoff: ReconnectBackoff, schedule: (Int) -> Scheduled<Void>
    ) {
        state.withLockedValue { state in
            guard state.running, case .idle = state.connection, state.address.port != 0 else { return }
            state.consecutiveFailures += 1
            var random = SystemRandomNumberGenerator()
            let delay = backoff.delayMilliseconds(attempt: state.consecutiveFailures, using: &random)
            state.connection = .waiting(schedule(delay))
        }
    }

    /// Sets a new address; returns true when the caller should dial now (a pending redial was cancelled).
    func updateAddress(_ address: PeerAddress) -> Bool {
        state.withLockedValue { state in
            state.address = address
            guard state.running else { return false }
            switch state.connection {
            case .waiting(let scheduled):
                scheduled.cancel()
                state.connection = .idle
                return true
            case .idle:
                return true
            default:
                return false
            }
        }
    }

    /// Stops the link: no more dials or queueing. Returns what the caller must cancel or close.
    func stop() -> (scheduled: Scheduled<Void>?, connect: EventLoopFuture<any Channel>?, channel: (any Channel)?) {
        state.withLockedValue { state in
            let previous = state.connection
            state.running = false
            state.connection = .stopped
            state.queue = []
            state.queueHead = 0
            state.queuedBytes = 0
            switch previous {
            case .waiting(let scheduled): return (scheduled, nil, nil)
            case .connecting(let future): return (nil, future, nil)
            case .handshaking(let channel), .established(let channel): return (nil, nil, channel)
            case .idle, .stopped: return (nil, nil, nil)
            }
        }
    }

    // MARK: Receiving and counters

    func countReceived(bytes: Int) {
        state.withLockedValue { state in
            state.counters.messagesReceived += 1
            state.counters.bytesReceived += bytes
        }
    }

    var counters: NodeTransportCounters.Peer {
        state.withLockedValue { state in
            var counters = state.counters
            counters.queuedMessages = state.queuedCount
            counters.queuedBytes = state.queuedBytes
            if case .established = state.connection { counters.connected = true }
            return counters
        }
    }
}
