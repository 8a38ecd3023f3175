/* Bad input never crashes the Parquet writer: values that do not fit, nulls in required columns,
 * invalid UTF-8, schema changes and bad options are errors naming the place; a failed writer
 * refuses more work; a failed file is never left looking complete; the writer streams row groups
 * out as they fill. Also the file framing (magic, footer length) without any reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "formats/format.h"
#include "helper_pq.h"
#include "io/stream.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Write one batch into memory; return the status and the message. */
static nb_status write_mem(const char *const *cols, size_t ncols, const char *const *cells, size_t rows,
                           struct nb_error *err, struct nb_buf *out)
{
    struct nb_schema *s = pqt_schema(cols, ncols);
    struct nb_batch *b = pqt_batch(s, cells, rows);
    struct nb_ostream *os = nb_buf_ostream_create(out);
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    struct nb_parquet_writer *w = NULL;
    nb_status st = nb_parquet_writer_open(&w, &o, os, s, err);
    if (st == NB_OK) st = nb_parquet_writer_write(w, b, err);
    if (st == NB_OK) st = nb_parquet_writer_finish(w, err);
    nb_parquet_writer_destroy(w);
    nb_ostream_destroy(os);
    nb_batch_destroy(b);
    nb_schema_release(s);
    return st;
}

static void expect_error(const char *col, const char *value, nb_status code, const char *const *msg_parts)
{
    const char *cols[] = {"id:int64", col};
    /* row 1 is null (fits every nullable column), row 2 has the value */
    const char *cells_null_first[] = {"1", NULL, "2", value};
    struct nb_error err = {0};
    struct nb_buf out;
    nb_buf_init(&out);
    nb_status st = write_mem(cols, 2, cells_null_first, 2, &err, &out);
    if (st != code) fprintf(stderr, "status %d: %s\n", st, err.message);
    assert_int_equal(st, code);
    for (size_t i = 0; msg_parts[i]; i++) {
        if (!strstr(err.message, msg_parts[i])) fprintf(stderr, "message lacks '%s': %s\n", msg_parts[i], err.message);
        assert_non_null(strstr(err.message, msg_parts[i]));
    }
    nb_buf_cleanup(&out);
}

static void test_values_that_do_not_fit(void **state)
{
    expect_error("age:int64?", "N/A", NB_ERR_INVALID, (const char *[]){"'age'", "row 2", "'N/A'", "int64", NULL});
    expect_error("n:int32?", "2147483648", NB_ERR_INVALID, (const char *[]){"'n'", "row 2", "2147483648", NULL});
    expect_error("f:float64?", "1,5", NB_ERR_INVALID, (const char *[]){"'f'", "'1,5'", NULL});
    expect_error("d:decimal(5,2)?", "1234.5", NB_ERR_INVALID, (const char *[]){"'d'", "decimal(5,2)", NULL});
    expect_error("d:decimal(5,2)?", "1.234", NB_ERR_INVALID, (const char *[]){"'1.234'", NULL});
    expect_error("d:decimal(50,2)?", "1e5", NB_ERR_INVALID, (const char *[]){"'1e5'", NULL});
    expect_error("d:decimal(50,2)?", "123456789012345678901234567890123456789012345678901", NB_ERR_INVALID,
                 (const char *[]){"decimal(50,2)", NULL});
    expect_error("d:decimal(50,2)?", "-.5", NB_ERR_INVALID, (const char *[]){"'-.5'", NULL});
    expect_error("dt:date?", "2023-02-29", NB_ERR_INVALID, (const char *[]){"'2023-02-29'", "date", NULL});
    expect_error("t:time?", "25:00:00", NB_ERR_INVALID, (const char *[]){"'25:00:00'", NULL});
    expect_error("ts:timestamp?", "yesterday", NB_ERR_INVALID, (const char *[]){"'yesterday'", "timestamp", NULL});
    expect_error("b:bool?", "yes", NB_ERR_INVALID, (const char *[]){"'yes'", "bool", NULL});
    expect_error("s:string?", "ok\xff", NB_ERR_INVALID, (const char *[]){"'s'", "row 2", "UTF-8", "byte 2", NULL});
    expect_error("z:null?", "something", NB_ERR_INVALID, (const char *[]){"'z'", "null", NULL});
    /* A long value is cut in the message. */
    char long_value[300];
    memset(long_value, '7', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    long_value[0] = 'x';
    expect_error("n:int64?", long_value, NB_ERR_INVALID, (const char *[]){"...'", NULL});
}

static void test_null_in_required_column(void **state)
{
    const char *cols[] = {"id:int64", "name:string"};
    const char *cells[] = {"1", "a", "2", NULL};
    struct nb_error err = {0};
    struct nb_buf out;
    nb_buf_init(&out);
    assert_int_equal(write_mem(cols, 2, cells, 2, &err, &out), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "'name'"));
    assert_non_null(strstr(err.message, "row 2"));
    assert_non_null(strstr(err.message, "not nullable"));
    nb_buf_cleanup(&out);
}

static void test_location_in_message(void **state)
{
    const char *cols[] = {"age:int64?"};
    const char *cells[] = {"1", "x"};
    struct nb_schema *s = pqt_schema(cols, 1);
    struct nb_batch *b = pqt_batch(s, cells, 2);
    b->source_name = "data/users.csv";
    b->locs = nb_arena_alloc(&b->arena, 2 * sizeof *b->locs);
    b->locs[0] = (struct nb_row_loc){2, 10};
    b->locs[1] = (struct nb_row_loc){3, 20};
    struct nb_buf out;
    nb_buf_init(&out);
    struct nb_ostream *os = nb_buf_ostream_create(&out);
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    struct nb_parquet_writer *w = NULL;
    struct nb_error err = {0};
    assert_int_equal(nb_parquet_writer_open(&w, &o, os, s, &err), NB_OK);
    assert_int_equal(nb_parquet_writer_write(w, b, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "data/users.csv:3"));
    /* The writer is unusable now: more writes and finish are refused, nothing crashes. */
    assert_int_not_equal(nb_parquet_writer_write(w, b, &err), NB_OK);
    assert_int_not_equal(nb_parquet_writer_finish(w, &err), NB_OK);
    nb_parquet_writer_destroy(w);
    nb_ostream_destroy(os);
    nb_buf_cleanup(&out);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_schema_change(void **state)
{
    const char *cols1[] = {"id:int64", "name:string?"};
    const char *cols2[] = {"id:int64", "name:string?", "extra:int64?"};
    const char *cols3[] = {"id:int64", "name:int64?"};
    struct nb_schema *s1 = pqt_schema(cols1, 2), *s2 = pqt_schema(cols2, 3), *s3 = pqt_schema(cols3, 2);
    const char *c1[] = {"1", "a"}, *c2[] = {"1", "a", "5"}, *c3[] = {"1", "5"};
    struct nb_batch *b1 = pqt_batch(s1, c1, 1), *b2 = pqt_batch(s2, c2, 1), *b3 = pqt_batch(s3, c3, 1);
    struct nb_buf out;
    nb_buf_init(&out);
    struct nb_ostream *os = nb_buf_ostream_create(&out);
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    struct nb_error err = {0};
    struct nb_parquet_writer *w = NULL;
    assert_int_equal(nb_parquet_writer_open(&w, &o, os, s1, &err), NB_OK);
    assert_int_equal(nb_parquet_writer_write(w, b1, &err), NB_OK);
    assert_int_equal(nb_parquet_writer_write(w, b2, &err), NB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "'extra' appeared"));
    nb_parquet_writer_destroy(w);
    w = NULL;
    assert_int_equal(nb_parquet_writer_open(&w, &o, os, s1, &err), NB_OK);
    assert_int_equal(nb_parquet_writer_write(w, b3, &err), NB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "'name' string"));
    assert_non_null(strstr(err.message, "'name' int64"));
    nb_parquet_writer_destroy(w);
    nb_ostream_destroy(os);
    nb_buf_cleanup(&out);
    nb_batch_destroy(b1);
    nb_batch_destroy(b2);
    nb_batch_destroy(b3);
    nb_schema_release(s1);
    nb_schema_release(s2);
    nb_schema_release(s3);
}

static void test_bad_decimal_type(void **state)
{
    struct nb_schema *s = nb_schema_create();
    struct nb_type t = {NB_TYPE_DECIMAL, 80, 2, false};
    nb_schema_add(s, "d", t, true);
    struct nb_buf out;
    nb_buf_init(&out);
    struct nb_ostream *os = nb_buf_ostream_create(&out);
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    struct nb_parquet_writer *w = NULL;
    struct nb_error err = {0};
    assert_int_equal(nb_parquet_writer_open(&w, &o, os, s, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "decimal(80,2)"));
    assert_null(w);
    nb_ostream_destroy(os);
    nb_buf_cleanup(&out);
    nb_schema_release(s);
}

static void test_codec_names(void **state)
{
    enum nb_parquet_codec c;
    assert_true(nb_parquet_codec_parse("lz4_raw", &c) && c == NB_PQ_LZ4_RAW);
    assert_true(nb_parquet_codec_parse("none", &c) && c == NB_PQ_UNCOMPRESSED);
    assert_true(nb_parquet_codec_parse("zstd", &c) && c == NB_PQ_ZSTD);
    assert_false(nb_parquet_codec_parse("lz4", &c));
    assert_false(nb_parquet_codec_parse("brotli", &c));
    assert_string_equal(nb_format_parquet.name, "parquet");
    assert_string_equal(nb_format_parquet.extension, ".parquet");
    assert_false(nb_format_parquet.keeps_mismatches_as_text);
    assert_false(nb_format_parquet.resumable);
}

static void test_options_from_config(void **state)
{
    struct nb_cfg *cfg = NULL;
    struct nb_error err = {0};
    const char *yaml = "compression: zstd\ncompression_level: 7\nrow_group_size: 5000\npage_size: 64KiB\n"
                       "dictionary: false\n";
    assert_int_equal(nb_cfg_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &err), NB_OK);
    assert_int_equal(nb_cfg_validate(cfg, nb_parquet_format_keys, "destination", &err), NB_OK);
    void *opt = NULL;
    assert_int_equal(nb_format_parquet.options_create(cfg, &opt, &err), NB_OK);
    const struct nb_parquet_options *o = opt;
    assert_int_equal(o->codec, NB_PQ_ZSTD);
    assert_int_equal(o->level, 7);
    assert_int_equal(o->row_group_rows, 5000);
    assert_int_equal(o->page_size, 65536);
    assert_false(o->dictionary);
    assert_true(o->page_index);
    assert_int_equal(o->row_group_bytes, 128u << 20);
    nb_format_parquet.options_destroy(opt);
    nb_cfg_destroy(cfg);

    const char *bad[] = {"compression: snappy\ncompression_level: 3\n", "compression: gzip\ncompression_level: 12\n",
                         "row_group_size: 0\n", "page_size: 10\n"};
    const char *want[] = {"no meaning for snappy", "out of range for gzip", "row_group_size", "page_size"};
    for (size_t i = 0; i < N(bad); i++) {
        cfg = NULL;
        assert_int_equal(nb_cfg_load_string(bad[i], strlen(bad[i]), "t.yaml", &cfg, &err), NB_OK);
        assert_int_equal(nb_cfg_validate(cfg, nb_parquet_format_keys, "destination", &err), NB_OK);
        opt = NULL;
        assert_int_equal(nb_format_parquet.options_create(cfg, &opt, &err), NB_ERR_CONFIG);
        assert_non_null(strstr(err.message, want[i]));
        assert_null(opt);
        nb_cfg_destroy(cfg);
    }
    /* The spec refuses a codec it does not know, naming the key. */
    const char *y = "compression: lz4\n";
    cfg = NULL;
    assert_int_equal(nb_cfg_load_string(y, strlen(y), "t.yaml", &cfg, &err), NB_OK);
    assert_int_equal(nb_cfg_validate(cfg, nb_parquet_format_keys, "destination", &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "compression"));
    nb_cfg_destroy(cfg);
}

static void test_framing_and_streaming(void **state)
{
    /* Row groups leave as they fill: the ostream has them before finish, the footer comes last. */
    struct nb_schema *s = pqt_schema(pqt_sample_cols, 4);
    struct nb_buf out;
    nb_buf_init(&out);
    struct nb_ostream *os = nb_buf_ostream_create(&out);
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    o.row_group_rows = 1000;
    struct nb_parquet_writer *w = NULL;
    struct nb_error err = {0};
    assert_int_equal(nb_parquet_writer_open(&w, &o, os, s, &err), NB_OK);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "PAR1", 4);
    size_t last = out.len;
    for (size_t i = 0; i < 5; i++) {
        struct nb_batch *b = pqt_sample_batch(s, i * 1000, 1000);
        assert_int_equal(nb_parquet_writer_write(w, b, &err), NB_OK);
        nb_batch_destroy(b);
        assert_int_equal(nb_parquet_writer_row_groups(w), i + 1);
        assert_true(out.len > last);   /* written, not held */
        last = out.len;
    }
    assert_int_equal(nb_parquet_writer_rows(w), 5000);
    assert_int_equal(nb_parquet_writer_finish(w, &err), NB_OK);
    assert_true(out.len > last + 8);
    assert_memory_equal(out.data + out.len - 4, "PAR1", 4);
    uint32_t footer;
    memcpy(&footer, out.data + out.len - 8, 4);
    assert_true(footer > 0 && footer < out.len - 12);
    /* FileMetaData starts with field 1 (version, i32): header byte 0x15, value zigzag(1) = 2. */
    const unsigned char *fm = (const unsigned char *)out.data + out.len - 8 - footer;
    assert_int_equal(fm[0], 0x15);
    assert_int_equal(fm[1], 0x02);
    nb_parquet_writer_destroy(w);
    nb_ostream_destroy(os);
    nb_buf_cleanup(&out);
    nb_schema_release(s);
}

static void test_failed_file_not_left(void **state)
{
    /* Through the file ostream as the destination uses it: an error, then abort: neither the final
     * name nor the partial name remains. */
    const char *cols[] = {"n:int64"};
    const char *cells[] = {"1", "2", "oops"};
    struct nb_schema *s = pqt_schema(cols, 1);
    struct nb_batch *good = pqt_batch(s, cells, 2);
    struct nb_batch *bad = pqt_batch(s, cells, 3);
    char *path = pqt_path("failed.parquet");
    unlink(path);
    struct nb_ostream *os = NULL;
    struct nb_error err = {0};
    assert_int_equal(nb_output_open(path, NB_CODEC_NONE, 0, 0, &os, &err), NB_OK);
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    o.row_group_rows = 1;   /* bytes reach the file before the failure */
    struct nb_parquet_writer *w = NULL;
    assert_int_equal(nb_parquet_writer_open(&w, &o, os, s, &err), NB_OK);
    assert_int_equal(nb_parquet_writer_write(w, good, &err), NB_OK);
    assert_int_equal(nb_parquet_writer_write(w, bad, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "row 5"));   /* rows are counted across batches */
    nb_parquet_writer_destroy(w);
    os->ops->abort(os, false);
    nb_ostream_destroy(os);
    assert_int_not_equal(access(path, F_OK), 0);
    char partial[4096];
    nb_partial_path(path, partial, sizeof partial);
    assert_int_not_equal(access(partial, F_OK), 0);
    free(path);
    nb_batch_destroy(good);
    nb_batch_destroy(bad);
    nb_schema_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_that_do_not_fit), cmocka_unit_test(test_null_in_required_column),
        cmocka_unit_test(test_location_in_message),    cmocka_unit_test(test_schema_change),
        cmocka_unit_test(test_bad_decimal_type),       cmocka_unit_test(test_codec_names),
        cmocka_unit_test(test_options_from_config),    cmocka_unit_test(test_framing_and_streaming),
        cmocka_unit_test(test_failed_file_not_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
