import ExchangeCore
import Glibc
public import Matching
public import Wire

/// One acknowledgement a client received: what `exchange-load` writes for every answered command,
/// and what `exchangectl verify --acks` checks against every replica's audit trail.
///
/// Text format, one line per acknowledgement, tab-separated (docs/PROTOCOL.md, "Ack log"):
///
///     # exchange ack log v1
///     <shard> <log_index> <kind> <participant> <client_order_id> <order_id> <outcome> <duplicate> <symbol>
///
/// `kind` is `new`, `cancel` or `replace`; `outcome` is `accepted` or `rejected:<reason code>`;
/// `duplicate` is `1` when the answer was the remembered outcome of an earlier command (a retry).
public struct AckRecord: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case newOrder = "new"
        case cancel
        case replace
    }

    public var shard: UInt32
    public var logIndex: UInt64
    public var kind: Kind
    public var participant: UInt32
    public var clientOrderID: UInt64
    public var orderID: UInt64
    /// Nil when accepted; the reject reason's code otherwise.
    public var rejectReason: UInt16?
    public var isDuplicate: Bool
    public var symbol: String

    public init(
        shard: UInt32, logIndex: UInt64, kind: Kind, participant: UInt32, clientOrderID: UInt64, orderID: UInt64,
        rejectReason: UInt16?, isDuplicate: Bool, symbol: String
    ) {
        self.shard = shard
        self.logIndex = logIndex
        self.kind = kind
        self.participant = participant
        self.clientOrderID = clientOrderID
        self.orderID = orderID
        self.rejectReason = rejectReason
        self.isDuplicate = isDuplicate
        self.symbol = symbol
    }

    /// The record of `result`, the answer to a command of `kind` routed to `shard`.
    public init(shard: UInt32, kind: Kind, result: CommandResult) {
        let reason: UInt16? =
            switch result.outcome {
            case .accepted: nil
            case .rejected(let reason): reason.rawValue
            }
        self.init(
            shard: shard, logIndex: result.logIndex, kind: kind, participant: result.participant.rawValue,
            clientOrderID: result.clientOrderID.rawValue, orderID: result.orderID.rawValue, rejectReason: reason,
            isDuplicate: result.isDuplicate, symbol: result.symbol.description)
    }

    public static let header = "# exchange ack log v1"

    /// The record's line, without the newline.
    public var line: String {
        let outcome = rejectReason.map { "rejected:\($0)" } ?? "accepted"
        return
            "\(shard)\t\(logIndex)\t\(kind.rawValue)\t\(participant)\t\(clientOrderID)\t\(orderID)\t\(outcome)\t\(isDuplicate ? 1 : 0)\t\(symbol)"
    }

    public var description: String { line }

    /// Parses one line (without its newline). Throws a typed error naming the field.
    public init(line: Substring, lineNumber: Int) throws(AckLogError) {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count == 9 else {
            throw AckLogError(line: lineNumber, "expected 9 tab-separated fields, found \(fields.count)")
        }
        func number<T: FixedWidthInteger>(_ index: Int, _ name: String, as: T.Type) throws(AckLogError) -> T {
            guard let value = T(fields[index]) else {
                throw AckLogError(line: lineNumber, "\(name) '\(fields[index])' is not a valid number")
            }
            return value
        }
        shard = try number(0, "shard", as: UInt32.self)
        logIndex = try number(1, "log_index", as: UInt64.self)
        guard let kind = Kind(rawValue: String(fields[2])) else {
            throw AckLogError(line: lineNumber, "kind '\(fields[2])' is not new, cancel or replace")
        }
        self.kind = kind
        participant = try number(3, "participant", as: UInt32.self)
        clientOrderID = try number(4, "client_order_id", as: UInt64.self)
        orderID = try number(5, "order_id", as: UInt64.self)
        let outcome = fields[6]
        if outcome == "accepted" {
            rejectReason = nil
        } else if outcome.hasPrefix("rejected:"), let code = UInt16(outcome.dropFirst("rejected:".count)) {
            rejectReason = code
        } else {
            throw AckLogError(line: lineNumber, "outcome '\(outcome)' is not accepted or rejected:<code>")
        }
        switch fields[7] {
        case "0": isDuplicate = false
        case "1": isDuplicate = true
        default: throw AckLogError(line: lineNumber, "duplicate '\(fields[7])' is not 0 or 1")
        }
        guard !fields[8].isEmpty, fields[8].utf8.count <= Symbol.maximumLength else {
            throw AckLogError(line: lineNumber, "symbol '\(fields[8])' is empty or longer than \(Symbol.maximumLength)")
        }
        symbol = String(fields[8])
    }
}

/// A malformed ack log: the line (1-based) and what is wrong with it.
public struct AckLogError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "ack log line \(line): \(message)" : "ack log: \(message)" }
}

/// Reads and writes ack logs.
public enum AckLog {
    /// Parses a whole ack log; the first line must be `AckRecord.header`, `#` lines after it are comments.
    public static func parse(_ text: String) throws(AckLogError) -> [AckRecord] {
        var records: [AckRecord] = []
        var lineNumber = 0
        var sawHeader = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if !sawHeader {
                guard line == AckRecord.header[...] else {
                    throw AckLogError(line: lineNumber, "the first line must be '\(AckRecord.header)'")
                }
                sawHeader = true
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            records.append(try AckRecord(line: line, lineNumber: lineNumber))
        }
        guard sawHeader else { throw AckLogError(line: 0, "empty file: the first line must be '\(AckRecord.header)'") }
        return records
    }

    /// Reads and parses the ack log at `path`.
    public static func read(path: String) throws(AckLogError) -> [AckRecord] {
        guard let file = fopen(path, "r") else {
            throw AckLogError(line: 0, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        if ferror(file) != 0 { throw AckLogError(line: 0, "cannot read \(path)") }
        return try parse(String(decoding: bytes, as: UTF8.self))
    }
}

/// Appends ack records to a file, buffered; thread-safe callers must serialise (`AckLogWriter` is
/// not Sendable on purpose: give it to one task or guard it).
public final class AckLogWriter {
    private let file: UnsafeMutablePointer<FILE>
    public let path: String
    public private(set) var count = 0

    /// Creates (or truncates) `path` and writes the header.
    public init(path: String) throws(AckLogError) {
        guard let file = fopen(path, "w") else {
            throw AckLogError(line: 0, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        self.file = file
        self.path = path
        fputs(AckRecord.header + "\n", file)
    }

    public func append(_ record: AckRecord) {
        fputs(record.line + "\n", file)
        count += 1
    }

    /// Writes buffered lines to the file (the file is not fsynced: the ack log is the client's
    /// testimony, read after the run).
    public func flush() { fflush(file) }

    deinit { fclose(file) }
}
