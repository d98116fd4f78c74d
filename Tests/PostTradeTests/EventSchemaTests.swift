import ExchangeCore
import Foundation
import Matching
import PostTrade
import Testing
import Wire

/// The published JSON against docs/events: schemas load, real engine output validates, the validator
/// rejects broken documents, and the workers' payloads conform.
@Suite struct EventSchemaTests {
    static let shard: UInt32 = 3
    static let acme = Symbol("ACME")
    static let zed = Symbol("ZED")
    static let baseNs: Int64 = 1_700_000_000_000_000_000

    /// Every topic the exchange publishes as JSON.
    static let jsonTopics = Topic.all.filter { $0 != Topic.deadLetter }

    /// Every payload type with the topic(s) it is published on.
    static let payloadTopics: [(payload: String, topic: String)] = [
        ("OrderSubmitted", OrderSubmitted.type), ("OrderCancelled", OrderCancelled.type),
        ("OrderReplaced", OrderReplaced.type), ("OrderExpired", OrderExpired.type),
        ("OrderRejected", OrderRejected.type), ("OrderFill", OrderFill.partiallyFilledType),
        ("OrderFill", OrderFill.filledType), ("TradeExecuted", TradeExecuted.type),
        ("TradeCleared", TradeCleared.type), ("TradeSettled", TradeSettled.type),
        ("CircuitBreakerTriggered", CircuitBreakerTriggered.type),
        ("CircuitBreakerLifted", CircuitBreakerLifted.type),
    ]

    // MARK: - (a) the schema files

    @Test func everySchemaParsesUsesOnlySupportedKeywordsAndPinsTypeAndVersion() throws {
        for topic in Self.jsonTopics {
            let validator = try JSONSchemaValidator.load(topic: topic)
            let schema = validator.schema
            #expect(schema["$schema"]?.string == "https://json-schema.org/draft/2020-12/schema", "\(topic)")
            #expect(schema["type"]?.string == "object", "\(topic)")
            #expect(schema["additionalProperties"] == .bool(false), "\(topic)")
            #expect(schema["properties"]?["type"]?["const"] == .string(topic), "\(topic)")
            #expect(schema["properties"]?["version"]?["const"] == JSONValue(1), "\(topic)")
            let required = Set((schema["required"]?.array ?? []).compactMap(\.string))
            #expect(required.isSuperset(of: ["type", "version", "event_id", "timestamp_ns"]), "\(topic)")
            let properties = Set(schema["properties"]?.object?.keys.map { $0 } ?? [])
            #expect(required.isSubset(of: properties), "\(topic): required names an undeclared property")
            #expect(validator.unsupportedKeywords() == [], "\(topic)")
        }
    }

    @Test func everyPayloadTypeHasASchemaAndNoSchemaIsOrphaned() throws {
        for (payload, topic) in Self.payloadTopics {
            let url = JSONSchemaValidator.schemaURL(topic: topic)
            #expect(FileManager.default.fileExists(atPath: url.path), "\(payload) → \(topic)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: JSONSchemaValidator.eventsDirectory.path)
            .filter { $0.hasSuffix(".schema.json") }
        let expected = Set(Self.jsonTopics.map { "\($0).v1.schema.json" })
        #expect(Set(files) == expected)
    }

    @Test func schemaEnumsListExactlyTheEngineVocabulary() throws {
        func enumValues(_ topic: String, _ property: String) throws -> Set<String> {
            let schema = try JSONSchemaValidator.load(topic: topic).schema
            return Set((schema["properties"]?[property]?["enum"]?.array ?? []).compactMap(\.string))
        }
        #expect(try enumValues(Topic.orderRejected, "reason") == Set(RejectReason.allCases.map(EventVocabulary.name)))
        #expect(try enumValues(Topic.orderCancelled, "reason") == Set(CancelReason.allCases.map(EventVocabulary.name)))
        #expect(try enumValues(Topic.orderSubmitted, "order_type") == Set(OrderType.allCases.map(EventVocabulary.name)))
        let timesInForce = Set(TimeInForce.allCases.map(EventVocabulary.name))
        #expect(try enumValues(Topic.orderSubmitted, "time_in_force") == timesInForce)
        let haltReasons = Set(HaltReason.allCases.map(EventVocabulary.name))
        #expect(try enumValues(Topic.circuitBreakerTriggered, "reason") == haltReasons)
        #expect(try enumValues(Topic.tradeExecuted, "aggressor") == Set(Side.allCases.map(EventVocabulary.name)))
    }

    // MARK: - (b) real engine output

    static func order(
        _ id: UInt64, _ participant: UInt32, _ symbol: Symbol, _ side: Side, _ price: Int64, _ quantity: Int64,
        type: OrderType = .limit, timeInForce: TimeInForce = .gtc, stopPrice: Int64 = 0, display: Int64 = 0
    ) -> Command {
        .newOrder(
            NewOrder(
                participant: ParticipantID(participant), clientOrderID: ClientOrderID(id), orderID: OrderID(id),
                account: AccountID(UInt64(participant) * 100), symbol: symbol, side: side, type: type,
                timeInForce: timeInForce, price: Price(price), stopPrice: Price(stopPrice),
                quantity: Quantity(quantity), displayQuantity: Quantity(display)))
    }

    static func replace(
        _ clientOrderID: UInt64, order: UInt64, participant: UInt32, _ symbol: Symbol, price: Int64, quantity: Int64
    ) -> Command {
        .replace(
            ReplaceOrder(
                participant: ParticipantID(participant), clientOrderID: ClientOrderID(clientOrderID),
                orderID: OrderID(order), symbol: symbol, price: Price(price), quantity: Quantity(quantity)))
    }

    static func cancel(_ clientOrderID: UInt64, order: UInt64, participant: UInt32, _ symbol: Symbol) -> Command {
        .cancel(
            CancelOrder(
                participant: ParticipantID(participant), clientOrderID: ClientOrderID(clientOrderID),
                orderID: OrderID(order), symbol: symbol))
    }

    /// Log entries (each a list of commands) and their log time offsets in milliseconds.
    static let scenario: [(offsetMs: Int64, commands: [Command])] = [
        (0, [order(1, 1, acme, .sell, 101, 10), order(2, 2, acme, .buy, 99, 10, display: 5)]),
        // Partial fill of the resting sell, full fill of the buy.
        (1, [order(3, 2, acme, .buy, 101, 4)]),
        // Market IOC larger than the book: trades 6, remainder cancelled (unfilled).
        (2, [order(4, 3, acme, .buy, 0, 8, type: .market, timeInForce: .ioc)]),
        // Replace keeping priority (smaller), then losing it (new price).
        (3, [replace(5, order: 2, participant: 2, acme, price: 99, quantity: 8)]),
        (4, [replace(6, order: 2, participant: 2, acme, price: 100, quantity: 8)]),
        // Rejected: outside the band; stale client order id; operator resume of a trading symbol.
        (5, [order(7, 1, acme, .sell, 200, 1), order(5, 2, acme, .sell, 100, 1), .resume(acme)]),
        // A sell stop and a DAY order; cancel of a resting order.
        (6, [order(8, 1, acme, .sell, 0, 3, type: .stop, stopPrice: 100),
             order(9, 3, acme, .buy, 95, 10, timeInForce: .day),
             cancel(10, order: 2, participant: 2, acme)]),
        // A trade at 100 triggers the stop, which sells into the DAY bid.
        (7, [order(11, 2, acme, .buy, 100, 1), order(12, 1, acme, .sell, 100, 1)]),
        // Manual halt and resume (empty auction), a price band change (not published).
        (8, [.halt(acme), .resume(acme), .setPriceBand(acme, basisPoints: 2_000, referencePrice: .zero)]),
        // Volatility breaker on ZED (band disabled): 100 then a jump to 120 halts it; the rest of the buy rests.
        (9, [.setPriceBand(zed, basisPoints: 0, referencePrice: .zero),
             order(13, 1, zed, .sell, 100, 10), order(14, 1, zed, .sell, 120, 10)]),
        (10, [order(15, 2, zed, .buy, 125, 20)]),
        // After the cooling-off: reopening auction at 120 with one uncrossing trade.
        (301_000, [.heartbeat]),
        // End of session: the DAY order expires.
        (302_000, [.endOfSession]),
        // A retry of an accepted order: `duplicate`, nothing published.
        (302_001, [order(15, 2, zed, .buy, 125, 20)]),
    ]

    static func engine() throws -> MatchingEngine {
        try MatchingEngine(
            configuration: EngineConfiguration(instruments: [
                InstrumentRules(symbol: acme, referencePrice: Price(100)),
                InstrumentRules(symbol: zed, referencePrice: Price(100)),
            ]))
    }

    @Test func engineScenarioMessagesValidateAgainstTheirSchemas() throws {
        var validators: [String: JSONSchemaValidator] = [:]
        for topic in Self.jsonTopics { validators[topic] = try JSONSchemaValidator.load(topic: topic) }

        var engine = try Self.engine()
        var sequence: UInt64 = 0
        var seenEventIDs = Set<String>()
        var seenTopics = Set<String>()
        var seenUnpublished = Set<String>()
        var tradeCount = 0

        for (entryNumber, entry) in Self.scenario.enumerated() {
            let logIndex = UInt64(entryNumber + 1) * 10
            let timestamp = Timestamp(nanoseconds: Self.baseNs + entry.offsetMs * 1_000_000)
            var events: [Event] = []
            for command in entry.commands {
                sequence += 1
                engine.apply(command, timestamp: timestamp, sequence: sequence, into: &events)
            }
            let messages = ShardEventMapping.messages(
                shard: Self.shard, logIndex: logIndex, timestamp: timestamp, events: events)

            // isPublished agrees with what messages() emits, per event and for the outbox's pre-filtered list.
            for event in events {
                let alone = ShardEventMapping.messages(
                    shard: Self.shard, logIndex: logIndex, timestamp: timestamp, events: [event])
                #expect(ShardEventMapping.isPublished(event) == !alone.isEmpty, "\(event)")
                #expect(ShardOutbox.keeps(event) == ShardEventMapping.isPublished(event), "the shard outbox keeps \(event)")
                #expect(alone.count == ShardEventMapping.messageCount(event), "\(event)")
                if alone.isEmpty { seenUnpublished.insert(String(describing: event).prefix { $0 != "(" }.description) }
            }
            #expect(messages.count == events.map(ShardEventMapping.messageCount).reduce(0, +))
            let filtered = events.filter(ShardEventMapping.isPublished)
            let fromFiltered = ShardEventMapping.messages(
                shard: Self.shard, logIndex: logIndex, timestamp: timestamp, events: filtered)
            #expect(fromFiltered == messages)

            for (i, message) in messages.enumerated() {
                let eventID = "\(Self.shard)-\(logIndex)-\(i)"
                let validator = try #require(validators[message.topic], "no schema for \(message.topic)")
                let violations = validator.validate(message.value)
                #expect(violations == [], "\(message.topic): \(String(decoding: message.value, as: UTF8.self))")
                let document = try JSONParser.parse(message.value)
                #expect(document["type"] == .string(message.topic))
                #expect(document["version"] == JSONValue(1))
                #expect(document["event_id"] == .string(eventID))
                #expect(document["event_seq"] == JSONValue(Int64(i)))
                #expect(document["log_index"] == JSONValue(Int64(logIndex)))
                #expect(document["shard"] == JSONValue(Int64(Self.shard)))
                #expect(document["timestamp_ns"] == JSONValue(timestamp.rawValue))
                #expect(
                    message.headers == [
                        EventHeader.shard: "\(Self.shard)", EventHeader.logIndex: "\(logIndex)",
                        EventHeader.eventSequence: "\(i)", EventHeader.eventID: eventID,
                    ])
                let symbol = try #require(document["symbol"]?.string)
                #expect(message.key == Array(symbol.utf8))
                #expect(seenEventIDs.insert(eventID).inserted, "duplicate event id \(eventID)")
                seenTopics.insert(message.topic)
                try expectCodableRoundTrip(message)
            }

            // Every trade: trade.executed with the engine's values, then the buy fill, then the sell fill.
            var cursor = 0
            for event in events {
                let count = ShardEventMapping.messageCount(event)
                defer { cursor += count }
                guard case .trade(let trade) = event else { continue }
                tradeCount += 1
                let executed = try JSONDecoder().decode(TradeExecuted.self, from: Data(messages[cursor].value))
                #expect(messages[cursor].topic == Topic.tradeExecuted)
                #expect(executed.tradeID == "\(Self.shard)-\(trade.id.sequence)-\(trade.id.index)")
                #expect(executed.symbol == trade.symbol.description)
                #expect(executed.price == trade.price.rawValue && executed.quantity == trade.quantity.rawValue)
                #expect(executed.aggressor == trade.aggressor.map(EventVocabulary.name))
                #expect(executed.buyOrderID == trade.buyOrderID.rawValue)
                #expect(executed.sellOrderID == trade.sellOrderID.rawValue)
                #expect(executed.buyAccount == trade.buyAccount.rawValue)
                #expect(executed.sellAccount == trade.sellAccount.rawValue)
                #expect(executed.buyParticipant == trade.buyParticipant.rawValue)
                #expect(executed.sellParticipant == trade.sellParticipant.rawValue)
                #expect(executed.eventSeq == UInt32(cursor) && executed.logIndex == logIndex)
                for (offset, side) in [(1, Side.buy), (2, Side.sell)] {
                    let message = messages[cursor + offset]
                    let fill = try JSONDecoder().decode(OrderFill.self, from: Data(message.value))
                    let leaves = side == .buy ? trade.buyLeaves : trade.sellLeaves
                    #expect(message.topic == (leaves == .zero ? Topic.orderFilled : Topic.orderPartiallyFilled))
                    #expect(fill.orderID == (side == .buy ? trade.buyOrderID : trade.sellOrderID).rawValue)
                    #expect(fill.side == EventVocabulary.name(side) && fill.leavesQuantity == leaves.rawValue)
                    #expect(fill.tradeID == executed.tradeID && fill.quantity == executed.quantity)
                    #expect(fill.liquidity == EventVocabulary.liquidity(side: side, aggressor: trade.aggressor))
                }
            }
        }

        // The scenario really covered what it claims.
        let expectedTopics: Set<String> = [
            Topic.orderSubmitted, Topic.orderCancelled, Topic.orderReplaced, Topic.orderExpired, Topic.orderRejected,
            Topic.orderPartiallyFilled, Topic.orderFilled, Topic.tradeExecuted, Topic.circuitBreakerTriggered,
            Topic.circuitBreakerLifted,
        ]
        #expect(seenTopics == expectedTopics)
        #expect(seenUnpublished == ["bookDelta", "duplicate", "triggered", "resumed", "priceBandSet"])
        #expect(tradeCount >= 5)
    }

    /// The value decodes into its Codable payload, and `JSONEncoder` output of that payload has the same
    /// meaning as the hand-written encoding.
    func expectCodableRoundTrip(_ message: OutboundMessage) throws {
        let data = Data(message.value)
        let probe = try JSONDecoder().decode(EventProbe.self, from: data)
        #expect(probe.type == message.topic && probe.version == 1)
        func check<P: PublishedPayload>(_ type: P.Type) throws {
            let payload = try JSONDecoder().decode(type, from: data)
            #expect(payload.jsonBytes() == message.value)
            let viaEncoder = try JSONParser.parse(try JSONEncoder().encode(payload))
            #expect(viaEncoder == (try JSONParser.parse(message.value)), "\(message.topic)")
        }
        switch message.topic {
        case Topic.orderSubmitted: try check(OrderSubmitted.self)
        case Topic.orderCancelled: try check(OrderCancelled.self)
        case Topic.orderReplaced: try check(OrderReplaced.self)
        case Topic.orderExpired: try check(OrderExpired.self)
        case Topic.orderRejected: try check(OrderRejected.self)
        case Topic.orderPartiallyFilled, Topic.orderFilled: try check(OrderFill.self)
        case Topic.tradeExecuted: try check(TradeExecuted.self)
        case Topic.circuitBreakerTriggered: try check(CircuitBreakerTriggered.self)
        case Topic.circuitBreakerLifted: try check(CircuitBreakerLifted.self)
        default: Issue.record("unexpected topic \(message.topic)")
        }
    }

    @Test func symbolsThatNeedEscapingStayValidJSON() throws {
        let symbol = try Symbol(validating: "A\"B\\C")
        let trade = Event.Trade(
            id: TradeID(sequence: 9, index: 0), symbol: symbol, price: Price(5), quantity: Quantity(1),
            aggressor: nil, buyOrderID: OrderID(1), sellOrderID: OrderID(2), buyAccount: AccountID(1),
            sellAccount: AccountID(2), buyParticipant: ParticipantID(1), sellParticipant: ParticipantID(2),
            buyLeaves: .zero, sellLeaves: Quantity(3), timestamp: Timestamp(nanoseconds: 7))
        let messages = ShardEventMapping.messages(
            shard: 1, logIndex: 2, timestamp: Timestamp(nanoseconds: 7), events: [.trade(trade)])
        #expect(messages.map(\.topic) == [Topic.tradeExecuted, Topic.orderFilled, Topic.orderPartiallyFilled])
        let validator = try JSONSchemaValidator.load(topic: Topic.tradeExecuted)
        #expect(validator.validate(messages[0].value) == [])
        let decoded = try JSONDecoder().decode(TradeExecuted.self, from: Data(messages[0].value))
        #expect(decoded.symbol == "A\"B\\C" && decoded.aggressor == nil)
        #expect(messages[0].key == Array("A\"B\\C".utf8))
    }

    // MARK: - (c) the validator catches broken documents

    static func validTradeDocument() throws -> [String: JSONValue] {
        let trade = TradeExecuted(
            eventID: "1-42-0", timestampNs: baseNs, shard: 1, logIndex: 42, eventSeq: 0, tradeID: "1-7-0",
            symbol: "ACME", price: 10_050, quantity: 300, aggressor: "buy", buyOrderID: 7, sellOrderID: 8,
            buyAccount: 70, sellAccount: 80, buyParticipant: 3, sellParticipant: 4)
        return try #require(try JSONParser.parse(trade.jsonBytes()).object)
    }

    @Test(arguments: [
        ("missing required field", "price", nil, "$"),
        ("wrong type", "price", JSONValue.string("10050"), "$.price"),
        ("extra property", "venue", JSONValue.string("XNAS"), "$.venue"),
        ("price zero", "price", JSONValue(0), "$.price"),
        ("negative quantity", "quantity", JSONValue(-1), "$.quantity"),
        ("unknown enum string", "aggressor", JSONValue.string("both"), "$.aggressor"),
        ("wrong version", "version", JSONValue(2), "$.version"),
        ("wrong type const", "type", JSONValue.string("trade.cleared"), "$.type"),
        ("fractional integer", "shard", JSONValue.number(JSONNumber(text: "1.5")), "$.shard"),
        ("bad event id", "event_id", JSONValue.string("cleared-1"), "$.event_id"),
        ("symbol too long", "symbol", JSONValue.string("ABCDEFGHIJKLMNOPQ"), "$.symbol"),
        ("participant above UInt32", "buy_participant", JSONValue(4_294_967_296), "$.buy_participant"),
    ] as [(String, String, JSONValue?, String)])
    func validatorReportsBrokenTradeDocuments(
        _ label: String, _ field: String, _ replacement: JSONValue?, _ expectedPath: String
    ) throws {
        let validator = try JSONSchemaValidator.load(topic: Topic.tradeExecuted)
        var document = try Self.validTradeDocument()
        #expect(validator.validate(.object(document)) == [], "the unbroken document is valid")
        document[field] = replacement
        let violations = validator.validate(.object(document))
        #expect(violations.contains { $0.path == expectedPath }, "\(label): \(violations)")
    }

    @Test func validatorReportsBrokenDocumentsOfOtherShapes() throws {
        #expect(try JSONSchemaValidator.load(topic: Topic.tradeExecuted).validate(Array("{\"type\":".utf8)).count == 1)
        #expect(try JSONSchemaValidator.load(topic: Topic.tradeExecuted).validate(Array("[1,2]".utf8)).count >= 1)

        let filled = OrderFill(
            eventID: "1-2-1", timestampNs: 5, shard: 1, logIndex: 2, eventSeq: 1, orderID: 9, participant: 3,
            account: 30, symbol: "ACME", side: "buy", tradeID: "1-2-0", price: 10, quantity: 5, leavesQuantity: 0,
            liquidity: "maker")
        var document = try #require(try JSONParser.parse(filled.jsonBytes()).object)
        let validator = try JSONSchemaValidator.load(topic: Topic.orderFilled)
        #expect(validator.validate(.object(document)) == [])
        document["leaves_quantity"] = JSONValue(3)
        #expect(validator.validate(.object(document)).map(\.path) == ["$.leaves_quantity"])

        let cleared = try JSONParser.parse(try JSONEncoder().encode(Self.sampleCleared()))
        var clearedDocument = try #require(cleared.object)
        var legs = try #require(clearedDocument["legs"]?.array)
        var leg = try #require(legs[1].object)
        leg["side"] = .string("short")
        legs[1] = .object(leg)
        clearedDocument["legs"] = .array(legs)
        let clearedValidator = try JSONSchemaValidator.load(topic: Topic.tradeCleared)
        #expect(clearedValidator.validate(.object(clearedDocument)).map(\.path) == ["$.legs[1].side"])
        clearedDocument["legs"] = .array([legs[0]])
        #expect(clearedValidator.validate(.object(clearedDocument)).map(\.path) == ["$.legs"])
    }

    // MARK: - (d) the workers' payloads

    static func sampleCleared() -> TradeCleared {
        TradeCleared(
            eventID: "cleared-1-7-0", timestampNs: baseNs + 5, tradeID: "1-7-0", sourceEventID: "1-42-0",
            tradeTimestampNs: baseNs, symbol: "ACME", price: 10_050, quantity: 300, notional: 3_015_000,
            legs: [
                ClearedLeg(
                    side: "buy", account: 70, participant: 3, counterparty: "CCP", quantity: 300, amount: 3_015_000),
                ClearedLeg(
                    side: "sell", account: 80, participant: 4, counterparty: "CCP", quantity: 300, amount: 3_015_000),
            ])
    }

    @Test func clearedAndSettledPayloadsValidate() throws {
        let encoder = JSONEncoder()
        let cleared = try JSONSchemaValidator.load(topic: Topic.tradeCleared)
        #expect(cleared.validate([UInt8](try encoder.encode(Self.sampleCleared()))) == [])

        let settledValidator = try JSONSchemaValidator.load(topic: Topic.tradeSettled)
        let settled = TradeSettled(
            eventID: "settled-1-7-0", timestampNs: Self.baseNs + 9, tradeID: "1-7-0", sourceEventID: "cleared-1-7-0",
            tradeTimestampNs: Self.baseNs, symbol: "ACME", price: 10_050, quantity: 300, notional: 3_015_000,
            buyAccount: 70, sellAccount: 80, status: "settled", reason: nil,
            movements: [
                Movement(account: 70, asset: "CASH", amount: -3_015_000),
                Movement(account: 80, asset: "CASH", amount: 3_015_000),
                Movement(account: 80, asset: "ACME", amount: -300),
                Movement(account: 70, asset: "ACME", amount: 300),
            ])
        #expect(settledValidator.validate([UInt8](try encoder.encode(settled))) == [])
        var failed = settled
        failed.status = "failed"
        failed.reason = "insufficient_cash"
        failed.movements = []
        #expect(settledValidator.validate([UInt8](try encoder.encode(failed))) == [])
        failed.status = "pending"
        #expect(settledValidator.validate([UInt8](try encoder.encode(failed))).map(\.path) == ["$.status"])
    }

    @Test func provisionalRiskRejectedSampleValidates() throws {
        let validator = try JSONSchemaValidator.load(topic: Topic.riskRejected)
        let sample = """
            {"type":"risk.rejected","version":1,"event_id":"risk-3-17","timestamp_ns":1700000000000000000,
             "participant":3,"client_order_id":17,"account":300,"symbol":"ACME","side":"buy","quantity":100,
             "price":10050,"reason":"credit_limit_exceeded"}
            """
        #expect(validator.validate(Array(sample.utf8)) == [])
    }

    // MARK: - Encoding rate (printed, not asserted: speed belongs in benchmarks)

    @Test func printTradeEncodingRates() throws {
        let iterations = 100_000
        let trade = TradeExecuted(
            eventID: "3-1234567-0", timestampNs: Self.baseNs, shard: 3, logIndex: 1_234_567, eventSeq: 0,
            tradeID: "3-7654321-0", symbol: "ACME", price: 10_050, quantity: 300, aggressor: "buy",
            buyOrderID: 2_752_512, sellOrderID: 2_686_976, buyAccount: 7, sellAccount: 9, buyParticipant: 3,
            sellParticipant: 4)
        let event = Event.trade(
            Event.Trade(
                id: TradeID(sequence: 7_654_321, index: 0), symbol: Self.acme, price: Price(10_050),
                quantity: Quantity(300), aggressor: .buy, buyOrderID: OrderID(2_752_512),
                sellOrderID: OrderID(2_686_976), buyAccount: AccountID(7), sellAccount: AccountID(9),
                buyParticipant: ParticipantID(3), sellParticipant: ParticipantID(4), buyLeaves: .zero,
                sellLeaves: Quantity(100), timestamp: Timestamp(nanoseconds: Self.baseNs)))
        let encoder = JSONEncoder()
        let clock = ContinuousClock()

        var bytes = 0
        let encoderTime = try clock.measure {
            for _ in 0..<iterations { bytes &+= try encoder.encode(trade).count }
        }
        let writerTime = clock.measure {
            for _ in 0..<iterations { bytes &+= trade.jsonBytes().count }
        }
        let mappingTime = clock.measure {
            for i in 0..<iterations {
                bytes &+= ShardEventMapping.messages(
                    shard: 3, logIndex: UInt64(i + 1), timestamp: Timestamp(nanoseconds: Self.baseNs), events: [event]
                ).count
            }
        }
        func rate(_ duration: Duration) -> Int {
            let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            return Int(Double(iterations) / seconds)
        }
        print(
            "trade.executed encodings/s: JSONEncoder \(rate(encoderTime)), EventJSONWriter \(rate(writerTime)); "
                + "trade events mapped/s (3 messages each, headers included) \(rate(mappingTime)) [checksum \(bytes)]")
        #expect(bytes > 0)
    }
}
