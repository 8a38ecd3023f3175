/* Unit tests of the JSON format writer: every type in both representations, mismatches, escaping,
 * array and lines framing, empty streams, schema changes between batches, and resume framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "batch/value.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/json.h"
#include "formats/format.h"
#include "formats/json/json_format.h"
#include "io/stream.h"

static struct nb_schema *schema_of(const char *spec)
{
    /* "name:type;name:type" */
    struct nb_schema *s = nb_schema_create();
    char buf[512];
    strcpy(buf, spec);
    for (char *tok = strtok(buf, ";"); tok; tok = strtok(NULL, ";")) {
        char *colon = strchr(tok, ':');
        *colon = '\0';
        struct nb_type t;
        assert_int_equal(nb_type_parse(colon + 1, &t, NULL), NB_OK);
        nb_schema_add(s, tok, t, true);
    }
    return s;
}

static void text(struct nb_column *c, const char *s) { nb_column_append_text(c, s, strlen(s)); }

static char *encode(enum nb_json_layout layout, const struct nb_batch *b)
{
    struct nb_buf out;
    nb_buf_init(&out);
    struct nb_error err;
    assert_int_equal(nb_json_encode_rows(layout, b, &out, &err), NB_OK);
    char *s = strdup(out.data ? out.data : "");
    nb_buf_cleanup(&out);
    return s;
}

static void test_text_values(void **state)
{
    struct nb_schema *s = schema_of("b:bool;i:int64;f:float64;s:string;d:date;ts:timestamp;dec:decimal(10,2);"
                                    "j:json;t:time;i32:int32");
    struct nb_batch *b = nb_batch_create(s, 4);
    /* Row 0: plain values, a '+' sign dropped, bools in any case. */
    text(&b->cols[0], "TRUE");
    text(&b->cols[1], "+42");
    text(&b->cols[2], "291.07");
    text(&b->cols[3], "hello");
    text(&b->cols[4], "2024-02-29");
    text(&b->cols[5], "2024-02-29T10:00:00.123456+02:00");
    text(&b->cols[6], "12345678.90");
    text(&b->cols[7], "{\"x\":[1,2]}");
    text(&b->cols[8], "10:11:12");
    text(&b->cols[9], "-7");
    /* Row 1: nulls everywhere. */
    for (int c = 0; c < 10; c++) nb_column_append_null(&b->cols[c]);
    /* Row 2: mismatches stay strings, exactly as they came. */
    text(&b->cols[0], "yes"); nb_column_mark_mismatch(&b->cols[0]);
    text(&b->cols[1], "N/A"); nb_column_mark_mismatch(&b->cols[1]);
    text(&b->cols[2], "1e400"); nb_column_mark_mismatch(&b->cols[2]);
    text(&b->cols[3], "");
    text(&b->cols[4], "someday"); nb_column_mark_mismatch(&b->cols[4]);
    text(&b->cols[5], "");
    text(&b->cols[6], "-0.5");
    text(&b->cols[7], "null");
    text(&b->cols[8], "23:59:59.999999");
    text(&b->cols[9], "12345678901234567890"); nb_column_mark_mismatch(&b->cols[9]);
    /* Row 3: numbers whose text is not a JSON literal go out as strings, never as invalid JSON. */
    text(&b->cols[0], "false");
    text(&b->cols[1], "007");
    text(&b->cols[2], ".5");
    text(&b->cols[3], "x");
    text(&b->cols[4], "2024-01-01");
    text(&b->cols[5], "2024-01-01 00:00:00");
    text(&b->cols[6], "1");
    text(&b->cols[7], "[]");
    text(&b->cols[8], "00:00:00");
    text(&b->cols[9], "+0");
    b->n_rows = 4;
    assert_int_equal(nb_batch_check(b, NULL), NB_OK);
    char *out = encode(NB_JSON_LAYOUT_LINES, b);
    const char *expect =
        "{\"b\":true,\"i\":42,\"f\":291.07,\"s\":\"hello\",\"d\":\"2024-02-29\",\"ts\":\"2024-02-29T10:00:00.123456+02:00\","
        "\"dec\":\"12345678.90\",\"j\":{\"x\":[1,2]},\"t\":\"10:11:12\",\"i32\":-7}\n"
        "{\"b\":null,\"i\":null,\"f\":null,\"s\":null,\"d\":null,\"ts\":null,\"dec\":null,\"j\":null,\"t\":null,\"i32\":null}\n"
        "{\"b\":\"yes\",\"i\":\"N/A\",\"f\":\"1e400\",\"s\":\"\",\"d\":\"someday\",\"ts\":\"\",\"dec\":\"-0.5\",\"j\":null,"
        "\"t\":\"23:59:59.999999\",\"i32\":\"12345678901234567890\"}\n"
        "{\"b\":false,\"i\":\"007\",\"f\":\".5\",\"s\":\"x\",\"d\":\"2024-01-01\",\"ts\":\"2024-01-01 00:00:00\",\"dec\":\"1\","
        "\"j\":[],\"t\":\"00:00:00\",\"i32\":0}\n";
    assert_string_equal(out, expect);
    /* Every line is valid JSON. */
    struct nb_arena a;
    nb_arena_init(&a, 4096);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        struct nb_json *v;
        assert_int_equal(nb_json_parse(line, strlen(line), &a, &v, NULL), NB_OK);
        assert_int_equal(v->u.object.count, 10);
    }
    nb_arena_cleanup(&a);
    free(out);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_native_values(void **state)
{
    struct nb_schema *s = schema_of("b:bool;i:int64;i32:int32;f:float64;d:date;t:time;ts:timestamp;tz:timestamptz;bin:binary");
    struct nb_batch *b = nb_batch_create(s, 0);
    for (int c = 0; c < 8; c++) nb_batch_set_repr(b, (size_t)c, NB_REPR_NATIVE);
    assert_int_equal(nb_batch_reserve(b, 4, NULL), NB_OK);
    nb_column_append_bool(&b->cols[0], true);
    nb_column_append_i64(&b->cols[1], INT64_MIN);
    nb_column_append_i32(&b->cols[2], -5);
    nb_column_append_f64(&b->cols[3], 0.1);
    nb_column_append_i32(&b->cols[4], nb_days_from_civil(2024, 2, 29));
    nb_column_append_i64(&b->cols[5], 3723000001LL);
    nb_column_append_i64(&b->cols[6], 1700000000000000LL);
    nb_column_append_i64(&b->cols[7], 0);
    nb_column_append_text(&b->cols[8], "\x00\xff\x10", 3);
    nb_column_append_bool(&b->cols[0], false);
    nb_column_append_i64(&b->cols[1], 1);
    nb_column_append_null(&b->cols[2]);
    nb_column_append_f64(&b->cols[3], NAN);
    nb_column_append_null(&b->cols[4]);
    nb_column_append_i64(&b->cols[5], 0);
    nb_column_append_null(&b->cols[6]);
    nb_column_append_null(&b->cols[7]);
    nb_column_append_text(&b->cols[8], "ab", 2);
    b->n_rows = 2;
    assert_int_equal(nb_batch_check(b, NULL), NB_OK);
    char *out = encode(NB_JSON_LAYOUT_ARRAY, b);
    assert_string_equal(out,
                        "{\"b\":true,\"i\":-9223372036854775808,\"i32\":-5,\"f\":0.1,\"d\":\"2024-02-29\",\"t\":\"01:02:03.000001\","
                        "\"ts\":\"2023-11-14T22:13:20\",\"tz\":\"1970-01-01T00:00:00Z\",\"bin\":\"AP8Q\"},\n"
                        "{\"b\":false,\"i\":1,\"i32\":null,\"f\":\"NaN\",\"d\":null,\"t\":\"00:00:00\",\"ts\":null,\"tz\":null,"
                        "\"bin\":\"YWI=\"}");
    free(out);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_escaping(void **state)
{
    struct nb_schema *s = schema_of("we\"ird\nkey:string");
    struct nb_batch *b = nb_batch_create(s, 2);
    const char v[] = "q\" b\\ \x01\x1f\b\f\n\r\t \x7f caf\xc3\xa9 \xf0\x9f\x98\x80 </script>";
    nb_column_append_text(&b->cols[0], v, sizeof v - 1);
    /* A long value: runs copied in one go, escapes spread through it. */
    char *big = malloc(100000);
    for (int i = 0; i < 100000; i++) big[i] = (i % 1000 == 999) ? '"' : (char)('a' + i % 26);
    nb_column_append_text(&b->cols[0], big, 100000);
    b->n_rows = 2;
    char *out = encode(NB_JSON_LAYOUT_LINES, b);
    const char *line2 = strchr(out, '\n') + 1;
    *strchr(out, '\n') = '\0';
    assert_string_equal(out, "{\"we\\\"ird\\nkey\":\"q\\\" b\\\\ \\u0001\\u001f\\b\\f\\n\\r\\t \x7f caf\xc3\xa9 \xf0\x9f\x98\x80 </script>\"}");
    /* Round trip through the parser gives the exact bytes back. */
    struct nb_arena a;
    nb_arena_init(&a, 4096);
    struct nb_json *j;
    assert_int_equal(nb_json_parse(out, strlen(out), &a, &j, NULL), NB_OK);
    assert_string_equal(j->u.object.members[0].key, "we\"ird\nkey");
    assert_int_equal(j->u.object.members[0].value->u.string.len, sizeof v - 1);
    assert_memory_equal(j->u.object.members[0].value->u.string.ptr, v, sizeof v - 1);
    assert_int_equal(nb_json_parse(line2, strlen(line2), &a, &j, NULL), NB_OK);
    assert_int_equal(j->u.object.members[0].value->u.string.len, 100000);
    assert_memory_equal(j->u.object.members[0].value->u.string.ptr, big, 100000);
    nb_arena_cleanup(&a);
    free(big);
    free(out);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

/* The word-at-a-time scan must find a special byte wherever it sits; the reference is core's
 * nb_buf_json_string. */
static void test_escape_positions(void **state)
{
    struct nb_schema *s = schema_of("k:string");
    const char specials[] = {'"', '\\', '\n', '\x01', '\x1f', ' ', '\x7f', (char)0xc3};
    for (size_t sp = 0; sp < sizeof specials; sp++) {
        for (size_t len = 1; len <= 24; len++) {
            for (size_t at = 0; at < len; at++) {
                char v[32];
                memset(v, 'a', len);
                v[at] = specials[sp];
                if ((unsigned char)specials[sp] == 0xc3) {   /* keep it valid UTF-8 */
                    if (at + 1 >= len) continue;
                    v[at + 1] = (char)0xa9;
                }
                struct nb_batch *b = nb_batch_create(s, 1);
                nb_column_append_text(&b->cols[0], v, len);
                b->n_rows = 1;
                char *out = encode(NB_JSON_LAYOUT_ARRAY, b);
                struct nb_buf ref;
                nb_buf_init(&ref);
                nb_buf_puts(&ref, "{\"k\":");
                nb_buf_json_string(&ref, v, len);
                nb_buf_putc(&ref, '}');
                if (strcmp(out, ref.data) != 0) fail_msg("special %zu len %zu at %zu: %s vs %s", sp, len, at, out, ref.data);
                nb_buf_cleanup(&ref);
                free(out);
                nb_batch_destroy(b);
            }
        }
    }
    nb_schema_release(s);
}

static struct nb_batch *int_batch(struct nb_schema *s, int from, int n)
{
    struct nb_batch *b = nb_batch_create(s, (size_t)n);
    char t[32];
    for (int i = 0; i < n; i++) {
        snprintf(t, sizeof t, "%d", from + i);
        for (size_t c = 0; c < s->n_fields; c++) text(&b->cols[c], t);
    }
    b->n_rows = (size_t)n;
    return b;
}

/* Runs the writer over batches with row counts counts[0..n) (a negative count: the batch goes
 * through write() without encoded bytes). */
static char *write_stream(enum nb_json_layout layout, struct nb_schema *s, const int *counts, int n,
                          const struct nb_format_resume *resume, const char *prefix)
{
    struct nb_cfg *cfg = nb_cfg_new_map();
    nb_cfg_set(cfg, "format", layout == NB_JSON_LAYOUT_LINES ? "lines" : "array");
    void *opts;
    assert_int_equal(nb_format_json.options_create(cfg, &opts, NULL), NB_OK);
    struct nb_buf file;
    nb_buf_init(&file);
    if (prefix) nb_buf_puts(&file, prefix);
    struct nb_ostream *os = nb_buf_ostream_create(&file);
    void *w;
    assert_int_equal(nb_format_json.writer_open(&w, opts, os, s, resume, NULL), NB_OK);
    int row = 0;
    for (int i = 0; i < n; i++) {
        int k = counts[i] < 0 ? -counts[i] : counts[i];
        struct nb_batch *b = int_batch(s, row, k);
        row += k;
        struct nb_buf enc;
        nb_buf_init(&enc);
        assert_int_equal(nb_format_json.encode(opts, b, &enc, NULL), NB_OK);
        assert_int_equal(nb_format_json.writer_write(w, b, counts[i] < 0 ? NULL : &enc, NULL), NB_OK);
        nb_buf_cleanup(&enc);
        nb_batch_destroy(b);
    }
    assert_int_equal(nb_format_json.writer_flush(w, NULL), NB_OK);
    assert_int_equal(nb_format_json.writer_finish(w, NULL), NB_OK);
    nb_format_json.writer_destroy(w);
    os->ops->finish(os, NULL);
    nb_ostream_destroy(os);
    nb_format_json.options_destroy(opts);
    nb_cfg_destroy(cfg);
    char *r = strdup(file.data ? file.data : "");
    nb_buf_cleanup(&file);
    return r;
}

static void test_framing(void **state)
{
    struct nb_schema *s = schema_of("a:int64");
    char *out = write_stream(NB_JSON_LAYOUT_ARRAY, s, NULL, 0, NULL, NULL);
    assert_string_equal(out, "[]\n");
    free(out);
    int counts[] = {2, 0, 1, -2};
    out = write_stream(NB_JSON_LAYOUT_ARRAY, s, counts, 4, NULL, NULL);
    assert_string_equal(out, "[\n{\"a\":0},\n{\"a\":1},\n{\"a\":2},\n{\"a\":3},\n{\"a\":4}\n]\n");
    free(out);
    int empty[] = {0, 0};
    out = write_stream(NB_JSON_LAYOUT_ARRAY, s, empty, 2, NULL, NULL);
    assert_string_equal(out, "[]\n");
    free(out);
    out = write_stream(NB_JSON_LAYOUT_LINES, s, counts, 4, NULL, NULL);
    assert_string_equal(out, "{\"a\":0}\n{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\":4}\n");
    free(out);
    out = write_stream(NB_JSON_LAYOUT_LINES, s, NULL, 0, NULL, NULL);
    assert_string_equal(out, "");
    free(out);
    nb_schema_release(s);
}

static void test_resume_framing(void **state)
{
    struct nb_schema *s = schema_of("a:int64");
    /* The partial file was truncated at a checkpoint after two rows. */
    struct nb_format_resume resume = {true, 2};
    int counts[] = {1, 1};
    char *out = write_stream(NB_JSON_LAYOUT_ARRAY, s, counts, 2, &resume, "[\n{\"a\":8},\n{\"a\":9}");
    assert_string_equal(out, "[\n{\"a\":8},\n{\"a\":9},\n{\"a\":0},\n{\"a\":1}\n]\n");
    struct nb_arena a;
    nb_arena_init(&a, 1024);
    struct nb_json *v;
    assert_int_equal(nb_json_parse(out, strlen(out), &a, &v, NULL), NB_OK);
    assert_int_equal(v->u.array.count, 4);
    nb_arena_cleanup(&a);
    free(out);
    /* Resumed with nothing more to write: just the closing bracket. */
    out = write_stream(NB_JSON_LAYOUT_ARRAY, s, NULL, 0, &resume, "[\n{\"a\":8},\n{\"a\":9}");
    assert_string_equal(out, "[\n{\"a\":8},\n{\"a\":9}\n]\n");
    free(out);
    /* Resumed after the bracket but before any row. */
    struct nb_format_resume at_zero = {true, 0};
    out = write_stream(NB_JSON_LAYOUT_ARRAY, s, counts, 1, &at_zero, "[\n");
    assert_string_equal(out, "[\n{\"a\":0}\n]\n");
    free(out);
    struct nb_format_resume lines = {true, 1};
    out = write_stream(NB_JSON_LAYOUT_LINES, s, counts, 1, &lines, "{\"a\":7}\n");
    assert_string_equal(out, "{\"a\":7}\n{\"a\":0}\n");
    free(out);
    nb_schema_release(s);
}

/* A batch with a wider schema (a new column) is accepted: keys come from each batch. */
static void test_schema_change(void **state)
{
    struct nb_schema *s1 = schema_of("a:int64");
    struct nb_schema *s2 = schema_of("a:int64;b:string");
    void *opts;
    assert_int_equal(nb_format_json.options_create(NULL, &opts, NULL), NB_OK);
    struct nb_buf file;
    nb_buf_init(&file);
    struct nb_ostream *os = nb_buf_ostream_create(&file);
    void *w;
    assert_int_equal(nb_format_json.writer_open(&w, opts, os, s1, NULL, NULL), NB_OK);
    struct nb_batch *b1 = int_batch(s1, 1, 1), *b2 = int_batch(s2, 2, 1);
    assert_int_equal(nb_format_json.writer_write(w, b1, NULL, NULL), NB_OK);
    assert_int_equal(nb_format_json.writer_write(w, b2, NULL, NULL), NB_OK);
    assert_int_equal(nb_format_json.writer_finish(w, NULL), NB_OK);
    assert_string_equal(file.data, "[\n{\"a\":1},\n{\"a\":2,\"b\":\"2\"}\n]\n");
    nb_format_json.writer_destroy(w);
    nb_ostream_destroy(os);
    nb_format_json.options_destroy(opts);
    nb_batch_destroy(b1);
    nb_batch_destroy(b2);
    nb_buf_cleanup(&file);
    nb_schema_release(s1);
    nb_schema_release(s2);
}

static void test_options(void **state)
{
    assert_string_equal(nb_format_json.name, "json");
    assert_string_equal(nb_format_json.extension, ".json");
    assert_true(nb_format_json.keeps_mismatches_as_text);
    assert_true(nb_format_json.resumable);
    assert_true(nb_json_path_is_lines("out/a.ndjson"));
    assert_true(nb_json_path_is_lines("out/a.jsonl.gz"));
    assert_false(nb_json_path_is_lines("out/a.json"));
    assert_false(nb_json_path_is_lines("ndjson"));
    struct { const char *path, *format; const char *expect; } cases[] = {
        {"x.ndjson", NULL, "{\"a\":1}\n"},
        {"x.jsonl.zst", "auto", "{\"a\":1}\n"},
        {"x.json", NULL, "[\n{\"a\":1}\n]\n"},
        {"x.ndjson", "array", "[\n{\"a\":1}\n]\n"},
        {"x.json", "lines", "{\"a\":1}\n"},
    };
    struct nb_schema *s = schema_of("a:int64");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct nb_cfg *cfg = nb_cfg_new_map();
        nb_cfg_set(cfg, "path", cases[i].path);
        if (cases[i].format) nb_cfg_set(cfg, "format", cases[i].format);
        void *opts;
        assert_int_equal(nb_format_json.options_create(cfg, &opts, NULL), NB_OK);
        struct nb_buf file;
        nb_buf_init(&file);
        struct nb_ostream *os = nb_buf_ostream_create(&file);
        void *w;
        assert_int_equal(nb_format_json.writer_open(&w, opts, os, s, NULL, NULL), NB_OK);
        struct nb_batch *b = int_batch(s, 1, 1);
        assert_int_equal(nb_format_json.writer_write(w, b, NULL, NULL), NB_OK);
        assert_int_equal(nb_format_json.writer_finish(w, NULL), NB_OK);
        assert_string_equal(file.data, cases[i].expect);
        nb_batch_destroy(b);
        nb_format_json.writer_destroy(w);
        nb_ostream_destroy(os);
        nb_buf_cleanup(&file);
        nb_format_json.options_destroy(opts);
        nb_cfg_destroy(cfg);
    }
    struct nb_cfg *cfg = nb_cfg_new_map();
    nb_cfg_set(cfg, "format", "xml");
    void *opts = NULL;
    struct nb_error err;
    assert_int_equal(nb_format_json.options_create(cfg, &opts, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "xml"));
    nb_cfg_destroy(cfg);
    nb_schema_release(s);
}

/* Many columns (more than the encoder keeps on its stack), rows across several reservation
 * groups, nulls, long and short values, plain numbers and a mismatch: every line exactly as a
 * value-by-value reference built with nb_buf_json_string gives it. */
static void test_wide_batch_reference(void **state)
{
    (void)state;
    struct nb_schema *s = nb_schema_create();
    char name[64];
    for (int c = 0; c < 40; c++) {
        snprintf(name, sizeof name, c == 7 ? "long key name number %d with \"quote\"" : "k%d", c);
        nb_schema_add(s, name, nb_type_make(c % 4 == 1 ? NB_TYPE_INT64 : NB_TYPE_STRING), true);
    }
    const int rows = 300;
    struct nb_batch *b = nb_batch_create(s, (size_t)rows);
    char v[96];
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < 40; c++) {
            struct nb_column *col = &b->cols[c];
            if ((r + c) % 7 == 0) { nb_column_append_null(col); continue; }
            if (c % 4 == 1) snprintf(v, sizeof v, (r == 150 && c == 5) ? "N/A" : "%d", r * 1000 - c);
            else snprintf(v, sizeof v, "%.*s-%d", (r * 7 + c) % 40, "value value value value value value value value", r);
            text(col, v);
            if (r == 150 && c == 5) nb_column_mark_mismatch(col);
        }
    b->n_rows = (size_t)rows;
    char *out = encode(NB_JSON_LAYOUT_LINES, b);
    struct nb_buf ref;
    nb_buf_init(&ref);
    for (int r = 0; r < rows; r++) {
        nb_buf_putc(&ref, '{');
        for (int c = 0; c < 40; c++) {
            if (c) nb_buf_putc(&ref, ',');
            const char *nm = s->fields[c].name;
            nb_buf_json_string(&ref, nm, strlen(nm));
            nb_buf_putc(&ref, ':');
            const struct nb_column *col = &b->cols[c];
            size_t n;
            const char *t = nb_column_text(col, (size_t)r, &n);
            if (nb_column_is_null(col, (size_t)r)) nb_buf_puts(&ref, "null");
            else if (c % 4 == 1 && !nb_column_is_mismatch(col, (size_t)r)) nb_buf_append(&ref, t, n);
            else nb_buf_json_string(&ref, t, n);
        }
        nb_buf_puts(&ref, "}\n");
    }
    assert_string_equal(out, ref.data);
    nb_buf_cleanup(&ref);
    free(out);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_values), cmocka_unit_test(test_native_values), cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_escape_positions),    cmocka_unit_test(test_wide_batch_reference),
        cmocka_unit_test(test_framing),     cmocka_unit_test(test_resume_framing), cmocka_unit_test(test_schema_change),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
