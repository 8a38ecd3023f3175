/* The per-batch encoding the engine's workers run for the Parquet writer (nb_parquet_encode): a file
 * written from worker encodings is byte-identical to one the writer encoded itself, whatever the
 * batch sizes; a value that does not fit makes the worker give up and the writer name the row; the
 * fast paths (plain numbers, whole-column UTF-8) give exactly what the general parsers give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "formats/parquet/column.h"
#include "helper_pq.h"
#include "io/stream.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const mixed_cols[] = {"id:int64", "name:string?", "score:float64?", "day:date?",
                                         "ts:timestamptz?", "amount:decimal(30,3)?", "ok:bool?", "small:decimal(6,2)?"};

static struct nb_batch *mixed_batch(struct nb_schema *s, size_t first, size_t rows)
{
    char **cells = calloc(rows * N(mixed_cols), sizeof *cells);
    for (size_t r = 0; r < rows; r++) {
        size_t id = first + r;
        char **row = cells + r * N(mixed_cols);
        if (asprintf(&row[0], "%zu", id) < 0) abort();
        if (id % 7 != 3 && asprintf(&row[1], "n\xc3\xa9%zu", id % 13) < 0) abort();
        if (id % 5 != 1 && asprintf(&row[2], "%s%zu.%02zu", id % 4 == 0 ? "-" : "", id % 997, id % 100) < 0) abort();
        if (asprintf(&row[3], "2024-%02zu-%02zu", 1 + id % 12, 1 + id % 28) < 0) abort();
        if (id % 11 != 0 && asprintf(&row[4], "2024-03-%02zuT%02zu:00:00Z", 1 + id % 28, id % 24) < 0) abort();
        if (asprintf(&row[5], "%s%zu123456789012345.%03zu", id % 2 ? "-" : "", id, id % 1000) < 0) abort();
        if (asprintf(&row[6], "%s", id % 3 ? "true" : "false") < 0) abort();
        if (id % 9 != 0 && asprintf(&row[7], "%zu.%zu", id % 9999, id % 10) < 0) abort();
    }
    struct nb_batch *b = pqt_batch(s, (const char *const *)cells, rows);
    for (size_t i = 0; i < rows * N(mixed_cols); i++) free(cells[i]);
    free(cells);
    return b;
}

/* Write rows [0, total) in batches of `step` rows, encoded as the engine's workers would (or not). */
static void write_mem(struct nb_buf *out, const struct nb_parquet_options *o, struct nb_schema *s, size_t total,
                      size_t step, bool worker_encode)
{
    struct nb_ostream *os = nb_buf_ostream_create(out);
    struct nb_parquet_writer *w = NULL;
    struct nb_error err = {0};
    assert_int_equal(nb_parquet_writer_open(&w, o, os, s, &err), NB_OK);
    struct nb_buf enc;
    nb_buf_init(&enc);
    for (size_t r = 0; r < total; r += step) {
        size_t n = total - r < step ? total - r : step;
        struct nb_batch *b = mixed_batch(s, r, n);
        nb_status st;
        if (worker_encode) {
            assert_int_equal(nb_parquet_encode(o, b, &enc), NB_OK);
            st = nb_parquet_writer_write_encoded(w, b, &enc, &err);
        } else {
            st = nb_parquet_writer_write(w, b, &err);
        }
        if (st != NB_OK) fprintf(stderr, "%s\n", err.message);
        assert_int_equal(st, NB_OK);
        nb_batch_destroy(b);
    }
    assert_int_equal(nb_parquet_writer_finish(w, &err), NB_OK);
    assert_int_equal(os->ops->finish(os, &err), NB_OK);
    nb_parquet_writer_destroy(w);
    nb_ostream_destroy(os);
    nb_buf_cleanup(&enc);
}

static void test_same_bytes_any_batching(void **state)
{
    struct nb_schema *s = pqt_schema(mixed_cols, N(mixed_cols));
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    o.row_group_bytes = 40 * 1024;   /* byte-cut row groups: the cut must not follow the batches */
    o.page_size = 4096;
    o.codec = NB_PQ_ZSTD;
    struct nb_buf ref, got;
    nb_buf_init(&ref);
    write_mem(&ref, &o, s, 6000, 6000, false);
    const size_t steps[] = {1, 333, 1024, 2500};
    for (size_t i = 0; i < N(steps); i++)
        for (int enc = 0; enc < 2; enc++) {
            if (steps[i] == 1 && enc == 0) continue;
            nb_buf_init(&got);
            write_mem(&got, &o, s, 6000, steps[i], enc);
            if (got.len != ref.len || memcmp(got.data, ref.data, ref.len) != 0)
                fail_msg("batches of %zu rows (%s encoding): %zu bytes differ from the single batch's %zu", steps[i],
                         enc ? "worker" : "writer", got.len, ref.len);
            nb_buf_cleanup(&got);
        }
    char *path = pqt_path("encode_same.parquet");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(ref.data, 1, ref.len, f), ref.len);
    fclose(f);
    if (pqt_have_reader()) {
        char *out = pqt_read("", "SELECT count(*), (SELECT count(DISTINCT row_group_id) > 2 FROM "
                             "parquet_metadata(FILE)), sum(id), count(name), count(score) FROM FILE", path);
        assert_true(pqt_same(out, "[\"6000\",true,\"17997000\",\"5143\",\"4800\"]\n"));
        free(out);
    }
    free(path);
    nb_buf_cleanup(&ref);
    nb_schema_release(s);
}

static void test_bad_value_named_by_writer(void **state)
{
    const char *cols[] = {"id:int64", "v:float64?"};
    struct nb_schema *s = pqt_schema(cols, 2);
    const char *good[] = {"1", "1.5", "2", NULL, "3", "2.25"};
    const char *bad[] = {"4", "1.0", "5", "abc", "6", "0.5"};
    struct nb_batch *g = pqt_batch(s, good, 3), *b = pqt_batch(s, bad, 3);
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    struct nb_buf enc, out;
    nb_buf_init(&enc);
    nb_buf_init(&out);
    /* the worker cannot name the stream row: it gives up */
    assert_int_equal(nb_parquet_encode(&o, b, &enc), NB_DONE);
    struct nb_ostream *os = nb_buf_ostream_create(&out);
    struct nb_parquet_writer *w = NULL;
    struct nb_error err = {0};
    assert_int_equal(nb_parquet_writer_open(&w, &o, os, s, &err), NB_OK);
    assert_int_equal(nb_parquet_encode(&o, g, &enc), NB_OK);
    assert_int_equal(nb_parquet_writer_write_encoded(w, g, &enc, &err), NB_OK);
    /* an encoding of another batch is not taken for this one */
    assert_int_equal(nb_parquet_writer_write_encoded(w, b, &enc, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "column 'v', row 5"));
    assert_non_null(strstr(err.message, "'abc'"));
    nb_parquet_writer_destroy(w);
    nb_ostream_destroy(os);
    nb_batch_destroy(g);
    nb_batch_destroy(b);
    nb_buf_cleanup(&enc);
    nb_buf_cleanup(&out);
    nb_schema_release(s);
}

/* Values the CSV decoder vouched for as plain numbers take the fast path: the same doubles and
 * integers as strtod / the general parser, including the hardest-to-round 15-digit ones. */
static void test_plain_numbers_exact(void **state)
{
    const char *cols[] = {"f:float64", "i:int64"};
    struct nb_schema *s = pqt_schema(cols, 2);
    const char *vals[][2] = {
        {"0.1", "0"}, {"-0.0", "-1"}, {"123456789012.345", "999999999999999999"}, {"9007199254740.99", "-999999999999999999"},
        {"0.000000000000001", "42"}, {"999999999999999", "7"}, {"1.7976931348623", "-7"}, {"2.2250738585072", "10"},
        {"0.3", "100"}, {"5.000000000000001", "5"}, {"12.34", "12"}, {"-98765.4321", "-98765"},
    };
    const size_t rows = N(vals);
    const char *cells[2 * N(vals)];
    for (size_t r = 0; r < rows; r++) {
        cells[2 * r] = vals[r][0];
        cells[2 * r + 1] = vals[r][1];
    }
    struct nb_batch *b = pqt_batch(s, cells, rows);
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    struct nb_buf fast, slow;
    nb_buf_init(&fast);
    nb_buf_init(&slow);
    assert_int_equal(pq_encode_batch(&o, b, 0, &slow, NULL), NB_OK);
    b->cols[0].plain_numbers = b->cols[1].plain_numbers = true;
    assert_int_equal(pq_encode_batch(&o, b, 0, &fast, NULL), NB_OK);
    struct pq_enc_col vf[2], vs[2];
    assert_true(pq_enc_view(&fast, b, 2, vf));
    assert_true(pq_enc_view(&slow, b, 2, vs));
    for (size_t r = 0; r < rows; r++) {
        double want = strtod(vals[r][0], NULL), got;
        memcpy(&got, vf[0].vals + 8 * r, 8);
        if (memcmp(&got, &want, 8) != 0) fail_msg("'%s': fast path gave %.17g, strtod %.17g", vals[r][0], got, want);
        assert_memory_equal(vf[0].vals + 8 * r, vs[0].vals + 8 * r, 8);
        assert_memory_equal(vf[1].vals + 8 * r, vs[1].vals + 8 * r, 8);
        assert_int_equal(vf[0].hash[r], vs[0].hash[r]);
    }
    nb_buf_cleanup(&fast);
    nb_buf_cleanup(&slow);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

/* Two values whose bytes together form a valid character are each invalid UTF-8: the whole-column
 * check must not let them through. */
static void test_utf8_split_between_values(void **state)
{
    const char *cols[] = {"s:string"};
    struct nb_schema *s = pqt_schema(cols, 1);
    const char *cells[] = {"ok", "ab\xc3", "\xa9z", "fine"};
    struct nb_batch *b = pqt_batch(s, cells, 4);
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    struct nb_buf enc;
    nb_buf_init(&enc);
    struct nb_error err = {0};
    assert_int_equal(pq_encode_batch(&o, b, 10, &enc, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "row 12"));
    assert_non_null(strstr(err.message, "UTF-8"));
    const char *good[] = {"ok", "\xc3\xa9t\xc3\xa9", "", "\xe2\x82\xac"};
    struct nb_batch *g = pqt_batch(s, good, 4);
    assert_int_equal(pq_encode_batch(&o, g, 0, &enc, &err), NB_OK);
    nb_buf_cleanup(&enc);
    nb_batch_destroy(b);
    nb_batch_destroy(g);
    nb_schema_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_any_batching),
        cmocka_unit_test(test_bad_value_named_by_writer),
        cmocka_unit_test(test_plain_numbers_exact),
        cmocka_unit_test(test_utf8_split_between_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
