public import ExchangeCore
public import Matching

/// The lowercase strings the published payloads use for the engine's enums. They are part of the
/// event contract (docs/events/*.schema.json list them as `enum`s): add new names, never rename.
public enum EventVocabulary {
    public static func name(_ side: Side) -> String {
        switch side {
        case .buy: "buy"
        case .sell: "sell"
        }
    }

    public static func name(_ type: OrderType) -> String {
        switch type {
        case .limit: "limit"
        case .market: "market"
        case .stop: "stop"
        case .stopLimit: "stop_limit"
        }
    }

    public static func name(_ timeInForce: TimeInForce) -> String {
        switch timeInForce {
        case .gtc: "gtc"
        case .day: "day"
        case .ioc: "ioc"
        case .fok: "fok"
        case .gtd: "gtd"
        }
    }

    public static func name(_ reason: CancelReason) -> String {
        switch reason {
        case .requested: "requested"
        case .unfilled: "unfilled"
        case .fillOrKill: "fill_or_kill"
        case .selfTradePrevention: "self_trade_prevention"
        case .halted: "halted"
        }
    }

    public static func name(_ reason: HaltReason) -> String {
        switch reason {
        case .manual: "manual"
        case .volatility: "volatility"
        }
    }

    public static func name(_ reason: RejectReason) -> String {
        switch reason {
        case .unknownSymbol: "unknown_symbol"
        case .invalidOrderID: "invalid_order_id"
        case .duplicateOrderID: "duplicate_order_id"
        case .unknownOrder: "unknown_order"
        case .notOrderOwner: "not_order_owner"
        case .invalidQuantity: "invalid_quantity"
        case .quantityNotLotMultiple: "quantity_not_lot_multiple"
        case .quantityBelowMinimum: "quantity_below_minimum"
        case .quantityAboveMaximum: "quantity_above_maximum"
        case .invalidPrice: "invalid_price"
        case .priceOffTick: "price_off_tick"
        case .priceOutsideBand: "price_outside_band"
        case .invalidStopPrice: "invalid_stop_price"
        case .stopWouldTriggerImmediately: "stop_would_trigger_immediately"
        case .invalidTimeInForce: "invalid_time_in_force"
        case .invalidExpireTime: "invalid_expire_time"
        case .invalidPostOnly: "invalid_post_only"
        case .postOnlyWouldTrade: "post_only_would_trade"
        case .invalidDisplayQuantity: "invalid_display_quantity"
        case .symbolHalted: "symbol_halted"
        case .symbolNotHalted: "symbol_not_halted"
        case .staleClientOrderID: "stale_client_order_id"
        case .invalidParticipant: "invalid_participant"
        case .orderNotReplaceable: "order_not_replaceable"
        case .invalidPriceBand: "invalid_price_band"
        case .capacityExceeded: "capacity_exceeded"
        }
    }

    /// How an order took part in a fill: `"taker"` (the aggressor), `"maker"` (the resting order) or
    /// `"auction"` (an uncrossing trade, no aggressor).
    public static func liquidity(side: Side, aggressor: Side?) -> String {
        guard let aggressor else { return "auction" }
        return side == aggressor ? "taker" : "maker"
    }
}
