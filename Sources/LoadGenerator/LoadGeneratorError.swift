/// An operating error of the load generator (CONVENTIONS 5b): a code and a message naming what is wrong.
///
/// Failed commands are never errors of the generator: they are counted in `LoadSummary.failedByCode`.
public struct LoadGeneratorError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// A `LoadOptions` field is out of range (the message names it).
        case invalidOptions
        /// A symbol of `LoadOptions.symbols` is not traded by the cluster definition, or has no instrument rules.
        case unknownSymbol
        /// The ack log cannot be created or written.
        case ackLog
        /// An `ExchangeClient` could not be made (its configuration or the cluster's routes are invalid).
        case client
        /// `run()` was called a second time: a generator runs once.
        case alreadyRunning
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "LoadGeneratorError(\(code.rawValue)): \(message)" }
}
