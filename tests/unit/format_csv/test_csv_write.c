/* CSV writer: quoting only where needed (or always), null vs "", NATIVE values, header, new
 * columns, and a write -> read round trip that keeps every value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "batch/value.h"
#include "formats/format.h"
#include "helper_csv.h"
#include "io/stream.h"

static void *make_options(const char *yaml)
{
    struct nb_cfg *cfg = NULL;
    struct nb_error err = {0};
    void *o = NULL;
    if (yaml) {
        assert_int_equal(nb_cfg_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &err), NB_OK);
        assert_int_equal(nb_cfg_validate(cfg, nb_format_csv.spec, "destination", &err), NB_OK);
    }
    assert_int_equal(nb_format_csv.options_create(cfg, &o, &err), NB_OK);
    nb_cfg_destroy(cfg);
    return o;
}

static struct nb_batch *text_batch(const char *const *names, size_t ncols, const char *const *vals, size_t nrows)
{
    struct nb_schema *s = nb_schema_create();
    for (size_t i = 0; i < ncols; i++) nb_schema_add(s, names[i], nb_type_make(NB_TYPE_STRING), true);
    struct nb_batch *b = nb_batch_create(s, nrows);
    nb_schema_release(s);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++) {
            const char *v = vals[r * ncols + c];
            if (!v) nb_column_append_null(&b->cols[c]);
            else nb_column_append_text(&b->cols[c], v, strlen(v));
        }
    b->n_rows = nrows;
    return b;
}

/* Write batches through writer_open/write/finish into a string. */
static char *write_all(void *opts, struct nb_batch **bs, size_t n, bool use_encode, nb_status *st_out, struct nb_error *err)
{
    struct nb_buf out;
    nb_buf_init(&out);
    struct nb_ostream *os = nb_buf_ostream_create(&out);
    void *w = NULL;
    struct nb_format_resume res = {false, 0};
    nb_status st = nb_format_csv.writer_open(&w, opts, os, bs[0]->schema, &res, err);
    for (size_t i = 0; st == NB_OK && i < n; i++) {
        if (use_encode) {
            struct nb_buf enc;
            nb_buf_init(&enc);
            st = nb_format_csv.encode(opts, bs[i], &enc, err);
            if (st == NB_OK) st = nb_format_csv.writer_write(w, bs[i], &enc, err);
            nb_buf_cleanup(&enc);
        } else {
            st = nb_format_csv.writer_write(w, bs[i], NULL, err);
        }
    }
    if (st == NB_OK) st = nb_format_csv.writer_finish(w, err);
    nb_format_csv.writer_destroy(w);
    nb_ostream_destroy(os);
    *st_out = st;
    if (!out.data) nb_buf_puts(&out, "");
    return nb_buf_detach(&out, NULL);
}

static void test_quoting(void **state)
{
    (void)state;
    const char *names[] = {"a", "b c", "q\""};
    const char *vals[] = {
        "plain", "has,comma", "has\"quote",
        "", NULL, " lead",
        "trail ", "line\nbreak", "cr\rhere",
        "x", "caf\xc3\xa9", "\t",
    };
    struct nb_batch *b = text_batch(names, 3, vals, 4);
    void *o = make_options(NULL);
    nb_status st;
    struct nb_error err = {0};
    for (int enc = 0; enc < 2; enc++) {
        char *s = write_all(o, &b, 1, enc, &st, &err);
        assert_int_equal(st, NB_OK);
        assert_string_equal(s, "a,b c,\"q\"\"\"\n"
                               "plain,\"has,comma\",\"has\"\"quote\"\n"
                               "\"\",,\" lead\"\n"
                               "\"trail \",\"line\nbreak\",\"cr\rhere\"\n"
                               "x,caf\xc3\xa9,\"\t\"\n");
        free(s);
    }
    nb_format_csv.options_destroy(o);
    o = make_options("quote_all: true\nnull_string: \"NULL\"\ndelimiter: ';'\nheader: false\nnewline: crlf\n");
    char *s = write_all(o, &b, 1, true, &st, &err);
    assert_string_equal(s, "\"plain\";\"has,comma\";\"has\"\"quote\"\r\n"
                           "\"\";NULL;\" lead\"\r\n"
                           "\"trail \";\"line\nbreak\";\"cr\rhere\"\r\n"
                           "\"x\";\"caf\xc3\xa9\";\"\t\"\r\n");
    free(s);
    nb_format_csv.options_destroy(o);
    /* A value equal to the null string is quoted so it stays a value. */
    o = make_options("null_string: NA\n");
    const char *v2[] = {"NA", NULL};
    struct nb_batch *b2 = text_batch(names, 2, v2, 1);
    s = write_all(o, &b2, 1, false, &st, &err);
    assert_string_equal(s, "a,b c\n\"NA\",NA\n");
    free(s);
    nb_batch_destroy(b2);
    nb_format_csv.options_destroy(o);
    nb_batch_destroy(b);
}

static void test_native_values(void **state)
{
    (void)state;
    struct nb_schema *s = nb_schema_create();
    nb_schema_add(s, "i", nb_type_make(NB_TYPE_INT64), true);
    nb_schema_add(s, "f", nb_type_make(NB_TYPE_FLOAT64), true);
    nb_schema_add(s, "b", nb_type_make(NB_TYPE_BOOL), true);
    nb_schema_add(s, "d", nb_type_make(NB_TYPE_DATE), true);
    struct nb_batch *b = nb_batch_create(s, 0);
    nb_schema_release(s);
    for (size_t c = 0; c < 4; c++) nb_batch_set_repr(b, c, NB_REPR_NATIVE);
    nb_column_append_i64(&b->cols[0], -42);
    nb_column_append_f64(&b->cols[1], 291.07);
    nb_column_append_bool(&b->cols[2], true);
    nb_column_append_i32(&b->cols[3], nb_days_from_civil(2024, 2, 29));
    nb_column_append_null(&b->cols[0]);
    nb_column_append_f64(&b->cols[1], 1e21);
    nb_column_append_bool(&b->cols[2], false);
    nb_column_append_null(&b->cols[3]);
    b->n_rows = 2;
    void *o = make_options(NULL);
    nb_status st;
    struct nb_error err = {0};
    char *out = write_all(o, &b, 1, true, &st, &err);
    assert_int_equal(st, NB_OK);
    assert_string_equal(out, "i,f,b,d\n-42,291.07,true,2024-02-29\n,1e+21,false,\n");
    free(out);
    nb_format_csv.options_destroy(o);
    nb_batch_destroy(b);
}

static void test_new_column(void **state)
{
    (void)state;
    const char *n1[] = {"a", "b"}, *n2[] = {"b", "a", "c"}, *n3[] = {"b"};
    const char *v1[] = {"1", "2"}, *v2[] = {"3", "4", "5"}, *v3[] = {"6"};
    struct nb_batch *bs[] = {text_batch(n1, 2, v1, 1), text_batch(n2, 3, v2, 1), text_batch(n3, 1, v3, 1)};
    void *o = make_options(NULL);
    nb_status st;
    struct nb_error err = {0};
    char *out = write_all(o, bs, 2, true, &st, &err);
    assert_int_equal(st, NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "new column 'c'"));
    assert_non_null(strstr(err.message, "on_new_column"));
    free(out);
    nb_format_csv.options_destroy(o);
    o = make_options("on_new_column: ignore\n");
    out = write_all(o, bs, 3, true, &st, &err);
    assert_int_equal(st, NB_OK);
    /* Columns by name, the new one dropped, a missing one null. */
    assert_string_equal(out, "a,b\n1,2\n4,3\n,6\n");
    free(out);
    nb_format_csv.options_destroy(o);
    for (int i = 0; i < 3; i++) nb_batch_destroy(bs[i]);
}

static void test_round_trip(void **state)
{
    (void)state;
    /* Random values from a nasty alphabet: written then read back, every value and null survives. */
    srand(5);
    const char *alpha[] = {"a", ",", "\"", "\n", "\r\n", " ", "\xc3\xa9", "\xf0\x9f\x98\x80", "NA", "0", "\t"};
    const char *names[] = {"c1", "c2", "c3"};
    enum { ROWS = 500 };
    static char store[ROWS * 3][40];
    const char *vals[ROWS * 3];
    for (size_t i = 0; i < ROWS * 3; i++) {
        int k = rand() % 8;
        if (k == 0) { vals[i] = NULL; continue; }
        store[i][0] = '\0';
        for (int j = 0; j < k - 1; j++) strcat(store[i], alpha[rand() % 11]);
        vals[i] = store[i];
    }
    struct nb_batch *b = text_batch(names, 3, vals, ROWS);
    struct nb_buf want;
    nb_buf_init(&want);
    render_batch(b, &want);
    const char *cfgs[] = {NULL, "quote_all: true\n", "delimiter: \"\\t\"\n"};
    for (int k = 0; k < 3; k++) {
        void *o = make_options(cfgs[k]);
        nb_status st;
        struct nb_error err = {0};
        char *out = write_all(o, &b, 1, true, &st, &err);
        assert_int_equal(st, NB_OK);
        struct nb_csv_dialect d;
        nb_csv_dialect_init(&d);
        if (k == 2) d.delimiter = '\t';
        struct read_result r;
        assert_int_equal(read_csv(&d, out, strlen(out), false, 100, 300, NULL, &r, &err), NB_OK);
        assert_int_equal(r.n_rows, ROWS);
        assert_string_equal(r.rows.data, want.data);
        read_result_cleanup(&r);
        free(out);
        nb_format_csv.options_destroy(o);
    }
    nb_buf_cleanup(&want);
    nb_batch_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_native_values),
        cmocka_unit_test(test_new_column),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
