/// Exchange-assigned identity of one order, unique among live orders of an engine.
///
/// The sequencer in front of the matching engine (later: the shard leader) assigns it;
/// a command that reuses the id of a live order is rejected with `RejectReason.duplicateOrderID`.
public struct OrderID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "O\(rawValue)" }
}

/// The participant's own identifier of a request, used to de-duplicate retries.
///
/// - Important: client order ids must strictly increase per participant (as FIX sequence
///   numbers do); the gateway maps free-form FIX `ClOrdID` strings onto them. This is what
///   lets the engine refuse a stale retry even after its outcome left the bounded session window.
public struct ClientOrderID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "C\(rawValue)" }
}

/// A trading account; self-trade prevention compares accounts.
public struct AccountID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "A\(rawValue)" }
}

/// An exchange member firm connected through a gateway session.
public struct ParticipantID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "P\(rawValue)" }
}

/// Identity of one trade: the sequence of the command that caused it and the trade's
/// position among that command's trades. Every replica derives the same id.
public struct TradeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var sequence: UInt64
    public var index: UInt32
    @inlinable public init(sequence: UInt64, index: UInt32) {
        self.sequence = sequence
        self.index = index
    }
    @inlinable public static func < (a: Self, b: Self) -> Bool {
        (a.sequence, a.index) < (b.sequence, b.index)
    }
    public var description: String { "T\(sequence).\(index)" }
}
