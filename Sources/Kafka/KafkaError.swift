import CRdKafka

/// An operating error from librdkafka or from this adapter's use of it.
///
/// `rawCode` is the `rd_kafka_resp_err_t` raw value, `name` its `rd_kafka_err2name` spelling (for example
/// `_INVALID_ARG` or `NOT_LEADER_FOR_PARTITION`), `message` a human-readable explanation. Configuration errors also
/// carry the offending `property`.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The `rd_kafka_resp_err_t` raw value.
    public var rawCode: Int32
    /// `rd_kafka_err2name(rawCode)`.
    public var name: String
    /// What went wrong, including librdkafka's own error string when it gave one.
    public var message: String
    /// The librdkafka configuration property that was rejected, for configuration errors only.
    public var property: String?

    public init(rawCode: Int32, message: String, property: String? = nil) {
        self.rawCode = rawCode
        self.name = String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: rawCode)))
        self.message = message
        self.property = property
    }

    init(_ code: rd_kafka_resp_err_t, message: String? = nil, property: String? = nil) {
        self.init(
            rawCode: Int32(code.rawValue),
            message: message ?? String(cString: rd_kafka_err2str(code)),
            property: property
        )
    }

    /// Wraps and destroys an `rd_kafka_error_t`.
    init(consuming error: OpaquePointer) {
        defer { rd_kafka_error_destroy(error) }
        self.init(rd_kafka_error_code(error), message: String(cString: rd_kafka_error_string(error)))
    }

    public var description: String {
        if let property {
            return "KafkaError(\(name) \(rawCode), property \(property)): \(message)"
        }
        return "KafkaError(\(name) \(rawCode)): \(message)"
    }
}
