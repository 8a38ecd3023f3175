/* Unit tests of core/dynlib: a missing library and a missing entry point each give one clear error
 * naming them (and the package to install), a real library (libz.so.1) loads and its functions
 * work through the table, concurrent first calls load once, generated stubs of a library that
 * cannot be loaded return their failure values instead of crashing, and nb_dynlib_require's error
 * names its caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "core/dynlib.h"

static void assert_contains(const char *s, const char *want)
{
    if (!s || !strstr(s, want)) fail_msg("'%s' lacks '%s'", s ? s : "(null)", want);
}

struct zapi {
    const char *(*version)(void);
    unsigned long (*crc)(unsigned long crc, const unsigned char *buf, unsigned len);
};

static void missing_library_names_it_and_its_package(void **state)
{
    (void)state;
    static struct zapi api;
    static const struct nb_dynlib_sym syms[] = {{"zlibVersion", offsetof(struct zapi, version)}};
    static struct nb_dynlib lib = NB_DYNLIB_INIT("libnebula-no-such-lib.so.7", "nebula-test-pkg", syms, &api);
    assert_null(nb_dynlib_error(&lib));   /* not tried yet */
    assert_false(nb_dynlib_ready(&lib));
    const char *e = nb_dynlib_error(&lib);
    assert_contains(e, "cannot load libnebula-no-such-lib.so.7 (");
    assert_contains(e, "cannot open shared object file");   /* dlerror's reason is kept */
    assert_contains(e, "install the Debian package nebula-test-pkg");
    assert_null(api.version);
    /* A failure is final: the second call does not retry and says the same. */
    assert_false(nb_dynlib_ready(&lib));
    assert_string_equal(nb_dynlib_error(&lib), e);
}

static void missing_symbol_names_it(void **state)
{
    (void)state;
    static struct zapi api;
    static const struct nb_dynlib_sym syms[] = {
        {"zlibVersion", offsetof(struct zapi, version)},
        {"nb_no_such_entry_point", offsetof(struct zapi, crc)},
    };
    static struct nb_dynlib lib = NB_DYNLIB_INIT("libz.so.1", "zlib1g", syms, &api);
    assert_false(nb_dynlib_ready(&lib));
    const char *e = nb_dynlib_error(&lib);
    assert_contains(e, "libz.so.1");
    assert_contains(e, "no entry point nb_no_such_entry_point");
    assert_contains(e, "zlib1g");
}

static void real_library_loads_and_works(void **state)
{
    (void)state;
    static struct zapi api;
    static const struct nb_dynlib_sym syms[] = {
        {"zlibVersion", offsetof(struct zapi, version)},
        {"crc32", offsetof(struct zapi, crc)},
    };
    static struct nb_dynlib lib = NB_DYNLIB_INIT("libz.so.1", "zlib1g", syms, &api);
    assert_true(nb_dynlib_ready(&lib));
    assert_null(nb_dynlib_error(&lib));
    assert_non_null(api.version);
    assert_string_equal(api.version(), zlibVersion());
    assert_int_equal(api.crc(0, (const unsigned char *)"abc", 3), 0x352441c2UL);   /* CRC-32 of "abc" */
    assert_true(nb_dynlib_ready(&lib));
}

static struct zapi race_api;
static const struct nb_dynlib_sym race_syms[] = {{"crc32", offsetof(struct zapi, crc)}};
static struct nb_dynlib race_lib = NB_DYNLIB_INIT("libz.so.1", "zlib1g", race_syms, &race_api);

static void *race(void *arg)
{
    (void)arg;
    /* Every thread that sees "ready" must also see the filled table. */
    return nb_dynlib_ready(&race_lib) && race_api.crc ? (void *)1 : NULL;
}

static void concurrent_first_calls(void **state)
{
    (void)state;
    pthread_t t[8];
    for (int i = 0; i < 8; i++) assert_int_equal(pthread_create(&t[i], NULL, race, NULL), 0);
    for (int i = 0; i < 8; i++) {
        void *ok = NULL;
        pthread_join(t[i], &ok);
        assert_non_null(ok);
    }
}

/* Stubs generated for a library that is not installed: each returns its failure value. */
int nb_test_absent_int(int x);
const char *nb_test_absent_str(const char *s);
void nb_test_absent_void(int *p);
#define ABSENT_FUNCS(F, V)                                                       \
    F(int, nb_test_absent_int, (int x), (x), -7)                                 \
    F(const char *, nb_test_absent_str, (const char *s), (s), "not loaded")      \
    V(nb_test_absent_void, (int *p), (p))
NB_DYNLIB_DEFINE("libnebula-absent.so.1", "nebula-absent", ABSENT_FUNCS, NB_DYNLIB_NONE)

static void stubs_of_a_missing_library_fail_cleanly(void **state)
{
    (void)state;
    int v = 5;
    assert_int_equal(nb_test_absent_int(1), -7);
    assert_string_equal(nb_test_absent_str("x"), "not loaded");
    nb_test_absent_void(&v);
    assert_int_equal(v, 5);
    assert_contains(nb_dynlib_error(&nb_dynlib_this), "cannot load libnebula-absent.so.1");
    assert_contains(nb_dynlib_error(&nb_dynlib_this), "nebula-absent");
}

/* nb_dynlib_require: the caller's name first, then why and what to install; NB_OK when loadable. */
static void require_names_the_caller(void **state)
{
    (void)state;
    struct nb_error err = {0};
    assert_int_equal(nb_dynlib_require(&nb_dynlib_this, "absent-codec", &err), NB_ERR_UNSUPPORTED);
    assert_int_equal(err.code, NB_ERR_UNSUPPORTED);
    const char *head = "absent-codec: cannot load libnebula-absent.so.1 (";
    assert_true(strncmp(err.message, head, strlen(head)) == 0);
    assert_contains(err.message, "); install the Debian package nebula-absent");
    assert_int_equal(nb_dynlib_require(&nb_dynlib_this, "absent-codec", NULL), NB_ERR_UNSUPPORTED);

    static struct zapi api;
    static const struct nb_dynlib_sym syms[] = {{"crc32", offsetof(struct zapi, crc)}};
    static struct nb_dynlib lib = NB_DYNLIB_INIT("libz.so.1", "zlib1g", syms, &api);
    struct nb_error ok = {0};
    assert_int_equal(nb_dynlib_require(&lib, "zlib", &ok), NB_OK);
    assert_string_equal(ok.message, "");
    assert_non_null(api.crc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_library_names_it_and_its_package),
        cmocka_unit_test(missing_symbol_names_it),
        cmocka_unit_test(real_library_loads_and_works),
        cmocka_unit_test(concurrent_first_calls),
        cmocka_unit_test(stubs_of_a_missing_library_fail_cleanly),
        cmocka_unit_test(require_names_the_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
