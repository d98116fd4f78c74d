/*
 * exchange_matching.h: C interface to the exchange's matching engine (one order book per handle).
 *
 * The implementation is Swift (Sources/MatchingC/MatchingC.swift) built as the shared library
 * libExchangeMatchingC.so by `swift build -c release --product ExchangeMatchingC`. Compile and
 * link a C program against it with, for example:
 *
 *     gcc -std=c11 -I Sources/MatchingC/include my_program.c \
 *         -L .build/release -lExchangeMatchingC -Wl,-rpath,"$PWD/.build/release" -o my_program
 *
 * Model
 * -----
 * A book trades one symbol with price-time priority; the exact matching rules are those of
 * docs/MATCHING.md. Every number is an integer (int64_t): prices are in the instrument's
 * smallest price unit (e.g. 1/10,000 of a currency unit), quantities in shares or contracts.
 * There is no floating point anywhere.
 *
 * The wrapper plays the sequencer in front of the engine: it assigns order ids (1, 2, 3, ... in
 * the order orders are accepted), client order ids, and one strictly increasing command
 * sequence per call that changes the book. The engine reads no clock: every such call takes a
 * log timestamp in nanoseconds chosen by the caller, or 0 to let the wrapper count
 * (previous timestamp + 1). Time never goes backwards: a timestamp lower than the previous one
 * is replaced by the previous one. The same calls with the same arguments therefore always
 * produce the same order ids, trades and book, on every machine.
 *
 * All orders of a book belong to one participant and one account, with self-trade prevention
 * off; the price band and the volatility circuit breaker are disabled.
 *
 * Threads: a book is not thread-safe. Use each book from one thread at a time; distinct books
 * may be used concurrently from distinct threads.
 *
 * Return codes
 * ------------
 * Calls that can be refused return a negative code: -EXM_REJECT_* (the engine's stable reject
 * codes, see exm_reject_reason_name) or an EXM_ERROR_* value (a misuse of this interface).
 */
#ifndef EXCHANGE_MATCHING_H
#define EXCHANGE_MATCHING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Order side (also the aggressor side of a trade). */
#define EXM_SIDE_BUY 1
#define EXM_SIDE_SELL 2

/* Order type. A market order must have time in force IOC or FOK and price 0. */
#define EXM_TYPE_LIMIT 1
#define EXM_TYPE_MARKET 2

/* Time in force. GTD is not offered here (it needs an expiry time). */
#define EXM_TIF_GTC 1 /* good till cancelled: the unfilled rest stays in the book */
#define EXM_TIF_DAY 2 /* like GTC (this interface has no end-of-session call) */
#define EXM_TIF_IOC 3 /* immediate or cancel: the unfilled rest is cancelled */
#define EXM_TIF_FOK 4 /* fill or kill: fills completely at once, or not at all */

/* Reject codes, returned negated (-EXM_REJECT_...). Stable: they never change meaning. */
#define EXM_REJECT_UNKNOWN_SYMBOL 1
#define EXM_REJECT_INVALID_ORDER_ID 2
#define EXM_REJECT_DUPLICATE_ORDER_ID 3
#define EXM_REJECT_UNKNOWN_ORDER 4 /* cancel/modify of an order that is not in the book */
#define EXM_REJECT_NOT_ORDER_OWNER 5
#define EXM_REJECT_INVALID_QUANTITY 6 /* <= 0, or a modify below what already traded */
#define EXM_REJECT_QUANTITY_NOT_LOT_MULTIPLE 7
#define EXM_REJECT_QUANTITY_BELOW_MINIMUM 8
#define EXM_REJECT_QUANTITY_ABOVE_MAXIMUM 9 /* above 10^9 */
#define EXM_REJECT_INVALID_PRICE 10 /* limit: <= 0 or > 10^13; market: != 0 */
#define EXM_REJECT_PRICE_OFF_TICK 11
#define EXM_REJECT_PRICE_OUTSIDE_BAND 12
#define EXM_REJECT_INVALID_STOP_PRICE 13
#define EXM_REJECT_STOP_WOULD_TRIGGER_IMMEDIATELY 14
#define EXM_REJECT_INVALID_TIME_IN_FORCE 15 /* e.g. a market order with GTC */
#define EXM_REJECT_INVALID_EXPIRE_TIME 16
#define EXM_REJECT_INVALID_POST_ONLY 17
#define EXM_REJECT_POST_ONLY_WOULD_TRADE 18
#define EXM_REJECT_INVALID_DISPLAY_QUANTITY 19
#define EXM_REJECT_SYMBOL_HALTED 20
#define EXM_REJECT_SYMBOL_NOT_HALTED 21
#define EXM_REJECT_STALE_CLIENT_ORDER_ID 22
#define EXM_REJECT_INVALID_PARTICIPANT 23
#define EXM_REJECT_ORDER_NOT_REPLACEABLE 24
#define EXM_REJECT_INVALID_PRICE_BAND 25
#define EXM_REJECT_CAPACITY_EXCEEDED 26 /* the book holds 10^7 live orders */

/* Misuse of this interface (never produced by the engine). */
#define EXM_ERROR_INVALID_ARGUMENT (-1000) /* NULL book or out-param, unknown side/type/tif code */
#define EXM_ERROR_REENTRANT_CALL (-1001)   /* a changing call made from inside the trade callback */

/* An order book for one symbol. Opaque: create with exm_book_create, free with exm_book_destroy. */
typedef struct exm_book exm_book;

/*
 * Called once per trade, in execution order, before the call that caused the trades returns.
 *   user            the pointer given to exm_book_set_trade_callback
 *   trade_sequence  1 for the book's first trade, then 2, 3, ...
 *   price           the execution price: the resting order's price
 *   quantity        the executed quantity
 *   buy_order_id    order id of the buy order
 *   sell_order_id   order id of the sell order
 *   aggressor_side  EXM_SIDE_BUY or EXM_SIDE_SELL: the side of the incoming order
 * The callback may read the book (exm_best_bid, exm_best_ask, exm_depth, which already show the
 * state after the whole call); a call that changes the book returns EXM_ERROR_REENTRANT_CALL.
 */
typedef void (*exm_trade_callback)(
    void *user, int64_t trade_sequence, int64_t price, int64_t quantity, int64_t buy_order_id,
    int64_t sell_order_id, int64_t aggressor_side);

/*
 * Creates an empty book for one symbol.
 *   symbol           1 to 16 printable ASCII characters (0x21-0x7E), NUL-terminated
 *   tick_size        prices must be multiples of it; 1...10^12
 *   lot_size         quantities must be multiples of it; 1...10^12 (the minimum quantity is one lot)
 *   reference_price  the reference (e.g. previous close); positive, a multiple of tick_size,
 *                    at most 10^13. It matters only to features disabled here (price band,
 *                    circuit breaker), but it must be valid.
 * Returns the book, or NULL when an argument is out of range. Free it with exm_book_destroy.
 */
exm_book *exm_book_create(const char *symbol, int64_t tick_size, int64_t lot_size, int64_t reference_price);

/* Frees a book and everything in it. NULL is allowed and does nothing. The handle is invalid afterwards. */
void exm_book_destroy(exm_book *book);

/*
 * Registers the function called for every trade of this book, with `user` passed back to it
 * unchanged; NULL removes it. Replaces any previous callback. No callback is set initially.
 */
void exm_book_set_trade_callback(exm_book *book, exm_trade_callback callback, void *user);

/*
 * Enters a new order. It matches against the opposite side at once (trades are reported
 * through the trade callback before this returns); what remains of a GTC/DAY limit order rests
 * in the book, what remains of an IOC or FOK order, or of a market order, is cancelled.
 *   side           EXM_SIDE_BUY or EXM_SIDE_SELL
 *   type           EXM_TYPE_LIMIT or EXM_TYPE_MARKET
 *   time_in_force  EXM_TIF_GTC, EXM_TIF_DAY, EXM_TIF_IOC or EXM_TIF_FOK (market: IOC or FOK)
 *   price          limit price, a positive multiple of the tick size; 0 for a market order
 *   quantity       a positive multiple of the lot size
 *   timestamp_ns   log time of this call in nanoseconds, or 0: previous timestamp + 1
 * Returns the order id (> 0) when the order was accepted, whether it then traded, rested or
 * was cancelled; -EXM_REJECT_... when it was refused (nothing changed); EXM_ERROR_INVALID_ARGUMENT
 * for a NULL book or an unknown side, type or time-in-force code; EXM_ERROR_REENTRANT_CALL.
 */
int64_t exm_order_new(
    exm_book *book, int64_t side, int64_t type, int64_t time_in_force, int64_t price, int64_t quantity,
    int64_t timestamp_ns);

/*
 * Cancels the open quantity of a resting order.
 * Returns 0 when it was cancelled; -EXM_REJECT_UNKNOWN_ORDER when no order with that id rests in
 * the book (never accepted, filled, cancelled, or an IOC/FOK/market order); EXM_ERROR_*.
 */
int64_t exm_order_cancel(exm_book *book, int64_t order_id, int64_t timestamp_ns);

/*
 * Changes a resting order's price and total quantity (cancel/replace).
 *   new_price     the new limit price (a positive multiple of the tick size)
 *   new_quantity  the new TOTAL quantity, including what already traded (as FIX OrderQty);
 *                 it must exceed the traded quantity. The open quantity becomes
 *                 new_quantity - traded.
 * Same price and an open quantity that does not grow: the order keeps its place in the queue.
 * Otherwise it loses its place and re-enters like a new order at the new price (it may trade:
 * the trade callback runs before this returns) and rests at the back of its level.
 * Returns 0 when modified; -EXM_REJECT_... when refused (nothing changed); EXM_ERROR_*.
 */
int64_t exm_order_modify(exm_book *book, int64_t order_id, int64_t new_price, int64_t new_quantity,
                         int64_t timestamp_ns);

/*
 * The best bid: highest buy price and the total quantity resting there.
 * Returns 1 and writes *price and *quantity (either pointer may be NULL); returns 0 and writes 0
 * to both when there is no bid, or when book is NULL.
 */
int64_t exm_best_bid(const exm_book *book, int64_t *price, int64_t *quantity);

/* The best ask: lowest sell price and its total quantity. Same contract as exm_best_bid. */
int64_t exm_best_ask(const exm_book *book, int64_t *price, int64_t *quantity);

/*
 * Market depth (L2) of one side, best level first: bids from the highest price down, asks from
 * the lowest price up. Fills up to max_levels entries of the caller's arrays:
 *   prices[i]        the level's price
 *   quantities[i]    the total quantity resting at that price
 *   order_counts[i]  how many orders rest there (order_counts may be NULL)
 * Returns the number of levels written (0...max_levels; 0 for max_levels <= 0), or
 * EXM_ERROR_INVALID_ARGUMENT for a NULL book, prices or quantities, or an unknown side.
 */
int64_t exm_depth(const exm_book *book, int64_t side, int64_t max_levels, int64_t *prices,
                  int64_t *quantities, int64_t *order_counts);

/*
 * Name of a reject code (positive or negative), e.g. "invalidQuantity" for 6 or -6, or
 * "invalidArgument" / "reentrantCall" for the EXM_ERROR_* codes; "unknown" for anything else.
 * The string is static: never free it.
 */
const char *exm_reject_reason_name(int64_t code);

#ifdef __cplusplus
}
#endif

#endif /* EXCHANGE_MATCHING_H */
