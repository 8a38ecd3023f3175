/* Retry policy, circuit breaker and token bucket, driven by a fake clock (no sleeping). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/breaker.h"
#include "net/ratelimit.h"
#include "net/retry.h"

static uint64_t fake_now;
static uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static void test_classify(void **state)
{
    (void)state;
    long yes[] = {0, 408, 429, 500, 502, 503, 504, 599};
    long no[] = {200, 204, 301, 400, 401, 403, 404, 409, 412, 600};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) assert_int_equal(nb_retry_classify_http(yes[i]), NB_RETRY_YES);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) assert_int_equal(nb_retry_classify_http(no[i]), NB_RETRY_NO);
}

static void test_idempotency_rule(void **state)
{
    (void)state;
    struct nb_retry_policy p = {5, 100, 1000, 60000};
    assert_true(nb_retry_should(&p, 1, 500, true, true));
    assert_false(nb_retry_should(&p, 1, 500, false, true));   /* POST may have been applied */
    assert_true(nb_retry_should(&p, 1, 503, false, true));    /* 503: not processed */
    assert_true(nb_retry_should(&p, 1, 429, false, true));
    assert_true(nb_retry_should(&p, 1, 0, false, false));     /* never reached the server */
    assert_false(nb_retry_should(&p, 1, 0, false, true));
    assert_false(nb_retry_should(&p, 1, 403, true, true));
    assert_false(nb_retry_should(&p, 5, 500, true, true));    /* attempts exhausted */
}

static void test_backoff_full_jitter_bounds(void **state)
{
    (void)state;
    struct nb_retry_policy p = {10, 100, 1000, 60000};
    uint64_t rng = 42;
    uint64_t caps[] = {100, 200, 400, 800, 1000, 1000, 1000};
    for (unsigned a = 1; a <= 7; a++) {
        uint64_t maxseen = 0, minseen = UINT64_MAX;
        for (int i = 0; i < 2000; i++) {
            uint64_t d = nb_retry_backoff_ms(&p, a, &rng);
            assert_true(d <= caps[a - 1]);
            if (d > maxseen) maxseen = d;
            if (d < minseen) minseen = d;
        }
        /* Full jitter spreads over the whole range. */
        assert_true(maxseen > caps[a - 1] * 9 / 10);
        assert_true(minseen < caps[a - 1] / 10);
    }
    assert_int_equal(nb_retry_backoff_ms(&p, 0, &rng), 0);
}

static void test_retry_after(void **state)
{
    (void)state;
    uint64_t ms = 0;
    assert_true(nb_retry_after_parse("120", 0, &ms));
    assert_int_equal(ms, 120000);
    assert_true(nb_retry_after_parse(" 0 ", 0, &ms));
    assert_int_equal(ms, 0);
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
    assert_true(nb_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 5, &ms));
    assert_int_equal(ms, 5000);
    assert_true(nb_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 50, &ms));
    assert_int_equal(ms, 0);
    assert_false(nb_retry_after_parse("soon", 0, &ms));
    assert_false(nb_retry_after_parse("12abc", 0, &ms));
    assert_false(nb_retry_after_parse("", 0, &ms));
    assert_false(nb_retry_after_parse("99999999999999999999", 0, &ms));
    struct nb_retry_policy p = {5, 100, 1000, 30000};
    uint64_t rng = 1;
    assert_int_equal(nb_retry_delay_ms(&p, 1, "3", 0, &rng), 3000);
    assert_int_equal(nb_retry_delay_ms(&p, 1, "3600", 0, &rng), 30000);  /* clamped */
    assert_true(nb_retry_delay_ms(&p, 1, NULL, 0, &rng) <= 100);
}

static void test_breaker(void **state)
{
    (void)state;
    fake_now = 1000;
    struct nb_breaker b;
    nb_breaker_init(&b, 3, 500, fake_clock, NULL);
    assert_true(nb_breaker_allow(&b, NULL));
    nb_breaker_failure(&b);
    nb_breaker_failure(&b);
    nb_breaker_success(&b);           /* resets the consecutive count */
    nb_breaker_failure(&b);
    nb_breaker_failure(&b);
    assert_int_equal(nb_breaker_state(&b), NB_BREAKER_CLOSED);
    nb_breaker_failure(&b);
    assert_int_equal(nb_breaker_state(&b), NB_BREAKER_OPEN);
    uint64_t w = 0;
    assert_false(nb_breaker_allow(&b, &w));
    assert_int_equal(w, 500);
    fake_now += 499;
    assert_false(nb_breaker_allow(&b, &w));
    fake_now += 1;
    assert_true(nb_breaker_allow(&b, NULL));   /* the half-open probe */
    assert_int_equal(nb_breaker_state(&b), NB_BREAKER_HALF_OPEN);
    assert_false(nb_breaker_allow(&b, NULL));  /* only one probe */
    nb_breaker_failure(&b);                    /* probe failed: open again */
    assert_int_equal(nb_breaker_state(&b), NB_BREAKER_OPEN);
    fake_now += 500;
    assert_true(nb_breaker_allow(&b, NULL));
    nb_breaker_success(&b);                    /* probe succeeded: closed */
    assert_int_equal(nb_breaker_state(&b), NB_BREAKER_CLOSED);
    assert_true(nb_breaker_allow(&b, NULL));
    assert_int_equal(b.times_opened, 2);
    nb_breaker_cleanup(&b);

    nb_breaker_init(&b, 0, 500, fake_clock, NULL);   /* disabled */
    for (int i = 0; i < 100; i++) nb_breaker_failure(&b);
    assert_true(nb_breaker_allow(&b, NULL));
    nb_breaker_cleanup(&b);
}

static void test_ratelimit(void **state)
{
    (void)state;
    fake_now = 0;
    struct nb_ratelimit r;
    nb_ratelimit_init(&r, 10, 5, fake_clock, NULL);   /* 10/s, burst 5 */
    for (int i = 0; i < 5; i++) assert_int_equal(nb_ratelimit_try(&r, 1), 0);
    assert_int_equal(nb_ratelimit_try(&r, 1), 100);   /* 1 token takes 100 ms */
    fake_now = 50;
    assert_int_equal(nb_ratelimit_try(&r, 1), 50);
    fake_now = 100;
    assert_int_equal(nb_ratelimit_try(&r, 1), 0);
    fake_now = 10000;                                  /* refill is capped at the burst */
    for (int i = 0; i < 5; i++) assert_int_equal(nb_ratelimit_try(&r, 1), 0);
    assert_true(nb_ratelimit_try(&r, 1) > 0);
    /* Over the whole run, admitted tokens never exceed burst + rate * time. */
    fake_now = 20000;
    nb_ratelimit_cleanup(&r);
    nb_ratelimit_init(&r, 100, 10, fake_clock, NULL);
    unsigned admitted = 0;
    for (fake_now = 20000; fake_now < 21000; fake_now++)
        while (nb_ratelimit_try(&r, 1) == 0) admitted++;
    assert_true(admitted <= 10 + 100);
    assert_true(admitted >= 100);
    /* A request bigger than the burst is admitted when the bucket is full (no deadlock). */
    fake_now = 50000;
    assert_int_equal(nb_ratelimit_try(&r, 50), 0);
    assert_true(nb_ratelimit_try(&r, 1) > 0);
    nb_ratelimit_cleanup(&r);
    nb_ratelimit_init(&r, 0, 0, fake_clock, NULL);     /* disabled */
    assert_int_equal(nb_ratelimit_try(&r, 1e9), 0);
    nb_ratelimit_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),   cmocka_unit_test(test_idempotency_rule),
        cmocka_unit_test(test_backoff_full_jitter_bounds), cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_breaker),    cmocka_unit_test(test_ratelimit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
