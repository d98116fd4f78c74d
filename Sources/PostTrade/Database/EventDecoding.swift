import Foundation
import Glibc

/// A versioned post-trade payload: the `type`/`version` pair a worker checks before trusting the fields.
protocol VersionedEvent: Codable {
    static var type: String { get }
    static var version: Int { get }
    var type: String { get }
    var version: Int { get }
    /// The hand-written fast path (`EventJSON`); nil means "let JSONDecoder decide".
    static func fastDecode(_ bytes: [UInt8]) -> Self?
}

extension TradeExecuted: VersionedEvent {
    static func fastDecode(_ bytes: [UInt8]) -> Self? { EventJSON.decodeTradeExecuted(bytes) }
}
extension TradeCleared: VersionedEvent {
    static func fastDecode(_ bytes: [UInt8]) -> Self? { EventJSON.decodeTradeCleared(bytes) }
}
extension TradeSettled: VersionedEvent {
    static func fastDecode(_ bytes: [UInt8]) -> Self? { EventJSON.decodeTradeSettled(bytes) }
}

/// Decodes one record's value as a known event, or says in clear text why it cannot.
///
/// The full payload is decoded first and its `type`/`version` checked after, which gives the same
/// outcome as probing with ``EventProbe`` first but parses a valid record once instead of twice; the probe
/// only runs to explain a failure (malformed JSON vs unknown type vs unknown version vs bad fields).
/// Well-formed payloads take the hand-written `EventJSON` path; anything it does not accept goes through
/// Foundation's JSONDecoder, which decides and explains.
struct EventDecoding {
    private let decoder = JSONDecoder()

    func decode<Event: VersionedEvent>(_: Event.Type, from record: InboundRecord) -> Result<Event, RefusalReason> {
        guard let value = record.value, !value.isEmpty else {
            return .failure(RefusalReason("record has no value"))
        }
        if let event = Event.fastDecode(value) {
            return checked(event)
        }
        let data = Data(value)
        do {
            return checked(try decoder.decode(Event.self, from: data))
        } catch {
            let fullError = error
            guard let probe = try? decoder.decode(EventProbe.self, from: data) else {
                return .failure(RefusalReason("malformed JSON: \(Self.describe(fullError))"))
            }
            if probe.type != Event.type {
                return .failure(RefusalReason("unknown event type '\(probe.type)' (expected \(Event.type))"))
            }
            if probe.version != Event.version {
                return .failure(
                    RefusalReason("unknown version \(probe.version) of \(Event.type) (supported: \(Event.version))"))
            }
            return .failure(
                RefusalReason("invalid \(Event.type) v\(Event.version) payload: \(Self.describe(fullError))"))
        }
    }

    private func checked<Event: VersionedEvent>(_ event: Event) -> Result<Event, RefusalReason> {
        if event.type != Event.type {
            return .failure(RefusalReason("unknown event type '\(event.type)' (expected \(Event.type))"))
        }
        if event.version != Event.version {
            return .failure(
                RefusalReason("unknown version \(event.version) of \(Event.type) (supported: \(Event.version))"))
        }
        return .success(event)
    }

    /// A one-line description of a decoding error: the field path and the decoder's explanation.
    static func describe(_ error: any Error) -> String {
        let context: DecodingError.Context
        switch error as? DecodingError {
        case .dataCorrupted(let c)?: context = c
        case .keyNotFound(let key, let c)?:
            return "missing field '\(key.stringValue)'" + path(c.codingPath)
        case .typeMismatch(_, let c)?: context = c
        case .valueNotFound(_, let c)?: context = c
        default: return String(describing: error)
        }
        return context.debugDescription + path(context.codingPath)
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        guard !codingPath.isEmpty else { return "" }
        return " at " + codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

/// Why a record was refused (the dead letter's `reason` header).
struct RefusalReason: Error {
    var text: String
    /// NUL characters (possible in decoded input quoted in a reason) become `\0`: the reason is stored as text.
    init(_ text: String) { self.text = text.replacingOccurrences(of: "\u{0}", with: "\\0") }
}

/// Field checks shared by the workers; each returns the refusal reason or nil.
enum TradeChecks {
    /// Accounts are stored as `bigint`: 0 and ids above `Int64.max` are refused.
    static func account(_ account: UInt64, role: String) -> Result<Int64, RefusalReason> {
        guard account != 0 else { return .failure(RefusalReason("\(role) account is 0")) }
        guard account <= UInt64(Int64.max) else {
            return .failure(RefusalReason("\(role) account \(account) is above \(Int64.max)"))
        }
        return .success(Int64(account))
    }

    /// Price and quantity positive, notional = price × quantity without overflow, symbol usable as an asset.
    static func terms(symbol: String, price: Int64, quantity: Int64) -> Result<Int64, RefusalReason> {
        if let reason = identifier(symbol, name: "symbol") { return .failure(reason) }
        guard symbol != Balances.cashAsset else {
            return .failure(RefusalReason("symbol '\(Balances.cashAsset)' is reserved for the cash asset"))
        }
        guard price > 0 else { return .failure(RefusalReason("price must be positive, got \(price)")) }
        guard quantity > 0 else { return .failure(RefusalReason("quantity must be positive, got \(quantity)")) }
        let (notional, overflow) = price.multipliedReportingOverflow(by: quantity)
        guard !overflow else {
            return .failure(RefusalReason("notional \(price) × \(quantity) overflows 64-bit minor units"))
        }
        return .success(notional)
    }

    /// Non-empty and free of NUL (PostgreSQL text cannot hold NUL; letting one through would make every
    /// redelivery of the batch fail in the database).
    static func identifier(_ value: String, name: String) -> RefusalReason? {
        if value.isEmpty { return RefusalReason("\(name) is empty") }
        if value.utf8.contains(0) { return RefusalReason("\(name) contains a NUL character") }
        return nil
    }
}

/// Names shared by the settlement and ledger logic.
enum Balances {
    /// The cash asset; shares use the symbol as asset.
    static let cashAsset = "CASH"
    /// The clearing house, counterparty of every leg.
    static let counterparty = "CCP"
}

/// Wall-clock time in nanoseconds since the Unix epoch (the workers' default clock).
public enum WallClock {
    public static func nanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
