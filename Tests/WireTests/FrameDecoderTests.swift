import Raft
import Testing

@testable import Wire

@Suite struct FrameDecoderTests {
    /// A mixed stream of node frames and its frames, for feeding tests.
    static func stream(_ g: inout SeededGenerator, count: Int) -> (bytes: [UInt8], frames: [Frame]) {
        var bytes: [UInt8] = []
        var frames: [Frame] = []
        for _ in 0..<count {
            let kinds = FrameKind.allCases
            let kind = kinds.randomElement(using: &g)!
            let start = bytes.count
            if kind.isNodeFrame {
                g.nodeMessage(kind).encodeFrame(into: &bytes)
            } else if kind.isClientRequest {
                g.request(kind).encodeFrame(into: &bytes)
            } else {
                g.response(kind).encodeFrame(into: &bytes)
            }
            let encoded = Array(bytes[start...])
            frames.append(Frame(kind: kind, payload: Array(encoded[Frame.headerByteCount...])))
        }
        return (bytes, frames)
    }

    @Test func byteByByteFeedingYieldsEveryFrameExactlyWhenComplete() throws {
        var g = TestSeed.generator("byteByByteFeedingYieldsEveryFrameExactlyWhenComplete")
        let (bytes, frames) = Self.stream(&g, count: 60)
        var decoder = FrameDecoder(maxFrameBytes: Frame.nodeMaxFrameBytesDefault)
        var decoded: [Frame] = []
        var frameEnds: [Int] = []
        var end = 0
        for frame in frames {
            end += frame.encodedByteCount
            frameEnds.append(end)
        }
        for (position, byte) in bytes.enumerated() {
            decoder.append(CollectionOfOne(byte))
            while let frame = try decoder.next() {
                decoded.append(frame)
                // A frame comes out exactly at the byte that completes it.
                #expect(position + 1 == frameEnds[decoded.count - 1])
            }
        }
        #expect(decoded == frames)
        #expect(decoder.bufferedByteCount == 0)
        #expect(decoder.streamOffset == bytes.count)
        for frame in decoded { _ = try AnyMessage(decoding: frame) }
    }

    @Test func randomSplitsYieldTheSameFrames() throws {
        var g = TestSeed.generator("randomSplitsYieldTheSameFrames")
        for _ in 0..<50 {
            let (bytes, frames) = Self.stream(&g, count: 20)
            var decoder = FrameDecoder(maxFrameBytes: Frame.nodeMaxFrameBytesDefault)
            var decoded: [Frame] = []
            var position = 0
            while position < bytes.count {
                let chunk = min(bytes.count - position, Int.random(in: 1...300, using: &g))
                decoder.append(bytes[position..<(position + chunk)])
                position += chunk
                while let frame = try decoder.next() { decoded.append(frame) }
            }
            #expect(decoded == frames)
            #expect(decoder.bufferedByteCount == 0)
        }
    }

    @Test func emptyPayloadFrameIsLegal() throws {
        var decoder = FrameDecoder(maxFrameBytes: 7)
        decoder.append([3, 0, 0, 0, 1, 0, 0x40])
        #expect(try decoder.next() == Frame(kind: .pong, payload: []))
        #expect(try decoder.next() == nil)
    }

    @Test func oversizeLengthIsRejectedFromTheHeaderAlone() {
        // Only the 4-byte length has arrived: it claims 4 GiB. Nothing is buffered beyond those 4 bytes.
        var decoder = FrameDecoder(maxFrameBytes: Frame.clientMaxFrameBytesDefault)
        decoder.append([0xFF, 0xFF, 0xFF, 0xFF])
        #expect(decoder.bufferedByteCount == 4)
        #expect(throws: WireError(.frameTooLarge, offset: 0, "frame of 4294967299 bytes exceeds maxFrameBytes 65536")) {
            try decoder.next()
        }
        // Exactly at the limit is accepted, one over is not.
        var atLimit = FrameDecoder(maxFrameBytes: 100)
        atLimit.append([96, 0, 0, 0])
        #expect((try? atLimit.next()) == .some(nil))
        var overLimit = FrameDecoder(maxFrameBytes: 100)
        overLimit.append([97, 0, 0, 0])
        #expect(throwsCode(.frameTooLarge) { _ = try overLimit.next() })
    }

    @Test func errorOffsetsCountFromTheStreamStart() throws {
        var decoder = FrameDecoder(maxFrameBytes: 1_000)
        let ping = ClientRequest(requestID: 5, body: .ping).encodedFrame()
        decoder.append(ping)
        decoder.append(ping)
        decoder.append([3, 0, 0, 0, 1, 0, 0xEE])  // unknown kind
        #expect(try decoder.next() != nil)
        #expect(try decoder.next() != nil)
        do {
            _ = try decoder.next()
            Issue.record("unknown kind accepted")
        } catch {
            #expect(error.code == .unknownFrameKind)
            #expect(error.offset == 2 * ping.count + 6)
        }
    }

    @Test func tooShortLengthIsRejected() {
        for length: UInt8 in 0..<3 {
            var decoder = FrameDecoder(maxFrameBytes: 1_000)
            decoder.append([length, 0, 0, 0])
            #expect(throwsCode(.frameTooShort) { _ = try decoder.next() })
        }
    }

    @Test func unknownVersionsAndKindsAreRejected() {
        for version in [UInt16(0), 2, 0x100, .max] {
            var decoder = FrameDecoder(maxFrameBytes: 1_000)
            decoder.append([11, 0, 0, 0, UInt8(version & 0xFF), UInt8(version >> 8), 0x20])
            #expect(throwsCode(.unsupportedVersion) { _ = try decoder.next() })
        }
        let known = Set(FrameKind.allCases.map(\.rawValue))
        for kind in UInt8.min...UInt8.max where !known.contains(kind) {
            var decoder = FrameDecoder(maxFrameBytes: 1_000)
            decoder.append([3, 0, 0, 0, 1, 0, kind])
            #expect(throwsCode(.unknownFrameKind) { _ = try decoder.next() })
        }
    }

    @Test func decoderStaysFailedAfterAnError() {
        var decoder = FrameDecoder(maxFrameBytes: 1_000)
        decoder.append([0, 0, 0, 0])
        #expect(throwsCode(.frameTooShort) { _ = try decoder.next() })
        decoder.append(ClientRequest(requestID: 1, body: .ping).encodedFrame())
        #expect(throwsCode(.frameTooShort) { _ = try decoder.next() })
    }

    @Test func framesOnTheWrongConnectionAreRefused() throws {
        let request = try #require(try decodeOneFrame(ClientRequest(requestID: 1, body: .ping).encodedFrame()))
        let response = try #require(try decodeOneFrame(ClientResponse(requestID: 1, body: .pong).encodedFrame()))
        let node = try #require(
            try decodeOneFrame(
                NodeMessage.handshake(Handshake(clusterName: "x", nodeID: 1)).encodedFrame()))
        #expect(throwsCode(.unexpectedFrameKind) { _ = try ClientRequest(decoding: response) })
        #expect(throwsCode(.unexpectedFrameKind) { _ = try ClientRequest(decoding: node) })
        #expect(throwsCode(.unexpectedFrameKind) { _ = try ClientResponse(decoding: request) })
        #expect(throwsCode(.unexpectedFrameKind) { _ = try ClientResponse(decoding: node) })
        #expect(throwsCode(.unexpectedFrameKind) { _ = try NodeMessage(decoding: request) })
        #expect(throwsCode(.unexpectedFrameKind) { _ = try NodeMessage(decoding: response) })
    }
}

/// True when `body` throws a `WireError` with `code`.
func throwsCode(_ code: WireError.Code, _ body: () throws -> Void) -> Bool {
    do {
        try body()
        return false
    } catch let error as WireError {
        return error.code == code
    } catch {
        return false
    }
}

@Suite struct ProtocolErrorReplyTests {
    @Test func requestIDOfAnUndecodablePayloadIsRecovered() throws {
        var bytes = ClientRequest(
            requestID: 77,
            body: .orderStatus(OrderStatusQuery(participant: .init(1), symbol: .init("A"), orderID: .init(1)))
        ).encodedFrame()
        bytes[Frame.headerByteCount + 12] = 0  // invalid symbol
        let frame = try #require(try decodeOneFrame(bytes))
        #expect(throwsCode(.invalidSymbol) { _ = try ClientRequest(decoding: frame) })
        #expect(ClientRequest.requestID(of: frame) == 77)
        #expect(ClientRequest.requestID(of: Frame(kind: .ping, payload: [1, 2])) == nil)
        #expect(ClientRequest.requestID(of: Frame(kind: .pong, payload: [UInt8](repeating: 1, count: 8))) == nil)
    }

    @Test func overlongMessagesAreCutInsteadOfTrapping() throws {
        let long = String(repeating: "ü", count: 5_000)
        let error = ProtocolError(code: .tooManySubscriptions, message: long)
        #expect(error.message.utf8.count <= ProtocolError.maxMessageBytes)
        let reject = HandshakeReject(reason: .wrongCluster, message: long)
        #expect(reject.message.utf8.count <= HandshakeReject.maxMessageBytes)
        let frame = try #require(try decodeOneFrame(NodeMessage.handshakeReject(reject).encodedFrame()))
        #expect(try NodeMessage(decoding: frame) == .handshakeReject(reject))
    }
}
