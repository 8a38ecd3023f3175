/* Edge cases of the Parquet writer read back by DuckDB and hyparquet: empty files, one row,
 * NATIVE batch columns and decimals beyond DuckDB's precision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper_pq.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_empty_and_one_row(void **state)
{
    const char *cols[] = {"id:int64", "name:string?", "amt:decimal(10,2)?"};
    struct nb_schema *s = pqt_schema(cols, 3);
    struct nb_error err = {0};
    char *path = pqt_path("empty.parquet");
    assert_int_equal(pqt_write(path, NULL, s, NULL, 0, &err), NB_OK);
    struct nb_batch *zero = pqt_batch(s, NULL, 0);
    char *path0 = pqt_path("empty_batch.parquet");
    assert_int_equal(pqt_write(path0, NULL, s, &zero, 1, &err), NB_OK);
    const char *one[] = {"42", "only", "0.10"};
    struct nb_batch *b1 = pqt_batch(s, one, 1);
    char *path1 = pqt_path("one.parquet");
    assert_int_equal(pqt_write(path1, NULL, s, &b1, 1, &err), NB_OK);
    if (pqt_have_reader()) {
        const char *q = "SELECT count(*), (SELECT num_rows FROM parquet_file_metadata(FILE)), "
                        "(SELECT count(*) FROM parquet_metadata(FILE)) FROM FILE";
        char *got = pqt_read("", q, path);
        assert_true(pqt_same(got, "[\"0\",\"0\",\"0\"]\n"));
        free(got);
        got = pqt_read("--columns", NULL, path);
        assert_true(pqt_same(got, "[[\"id\",\"BIGINT\"],[\"name\",\"VARCHAR\"],[\"amt\",\"DECIMAL(10,2)\"]]\n"));
        free(got);
        got = pqt_read("", q, path0);
        assert_true(pqt_same(got, "[\"0\",\"0\",\"0\"]\n"));
        free(got);
        got = pqt_read("", NULL, path1);
        assert_true(pqt_same(got, "[\"42\",\"only\",\"0.10\"]\n"));
        free(got);
        got = pqt_read("--hyparquet", NULL, path1);
        assert_true(pqt_same(got, "[\"42\",\"only\",\"0.1\"]\n"));
        free(got);
        got = pqt_read("--hyparquet", NULL, path);
        assert_true(pqt_same(got, ""));
        free(got);
    }
    free(path);
    free(path0);
    free(path1);
    nb_batch_destroy(zero);
    nb_batch_destroy(b1);
    nb_schema_release(s);
}

static void test_native_columns(void **state)
{
    const char *cols[] = {"b:bool?", "i32:int32", "i64:int64?", "f:float64", "dt:date", "tm:time", "ts:timestamptz",
                          "lt:timestamp"};
    struct nb_schema *s = pqt_schema(cols, N(cols));
    struct nb_batch *b = nb_batch_create(s, 4);
    for (size_t c = 0; c < N(cols); c++) nb_batch_set_repr(b, c, NB_REPR_NATIVE);
    int64_t ts[] = {0, -1, 1700000000123456, INT64_C(253402300799999999)};
    for (int r = 0; r < 4; r++) {
        if (r == 1) nb_column_append_null(&b->cols[0]);
        else nb_column_append_bool(&b->cols[0], r & 1);
        nb_column_append_i32(&b->cols[1], r == 3 ? INT32_MIN : r * 1000);
        if (r == 2) nb_column_append_null(&b->cols[2]);
        else nb_column_append_i64(&b->cols[2], r == 3 ? INT64_MIN : -r);
        nb_column_append_f64(&b->cols[3], r == 3 ? -0.0 : r / 8.0);
        nb_column_append_i32(&b->cols[4], r == 3 ? -719162 : r * 366);
        nb_column_append_i64(&b->cols[5], r == 3 ? INT64_C(86399999999) : r * 1000001);
        nb_column_append_i64(&b->cols[6], ts[r]);
        nb_column_append_i64(&b->cols[7], ts[r]);
    }
    b->n_rows = 4;
    struct nb_error err = {0};
    char *path = pqt_path("native.parquet");
    assert_int_equal(pqt_write(path, NULL, s, &b, 1, &err), NB_OK);
    if (pqt_have_reader()) {
        char *got = pqt_read("", NULL, path);
        assert_true(pqt_same(got,
            "[\"false\",\"0\",\"0\",\"0.0\",\"1970-01-01\",\"00:00:00\",\"1970-01-01 00:00:00+00\",\"1970-01-01 00:00:00\"]\n"
            "[null,\"1000\",\"-1\",\"0.125\",\"1971-01-02\",\"00:00:01.000001\",\"1969-12-31 23:59:59.999999+00\","
            "\"1969-12-31 23:59:59.999999\"]\n"
            "[\"false\",\"2000\",null,\"0.25\",\"1972-01-03\",\"00:00:02.000002\",\"2023-11-14 22:13:20.123456+00\","
            "\"2023-11-14 22:13:20.123456\"]\n"
            "[\"true\",\"-2147483648\",\"-9223372036854775808\",\"-0.0\",\"0001-01-01\",\"23:59:59.999999\","
            "\"9999-12-31 23:59:59.999999+00\",\"9999-12-31 23:59:59.999999\"]\n"));
        free(got);
        /* -0.0 and 0.0 order as equal; the spec writes a zero min as -0.0 and a zero max as +0.0. */
        got = pqt_read("", "SELECT stats_min_value, stats_max_value FROM parquet_metadata(FILE) WHERE column_id = 3", path);
        assert_true(pqt_same(got, "[\"-0.0\",\"0.25\"]\n"));
        free(got);
    }
    free(path);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_wide_decimals(void **state)
{
    /* Precision above 38 (DuckDB's limit) as FIXED_LEN_BYTE_ARRAY: checked with hyparquet and the
     * schema's type_length (fewest bytes holding 10^p - 1: p=39 -> 17, p=76 -> 32, p=19 -> 9). */
    const char *cols[] = {"a:decimal(76,0)?", "b:decimal(39,2)", "c:decimal(19,0)"};
    const char *cells[] = {
        "1", "-1.25", "-9999999999999999999",
        NULL, "12345.5", "9999999999999999999",
        "-123456789", "0", "0",
    };
    struct nb_schema *s = pqt_schema(cols, 3);
    struct nb_batch *b = pqt_batch(s, cells, 3);
    struct nb_error err = {0};
    char *path = pqt_path("wide_decimal.parquet");
    assert_int_equal(pqt_write(path, NULL, s, &b, 1, &err), NB_OK);
    if (pqt_have_reader()) {
        char *got = pqt_read("--hyparquet", NULL, path);
        assert_true(pqt_same(got, "[\"1\",\"-1.25\",\"-10000000000000000000\"]\n[null,\"12345.5\",\"10000000000000000000\"]\n"
                                  "[\"-123456789\",\"0\",\"0\"]\n"));
        free(got);
        got = pqt_read("", "SELECT name, type, type_length, precision, scale FROM parquet_schema(FILE) WHERE "
                       "name <> 'schema'", path);
        assert_true(pqt_same(got, "[\"a\",\"FIXED_LEN_BYTE_ARRAY\",\"32\",\"76\",\"0\"]\n"
                                  "[\"b\",\"FIXED_LEN_BYTE_ARRAY\",\"17\",\"39\",\"2\"]\n"
                                  "[\"c\",\"FIXED_LEN_BYTE_ARRAY\",\"9\",\"19\",\"0\"]\n"));
        free(got);
        /* DuckDB reads the p <= 38 one exactly. */
        got = pqt_read("", "SELECT c::VARCHAR FROM FILE", path);
        assert_true(pqt_same(got, "[\"-9999999999999999999\"]\n[\"9999999999999999999\"]\n[\"0\"]\n"));
        free(got);
    }
    free(path);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_one_row), cmocka_unit_test(test_native_columns),
        cmocka_unit_test(test_wide_decimals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
