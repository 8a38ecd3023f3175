/* A circuit breaker per endpoint: after `threshold` consecutive failures it opens and refuses
 * requests for `cooldown_ms`; then one probe is let through (half-open): success closes it, failure
 * opens it again. Thread-safe. The clock is injectable so tests need not sleep. */
#ifndef NB_NET_BREAKER_H
#define NB_NET_BREAKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum nb_breaker_state { NB_BREAKER_CLOSED = 0, NB_BREAKER_OPEN, NB_BREAKER_HALF_OPEN };

typedef uint64_t (*nb_clock_ms_fn)(void *ctx);

struct nb_breaker {
    pthread_mutex_t mu;
    unsigned threshold;
    uint64_t cooldown_ms;
    nb_clock_ms_fn clock;
    void *clock_ctx;
    enum nb_breaker_state state;
    unsigned failures;       /* consecutive */
    uint64_t opened_at;
    bool probe_out;          /* half-open: the one probe is in flight */
    uint64_t times_opened;   /* for metrics and tests */
};

/* threshold 0 disables the breaker (always allows). clock NULL = monotonic time. */
void nb_breaker_init(struct nb_breaker *b, unsigned threshold, uint64_t cooldown_ms, nb_clock_ms_fn clock, void *ctx);
void nb_breaker_cleanup(struct nb_breaker *b);
/* May a request go now? false while open (and *wait_ms, if given, says how long is left). */
bool nb_breaker_allow(struct nb_breaker *b, uint64_t *wait_ms);
void nb_breaker_success(struct nb_breaker *b);
void nb_breaker_failure(struct nb_breaker *b);
enum nb_breaker_state nb_breaker_state(struct nb_breaker *b);

#endif
