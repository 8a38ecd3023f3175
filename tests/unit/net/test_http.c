/* The HTTP client against an in-process libmicrohttpd server that answers from a script: retries
 * of retryable statuses (bounded), Retry-After honoured, non-idempotent requests not resent, the
 * circuit breaker opening and recovering, connection failures, per-attempt signing hooks. Delays go
 * through the client's sleep hook, so nothing waits for real except the breaker's short cool-down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <microhttpd.h>

#include "net/http.h"

struct step {
    unsigned status;
    const char *retry_after;
};

static struct step script[16];
static size_t n_script, served;

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls; (void)url; (void)method; (void)version; (void)upload;
    static int marker;
    if (!*con_cls) { *con_cls = &marker; return MHD_YES; }
    if (*upload_size) { *upload_size = 0; return MHD_YES; }
    struct step s = served < n_script ? script[served] : script[n_script - 1];
    served++;
    const char *body = s.status == 200 ? "ok" : "<Error><Code>X</Code></Error>";
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (s.retry_after) MHD_add_response_header(r, "Retry-After", s.retry_after);
    MHD_add_response_header(r, "ETag", "\"abc\"");
    enum MHD_Result ret = MHD_queue_response(c, s.status, r);
    MHD_destroy_response(r);
    return ret;
}

static struct MHD_Daemon *daemon_;
static char url[128];
static uint64_t slept[32];
static size_t n_slept;
static unsigned prepared;
static bool real_sleep;

static void fake_sleep(void *ctx, uint64_t ms)
{
    (void)ctx;
    if (n_slept < 32) slept[n_slept++] = ms;
    if (real_sleep) {   /* the breaker's cool-down is real time */
        struct timespec ts = {0, (long)ms * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static nb_status prepare(void *ctx, const struct nb_http_request *req, struct nb_buf *h, struct nb_error *err)
{
    (void)ctx; (void)req; (void)err;
    prepared++;
    nb_buf_printf(h, "X-Attempt: %u\n", prepared);
    return NB_OK;
}

static int setup(void **state)
{
    (void)state;
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
                               MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
    if (!daemon_) return -1;
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/obj", (unsigned)i->port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(daemon_);
    return 0;
}

static void reset(const struct step *s, size_t n)
{
    memcpy(script, s, n * sizeof *s);
    n_script = n;
    served = 0;
    n_slept = 0;
    prepared = 0;
}

static struct nb_http_client *client_base(unsigned attempts, unsigned threshold, uint64_t cooldown, uint64_t base)
{
    struct nb_http_options o = {.retry = {attempts, base, 8 * base, 30000}, .breaker_threshold = threshold,
                                .breaker_cooldown_ms = cooldown, .sleep_fn = fake_sleep};
    struct nb_http_client *c = NULL;
    assert_int_equal(nb_http_client_create(&o, &c, NULL), NB_OK);
    return c;
}

static struct nb_http_client *client(unsigned attempts, unsigned threshold, uint64_t cooldown)
{
    return client_base(attempts, threshold, cooldown, 100);
}

static void test_retry_then_success(void **state)
{
    (void)state;
    struct step s[] = {{500, NULL}, {503, "2"}, {200, NULL}};
    reset(s, 3);
    struct nb_http_client *c = client(5, 100, 1000);
    struct nb_http_request req = {.method = "GET", .url = url, .idempotent = true, .prepare = prepare};
    struct nb_http_response r;
    nb_http_response_init(&r);
    assert_int_equal(nb_http_send(c, &req, &r, NULL), NB_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(prepared, 3);          /* signed afresh for every attempt */
    assert_string_equal(r.body.data, "ok");
    char etag[32];
    assert_true(nb_http_response_header(&r, "etag", etag, sizeof etag));
    assert_string_equal(etag, "\"abc\"");
    assert_int_equal(n_slept, 2);
    assert_true(slept[0] <= 100);           /* full jitter under the first cap */
    assert_int_equal(slept[1], 2000);       /* Retry-After: 2 */
    struct nb_http_stats st;
    nb_http_client_stats(c, &st);
    assert_int_equal(st.retries, 2);
    nb_http_response_cleanup(&r);
    nb_http_client_destroy(c);
}

static void test_bounded_and_non_idempotent(void **state)
{
    (void)state;
    struct step s[] = {{500, NULL}};
    reset(s, 1);
    struct nb_http_client *c = client(4, 100, 1000);
    struct nb_http_request req = {.method = "PUT", .url = url, .body = "x", .body_len = 1, .idempotent = true};
    struct nb_http_response r;
    nb_http_response_init(&r);
    assert_int_equal(nb_http_send(c, &req, &r, NULL), NB_OK);
    assert_int_equal(r.status, 500);        /* the last answer is returned for the caller to judge */
    assert_int_equal(r.attempts, 4);
    assert_int_equal(served, 4);
    /* A non-idempotent POST that reached the server is not resent on 500 ... */
    reset(s, 1);
    struct nb_http_request post = {.method = "POST", .url = url, .body = "x", .body_len = 1, .idempotent = false};
    assert_int_equal(nb_http_send(c, &post, &r, NULL), NB_OK);
    assert_int_equal(served, 1);
    /* ... but is on 503 (not processed). */
    struct step s2[] = {{503, NULL}, {200, NULL}};
    reset(s2, 2);
    assert_int_equal(nb_http_send(c, &post, &r, NULL), NB_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(served, 2);
    /* 4xx is final at once. */
    struct step s3[] = {{403, NULL}, {200, NULL}};
    reset(s3, 2);
    assert_int_equal(nb_http_send(c, &req, &r, NULL), NB_OK);
    assert_int_equal(r.status, 403);
    assert_int_equal(served, 1);
    nb_http_response_cleanup(&r);
    nb_http_client_destroy(c);
}

static void test_breaker_opens_and_recovers(void **state)
{
    (void)state;
    struct step s[] = {{500, NULL}, {500, NULL}, {500, NULL}, {200, NULL}};
    reset(s, 4);
    /* Backoffs of a few ms against a 300 ms cool-down: the attempt after the second failure
     * always finds the breaker open and waits it out. */
    real_sleep = true;
    struct nb_http_client *c = client_base(10, 2, 300, 1);
    struct nb_http_request req = {.method = "GET", .url = url, .idempotent = true};
    struct nb_http_response r;
    nb_http_response_init(&r);
    assert_int_equal(nb_http_send(c, &req, &r, NULL), NB_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(served, 4);
    struct nb_http_stats st;
    nb_http_client_stats(c, &st);
    assert_true(st.breaker_opened >= 1);
    assert_true(st.breaker_waits >= 1);
    real_sleep = false;
    nb_http_response_cleanup(&r);
    nb_http_client_destroy(c);
}

static void test_connection_refused(void **state)
{
    (void)state;
    struct nb_http_client *c = client(3, 100, 1000);
    reset((struct step[]){{200, NULL}}, 1);
    struct nb_http_request req = {.method = "GET", .url = "http://127.0.0.1:1/x?X-Amz-Signature=deadbeef", .idempotent = true};
    struct nb_http_response r;
    nb_http_response_init(&r);
    struct nb_error e;
    assert_int_equal(nb_http_send(c, &req, &r, &e), NB_ERR_NET);
    assert_true(e.retryable);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.attempts, 3);
    assert_non_null(strstr(e.message, "after 3 attempts"));
    assert_null(strstr(e.message, "deadbeef"));   /* signatures never in messages */
    nb_http_response_cleanup(&r);
    nb_http_client_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_then_success),
        cmocka_unit_test(test_bounded_and_non_idempotent),
        cmocka_unit_test(test_breaker_opens_and_recovers),
        cmocka_unit_test(test_connection_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
