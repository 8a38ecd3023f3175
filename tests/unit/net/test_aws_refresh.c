/* Temporary AWS credentials refreshed before they expire: an in-process ECS credentials endpoint
 * hands out numbered keys with an Expiration, a fake clock moves time, and the provider must
 * refresh exactly when the margin is reached, once for many threads, keep valid keys when a
 * refresh fails, and fail clearly once they have expired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>
#include <microhttpd.h>

#include "net/aws_creds.h"

#define T0 1800000000   /* 2027-01-15T08:00:00Z */

static atomic_int calls;
static atomic_bool failing;
static int64_t fake_now;
static struct MHD_Daemon *d;
static char url[160];

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *u, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls; (void)u; (void)method; (void)version; (void)upload; (void)upload_size; (void)con_cls;
    int n = atomic_fetch_add(&calls, 1) + 1;
    char body[512];
    unsigned status = 200;
    if (atomic_load(&failing)) {
        status = 500;
        snprintf(body, sizeof body, "{\"Code\":\"InternalError\"}");
    } else {
        /* Each set of keys is valid for one hour from the fake "now" at issue time. */
        time_t exp = (time_t)(fake_now + 3600);
        struct tm tm;
        gmtime_r(&exp, &tm);
        char e[32];
        strftime(e, sizeof e, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(body, sizeof body,
                 "{\"AccessKeyId\":\"ASIA%d\",\"SecretAccessKey\":\"secret-%d\",\"Token\":\"TOKEN-%d\",\"Expiration\":\"%s\"}",
                 n, n, n, e);
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static int64_t clock_fn(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

static int setup(void **state)
{
    (void)state;
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, handler, NULL,
                         MHD_OPTION_END);
    if (!d) return -1;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/creds", (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
    const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN",
                          "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                          "AWS_CONTAINER_AUTHORIZATION_TOKEN"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) unsetenv(vars[i]);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(d);
    return 0;
}

static struct nb_aws_creds_provider *make(void)
{
    atomic_store(&calls, 0);
    atomic_store(&failing, false);
    fake_now = T0;
    struct nb_aws_creds_provider *p = NULL;
    char src[256];
    assert_int_equal(nb_aws_creds_provider_create(NULL, NULL, NULL, NULL, &p, src, sizeof src, NULL), NB_OK);
    nb_aws_creds_provider_set_clock(p, clock_fn, NULL, 300);
    assert_int_equal(nb_aws_creds_provider_expires(p), T0 + 3600);
    return p;
}

static void expect_key(struct nb_aws_creds_provider *p, const char *ak, const char *tok)
{
    struct nb_aws_creds c;
    assert_int_equal(nb_aws_creds_provider_get(p, &c, NULL), NB_OK);
    assert_string_equal(c.access_key_id, ak);
    assert_string_equal(c.session_token, tok);
    nb_aws_creds_cleanup(&c);
}

static void test_parse_expiration(void **state)
{
    (void)state;
    assert_int_equal(nb_aws_parse_expiration("2027-01-15T08:00:00Z"), T0);
    assert_int_equal(nb_aws_parse_expiration("2027-01-15T08:00:00.000Z"), T0);
    assert_int_equal(nb_aws_parse_expiration("soon"), 0);
    assert_int_equal(nb_aws_parse_expiration("2027-13-15T08:00:00Z"), 0);
    assert_int_equal(nb_aws_parse_expiration(NULL), 0);
}

static void test_refresh_before_expiry(void **state)
{
    (void)state;
    struct nb_aws_creds_provider *p = make();
    expect_key(p, "ASIA1", "TOKEN-1");
    fake_now = T0 + 3600 - 301;   /* just outside the margin: the cached keys are used */
    expect_key(p, "ASIA1", "TOKEN-1");
    assert_int_equal(atomic_load(&calls), 1);
    fake_now = T0 + 3600 - 300;   /* five minutes before expiry: refreshed */
    expect_key(p, "ASIA2", "TOKEN-2");
    assert_int_equal(atomic_load(&calls), 2);
    assert_int_equal(nb_aws_creds_provider_expires(p), fake_now + 3600);
    expect_key(p, "ASIA2", "TOKEN-2");
    assert_int_equal(nb_aws_creds_provider_refreshes(p), 1);
    nb_aws_creds_provider_destroy(p);
}

static void test_failed_refresh_keeps_valid_keys(void **state)
{
    (void)state;
    struct nb_aws_creds_provider *p = make();
    atomic_store(&failing, true);
    fake_now = T0 + 3600 - 60;    /* refresh due but the endpoint fails: the keys still work */
    expect_key(p, "ASIA1", "TOKEN-1");
    fake_now = T0 + 3600;         /* expired and still failing: a clear error */
    struct nb_aws_creds c;
    struct nb_error e = {0};
    assert_int_not_equal(nb_aws_creds_provider_get(p, &c, &e), NB_OK);
    assert_non_null(strstr(e.message, "expired and could not be refreshed"));
    assert_null(strstr(e.message, "secret-1"));
    atomic_store(&failing, false);
    int before = atomic_load(&calls);
    struct nb_aws_creds c2;
    assert_int_equal(nb_aws_creds_provider_get(p, &c2, NULL), NB_OK);
    assert_int_equal(atomic_load(&calls), before + 1);
    assert_non_null(strstr(c2.access_key_id, "ASIA"));
    nb_aws_creds_cleanup(&c2);
    nb_aws_creds_provider_destroy(p);
}

static void *worker(void *arg)
{
    struct nb_aws_creds_provider *p = arg;
    for (int i = 0; i < 50; i++) {
        struct nb_aws_creds c;
        if (nb_aws_creds_provider_get(p, &c, NULL) != NB_OK) return (void *)1;
        bool ok = strcmp(c.access_key_id, "ASIA2") == 0 && strcmp(c.secret_access_key, "secret-2") == 0;
        nb_aws_creds_cleanup(&c);
        if (!ok) return (void *)1;
    }
    return NULL;
}

/* Parallel part uploads ask at once when the keys are due: one refresh, everyone gets the new keys. */
static void test_one_refresh_for_many_threads(void **state)
{
    (void)state;
    struct nb_aws_creds_provider *p = make();
    fake_now = T0 + 3500;
    pthread_t th[8];
    for (int i = 0; i < 8; i++) assert_int_equal(pthread_create(&th[i], NULL, worker, p), 0);
    for (int i = 0; i < 8; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        assert_null(r);
    }
    assert_int_equal(atomic_load(&calls), 2);
    assert_int_equal(nb_aws_creds_provider_refreshes(p), 1);
    nb_aws_creds_provider_destroy(p);
}

/* Keys from the config (or environment, or a file) have no expiry and are never fetched again. */
static void test_static_keys_never_refresh(void **state)
{
    (void)state;
    struct nb_aws_creds_provider *p = NULL;
    char src[256];
    atomic_store(&calls, 0);
    assert_int_equal(nb_aws_creds_provider_create("AKIDSTATIC", "static-secret", NULL, NULL, &p, src, sizeof src, NULL), NB_OK);
    nb_aws_creds_provider_set_clock(p, clock_fn, NULL, 300);
    assert_int_equal(nb_aws_creds_provider_expires(p), 0);
    fake_now = T0 + 10 * 86400;
    struct nb_aws_creds c;
    assert_int_equal(nb_aws_creds_provider_get(p, &c, NULL), NB_OK);
    assert_string_equal(c.access_key_id, "AKIDSTATIC");
    assert_null(c.session_token);
    nb_aws_creds_cleanup(&c);
    assert_int_equal(atomic_load(&calls), 0);
    nb_aws_creds_provider_destroy(p);
}

/* credential_process in the config file (how SSO helpers hand out keys): its Expiration drives the
 * refresh like any temporary keys; a failing or malformed helper is a clear error without its output. */
static void test_credential_process(void **state)
{
    (void)state;
    char dir[] = "/tmp/nb-cp-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char script[256], config[256], counter[256], cmd[600];
    snprintf(script, sizeof script, "%s/helper.sh", dir);
    snprintf(config, sizeof config, "%s/config", dir);
    snprintf(counter, sizeof counter, "%s/n", dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fprintf(f, "n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s\n"
               "[ \"$1\" = bad ] && { echo '{\"Version\":1,\"SecretAccessKey\":\"leak-me\"}'; exit 0; }\n"
               "echo '{\"Version\":1,\"AccessKeyId\":\"ASIAP'$n'\",\"SecretAccessKey\":\"s'$n'\",\"SessionToken\":\"T'$n'\","
               "\"Expiration\":\"2027-01-15T09:00:00Z\"}'\n", counter, counter);
    fclose(f);
    f = fopen(config, "w");
    assert_non_null(f);
    fprintf(f, "[default]\nregion = eu-west-1\n\n[profile sso]\ncredential_process = sh %s\n\n"
               "[profile broken]\ncredential_process = sh %s bad\n[profile failing]\ncredential_process = false\n",
               script, script);
    fclose(f);
    setenv("AWS_CONFIG_FILE", config, 1);
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    fake_now = T0;
    struct nb_aws_creds_provider *p = NULL;
    char src[256];
    assert_int_equal(nb_aws_creds_provider_create(NULL, NULL, NULL, "sso", &p, src, sizeof src, NULL), NB_OK);
    assert_non_null(strstr(src, "credential_process"));
    nb_aws_creds_provider_set_clock(p, clock_fn, NULL, 300);
    assert_int_equal(nb_aws_creds_provider_expires(p), T0 + 3600);
    expect_key(p, "ASIAP1", "T1");
    fake_now = T0 + 3600 - 200;
    expect_key(p, "ASIAP2", "T2");
    nb_aws_creds_provider_destroy(p);
    struct nb_error e = {0};
    assert_int_equal(nb_aws_creds_provider_create(NULL, NULL, NULL, "broken", &p, src, sizeof src, &e), NB_ERR_AUTH);
    assert_non_null(strstr(e.message, "not {\"Version\": 1"));
    assert_null(strstr(e.message, "leak-me"));
    assert_int_equal(nb_aws_creds_provider_create(NULL, NULL, NULL, "failing", &p, src, sizeof src, &e), NB_ERR_AUTH);
    assert_non_null(strstr(e.message, "the command failed"));
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_expiration),
        cmocka_unit_test(test_refresh_before_expiry),
        cmocka_unit_test(test_failed_refresh_keeps_valid_keys),
        cmocka_unit_test(test_one_refresh_for_many_threads),
        cmocka_unit_test(test_static_keys_never_refresh),
        cmocka_unit_test(test_credential_process),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
