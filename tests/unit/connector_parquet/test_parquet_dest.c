/* The `parquet` destination connector as the engine drives it: config validated against its spec,
 * open, write batches of a stream, end_stream (footer + rename), close; a failed run leaves nothing.
 * The output is read back with DuckDB (tests/tools/parquet_read.mjs) when node is there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/connector.h"
#include "core/config.h"
#include "formats/format.h"
#include "io/stream.h"

extern const struct nb_connector_ops nb_connector_parquet;

static struct nb_batch *users_batch(struct nb_schema *s, int first, int rows)
{
    struct nb_batch *b = nb_batch_create(s, (size_t)rows);
    char tmp[64];
    for (int i = first; i < first + rows; i++) {
        int n = snprintf(tmp, sizeof tmp, "%d", i);
        nb_column_append_text(&b->cols[0], tmp, (size_t)n);
        n = snprintf(tmp, sizeof tmp, "user %d", i);
        if (i % 5 == 0) nb_column_append_null(&b->cols[1]);
        else nb_column_append_text(&b->cols[1], tmp, (size_t)n);
        n = snprintf(tmp, sizeof tmp, "%d.%02d", i, i % 100);
        nb_column_append_text(&b->cols[2], tmp, (size_t)n);
    }
    b->n_rows = (size_t)rows;
    b->stream = "users";
    return b;
}

static struct nb_schema *users_schema(void)
{
    struct nb_schema *s = nb_schema_create();
    nb_schema_add(s, "id", nb_type_make(NB_TYPE_INT64), false);
    nb_schema_add(s, "name", nb_type_make(NB_TYPE_STRING), true);
    struct nb_type dec = {NB_TYPE_DECIMAL, 12, 2, false};
    nb_schema_add(s, "amount", dec, false);
    return s;
}

static struct nb_cfg *load(const char *yaml)
{
    struct nb_cfg *cfg = NULL;
    struct nb_error err = {0};
    assert_int_equal(nb_cfg_load_string(yaml, strlen(yaml), "dest.yaml", &cfg, &err), NB_OK);
    nb_status st = nb_cfg_validate(cfg, nb_connector_parquet.destination->spec, "destination", &err);
    if (st != NB_OK) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, NB_OK);
    return cfg;
}

static bool have_reader(void)
{
    const char *root = getenv("NB_ROOT");
    char p[4096];
    snprintf(p, sizeof p, "%s/tests/node_modules/@duckdb/node-api/package.json", root ? root : "..");
    bool ok = access(p, R_OK) == 0 && system("node --version >/dev/null 2>&1") == 0;
    if (!ok) printf("NOTICE: node or tests/node_modules missing: DuckDB read-back skipped\n");
    return ok;
}

static char *read_sql(const char *sql, const char *path)
{
    const char *root = getenv("NB_ROOT");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "node %s/tests/tools/parquet_read.mjs --sql \"%s\" '%s'", root ? root : "..", sql, path);
    FILE *f = popen(cmd, "r");
    static char out[65536];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    assert_int_equal(pclose(f), 0);
    return out;
}

static void test_spec(void **state)
{
    assert_int_equal(nb_connector_parquet.kinds, NB_SOURCE | NB_DESTINATION);   /* the source: parquet_source.c */
    assert_non_null(nb_connector_parquet.source);
    assert_true(nb_connector_parquet.destination->typed);
    assert_non_null(nb_format_find("parquet"));
    assert_ptr_equal(nb_format_for_path("x/y.parquet"), &nb_format_parquet);
    struct nb_buf b;
    nb_buf_init(&b);
    nb_config_spec_print(&b, nb_connector_parquet.destination->spec, false, 0);
    assert_non_null(strstr(b.data, "lz4_raw"));
    assert_non_null(strstr(b.data, "path"));
    assert_non_null(strstr(b.data, "row_group_bytes"));
    nb_buf_cleanup(&b);
    /* Unknown keys and codecs are refused by the spec, naming the key. */
    struct nb_cfg *cfg = NULL;
    struct nb_error err = {0};
    const char *y = "path: x.parquet\ncompresion: zstd\n";
    assert_int_equal(nb_cfg_load_string(y, strlen(y), "dest.yaml", &cfg, &err), NB_OK);
    assert_int_not_equal(nb_cfg_validate(cfg, nb_connector_parquet.destination->spec, "destination", &err), NB_OK);
    assert_non_null(strstr(err.message, "compresion"));
    nb_cfg_destroy(cfg);
}

static void test_write_stream(void **state)
{
    mkdir("pq_conn_out", 0755);
    unlink("pq_conn_out/users.parquet");
    struct nb_cfg *cfg = load("path: pq_conn_out/{stream}.parquet\ncompression: lz4_raw\nrow_group_size: 300\n");
    struct nb_run_options ro = {0};
    struct nb_context ctx = {.config = cfg, .options = &ro};
    const struct nb_destination_ops *d = nb_connector_parquet.destination;
    void *self = NULL;
    struct nb_error err = {0};
    assert_int_equal(d->open(&self, &ctx, &err), NB_OK);
    struct nb_schema *s = users_schema();
    for (int i = 0; i < 4; i++) {
        struct nb_batch *b = users_batch(s, i * 250, 250);
        nb_status st = d->write(self, b, NULL, &err);
        if (st != NB_OK) fprintf(stderr, "%s\n", err.message);
        assert_int_equal(st, NB_OK);
        nb_batch_destroy(b);
    }
    struct nb_buf state_json;
    nb_buf_init(&state_json);
    /* Not resumable: nothing is durable before the footer. */
    assert_int_equal(d->commit(self, "users", &state_json, &err), NB_AGAIN);
    assert_int_not_equal(access("pq_conn_out/users.parquet", F_OK), 0);   /* still under its partial name */
    assert_int_equal(d->end_stream(self, "users", &err), NB_OK);
    d->close(self, true, false);
    assert_int_equal(access("pq_conn_out/users.parquet", F_OK), 0);
    /* The file is Parquet with lz4_raw pages, not a Parquet file wrapped in a codec. */
    FILE *f = fopen("pq_conn_out/users.parquet", "rb");
    char magic[4];
    assert_int_equal(fread(magic, 1, 4, f), 4);
    fclose(f);
    assert_memory_equal(magic, "PAR1", 4);
    if (have_reader()) {
        char *got = read_sql("SELECT count(*), count(name), sum(amount)::VARCHAR, (SELECT string_agg(DISTINCT compression, ',') "
                             "FROM parquet_metadata(FILE)), (SELECT count(DISTINCT row_group_id) FROM parquet_metadata(FILE)) FROM FILE",
                             "pq_conn_out/users.parquet");
        assert_string_equal(got, "[\"1000\",\"800\",\"499995.00\",\"LZ4_RAW\",\"4\"]\n");
    }
    nb_buf_cleanup(&state_json);
    nb_schema_release(s);
    nb_cfg_destroy(cfg);
}

static void test_failed_run_leaves_nothing(void **state)
{
    mkdir("pq_conn_out", 0755);
    unlink("pq_conn_out/failed.parquet");
    struct nb_cfg *cfg = load("path: pq_conn_out/failed.parquet\n");
    struct nb_run_options ro = {0};
    struct nb_context ctx = {.config = cfg, .options = &ro};
    const struct nb_destination_ops *d = nb_connector_parquet.destination;
    void *self = NULL;
    struct nb_error err = {0};
    assert_int_equal(d->open(&self, &ctx, &err), NB_OK);
    struct nb_schema *s = users_schema();
    struct nb_batch *b = users_batch(s, 0, 100);
    assert_int_equal(d->write(self, b, NULL, &err), NB_OK);
    /* a bad value in a typed column: the write fails naming column, row and value */
    nb_batch_destroy(b);
    b = users_batch(s, 100, 3);
    b->cols[2].offsets[3] = b->cols[2].offsets[2];   /* empty text in the decimal column, row 3 */
    b->cols[2].data_len = b->cols[2].offsets[3];
    assert_int_equal(d->write(self, b, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "'amount'"));
    assert_non_null(strstr(err.message, "row 103"));
    d->close(self, false, false);
    assert_int_not_equal(access("pq_conn_out/failed.parquet", F_OK), 0);
    char partial[4096];
    nb_partial_path("pq_conn_out/failed.parquet", partial, sizeof partial);
    assert_int_not_equal(access(partial, F_OK), 0);
    nb_batch_destroy(b);
    nb_schema_release(s);
    nb_cfg_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_write_stream),
        cmocka_unit_test(test_failed_run_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
