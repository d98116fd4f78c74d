import CRdKafka
public import Logging
import NIOConcurrencyHelpers
import Foundation

/// Identifies one message handed to ``KafkaProducer/send(topic:key:value:headers:)``; the same number comes back
/// in its ``KafkaDeliveryReport``. Numbers start at 1 and increase per producer.
public struct KafkaMessageID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "\(rawValue)" }
}

/// A record header.
public struct KafkaHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]
    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }
}

/// The final outcome of one produced message.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var messageID: KafkaMessageID
    public var topic: String
    /// The partition the message went to, or -1 if it never got one.
    public var partition: Int32
    /// The offset the broker assigned, or -1 when unknown or failed.
    public var offset: Int64
    /// `nil` when the broker acknowledged the message (with `acks=all`).
    public var error: KafkaError?
}

/// An idempotent Kafka producer (`enable.idempotence=true`, `acks=all`, always; these are not configurable
/// because the exchange must neither lose nor duplicate a record on retry).
///
/// Synchronous by design: no thread of its own. Delivery reports are served, on the calling thread, only by
/// ``poll(timeout:)`` and ``flush(timeout:)``, and the report handler runs inside those calls.
///
/// - Important: ``poll(timeout:)`` and ``flush(timeout:)`` block the calling thread. Call them from a dedicated
///   thread, never from the Swift cooperative pool or a NIO event loop.
///
/// `@unchecked Sendable`: librdkafka documents `rd_kafka_t` and `rd_kafka_produce` as thread-safe; the topic
/// handle cache and delivery bookkeeping are behind locks.
public final class KafkaProducer: @unchecked Sendable {
    private let client: OpaquePointer
    private let delivery: DeliveryState
    private let topics = NIOLockedValueBox<[String: OpaquePointer]>([:])
    private let logger: Logger

    /// - Parameter onDeliveryReport: called once per sent message, from inside ``poll(timeout:)`` or
    ///   ``flush(timeout:)``.
    public init(
        configuration: KafkaConfiguration,
        logger: Logger = Logger(label: "exchange.kafka.producer"),
        onDeliveryReport: @escaping @Sendable (KafkaDeliveryReport) -> Void = { _ in }
    ) throws(KafkaError) {
        let native = try configuration.makeNative(enforced: [("enable.idempotence", "true"), ("acks", "all")])
        let delivery = DeliveryState(handler: onDeliveryReport)
        rd_kafka_conf_set_opaque(native.pointer, Unmanaged.passUnretained(delivery).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(native.pointer, kafkaDeliveryReportCallback)
        self.client = try native.makeClient(type: RD_KAFKA_PRODUCER)
        self.delivery = delivery
        self.logger = logger
    }

    deinit {
        // `delivery` outlives the client: it is released only after this body.
        topics.withLockedValue { handles in
            for handle in handles.values {
                rd_kafka_topic_destroy(handle)
                NativeHandleLedger.closed()
            }
            handles.removeAll()
        }
        rd_kafka_destroy(client)
        NativeHandleLedger.closed()
    }

    /// Messages sent whose delivery report has not been handled yet.
    public var pendingDeliveryCount: Int { delivery.pending }

    /// Enqueues one message; partition chosen by librdkafka's default partitioner from the key. Does not block.
    ///
    /// Key, value and headers are copied. Throws `_QUEUE_FULL` when the local queue is full: ``poll(timeout:)``
    /// and retry.
    @discardableResult
    public func send(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = []
    ) throws(KafkaError) -> KafkaMessageID {
        let topicHandle = try topicHandle(named: topic)
        let id = delivery.nextID()
        let result: OpaquePointer? = withCopiedBytes(key) { keyPointer, keyCount in
            withCopiedBytes(value) { valuePointer, valueCount in
                produce(
                    topicHandle: topicHandle, id: id, key: (keyPointer, keyCount), value: (valuePointer, valueCount),
                    headers: headers)
            }
        }
        if let result {
            delivery.cancel()
            throw KafkaError(consuming: result)
        }
        return id
    }

    /// Serves queued delivery reports, waiting up to `timeout` for the first. Returns how many were served.
    /// - Important: blocks the calling thread.
    @discardableResult
    public func poll(timeout: Duration) -> Int {
        Int(rd_kafka_poll(client, timeout.kafkaMilliseconds))
    }

    /// Returns once every sent message has had its delivery report handled, or throws `_TIMED_OUT`.
    /// - Important: blocks the calling thread.
    public func flush(timeout: Duration) throws(KafkaError) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let result = rd_kafka_flush(client, timeout.kafkaMilliseconds)
        // rd_kafka_flush counts unserved reports as outstanding, so after success only a handler still running on
        // another thread's `poll` can be pending; wait for it to finish.
        while result == RD_KAFKA_RESP_ERR_NO_ERROR, delivery.pending > 0, clock.now < deadline {
            rd_kafka_poll(client, 10)
        }
        let pending = delivery.pending
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, pending == 0 else {
            logger.warning("kafka flush timed out", metadata: ["kafka.pending": "\(pending)"])
            throw KafkaError(
                RD_KAFKA_RESP_ERR__TIMED_OUT, message: "flush: \(pending) messages without delivery report")
        }
    }

    private func topicHandle(named name: String) throws(KafkaError) -> OpaquePointer {
        let handle: OpaquePointer? = topics.withLockedValue { handles in
            if let existing = handles[name] { return existing }
            guard let created = rd_kafka_topic_new(client, name, nil) else { return nil }
            NativeHandleLedger.opened()
            handles[name] = created
            return created
        }
        guard let handle else {
            throw KafkaError(rd_kafka_last_error(), message: "rd_kafka_topic_new failed for \(name)")
        }
        return handle
    }

    private func produce(
        topicHandle: OpaquePointer, id: KafkaMessageID,
        key: (UnsafeMutableRawPointer?, Int), value: (UnsafeMutableRawPointer?, Int), headers: [KafkaHeader]
    ) -> OpaquePointer? {
        // Header names and values live in copies for the duration of the call; librdkafka copies them again.
        var headerStorage: [UnsafeMutableRawPointer] = []
        defer { headerStorage.forEach { $0.deallocate() } }
        var arguments: [rd_kafka_vu_t] = []
        arguments.reserveCapacity(6 + headers.count)
        var argument = rd_kafka_vu_t()
        argument.vtype = RD_KAFKA_VTYPE_RKT
        argument.u.rkt = topicHandle
        arguments.append(argument)
        argument = rd_kafka_vu_t()
        argument.vtype = RD_KAFKA_VTYPE_MSGFLAGS
        argument.u.i = RD_KAFKA_MSG_F_COPY
        arguments.append(argument)
        argument = rd_kafka_vu_t()
        argument.vtype = RD_KAFKA_VTYPE_OPAQUE
        argument.u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(id.rawValue))
        arguments.append(argument)
        if let keyPointer = key.0 {
            argument = rd_kafka_vu_t()
            argument.vtype = RD_KAFKA_VTYPE_KEY
            argument.u.mem.ptr = keyPointer
            argument.u.mem.size = key.1
            arguments.append(argument)
        }
        if let valuePointer = value.0 {
            argument = rd_kafka_vu_t()
            argument.vtype = RD_KAFKA_VTYPE_VALUE
            argument.u.mem.ptr = valuePointer
            argument.u.mem.size = value.1
            arguments.append(argument)
        }
        for header in headers {
            let name = copyBytes(Array(header.name.utf8) + [0])
            let headerValue = copyBytes(header.value)
            headerStorage.append(name)
            headerStorage.append(headerValue)
            argument = rd_kafka_vu_t()
            argument.vtype = RD_KAFKA_VTYPE_HEADER
            argument.u.header.name = UnsafePointer(name.assumingMemoryBound(to: CChar.self))
            argument.u.header.val = UnsafeRawPointer(headerValue)
            argument.u.header.size = header.value.count
            arguments.append(argument)
        }
        return rd_kafka_produceva(client, arguments, arguments.count)
    }
}

/// Runs `body` with a copy of `bytes` (nil stays nil), deallocated afterwards.
private func withCopiedBytes<Result>(
    _ bytes: [UInt8]?, _ body: (UnsafeMutableRawPointer?, Int) -> Result
) -> Result {
    guard let bytes else { return body(nil, 0) }
    let copy = copyBytes(bytes)
    defer { copy.deallocate() }
    return body(copy, bytes.count)
}

/// A new allocation (at least one byte) holding `bytes`; the caller deallocates it.
private func copyBytes(_ bytes: [UInt8]) -> UnsafeMutableRawPointer {
    let copy = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
    bytes.withUnsafeBytes { source in
        if let base = source.baseAddress { copy.copyMemory(from: base, byteCount: source.count) }
    }
    return copy
}

/// Delivery bookkeeping reached from the C callback through the client opaque.
final class DeliveryState: @unchecked Sendable {
    private struct Counters {
        var lastID: UInt64 = 0
        var pending = 0
    }
    private let counters = NIOLockedValueBox(Counters())
    let handler: @Sendable (KafkaDeliveryReport) -> Void

    init(handler: @escaping @Sendable (KafkaDeliveryReport) -> Void) { self.handler = handler }

    var pending: Int { counters.withLockedValue { $0.pending } }

    func nextID() -> KafkaMessageID {
        counters.withLockedValue {
            $0.lastID += 1
            $0.pending += 1
            return KafkaMessageID(rawValue: $0.lastID)
        }
    }

    func cancel() { counters.withLockedValue { $0.pending -= 1 } }

    func deliver(_ report: KafkaDeliveryReport) {
        handler(report)
        counters.withLockedValue {
            precondition($0.pending > 0, "delivery report without a pending message")
            $0.pending -= 1
        }
    }
}

private func kafkaDeliveryReportCallback(
    _ client: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let message, let opaque else { return }
    let state = Unmanaged<DeliveryState>.fromOpaque(opaque).takeUnretainedValue()
    let record = message.pointee
    let topic = record.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    let id = KafkaMessageID(rawValue: UInt64(UInt(bitPattern: record._private)))
    let error = record.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(record.err)
    state.deliver(
        KafkaDeliveryReport(
            messageID: id, topic: topic, partition: record.partition, offset: record.offset, error: error))
}

/// Releases a Kafka client (producer or consumer) on a thread of its own, once that thread holds its last
/// reference. `rd_kafka_destroy` (and a consumer's close) waits for librdkafka's internal threads, which can
/// hang when the client is stuck, the very reason to replace it: the caller must not hang with it. If it never
/// returns, that thread and the handle are leaked.
public func retireKafkaClientInBackground(_ client: AnyObject, logger: Logger) {
    final class Box: @unchecked Sendable {
        var client: AnyObject?
        init(_ client: AnyObject) { self.client = client }
    }
    let box = Box(client)
    let thread = Thread {
        guard var held = box.client else { return }
        box.client = nil
        // The caller's own reference goes within moments; wait for it so that the destruction runs here.
        var waited = 0
        while !isKnownUniquelyReferenced(&held), waited < 10_000 {
            usleep(1_000)
            waited += 1
        }
        let started = ContinuousClock.now
        held = NSNull()  // drops the last reference: the client is destroyed here
        let took = ContinuousClock.now - started
        if took > .seconds(5) { logger.warning("retiring a kafka client took long", metadata: ["duration": "\(took)"]) }
    }
    thread.name = "kafka-client-retire"
    thread.start()
}
