/*
 * book_demo.c: builds a small order book through the C interface of the matching engine,
 * crosses it, and prints every trade and the resulting depth. The output is deterministic
 * (scripts/test compares it with expected_output.txt). Build: see README.md beside this file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "exchange_matching.h"

/* What the trade callback accumulates, passed through its `user` pointer. */
struct tape {
    int64_t trades;
    int64_t volume;
};

static const char *side_name(int64_t side) {
    return side == EXM_SIDE_BUY ? "buy" : side == EXM_SIDE_SELL ? "sell" : "none";
}

static void on_trade(void *user, int64_t trade_sequence, int64_t price, int64_t quantity, int64_t buy_order_id,
                     int64_t sell_order_id, int64_t aggressor_side) {
    struct tape *tape = user;
    tape->trades += 1;
    tape->volume += quantity;
    printf("  trade %" PRId64 ": %" PRId64 " @ %" PRId64 "  buy order %" PRId64 ", sell order %" PRId64
           ", aggressor %s\n",
           trade_sequence, quantity, price, buy_order_id, sell_order_id, side_name(aggressor_side));
}

static void print_result(int64_t result, const char *success) {
    if (result < 0) {
        printf("  = rejected: %s (%" PRId64 ")\n", exm_reject_reason_name(result), result);
    } else if (success != NULL) {
        printf("  = %s\n", success);
    } else {
        printf("  = order %" PRId64 "\n", result);
    }
}

static int64_t limit(exm_book *book, int64_t side, int64_t quantity, int64_t price) {
    printf("> %s %" PRId64 " @ %" PRId64 " limit GTC\n", side_name(side), quantity, price);
    int64_t result = exm_order_new(book, side, EXM_TYPE_LIMIT, EXM_TIF_GTC, price, quantity, 0);
    print_result(result, NULL);
    return result;
}

static void print_book(const exm_book *book) {
    enum { max_levels = 10 };
    int64_t prices[max_levels], quantities[max_levels], orders[max_levels];
    int64_t price = 0, quantity = 0;

    printf("book:\n");
    if (exm_best_bid(book, &price, &quantity)) {
        printf("  best bid %" PRId64 " x %" PRId64 "\n", price, quantity);
    } else {
        printf("  best bid none\n");
    }
    if (exm_best_ask(book, &price, &quantity)) {
        printf("  best ask %" PRId64 " x %" PRId64 "\n", price, quantity);
    } else {
        printf("  best ask none\n");
    }
    int64_t asks = exm_depth(book, EXM_SIDE_SELL, max_levels, prices, quantities, orders);
    for (int64_t i = asks - 1; i >= 0; i--) {
        printf("  ask %" PRId64 " x %" PRId64 " (orders: %" PRId64 ")\n", prices[i], quantities[i], orders[i]);
    }
    int64_t bids = exm_depth(book, EXM_SIDE_BUY, max_levels, prices, quantities, orders);
    for (int64_t i = 0; i < bids; i++) {
        printf("  bid %" PRId64 " x %" PRId64 " (orders: %" PRId64 ")\n", prices[i], quantities[i], orders[i]);
    }
}

int main(void) {
    /* Prices in cents with a 5-cent tick, quantities in round lots of 10. */
    exm_book *book = exm_book_create("DEMO", 5, 10, 10000);
    if (book == NULL) {
        fprintf(stderr, "exm_book_create failed\n");
        return EXIT_FAILURE;
    }
    if (exm_book_create("not a symbol", 5, 10, 10000) != NULL) {
        fprintf(stderr, "exm_book_create accepted an invalid symbol\n");
        return EXIT_FAILURE;
    }
    struct tape tape = {0, 0};
    exm_book_set_trade_callback(book, on_trade, &tape);

    printf("== resting orders\n");
    limit(book, EXM_SIDE_SELL, 100, 10010);
    limit(book, EXM_SIDE_SELL, 200, 10010);
    limit(book, EXM_SIDE_SELL, 300, 10025);
    int64_t bid_9990 = limit(book, EXM_SIDE_BUY, 150, 9990);
    int64_t bid_9985 = limit(book, EXM_SIDE_BUY, 250, 9985);
    print_book(book);

    printf("== rejected orders change nothing\n");
    limit(book, EXM_SIDE_BUY, 15, 10000);
    limit(book, EXM_SIDE_BUY, 10, 10002);
    printf("> buy 10 market GTC\n");
    print_result(exm_order_new(book, EXM_SIDE_BUY, EXM_TYPE_MARKET, EXM_TIF_GTC, 0, 10, 0), NULL);

    printf("== a buy crosses two ask levels\n");
    int64_t sweeper = limit(book, EXM_SIDE_BUY, 450, 10025);
    print_book(book);

    printf("== modify\n");
    printf("> modify order %" PRId64 " to 100 @ 9990 (same price, smaller: keeps its place)\n", bid_9990);
    print_result(exm_order_modify(book, bid_9990, 9990, 100, 0), "modified");
    printf("> modify order %" PRId64 " to 250 @ 10025 (crosses the ask)\n", bid_9985);
    print_result(exm_order_modify(book, bid_9985, 10025, 250, 0), "modified");
    print_book(book);

    printf("== a market sell takes the bids\n");
    printf("> sell 150 market IOC\n");
    print_result(exm_order_new(book, EXM_SIDE_SELL, EXM_TYPE_MARKET, EXM_TIF_IOC, 0, 150, 0), NULL);
    printf("> sell 60 @ 9995 limit FOK (no bid that high: killed, nothing trades)\n");
    print_result(exm_order_new(book, EXM_SIDE_SELL, EXM_TYPE_LIMIT, EXM_TIF_FOK, 9995, 60, 0), NULL);

    printf("== cancel\n");
    int64_t ask_10030 = limit(book, EXM_SIDE_SELL, 40, 10030);
    printf("> cancel order %" PRId64 "\n", ask_10030);
    print_result(exm_order_cancel(book, ask_10030, 0), "cancelled");
    printf("> cancel order %" PRId64 " (filled)\n", sweeper);
    print_result(exm_order_cancel(book, sweeper, 0), "cancelled");
    limit(book, EXM_SIDE_SELL, 70, 10040);
    print_book(book);

    printf("trades: %" PRId64 ", volume: %" PRId64 "\n", tape.trades, tape.volume);
    exm_book_destroy(book);
    return EXIT_SUCCESS;
}
