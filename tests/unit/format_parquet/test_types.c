/* Every schema type, null pattern and nasty value written by the Parquet writer and read back by
 * DuckDB and hyparquet (tests/tools/parquet_read.mjs), compared as exact text; the file metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/value.h"
#include "helper_pq.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *all_cols[] = {
    "b:bool?", "i32:int32?", "i64:int64?", "f:float64?", "d9:decimal(9,3)?", "d18:decimal(18,4)?",
    "d38:decimal(38,10)?", "s:string?", "bin:binary?", "dt:date?", "tm:time?", "ts:timestamp?", "tz:timestamptz?",
    "j:json?",
};

/* Write rows of all_cols and compare DuckDB's text with `expected`. */
static void roundtrip(const char *name, const char *const *cols, size_t ncols, const char *const *cells, size_t rows,
                      const struct nb_parquet_options *opt, const char *expected, const char *expected_hyparquet)
{
    struct nb_schema *s = pqt_schema(cols, ncols);
    struct nb_batch *b = pqt_batch(s, cells, rows);
    struct nb_error err = {0};
    char *path = pqt_path(name);
    nb_status st = pqt_write(path, opt, s, &b, 1, &err);
    if (st != NB_OK) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, NB_OK);
    if (pqt_have_reader()) {
        char *got = pqt_read("", NULL, path);
        assert_true(pqt_same(got, expected));
        free(got);
        if (expected_hyparquet) {
            got = pqt_read("--hyparquet", NULL, path);
            assert_true(pqt_same(got, expected_hyparquet));
            free(got);
        }
    }
    free(path);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_all_types_mixed_nulls(void **state)
{
    const char *cells[] = {
        "true", "-2147483648", "9223372036854775807", "291.07", "-999999.999", "12345678901234.5678",
        "1234567890123456789012345678.0123456789", "héllo", "\x01\x02\xff", "2024-02-29", "23:59:59.999999",
        "2024-01-02T03:04:05.123456", "2024-01-02T03:04:05.5+02:00", "{\"a\":[1,2,{\"b\":null}]}",
        /* row 2: nulls everywhere */
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        "FALSE", "2147483647", "-9223372036854775808", "-0.000001", "0.001", "-0.0001",
        "-99999999999999999999999999.9999999999", "", "", "0001-01-01", "00:00:00", "1969-12-31 23:59:59.999999",
        "1970-01-01T00:00:00Z", "[]",
        "true", "0", "0", "1e300", "1", "1.5", "0", "x", "a", "9999-12-31", "12:00:00.5", "2000-01-01T00:00:00",
        "2000-01-01T00:00:00-00:30", "\"str\"",
    };
    const char *want =
        "[\"true\",\"-2147483648\",\"9223372036854775807\",\"291.07\",\"-999999.999\",\"12345678901234.5678\","
        "\"1234567890123456789012345678.0123456789\",\"héllo\",\"0102FF\",\"2024-02-29\",\"23:59:59.999999\","
        "\"2024-01-02 03:04:05.123456\",\"2024-01-02 01:04:05.5+00\",\"{\\\"a\\\":[1,2,{\\\"b\\\":null}]}\"]\n"
        "[null,null,null,null,null,null,null,null,null,null,null,null,null,null]\n"
        "[\"false\",\"2147483647\",\"-9223372036854775808\",\"-1e-06\",\"0.001\",\"-0.0001\","
        "\"-99999999999999999999999999.9999999999\",\"\",\"\",\"0001-01-01\",\"00:00:00\","
        "\"1969-12-31 23:59:59.999999\",\"1970-01-01 00:00:00+00\",\"[]\"]\n"
        "[\"true\",\"0\",\"0\",\"1e+300\",\"1.000\",\"1.5000\",\"0.0000000000\",\"x\",\"61\",\"9999-12-31\",\"12:00:00.5\","
        "\"2000-01-01 00:00:00\",\"2000-01-01 00:30:00+00\",\"\\\"str\\\"\"]\n";
    roundtrip("all_types.parquet", all_cols, N(all_cols), cells, 4, NULL, want, NULL);
}

static void test_required_columns(void **state)
{
    /* Not nullable: no definition levels at all. Read by both readers. */
    const char *cols[] = {"b:bool", "i:int64", "f:float64", "d:decimal(18,2)", "s:string", "dt:date",
                          "ts:timestamptz"};
    const char *cells[] = {
        "true", "1", "0.5", "10.00", "a", "2020-01-01", "2020-01-01T00:00:00Z",
        "false", "-1", "-2.25", "-0.01", "b\"c", "1900-03-01", "1900-03-01T12:34:56.000001Z",
        "true", "1", "0.5", "10.00", "a", "2020-01-01", "2020-01-01T00:00:00Z",
    };
    roundtrip("required.parquet", cols, N(cols), cells, 3, NULL,
              "[\"true\",\"1\",\"0.5\",\"10.00\",\"a\",\"2020-01-01\",\"2020-01-01 00:00:00+00\"]\n"
              "[\"false\",\"-1\",\"-2.25\",\"-0.01\",\"b\\\"c\",\"1900-03-01\",\"1900-03-01 12:34:56.000001+00\"]\n"
              "[\"true\",\"1\",\"0.5\",\"10.00\",\"a\",\"2020-01-01\",\"2020-01-01 00:00:00+00\"]\n",
              "[\"true\",\"1\",\"0.5\",\"10\",\"a\",\"2020-01-01T00:00:00.000Z\",\"2020-01-01T00:00:00.000Z\"]\n"
              "[\"false\",\"-1\",\"-2.25\",\"-0.01\",\"b\\\"c\",\"1900-03-01T00:00:00.000Z\",\"1900-03-01T12:34:56.001Z\"]\n"
              "[\"true\",\"1\",\"0.5\",\"10\",\"a\",\"2020-01-01T00:00:00.000Z\",\"2020-01-01T00:00:00.000Z\"]\n");
}

static void test_all_null(void **state)
{
    const char *cols[] = {"b:bool?", "i32:int32?", "i64:int64?", "f:float64?", "d9:decimal(9,3)?", "d38:decimal(38,10)?",
                          "s:string?", "bin:binary?", "dt:date?", "tm:time?", "ts:timestamp?", "j:json?", "n:null?"};
    enum { ROWS = 25000 };   /* more than one page (20000 rows) */
    const char **cells = calloc(ROWS * N(cols), sizeof *cells);
    struct nb_schema *s = pqt_schema(cols, N(cols));
    struct nb_batch *b = pqt_batch(s, cells, ROWS);
    struct nb_error err = {0};
    char *path = pqt_path("all_null.parquet");
    assert_int_equal(pqt_write(path, NULL, s, &b, 1, &err), NB_OK);
    if (pqt_have_reader()) {
        char *got = pqt_read("", "SELECT count(*), count(b)+count(i32)+count(i64)+count(f)+count(d9)+count(d38)+"
                             "count(s)+count(bin)+count(dt)+count(tm)+count(ts)+count(j)+count(n) FROM FILE", path);
        assert_true(pqt_same(got, "[\"25000\",\"0\"]\n"));
        free(got);
        got = pqt_read("", "SELECT DISTINCT stats_null_count, stats_min_value IS NULL, encodings FROM "
                       "parquet_metadata(FILE)", path);
        assert_true(pqt_same(got, "[\"25000\",true,\"PLAIN, RLE\"]\n"));
        free(got);
    }
    free(path);
    free(cells);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_nasty_strings(void **state)
{
    static char big[100001];
    memset(big, 'z', sizeof big - 1);
    const char *cols[] = {"s:string?", "bin:binary?"};
    const char *cells[] = {
        "", "",
        "\"quoted\" 'single' \\back\\slash", "\n",
        "line1\nline2\r\nline3\ttab", "\x00\x01",
        "emoji 😀 CJK 漢字 combining é", "\xc3\x28",
        NULL, NULL,
        big, "\xff",
        ",;|\x1f", "z",
    };
    struct nb_schema *s = pqt_schema(cols, 2);
    struct nb_batch *b = nb_batch_create(s, 8);
    for (size_t r = 0; r < 7; r++) {
        for (size_t c = 0; c < 2; c++) {
            const char *v = cells[r * 2 + c];
            /* binary cells are given with explicit lengths (NUL bytes inside) */
            size_t n = !v ? 0 : (c == 1 && r == 2) ? 2 : strlen(v);
            if (v) nb_column_append_text(&b->cols[c], v, n);
            else nb_column_append_null(&b->cols[c]);
        }
    }
    b->n_rows = 7;
    struct nb_error err = {0};
    char *path = pqt_path("nasty.parquet");
    assert_int_equal(pqt_write(path, NULL, s, &b, 1, &err), NB_OK);
    if (pqt_have_reader()) {
        char *got = pqt_read("", "SELECT s = '' , hex(bin) FROM FILE LIMIT 1", path);
        assert_true(pqt_same(got, "[true,\"\"]\n"));
        free(got);
        got = pqt_read("", NULL, path);
        struct nb_buf want;
        nb_buf_init(&want);
        nb_buf_puts(&want, "[\"\",\"\"]\n[\"\\\"quoted\\\" 'single' \\\\back\\\\slash\",\"0A\"]\n"
                           "[\"line1\\nline2\\r\\nline3\\ttab\",\"0001\"]\n"
                           "[\"emoji 😀 CJK 漢字 combining é\",\"C328\"]\n[null,null]\n[\"");
        nb_buf_puts(&want, big);
        nb_buf_puts(&want, "\",\"FF\"]\n[\",;|\\u001f\",\"7A\"]\n");
        assert_true(pqt_same(got, want.data));
        free(got);
        nb_buf_cleanup(&want);
        /* The 100 kB value is left out of min/max (too long to be useful); the others are exact. */
        got = pqt_read("", "SELECT path_in_schema, stats_min_value, stats_max_value, stats_null_count FROM "
                       "parquet_metadata(FILE) ORDER BY column_id", path);
        assert_true(pqt_same(got, "[\"s\",null,null,\"1\"]\n[\"bin\",\"\",\"\\\\xFF\",\"1\"]\n"));
        free(got);
    }
    free(path);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_file_metadata(void **state)
{
    const char *cols[] = {"id:int64", "when:timestamptz?", "doc:json?"};
    const char *cells[] = {"1", NULL, "{}"};
    struct nb_schema *s = pqt_schema(cols, 3);
    struct nb_batch *b = pqt_batch(s, cells, 1);
    struct nb_error err = {0};
    char *path = pqt_path("file_metadata.parquet");
    assert_int_equal(pqt_write(path, NULL, s, &b, 1, &err), NB_OK);
    if (pqt_have_reader()) {
        char *got = pqt_read("--kv", NULL, path);
        assert_true(pqt_same(got, "{\"nebula.version\":\"" NB_VERSION "\"}\n"
                                  "{\"nebula.schema\":\"[{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"int64\\\",\\\"nullable\\\":false},"
                                  "{\\\"name\\\":\\\"when\\\",\\\"type\\\":\\\"timestamptz\\\",\\\"nullable\\\":true},"
                                  "{\\\"name\\\":\\\"doc\\\",\\\"type\\\":\\\"json\\\",\\\"nullable\\\":true}]\"}\n"));
        free(got);
        got = pqt_read("", "SELECT created_by, num_rows, num_row_groups, format_version FROM parquet_file_metadata(FILE)",
                       path);
        assert_true(pqt_same(got, "[\"nebula version " NB_VERSION "\",\"1\",\"1\",\"1\"]\n"));
        free(got);
        got = pqt_read("", "SELECT name, repetition_type, converted_type, logical_type FROM parquet_schema(FILE)", path);
        assert_true(pqt_same(got, "[\"schema\",null,null,null]\n[\"id\",\"REQUIRED\",null,null]\n"
                                  "[\"when\",\"OPTIONAL\",\"TIMESTAMP_MICROS\",\"TimestampType(isAdjustedToUTC=1, "
                                  "unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))\"]\n"
                                  "[\"doc\",\"OPTIONAL\",\"JSON\",\"JsonType()\"]\n"));
        free(got);
    }
    free(path);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_types_mixed_nulls), cmocka_unit_test(test_required_columns),
        cmocka_unit_test(test_all_null),              cmocka_unit_test(test_nasty_strings),
        cmocka_unit_test(test_file_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
