/// A price in integer price units (the instrument's smallest quotable unit of currency,
/// e.g. 1/10,000 of a dollar). Valid prices are positive multiples of the instrument's tick size.
/// No floating point anywhere: prices are compared and multiplied as integers.
public struct Price: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    @inlinable public init(rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public static let zero = Price(0)
    /// Largest accepted price: 10^13 units, so that price × (10,000 + basis points) never overflows.
    public static let maximum = Price(10_000_000_000_000)
    public var description: String { String(rawValue) }
}

/// A number of shares (or contracts). Signed so that a negative input can be seen and rejected
/// instead of wrapping; valid order quantities are positive multiples of the lot size.
public struct Quantity: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    @inlinable public init(rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public static let zero = Quantity(0)
    @inlinable public static func + (a: Self, b: Self) -> Self { Self(a.rawValue + b.rawValue) }
    @inlinable public static func - (a: Self, b: Self) -> Self { Self(a.rawValue - b.rawValue) }
    @inlinable public static func += (a: inout Self, b: Self) { a.rawValue += b.rawValue }
    @inlinable public static func -= (a: inout Self, b: Self) { a.rawValue -= b.rawValue }
    public var description: String { String(rawValue) }
}

/// An amount of money in integer minor units of its currency (cents, pence, paise).
public struct Money: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    @inlinable public init(rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public static let zero = Money(0)
    @inlinable public static func + (a: Self, b: Self) -> Self { Self(a.rawValue + b.rawValue) }
    @inlinable public static func - (a: Self, b: Self) -> Self { Self(a.rawValue - b.rawValue) }
    public var description: String { String(rawValue) }
}

/// Log time in nanoseconds since the Unix epoch, as stamped into the log by the leader.
/// The matching state machine reads time only from these stamps, never from a clock.
public struct Timestamp: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    @inlinable public init(rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public init(nanoseconds: Int64) { self.rawValue = nanoseconds }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public static let zero = Timestamp(nanoseconds: 0)
    public static let nanosecondsPerSecond: Int64 = 1_000_000_000
    @inlinable public func adding(seconds: Int64) -> Timestamp {
        Timestamp(nanoseconds: rawValue + seconds * Self.nanosecondsPerSecond)
    }
    public var description: String { "\(rawValue)ns" }
}
