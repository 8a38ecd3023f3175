/* Unit tests of batch/batch.c and batch/schema.c: appending text, native and null values,
 * mismatch marking, filter, truncate, check, byte accounting, schema helpers and type names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "batch/schema.h"
#include "core/buf.h"

static struct nb_schema *three_cols(void)
{
    struct nb_schema *s = nb_schema_create();
    assert_int_equal(nb_schema_add(s, "id", nb_type_make(NB_TYPE_INT64), false), 0);
    assert_int_equal(nb_schema_add(s, "name", nb_type_make(NB_TYPE_STRING), true), 1);
    assert_int_equal(nb_schema_add(s, "score", nb_type_make(NB_TYPE_FLOAT64), true), 2);
    return s;
}

static void text_is(const struct nb_column *c, size_t i, const char *want)
{
    size_t n;
    const char *p = nb_column_text(c, i, &n);
    assert_int_equal(n, strlen(want));
    if (n) assert_memory_equal(p, want, n);
}

static void test_append_and_read(void **state)
{
    struct nb_schema *s = three_cols();
    struct nb_batch *b = nb_batch_create(s, 0);
    nb_schema_release(s);   /* the batch holds its own reference */
    assert_non_null(b);
    nb_batch_set_repr(b, 0, NB_REPR_NATIVE);
    nb_batch_set_repr(b, 1, NB_REPR_NATIVE);   /* STRING has no native form: stays TEXT */
    assert_int_equal(b->cols[0].repr, NB_REPR_NATIVE);
    assert_int_equal(b->cols[1].repr, NB_REPR_TEXT);
    assert_int_equal(b->cols[2].repr, NB_REPR_TEXT);

    /* 1000 rows: growth past the first capacity, empty strings, nulls every 7th row */
    for (size_t i = 0; i < 1000; i++) {
        nb_column_append_i64(&b->cols[0], (int64_t)i * 3 - 5);
        if (i % 7 == 0) nb_column_append_null(&b->cols[1]);
        else if (i % 5 == 0) nb_column_append_text(&b->cols[1], "", 0);
        else {
            char name[32];
            int n = snprintf(name, sizeof name, "name-%zu", i);
            nb_column_append_text(&b->cols[1], name, (size_t)n);
        }
        char sc[32];
        int n = snprintf(sc, sizeof sc, "%zu.5", i);
        nb_column_append_text(&b->cols[2], sc, (size_t)n);
        b->n_rows++;
    }
    assert_int_equal(nb_batch_check(b, NULL), NB_OK);
    assert_int_equal(b->cols[1].null_count, 143);
    for (size_t i = 0; i < 1000; i++) {
        assert_true(nb_column_i64(&b->cols[0], i) == (int64_t)i * 3 - 5);
        if (i % 7 == 0) {
            assert_true(nb_column_is_null(&b->cols[1], i));
        } else if (i % 5 == 0) {
            assert_false(nb_column_is_null(&b->cols[1], i));
            text_is(&b->cols[1], i, "");
        } else {
            char name[32];
            snprintf(name, sizeof name, "name-%zu", i);
            text_is(&b->cols[1], i, name);
        }
    }
    text_is(&b->cols[2], 999, "999.5");
    nb_batch_destroy(b);
}

static void test_empty_text_first(void **state)
{
    /* An empty value into a fresh column must not touch the (still NULL) data buffer. */
    struct nb_schema *s = nb_schema_create();
    nb_schema_add(s, "a", nb_type_make(NB_TYPE_STRING), true);
    struct nb_batch *b = nb_batch_create(s, 4);
    nb_column_append_text(&b->cols[0], "", 0);
    nb_column_append_text(&b->cols[0], "x", 1);
    b->n_rows = 2;
    assert_int_equal(nb_batch_check(b, NULL), NB_OK);
    text_is(&b->cols[0], 1, "x");
    uint8_t keep = 0x2;
    nb_batch_filter(b, &keep);
    assert_int_equal(b->n_rows, 1);
    text_is(&b->cols[0], 0, "x");
    keep = 0;
    nb_batch_filter(b, &keep);
    assert_int_equal(b->n_rows, 0);
    assert_int_equal(b->cols[0].data_len, 0);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_native_types(void **state)
{
    struct nb_schema *s = nb_schema_create();
    nb_schema_add(s, "b", nb_type_make(NB_TYPE_BOOL), true);
    nb_schema_add(s, "i", nb_type_make(NB_TYPE_INT32), true);
    nb_schema_add(s, "f", nb_type_make(NB_TYPE_FLOAT64), true);
    nb_schema_add(s, "d", nb_type_make(NB_TYPE_DATE), true);
    nb_schema_add(s, "t", nb_type_make(NB_TYPE_TIMESTAMP), true);
    struct nb_batch *b = nb_batch_create(s, 2);
    for (size_t c = 0; c < 5; c++) nb_batch_set_repr(b, c, NB_REPR_NATIVE);
    assert_int_equal(b->cols[0].width, 1);
    assert_int_equal(b->cols[1].width, 4);
    assert_int_equal(b->cols[3].width, 4);
    assert_int_equal(b->cols[4].width, 8);
    nb_column_append_bool(&b->cols[0], true);
    nb_column_append_i32(&b->cols[1], -7);
    nb_column_append_f64(&b->cols[2], 2.5);
    nb_column_append_i32(&b->cols[3], 19782);
    nb_column_append_i64(&b->cols[4], 1704067200000000LL);
    for (size_t c = 0; c < 5; c++) nb_column_append_null(&b->cols[c]);
    b->n_rows = 2;
    assert_int_equal(nb_batch_check(b, NULL), NB_OK);
    assert_true(nb_column_bool(&b->cols[0], 0));
    assert_int_equal(nb_column_i32(&b->cols[1], 0), -7);
    assert_true(nb_column_f64(&b->cols[2], 0) == 2.5);
    assert_int_equal(nb_column_i32(&b->cols[3], 0), 19782);
    assert_true(nb_column_i64(&b->cols[4], 0) == 1704067200000000LL);
    for (size_t c = 0; c < 5; c++) {
        assert_true(nb_column_is_null(&b->cols[c], 1));
        assert_int_equal(b->cols[c].null_count, 1);
    }
    assert_false(nb_column_bool(&b->cols[0], 1));   /* nulls are zeroed */
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_mismatch(void **state)
{
    struct nb_schema *s = three_cols();
    struct nb_batch *b = nb_batch_create(s, 0);
    struct nb_column *c = &b->cols[0];
    nb_column_mark_mismatch(c);   /* nothing appended yet: no-op */
    assert_null(c->mismatch);
    const char *vals[] = {"1", "N/A", "3", "oops"};
    for (size_t i = 0; i < 200; i++) {
        const char *v = vals[i % 4];
        nb_column_append_text(c, v, strlen(v));
        if (i % 2) nb_column_mark_mismatch(c);   /* grows with the column after the first mark */
        nb_column_append_null(&b->cols[1]);
        nb_column_append_null(&b->cols[2]);
        b->n_rows++;
    }
    assert_non_null(c->mismatch);
    assert_int_equal(c->mismatch_count, 100);
    for (size_t i = 0; i < 200; i++) assert_int_equal(nb_column_is_mismatch(c, i), i % 2);
    assert_int_equal(nb_batch_check(b, NULL), NB_OK);

    /* truncate drops the mismatch marks of the dropped rows */
    nb_batch_truncate(b, 150);
    assert_int_equal(b->n_rows, 150);
    assert_int_equal(c->len, 150);
    assert_int_equal(c->mismatch_count, 75);
    assert_int_equal(b->cols[1].null_count, 150);
    text_is(c, 149, "N/A");
    /* and appending after a truncate reuses the space */
    nb_column_append_text(c, "77", 2);
    nb_column_append_null(&b->cols[1]);
    nb_column_append_null(&b->cols[2]);
    b->n_rows++;
    assert_false(nb_column_is_mismatch(c, 150));
    text_is(c, 150, "77");
    assert_int_equal(nb_batch_check(b, NULL), NB_OK);
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_filter(void **state)
{
    struct nb_schema *s = nb_schema_create();
    nb_schema_add(s, "n", nb_type_make(NB_TYPE_INT64), true);
    nb_schema_add(s, "t", nb_type_make(NB_TYPE_STRING), true);
    struct nb_batch *b = nb_batch_create(s, 0);
    nb_batch_set_repr(b, 0, NB_REPR_NATIVE);
    b->locs = nb_arena_alloc(&b->arena, 20 * sizeof *b->locs);
    for (size_t i = 0; i < 20; i++) {
        if (i % 4 == 3) nb_column_append_null(&b->cols[0]);
        else nb_column_append_i64(&b->cols[0], (int64_t)i);
        char t[16];
        int n = snprintf(t, sizeof t, "row%zu", i);
        if (i % 5 == 4) nb_column_append_null(&b->cols[1]);
        else nb_column_append_text(&b->cols[1], t, (size_t)n);
        if (i % 3 == 0) nb_column_mark_mismatch(&b->cols[1]);
        b->locs[i] = (struct nb_row_loc){i + 1, i * 10};
        b->n_rows++;
    }
    /* keep even rows */
    uint8_t keep[3] = {0x55, 0x55, 0x05};
    nb_batch_filter(b, keep);
    assert_int_equal(b->n_rows, 10);
    assert_int_equal(nb_batch_check(b, NULL), NB_OK);
    size_t nulls0 = 0, nulls1 = 0, mism = 0;
    for (size_t j = 0; j < 10; j++) {
        size_t i = j * 2;
        if (i % 4 == 3) { assert_true(nb_column_is_null(&b->cols[0], j)); nulls0++; }
        else assert_true(nb_column_i64(&b->cols[0], j) == (int64_t)i);
        if (i % 5 == 4) { assert_true(nb_column_is_null(&b->cols[1], j)); nulls1++; }
        else {
            char t[16];
            snprintf(t, sizeof t, "row%zu", i);
            text_is(&b->cols[1], j, t);
        }
        assert_int_equal(nb_column_is_mismatch(&b->cols[1], j), i % 3 == 0);
        mism += i % 3 == 0;
        assert_true(b->locs[j].line == i + 1 && b->locs[j].offset == i * 10);
    }
    assert_int_equal(b->cols[0].null_count, nulls0);
    assert_int_equal(b->cols[1].null_count, nulls1);
    assert_int_equal(b->cols[1].mismatch_count, mism);
    /* rows past the end are cleared so a later append starts clean */
    for (size_t i = 10; i < 20; i++) assert_false(nb_bit_get(b->cols[1].validity, i));
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_check_and_bytes(void **state)
{
    struct nb_schema *s = three_cols();
    struct nb_batch *b = nb_batch_create(s, 100);
    struct nb_error err;
    nb_batch_set_repr(b, 0, NB_REPR_NATIVE);
    nb_column_append_i64(&b->cols[0], 1);
    b->n_rows = 1;
    assert_int_equal(nb_batch_check(b, &err), NB_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "'name'"));
    nb_column_append_null(&b->cols[1]);
    nb_column_append_null(&b->cols[2]);
    assert_int_equal(nb_batch_check(b, &err), NB_OK);

    size_t before = nb_batch_bytes(b);
    assert_true(before >= 100 * 3 * 4);   /* at least the offsets of 100 rows x 3 columns */
    char big[4096];
    memset(big, 'x', sizeof big);
    nb_column_append_text(&b->cols[1], big, sizeof big);
    /* counts what the column holds now (its text buffer may have had spare room before) */
    assert_true(nb_batch_bytes(b) > before);
    assert_true(nb_batch_bytes(b) >= sizeof big + 100 * 3 * 4);

    nb_batch_truncate(b, 1);
    assert_int_equal(nb_batch_check(b, &err), NB_OK);
    b->cols[2].oom = true;   /* a sticky allocation failure is reported, naming the column */
    assert_int_equal(nb_batch_check(b, &err), NB_ERR_NOMEM);
    assert_non_null(strstr(err.message, "score"));
    nb_batch_destroy(b);
    nb_schema_release(s);
    nb_batch_destroy(NULL);
}

static void free_raw(void *raw, void *opaque)
{
    free(raw);
    (*(int *)opaque)++;
}

static void test_raw_batch(void **state)
{
    /* A raw batch: no schema yet; the decoder sets one; destroy frees raw through raw_free. */
    int freed = 0;
    struct nb_batch *b = nb_batch_create(NULL, 0);
    assert_non_null(b);
    b->raw = strdup("a,b\n");
    b->raw_len = 4;
    b->raw_free = free_raw;
    b->raw_opaque = &freed;
    assert_int_equal(nb_batch_check(b, NULL), NB_OK);
    struct nb_schema *s = three_cols();
    assert_int_equal(nb_batch_set_schema(b, s, NULL), NB_OK);
    nb_column_append_text(&b->cols[0], "1", 1);
    nb_batch_truncate(b, 0);
    assert_int_equal(b->cols[0].len, 0);
    /* set_schema again drops values and rebuilds columns */
    nb_column_append_text(&b->cols[1], "x", 1);
    assert_int_equal(nb_batch_set_schema(b, s, NULL), NB_OK);
    assert_int_equal(b->cols[1].len, 0);
    assert_int_equal(s->refcount, 2);
    nb_batch_destroy(b);
    assert_int_equal(freed, 1);
    assert_int_equal(s->refcount, 1);
    nb_schema_release(s);
}

static void test_schema(void **state)
{
    struct nb_schema *s = three_cols();
    struct nb_type dec = {NB_TYPE_DECIMAL, 10, 2, false};
    assert_int_equal(nb_schema_add(s, "amount", dec, true), 3);
    struct nb_type tz = nb_type_make(NB_TYPE_TIMESTAMP);
    tz.utc = true;
    assert_int_equal(nb_schema_add(s, "at \"q\"", tz, false), 4);
    assert_int_equal(nb_schema_find(s, "score"), 2);
    assert_int_equal(nb_schema_find(s, "nope"), -1);

    struct nb_schema *c = nb_schema_copy(s);
    assert_true(nb_schema_equal(s, c));
    c->fields[3].type.scale = 3;
    assert_false(nb_schema_equal(s, c));
    assert_false(nb_schema_equal(s, NULL));
    assert_true(nb_schema_equal(NULL, NULL));
    nb_schema_release(c);

    struct nb_buf out;
    nb_buf_init(&out);
    nb_schema_to_json(s, &out);
    assert_string_equal(out.data,
                        "[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
                        "{\"name\":\"name\",\"type\":\"string\",\"nullable\":true},"
                        "{\"name\":\"score\",\"type\":\"float64\",\"nullable\":true},"
                        "{\"name\":\"amount\",\"type\":\"decimal(10,2)\",\"nullable\":true},"
                        "{\"name\":\"at \\\"q\\\"\",\"type\":\"timestamptz\",\"nullable\":false}]");
    nb_buf_cleanup(&out);
    assert_ptr_equal(nb_schema_retain(s), s);
    nb_schema_release(s);
    nb_schema_release(s);
    nb_schema_release(NULL);
}

static void test_type_names(void **state)
{
    struct nb_type t;
    struct nb_error err;
    char out[48];
    const char *names[] = {"bool", "int32", "int64", "float64", "decimal(12,4)", "string", "binary",
                           "date", "time", "timestamp", "timestamptz", "json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_int_equal(nb_type_parse(names[i], &t, &err), NB_OK);
        nb_type_format(t, out, sizeof out);
        assert_string_equal(out, names[i]);
    }
    assert_int_equal(nb_type_parse("BIGINT", &t, NULL), NB_OK);
    assert_int_equal(t.id, NB_TYPE_INT64);
    assert_int_equal(nb_type_parse("DECIMAL(38,9)", &t, NULL), NB_OK);
    assert_true(t.id == NB_TYPE_DECIMAL && t.precision == 38 && t.scale == 9);
    assert_int_equal(nb_type_parse("numeric(5,0)", &t, NULL), NB_OK);
    assert_int_equal(nb_type_parse("decimal(77,2)", &t, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_type_parse("decimal(5,6)", &t, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_type_parse("decimal(0,0)", &t, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_type_parse("decimal(-1,0)", &t, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_type_parse("decimal(5,2)x", &t, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_type_parse("decimal(5,2", &t, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_type_parse("decimal(5)", &t, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_type_parse("strng", &t, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "strng"));
    assert_string_equal(nb_type_name(NB_TYPE_COUNT_), "unknown");
    assert_int_equal(nb_type_native_width(NB_TYPE_STRING), 0);
    assert_int_equal(nb_type_native_width(NB_TYPE_TIME), 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_read), cmocka_unit_test(test_empty_text_first),
        cmocka_unit_test(test_native_types),    cmocka_unit_test(test_mismatch),
        cmocka_unit_test(test_filter),          cmocka_unit_test(test_check_and_bytes),
        cmocka_unit_test(test_raw_batch),       cmocka_unit_test(test_schema),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
