/* Circuit breaker (see breaker.h): closed -> open after N consecutive failures -> half-open after
 * the cool-down (exactly one probe) -> closed on success, open again on failure. */
#include "net/breaker.h"

#include "core/clock.h"

static uint64_t mono_clock(void *ctx)
{
    (void)ctx;
    return nb_mono_ms();
}

void nb_breaker_init(struct nb_breaker *b, unsigned threshold, uint64_t cooldown_ms, nb_clock_ms_fn clock, void *ctx)
{
    pthread_mutex_init(&b->mu, NULL);
    b->threshold = threshold;
    b->cooldown_ms = cooldown_ms;
    b->clock = clock ? clock : mono_clock;
    b->clock_ctx = ctx;
    b->state = NB_BREAKER_CLOSED;
    b->failures = 0;
    b->opened_at = 0;
    b->probe_out = false;
    b->times_opened = 0;
}

void nb_breaker_cleanup(struct nb_breaker *b) { pthread_mutex_destroy(&b->mu); }

bool nb_breaker_allow(struct nb_breaker *b, uint64_t *wait_ms)
{
    if (b->threshold == 0) return true;
    bool ok = true;
    pthread_mutex_lock(&b->mu);
    if (b->state == NB_BREAKER_OPEN) {
        uint64_t now = b->clock(b->clock_ctx);
        if (now - b->opened_at >= b->cooldown_ms) {
            b->state = NB_BREAKER_HALF_OPEN;
            b->probe_out = true;
        } else {
            ok = false;
            if (wait_ms) *wait_ms = b->cooldown_ms - (now - b->opened_at);
        }
    } else if (b->state == NB_BREAKER_HALF_OPEN) {
        if (b->probe_out) {
            ok = false;
            if (wait_ms) *wait_ms = b->cooldown_ms / 10 + 1;
        } else {
            b->probe_out = true;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

void nb_breaker_success(struct nb_breaker *b)
{
    if (b->threshold == 0) return;
    pthread_mutex_lock(&b->mu);
    b->failures = 0;
    b->state = NB_BREAKER_CLOSED;
    b->probe_out = false;
    pthread_mutex_unlock(&b->mu);
}

void nb_breaker_failure(struct nb_breaker *b)
{
    if (b->threshold == 0) return;
    pthread_mutex_lock(&b->mu);
    b->failures++;
    if (b->state == NB_BREAKER_HALF_OPEN || (b->state == NB_BREAKER_CLOSED && b->failures >= b->threshold)) {
        b->state = NB_BREAKER_OPEN;
        b->opened_at = b->clock(b->clock_ctx);
        b->probe_out = false;
        b->times_opened++;
    }
    pthread_mutex_unlock(&b->mu);
}

enum nb_breaker_state nb_breaker_state(struct nb_breaker *b)
{
    pthread_mutex_lock(&b->mu);
    enum nb_breaker_state s = b->state;
    pthread_mutex_unlock(&b->mu);
    return s;
}
