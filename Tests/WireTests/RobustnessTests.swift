import ExchangeCore
import Matching
import Raft
import Testing

@testable import Wire

/// Hostile input: truncations, bit flips, lying lengths and counts. Every decoder must answer with a value or a
/// `WireError`, never trap (a trap would crash this test process) and never allocate what a length claims.
@Suite struct RobustnessTests {
    /// One valid frame of every kind, several times over.
    static func sampleFrames(_ g: inout SeededGenerator, perKind: Int) -> [[UInt8]] {
        var result: [[UInt8]] = []
        for kind in FrameKind.allCases {
            for _ in 0..<perKind {
                if kind.isNodeFrame {
                    result.append(g.nodeMessage(kind).encodedFrame())
                } else if kind.isClientRequest {
                    result.append(g.request(kind).encodedFrame())
                } else {
                    result.append(g.response(kind).encodedFrame())
                }
            }
        }
        return result
    }

    @Test func everyTruncatedPayloadIsATypedError() throws {
        var g = TestSeed.generator("everyTruncatedPayloadIsATypedError")
        for bytes in Self.sampleFrames(&g, perKind: 10) {
            let frame = try #require(try decodeOneFrame(bytes))
            for length in 0..<frame.payload.count {
                let truncated = Frame(kind: frame.kind, payload: Array(frame.payload[..<length]))
                // Re-framed with a consistent length field, as a peer that lies about its content would send it.
                let reframed = try #require(try decodeOneFrame(truncated.encoded()))
                #expect(throws: WireError.self) { _ = try AnyMessage(decoding: reframed) }
            }
        }
    }

    @Test func everyTruncatedFrameStreamWaitsForMoreBytes() throws {
        var g = TestSeed.generator("everyTruncatedFrameStreamWaitsForMoreBytes")
        for bytes in Self.sampleFrames(&g, perKind: 2) {
            for length in 0..<bytes.count {
                #expect(try decodeOneFrame(Array(bytes[..<length])) == nil)
            }
        }
    }

    @Test func everyTruncatedShardEntryIsATypedError() throws {
        var g = TestSeed.generator("everyTruncatedShardEntryIsATypedError")
        for _ in 0..<30 {
            let bytes = g.shardEntry(maxCommands: 6).encoded()
            for length in 0..<bytes.count {
                #expect(throws: WireError.self) { _ = try ShardEntry(decoding: Array(bytes[..<length])) }
            }
            #expect(throwsCode(.trailingBytes) { _ = try ShardEntry(decoding: bytes + [0]) })
        }
    }

    @Test func randomBitFlipsDecodeOrFailWithATypedError() throws {
        var g = TestSeed.generator("randomBitFlipsDecodeOrFailWithATypedError")
        var decodedCount = 0
        var failedCount = 0
        for bytes in Self.sampleFrames(&g, perKind: 40) {
            for _ in 0..<20 {
                var flipped = bytes
                for _ in 0..<Int.random(in: 1...3, using: &g) {
                    let bit = Int.random(in: 0..<(flipped.count * 8), using: &g)
                    flipped[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
                }
                var decoder = FrameDecoder(maxFrameBytes: Frame.nodeMaxFrameBytesDefault)
                decoder.append(flipped)
                do {
                    while let frame = try decoder.next() {
                        _ = try AnyMessage(decoding: frame)
                        decodedCount += 1
                    }
                } catch {
                    failedCount += 1
                }
            }
        }
        #expect(decodedCount > 0)
        #expect(failedCount > 0)
    }

    @Test func randomBitFlipsInShardEntries() throws {
        var g = TestSeed.generator("randomBitFlipsInShardEntries")
        for _ in 0..<2_000 {
            var bytes = g.shardEntry(maxCommands: 5).encoded()
            let bit = Int.random(in: 0..<(bytes.count * 8), using: &g)
            bytes[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            do {
                let entry = try ShardEntry(decoding: bytes)
                // Whatever decoded re-encodes to the same bytes: the format has one encoding per value.
                #expect(entry.encoded() == bytes)
            } catch {
                #expect(error.offset >= 0 && error.offset <= bytes.count)
            }
        }
    }

    @Test func randomGarbageNeverTraps() throws {
        var g = TestSeed.generator("randomGarbageNeverTraps")
        for _ in 0..<3_000 {
            let kind = FrameKind.allCases.randomElement(using: &g)!
            let frame = Frame(kind: kind, payload: g.bytes(maxCount: 120))
            _ = try? AnyMessage(decoding: frame)
            _ = try? ShardEntry(decoding: frame.payload)
            var decoder = FrameDecoder(maxFrameBytes: 256)
            decoder.append(g.bytes(maxCount: 300))
            while let next = try? decoder.next() { _ = try? AnyMessage(decoding: next) }
        }
    }

    // MARK: - Lying counts and lengths

    /// A Raft frame whose payload is `group` + a message header + `tail`.
    static func raftFrame(entryCount: UInt32, tail: [UInt8]) -> Frame {
        var writer = ByteWriter()
        writer.write(UInt32(1))  // group
        writer.write(MessageKind.append.rawValue)
        writer.write(UInt8(0))
        for _ in 0..<8 { writer.write(UInt64(0)) }
        writer.write(entryCount)
        writer.write(contentsOf: tail)
        return Frame(kind: .raft, payload: writer.bytes)
    }

    @Test func hugeEntryCountIsRejectedBeforeAllocating() {
        for count in [UInt32.max, UInt32(RaftWire.maxEntryCount + 1), 2] {
            let frame = Self.raftFrame(entryCount: count, tail: [0, 0, 0])
            #expect(throwsCode(.countTooLarge) { _ = try NodeMessage(decoding: frame) })
        }
    }

    @Test func hugeEntryDataLengthIsRejectedBeforeAllocating() {
        var entry = ByteWriter()
        entry.write(UInt64(1))
        entry.write(UInt64(1))
        entry.write(EntryKind.normal.rawValue)
        entry.write(UInt32.max)
        #expect(
            throwsCode(.lengthTooLarge) {
                _ = try NodeMessage(decoding: Self.raftFrame(entryCount: 1, tail: entry.bytes))
            })
        var shortData = ByteWriter()
        shortData.write(UInt64(1))
        shortData.write(UInt64(1))
        shortData.write(EntryKind.normal.rawValue)
        shortData.write(UInt32(1_000))
        shortData.write(contentsOf: [1, 2, 3])
        #expect(
            throwsCode(.truncated) {
                _ = try NodeMessage(decoding: Self.raftFrame(entryCount: 1, tail: shortData.bytes))
            })
    }

    @Test func hugeMembershipCountIsRejected() throws {
        var message = Message(kind: .snapshot, from: 1, to: 2, term: 1)
        message.snapshot = SnapshotChunk(
            metadata: SnapshotMetadata(index: 1, term: 1, membership: Membership(voters: [1])), offset: 0, data: [],
            isLast: true)
        var bytes = NodeMessage.raft(RaftEnvelope(group: RaftGroupID(1), message: message)).encodedFrame()
        // The voters count sits after frame header, group, fixed fields, entry count, snapshot index and term.
        let countPosition = Frame.headerByteCount + 4 + RaftWire.fixedByteCount + 16
        #expect(bytes[countPosition] == 1)
        bytes[countPosition] = 0xFF
        bytes[countPosition + 1] = 0xFF
        let frame = try #require(try decodeOneFrame(bytes))
        #expect(throwsCode(.countTooLarge) { _ = try NodeMessage(decoding: frame) })
    }

    @Test func undefinedShardEntryFlagBitsAreRejected() {
        for flag in [UInt8(4), 8, 0x80] {
            var writer = ByteWriter()
            writer.write(ShardEntry.formatVersion)
            writer.write(Int64(1))
            writer.write(flag)
            writer.write(UInt32(0))
            #expect(throwsCode(.reservedBitsSet) { _ = try ShardEntry(decoding: writer.bytes) })
        }
        // Bit 1 announces an outbox mark: without its 8 bytes the entry is truncated.
        var writer = ByteWriter()
        writer.write(ShardEntry.formatVersion)
        writer.write(Int64(1))
        writer.write(UInt8(2))
        writer.write(UInt32(0))
        #expect(throws: WireError.self) { _ = try ShardEntry(decoding: writer.bytes) }
    }

    @Test func hugeCommandCountIsRejectedBeforeAllocating() {
        var writer = ByteWriter()
        writer.write(ShardEntry.formatVersion)
        writer.write(Int64(1))
        writer.write(UInt8(0))
        writer.write(UInt32.max)
        #expect(throwsCode(.countTooLarge) { _ = try ShardEntry(decoding: writer.bytes) })
        var withinMaximum = ByteWriter(bytes: Array(writer.bytes.dropLast(4)))
        withinMaximum.write(UInt32(ShardEntry.maxCommandCount))
        #expect(throwsCode(.countTooLarge) { _ = try ShardEntry(decoding: withinMaximum.bytes + [8, 8]) })
    }

    @Test func hugeFillCountAndStringLengthsAreRejected() throws {
        let result = ClientResponse(
            requestID: 1,
            body: .commandResult(
                CommandResult(
                    participant: ParticipantID(1), clientOrderID: ClientOrderID(1), orderID: OrderID(1),
                    symbol: Symbol("X"), outcome: .accepted, orderState: .resting, leavesQuantity: Quantity(1),
                    logIndex: 1, timestamp: .zero)))
        var bytes = result.encodedFrame()
        bytes[bytes.count - 2] = 0xFF
        bytes[bytes.count - 1] = 0xFF
        #expect(throwsCode(.countTooLarge) { _ = try ClientResponse(decoding: try decodeOneFrame(bytes)!) })

        let error = ClientResponse(requestID: 1, body: .protocolError(ProtocolError(code: .truncated, message: "")))
        var errorBytes = error.encodedFrame()
        errorBytes[errorBytes.count - 2] = 0xFF
        errorBytes[errorBytes.count - 1] = 0xFF
        #expect(throwsCode(.lengthTooLarge) { _ = try ClientResponse(decoding: try decodeOneFrame(errorBytes)!) })
    }

    // MARK: - Field validation

    @Test func invalidFieldsAreTypedErrors() throws {
        var g = TestSeed.generator("invalidFieldsAreTypedErrors")
        let order = ClientRequest(requestID: 9, body: .newOrder(NewOrderRequest(g.newOrder())))
        let valid = order.encodedFrame()
        // payload: request id 8, participant 4, client order id 8, account 8, symbol 16, side, type, tif, ...
        let sidePosition = Frame.headerByteCount + 8 + 4 + 8 + 8 + 16
        func mutated(_ position: Int, _ value: UInt8) throws -> Frame {
            var bytes = valid
            bytes[position] = value
            return try #require(try decodeOneFrame(bytes))
        }
        #expect(throwsCode(.invalidEnum) { _ = try ClientRequest(decoding: try mutated(sidePosition, 3)) })
        #expect(throwsCode(.invalidEnum) { _ = try ClientRequest(decoding: try mutated(sidePosition + 1, 0)) })
        #expect(throwsCode(.invalidEnum) { _ = try ClientRequest(decoding: try mutated(sidePosition + 2, 6)) })
        let postOnlyPosition = sidePosition + 3 + 32
        #expect(throwsCode(.invalidBool) { _ = try ClientRequest(decoding: try mutated(postOnlyPosition, 2)) })
        let symbolPosition = sidePosition - 16
        #expect(throwsCode(.invalidSymbol) { _ = try ClientRequest(decoding: try mutated(symbolPosition, 0)) })
        #expect(throwsCode(.invalidSymbol) { _ = try ClientRequest(decoding: try mutated(symbolPosition, 0x7F)) })
        #expect(
            throwsCode(.trailingBytes) {
                _ = try ClientRequest(decoding: Frame(kind: .ping, payload: [1, 0, 0, 0, 0, 0, 0, 0, 0]))
            })
        // An accepted result with a reject reason, and a rejected one with reason 0.
        var writer = ByteWriter()
        writer.write(UInt64(1))
        writer.write(UInt32(1))
        writer.write(UInt64(1))
        writer.write(UInt64(1))
        writer.write(Symbol("A"))
        let prefix = writer.bytes
        for (status, reason, code) in [(UInt8(1), UInt16(3), WireError.Code.inconsistentFields), (2, 0, .invalidEnum)] {
            var body = ByteWriter(bytes: prefix)
            body.write(status)
            body.write(reason)
            body.write(contentsOf: [UInt8](repeating: 0, count: 1 + 1 + 24 + 2))
            #expect(
                throwsCode(code) { _ = try ClientResponse(decoding: Frame(kind: .commandResult, payload: body.bytes)) })
        }
        // Undefined flag bits, unknown command and Raft message tags.
        #expect(
            throwsCode(.reservedBitsSet) {
                _ = try ShardEntry(decoding: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0])
            })
        #expect(
            throwsCode(.unknownTag) { _ = try ShardEntry(decoding: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 99]) })
        #expect(
            throwsCode(.unsupportedVersion) {
                _ = try ShardEntry(decoding: [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            })
        var raft = Self.raftFrame(entryCount: 0, tail: [])
        raft.payload[4] = 99
        #expect(throwsCode(.unknownTag) { _ = try NodeMessage(decoding: raft) })
        raft.payload[4] = MessageKind.append.rawValue
        raft.payload[5] = 4
        #expect(throwsCode(.reservedBitsSet) { _ = try NodeMessage(decoding: raft) })
        // A handshake with an empty or non-printable cluster name, or an inverted version range.
        #expect(
            throwsCode(.invalidString) {
                _ = try NodeMessage(
                    decoding: Frame(kind: .handshake, payload: [0, 0] + [UInt8](repeating: 0, count: 20)))
            })
        #expect(
            throwsCode(.invalidString) {
                _ = try NodeMessage(
                    decoding: Frame(kind: .handshake, payload: [1, 0, 0x07] + [UInt8](repeating: 0, count: 20)))
            })
        #expect(
            throwsCode(.inconsistentFields) {
                _ = try NodeMessage(
                    decoding: Frame(
                        kind: .handshake, payload: [1, 0, 0x41] + [UInt8](repeating: 0, count: 16) + [2, 0, 1, 0]))
            })
        // Invalid UTF-8 in a protocol error message.
        var invalidUTF8 = ByteWriter()
        invalidUTF8.write(UInt64(0))
        invalidUTF8.write(UInt16(1))
        invalidUTF8.write(UInt16(2))
        invalidUTF8.write(contentsOf: [0xC3, 0x28])
        #expect(
            throwsCode(.invalidString) {
                _ = try ClientResponse(decoding: Frame(kind: .protocolError, payload: invalidUTF8.bytes))
            })
    }
}
