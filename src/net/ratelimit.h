/* A token-bucket rate limiter any connector can use (requests/s or bytes/s): `rate` tokens per
 * second refill a bucket of `burst`. Thread-safe; the clock is injectable for tests. */
#ifndef NB_NET_RATELIMIT_H
#define NB_NET_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/breaker.h"

struct nb_ratelimit {
    pthread_mutex_t mu;
    double rate, burst, tokens;
    uint64_t last_ms;
    nb_clock_ms_fn clock;
    void *clock_ctx;
};

/* rate <= 0 disables limiting. burst < 1 is taken as 1. */
void nb_ratelimit_init(struct nb_ratelimit *r, double rate_per_s, double burst, nb_clock_ms_fn clock, void *ctx);
void nb_ratelimit_cleanup(struct nb_ratelimit *r);
/* Take n tokens if available now (returns 0), else take nothing and return the ms to wait. */
uint64_t nb_ratelimit_try(struct nb_ratelimit *r, double n);
/* Take n tokens, sleeping as needed (real time). */
void nb_ratelimit_acquire(struct nb_ratelimit *r, double n);

#endif
