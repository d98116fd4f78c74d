import ExchangeCore
import Matching
import Raft
import Testing

@testable import Wire

/// Pinned encodings: the format must not change by accident. These vectors are also the worked examples of
/// docs/PROTOCOL.md; change both together, and only with a version bump.
@Suite struct GoldenVectorTests {
    static func check(_ encoded: [UInt8], _ expectedHex: String) {
        #expect(hex(encoded) == expectedHex.filter { !$0.isWhitespace })
    }

    @Test func pingRequest() throws {
        let request = ClientRequest(requestID: 0x0102_0304_0506_0708, body: .ping)
        Self.check(request.encodedFrame(), "0b000000 0100 20 0807060504030201")
        let frame = try #require(try decodeOneFrame(bytes(hex: "0b000000 0100 20 0807060504030201")))
        #expect(try ClientRequest(decoding: frame) == request)
    }

    @Test func newOrderRequest() throws {
        let request = ClientRequest(
            requestID: 1,
            body: .newOrder(
                NewOrderRequest(
                    participant: ParticipantID(7), clientOrderID: ClientOrderID(42), account: AccountID(9),
                    symbol: Symbol("AAPL"), side: .buy, type: .limit, timeInForce: .gtc, price: Price(1_500_000),
                    quantity: Quantity(100))))
        let expected = """
            5c000000 0100 21 0100000000000000 07000000 2a00000000000000 0900000000000000
            4141504c000000000000000000000000 01 01 01 60e3160000000000 0000000000000000 6400000000000000
            0000000000000000 00 00 0000000000000000
            """
        Self.check(request.encodedFrame(), expected)
        #expect(try ClientRequest(decoding: try #require(try decodeOneFrame(bytes(hex: expected)))) == request)
    }

    @Test func cancelRequest() {
        let request = ClientRequest(
            requestID: 1,
            body: .cancel(
                CancelOrder(
                    participant: ParticipantID(7), clientOrderID: ClientOrderID(42), orderID: OrderID(1_000),
                    symbol: Symbol("AAPL"))))
        Self.check(
            request.encodedFrame(),
            """
            2f000000 0100 22 0100000000000000 07000000 2a00000000000000 e803000000000000
            4141504c000000000000000000000000
            """)
    }

    @Test func rejectedCommandResult() {
        let response = ClientResponse(
            requestID: 4,
            body: .commandResult(
                CommandResult(
                    participant: ParticipantID(7), clientOrderID: ClientOrderID(42), orderID: OrderID(0),
                    symbol: Symbol("AAPL"), outcome: .rejected(.priceOutsideBand), orderState: .unknown,
                    leavesQuantity: .zero, logIndex: 10, timestamp: .zero)))
        Self.check(
            response.encodedFrame(),
            """
            4e000000 0100 41 0400000000000000 07000000 2a00000000000000 0000000000000000
            4141504c000000000000000000000000 02 0c00 00 00 0000000000000000 0a00000000000000 0000000000000000 0000
            """)
    }

    @Test func notLeader() {
        let response = ClientResponse(
            requestID: 2,
            body: .notLeader(NotLeader(group: RaftGroupID(1), leaderNodeID: 3, leaderAddress: "10.0.0.3:7001")))
        Self.check(
            response.encodedFrame(),
            "26000000 0100 43 0200000000000000 01000000 0300000000000000 0d00 31302e302e302e333a37303031")
    }

    @Test func handshake() {
        let message = NodeMessage.handshake(Handshake(clusterName: "prod", nodeID: 1, peerNodeID: 2))
        Self.check(
            message.encodedFrame(), "1d000000 0100 01 0400 70726f64 0100000000000000 0200000000000000 0100 0100")
    }

    @Test func raftHeartbeat() {
        let message = NodeMessage.raft(
            RaftEnvelope(group: RaftGroupID(3), message: Message(kind: .heartbeat, from: 1, to: 2, term: 5, commit: 9)))
        Self.check(
            message.encodedFrame(),
            """
            4d000000 0100 04 03000000 07 00 0100000000000000 0200000000000000 0500000000000000 0000000000000000
            0000000000000000 0900000000000000 0000000000000000 0000000000000000 00000000
            """)
    }

    @Test func shardEntry() throws {
        let entry = ShardEntry(
            timestamp: Timestamp(nanoseconds: 1_000_000_000), commands: [.heartbeat, .halt(Symbol("XYZ"))],
            stateHash: StateHashCheck(index: 5, hash: 0xDEAD_BEEF))
        let expected = """
            0100 00ca9a3b00000000 01 0500000000000000 efbeadde00000000 02000000 08 04
            58595a0000000000 0000000000000000
            """
        Self.check(entry.encoded(), expected)
        #expect(try ShardEntry(decoding: bytes(hex: expected)) == entry)
    }

    @Test func stableCodes() {
        // Frame kinds, command tags and error codes are on the wire: pin them.
        #expect(
            FrameKind.allCases.map(\.rawValue) == [
                1, 2, 3, 4, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
            ])
        #expect(CommandCodec.Tag.allCases.map(\.rawValue) == Array(1...8))
        #expect(WireError.Code.allCases.map(\.rawValue) == Array(1...16))
        #expect(ProtocolErrorCode.allCases.map(\.rawValue) == Array(1...16) + [100, 101, 102, 103])
        #expect(Wire.version == 1)
        // Per-kind lengths as docs/PROTOCOL.md states them.
        var g = SeededGenerator(seed: 1)
        #expect(
            Event.EncodingTag.allCases.map { g.event($0).encodedByteCount } == [
                80, 39, 22, 110, 42, 62, 33, 41, 26, 41, 17, 33, 34,
            ])
        #expect(
            CommandCodec.Tag.allCases.map { CommandCodec.encodedByteCount(of: g.command($0)) } == [
                90, 37, 53, 17, 17, 33, 1, 1,
            ])
        #expect(
            FrameKind.allCases.filter(\.isClientRequest).map { g.request($0).payloadByteCount } == [
                8, 89, 44, 60, 36, 28,
            ])
        #expect(OrderStatusResult.statusByteCount == 114)
        #expect(CommandResult.fixedByteCount + 8 == 75)
        #expect(ShardEntry.formatVersion == 1)
    }
}
