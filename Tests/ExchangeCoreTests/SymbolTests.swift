import ExchangeCore
import Testing

/// Packs bytes the way `Symbol` documents it (little-endian, zero-padded), without validation.
private func packed(_ bytes: [UInt8]) -> Symbol {
    precondition(bytes.count <= 16)
    var low: UInt64 = 0
    var high: UInt64 = 0
    for (i, byte) in bytes.enumerated() {
        if i < 8 { low |= UInt64(byte) << (8 * UInt64(i)) } else { high |= UInt64(byte) << (8 * UInt64(i - 8)) }
    }
    return Symbol(low: low, high: high)
}

@Suite("Symbol")
struct SymbolTests {
    @Test("validating packs bytes little-endian into low then high")
    func packing() throws {
        let ab = try Symbol(validating: "AB")
        #expect(ab.low == 0x4241)
        #expect(ab.high == 0)

        let eight = try Symbol(validating: "ABCDEFGH")
        #expect(eight.low == 0x4847_4645_4443_4241)
        #expect(eight.high == 0)

        let sixteen = try Symbol(validating: "ABCDEFGHIJKLMNOP")
        #expect(sixteen.low == 0x4847_4645_4443_4241)
        #expect(sixteen.high == 0x504F_4E4D_4C4B_4A49)

        let nine = try Symbol(validating: "ABCDEFGHI")
        #expect(nine.high == 0x49)
    }

    @Test(
        "valid texts round-trip through description",
        arguments: ["A", "AAPL", "BRK.B", "ES-Z5", "!~", "0123456789abcdef", "ABCDEFGH", "ABCDEFGHI"])
    func roundTrip(text: String) throws {
        let symbol = try Symbol(validating: text)
        #expect(symbol.description == text)
        #expect(symbol.isValid)
        #expect(symbol == packed(Array(text.utf8)))
    }

    @Test("validating accepts a Substring and the StaticString initializer agrees")
    func otherInitializers() throws {
        let text = "xAAPLx"
        let fromSubstring = try Symbol(validating: text.dropFirst().dropLast())
        #expect(fromSubstring == Symbol("AAPL"))
        #expect(Symbol("AAPL").hashValue == fromSubstring.hashValue)
    }

    @Test("empty text is rejected")
    func empty() {
        #expect(throws: SymbolError.empty) { try Symbol(validating: "") }
    }

    @Test("more than 16 bytes are rejected with the length")
    func tooLong() {
        #expect(throws: SymbolError.tooLong(length: 17)) { try Symbol(validating: "ABCDEFGHIJKLMNOPQ") }
        // Length counts UTF-8 bytes, not characters, and is checked before the bytes.
        #expect(throws: SymbolError.tooLong(length: 18)) { try Symbol(validating: String(repeating: "é", count: 9)) }
        #expect(throws: Never.self) { try Symbol(validating: String(repeating: "Z", count: Symbol.maximumLength)) }
    }

    @Test("non-printable or non-ASCII bytes are rejected with byte and position")
    func invalidBytes() {
        #expect(throws: SymbolError.invalidByte(0x20, position: 2)) { try Symbol(validating: "AB C") }
        #expect(throws: SymbolError.invalidByte(0x20, position: 0)) { try Symbol(validating: " ") }
        #expect(throws: SymbolError.invalidByte(0x09, position: 1)) { try Symbol(validating: "A\tB") }
        #expect(throws: SymbolError.invalidByte(0x00, position: 1)) { try Symbol(validating: "A\u{0}B") }
        #expect(throws: SymbolError.invalidByte(0x7F, position: 0)) { try Symbol(validating: "\u{7F}") }
        #expect(throws: SymbolError.invalidByte(0xC3, position: 3)) { try Symbol(validating: "ABCé") }
        #expect(throws: SymbolError.invalidByte(0x20, position: 15)) { try Symbol(validating: "ABCDEFGHIJKLMNO ") }
    }

    @Test("isValid accepts exactly what validating produces")
    func isValid() {
        #expect(packed([0x41]).isValid)
        #expect(packed(Array(repeating: 0x7E, count: 16)).isValid)
        #expect(packed(Array(repeating: 0x21, count: 9)).isValid)

        #expect(!Symbol(low: 0, high: 0).isValid, "empty")
        #expect(!Symbol(low: 0, high: 0x41).isValid, "empty low half")
        #expect(!packed([0x41, 0x00, 0x42]).isValid, "a gap inside the low half")
        #expect(!packed([0x41, 0x42, 0x43, 0, 0, 0, 0, 0, 0x44]).isValid, "a gap across the halves")
        #expect(!packed([0x41, 0x20]).isValid, "space")
        #expect(!packed([0x41, 0x7F]).isValid, "DEL")
        #expect(!packed([0x41, 0x80]).isValid, "non-ASCII")
        #expect(!packed([0x1F]).isValid, "control byte")
        #expect(!packed(Array(repeating: 0x41, count: 15) + [0x0A]).isValid, "control byte in the last position")
    }

    @Test("order is the lexicographic order of the bytes")
    func ordering() throws {
        #expect(Symbol("A") < Symbol("AB"))
        #expect(Symbol("AB") < Symbol("B"))
        #expect(Symbol("AAPL") < Symbol("MSFT"))
        #expect(Symbol("Z") > Symbol("AAAAAAAAAAAAAAAA"))
        // Across the 8-byte boundary: the high half only decides when the low halves are equal.
        #expect(Symbol("ABCDEFGH") < Symbol("ABCDEFGHA"))
        #expect(Symbol("ABCDEFGHA") < Symbol("ABCDEFGHB"))
        #expect(Symbol("ABCDEFGZ") > Symbol("ABCDEFGHZZZZ"))
        #expect(!(Symbol("AAPL") < Symbol("AAPL")))

        let texts = [
            "b", "B", "BA", "A", "AAPL", "AAPL1", "ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOO", "ABCDEFGH", "!", "~",
            "MSFT", "ABCDEFGI", "abcdefghij", "0", "09", "ABCDEFGHA",
        ]
        let symbols = try texts.map { try Symbol(validating: $0) }
        let byBytes = texts.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(symbols.sorted().map(\.description) == byBytes)
    }
}

@Suite("Domain values")
struct DomainValueTests {
    @Test("side, quantities, money and time")
    func values() {
        #expect(Side.buy.opposite == .sell)
        #expect(Side.sell.opposite == .buy)
        #expect(Quantity(5) + Quantity(7) == Quantity(12))
        #expect(Quantity(5) - Quantity(7) == Quantity(-2))
        var quantity = Quantity(10)
        quantity -= Quantity(4)
        quantity += Quantity(1)
        #expect(quantity == Quantity(7))
        #expect(Money(250) - Money(300) == Money(-50))
        #expect(Timestamp(nanoseconds: 5).adding(seconds: 2) == Timestamp(nanoseconds: 2_000_000_005))
        #expect(Price.maximum.rawValue == 10_000_000_000_000)
        #expect(TradeID(sequence: 1, index: 9) < TradeID(sequence: 2, index: 0))
        #expect(TradeID(sequence: 2, index: 0) < TradeID(sequence: 2, index: 1))
    }

    @Test("wire codes are stable")
    func wireCodes() {
        #expect(Side.allCases.map(\.rawValue) == [1, 2])
        #expect(OrderType.allCases.map(\.rawValue) == [1, 2, 3, 4])
        #expect(TimeInForce.allCases.map(\.rawValue) == [1, 2, 3, 4, 5])
        #expect(SelfTradePrevention.allCases.map(\.rawValue) == [0, 1, 2, 3, 4])
    }
}
