/* The `avro` destination connector: config validated against its spec, the file destination with
 * the Avro format (one file per stream, final names only on success, nothing left on failure),
 * every file read back by libavro and avsc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "connectors/connector.h"
#include "core/config.h"
#include "format_avro/helper_avro.h"
#include "io/stream.h"

static const struct tcol cols[] = {
    {"id", {NB_TYPE_INT64, 0, 0, false}, false},
    {"email address", {NB_TYPE_STRING, 0, 0, false}, true},
    {"amount", {NB_TYPE_DECIMAL, 12, 2, false}, true},
    {"at", {NB_TYPE_TIMESTAMP, 0, 0, true}, true},
};
static const struct tcell rows_a[] = {
    {"1", 0, NULL}, {"a@example.com", 0, NULL}, {"10.5", 0, "10.50"}, {"2024-05-01T10:00:00Z", 0, "1714557600000000"},
    {"2", 0, NULL}, {NULL, 0, NULL}, {"-3", 0, "-3.00"}, {NULL, 0, NULL},
};
static const struct tcell rows_b[] = {
    {"3", 0, NULL}, {"c@example.com", 0, NULL}, {"0.01", 0, NULL}, {"1970-01-01T00:00:00.000001Z", 0, "1"},
};

/* Linked directly (the registry pulls in every connector; the CLI tests cover the registry line). */
extern const struct nb_connector_ops nb_connector_avro;

static const struct nb_connector_ops *avro_connector(void)
{
    const struct nb_connector_ops *c = &nb_connector_avro;
    assert_string_equal(c->name, "avro");
    assert_true(c->kinds & NB_DESTINATION);
    assert_null(c->source);
    assert_non_null(c->destination);
    assert_true(c->destination->typed);
    return c;
}

static nb_status load(const char *yaml, struct nb_cfg **cfg, struct nb_error *err)
{
    nb_status st = nb_cfg_load_string(yaml, strlen(yaml), "dest.yaml", cfg, err);
    if (st != NB_OK) return st;
    return nb_cfg_validate(*cfg, avro_connector()->destination->spec, "destination", err);
}

static void test_two_streams(void **state)
{
    (void)state;
    const struct nb_destination_ops *d = avro_connector()->destination;
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "path: %s/out/{stream}.avro\ncodec: deflate\ncompression_level: 9\nblock_size: 1KiB\n",
             h_tmpdir());
    struct nb_cfg *cfg = NULL;
    struct nb_error err = {0};
    if (load(yaml, &cfg, &err) != NB_OK) fail_msg("%s", err.message);
    struct nb_run_options ro = {.batch_size = 2};
    struct nb_context ctx = {.config = cfg, .options = &ro};
    void *self = NULL;
    if (d->open(&self, &ctx, &err) != NB_OK) fail_msg("open: %s", err.message);
    assert_int_equal(d->check(self, &err), NB_OK);

    struct nb_schema *s = h_schema(cols, 4);
    struct nb_batch *a1 = h_batch(s, rows_a, 2, "users"), *b1 = h_batch(s, rows_b, 1, "orders"),
                    *a2 = h_batch(s, rows_b, 1, "users");
    struct nb_batch *order[] = {a1, b1, a2};
    struct nb_buf enc, dstate;
    nb_buf_init(&enc);
    nb_buf_init(&dstate);
    for (size_t i = 0; i < 3; i++) {
        nb_status st = d->encode(self, order[i], &enc, &err);
        if (st != NB_OK && st != NB_DONE) fail_msg("encode: %s", err.message);
        if (d->write(self, order[i], st == NB_OK ? &enc : NULL, &err) != NB_OK) fail_msg("write: %s", err.message);
        nb_buf_reset(&dstate);
        nb_status c = d->commit(self, order[i]->stream, &dstate, &err);
        assert_true(c == NB_OK || c == NB_AGAIN);
    }
    /* Not finished yet: no file under its final name. */
    assert_int_not_equal(access(h_path("out/users.avro"), F_OK), 0);
    if (d->end_stream(self, "users", &err) != NB_OK) fail_msg("end users: %s", err.message);
    if (d->end_stream(self, "orders", &err) != NB_OK) fail_msg("end orders: %s", err.message);
    d->close(self, true, false);

    char codec[32], msg[256];
    long blocks, nrows;
    if (!h_walk(h_path("out/users.avro"), codec, sizeof codec, &blocks, &nrows, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    assert_string_equal(codec, "deflate");
    assert_int_equal(nrows, 3);
    struct nb_buf exp, got;
    nb_buf_init(&exp);
    nb_buf_init(&got);
    h_expect_ndjson(&exp, cols, 4, rows_a, 2);
    h_expect_ndjson(&exp, cols, 4, rows_b, 1);
    assert_int_equal(h_read_libavro(h_path("out/users.avro"), cols, 4, &got, msg, sizeof msg), 3);
    assert_string_equal(got.data, exp.data);
    assert_int_not_equal(h_node_check(h_path("out/users.avro"), &exp), 1);
    nb_buf_reset(&exp);
    nb_buf_reset(&got);
    h_expect_ndjson(&exp, cols, 4, rows_b, 1);
    assert_int_equal(h_read_libavro(h_path("out/orders.avro"), cols, 4, &got, msg, sizeof msg), 1);
    assert_string_equal(got.data, exp.data);
    assert_int_not_equal(h_node_check(h_path("out/orders.avro"), &exp), 1);
    assert_int_not_equal(h_node_flush(), 1);
    nb_buf_cleanup(&exp);
    nb_buf_cleanup(&got);
    nb_buf_cleanup(&enc);
    nb_buf_cleanup(&dstate);
    nb_batch_destroy(a1);
    nb_batch_destroy(a2);
    nb_batch_destroy(b1);
    nb_schema_release(s);
    nb_cfg_destroy(cfg);
}

/* A failed run leaves neither a final file nor a partial one; a bad value names its column. */
static void test_failure_leaves_nothing(void **state)
{
    (void)state;
    const struct nb_destination_ops *d = avro_connector()->destination;
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "path: %s/fail.avro\n", h_tmpdir());
    struct nb_cfg *cfg = NULL;
    struct nb_error err = {0};
    if (load(yaml, &cfg, &err) != NB_OK) fail_msg("%s", err.message);
    struct nb_run_options ro = {0};
    struct nb_context ctx = {.config = cfg, .options = &ro};
    void *self = NULL;
    if (d->open(&self, &ctx, &err) != NB_OK) fail_msg("open: %s", err.message);
    struct nb_schema *s = h_schema(cols, 4);
    const struct tcell bad[] = {{"1", 0, NULL}, {"x", 0, NULL}, {"12.345", 0, NULL}, {NULL, 0, NULL}};
    struct nb_batch *good = h_batch(s, rows_a, 2, "t"), *b = h_batch(s, bad, 1, "t");
    assert_int_equal(d->write(self, good, NULL, &err), NB_OK);
    assert_int_equal(d->write(self, b, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "'amount'"));
    assert_non_null(strstr(err.message, "12.345"));
    d->close(self, false, false);
    assert_int_not_equal(access(h_path("fail.avro"), F_OK), 0);
    char partial[800];
    nb_partial_path(h_path("fail.avro"), partial, sizeof partial);
    assert_int_not_equal(access(partial, F_OK), 0);
    nb_batch_destroy(good);
    nb_batch_destroy(b);
    nb_schema_release(s);
    nb_cfg_destroy(cfg);
}

static void test_config_errors(void **state)
{
    (void)state;
    const struct nb_destination_ops *d = avro_connector()->destination;
    struct nb_cfg *cfg = NULL;
    struct nb_error err = {0};
    /* Whole-file compression would make the file unreadable as Avro: not a key here. */
    assert_int_not_equal(load("path: x.avro\ncompression: gzip\n", &cfg, &err), NB_OK);
    assert_non_null(strstr(err.message, "compression"));
    nb_cfg_destroy(cfg);
    cfg = NULL;
    assert_int_not_equal(load("path: x.avro\ncodec: lz4\n", &cfg, &err), NB_OK);
    nb_cfg_destroy(cfg);
    cfg = NULL;
    assert_int_not_equal(load("codec: snappy\n", &cfg, &err), NB_OK); /* path is required */
    nb_cfg_destroy(cfg);
    cfg = NULL;
    /* Past validation, the format still refuses an impossible block size. */
    assert_int_equal(load("path: x.avro\nblock_size: 1GiB\n", &cfg, &err), NB_OK);
    struct nb_run_options ro = {0};
    struct nb_context ctx = {.config = cfg, .options = &ro};
    void *self = NULL;
    assert_int_equal(d->open(&self, &ctx, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "block_size"));
    assert_non_null(strstr(err.message, "dest.yaml:2:")); /* names the place */
    nb_cfg_destroy(cfg);
}

static int teardown(void **state)
{
    (void)state;
    h_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_streams),
        cmocka_unit_test(test_failure_leaves_nothing),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
