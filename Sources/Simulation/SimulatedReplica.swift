import Raft
import Storage

/// Where a replica's process is.
public enum ReplicaState: UInt8, Sendable, Hashable {
    case running = 1
    /// Frozen (SIGSTOP): no ticks, no messages handled; messages to it wait in the network.
    case paused = 2
    /// Dead (kill -9): its unsynced writes are gone; messages to it are lost.
    case crashed = 3
    /// Not (or no longer) part of the group: a spare not added yet, or a replica removed for good.
    case absent = 4
    /// Its storage refused to open with a typed `WALError` (durable data damaged, e.g. a bit flip): it
    /// must not start and stays down for good (an operator would re-provision it from a peer).
    case failed = 5
}

/// Where a scheduled crash hits inside the handling of one `Ready`.
public enum CrashPoint: UInt8, Sendable, Hashable, CaseIterable {
    /// After writing entries and hard state, before the sync.
    case beforeSync = 1
    /// After the sync, before sending the messages.
    case beforeSend = 2
    /// After applying committed entries, before persisting the applied index and calling `advance`.
    case afterApply = 3
}

/// One simulated server: a `RaftNode` (nil while down), its own simulated file system with the real
/// storage on it, the oracle disk model, its state machine and its clock.
struct SimulatedReplica {
    let id: NodeID
    var configuration: RaftConfiguration
    var node: RaftNode?
    /// This replica's disk: survives crashes (what survives is decided by `SimulatedFileSystem.crash`).
    let fileSystem = SimulatedFileSystem()
    /// The real storage (write-ahead log and snapshots) in `directory`; nil while down.
    var storage: ReplicaStorage?
    /// The application's own durable state (its state machine at its applied index), in
    /// `directory/applied`; nil while down.
    var appliedStore: SnapshotStore?
    /// The oracle: an independent model of what this replica wrote and synced, updated from the same
    /// `Ready`s. The checkers read it; a restart checks the real recovery against it, then resets it to
    /// what was really recovered.
    var disk = SimulatedDisk()
    /// While set, the file system is full (`capacityBytes` just above its usage) until this tick.
    var diskFullUntil: UInt64?
    /// An fsync failure was injected in this incarnation.
    var syncFailureInjected = false
    /// Damage injected into durable data (a bit flip): recovery must refuse it.
    var injectedCorruption: String?
    /// Why the storage refused to open (state `.failed`).
    var recoveryRefusal: WALError?
    var machine = CounterStateMachine()
    var state: ReplicaState
    /// Raft ticks per simulated tick (clock drift).
    var clockRate = 1.0
    var clockCarry = 0.0
    /// The hard state last written (the durable one after a restart).
    var hardState = HardState()
    /// Commands this incarnation proposed as leader: id -> (index, term, membership at proposal).
    var proposals: [UInt64: (index: UInt64, term: UInt64, membership: Membership)] = [:]
    var crashPoint: CrashPoint?
    /// Cached after each handling pass.
    var status: RaftStatus?
    var incarnation = 0

    init(id: NodeID, configuration: RaftConfiguration, state: ReplicaState) {
        self.id = id
        self.configuration = configuration
        self.state = state
    }

    var isLeader: Bool { status?.role == .leader }

    /// Where the replica's storage lives on its file system.
    var directory: String { "/node\(id)" }
    var appliedDirectory: String { "/node\(id)/applied" }
}
