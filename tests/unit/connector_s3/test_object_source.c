/* Incremental mode of the object-store sources (connectors/common/object_source.c) over a fake
 * store and a fake inner source: which objects are listed to the inner source given the saved
 * state (new, changed by version, unchanged), the object a stream stopped inside resumed first or
 * restarted when it changed, the loaded set carried in every batch's position, an empty increment,
 * and full_refresh dropping the batches of a stream an earlier run finished. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "connectors/common/object_source.h"
#include "core/config.h"

/* ---- the fake store: names and versions ---------------------------------------------------- */
static const char *names[3] = {"s3://b/a.csv", "s3://b/b.csv", "s3://b/c.csv"};
static const char *versions[3];

static nb_status store_list(void *ctx, const char *pattern, char ***out, uint64_t **sizes, size_t *count,
                            struct nb_error *err)
{
    (void)ctx; (void)pattern; (void)err;
    *out = calloc(3, sizeof **out);
    *sizes = calloc(3, sizeof **sizes);
    for (int i = 0; i < 3; i++) { (*out)[i] = strdup(names[i]); (*sizes)[i] = 100 + (uint64_t)i; }
    *count = 3;
    return NB_OK;
}

static nb_status store_open(void *ctx, const char *name, enum nb_codec codec, bool auto_codec, uint64_t offset,
                            struct nb_istream **out, struct nb_error *err)
{
    (void)ctx; (void)name; (void)codec; (void)auto_codec; (void)offset; (void)out;
    return nb_error_set(err, NB_ERR_INTERNAL, "not used");
}

static bool store_version(void *ctx, const char *name, char *out, size_t cap)
{
    (void)ctx;
    for (int i = 0; i < 3; i++)
        if (strcmp(names[i], name) == 0) { snprintf(out, cap, "%s", versions[i]); return true; }
    return false;
}

/* ---- the fake inner source: one batch per listed file --------------------------------------- */
struct inner {
    char **files;
    uint64_t *sizes;
    size_t n, next;
    char resumed_at[128];   /* the source_position it was handed, if any */
};
static char listed[256];    /* what the last inner source was given, "a.csv,c.csv" */

static nb_status inner_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    struct inner *s = calloc(1, sizeof *s);
    nb_status st = ctx->files->list(ctx->files->ctx, "*", &s->files, &s->sizes, &s->n, err);
    if (st != NB_OK) { free(s); return st; }
    listed[0] = '\0';
    for (size_t i = 0; i < s->n; i++) {
        if (i) strcat(listed, ",");
        strcat(listed, s->files[i] + 5);
    }
    const struct nb_stream_state *ss = nb_context_state(ctx, "users");
    if (ss && ss->source_position) snprintf(s->resumed_at, sizeof s->resumed_at, "%s", ss->source_position);
    *self = s;
    return NB_OK;
}

static nb_status inner_read(void *self, struct nb_batch **out, struct nb_error *err)
{
    (void)err;
    struct inner *s = self;
    if (s->next >= s->n) return NB_DONE;
    struct nb_batch *b = nb_batch_create(NULL, 0);
    char pos[256];
    snprintf(pos, sizeof pos, "{\"file\":\"%s\",\"offset\":%llu}", s->files[s->next], (unsigned long long)s->sizes[s->next]);
    b->stream = nb_arena_strdup(&b->arena, "users");
    b->position = nb_arena_strdup(&b->arena, pos);
    b->end_of_stream = ++s->next == s->n;
    *out = b;
    return NB_OK;
}

static nb_status inner_discover(void *self, struct nb_buf *json, struct nb_error *err)
{
    (void)self;
    nb_buf_puts(json, "{}");
    return nb_buf_status(json, err);
}

static void inner_close(void *self)
{
    struct inner *s = self;
    if (!s) return;
    nb_paths_free(s->files, s->n);
    free(s->sizes);
    free(s);
}

static const struct nb_config_key inner_spec[] = {
    {"path", NB_KEY_STRING, NULL, NULL, 0, "p"},
    {"stream", NB_KEY_STRING, NULL, NULL, 0, "s"},
    {"compression", NB_KEY_STRING, NULL, NULL, 0, "c"},
    {NULL},
};
static const struct nb_source_ops inner_ops = {
    .spec = inner_spec, .open = inner_open, .discover = inner_discover, .read = inner_read, .close = inner_close,
};

/* ---- helpers ---------------------------------------------------------------------------- */
static struct nb_cfg *config(const char *mode)
{
    char text[256];
    snprintf(text, sizeof text, "path: \"*.csv\"\nstream: users\nmode: %s\n", mode);
    struct nb_cfg *c = NULL;
    assert_int_equal(nb_cfg_load_string(text, strlen(text), "test", &c, NULL), NB_OK);
    return c;
}

/* Open over the given saved state and read everything; returns the last position (malloc'd) and
 * the number of batches in *n. */
static char *run(const char *mode, const struct nb_stream_state *state, size_t n_state, size_t *n, nb_status *open_st)
{
    struct nb_cfg *cfg = config(mode);
    struct nb_run_options opt = {.state_path = "st.json"};
    struct nb_context ctx = {.config = cfg, .options = &opt, .state = state, .n_state = n_state};
    struct nb_file_access fa = {NULL, store_list, store_open};
    struct nb_object_source_args args = {&inner_ops, &inner_ops, &fa, store_version, "s3"};
    struct nb_object_source o;
    memset(&o, 0, sizeof o);
    listed[0] = '\0';
    *open_st = nb_object_source_open(&o, &ctx, &args, NULL);
    char *last = NULL;
    *n = 0;
    if (*open_st == NB_OK) {
        struct nb_batch *b = NULL;
        while (nb_object_source_read(&o, &b, NULL) == NB_OK) {
            free(last);
            last = strdup(b->position);
            (*n)++;
            nb_batch_destroy(b);
        }
        nb_object_source_close(&o);
    }
    nb_cfg_destroy(cfg);
    return last;
}

static void set_versions(const char *a, const char *b, const char *c)
{
    versions[0] = a;
    versions[1] = b;
    versions[2] = c;
}

/* ---- tests -------------------------------------------------------------------------------- */
static void test_first_run_records_every_object(void **state)
{
    (void)state;
    set_versions("\"e1\"", "\"e2\"", "\"e3\"");
    size_t n;
    nb_status st;
    char *last = run("incremental", NULL, 0, &n, &st);
    assert_int_equal(st, NB_OK);
    assert_int_equal(n, 3);
    assert_string_equal(listed, "b/a.csv,b/b.csv,b/c.csv");
    /* The stream's end: every object is complete, none is "being read" (no "version"). */
    assert_string_equal(last, "{\"file\":\"s3://b/c.csv\",\"offset\":102,\"objects\":{"
                              "\"s3://b/a.csv\":\"\\\"e1\\\"\",\"s3://b/b.csv\":\"\\\"e2\\\"\",\"s3://b/c.csv\":\"\\\"e3\\\"\"}}");
    free(last);
}

static void test_only_new_or_changed(void **state)
{
    (void)state;
    /* a and b loaded by an earlier run; a changed since; c is new. */
    set_versions("a2", "b1", "c1");
    struct nb_stream_state st0 = {"users", "{\"file\":\"s3://b/b.csv\",\"offset\":101,\"objects\":{\"s3://b/a.csv\":\"a1\",\"s3://b/b.csv\":\"b1\"}}", NULL, true};
    size_t n;
    nb_status st;
    char *last = run("incremental", &st0, 1, &n, &st);
    assert_int_equal(st, NB_OK);
    assert_string_equal(listed, "b/a.csv,b/c.csv");
    assert_int_equal(n, 2);
    /* The loaded set keeps b and now has the new versions of a and c. */
    assert_non_null(strstr(last, "\"s3://b/a.csv\":\"a2\""));
    assert_non_null(strstr(last, "\"s3://b/b.csv\":\"b1\""));
    assert_non_null(strstr(last, "\"s3://b/c.csv\":\"c1\""));
    free(last);
}

static void test_nothing_new_reads_nothing(void **state)
{
    (void)state;
    set_versions("a1", "b1", "c1");
    struct nb_stream_state st0 = {"users", "{\"file\":\"s3://b/c.csv\",\"offset\":102,\"objects\":{\"s3://b/a.csv\":\"a1\",\"s3://b/b.csv\":\"b1\",\"s3://b/c.csv\":\"c1\"}}", NULL, true};
    size_t n;
    nb_status st;
    char *last = run("incremental", &st0, 1, &n, &st);
    assert_int_equal(st, NB_OK);
    assert_int_equal(n, 0);
    assert_null(last);
}

/* A run stopped inside b (a loaded): b resumes first (before a new object sorting earlier), at its
 * saved position; if b changed meanwhile, its position is dropped and it is read from the start. */
static void test_resume_inside_an_object(void **state)
{
    (void)state;
    set_versions("a1", "b1", "c1");
    struct nb_stream_state st0 = {"users", "{\"file\":\"s3://b/b.csv\",\"offset\":50,\"version\":\"b1\",\"objects\":{\"s3://b/c.csv\":\"c1\"}}", NULL, false};
    size_t n;
    nb_status st;
    char *last = run("incremental", &st0, 1, &n, &st);
    assert_int_equal(st, NB_OK);
    assert_string_equal(listed, "b/b.csv,b/a.csv");
    free(last);
    set_versions("a1", "b2", "c1");
    last = run("incremental", &st0, 1, &n, &st);
    assert_string_equal(listed, "b/a.csv,b/b.csv");
    free(last);
}

static void test_incremental_needs_a_stream_name(void **state)
{
    (void)state;
    const char *text = "path: \"*.csv\"\nmode: incremental\n";
    struct nb_cfg *cfg = NULL;
    assert_int_equal(nb_cfg_load_string(text, strlen(text), "test", &cfg, NULL), NB_OK);
    struct nb_context ctx = {.config = cfg};
    struct nb_file_access fa = {NULL, store_list, store_open};
    struct nb_object_source_args args = {&inner_ops, &inner_ops, &fa, store_version, "s3"};
    struct nb_object_source o;
    memset(&o, 0, sizeof o);
    struct nb_error e = {0};
    assert_int_equal(nb_object_source_open(&o, &ctx, &args, &e), NB_ERR_CONFIG);
    assert_non_null(strstr(e.message, "needs `stream`"));
    nb_cfg_destroy(cfg);
}

/* full_refresh: a finished stream's batches are dropped (a rerun leaves its output alone), and
 * positions are not rewritten. */
static void test_full_refresh_finished_stream(void **state)
{
    (void)state;
    set_versions("a1", "b1", "c1");
    struct nb_stream_state st0 = {"users", "{\"file\":\"s3://b/c.csv\",\"offset\":102}", NULL, true};
    size_t n;
    nb_status st;
    char *last = run("full_refresh", &st0, 1, &n, &st);
    assert_int_equal(st, NB_OK);
    assert_int_equal(n, 0);
    free(last);
    last = run("full_refresh", NULL, 0, &n, &st);
    assert_int_equal(n, 3);
    assert_string_equal(last, "{\"file\":\"s3://b/c.csv\",\"offset\":102}");
    free(last);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_run_records_every_object),
        cmocka_unit_test(test_only_new_or_changed),
        cmocka_unit_test(test_nothing_new_reads_nothing),
        cmocka_unit_test(test_resume_inside_an_object),
        cmocka_unit_test(test_incremental_needs_a_stream_name),
        cmocka_unit_test(test_full_refresh_finished_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
