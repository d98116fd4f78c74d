import ExchangeCore
import Matching
import Raft
import Testing

@testable import Wire

@Suite struct RoundTripTests {
    static let iterations = 200

    @Test func everyCommandCaseRoundTrips() throws {
        var g = TestSeed.generator("everyCommandCaseRoundTrips")
        for tag in CommandCodec.Tag.allCases {
            for _ in 0..<Self.iterations {
                let command = g.command(tag)
                var writer = ByteWriter()
                CommandCodec.encode(command, into: &writer)
                #expect(writer.count == CommandCodec.encodedByteCount(of: command))
                #expect(writer.bytes.first == tag.rawValue)
                var reader = ByteReader(writer.bytes)
                #expect(try CommandCodec.decode(from: &reader) == command)
                #expect(reader.isAtEnd)
            }
        }
    }

    @Test func shardEntriesRoundTrip() throws {
        var g = TestSeed.generator("shardEntriesRoundTrip")
        for _ in 0..<Self.iterations {
            let entry = g.shardEntry()
            let bytes = entry.encoded()
            #expect(bytes.count == entry.encodedByteCount)
            #expect(try ShardEntry(decoding: bytes) == entry)
        }
        // Empty batch, with and without a hash check, and one of every command in one entry.
        for check in [nil, StateHashCheck(index: 7, hash: .max)] {
            for mark in [nil, UInt64(0), UInt64(123_456)] as [UInt64?] {
                let all = ShardEntry(
                    timestamp: Timestamp(nanoseconds: 42), commands: CommandCodec.Tag.allCases.map { g.command($0) },
                    stateHash: check, publishedThrough: mark)
                #expect(all.encoded().count == all.encodedByteCount)
                #expect(try ShardEntry(decoding: all.encoded()) == all)
                let empty = ShardEntry(timestamp: .zero, commands: [], stateHash: check, publishedThrough: mark)
                #expect(try ShardEntry(decoding: empty.encoded()) == empty)
            }
        }
    }

    @Test func everyRaftMessageKindRoundTrips() throws {
        var g = TestSeed.generator("everyRaftMessageKindRoundTrips")
        for kind in MessageKind.allCases {
            for _ in 0..<50 {
                let envelope = RaftEnvelope(group: RaftGroupID(g.u32()), message: g.raftMessage(kind))
                let frame = NodeMessage.raft(envelope).encodedFrame()
                let decoded = try #require(try decodeOneFrame(frame))
                #expect(decoded.kind == .raft)
                #expect(try NodeMessage(decoding: decoded) == .raft(envelope))
                #expect(frame.count == Frame.headerByteCount + 4 + RaftWire.encodedByteCount(of: envelope.message))
            }
        }
    }

    @Test func raftMessageWithEveryFieldSetRoundTrips() throws {
        let message = Message(
            kind: .snapshot, from: 1, to: 2, term: 3, logTerm: 4, index: 5,
            entries: [
                Entry(term: 3, index: 6, kind: .normal, data: [1, 2, 3]), Entry(term: 3, index: 7, kind: .noop),
                Entry(term: 3, index: 8, kind: .configuration, data: Membership(voters: [1, 2, 3]).encoded()),
            ], commit: 9, reject: true, rejectHint: 10, context: 11,
            snapshot: SnapshotChunk(
                metadata: SnapshotMetadata(
                    index: 12, term: 13,
                    membership: Membership(voters: [1, 2], outgoingVoters: [1, 2, 3], learners: [9])
                ), offset: 14, data: Array(repeating: 0xAB, count: 1_000), isLast: true))
        let envelope = NodeMessage.raft(RaftEnvelope(group: RaftGroupID(77), message: message))
        let frame = try #require(try decodeOneFrame(envelope.encodedFrame()))
        #expect(try NodeMessage(decoding: frame) == envelope)
    }

    @Test func everyNodeFrameKindRoundTrips() throws {
        var g = TestSeed.generator("everyNodeFrameKindRoundTrips")
        for kind in FrameKind.allCases where kind.isNodeFrame {
            for _ in 0..<Self.iterations {
                let message = g.nodeMessage(kind)
                #expect(message.frameKind == kind)
                let frame = try #require(try decodeOneFrame(message.encodedFrame()))
                #expect(frame.kind == kind)
                #expect(try NodeMessage(decoding: frame) == message)
            }
        }
    }

    @Test func everyRequestKindRoundTrips() throws {
        var g = TestSeed.generator("everyRequestKindRoundTrips")
        for kind in FrameKind.allCases where kind.isClientRequest {
            for _ in 0..<Self.iterations {
                let request = g.request(kind)
                let bytes = request.encodedFrame()
                #expect(bytes.count == Frame.headerByteCount + request.payloadByteCount)
                let frame = try #require(try decodeOneFrame(bytes, maxFrameBytes: Frame.clientMaxFrameBytesDefault))
                #expect(frame.kind == kind)
                #expect(try ClientRequest(decoding: frame) == request)
            }
        }
    }

    @Test func everyResponseKindRoundTrips() throws {
        var g = TestSeed.generator("everyResponseKindRoundTrips")
        for kind in FrameKind.allCases where kind.isClientResponse {
            for _ in 0..<Self.iterations {
                let response = g.response(kind)
                let bytes = response.encodedFrame()
                #expect(bytes.count == Frame.headerByteCount + response.payloadByteCount)
                let frame = try #require(try decodeOneFrame(bytes, maxFrameBytes: Frame.clientMaxFrameBytesDefault))
                #expect(frame.kind == kind)
                #expect(try ClientResponse(decoding: frame) == response)
            }
        }
    }

    @Test func everyEventCaseRoundTripsInExecutionReports() throws {
        var g = TestSeed.generator("everyEventCaseRoundTripsInExecutionReports")
        for tag in Event.EncodingTag.allCases {
            for _ in 0..<Self.iterations {
                let event = g.event(tag)
                var writer = ByteWriter()
                EventCodec.encode(event, into: &writer)
                var reader = ByteReader(writer.bytes)
                #expect(try EventCodec.decode(from: &reader) == event)
                #expect(reader.isAtEnd)
                let report = ClientResponse(
                    requestID: g.u64(),
                    body: .executionReport(
                        ExecutionReport(logIndex: g.u64(), eventIndex: g.u32(), timestamp: g.timestamp(), event: event))
                )
                let frame = try #require(try decodeOneFrame(report.encodedFrame()))
                #expect(try ClientResponse(decoding: frame) == report)
            }
        }
    }

    @Test func largestCommandResultFitsTheClientFrameLimit() throws {
        let fill = Fill(
            tradeID: TradeID(sequence: 1, index: 2), price: Price(3), quantity: Quantity(4),
            leavesQuantity: Quantity(5),
            liquidity: .taker)
        let response = ClientResponse(
            requestID: 1,
            body: .commandResult(
                CommandResult(
                    participant: ParticipantID(1), clientOrderID: ClientOrderID(2), orderID: OrderID(3),
                    symbol: Symbol("ABC"), outcome: .accepted, orderState: .filled, leavesQuantity: .zero, logIndex: 4,
                    timestamp: Timestamp(nanoseconds: 5), fills: Array(repeating: fill, count: CommandResult.maxFills),
                    fillsTruncated: true)))
        let bytes = response.encodedFrame()
        #expect(bytes.count <= Frame.clientMaxFrameBytesDefault)
        let frame = try #require(try decodeOneFrame(bytes, maxFrameBytes: Frame.clientMaxFrameBytesDefault))
        #expect(try ClientResponse(decoding: frame) == response)
    }

    @Test func newOrderRequestBecomesTheCommandWithTheLeadersOrderID() {
        var g = TestSeed.generator("newOrderRequestBecomesTheCommandWithTheLeadersOrderID")
        let order = g.newOrder()
        #expect(NewOrderRequest(order).command(orderID: order.orderID) == order)
    }

    @Test func protocolErrorFromWireErrorKeepsCodeAndFitsItsLimit() throws {
        for code in WireError.Code.allCases {
            let error = WireError(code, offset: 12, String(repeating: "é", count: 2_000))
            let protocolError = ProtocolError(error)
            #expect(protocolError.code.rawValue == code.rawValue)
            #expect(protocolError.message.utf8.count <= ProtocolError.maxMessageBytes)
            let response = ClientResponse(requestID: 0, body: .protocolError(protocolError))
            let frame = try #require(try decodeOneFrame(response.encodedFrame()))
            #expect(try ClientResponse(decoding: frame) == response)
        }
    }
}
