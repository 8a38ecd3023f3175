/* Unit tests of the json connector: the source over real files (globs, array + NDJSON in one
 * stream, compression, discover, bad records, resume from a saved position) and the destination
 * through the shared file destination (layout by extension, checkpoint + resume), plus a round
 * trip that keeps every value's text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/batch.h"
#include "connectors/connector.h"
#include "core/config.h"
#include "core/json.h"
#include "io/stream.h"

extern const struct nb_connector_ops nb_connector_json;

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/nb_json_conn_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(nb_write_file_atomic(path, text, strlen(text), NULL), NB_OK);
}

static char *get_file(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *data = NULL;
    size_t len;
    if (nb_read_file(path, &data, &len, NULL) != NB_OK) return NULL;
    return data;
}

/* A config section from YAML, validated against the spec (so defaults are filled in). */
__attribute__((format(printf, 2, 3))) static struct nb_cfg *section(const struct nb_config_key *spec, const char *yaml_fmt, ...)
{
    char yaml[2048];
    va_list ap;
    va_start(ap, yaml_fmt);
    vsnprintf(yaml, sizeof yaml, yaml_fmt, ap);
    va_end(ap);
    struct nb_cfg *cfg = NULL;
    struct nb_error err = {0};
    if (nb_cfg_load_string(yaml, strlen(yaml), "test.yaml", &cfg, &err) != NB_OK) fail_msg("%s", err.message);
    if (nb_cfg_validate(cfg, spec, "source", &err) != NB_OK) fail_msg("%s", err.message);
    return cfg;
}

struct sink {
    struct nb_bad_record_sink base;
    int count;
    char where[256];
};

static nb_status sink_report(struct nb_bad_record_sink *s, const struct nb_bad_record *rec, struct nb_error *err)
{
    struct sink *k = (struct sink *)s;
    if (k->count++ == 0) snprintf(k->where, sizeof k->where, "%s: %s", rec->location, rec->reason);
    return NB_OK;
}

struct run {
    struct nb_run_options opts;
    struct nb_context ctx;
    struct nb_stream_state state;
    struct sink sink;
};

static void run_init(struct run *r, struct nb_cfg *cfg, size_t batch_size)
{
    memset(r, 0, sizeof *r);
    r->opts.batch_size = batch_size;
    r->opts.on_new_column = NB_NEW_COLUMN_ADD;
    r->sink.base.report = sink_report;
    r->ctx.config = cfg;
    r->ctx.options = &r->opts;
    r->ctx.bad = &r->sink.base;
}

/* Reads everything: rows as "a|b" lines (first two columns), positions of each batch. */
static nb_status read_all(const struct nb_context *ctx, char *rows, size_t cap, char positions[][256], int *n_batches,
                          struct nb_error *err)
{
    const struct nb_source_ops *so = nb_connector_json.source;
    void *src = NULL;
    nb_status st = so->open(&src, ctx, err);
    if (st != NB_OK) return st;
    rows[0] = '\0';
    int nb = 0, eos = 0;
    for (;;) {
        struct nb_batch *b = NULL;
        st = so->read(src, &b, err);
        if (st == NB_DONE) { st = NB_OK; break; }
        if (st != NB_OK) break;
        assert_string_equal(b->stream, "events");
        if (positions) snprintf(positions[nb], 256, "%s", b->position);
        nb++;
        eos += b->end_of_stream;
        for (size_t i = 0; i < b->n_rows; i++) {
            size_t o = strlen(rows);
            for (size_t c = 0; c < b->schema->n_fields && c < 2; c++) {
                if (c) rows[o++] = '|';
                if (nb_column_is_null(&b->cols[c], i)) rows[o++] = '~';
                else {
                    size_t n;
                    const char *t = nb_column_text(&b->cols[c], i, &n);
                    memcpy(rows + o, t, n);
                    o += n;
                }
            }
            rows[o++] = '\n';
            rows[o] = '\0';
            assert_true(o < cap);
        }
        nb_batch_destroy(b);
    }
    so->close(src);
    if (st == NB_OK) assert_int_equal(eos, 1);   /* exactly one end-of-stream batch, the last */
    *n_batches = nb;
    return st;
}

static void test_source_files(void **state)
{
    put_file("events-1.ndjson", "{\"id\":1,\"v\":\"a\"}\n{\"id\":2,\"v\":\"b\"}\n{\"id\":3,\"v\":\"c\"}\n");
    put_file("events-2.json", "[{\"id\":4,\"v\":\"d\"},{\"v\":\"e\",\"id\":5,\"extra\":true}]");
    put_file("events-3.json", "[]");
    put_file("other.txt", "not json");
    struct nb_cfg *cfg = section(nb_connector_json.source->spec, "path: %s/events-*.*json\nstream: events\n", dir);
    struct run r;
    run_init(&r, cfg, 2);
    char rows[4096];
    char pos[16][256];
    int nb = 0;
    struct nb_error err = {0};
    assert_int_equal(read_all(&r.ctx, rows, sizeof rows, pos, &nb, &err), NB_OK);
    assert_string_equal(rows, "1|a\n2|b\n3|c\n4|d\n5|e\n");
    char expect[512];
    snprintf(expect, sizeof expect, "{\"file\":\"%s/events-1.ndjson\",\"offset\":34,\"line\":3,\"row\":2}", dir);
    assert_string_equal(pos[0], expect);

    /* discover: one stream, its files and schema. */
    void *src;
    assert_int_equal(nb_connector_json.source->open(&src, &r.ctx, &err), NB_OK);
    struct nb_buf j;
    nb_buf_init(&j);
    assert_int_equal(nb_connector_json.source->discover(src, &j, &err), NB_OK);
    assert_non_null(strstr(j.data, "{\"streams\":[{\"name\":\"events\",\"files\":["));
    assert_non_null(strstr(j.data, "\"name\":\"id\",\"type\":\"int64\""));
    assert_null(strstr(j.data, "other.txt"));
    assert_int_equal(nb_connector_json.source->check(src, &err), NB_OK);
    uint64_t done, total;
    assert_true(nb_connector_json.source->progress(src, &done, &total));
    assert_true(total > 0);
    nb_buf_cleanup(&j);
    nb_connector_json.source->close(src);
    nb_cfg_destroy(cfg);

    /* Default stream name: the first file's base name. */
    cfg = section(nb_connector_json.source->spec, "path: %s/events-1.ndjson\n", dir);
    run_init(&r, cfg, 10);
    assert_int_equal(nb_connector_json.source->open(&src, &r.ctx, &err), NB_OK);
    nb_buf_init(&j);
    assert_int_equal(nb_connector_json.source->discover(src, &j, &err), NB_OK);
    assert_non_null(strstr(j.data, "\"name\":\"events-1\""));
    nb_buf_cleanup(&j);
    nb_connector_json.source->close(src);
    nb_cfg_destroy(cfg);

    /* No match: an error naming the pattern. */
    cfg = section(nb_connector_json.source->spec, "path: %s/nothing-*.json\n", dir);
    run_init(&r, cfg, 10);
    assert_int_equal(nb_connector_json.source->open(&src, &r.ctx, &err), NB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "nothing-*.json"));
    nb_cfg_destroy(cfg);
}

static void test_source_resume(void **state)
{
    put_file("events-1.ndjson", "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n");
    put_file("events-2.json", "[\n{\"id\":4},\n{\"id\":5},\n{\"id\":6}\n]\n");
    struct nb_cfg *cfg = section(nb_connector_json.source->spec, "path: %s/events-*\nstream: events\n", dir);
    struct run r;
    run_init(&r, cfg, 2);
    char rows[1024], pos[16][256];
    int nb;
    struct nb_error err = {0};
    assert_int_equal(read_all(&r.ctx, rows, sizeof rows, pos, &nb, &err), NB_OK);
    assert_string_equal(rows, "1\n2\n3\n4\n5\n6\n");
    /* Resume at every batch position: the rest comes out exactly once. */
    const char *rest_after[] = {"3\n4\n5\n6\n", "4\n5\n6\n", "6\n", ""};
    assert_true(nb >= 4);
    for (int i = 0; i < 4; i++) {
        char expect_rows[64];
        snprintf(expect_rows, sizeof expect_rows, "%s", rest_after[i]);
        struct run r2;
        run_init(&r2, cfg, 2);
        r2.state.stream = "events";
        r2.state.source_position = pos[i];
        r2.ctx.state = &r2.state;
        r2.ctx.n_state = 1;
        char rows2[1024];
        int nb2;
        assert_int_equal(read_all(&r2.ctx, rows2, sizeof rows2, NULL, &nb2, &err), NB_OK);
        if (strcmp(rows2, expect_rows) != 0) fail_msg("resume at %s: got '%s'", pos[i], rows2);
    }
    /* A position in a file the glob no longer matches is a configuration error. */
    struct run r3;
    run_init(&r3, cfg, 2);
    r3.state.stream = "events";
    r3.state.source_position = "{\"file\":\"/gone.json\",\"offset\":5,\"line\":1,\"row\":1}";
    r3.ctx.state = &r3.state;
    r3.ctx.n_state = 1;
    void *src;
    assert_int_equal(nb_connector_json.source->open(&src, &r3.ctx, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "/gone.json"));
    nb_cfg_destroy(cfg);
}

static void test_source_compressed_and_bad(void **state)
{
    char path[512];
    snprintf(path, sizeof path, "%s/events.ndjson.gz", dir);
    struct nb_ostream *os;
    assert_int_equal(nb_output_open(path, NB_CODEC_GZIP, 0, 0, &os, NULL), NB_OK);
    const char *text = "{\"id\":1,\"v\":\"x\"}\n{\"id\":2,\"v\":\"\xff\"}\n{\"id\":3,\"v\":\"z\"}\n";
    assert_int_equal(nb_ostream_write(os, text, strlen(text), NULL), NB_OK);
    assert_int_equal(os->ops->finish(os, NULL), NB_OK);
    nb_ostream_destroy(os);
    struct nb_cfg *cfg = section(nb_connector_json.source->spec, "path: %s\nstream: events\n", path);
    struct run r;
    run_init(&r, cfg, 100);
    char rows[1024];
    int nb;
    struct nb_error err = {0};
    assert_int_equal(read_all(&r.ctx, rows, sizeof rows, NULL, &nb, &err), NB_OK);
    assert_string_equal(rows, "1|x\n3|z\n");
    assert_int_equal(r.sink.count, 1);
    char expect[600];
    snprintf(expect, sizeof expect, "%s:2:14: invalid JSON: invalid UTF-8 in string", path);
    assert_string_equal(r.sink.where, expect);
    /* Policy fail (no sink): the error names the place. */
    r.ctx.bad = NULL;
    assert_int_equal(read_all(&r.ctx, rows, sizeof rows, NULL, &nb, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, expect));
    nb_cfg_destroy(cfg);
}

/* Source -> destination: every value keeps its text; layout by extension; commit + resume. */
static void test_round_trip_and_dest_resume(void **state)
{
    put_file("in.ndjson",
             "{\"id\":1,\"price\":291.07,\"big\":12345678901234567890,\"ok\":true,\"t\":\"2024-01-01T00:00:00Z\",\"n\":{\"a\":[1,2]}}\n"
             "{\"id\":2,\"price\":1e3,\"big\":1,\"ok\":false,\"t\":\"2024-01-02T00:00:00Z\",\"n\":null,\"s\":\"caf\xc3\xa9\\n\"}\n");
    struct nb_cfg *scfg = section(nb_connector_json.source->spec, "path: %s/in.ndjson\nstream: events\n", dir);
    struct nb_cfg *dcfg = section(nb_connector_json.destination->spec, "path: %s/out/{stream}.json\n", dir);
    struct run rs, rd;
    run_init(&rs, scfg, 1);
    run_init(&rd, dcfg, 1);
    const struct nb_source_ops *so = nb_connector_json.source;
    const struct nb_destination_ops *dop = nb_connector_json.destination;
    assert_false(dop->typed);
    void *src, *dst;
    struct nb_error err = {0};
    assert_int_equal(so->open(&src, &rs.ctx, &err), NB_OK);
    assert_int_equal(dop->open(&dst, &rd.ctx, &err), NB_OK);
    struct nb_buf dstate;
    nb_buf_init(&dstate);
    int batches = 0;
    for (;;) {
        struct nb_batch *b;
        nb_status st = so->read(src, &b, &err);
        if (st == NB_DONE) break;
        assert_int_equal(st, NB_OK);
        struct nb_buf enc;
        nb_buf_init(&enc);
        assert_int_equal(dop->encode(dst, b, &enc, &err), NB_OK);
        assert_int_equal(dop->write(dst, b, &enc, &err), NB_OK);
        nb_buf_cleanup(&enc);
        if (batches++ == 0) {
            nb_buf_reset(&dstate);
            assert_int_equal(dop->commit(dst, "events", &dstate, &err), NB_OK);
        }
        nb_batch_destroy(b);
    }
    assert_int_equal(dop->end_stream(dst, "events", &err), NB_OK);
    dop->close(dst, true, false);
    so->close(src);
    char *out = get_file("out/events.json");
    assert_non_null(out);
    assert_string_equal(out,
                        "[\n{\"id\":1,\"price\":291.07,\"big\":\"12345678901234567890\",\"ok\":true,\"t\":\"2024-01-01T00:00:00Z\","
                        "\"n\":{\"a\":[1,2]},\"s\":null},\n"
                        "{\"id\":2,\"price\":1e3,\"big\":1,\"ok\":false,\"t\":\"2024-01-02T00:00:00Z\",\"n\":null,\"s\":\"caf\xc3\xa9\\n\"}\n]\n");
    free(out);

    /* Resume from the state committed after the first batch: a second run writes only row 2 and
     * the file is whole. The first run is simulated as crashed after its commit. */
    assert_non_null(strstr(dstate.data, "\"rows\":1"));
    struct nb_cfg *dcfg2 = section(nb_connector_json.destination->spec, "path: %s/out2/{stream}.json\n", dir);
    run_init(&rd, dcfg2, 1);
    assert_int_equal(dop->open(&dst, &rd.ctx, &err), NB_OK);
    run_init(&rs, scfg, 1);
    assert_int_equal(so->open(&src, &rs.ctx, &err), NB_OK);
    struct nb_batch *b1;
    assert_int_equal(so->read(src, &b1, &err), NB_OK);
    assert_int_equal(dop->write(dst, b1, NULL, &err), NB_OK);
    struct nb_buf st2;
    nb_buf_init(&st2);
    assert_int_equal(dop->commit(dst, "events", &st2, &err), NB_OK);
    char saved_pos[256];
    snprintf(saved_pos, sizeof saved_pos, "%s", b1->position);
    nb_batch_destroy(b1);
    dop->close(dst, false, true);   /* interrupted: keep the partial file */
    so->close(src);

    struct run rs2, rd2;
    run_init(&rs2, scfg, 1);
    run_init(&rd2, dcfg2, 1);
    struct nb_stream_state ss = {"events", saved_pos, st2.data};
    rs2.ctx.state = rd2.ctx.state = &ss;
    rs2.ctx.n_state = rd2.ctx.n_state = 1;
    assert_int_equal(so->open(&src, &rs2.ctx, &err), NB_OK);
    assert_int_equal(dop->open(&dst, &rd2.ctx, &err), NB_OK);
    for (;;) {
        struct nb_batch *b;
        nb_status st = so->read(src, &b, &err);
        if (st == NB_DONE) break;
        assert_int_equal(st, NB_OK);
        assert_int_equal(dop->write(dst, b, NULL, &err), NB_OK);
        nb_batch_destroy(b);
    }
    assert_int_equal(dop->end_stream(dst, "events", &err), NB_OK);
    dop->close(dst, true, false);
    so->close(src);
    out = get_file("out2/events.json");
    assert_non_null(out);
    struct nb_arena a;
    nb_arena_init(&a, 4096);
    struct nb_json *v;
    if (nb_json_parse(out, strlen(out), &a, &v, &err) != NB_OK) fail_msg("%s\n%s", err.message, out);
    assert_int_equal(v->kind, NB_JSON_ARRAY);
    assert_int_equal(v->u.array.count, 2);
    int64_t id;
    assert_true(nb_json_get_i64(v->u.array.items[1], "id", &id));
    assert_int_equal(id, 2);
    nb_arena_cleanup(&a);
    free(out);
    nb_buf_cleanup(&dstate);
    nb_buf_cleanup(&st2);
    nb_cfg_destroy(scfg);
    nb_cfg_destroy(dcfg);
    nb_cfg_destroy(dcfg2);
}

static void test_dest_lines_and_spec(void **state)
{
    put_file("src.json", "[{\"a\":1},{\"a\":2}]");
    struct nb_cfg *scfg = section(nb_connector_json.source->spec, "path: %s/src.json\nstream: events\n", dir);
    struct nb_cfg *dcfg = section(nb_connector_json.destination->spec, "path: %s/o/{stream}.ndjson\n", dir);
    struct run rs, rd;
    run_init(&rs, scfg, 10);
    run_init(&rd, dcfg, 10);
    void *src, *dst;
    struct nb_error err = {0};
    assert_int_equal(nb_connector_json.source->open(&src, &rs.ctx, &err), NB_OK);
    assert_int_equal(nb_connector_json.destination->open(&dst, &rd.ctx, &err), NB_OK);
    struct nb_batch *b;
    while (nb_connector_json.source->read(src, &b, &err) == NB_OK) {
        assert_int_equal(nb_connector_json.destination->write(dst, b, NULL, &err), NB_OK);
        nb_batch_destroy(b);
    }
    assert_int_equal(nb_connector_json.destination->end_stream(dst, "events", &err), NB_OK);
    nb_connector_json.destination->close(dst, true, false);
    nb_connector_json.source->close(src);
    char *out = get_file("o/events.ndjson");
    assert_string_equal(out, "{\"a\":1}\n{\"a\":2}\n");
    free(out);
    nb_cfg_destroy(scfg);
    nb_cfg_destroy(dcfg);

    /* The spec tables reject unknown keys and bad enum values. */
    struct nb_cfg *bad = NULL;
    const char *y = "path: x.json\nformatt: lines\n";
    assert_int_equal(nb_cfg_load_string(y, strlen(y), "t.yaml", &bad, &err), NB_OK);
    assert_int_not_equal(nb_cfg_validate(bad, nb_connector_json.source->spec, "source", &err), NB_OK);
    assert_non_null(strstr(err.message, "formatt"));
    nb_cfg_destroy(bad);
    y = "path: x.json\nformat: xml\n";
    assert_int_equal(nb_cfg_load_string(y, strlen(y), "t.yaml", &bad, &err), NB_OK);
    assert_int_not_equal(nb_cfg_validate(bad, nb_connector_json.destination->spec, "destination", &err), NB_OK);
    nb_cfg_destroy(bad);
    assert_string_equal(nb_connector_json.name, "json");
    assert_int_equal(nb_connector_json.kinds, NB_SOURCE | NB_DESTINATION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_source_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_compressed_and_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_and_dest_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dest_lines_and_spec, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
