/* File layout of the Parquet writer, checked by DuckDB and hyparquet: many row groups
 * (by rows and by bytes), dictionary encoding and its fallback to PLAIN, page headers, the page index,
 * statistics, and a wide table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "helper_pq.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_row_groups(void **state)
{
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    o.row_group_rows = 1000;
    char *path = pqt_write_sample("row_groups.parquet", &o, 25000, 777);
    nb_parquet_options_default(&o);
    o.row_group_bytes = 64 * 1024;
    o.dictionary = false;
    o.codec = NB_PQ_UNCOMPRESSED;
    char *path2 = pqt_write_sample("row_group_bytes.parquet", &o, 25000, 500);
    if (pqt_have_reader()) {
        char *got = pqt_read("", "SELECT count(*), count(DISTINCT row_group_num_rows), min(row_group_num_rows), "
                             "max(row_group_id) FROM parquet_metadata(FILE) WHERE column_id = 0", path);
        assert_true(pqt_same(got, "[\"25\",\"1\",\"1000\",\"24\"]\n"));
        free(got);
        /* Rows keep their order across row groups. */
        got = pqt_read("", "SELECT bool_and(id = rn - 1), count(*) FROM (SELECT id, row_number() OVER () AS rn FROM FILE)", path);
        assert_true(pqt_same(got, "[true,\"25000\"]\n"));
        free(got);
        /* By bytes: several row groups, none much over the 64 KiB bound (one 8192-row slice at most). */
        got = pqt_read("", "SELECT count(*) > 4, max(row_group_bytes) < 64 * 1024 + 400000, sum(row_group_num_rows) "
                       "FROM (SELECT DISTINCT row_group_id, row_group_bytes, row_group_num_rows FROM parquet_metadata(FILE))",
                       path2);
        assert_true(pqt_same(got, "[true,true,\"25000\"]\n"));
        free(got);
    }
    free(path);
    free(path2);
}

static void test_dictionary_and_fallback(void **state)
{
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    o.dictionary_page_size = 8192;   /* the unique note column outgrows this; name never does */
    o.page_size = 16384;
    char *path = pqt_write_sample("dict_fallback.parquet", &o, 20000, 20000);
    nb_parquet_options_default(&o);
    o.dictionary = false;
    char *path2 = pqt_write_sample("dict_off.parquet", &o, 3000, 3000);
    if (pqt_have_reader()) {
        char *got = pqt_read("--pages", NULL, path);
        /* name: one dictionary page (7 entries) and dictionary-encoded data pages (encoding 8) only. */
        assert_non_null(strstr(got, "{\"row_group\":0,\"column\":\"name\",\"pages\":[[2,7,0],[0,20000,8]]}"));
        /* note: dictionary pages first, then PLAIN (0) once the dictionary passed 8 KiB. */
        const char *note = strstr(got, "\"column\":\"note\"");
        assert_non_null(note);
        /* [2,n,0] the dictionary page, [0,n,8] the dictionary-encoded page that filled it, then only
         * PLAIN pages (encoding 0) */
        assert_non_null(strstr(note, "\"pages\":[[2,"));
        const char *dict_page = strstr(note, ",8],[0,");
        assert_non_null(dict_page);
        assert_null(strstr(dict_page + 1, ",8]"));
        assert_non_null(strstr(dict_page, ",0]]}"));
        free(got);
        got = pqt_read("", "SELECT count(DISTINCT note), count(*), min(note), max(note) FROM FILE", path);
        assert_true(pqt_same(got, "[\"20000\",\"20000\",\"note-0-0\",\"note-9999-6697\"]\n"));
        free(got);
        got = pqt_read("", "SELECT DISTINCT encodings, dictionary_page_offset IS NULL FROM parquet_metadata(FILE)", path2);
        assert_true(pqt_same(got, "[\"PLAIN, RLE\",true]\n"));
        free(got);
    }
    free(path);
    free(path2);
}

static void test_page_index_and_stats(void **state)
{
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    o.page_rows = 1000;
    o.row_group_rows = 2500;
    char *path = pqt_write_sample("page_index.parquet", &o, 5000, 5000);
    nb_parquet_options_default(&o);
    o.page_index = false;
    char *path2 = pqt_write_sample("no_page_index.parquet", &o, 100, 100);
    if (pqt_have_reader()) {
        char *got = pqt_read("--hyparquet-index", NULL, path);
        /* Row group 0, column id: pages of 1000, 1000, 500 rows with exact min/max. */
        const char *id0 = strstr(got, "{\"column\":\"id\"");
        assert_non_null(id0);
        assert_non_null(strstr(id0, "\"null_pages\":[false,false,false],\"null_counts\":[0,0,0],"
                                    "\"min\":[\"0\",\"1000\",\"2000\"],\"max\":[\"999\",\"1999\",\"2499\"]}"));
        const char *first_rows = strstr(id0, "\"pages\":[[");
        assert_non_null(first_rows);
        long long off, size, row;
        assert_int_equal(sscanf(first_rows, "\"pages\":[[%lld,%lld,%lld]", &off, &size, &row), 3);
        assert_int_equal(row, 0);
        assert_non_null(strstr(id0, ",1000],["));
        assert_non_null(strstr(id0, ",2000]]"));
        /* Row group 1 starts its rows at 0 again and the amount column counts its nulls per page. */
        const char *id1 = strstr(id0 + 1, "{\"column\":\"id\"");
        assert_non_null(id1);
        assert_non_null(strstr(id1, "\"min\":[\"2500\",\"3500\",\"4500\"]"));
        assert_non_null(strstr(got, "\"column\":\"amount\""));
        assert_non_null(strstr(strstr(got, "\"column\":\"amount\""), "\"null_counts\":[100,100,50]"));
        free(got);
        got = pqt_read("", "SELECT row_group_id, path_in_schema, stats_min_value, stats_max_value, stats_null_count "
                       "FROM parquet_metadata(FILE) ORDER BY 1, column_id", path);
        assert_true(pqt_same(got, "[\"0\",\"id\",\"0\",\"2499\",\"0\"]\n[\"0\",\"name\",\"ann\",\"gus\",\"0\"]\n"
                                  "[\"0\",\"amount\",\"0.50\",\"2499.50\",\"250\"]\n"
                                  "[\"0\",\"note\",\"note-0-0\",\"note-999-5551\",\"0\"]\n"
                                  "[\"1\",\"id\",\"2500\",\"4999\",\"0\"]\n[\"1\",\"name\",\"ann\",\"gus\",\"0\"]\n"
                                  "[\"1\",\"amount\",\"2500.50\",\"4999.50\",\"250\"]\n"
                                  "[\"1\",\"note\",\"note-2500-3654\",\"note-4999-9396\",\"0\"]\n"));
        free(got);
        /* DuckDB filters with the statistics and still gets every row right. */
        got = pqt_read("", "SELECT count(*), min(id), max(id) FROM FILE WHERE id BETWEEN 2400 AND 2600", path);
        assert_true(pqt_same(got, "[\"201\",\"2400\",\"2600\"]\n"));
        free(got);
        got = pqt_read("--hyparquet-index", NULL, path2);
        assert_true(pqt_same(got, "{\"column\":\"id\"}\n{\"column\":\"name\"}\n{\"column\":\"amount\"}\n{\"column\":\"note\"}\n"));
        free(got);
    }
    free(path);
    free(path2);
}

static void test_wide_table(void **state)
{
    /* 40 columns cycling through the types, 300 rows, every 7th cell null. */
    static const char *types[] = {"int64", "string", "float64", "bool", "date", "decimal(20,4)", "timestamp", "int32"};
    enum { COLS = 40, ROWS = 300 };
    char *colspec[COLS];
    for (int c = 0; c < COLS; c++) {
        colspec[c] = malloc(64);
        snprintf(colspec[c], 64, "c%02d_%s:%s?", c, types[c % 8], types[c % 8]);
        char *paren = strchr(colspec[c], '(');   /* names without parentheses */
        if (paren && paren < strchr(colspec[c], ':')) {
            char *colon = strchr(colspec[c], ':');
            memmove(paren, colon, strlen(colon) + 1);
        }
    }
    struct nb_schema *s = pqt_schema((const char *const *)colspec, COLS);
    struct nb_batch *b = nb_batch_create(s, ROWS);
    struct nb_buf want;
    nb_buf_init(&want);
    for (int r = 0; r < ROWS; r++) {
        nb_buf_putc(&want, '[');
        for (int c = 0; c < COLS; c++) {
            char v[64], shown[80];
            switch (c % 8) {
            case 0: snprintf(v, sizeof v, "%d", r * c - 500); break;
            case 1: snprintf(v, sizeof v, "s%d,%d", r, c); break;
            case 2: snprintf(v, sizeof v, "%d.25", r - c); break;
            case 3: snprintf(v, sizeof v, "%s", (r + c) % 2 ? "true" : "false"); break;
            case 4: snprintf(v, sizeof v, "20%02d-%02d-%02d", r % 100, c % 12 + 1, r % 28 + 1); break;
            case 5: snprintf(v, sizeof v, "%d.%04d", r * 1000 - c, (r * 37 + c) % 10000); break;
            case 6: snprintf(v, sizeof v, "2001-02-03 04:%02d:%02d.%06d", r % 60, c, r * 10 + 1); break;
            default: snprintf(v, sizeof v, "%d", -r * c); break;
            }
            if (c) nb_buf_putc(&want, ',');
            if ((r + c) % 7 == 0) {
                nb_column_append_null(&b->cols[c]);
                nb_buf_puts(&want, "null");
                continue;
            }
            nb_column_append_text(&b->cols[c], v, strlen(v));
            snprintf(shown, sizeof shown, "%s", v);
            nb_buf_json_string(&want, shown, strlen(shown));
        }
        nb_buf_puts(&want, "]\n");
    }
    b->n_rows = ROWS;
    struct nb_error err = {0};
    char *path = pqt_path("wide.parquet");
    assert_int_equal(pqt_write(path, NULL, s, &b, 1, &err), NB_OK);
    if (pqt_have_reader()) {
        char *got = pqt_read("", NULL, path);
        assert_true(pqt_same(got, want.data));
        free(got);
    }
    for (int c = 0; c < COLS; c++) free(colspec[c]);
    nb_buf_cleanup(&want);
    free(path);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_groups),
        cmocka_unit_test(test_dictionary_and_fallback),
        cmocka_unit_test(test_page_index_and_stats),
        cmocka_unit_test(test_wide_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
