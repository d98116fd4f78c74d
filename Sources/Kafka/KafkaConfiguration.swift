import CRdKafka
import Foundation
import NIOConcurrencyHelpers

/// Connection settings shared by ``KafkaProducer``, ``KafkaConsumer``.
///
/// Turned into an `rd_kafka_conf_t` property by property; the first property librdkafka rejects gives a
/// ``KafkaError`` whose `property` names it, and the half-built configuration is destroyed.
public struct KafkaConfiguration: Sendable, Hashable {
    /// Comma-separated `host:port` list (librdkafka `bootstrap.servers`). Must not be empty.
    /// Default: none, required.
    public var bootstrapServers: String
    /// librdkafka `client.id`, shown in broker logs. Default: `"exchange"`.
    public var clientID: String
    /// Extra librdkafka properties, applied after `bootstrapServers` and `clientID` in key order. Properties the
    /// producer or consumer must control for correctness (`enable.idempotence`, `acks`, `group.id`,
    /// `enable.auto.commit`) are applied afterwards and cannot be overridden here. Default: empty.
    public var properties: [String: String]

    public init(bootstrapServers: String, clientID: String = "exchange", properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    /// This configuration with each of `defaults` added where ``properties`` does not set it already.
    public func settingDefaults(_ defaults: [String: String]) -> KafkaConfiguration {
        var copy = self
        copy.properties.merge(defaults) { given, _ in given }
        return copy
    }

    /// Timeouts for a broker that stops answering without closing its connections (a network partition, a
    /// hung broker; `KafkaMockCluster.setBrokerResponseDelay` makes one): librdkafka's defaults wait 60 s for any
    /// request (`socket.timeout.ms`) and 30 s for a produce request (`request.timeout.ms`) before it gives up on
    /// the connection and retries elsewhere. The exchange's clients give up after 10 s.
    public static let unresponsiveBrokerTimeouts: [String: String] = ["socket.timeout.ms": "10000"]

    /// ``unresponsiveBrokerTimeouts`` plus the producer's own request timeout.
    public static let producerTimeouts: [String: String] = unresponsiveBrokerTimeouts.merging(
        ["request.timeout.ms": "10000"]) { first, _ in first }

    /// Builds a native configuration; `enforced` is applied last.
    func makeNative(enforced: [(String, String)]) throws(KafkaError) -> NativeConfiguration {
        guard !bootstrapServers.isEmpty else {
            throw KafkaError(
                RD_KAFKA_RESP_ERR__INVALID_ARG, message: "bootstrapServers must not be empty",
                property: "bootstrap.servers")
        }
        let native = NativeConfiguration()
        try native.set("bootstrap.servers", bootstrapServers)
        try native.set("client.id", clientID)
        for key in properties.keys.sorted() {
            try native.set(key, properties[key]!)
        }
        // librdkafka's own debug contexts (e.g. `broker,eos,topic`) for a diagnosis, logged to stderr.
        if let contexts = ProcessInfo.processInfo.environment["EXCHANGE_KAFKA_DEBUG"], !contexts.isEmpty {
            try native.set("debug", contexts)
        }
        for (key, value) in enforced {
            try native.set(key, value)
        }
        return native
    }
}

/// Counts live native handles (`rd_kafka_conf_t`, `rd_kafka_t`, `rd_kafka_topic_t`) so tests can prove that
/// nothing leaks, also on failed construction.
enum NativeHandleLedger {
    static let live = NIOLockedValueBox(0)
    static var liveCount: Int { live.withLockedValue { $0 } }
    static func opened() { live.withLockedValue { $0 += 1 } }
    static func closed() { live.withLockedValue { $0 -= 1 } }
}

/// Owns an `rd_kafka_conf_t` until `rd_kafka_new` takes it; destroys it otherwise.
final class NativeConfiguration {
    private(set) var pointer: OpaquePointer?

    init() {
        pointer = rd_kafka_conf_new()
        NativeHandleLedger.opened()
    }

    deinit {
        if let pointer {
            rd_kafka_conf_destroy(pointer)
            NativeHandleLedger.closed()
        }
    }

    func set(_ name: String, _ value: String) throws(KafkaError) {
        precondition(pointer != nil, "configuration already handed to rd_kafka_new")
        var errorText = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(pointer, name, value, &errorText, errorText.count)
        guard result == RD_KAFKA_CONF_OK else {
            let text = errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, message: text, property: name)
        }
    }

    /// Creates the client; on success librdkafka owns the configuration, on failure it is still ours.
    func makeClient(type: rd_kafka_type_t) throws(KafkaError) -> OpaquePointer {
        precondition(pointer != nil, "configuration already handed to rd_kafka_new")
        var errorText = [CChar](repeating: 0, count: 512)
        guard let client = rd_kafka_new(type, pointer, &errorText, errorText.count) else {
            let text = errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, message: text)
        }
        pointer = nil
        // The configuration handle became part of the client handle: one live handle either way.
        return client
    }
}

extension Duration {
    /// Milliseconds for librdkafka timeouts, clamped to `0...Int32.max`.
    var kafkaMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow else { return seconds < 0 ? 0 : Int32.max }
        return Int32(clamping: max(0, milliseconds.partialValue + attoseconds / 1_000_000_000_000_000))
    }
}
