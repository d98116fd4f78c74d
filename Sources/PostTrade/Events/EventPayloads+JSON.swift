// The fast encodings of the payloads declared in EventPayloads.swift.

extension TradeExecuted: PublishedPayload {
    public func jsonBytes() -> [UInt8] {
        var writer = EventJSONWriter()
        writer.beginObject()
        writer.envelope(
            type: type, version: version, eventID: eventID, timestampNs: timestampNs, shard: shard, logIndex: logIndex,
            eventSeq: eventSeq)
        writer.field("trade_id", tradeID)
        writer.field("symbol", symbol)
        writer.field("price", price)
        writer.field("quantity", quantity)
        writer.field("aggressor", aggressor)
        writer.field("buy_order_id", buyOrderID)
        writer.field("sell_order_id", sellOrderID)
        writer.field("buy_account", buyAccount)
        writer.field("sell_account", sellAccount)
        writer.field("buy_participant", buyParticipant)
        writer.field("sell_participant", sellParticipant)
        writer.endObject()
        return writer.bytes
    }
}
