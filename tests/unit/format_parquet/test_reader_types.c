/* The Parquet reader's type mapping on one-column files built here from the spec (metadata written
 * with the Thrift compact encoder, values as PLAIN bytes): forms DuckDB does not write (INT96,
 * converted types without a logical type, unsigned 64-bit, nanosecond TIME/TIMESTAMP, short
 * fixed-length decimals) and the refusal of nested and repeated columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/parquet/read_internal.h"
#include "formats/parquet/reader.h"

enum { T_BOOLEAN, T_INT32, T_INT64, T_INT96, T_FLOAT, T_DOUBLE, T_BYTE_ARRAY, T_FLBA };

struct spec {
    int phys, type_length, repetition, converted, scale, precision;
    int logical;            /* LogicalType union member id, 0 none */
    bool utc;
    int unit;               /* TimeUnit member: 1 millis, 2 micros, 3 nanos */
    bool group;             /* the column is a group with one child */
};

/* PAR1, one PLAIN data page v1 of n values, the footer. */
static void build(struct nb_buf *f, const struct spec *c, const void *vals, size_t vlen, int n)
{
    nb_buf_init(f);
    nb_buf_append(f, "PAR1", 4);
    struct pq_thrift t;
    pq_thrift_init(&t, f);
    pq_thrift_begin(&t);
    pq_thrift_i32(&t, 1, 0);
    pq_thrift_i32(&t, 2, (int32_t)vlen);
    pq_thrift_i32(&t, 3, (int32_t)vlen);
    pq_thrift_struct(&t, 5);
    pq_thrift_i32(&t, 1, n);
    pq_thrift_i32(&t, 2, 0);
    pq_thrift_i32(&t, 3, 3);
    pq_thrift_i32(&t, 4, 3);
    pq_thrift_end(&t);
    pq_thrift_end(&t);
    nb_buf_append(f, vals, vlen);
    int64_t total = (int64_t)(f->len - 4);
    size_t meta = f->len;
    pq_thrift_init(&t, f);
    pq_thrift_begin(&t);
    pq_thrift_i32(&t, 1, 1);
    pq_thrift_list(&t, 2, PQ_T_STRUCT, c->group ? 3 : 2);
    pq_thrift_begin(&t);
    pq_thrift_string(&t, 4, "schema");
    pq_thrift_i32(&t, 5, 1);
    pq_thrift_end(&t);
    if (c->group) {
        pq_thrift_begin(&t);
        pq_thrift_i32(&t, 3, 1);
        pq_thrift_string(&t, 4, "g");
        pq_thrift_i32(&t, 5, 1);
        pq_thrift_end(&t);
    }
    pq_thrift_begin(&t);
    pq_thrift_i32(&t, 1, c->phys);
    if (c->type_length) pq_thrift_i32(&t, 2, c->type_length);
    pq_thrift_i32(&t, 3, c->repetition);
    pq_thrift_string(&t, 4, "v");
    if (c->converted >= 0) pq_thrift_i32(&t, 6, c->converted);
    if (c->precision) {
        pq_thrift_i32(&t, 7, c->scale);
        pq_thrift_i32(&t, 8, c->precision);
    }
    if (c->logical) {
        pq_thrift_struct(&t, 10);
        pq_thrift_struct(&t, (int16_t)c->logical);
        if (c->unit) {
            pq_thrift_bool(&t, 1, c->utc);
            pq_thrift_struct(&t, 2);
            pq_thrift_struct(&t, (int16_t)c->unit);
            pq_thrift_end(&t);
            pq_thrift_end(&t);
        }
        pq_thrift_end(&t);
        pq_thrift_end(&t);
    }
    pq_thrift_end(&t);
    pq_thrift_i64(&t, 3, n);
    pq_thrift_list(&t, 4, PQ_T_STRUCT, 1);
    pq_thrift_begin(&t);
    pq_thrift_list(&t, 1, PQ_T_STRUCT, 1);
    pq_thrift_begin(&t);
    pq_thrift_i64(&t, 2, 4);
    pq_thrift_struct(&t, 3);
    pq_thrift_i32(&t, 1, c->phys);
    pq_thrift_list(&t, 2, PQ_T_I32, 1);
    pq_thrift_elem_i32(&t, 0);
    pq_thrift_list(&t, 3, PQ_T_BINARY, 1);
    pq_thrift_elem_binary(&t, "v", 1);
    pq_thrift_i32(&t, 4, 0);
    pq_thrift_i64(&t, 5, n);
    pq_thrift_i64(&t, 6, total);
    pq_thrift_i64(&t, 7, total);
    pq_thrift_i64(&t, 9, 4);
    pq_thrift_end(&t);
    pq_thrift_end(&t);
    pq_thrift_i64(&t, 2, total);
    pq_thrift_i64(&t, 3, n);
    pq_thrift_end(&t);
    pq_thrift_end(&t);
    uint32_t mlen = (uint32_t)(f->len - meta);
    uint8_t le[4] = {(uint8_t)mlen, (uint8_t)(mlen >> 8), (uint8_t)(mlen >> 16), (uint8_t)(mlen >> 24)};
    nb_buf_append(f, le, 4);
    nb_buf_append(f, "PAR1", 4);
    assert_false(f->oom);
}

/* Read the one column; returns the batch (schema checked against want). */
static struct nb_batch *read_one(const struct spec *c, const void *vals, size_t vlen, int n, const char *want_type,
                                 struct nb_pq_reader **rp, struct nb_buf *f)
{
    build(f, c, vals, vlen, n);
    struct nb_error err = {0};
    if (nb_pq_reader_open_memory(rp, f->data, f->len, "t.parquet", &err) != NB_OK) fail_msg("%s", err.message);
    struct nb_schema *s = nb_pq_reader_schema(*rp);
    char name[64];
    nb_type_format(s->fields[0].type, name, sizeof name);
    assert_string_equal(name, want_type);
    struct nb_batch *b = nb_pq_reader_batch_create(*rp, (size_t)n);
    if (nb_pq_reader_next(*rp, b, (size_t)n, &err) != NB_OK) fail_msg("%s", err.message);
    assert_int_equal(b->n_rows, n);
    return b;
}

static void expect_text(const struct nb_batch *b, size_t i, const char *want)
{
    size_t len;
    assert_int_equal(b->cols[0].repr, NB_REPR_TEXT);
    const char *t = nb_column_text(&b->cols[0], i, &len);
    char got[128];
    snprintf(got, sizeof got, "%.*s", (int)len, t);
    assert_string_equal(got, want);
}

static void done(struct nb_batch *b, struct nb_pq_reader *r, struct nb_buf *f)
{
    nb_batch_destroy(b);
    nb_pq_reader_destroy(r);
    nb_buf_cleanup(f);
}

static void test_int96(void **state)
{
    (void)state;
    /* nanos-of-day (LE int64) + Julian day (LE int32): 2440588 is 1970-01-01. */
    uint8_t v[24] = {0};
    v[0] = 1;
    uint32_t jd = 2440588;
    memcpy(v + 8, &jd, 4);
    int64_t nanos = 3600000000000LL + 123000;
    memcpy(v + 12, &nanos, 8);
    jd = 2440589;
    memcpy(v + 20, &jd, 4);
    struct spec c = {.phys = T_INT96, .converted = -1};
    struct nb_pq_reader *r;
    struct nb_buf f;
    struct nb_batch *b = read_one(&c, v, sizeof v, 2, "timestamp", &r, &f);
    expect_text(b, 0, "1970-01-01T00:00:00.000000001");
    expect_text(b, 1, "1970-01-02T01:00:00.000123");
    done(b, r, &f);
}

static void test_converted_only(void **state)
{
    (void)state;
    struct nb_pq_reader *r;
    struct nb_buf f;
    /* TIMESTAMP_MILLIS (9) alone: an instant in UTC, milliseconds -> microseconds. */
    int64_t ms[2] = {1500, -1};
    struct spec c = {.phys = T_INT64, .converted = 9};
    struct nb_batch *b = read_one(&c, ms, sizeof ms, 2, "timestamptz", &r, &f);
    assert_int_equal(nb_column_i64(&b->cols[0], 0), 1500000);
    assert_int_equal(nb_column_i64(&b->cols[0], 1), -1000);
    done(b, r, &f);
    /* TIME_MILLIS (7) on INT32. */
    int32_t tm = 1234;
    c = (struct spec){.phys = T_INT32, .converted = 7};
    b = read_one(&c, &tm, 4, 1, "time", &r, &f);
    assert_int_equal(nb_column_i64(&b->cols[0], 0), 1234000);
    done(b, r, &f);
    /* UINT_64 (14): above 2^63 stays exact. UINT_32 (13): widened to int64. */
    int64_t u = -1;
    c = (struct spec){.phys = T_INT64, .converted = 14};
    b = read_one(&c, &u, 8, 1, "decimal(20,0)", &r, &f);
    expect_text(b, 0, "18446744073709551615");
    done(b, r, &f);
    int32_t u32 = -2;
    c = (struct spec){.phys = T_INT32, .converted = 13};
    b = read_one(&c, &u32, 4, 1, "int64", &r, &f);
    assert_int_equal(nb_column_i64(&b->cols[0], 0), 4294967294LL);
    done(b, r, &f);
    /* DECIMAL (5) on a 3-byte FIXED_LEN_BYTE_ARRAY, scale/precision in the element: -123 -> -1.23. */
    uint8_t d[6] = {0xff, 0xff, 0x85, 0x01, 0x00, 0x00};
    c = (struct spec){.phys = T_FLBA, .type_length = 3, .converted = 5, .scale = 2, .precision = 5};
    b = read_one(&c, d, sizeof d, 2, "decimal(5,2)", &r, &f);
    expect_text(b, 0, "-1.23");
    expect_text(b, 1, "655.36");
    done(b, r, &f);
    /* BYTE_ARRAY without annotation: binary. */
    uint8_t ba[] = {2, 0, 0, 0, 0x00, 0xff};
    c = (struct spec){.phys = T_BYTE_ARRAY, .converted = -1};
    b = read_one(&c, ba, sizeof ba, 1, "binary", &r, &f);
    size_t len;
    const char *t = nb_column_text(&b->cols[0], 0, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(t, "\x00\xff", 2);
    done(b, r, &f);
    /* FLOAT: the float's exact value as a double. */
    float fl = 1.1f;
    c = (struct spec){.phys = T_FLOAT, .converted = -1};
    b = read_one(&c, &fl, 4, 1, "float64", &r, &f);
    assert_true(nb_column_f64(&b->cols[0], 0) == (double)1.1f);
    done(b, r, &f);
}

static void test_nanos(void **state)
{
    (void)state;
    struct nb_pq_reader *r;
    struct nb_buf f;
    int64_t ns[2] = {1, 43200000000000LL};
    struct spec c = {.phys = T_INT64, .converted = -1, .logical = 7, .unit = 3};
    struct nb_batch *b = read_one(&c, ns, sizeof ns, 2, "time", &r, &f);
    expect_text(b, 0, "00:00:00.000000001");
    expect_text(b, 1, "12:00:00");
    done(b, r, &f);
    int64_t ts[2] = {1500, -1};
    c = (struct spec){.phys = T_INT64, .converted = -1, .logical = 8, .utc = true, .unit = 3};
    b = read_one(&c, ts, sizeof ts, 2, "timestamptz", &r, &f);
    expect_text(b, 0, "1970-01-01T00:00:00.000001500Z");
    expect_text(b, 1, "1969-12-31T23:59:59.999999999Z");
    done(b, r, &f);
    /* TIMESTAMP(MILLIS, not adjusted): a naive timestamp. */
    int64_t ms = 86400000;
    c = (struct spec){.phys = T_INT64, .converted = -1, .logical = 8, .utc = false, .unit = 1};
    b = read_one(&c, &ms, 8, 1, "timestamp", &r, &f);
    assert_int_equal(nb_column_i64(&b->cols[0], 0), 86400000000LL);
    done(b, r, &f);
}

static void test_refused(void **state)
{
    (void)state;
    struct nb_buf f;
    struct nb_error err = {0};
    struct nb_pq_reader *r = NULL;
    int32_t v = 1;
    struct spec c = {.phys = T_INT32, .converted = -1, .repetition = 2};
    build(&f, &c, &v, 4, 1);
    assert_int_equal(nb_pq_reader_open_memory(&r, f.data, f.len, "rep.parquet", &err), NB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "rep.parquet: column 'v' is repeated"));
    nb_buf_cleanup(&f);
    c = (struct spec){.phys = T_INT32, .converted = -1, .group = true};
    build(&f, &c, &v, 4, 1);
    assert_int_equal(nb_pq_reader_open_memory(&r, f.data, f.len, "nest.parquet", &err), NB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "column 'g' is a nested group"));
    nb_buf_cleanup(&f);
    /* A time annotation on the wrong physical type. */
    c = (struct spec){.phys = T_INT32, .converted = 9};
    build(&f, &c, &v, 4, 1);
    assert_int_equal(nb_pq_reader_open_memory(&r, f.data, f.len, "bad.parquet", &err), NB_ERR_INVALID);
    nb_buf_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int96),
        cmocka_unit_test(test_converted_only),
        cmocka_unit_test(test_nanos),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
