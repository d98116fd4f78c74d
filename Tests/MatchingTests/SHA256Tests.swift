import ExchangeCore
import Matching
import Testing

@Suite struct SHA256Tests {
    // FIPS 180-4 examples (NIST CSRC "Examples with intermediate values", SHA-256).
    static let vectors: [(message: String, digest: String)] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ]

    @Test(arguments: 0..<4)
    func nistVector(index: Int) {
        let (message, digest) = Self.vectors[index]
        #expect(SHA256.hex(SHA256.hash(Array(message.utf8))) == digest)
    }

    @Test func oneMillionA() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000)
        for _ in 0..<1_000 {
            hasher.update(bytes: chunk)
        }
        #expect(hasher.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Splitting the input at any point, including inside and across blocks, gives the same digest.
    @Test func splitUpdatesMatchOneShot() {
        let message = Array(Self.vectors[3].message.utf8)
        for split in 0...message.count {
            var hasher = SHA256()
            hasher.update(bytes: Array(message[..<split]))
            hasher.update(bytes: Array(message[split...]))
            #expect(hasher.finalizeHex() == Self.vectors[3].digest, "split at \(split)")
        }
        var byteByByte = SHA256()
        for byte in message {
            byteByByte.update(bytes: [byte])
        }
        #expect(byteByByte.finalizeHex() == Self.vectors[3].digest)
    }

    /// Lengths around the padding boundaries: n times "a", digests from coreutils `sha256sum`.
    @Test(arguments: [
        (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
        (119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
        (120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
    ])
    func paddingBoundaries(length: Int, digest: String) {
        #expect(SHA256.hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: length))) == digest)
    }

    @Test func finalizeDoesNotConsumeState() {
        var hasher = SHA256()
        hasher.update(bytes: Array("ab".utf8))
        _ = hasher.finalize()
        hasher.update(bytes: Array("c".utf8))
        #expect(hasher.finalizeHex() == Self.vectors[1].digest)
    }
}

@Suite struct EventEncodingTests {
    static let symbol = Symbol("ACME")

    static let trade = Event.Trade(
        id: TradeID(sequence: 7, index: 1), symbol: symbol, price: Price(10_100), quantity: Quantity(30),
        aggressor: .buy, buyOrderID: OrderID(11), sellOrderID: OrderID(12), buyAccount: AccountID(21),
        sellAccount: AccountID(22), buyParticipant: ParticipantID(31), sellParticipant: ParticipantID(32),
        buyLeaves: Quantity(70), sellLeaves: Quantity(0), timestamp: Timestamp(nanoseconds: 1_000))

    static let accepted = Event.Accepted(
        orderID: OrderID(5), participant: ParticipantID(3), clientOrderID: ClientOrderID(9), account: AccountID(4),
        symbol: symbol, side: .sell, type: .limit, timeInForce: .gtc, price: Price(100), stopPrice: .zero,
        quantity: Quantity(10), displayQuantity: .zero)

    /// One event of every case.
    static let everyCase: [Event] = [
        .accepted(accepted),
        .rejected(
            .init(
                participant: ParticipantID(3), clientOrderID: ClientOrderID(9), orderID: OrderID(5),
                symbol: symbol, reason: .unknownOrder)),
        .duplicate(
            .init(participant: ParticipantID(3), clientOrderID: ClientOrderID(9), outcome: .accepted(OrderID(5)))),
        .duplicate(
            .init(participant: ParticipantID(3), clientOrderID: ClientOrderID(9), outcome: .rejected(.invalidPrice))),
        .trade(trade),
        .cancelled(
            .init(
                orderID: OrderID(5), symbol: symbol, cancelledQuantity: Quantity(4), leavesQuantity: Quantity(6),
                reason: .requested)),
        .replaced(
            .init(
                orderID: OrderID(5), participant: ParticipantID(3), clientOrderID: ClientOrderID(10),
                symbol: symbol, price: Price(101), quantity: Quantity(10), leavesQuantity: Quantity(10),
                keptPriority: false)),
        .expired(.init(orderID: OrderID(5), symbol: symbol, leavesQuantity: Quantity(6))),
        .triggered(.init(orderID: OrderID(5), symbol: symbol, stopPrice: Price(90), lastTradePrice: Price(89))),
        .halted(.init(symbol: symbol, reason: .volatility, reopenAt: Timestamp(nanoseconds: 300))),
        .auction(.init(symbol: symbol, price: Price(100), volume: Quantity(50), imbalance: Quantity(-5))),
        .resumed(symbol),
        .priceBandSet(.init(symbol: symbol, basisPoints: 500, referencePrice: Price(100))),
        .bookDelta(.init(symbol: symbol, side: .buy, price: Price(100), quantity: Quantity(0))),
    ]

    static func encoded(_ event: Event) -> [UInt8] {
        var bytes: [UInt8] = []
        event.encode(into: &bytes)
        return bytes
    }

    @Test func everyCaseHasItsFixedLengthAndTag() {
        for event in Self.everyCase {
            let bytes = Self.encoded(event)
            #expect(bytes.count == event.encodedByteCount, "\(event)")
            #expect(bytes.count <= Event.maximumEncodedByteCount)
            #expect(bytes.first == event.encodingTag.rawValue)
        }
        #expect(Self.encoded(.trade(Self.trade)).count == Event.maximumEncodedByteCount)
    }

    @Test func encodingIsDeterministicAndAppends() {
        var stream: [UInt8] = [0xAA]
        for event in Self.everyCase {
            event.encode(into: &stream)
        }
        var again: [UInt8] = [0xAA]
        for event in Self.everyCase {
            again += Self.encoded(event)
        }
        #expect(stream == again)
        #expect(Set(Self.everyCase.map(Self.encoded)).count == Self.everyCase.count)
    }

    /// A known layout, byte for byte: pins the format against accidental change.
    @Test func bookDeltaLayoutIsLittleEndianInDeclarationOrder() {
        let event = Event.bookDelta(
            .init(
                symbol: Symbol(low: 0x0102, high: 0x03), side: .sell,
                price: Price(0x0A0B), quantity: Quantity(-1)))
        let expected: [UInt8] =
            [13]
            + [0x02, 0x01, 0, 0, 0, 0, 0, 0] + [0x03, 0, 0, 0, 0, 0, 0, 0]
            + [2]
            + [0x0B, 0x0A, 0, 0, 0, 0, 0, 0]
            + [UInt8](repeating: 0xFF, count: 8)
        #expect(Self.encoded(event) == expected)
    }

    /// Changing any one field of a trade changes its encoding.
    @Test func tradeEncodingDistinguishesEveryField() {
        let base = Self.trade
        var variants: [Event.Trade] = []
        func vary(_ change: (inout Event.Trade) -> Void) {
            var copy = base
            change(&copy)
            variants.append(copy)
        }
        vary { $0.id.sequence += 1 }
        vary { $0.id.index += 1 }
        vary { $0.symbol = Symbol("ACMF") }
        vary { $0.symbol = Symbol("ACMEACMEACMEACMX") }
        vary { $0.price = Price(10_101) }
        vary { $0.quantity = Quantity(31) }
        vary { $0.aggressor = .sell }
        vary { $0.aggressor = nil }
        vary { $0.buyOrderID = OrderID(13) }
        vary { $0.sellOrderID = OrderID(13) }
        vary { $0.buyAccount = AccountID(23) }
        vary { $0.sellAccount = AccountID(23) }
        vary { $0.buyParticipant = ParticipantID(33) }
        vary { $0.sellParticipant = ParticipantID(33) }
        vary { $0.buyLeaves = Quantity(71) }
        vary { $0.sellLeaves = Quantity(1) }
        vary { $0.timestamp = Timestamp(nanoseconds: 1_001) }
        // Swapping buy and sell sides of otherwise equal values must not collide either.
        vary { swap(&$0.buyOrderID, &$0.sellOrderID) }

        let encodings = ([base] + variants).map { Self.encoded(.trade($0)) }
        #expect(Set(encodings).count == encodings.count)
    }

    /// Changing any one field of an accepted event changes its encoding, and equal payloads of
    /// different cases (expired vs cancelled-like layouts) never collide thanks to the tag.
    @Test func acceptedEncodingDistinguishesEveryFieldAndCasesByTag() {
        let base = Self.accepted
        var variants: [Event.Accepted] = []
        func vary(_ change: (inout Event.Accepted) -> Void) {
            var copy = base
            change(&copy)
            variants.append(copy)
        }
        vary { $0.orderID = OrderID(6) }
        vary { $0.participant = ParticipantID(4) }
        vary { $0.clientOrderID = ClientOrderID(10) }
        vary { $0.account = AccountID(5) }
        vary { $0.symbol = Symbol("ACMD") }
        vary { $0.side = .buy }
        vary { $0.type = .stopLimit }
        vary { $0.timeInForce = .day }
        vary { $0.price = Price(101) }
        vary { $0.stopPrice = Price(1) }
        vary { $0.quantity = Quantity(11) }
        vary { $0.displayQuantity = Quantity(1) }
        let encodings = ([base] + variants).map { Self.encoded(.accepted($0)) }
        #expect(Set(encodings).count == encodings.count)

        let expired = Self.encoded(
            .expired(.init(orderID: OrderID(1), symbol: Self.symbol, leavesQuantity: Quantity(2))))
        let triggeredPrefix = Self.encoded(
            .triggered(
                .init(
                    orderID: OrderID(1), symbol: Self.symbol,
                    stopPrice: Price(2), lastTradePrice: Price(0))))
        #expect(expired[1...] == triggeredPrefix[1..<expired.count])
        #expect(expired[0] != triggeredPrefix[0])
    }

    /// The stream digest does not depend on how events were grouped into calls.
    @Test func digestIndependentOfBatching() {
        var oneByOne = EventDigest()
        for event in Self.everyCase {
            oneByOne.add(event)
        }
        var batched = EventDigest()
        batched.add(contentsOf: Array(Self.everyCase[..<5]))
        batched.add(contentsOf: [])
        batched.add(contentsOf: Array(Self.everyCase[5...]))
        #expect(oneByOne.finalizeHex() == batched.finalizeHex())
        #expect(oneByOne.eventCount == Self.everyCase.count)

        var expected = SHA256()
        for event in Self.everyCase {
            expected.update(bytes: Self.encoded(event))
        }
        #expect(batched.finalizeHex() == expected.finalizeHex())

        var reordered = EventDigest()
        reordered.add(contentsOf: Array(Self.everyCase.reversed()))
        #expect(reordered.finalizeHex() != batched.finalizeHex())
    }
}
