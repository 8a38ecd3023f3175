/* Token bucket (see ratelimit.h). A request larger than the burst is admitted once the bucket is
 * full, so it waits but never deadlocks. */
#include "net/ratelimit.h"

#include <math.h>
#include <time.h>

#include "core/clock.h"

static uint64_t mono_clock(void *ctx)
{
    (void)ctx;
    return nb_mono_ms();
}

void nb_ratelimit_init(struct nb_ratelimit *r, double rate_per_s, double burst, nb_clock_ms_fn clock, void *ctx)
{
    pthread_mutex_init(&r->mu, NULL);
    r->rate = rate_per_s;
    r->burst = burst < 1 ? 1 : burst;
    r->tokens = r->burst;
    r->clock = clock ? clock : mono_clock;
    r->clock_ctx = ctx;
    r->last_ms = r->clock(ctx);
}

void nb_ratelimit_cleanup(struct nb_ratelimit *r) { pthread_mutex_destroy(&r->mu); }

uint64_t nb_ratelimit_try(struct nb_ratelimit *r, double n)
{
    if (r->rate <= 0) return 0;
    pthread_mutex_lock(&r->mu);
    uint64_t now = r->clock(r->clock_ctx);
    if (now > r->last_ms) {
        r->tokens += (double)(now - r->last_ms) * r->rate / 1000.0;
        if (r->tokens > r->burst) r->tokens = r->burst;
        r->last_ms = now;
    }
    double need = n > r->burst ? r->burst : n;
    uint64_t wait = 0;
    if (r->tokens >= need) {
        r->tokens -= n;   /* may go negative for n > burst: later callers wait it off */
    } else {
        wait = (uint64_t)ceil((need - r->tokens) * 1000.0 / r->rate);
        if (wait == 0) wait = 1;
    }
    pthread_mutex_unlock(&r->mu);
    return wait;
}

void nb_ratelimit_acquire(struct nb_ratelimit *r, double n)
{
    uint64_t w;
    while ((w = nb_ratelimit_try(r, n)) > 0) {
        struct timespec ts = {(time_t)(w / 1000), (long)(w % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}
