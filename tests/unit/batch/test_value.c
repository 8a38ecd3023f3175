/* Unit tests of batch/value: the type grammar of DESIGN.md §5 (classify, infer, fits, parse,
 * format, civil dates). Each edge case here is one a real file has shown somewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batch/value.h"

#define CL(s) nb_value_classify((s), strlen(s))
#define FITS(t, s) nb_value_fits((t), (s), strlen(s))

static const unsigned TYPES_MASK = NB_FITS_BOOL | NB_FITS_INT64 | NB_FITS_FLOAT64 | NB_FITS_DATE |
                                   NB_FITS_TIMESTAMP | NB_FITS_STRING;

static unsigned cl_types(const char *s) { return CL(s) & TYPES_MASK; }

static void test_classify_bool(void **state)
{
    assert_int_equal(cl_types("true"), NB_FITS_BOOL | NB_FITS_STRING);
    assert_int_equal(cl_types("FALSE"), NB_FITS_BOOL | NB_FITS_STRING);
    assert_int_equal(cl_types("TrUe"), NB_FITS_BOOL | NB_FITS_STRING);
    assert_int_equal(cl_types("t"), NB_FITS_STRING);
    assert_int_equal(cl_types("truex"), NB_FITS_STRING);
    assert_int_equal(cl_types("fals"), NB_FITS_STRING);
    assert_int_equal(cl_types("yes"), NB_FITS_STRING);
    assert_int_equal(cl_types(""), NB_FITS_STRING);
    bool b;
    assert_true(nb_value_parse_bool("False", 5, &b));
    assert_false(b);
    assert_true(nb_value_parse_bool("TRUE", 4, &b));
    assert_true(b);
    assert_false(nb_value_parse_bool("1", 1, &b));
}

static void test_classify_int(void **state)
{
    const unsigned num = NB_FITS_INT64 | NB_FITS_FLOAT64 | NB_FITS_STRING;
    assert_int_equal(cl_types("0"), num);
    assert_int_equal(cl_types("42"), num);
    assert_int_equal(cl_types("-17"), num);
    assert_int_equal(cl_types("+5"), num);
    assert_int_equal(cl_types("-0"), num);
    assert_int_equal(cl_types("007"), NB_FITS_STRING);
    assert_int_equal(cl_types("00"), NB_FITS_STRING);
    assert_int_equal(cl_types("-007"), NB_FITS_STRING);
    assert_int_equal(cl_types("+"), NB_FITS_STRING);
    assert_int_equal(cl_types("-"), NB_FITS_STRING);
    assert_int_equal(cl_types("1 "), NB_FITS_STRING);
    assert_int_equal(cl_types(" 1"), NB_FITS_STRING);
    assert_int_equal(cl_types("1,000"), NB_FITS_STRING);
    assert_int_equal(cl_types("0x10"), NB_FITS_STRING);
    assert_int_equal(cl_types("++1"), NB_FITS_STRING);
    /* int64 limits: in range is int64 (too many digits for a double: not float64) */
    assert_int_equal(cl_types("9223372036854775807"), NB_FITS_INT64 | NB_FITS_STRING);
    assert_int_equal(cl_types("-9223372036854775808"), NB_FITS_INT64 | NB_FITS_STRING);
    assert_int_equal(cl_types("9223372036854775808"), NB_FITS_STRING);
    assert_int_equal(cl_types("-9223372036854775809"), NB_FITS_STRING);
    assert_int_equal(cl_types("12345678901234567890"), NB_FITS_STRING);   /* 20 digits: never a double */
    assert_int_equal(cl_types("99999999999999999999999999"), NB_FITS_STRING);
    /* 2^53 + 1 is an int64 but not exactly a double */
    assert_int_equal(cl_types("9007199254740993"), NB_FITS_INT64 | NB_FITS_STRING);
    assert_int_equal(cl_types("9007199254740992"), num);
    /* trailing zeros are exact in a double */
    assert_int_equal(cl_types("1000000000000000000"), num);

    int64_t v;
    assert_true(nb_value_parse_i64("9223372036854775807", 19, &v));
    assert_true(v == INT64_MAX);
    assert_true(nb_value_parse_i64("-9223372036854775808", 20, &v));
    assert_true(v == INT64_MIN);
    assert_false(nb_value_parse_i64("9223372036854775808", 19, &v));
    assert_false(nb_value_parse_i64("18446744073709551616", 20, &v));
    assert_false(nb_value_parse_i64("1.0", 3, &v));
    assert_false(nb_value_parse_i64("1e3", 3, &v));
    assert_false(nb_value_parse_i64("", 0, &v));
    assert_true(nb_value_parse_i64("+5", 2, &v));
    assert_int_equal(v, 5);
    assert_true(nb_value_parse_i64("-0", 2, &v));
    assert_int_equal(v, 0);
    /* length-bounded: digits after n are not read */
    assert_true(nb_value_parse_i64("12abc", 2, &v));
    assert_int_equal(v, 12);

    int32_t v32;
    assert_true(nb_value_parse_i32("2147483647", 10, &v32));
    assert_int_equal(v32, INT32_MAX);
    assert_true(nb_value_parse_i32("-2147483648", 11, &v32));
    assert_int_equal(v32, INT32_MIN);
    assert_false(nb_value_parse_i32("2147483648", 10, &v32));
    assert_false(nb_value_parse_i32("-2147483649", 11, &v32));
}

static void test_classify_float(void **state)
{
    const unsigned f = NB_FITS_FLOAT64 | NB_FITS_STRING;
    assert_int_equal(cl_types("1.5"), f);
    assert_int_equal(cl_types("-0.25"), f);
    assert_int_equal(cl_types("+3.0"), f);
    assert_int_equal(cl_types("291.07"), f);
    assert_int_equal(cl_types("0.1"), f);
    assert_int_equal(cl_types("1e5"), f);
    assert_int_equal(cl_types("1E5"), f);
    assert_int_equal(cl_types("1e+5"), f);
    assert_int_equal(cl_types("2.5e-3"), f);
    assert_int_equal(cl_types("4.1e-0000000004"), f);   /* '-' at index 4 like a date: found by fuzzing */
    assert_int_equal(cl_types("1.5e-10-01"), NB_FITS_STRING);
    assert_int_equal(cl_types("0e999999999999999"), f);   /* zero whatever the exponent */
    assert_int_equal(cl_types("-0.0"), f);
    assert_int_equal(cl_types("1.7976931348623157e308"), f);
    assert_int_equal(cl_types("0.30000000000000004"), f);   /* a shortest form with 17 digits */
    assert_int_equal(cl_types("2.2250738585072014e-308"), f);
    /* not the grammar */
    assert_int_equal(cl_types("1."), NB_FITS_STRING);
    assert_int_equal(cl_types(".5"), NB_FITS_STRING);
    assert_int_equal(cl_types("-.5"), NB_FITS_STRING);
    assert_int_equal(cl_types("1e"), NB_FITS_STRING);
    assert_int_equal(cl_types("1e+"), NB_FITS_STRING);
    assert_int_equal(cl_types("1.5.2"), NB_FITS_STRING);
    assert_int_equal(cl_types("01.5"), NB_FITS_STRING);
    assert_int_equal(cl_types("NaN"), NB_FITS_STRING);
    assert_int_equal(cl_types("nan"), NB_FITS_STRING);
    assert_int_equal(cl_types("inf"), NB_FITS_STRING);
    assert_int_equal(cl_types("-Infinity"), NB_FITS_STRING);
    assert_int_equal(cl_types("1.5f"), NB_FITS_STRING);
    assert_int_equal(cl_types("1_000.5"), NB_FITS_STRING);
    /* out of a double's range or precision: never silently altered */
    assert_int_equal(cl_types("1e309"), NB_FITS_STRING);
    assert_int_equal(cl_types("-1e400"), NB_FITS_STRING);
    assert_int_equal(cl_types("1e-400"), NB_FITS_STRING);
    assert_int_equal(cl_types("1e999999999999999999999"), NB_FITS_STRING);
    assert_int_equal(cl_types("1e-999999999999999999999"), NB_FITS_STRING);
    assert_int_equal(cl_types("0.1000000000000000055511151231257827"), NB_FITS_STRING);
    assert_int_equal(cl_types("0.10000000000000001"), NB_FITS_STRING);   /* reads back as 0.1 */
    assert_int_equal(cl_types("3.141592653589793238"), NB_FITS_STRING);

    double d;
    assert_true(nb_value_parse_f64("291.07", 6, &d));
    assert_true(d == 291.07);
    assert_true(nb_value_parse_f64("1e5", 3, &d));
    assert_true(d == 100000.0);
    assert_true(nb_value_parse_f64("-0", 2, &d));
    assert_true(d == 0.0 && signbit(d));
    assert_true(nb_value_parse_f64("0.30000000000000004", 19, &d));
    assert_true(d == 0.1 + 0.2);
    assert_true(nb_value_parse_f64("4.9e-3", 6, &d));
    assert_true(d == 4.9e-3);
    assert_false(nb_value_parse_f64("NaN", 3, &d));
    assert_false(nb_value_parse_f64("1e400", 5, &d));
    assert_false(nb_value_parse_f64("", 0, &d));
    assert_false(nb_value_parse_f64("12345678901234567890", 20, &d));
    /* a long text of zeros still parses (the canonical form is bounded) */
    char longz[300];
    memset(longz, '0', sizeof longz);
    longz[1] = '.';
    longz[298] = '5';
    longz[299] = '\0';
    assert_int_equal(cl_types(longz), NB_FITS_FLOAT64 | NB_FITS_STRING);   /* 5e-297 */
    assert_true(nb_value_parse_f64(longz, strlen(longz), &d));
    assert_true(d == 5e-297);
}

static void test_classify_date(void **state)
{
    const unsigned dt = NB_FITS_DATE | NB_FITS_STRING;
    assert_int_equal(cl_types("2024-01-31"), dt);
    assert_int_equal(cl_types("2024-02-29"), dt);   /* leap */
    assert_int_equal(cl_types("2000-02-29"), dt);   /* leap (400) */
    assert_int_equal(cl_types("1900-02-29"), NB_FITS_STRING);   /* not leap (100) */
    assert_int_equal(cl_types("2023-02-29"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-02-30"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-04-31"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-13-01"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-00-10"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-00"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-1-01"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024/01/01"), NB_FITS_STRING);
    assert_int_equal(cl_types("20240101"), NB_FITS_INT64 | NB_FITS_FLOAT64 | NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-01x"), NB_FITS_STRING);
    assert_int_equal(cl_types("0001-01-01"), dt);
    assert_int_equal(cl_types("9999-12-31"), dt);

    int32_t days;
    assert_true(nb_value_parse_date("1970-01-01", 10, &days));
    assert_int_equal(days, 0);
    assert_true(nb_value_parse_date("2000-03-01", 10, &days));
    assert_int_equal(days, 11017);
    assert_true(nb_value_parse_date("1969-12-31", 10, &days));
    assert_int_equal(days, -1);
    assert_false(nb_value_parse_date("2024-02-30", 10, &days));
    assert_false(nb_value_parse_date("2024-02-2", 9, &days));
}

static void test_classify_timestamp(void **state)
{
    const unsigned ts = NB_FITS_TIMESTAMP | NB_FITS_STRING;
    assert_int_equal(cl_types("2024-01-01T12:34:56"), ts);
    assert_int_equal(cl_types("2024-01-01 12:34:56"), ts);
    assert_int_equal(cl_types("2024-01-01t12:34:56z"), ts);
    assert_int_equal(cl_types("2024-01-01T12:34:56Z"), ts);
    assert_int_equal(cl_types("2024-01-01T12:34:56.5Z"), ts);
    assert_int_equal(cl_types("2024-01-01T12:34:56.123456+02:00"), ts);
    assert_int_equal(cl_types("2024-01-01T12:34:56-0530"), ts);
    assert_int_equal(cl_types("2024-01-01T00:00:00.1234560Z"), ts);   /* 7th digit zero: exact */
    assert_int_equal(cl_types("2024-01-01T00:00:00.1234567Z"), NB_FITS_STRING);   /* would round */
    assert_int_equal(cl_types("2024-01-01T24:00:00"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-01T23:60:00"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-01T23:59:60Z"), NB_FITS_STRING);   /* leap second */
    assert_int_equal(cl_types("2024-02-30T00:00:00"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-01T12:34"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-01T12:34:56."), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-01T12:34:56+2"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-01T12:34:56+24:00"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-01T12:34:56+01:60"), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-01T12:34:56Z "), NB_FITS_STRING);
    assert_int_equal(cl_types("2024-01-01X12:34:56"), NB_FITS_STRING);
    /* the zone flag */
    assert_true(CL("2024-01-01T12:34:56Z") & NB_FITS_ZONED);
    assert_true(CL("2024-01-01T12:34:56+01:00") & NB_FITS_ZONED);
    assert_false(CL("2024-01-01T12:34:56") & NB_FITS_ZONED);

    int64_t us;
    bool zoned;
    const char *a = "2024-01-01T00:00:00Z";
    assert_true(nb_value_parse_timestamp(a, strlen(a), &us, &zoned));
    assert_true(zoned);
    assert_true(us == 1704067200LL * 1000000);
    a = "2024-01-01T02:00:00.000001+02:00";   /* offset applied: same instant + 1 µs */
    assert_true(nb_value_parse_timestamp(a, strlen(a), &us, &zoned));
    assert_true(us == 1704067200LL * 1000000 + 1);
    a = "2023-12-31T18:30:00-0530";
    assert_true(nb_value_parse_timestamp(a, strlen(a), &us, &zoned));
    assert_true(us == 1704067200LL * 1000000);
    a = "1969-12-31 23:59:59.5";
    assert_true(nb_value_parse_timestamp(a, strlen(a), &us, &zoned));
    assert_false(zoned);
    assert_true(us == -500000);
    a = "2024-01-01T00:00:00.123456789Z";
    assert_false(nb_value_parse_timestamp(a, strlen(a), &us, &zoned));
    a = "2024-01-01T00:00:00.123456000Z";
    assert_true(nb_value_parse_timestamp(a, strlen(a), &us, NULL));
    assert_true(us == 1704067200LL * 1000000 + 123456);

    int64_t t;
    assert_true(nb_value_parse_time("12:34:56", 8, &t));
    assert_true(t == (12 * 3600 + 34 * 60 + 56) * 1000000LL);
    assert_true(nb_value_parse_time("00:00:00.25", 11, &t));
    assert_true(t == 250000);
    assert_false(nb_value_parse_time("24:00:00", 8, &t));
    assert_false(nb_value_parse_time("12:34", 5, &t));
    assert_false(nb_value_parse_time("", 0, &t));
    assert_false(nb_value_parse_time("12:34:56Z", 9, &t));
}

static void test_infer(void **state)
{
    const char *cols[][4] = {
        {"1", "2", "-3", NULL},                 /* int64 */
        {"1", "2.5", "3", NULL},                /* float64 */
        {"true", "FALSE", NULL, NULL},          /* bool */
        {"2024-01-01", "2024-12-31", NULL, NULL},
        {"2024-01-01T00:00:00", "2024-01-01 10:00:00", NULL, NULL},
        {"1", "007", NULL, NULL},               /* string */
        {"2024-01-01", "2024-01-01T00:00:00", NULL, NULL},   /* date + timestamp: string */
        {"1", "true", NULL, NULL},              /* string */
    };
    const enum nb_type_id want[] = {NB_TYPE_INT64, NB_TYPE_FLOAT64, NB_TYPE_BOOL, NB_TYPE_DATE,
                                    NB_TYPE_TIMESTAMP, NB_TYPE_STRING, NB_TYPE_STRING, NB_TYPE_STRING};
    for (size_t c = 0; c < sizeof want / sizeof want[0]; c++) {
        unsigned st = 0;
        bool first = true, zoned = false;
        for (size_t i = 0; i < 4 && cols[c][i]; i++) {
            unsigned f = CL(cols[c][i]);
            zoned |= (f & NB_FITS_ZONED) != 0;
            st = nb_infer_fold(st, f, first);
            first = false;
        }
        struct nb_type t = nb_infer_result(st, !first, zoned);
        assert_int_equal(t.id, want[c]);
        assert_false(t.utc);
    }
    unsigned st = nb_infer_fold(0, CL("2024-01-01T00:00:00Z"), true);
    st = nb_infer_fold(st, CL("2024-01-01T00:00:00"), false);
    struct nb_type t = nb_infer_result(st, true, true);
    assert_int_equal(t.id, NB_TYPE_TIMESTAMP);
    assert_true(t.utc);
    assert_int_equal(nb_infer_result(0, false, false).id, NB_TYPE_STRING);
}

static void test_fits(void **state)
{
    struct nb_type dec = {NB_TYPE_DECIMAL, 5, 2, false};
    assert_true(FITS(dec, "123.45"));
    assert_true(FITS(dec, "-123.45"));
    assert_true(FITS(dec, "+1.5"));
    assert_true(FITS(dec, "0.01"));
    assert_true(FITS(dec, "000123.4"));      /* leading zeros change nothing */
    assert_true(FITS(dec, "1.2300"));        /* nor trailing ones */
    assert_true(FITS(dec, "999"));
    assert_false(FITS(dec, "1234.5"));       /* 4 integer digits > 5-2 */
    assert_false(FITS(dec, "1.234"));        /* beyond scale: would round */
    assert_false(FITS(dec, "1e2"));
    assert_false(FITS(dec, "1."));
    assert_false(FITS(dec, ".5"));
    assert_false(FITS(dec, ""));
    assert_false(FITS(dec, "abc"));
    struct nb_type dec0 = {NB_TYPE_DECIMAL, 3, 0, false};
    assert_true(FITS(dec0, "999"));
    assert_true(FITS(dec0, "12.0"));
    assert_false(FITS(dec0, "1000"));
    assert_false(FITS(dec0, "1.5"));

    assert_true(FITS(nb_type_make(NB_TYPE_INT32), "2147483647"));
    assert_false(FITS(nb_type_make(NB_TYPE_INT32), "2147483648"));
    assert_true(FITS(nb_type_make(NB_TYPE_INT64), "-9223372036854775808"));
    assert_false(FITS(nb_type_make(NB_TYPE_INT64), "N/A"));
    assert_true(FITS(nb_type_make(NB_TYPE_FLOAT64), "42"));
    assert_false(FITS(nb_type_make(NB_TYPE_FLOAT64), "inf"));
    assert_true(FITS(nb_type_make(NB_TYPE_BOOL), "True"));
    assert_false(FITS(nb_type_make(NB_TYPE_BOOL), "1"));
    assert_true(FITS(nb_type_make(NB_TYPE_DATE), "2024-02-29"));
    assert_false(FITS(nb_type_make(NB_TYPE_DATE), "2024-02-30"));
    assert_true(FITS(nb_type_make(NB_TYPE_TIME), "23:59:59.999999"));
    assert_true(FITS(nb_type_make(NB_TYPE_TIMESTAMP), "2024-01-01 00:00:00+01:00"));
    assert_false(FITS(nb_type_make(NB_TYPE_TIMESTAMP), "2024-01-01"));
    assert_true(FITS(nb_type_make(NB_TYPE_STRING), "h\xc3\xa9llo"));
    assert_false(FITS(nb_type_make(NB_TYPE_STRING), "bad \xff byte"));
    assert_true(FITS(nb_type_make(NB_TYPE_BINARY), "\xff"));
    assert_false(FITS(nb_type_make(NB_TYPE_NULL), "x"));
    /* every classify bit agrees with fits */
    const char *samples[] = {"0", "-0", "+5", "007", "1.5", "1e5", "1.", ".5", "true", "2024-02-29",
                             "2024-02-30", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.1234567Z",
                             "9223372036854775808", "0.30000000000000004", "x"};
    const enum nb_type_id ids[] = {NB_TYPE_BOOL, NB_TYPE_INT64, NB_TYPE_FLOAT64, NB_TYPE_DATE, NB_TYPE_TIMESTAMP};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
        for (size_t k = 0; k < 5; k++)
            assert_int_equal((CL(samples[i]) >> ids[k]) & 1, FITS(nb_type_make(ids[k]), samples[i]));
}

static void test_decimal_parse_format(void **state)
{
    __int128 u;
    char out[64];
    assert_true(nb_value_parse_decimal("123.45", 6, 5, 2, &u));
    assert_true(u == 12345);
    nb_value_format_decimal(u, 2, out);
    assert_string_equal(out, "123.45");
    assert_true(nb_value_parse_decimal("-1.5", 4, 10, 3, &u));
    assert_true(u == -1500);
    nb_value_format_decimal(u, 3, out);
    assert_string_equal(out, "-1.500");
    assert_true(nb_value_parse_decimal("-0.05", 5, 3, 2, &u));
    assert_true(u == -5);
    nb_value_format_decimal(u, 2, out);
    assert_string_equal(out, "-0.05");
    assert_true(nb_value_parse_decimal("7", 1, 1, 0, &u));
    nb_value_format_decimal(u, 0, out);
    assert_string_equal(out, "7");
    assert_false(nb_value_parse_decimal("1.234", 5, 5, 2, &u));
    assert_false(nb_value_parse_decimal("12", 2, 1, 0, &u));
    /* 38 nines fit in 128 bits; 39 digits can only at precision > 38, and 10^39 does not fit */
    const char *n38 = "99999999999999999999999999999999999999";
    assert_true(nb_value_parse_decimal(n38, 38, 38, 0, &u));
    nb_value_format_decimal(u, 0, out);
    assert_string_equal(out, n38);
    nb_value_format_decimal(-u, 10, out);
    assert_string_equal(out, "-9999999999999999999999999999.9999999999");
    const char *n40 = "9999999999999999999999999999999999999999";
    assert_true(FITS(((struct nb_type){NB_TYPE_DECIMAL, 40, 0, false}), n40));
    assert_false(nb_value_parse_decimal(n40, 40, 40, 0, &u));
    nb_value_format_decimal(0, 3, out);
    assert_string_equal(out, "0.000");
}

static void test_format(void **state)
{
    char out[64];
    assert_int_equal(nb_value_format_i64(0, out), 1);
    out[1] = 0;
    assert_string_equal(out, "0");
    size_t n = nb_value_format_i64(INT64_MIN, out);
    out[n] = 0;
    assert_string_equal(out, "-9223372036854775808");
    n = nb_value_format_i64(INT64_MAX, out);
    out[n] = 0;
    assert_string_equal(out, "9223372036854775807");

    const struct { double v; const char *s; } f[] = {
        {291.07, "291.07"}, {0.1, "0.1"}, {0.1 + 0.2, "0.30000000000000004"}, {1e21, "1e+21"},
        {-0.0, "-0"}, {100000.0, "100000"}, {1.0 / 3.0, "0.3333333333333333"}, {5e-324, "4.94065645841247e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {123456789012345678.0, "1.2345678901234568e+17"},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        n = nb_value_format_f64(f[i].v, out, sizeof out);
        assert_string_equal(out, f[i].s);
        assert_int_equal(n, strlen(f[i].s));
    }
    assert_int_equal(nb_value_format_f64(1.0 / 3.0, out, 5), 0);   /* too small: nothing written */
    nb_value_format_f64(NAN, out, sizeof out);
    assert_string_equal(out, "NaN");
    /* every float64 text round-trips to the same value */
    const char *texts[] = {"291.07", "1e5", "0.30000000000000004", "2.5e-3", "-17"};
    for (size_t i = 0; i < 5; i++) {
        double d, d2;
        assert_true(nb_value_parse_f64(texts[i], strlen(texts[i]), &d));
        n = nb_value_format_f64(d, out, sizeof out);
        assert_true(nb_value_parse_f64(out, n, &d2));
        assert_true(d == d2);
    }

    n = nb_value_format_date(0, out);
    assert_string_equal(out, "1970-01-01");
    assert_int_equal(n, 10);
    nb_value_format_date(-1, out);
    assert_string_equal(out, "1969-12-31");
    nb_value_format_date(19782, out);
    assert_string_equal(out, "2024-02-29");

    nb_value_format_time(0, out);
    assert_string_equal(out, "00:00:00");
    nb_value_format_time((23 * 3600 + 59 * 60 + 59) * 1000000LL + 1, out);
    assert_string_equal(out, "23:59:59.000001");

    n = nb_value_format_timestamp(1704067200LL * 1000000, true, out);
    assert_string_equal(out, "2024-01-01T00:00:00Z");
    assert_int_equal(n, 20);
    nb_value_format_timestamp(1704067200LL * 1000000 + 123456, false, out);
    assert_string_equal(out, "2024-01-01T00:00:00.123456");
    nb_value_format_timestamp(-1, true, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
    nb_value_format_timestamp(INT64_MIN, true, out);   /* extreme: must not crash */
    nb_value_format_timestamp(INT64_MAX, true, out);
    assert_true(strlen(out) < 40);
    /* parse(format(x)) == x for timestamps */
    int64_t vals[] = {0, -1, 1, 951782400000000LL + 999999, -62135596800000000LL, 253402300799999999LL};
    for (size_t i = 0; i < 6; i++) {
        int64_t back;
        bool z;
        n = nb_value_format_timestamp(vals[i], true, out);
        assert_true(nb_value_parse_timestamp(out, n, &back, &z));
        assert_true(back == vals[i]);
        assert_true(z);
    }
}

static void test_civil(void **state)
{
    int64_t y;
    unsigned m, d;
    assert_int_equal(nb_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(nb_days_from_civil(2000, 1, 1), 10957);
    assert_int_equal(nb_days_from_civil(1, 1, 1), -719162);
    nb_civil_from_days(-719162, &y, &m, &d);
    assert_true(y == 1 && m == 1 && d == 1);
    /* every day over 1600..2400 (leap rules of all kinds) round-trips and advances by one */
    int32_t prev = nb_days_from_civil(1599, 12, 31);
    for (int64_t yy = 1600; yy <= 2400; yy++) {
        for (unsigned mm = 1; mm <= 12; mm++) {
            static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            unsigned last = dm[mm - 1] + (mm == 2 && ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0));
            for (unsigned dd = 1; dd <= last; dd++) {
                int32_t days = nb_days_from_civil(yy, mm, dd);
                assert_int_equal(days, prev + 1);
                prev = days;
                nb_civil_from_days(days, &y, &m, &d);
                if (y != yy || m != mm || d != dd) fail_msg("civil %lld-%u-%u", (long long)yy, mm, dd);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_bool), cmocka_unit_test(test_classify_int),
        cmocka_unit_test(test_classify_float), cmocka_unit_test(test_classify_date),
        cmocka_unit_test(test_classify_timestamp), cmocka_unit_test(test_infer),
        cmocka_unit_test(test_fits), cmocka_unit_test(test_decimal_parse_format),
        cmocka_unit_test(test_format), cmocka_unit_test(test_civil),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
