public import Raft

/// A client command for the replicated counter/register log: a unique id and an amount to add.
public struct CounterCommand: Sendable, Hashable {
    public var id: UInt64
    public var amount: UInt64

    public init(id: UInt64, amount: UInt64) {
        self.id = id
        self.amount = amount
    }

    static let encodedByteCount = 16

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.encodedByteCount)
        appendLittleEndian(id, to: &bytes)
        appendLittleEndian(amount, to: &bytes)
        return bytes
    }

    /// Nil for bytes that are not exactly one command.
    public static func decode(_ bytes: [UInt8]) -> CounterCommand? {
        guard bytes.count == encodedByteCount else { return nil }
        return CounterCommand(id: readLittleEndian(bytes, at: 0), amount: readLittleEndian(bytes, at: 8))
    }
}

func appendLittleEndian(_ value: UInt64, to bytes: inout [UInt8]) {
    for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
}

func readLittleEndian(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    var value: UInt64 = 0
    for position in 0..<8 { value |= UInt64(bytes[offset + position]) << UInt64(8 * position) }
    return value
}

/// Digest of a byte string (FNV-1a).
func digest(of bytes: [UInt8]) -> UInt64 {
    var value: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        value ^= UInt64(byte)
        value = value &* 0x0000_0100_0000_01B3
    }
    return value
}

/// The replicated state machine under test: a counter fed by commands with unique ids. A command
/// applied a second time (a client retry that reached the log twice) changes nothing: the
/// de-duplication table is part of the state, so it survives snapshots and restarts.
public struct CounterStateMachine: Sendable, Hashable {
    public private(set) var appliedIndex: UInt64 = 0
    public private(set) var total: UInt64 = 0
    /// Command id -> the log index where it took effect.
    public private(set) var effectiveIndex: [UInt64: UInt64] = [:]
    /// Chained digest of everything applied: equal on every replica at equal `appliedIndex`.
    public private(set) var stateDigest: UInt64 = 0

    public init() {}

    /// What applying one entry did.
    public enum Outcome: Sendable, Hashable {
        /// No command in the entry (a no-op or a configuration change).
        case nothing
        case applied(CounterCommand)
        /// The command took effect at an earlier index; this copy changes nothing.
        case duplicate(CounterCommand, firstIndex: UInt64)
    }

    public mutating func apply(_ entry: Entry) -> Outcome {
        precondition(entry.index == appliedIndex + 1, "entries must be applied in order without gaps")
        appliedIndex = entry.index
        let outcome: Outcome
        if entry.kind == .normal, let command = CounterCommand.decode(entry.data) {
            if let first = effectiveIndex[command.id] {
                outcome = .duplicate(command, firstIndex: first)
            } else {
                effectiveIndex[command.id] = entry.index
                total &+= command.amount
                outcome = .applied(command)
            }
        } else {
            outcome = .nothing
        }
        var chain = TraceDigest()
        chain.mix(stateDigest)
        chain.mix(entry.index)
        switch outcome {
        case .nothing: chain.mix(0)
        case .applied(let command): chain.mix(1); chain.mix(command.id); chain.mix(command.amount)
        case .duplicate(let command, _): chain.mix(2); chain.mix(command.id)
        }
        stateDigest = chain.value
        return outcome
    }

    public func snapshotData() -> [UInt8] {
        var bytes: [UInt8] = []
        appendLittleEndian(appliedIndex, to: &bytes)
        appendLittleEndian(total, to: &bytes)
        appendLittleEndian(stateDigest, to: &bytes)
        appendLittleEndian(UInt64(effectiveIndex.count), to: &bytes)
        for (id, index) in effectiveIndex.sorted(by: { $0.key < $1.key }) {
            appendLittleEndian(id, to: &bytes)
            appendLittleEndian(index, to: &bytes)
        }
        return bytes
    }

    /// Restores from `snapshotData()`. With `forgettingDeduplication` (a deliberately broken
    /// application for checker tests) the de-duplication table is not restored.
    public init?(snapshotData bytes: [UInt8], forgettingDeduplication: Bool = false) {
        guard bytes.count >= 32 else { return nil }
        appliedIndex = readLittleEndian(bytes, at: 0)
        total = readLittleEndian(bytes, at: 8)
        stateDigest = readLittleEndian(bytes, at: 16)
        let count = Int(readLittleEndian(bytes, at: 24))
        guard bytes.count == 32 + 16 * count else { return nil }
        if !forgettingDeduplication {
            for position in 0..<count {
                let offset = 32 + 16 * position
                effectiveIndex[readLittleEndian(bytes, at: offset)] = readLittleEndian(bytes, at: offset + 8)
            }
        }
    }
}
