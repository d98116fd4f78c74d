// A hand-written JSON codec for the three post-trade payloads, because Foundation's JSONDecoder/JSONEncoder
// cost 10-30 µs per event on this machine: more than all SQL of a batch together.
//
// Decoding is a fast path only: it accepts strictly well-formed JSON whose every field has the exact
// expected shape (plain integers in range, strings, null only for optionals, no duplicate keys) and returns
// nil for anything else; the caller then falls back to JSONDecoder, which decides and explains. So the fast
// path never accepts what JSONDecoder would refuse, and yields the same value when it accepts.
// Encoding produces JSON that JSONDecoder decodes to the same value (tested both ways).

/// Reads one JSON document from bytes.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { index >= bytes.count }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// Skips whitespace, then consumes `byte` if it is next.
    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    mutating func consumeLiteral(_ literal: StaticString) -> Bool {
        skipWhitespace()
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let matches = literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        if matches { index += count }
        return matches
    }

    /// A JSON string; nil on any malformation (including invalid UTF-8).
    mutating func string() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                // ASCII needs no validation (the common case: ids, symbols, enum values); `String(validating:)`
                // instantiates generic metadata on every call and was a visible share of the workers' time.
                let text = ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self)
                index += 1
                return text
            }
            if byte >= 0x80 { ascii = false }
            if byte == UInt8(ascii: "\\") {
                index = start
                return escapedString()
            }
            if byte < 0x20 { return nil }
            index += 1
        }
        return nil
    }

    /// The slow path of `string()` for strings with escapes; `index` is just after the opening quote.
    private mutating func escapedString() -> String? {
        var utf8: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard consumeRaw(UInt8(ascii: "\\")), consumeRaw(UInt8(ascii: "u")), let low = hex4(),
                            (0xDC00..<0xE000).contains(low)
                        else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        return nil
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    utf8.append(contentsOf: UTF8.encode(unicode)!)
                default: return nil
                }
            default:
                if byte < 0x20 { return nil }
                utf8.append(byte)
            }
        }
        return nil
    }

    private mutating func consumeRaw(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            index += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// A plain JSON integer (`-?(0|[1-9][0-9]*)`, no fraction or exponent) in Int64 range; nil otherwise.
    mutating func int64() -> Int64? {
        skipWhitespace()
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard let magnitude = digits() else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// A plain non-negative JSON integer in UInt64 range; nil otherwise.
    mutating func uint64() -> UInt64? {
        skipWhitespace()
        return digits()
    }

    private mutating func digits() -> UInt64? {
        let start = index
        var value: UInt64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        let count = index - start
        guard count > 0, !(count > 1 && bytes[start] == UInt8(ascii: "0")) else { return nil }
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        return value
    }

    /// Skips any JSON value (for keys the payload does not know, which JSONDecoder ignores too).
    mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 32, let next = peek() else { return false }
        switch next {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "{"):
            return object { scanner, _ in scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            return array { scanner in scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "t"): return consumeLiteral("true")
        case UInt8(ascii: "f"): return consumeLiteral("false")
        case UInt8(ascii: "n"): return consumeLiteral("null")
        default:
            // Numbers: only plain integers are accepted on the fast path.
            return int64() != nil || uint64() != nil
        }
    }

    /// Reads an object, calling `field` for each key with the scanner at the value; stops on false.
    mutating func object(_ field: (inout JSONScanner, String) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        if consume(UInt8(ascii: "}")) { return true }
        repeat {
            guard let key = string(), consume(UInt8(ascii: ":")), field(&self, key) else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "}"))
    }

    mutating func array(_ element: (inout JSONScanner) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "[")) else { return false }
        if consume(UInt8(ascii: "]")) { return true }
        repeat {
            guard element(&self) else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "]"))
    }

    /// `null` (true) or not (false, nothing consumed).
    mutating func consumeNull() -> Bool {
        peek() == UInt8(ascii: "n") && consumeLiteral("null")
    }

    /// Runs `body` over a whole document; nil unless it succeeds and only whitespace follows.
    static func document<T>(_ bytes: [UInt8], _ body: (inout JSONScanner) -> T?) -> T? {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer)
            guard let value = body(&scanner) else { return nil }
            scanner.skipWhitespace()
            return scanner.isAtEnd ? value : nil
        }
    }
}

/// Tracks which keys an object had, refusing duplicates (JSONDecoder's handling of those is left to it).
struct SeenKeys {
    private var seen: UInt64 = 0
    mutating func insert(_ bit: Int) -> Bool {
        let mask: UInt64 = 1 << UInt64(bit)
        guard seen & mask == 0 else { return false }
        seen |= mask
        return true
    }
    func contains(_ bit: Int) -> Bool { seen & (1 << UInt64(bit)) != 0 }
}

extension JSONScanner {
    mutating func uint32() -> UInt32? { uint64().flatMap { UInt32(exactly: $0) } }
    mutating func int() -> Int? { int64().flatMap { Int(exactly: $0) } }
    mutating func optionalString() -> String?? {
        if consumeNull() { return .some(nil) }
        return string().map { .some($0) }
    }
}

enum EventJSON {
    // MARK: Decoding

    static func decodeTradeExecuted(_ bytes: [UInt8]) -> TradeExecuted? {
        JSONScanner.document(bytes) { scanner in
            var keys = SeenKeys()
            var type: String?
            var version: Int?
            var eventID: String?
            var timestampNs: Int64?
            var shard: UInt32?
            var logIndex: UInt64?
            var eventSeq: UInt32?
            var tradeID: String?
            var symbol: String?
            var price: Int64?
            var quantity: Int64?
            var aggressor: String?
            var buyOrderID: UInt64?
            var sellOrderID: UInt64?
            var buyAccount: UInt64?
            var sellAccount: UInt64?
            var buyParticipant: UInt32?
            var sellParticipant: UInt32?
            let ok = scanner.object { scanner, key in
                func once(_ bit: Int, _ read: (inout JSONScanner) -> Bool) -> Bool {
                    keys.insert(bit) && read(&scanner)
                }
                switch key {
                case "type":
                    return once(0) {
                        type = $0.string()
                        return type != nil
                    }
                case "version":
                    return once(1) {
                        version = $0.int()
                        return version != nil
                    }
                case "event_id":
                    return once(2) {
                        eventID = $0.string()
                        return eventID != nil
                    }
                case "timestamp_ns":
                    return once(3) {
                        timestampNs = $0.int64()
                        return timestampNs != nil
                    }
                case "shard":
                    return once(4) {
                        shard = $0.uint32()
                        return shard != nil
                    }
                case "log_index":
                    return once(5) {
                        logIndex = $0.uint64()
                        return logIndex != nil
                    }
                case "event_seq":
                    return once(6) {
                        eventSeq = $0.uint32()
                        return eventSeq != nil
                    }
                case "trade_id":
                    return once(7) {
                        tradeID = $0.string()
                        return tradeID != nil
                    }
                case "symbol":
                    return once(8) {
                        symbol = $0.string()
                        return symbol != nil
                    }
                case "price":
                    return once(9) {
                        price = $0.int64()
                        return price != nil
                    }
                case "quantity":
                    return once(10) {
                        quantity = $0.int64()
                        return quantity != nil
                    }
                case "aggressor":
                    return once(11) {
                        guard let value = $0.optionalString() else { return false }
                        aggressor = value
                        return true
                    }
                case "buy_order_id":
                    return once(12) {
                        buyOrderID = $0.uint64()
                        return buyOrderID != nil
                    }
                case "sell_order_id":
                    return once(13) {
                        sellOrderID = $0.uint64()
                        return sellOrderID != nil
                    }
                case "buy_account":
                    return once(14) {
                        buyAccount = $0.uint64()
                        return buyAccount != nil
                    }
                case "sell_account":
                    return once(15) {
                        sellAccount = $0.uint64()
                        return sellAccount != nil
                    }
                case "buy_participant":
                    return once(16) {
                        buyParticipant = $0.uint32()
                        return buyParticipant != nil
                    }
                case "sell_participant":
                    return once(17) {
                        sellParticipant = $0.uint32()
                        return sellParticipant != nil
                    }
                default: return scanner.skipValue()
                }
            }
            guard ok, let type, let version, let eventID, let timestampNs, let shard, let logIndex, let eventSeq,
                let tradeID, let symbol, let price, let quantity, let buyOrderID, let sellOrderID, let buyAccount,
                let sellAccount, let buyParticipant, let sellParticipant
            else { return nil }
            var event = TradeExecuted(
                eventID: eventID, timestampNs: timestampNs, shard: shard, logIndex: logIndex, eventSeq: eventSeq,
                tradeID: tradeID, symbol: symbol, price: price, quantity: quantity, aggressor: aggressor,
                buyOrderID: buyOrderID, sellOrderID: sellOrderID, buyAccount: buyAccount, sellAccount: sellAccount,
                buyParticipant: buyParticipant, sellParticipant: sellParticipant)
            event.type = type
            event.version = version
            return event
        }
    }

    static func decodeTradeCleared(_ bytes: [UInt8]) -> TradeCleared? {
        JSONScanner.document(bytes) { scanner in
            var keys = SeenKeys()
            var type: String?
            var version: Int?
            var eventID: String?
            var timestampNs: Int64?
            var tradeID: String?
            var sourceEventID: String?
            var tradeTimestampNs: Int64?
            var symbol: String?
            var price: Int64?
            var quantity: Int64?
            var notional: Int64?
            var legs: [ClearedLeg]?
            let ok = scanner.object { scanner, key in
                func once(_ bit: Int, _ read: (inout JSONScanner) -> Bool) -> Bool {
                    keys.insert(bit) && read(&scanner)
                }
                switch key {
                case "type":
                    return once(0) {
                        type = $0.string()
                        return type != nil
                    }
                case "version":
                    return once(1) {
                        version = $0.int()
                        return version != nil
                    }
                case "event_id":
                    return once(2) {
                        eventID = $0.string()
                        return eventID != nil
                    }
                case "timestamp_ns":
                    return once(3) {
                        timestampNs = $0.int64()
                        return timestampNs != nil
                    }
                case "trade_id":
                    return once(4) {
                        tradeID = $0.string()
                        return tradeID != nil
                    }
                case "source_event_id":
                    return once(5) {
                        sourceEventID = $0.string()
                        return sourceEventID != nil
                    }
                case "trade_timestamp_ns":
                    return once(6) {
                        tradeTimestampNs = $0.int64()
                        return tradeTimestampNs != nil
                    }
                case "symbol":
                    return once(7) {
                        symbol = $0.string()
                        return symbol != nil
                    }
                case "price":
                    return once(8) {
                        price = $0.int64()
                        return price != nil
                    }
                case "quantity":
                    return once(9) {
                        quantity = $0.int64()
                        return quantity != nil
                    }
                case "notional":
                    return once(10) {
                        notional = $0.int64()
                        return notional != nil
                    }
                case "legs":
                    return once(11) { scanner in
                        var parsed: [ClearedLeg] = []
                        guard
                            scanner.array({ scanner in
                                guard let leg = clearedLeg(&scanner) else { return false }
                                parsed.append(leg)
                                return true
                            })
                        else { return false }
                        legs = parsed
                        return true
                    }
                default: return scanner.skipValue()
                }
            }
            guard ok, let type, let version, let eventID, let timestampNs, let tradeID, let sourceEventID,
                let tradeTimestampNs, let symbol, let price, let quantity, let notional, let legs
            else { return nil }
            var event = TradeCleared(
                eventID: eventID, timestampNs: timestampNs, tradeID: tradeID, sourceEventID: sourceEventID,
                tradeTimestampNs: tradeTimestampNs, symbol: symbol, price: price, quantity: quantity,
                notional: notional, legs: legs)
            event.type = type
            event.version = version
            return event
        }
    }

    private static func clearedLeg(_ scanner: inout JSONScanner) -> ClearedLeg? {
        var keys = SeenKeys()
        var side: String?
        var account: UInt64?
        var participant: UInt32?
        var counterparty: String?
        var quantity: Int64?
        var amount: Int64?
        let ok = scanner.object { scanner, key in
            func once(_ bit: Int, _ read: (inout JSONScanner) -> Bool) -> Bool {
                keys.insert(bit) && read(&scanner)
            }
            switch key {
            case "side":
                return once(0) {
                    side = $0.string()
                    return side != nil
                }
            case "account":
                return once(1) {
                    account = $0.uint64()
                    return account != nil
                }
            case "participant":
                return once(2) {
                    participant = $0.uint32()
                    return participant != nil
                }
            case "counterparty":
                return once(3) {
                    counterparty = $0.string()
                    return counterparty != nil
                }
            case "quantity":
                return once(4) {
                    quantity = $0.int64()
                    return quantity != nil
                }
            case "amount":
                return once(5) {
                    amount = $0.int64()
                    return amount != nil
                }
            default: return scanner.skipValue()
            }
        }
        guard ok, let side, let account, let participant, let counterparty, let quantity, let amount else {
            return nil
        }
        return ClearedLeg(
            side: side, account: account, participant: participant, counterparty: counterparty, quantity: quantity,
            amount: amount)
    }

    static func decodeTradeSettled(_ bytes: [UInt8]) -> TradeSettled? {
        JSONScanner.document(bytes) { scanner in
            var keys = SeenKeys()
            var type: String?
            var version: Int?
            var eventID: String?
            var timestampNs: Int64?
            var tradeID: String?
            var sourceEventID: String?
            var tradeTimestampNs: Int64?
            var symbol: String?
            var price: Int64?
            var quantity: Int64?
            var notional: Int64?
            var buyAccount: UInt64?
            var sellAccount: UInt64?
            var status: String?
            var reason: String?
            var movements: [Movement]?
            let ok = scanner.object { scanner, key in
                func once(_ bit: Int, _ read: (inout JSONScanner) -> Bool) -> Bool {
                    keys.insert(bit) && read(&scanner)
                }
                switch key {
                case "type":
                    return once(0) {
                        type = $0.string()
                        return type != nil
                    }
                case "version":
                    return once(1) {
                        version = $0.int()
                        return version != nil
                    }
                case "event_id":
                    return once(2) {
                        eventID = $0.string()
                        return eventID != nil
                    }
                case "timestamp_ns":
                    return once(3) {
                        timestampNs = $0.int64()
                        return timestampNs != nil
                    }
                case "trade_id":
                    return once(4) {
                        tradeID = $0.string()
                        return tradeID != nil
                    }
                case "source_event_id":
                    return once(5) {
                        sourceEventID = $0.string()
                        return sourceEventID != nil
                    }
                case "trade_timestamp_ns":
                    return once(6) {
                        tradeTimestampNs = $0.int64()
                        return tradeTimestampNs != nil
                    }
                case "symbol":
                    return once(7) {
                        symbol = $0.string()
                        return symbol != nil
                    }
                case "price":
                    return once(8) {
                        price = $0.int64()
                        return price != nil
                    }
                case "quantity":
                    return once(9) {
                        quantity = $0.int64()
                        return quantity != nil
                    }
                case "notional":
                    return once(10) {
                        notional = $0.int64()
                        return notional != nil
                    }
                case "buy_account":
                    return once(11) {
                        buyAccount = $0.uint64()
                        return buyAccount != nil
                    }
                case "sell_account":
                    return once(12) {
                        sellAccount = $0.uint64()
                        return sellAccount != nil
                    }
                case "status":
                    return once(13) {
                        status = $0.string()
                        return status != nil
                    }
                case "reason":
                    return once(14) {
                        guard let value = $0.optionalString() else { return false }
                        reason = value
                        return true
                    }
                case "movements":
                    return once(15) { scanner in
                        var parsed: [Movement] = []
                        guard
                            scanner.array({ scanner in
                                guard let movement = movement(&scanner) else { return false }
                                parsed.append(movement)
                                return true
                            })
                        else { return false }
                        movements = parsed
                        return true
                    }
                default: return scanner.skipValue()
                }
            }
            guard ok, let type, let version, let eventID, let timestampNs, let tradeID, let sourceEventID,
                let tradeTimestampNs, let symbol, let price, let quantity, let notional, let buyAccount,
                let sellAccount, let status, let movements
            else { return nil }
            var event = TradeSettled(
                eventID: eventID, timestampNs: timestampNs, tradeID: tradeID, sourceEventID: sourceEventID,
                tradeTimestampNs: tradeTimestampNs, symbol: symbol, price: price, quantity: quantity,
                notional: notional, buyAccount: buyAccount, sellAccount: sellAccount, status: status, reason: reason,
                movements: movements)
            event.type = type
            event.version = version
            return event
        }
    }

    private static func movement(_ scanner: inout JSONScanner) -> Movement? {
        var keys = SeenKeys()
        var account: UInt64?
        var asset: String?
        var amount: Int64?
        let ok = scanner.object { scanner, key in
            func once(_ bit: Int, _ read: (inout JSONScanner) -> Bool) -> Bool {
                keys.insert(bit) && read(&scanner)
            }
            switch key {
            case "account":
                return once(0) {
                    account = $0.uint64()
                    return account != nil
                }
            case "asset":
                return once(1) {
                    asset = $0.string()
                    return asset != nil
                }
            case "amount":
                return once(2) {
                    amount = $0.int64()
                    return amount != nil
                }
            default: return scanner.skipValue()
            }
        }
        guard ok, let account, let asset, let amount else { return nil }
        return Movement(account: account, asset: asset, amount: amount)
    }

    // MARK: Encoding

    struct Writer {
        var bytes: [UInt8] = []
        private var needsComma = false

        init(capacity: Int) { bytes.reserveCapacity(capacity) }

        mutating func beginObject() {
            separate()
            bytes.append(UInt8(ascii: "{"))
            needsComma = false
        }
        mutating func endObject() {
            bytes.append(UInt8(ascii: "}"))
            needsComma = true
        }
        mutating func beginArray(_ key: StaticString) {
            self.key(key)
            bytes.append(UInt8(ascii: "["))
            needsComma = false
        }
        mutating func endArray() {
            bytes.append(UInt8(ascii: "]"))
            needsComma = true
        }
        private mutating func separate() {
            if needsComma { bytes.append(UInt8(ascii: ",")) }
        }
        private mutating func key(_ key: StaticString) {
            separate()
            bytes.append(UInt8(ascii: "\""))
            key.withUTF8Buffer { bytes.append(contentsOf: $0) }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(UInt8(ascii: ":"))
            needsComma = true
        }
        mutating func field(_ key: StaticString, _ value: String) {
            self.key(key)
            appendString(value)
        }
        mutating func field(_ key: StaticString, _ value: String?) {
            guard let value else {
                self.key(key)
                bytes.append(contentsOf: "null".utf8)
                return
            }
            field(key, value)
        }
        mutating func field(_ key: StaticString, _ value: Int64) {
            self.key(key)
            bytes.append(contentsOf: String(value).utf8)
        }
        mutating func field(_ key: StaticString, _ value: UInt64) {
            self.key(key)
            bytes.append(contentsOf: String(value).utf8)
        }
        mutating func field(_ key: StaticString, _ value: Int) { field(key, Int64(value)) }
        mutating func field(_ key: StaticString, _ value: UInt32) { field(key, UInt64(value)) }

        private mutating func appendString(_ value: String) {
            bytes.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0..<0x20:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [
                        UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                        hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                    ])
                default: bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    static func encode(_ event: TradeCleared) -> [UInt8] {
        var writer = Writer(capacity: 512)
        writer.beginObject()
        writer.field("type", event.type)
        writer.field("version", event.version)
        writer.field("event_id", event.eventID)
        writer.field("timestamp_ns", event.timestampNs)
        writer.field("trade_id", event.tradeID)
        writer.field("source_event_id", event.sourceEventID)
        writer.field("trade_timestamp_ns", event.tradeTimestampNs)
        writer.field("symbol", event.symbol)
        writer.field("price", event.price)
        writer.field("quantity", event.quantity)
        writer.field("notional", event.notional)
        writer.beginArray("legs")
        for leg in event.legs {
            writer.beginObject()
            writer.field("side", leg.side)
            writer.field("account", leg.account)
            writer.field("participant", leg.participant)
            writer.field("counterparty", leg.counterparty)
            writer.field("quantity", leg.quantity)
            writer.field("amount", leg.amount)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    static func encode(_ event: TradeSettled) -> [UInt8] {
        var writer = Writer(capacity: 640)
        writer.beginObject()
        writer.field("type", event.type)
        writer.field("version", event.version)
        writer.field("event_id", event.eventID)
        writer.field("timestamp_ns", event.timestampNs)
        writer.field("trade_id", event.tradeID)
        writer.field("source_event_id", event.sourceEventID)
        writer.field("trade_timestamp_ns", event.tradeTimestampNs)
        writer.field("symbol", event.symbol)
        writer.field("price", event.price)
        writer.field("quantity", event.quantity)
        writer.field("notional", event.notional)
        writer.field("buy_account", event.buyAccount)
        writer.field("sell_account", event.sellAccount)
        writer.field("status", event.status)
        writer.field("reason", event.reason)
        writer.beginArray("movements")
        for movement in event.movements {
            writer.beginObject()
            writer.field("account", movement.account)
            writer.field("asset", movement.asset)
            writer.field("amount", movement.amount)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }
}
