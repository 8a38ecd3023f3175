/* The Avro writer: every type, null patterns, every codec, empty input, many blocks, nasty strings,
 * bad values; each file read back by libavro (C) and avsc (node, tests/tools/avro_read.mjs) and
 * compared value by value in one canonical form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/format.h"
#include "helper_avro.h"

#define T(id) {id, 0, 0, false}
static const struct tcol all_cols[] = {
    {"id", T(NB_TYPE_INT64), false},
    {"flag", T(NB_TYPE_BOOL), true},
    {"small", T(NB_TYPE_INT32), true},
    {"score", T(NB_TYPE_FLOAT64), true},
    {"price", {NB_TYPE_DECIMAL, 10, 2, false}, true},
    {"big", {NB_TYPE_DECIMAL, 60, 5, false}, true},
    {"name", T(NB_TYPE_STRING), true},
    {"blob", T(NB_TYPE_BINARY), true},
    {"day", T(NB_TYPE_DATE), true},
    {"at", T(NB_TYPE_TIME), true},
    {"ts", {NB_TYPE_TIMESTAMP, 0, 0, true}, true},
    {"lts", T(NB_TYPE_TIMESTAMP), true},
    {"doc", T(NB_TYPE_JSON), true},
    {"1st name", T(NB_TYPE_STRING), true},
    {"1st-name", T(NB_TYPE_STRING), false},
    {"nothing", T(NB_TYPE_NULL), true},
};
#define NC (sizeof all_cols / sizeof all_cols[0])
#define N_ {NULL, 0, NULL}

static const char nasty[] = "quote\" back\\slash\nnew\ttab\x01 ctl \0nul \xF0\x9F\x98\x80 \xC3\xA9 \xE2\x80\xA8 </script>";

static const struct tcell all_rows[][NC] = {
    {{"1", 0, NULL}, {"true", 0, NULL}, {"-2147483648", 0, NULL}, {"291.07", 0, NULL}, {"123.45", 0, NULL},
     {"-12345678901234567890123456789012345678901234567890.12345", 0, NULL}, {"Ada", 0, NULL},
     {"\x00\xff\x10", 3, NULL}, {"2024-02-29", 0, "19782"}, {"13:45:10.123456", 0, "49510123456"},
     {"2024-01-02T03:04:05.123456Z", 0, "1704164645123456"}, {"2024-01-02T03:04:05", 0, "1704164645000000"},
     {"{\"a\":[1,2]}", 0, NULL}, {"x", 0, NULL}, {"y", 0, NULL}, N_},
    {{"9223372036854775807", 0, NULL}, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, {"", 0, NULL}, N_},
    {{"-9223372036854775808", 0, NULL}, {"FALSE", 0, "false"}, {"2147483647", 0, NULL}, {"-0.0", 0, NULL},
     {"-0.01", 0, NULL}, {"0", 0, "0.00000"}, {nasty, sizeof nasty - 1, NULL}, {"", 0, NULL},
     {"1969-12-31", 0, "-1"}, {"00:00:00", 0, "0"}, {"1969-12-31T23:59:59.999999Z", 0, "-1"},
     {"1970-01-01T00:00:00", 0, "0"}, {"null", 0, NULL}, {"", 0, NULL}, {nasty, sizeof nasty - 1, NULL}, N_},
    {{"0", 0, NULL}, {"True", 0, "true"}, {"0", 0, NULL}, {"1e300", 0, NULL}, {"5", 0, "5.00"},
     {"9999999999999999999999999999999999999999999999999999999.99999", 0, NULL}, {"\xE4\xB8\xAD\xE6\x96\x87", 0, NULL},
     {"\xff", 1, NULL}, {"1970-01-01", 0, "0"}, {"23:59:59.999999", 0, "86399999999"},
     {"2024-01-02T05:04:05+02:00", 0, "1704164645000000"}, {"0001-01-01T00:00:00", 0, "-62135596800000000"},
     {"[]", 0, NULL}, N_, {"z", 0, NULL}, N_},
    {{"-1", 0, NULL}, N_, {"-1", 0, NULL}, {"0.1", 0, NULL}, {"99999999.99", 0, NULL},
     {"-0.00001", 0, NULL}, N_, N_, N_, N_, {"9999-12-31T23:59:59.999999Z", 0, "253402300799999999"},
     {"9999-12-31T23:59:59.999999", 0, "253402300799999999"}, N_, {"only", 0, NULL}, {"w", 0, NULL}, N_},
    {{"42", 0, NULL}, {"false", 0, NULL}, N_, {"-1.7976931348623157e308", 0, NULL}, {"-99999999.99", 0, NULL},
     {"170141183460469231731687303715884105728", 0, "170141183460469231731687303715884105728.00000"}, {"a", 0, NULL},
     {"a", 0, NULL}, {"2000-01-01", 0, "10957"}, {"12:00:00.5", 0, "43200500000"},
     {"2000-01-01T00:00:00.000001+00:00", 0, "946684800000001"}, {"2000-01-01T00:00:00.000001", 0, "946684800000001"},
     {"{\"k\":\"\\u00e9\"}", 0, NULL}, {"v", 0, NULL}, {"v", 0, NULL}, N_},
};
#define NR (sizeof all_rows / sizeof all_rows[0])

static int teardown_all(void **state)
{
    (void)state;
    h_cleanup();
    return 0;
}

static void check_readers2(const char *path, const struct tcol *cols, size_t ncols, const struct nb_buf *expected,
                           long want_rows, bool use_libavro)
{
    char msg[512] = "";
    struct nb_buf got;
    nb_buf_init(&got);
    if (!use_libavro) goto node;
    long rows = h_read_libavro(path, cols, ncols, &got, msg, sizeof msg);
    if (rows < 0) fail_msg("libavro: %s: %s", path, msg);
    assert_int_equal(rows, want_rows);
    if (strcmp(got.data ? got.data : "", expected->data ? expected->data : "") != 0) {
        /* Show the first differing line. */
        const char *a = got.data ? got.data : "", *e = expected->data ? expected->data : "";
        size_t line = 1;
        while (*a && *a == *e) { if (*a == '\n') line++; a++; e++; }
        const char *ea = strchr(a, '\n'), *ee = strchr(e, '\n');
        fail_msg("libavro: %s row %zu differs:\n got      ...%.*s\n expected ...%.*s", path, line,
                 (int)(ea ? ea - a : (long)strlen(a)), a, (int)(ee ? ee - e : (long)strlen(e)), e);
    }
node:
    nb_buf_cleanup(&got);
    if (h_node_check(path, expected) == 1) fail_msg("cannot queue the avsc read-back of %s", path);
}

/* Run the avsc checks queued by check_readers (one node process per test). */
static void avsc_flush(void)
{
    if (h_node_flush() == 1) fail_msg("avsc read-back differs (see stderr)");
}

static void check_readers(const char *path, const struct tcol *cols, size_t ncols, const struct nb_buf *expected,
                          long want_rows)
{
    check_readers2(path, cols, ncols, expected, want_rows, true);
}

static void all_types(enum nb_avro_codec codec, bool use_encode)
{
    struct nb_schema *s = h_schema(all_cols, NC);
    struct nb_batch *b[2] = {h_batch(s, &all_rows[0][0], 3, "public.users"), h_batch(s, &all_rows[3][0], NR - 3, "public.users")};
    struct nb_avro_options o = {codec, 0, NB_AVRO_DEFAULT_BLOCK_SIZE, 0};
    char name[64];
    snprintf(name, sizeof name, "all_%s_%d.avro", nb_avro_codec_name(codec), use_encode);
    const char *path = h_path(name);
    struct nb_error err = {0};
    nb_status st = h_write(path, &o, s, b, 2, use_encode, &err);
    if (st != NB_OK) fail_msg("write: %s", err.message);

    char codec_name[32], msg[256];
    long blocks, rows;
    char *schema = NULL;
    if (!h_walk(path, codec_name, sizeof codec_name, &blocks, &rows, &schema, msg, sizeof msg)) fail_msg("%s", msg);
    assert_string_equal(codec_name, nb_avro_codec_name(codec));
    assert_int_equal(rows, (long)NR);
    /* Schema: record name from the stream, logical types, nullable unions, sanitised names. */
    const char *want[] = {
        "\"name\":\"public_users\"",
        "{\"name\":\"id\",\"type\":\"long\"}",
        "{\"name\":\"flag\",\"type\":[\"null\",\"boolean\"],\"default\":null}",
        "{\"name\":\"small\",\"type\":[\"null\",\"int\"]",
        "[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":10,\"scale\":2}]",
        "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":60,\"scale\":5}",
        "{\"type\":\"int\",\"logicalType\":\"date\"}",
        "{\"type\":\"long\",\"logicalType\":\"time-micros\"}",
        "{\"name\":\"ts\",\"type\":[\"null\",{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}]",
        "{\"name\":\"lts\",\"type\":[\"null\",{\"type\":\"long\",\"logicalType\":\"local-timestamp-micros\"}]",
        "{\"type\":\"string\",\"sqlType\":\"JSON\"}",
        "{\"name\":\"_1st_name\",\"type\":[\"null\",\"string\"],\"default\":null,\"nebula.original_name\":\"1st name\"}",
        "{\"name\":\"_1st_name_2\",\"type\":\"string\",\"nebula.original_name\":\"1st-name\"}",
        "{\"name\":\"nothing\",\"type\":\"null\"}",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(schema, want[i])) fail_msg("schema lacks %s:\n%s", want[i], schema);
    free(schema);

    struct nb_buf exp;
    nb_buf_init(&exp);
    h_expect_ndjson(&exp, all_cols, NC, &all_rows[0][0], NR);
    check_readers(path, all_cols, NC, &exp, (long)NR);
    nb_buf_cleanup(&exp);
    nb_batch_destroy(b[0]);
    nb_batch_destroy(b[1]);
    nb_schema_release(s);
}

static void test_all_types_null(void **state)
{
    (void)state;
    all_types(NB_AVRO_NULL, true);
    all_types(NB_AVRO_NULL, false);
    avsc_flush();
}
static void test_all_types_deflate(void **state)
{
    (void)state;
    all_types(NB_AVRO_DEFLATE, true);
    avsc_flush();
}
static void test_all_types_snappy(void **state)
{
    (void)state;
    all_types(NB_AVRO_SNAPPY, true);
    all_types(NB_AVRO_SNAPPY, false);
    avsc_flush();
}
static void test_all_types_zstd(void **state)
{
    (void)state;
    all_types(NB_AVRO_ZSTD, true);
    avsc_flush();
}

/* ---- generated tables: null patterns, many blocks ------------------------------------- */
static const struct tcol gen_cols[] = {
    {"id", T(NB_TYPE_INT64), false},
    {"always_null", T(NB_TYPE_INT64), true},
    {"never_null", T(NB_TYPE_STRING), true},
    {"sparse", T(NB_TYPE_FLOAT64), true},
    {"dense", {NB_TYPE_DECIMAL, 12, 3, false}, true},
    {"flag", T(NB_TYPE_BOOL), true},
    {"when", {NB_TYPE_TIMESTAMP, 0, 0, true}, true},
};
#define GC (sizeof gen_cols / sizeof gen_cols[0])

/* Cells own their text in one pool. */
struct gen { struct tcell *cells; char *pool; size_t rows; };

static struct gen gen_table(size_t rows)
{
    struct gen g = {calloc(rows * GC, sizeof(struct tcell)), calloc(rows * GC, 64), rows};
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < GC; c++) {
            char *in = g.pool + (r * GC + c) * 64, *want = in + 40;
            struct tcell *t = &g.cells[r * GC + c];
            long long v = (long long)r * 7919 - 500000;
            bool null = false;
            switch (c) {
            case 0: snprintf(in, 40, "%lld", v); break;
            case 1: null = true; break;
            case 2: snprintf(in, 40, "name-%zu-%s", r, r % 3 ? "é" : "\"q\""); break;
            case 3: null = r % 10 != 3; snprintf(in, 40, "%lld.25", v); break;
            case 4:
                null = r % 5 == 0;
                snprintf(in, 40, "%lld.%03zu", v / 100, r % 1000); /* already canonical */
                break;
            case 5: null = (r / 3) % 2 == 1; snprintf(in, 40, "%s", r % 2 ? "true" : "false"); break;
            case 6:
                null = r % 7 == 6;
                snprintf(in, 40, "2024-03-01T00:00:%02zu.%06zuZ", r % 60, r);
                snprintf(want, 24, "%lld", 1709251200000000LL + (long long)(r % 60) * 1000000 + (long long)r);
                t->want = want;
                break;
            }
            t->in = null ? NULL : in;
        }
    }
    return g;
}

static void gen_free(struct gen *g) { free(g->cells); free(g->pool); }

static void write_gen(const char *name, const struct nb_avro_options *o, size_t rows, size_t per_batch, bool use_encode,
                      long *blocks_out)
{
    struct gen g = gen_table(rows);
    struct nb_schema *s = h_schema(gen_cols, GC);
    size_t nb = (rows + per_batch - 1) / per_batch;
    struct nb_batch **b = calloc(nb ? nb : 1, sizeof *b);
    for (size_t i = 0; i < nb; i++) {
        size_t n = rows - i * per_batch < per_batch ? rows - i * per_batch : per_batch;
        b[i] = h_batch(s, g.cells + i * per_batch * GC, n, "gen");
    }
    const char *path = h_path(name);
    struct nb_error err = {0};
    if (h_write(path, o, s, b, nb, use_encode, &err) != NB_OK) fail_msg("write %s: %s", name, err.message);
    char codec[32], msg[256];
    long blocks, nrows;
    if (!h_walk(path, codec, sizeof codec, &blocks, &nrows, NULL, msg, sizeof msg)) fail_msg("%s: %s", name, msg);
    assert_int_equal(nrows, (long)rows);
    if (blocks_out) *blocks_out = blocks;
    struct nb_buf exp;
    nb_buf_init(&exp);
    h_expect_ndjson(&exp, gen_cols, GC, g.cells, rows);
    check_readers(path, gen_cols, GC, &exp, (long)rows);
    nb_buf_cleanup(&exp);
    for (size_t i = 0; i < nb; i++) nb_batch_destroy(b[i]);
    free(b);
    nb_schema_release(s);
    gen_free(&g);
}

static void test_null_patterns(void **state)
{
    (void)state;
    struct nb_avro_options o = {NB_AVRO_DEFLATE, 0, NB_AVRO_DEFAULT_BLOCK_SIZE, 0};
    write_gen("nulls.avro", &o, 1000, 1000, false, NULL);
    avsc_flush();
}

static void test_many_blocks(void **state)
{
    (void)state;
    const enum nb_avro_codec codecs[] = {NB_AVRO_NULL, NB_AVRO_DEFLATE, NB_AVRO_SNAPPY, NB_AVRO_ZSTD};
    for (size_t i = 0; i < 4; i++) {
        char name[64];
        long blocks;
        /* By records: 7 per block. */
        struct nb_avro_options o = {codecs[i], 0, NB_AVRO_DEFAULT_BLOCK_SIZE, 7};
        snprintf(name, sizeof name, "rows7_%s.avro", nb_avro_codec_name(codecs[i]));
        write_gen(name, &o, 500, 10, i % 2 == 0, &blocks);
        assert_true(blocks >= 500 / 7);
        /* By bytes: about 300 bytes per block. */
        struct nb_avro_options ob = {codecs[i], 0, 300, 0};
        snprintf(name, sizeof name, "bytes300_%s.avro", nb_avro_codec_name(codecs[i]));
        write_gen(name, &ob, 2000, 333, i % 2 == 1, &blocks);
        assert_true(blocks > 100);
    }
    avsc_flush();
}

/* Small batches are merged into full blocks rather than one block per batch. */
static void test_tail_merge(void **state)
{
    (void)state;
    struct nb_avro_options o = {NB_AVRO_SNAPPY, 0, NB_AVRO_DEFAULT_BLOCK_SIZE, 0};
    long blocks;
    write_gen("merge.avro", &o, 300, 3, true, &blocks);
    /* h_write flushes once in the middle (a commit): two blocks for 100 batches. */
    assert_int_equal(blocks, 2);
    avsc_flush();
}

static void test_empty(void **state)
{
    (void)state;
    const enum nb_avro_codec codecs[] = {NB_AVRO_NULL, NB_AVRO_DEFLATE, NB_AVRO_SNAPPY, NB_AVRO_ZSTD};
    for (size_t i = 0; i < 4; i++) {
        struct nb_schema *s = h_schema(all_cols, NC);
        struct nb_avro_options o = {codecs[i], 0, 1024, 0};
        char name[64];
        snprintf(name, sizeof name, "empty_%s.avro", nb_avro_codec_name(codecs[i]));
        const char *path = h_path(name);
        struct nb_error err = {0};
        /* No batch at all, and an empty batch: both give a valid file with no block. */
        struct nb_batch *b = h_batch(s, NULL, 0, "empty");
        if (h_write(path, &o, s, &b, i % 2, true, &err) != NB_OK) fail_msg("%s", err.message);
        char codec[32], msg[256];
        long blocks = -1, rows = -1;
        if (!h_walk(path, codec, sizeof codec, &blocks, &rows, NULL, msg, sizeof msg)) fail_msg("%s", msg);
        assert_int_equal(blocks, 0);
        assert_int_equal(rows, 0);
        struct nb_buf exp;
        nb_buf_init(&exp);
        check_readers(path, all_cols, NC, &exp, 0);
        nb_buf_cleanup(&exp);
        nb_batch_destroy(b);
        nb_schema_release(s);
    }
    avsc_flush();
}

/* Records of zero bytes (only a null-typed column): blocks with a count and no data. */
static void test_zero_byte_records(void **state)
{
    (void)state;
    const struct tcol cols[] = {{"nothing", T(NB_TYPE_NULL), true}};
    const struct tcell cells[] = {N_, N_, N_, N_, N_};
    const enum nb_avro_codec codecs[] = {NB_AVRO_NULL, NB_AVRO_DEFLATE, NB_AVRO_SNAPPY, NB_AVRO_ZSTD};
    for (size_t i = 0; i < 4; i++) {
        struct nb_schema *s = h_schema(cols, 1);
        struct nb_batch *b[2] = {h_batch(s, cells, 5, "z"), h_batch(s, cells, 2, "z")};
        struct nb_avro_options o = {codecs[i], 0, 1, 3};
        char name[64];
        snprintf(name, sizeof name, "zero_%s.avro", nb_avro_codec_name(codecs[i]));
        struct nb_error err = {0};
        if (h_write(h_path(name), &o, s, b, 2, i % 2, &err) != NB_OK) fail_msg("%s", err.message);
        struct nb_buf exp;
        nb_buf_init(&exp);
        h_expect_ndjson(&exp, cols, 1, cells, 5);
        h_expect_ndjson(&exp, cols, 1, cells, 2);
        /* Debian's libavro 1.11 cannot read a snappy block of zero bytes ("Cannot allocate memory
         * for snappy"): the file is valid (snappy's encoding of nothing plus its CRC), avsc reads it. */
        check_readers2(h_path(name), cols, 1, &exp, 7, codecs[i] != NB_AVRO_SNAPPY);
        nb_buf_cleanup(&exp);
        nb_batch_destroy(b[0]);
        nb_batch_destroy(b[1]);
        nb_schema_release(s);
    }
    avsc_flush();
}

/* ---- bad values: an error naming column, row and value, never a crash -------------------- */
static void expect_bad(const struct tcol *cols, size_t ncols, const struct tcell *cells, size_t nrows, const char *const *needles)
{
    struct nb_schema *s = h_schema(cols, ncols);
    struct nb_batch *b = h_batch(s, cells, nrows, "bad");
    struct nb_avro_options o = {NB_AVRO_NULL, 0, 64, 0};
    for (int enc = 0; enc < 2; enc++) {
        struct nb_error err = {0};
        nb_status st = h_write(h_path("bad.avro"), &o, s, &b, 1, enc, &err);
        assert_int_equal(st, NB_ERR_INVALID);
        for (size_t i = 0; needles[i]; i++)
            if (!strstr(err.message, needles[i])) fail_msg("error lacks '%s': %s", needles[i], err.message);
    }
    nb_batch_destroy(b);
    nb_schema_release(s);
}

static void test_bad_values(void **state)
{
    (void)state;
    const struct tcol c1[] = {{"id", T(NB_TYPE_INT64), true}, {"age", T(NB_TYPE_INT64), true}};
    const struct tcell r1[] = {{"1", 0, NULL}, {"30", 0, NULL}, {"2", 0, NULL}, {"N/A", 0, NULL}};
    expect_bad(c1, 2, r1, 2, (const char *const[]){"'age'", "row 2", "'N/A'", "int64", NULL});

    const struct tcol c2[] = {{"must", T(NB_TYPE_STRING), false}};
    const struct tcell r2[] = {{"ok", 0, NULL}, N_};
    expect_bad(c2, 1, r2, 2, (const char *const[]){"'must'", "row 2", "not nullable", NULL});

    const struct tcell r3[] = {{"bad \xC3\x28 utf8", 0, NULL}};
    expect_bad(c2, 1, r3, 1, (const char *const[]){"'must'", "row 1", "UTF-8", "\\xc3", NULL});

    const struct tcol c4[] = {{"price", {NB_TYPE_DECIMAL, 5, 2, false}, true}};
    const struct tcell r4[] = {{"1234.5", 0, NULL}};
    expect_bad(c4, 1, r4, 1, (const char *const[]){"'price'", "decimal(5,2)", "'1234.5'", NULL});
    const struct tcell r4b[] = {{"1.234", 0, NULL}};
    expect_bad(c4, 1, r4b, 1, (const char *const[]){"'1.234'", NULL});

    const struct tcol c5[] = {{"wide", {NB_TYPE_DECIMAL, 50, 10, false}, true}};
    const struct tcell r5[] = {{"1.5", 0, NULL}, {"12345678901234567890123456789012345678901", 0, NULL}};
    expect_bad(c5, 1, r5, 2, (const char *const[]){"'wide'", "row 2", NULL});
    const struct tcell r5b[] = {{"1.", 0, NULL}};
    expect_bad(c5, 1, r5b, 1, (const char *const[]){"'wide'", NULL});
    const struct tcell r5c[] = {{"1e5", 0, NULL}};
    expect_bad(c5, 1, r5c, 1, (const char *const[]){"'1e5'", NULL});

    const struct tcol c6[] = {{"d", T(NB_TYPE_DATE), true}, {"ts", T(NB_TYPE_TIMESTAMP), true}, {"i", T(NB_TYPE_INT32), true}};
    const struct tcell r6[] = {{"2024-02-30", 0, NULL}, N_, N_};
    expect_bad(c6, 3, r6, 1, (const char *const[]){"'d'", "2024-02-30", NULL});
    const struct tcell r6b[] = {N_, {"2024-01-01T00:00:00.1234567Z", 0, NULL}, N_};
    expect_bad(c6, 3, r6b, 1, (const char *const[]){"'ts'", NULL});
    const struct tcell r6c[] = {N_, N_, {"2147483648", 0, NULL}};
    expect_bad(c6, 3, r6c, 1, (const char *const[]){"'i'", "int32", NULL});

    /* A value in a column typed null would be lost: refused. */
    const struct tcol c8[] = {{"nothing", T(NB_TYPE_NULL), true}};
    const struct tcell r8[] = {N_, {"surprise", 0, NULL}};
    expect_bad(c8, 1, r8, 2, (const char *const[]){"'nothing'", "row 2", "'surprise'", NULL});

    /* A long binary value is shown cut and escaped. */
    char longv[300];
    memset(longv, 'x', sizeof longv);
    longv[0] = '\x01';
    longv[299] = '\0';
    const struct tcol c7[] = {{"n", T(NB_TYPE_INT64), true}};
    const struct tcell r7[] = {{longv, 0, NULL}};
    expect_bad(c7, 1, r7, 1, (const char *const[]){"\\x01xxx", "...'", NULL});
}

static void test_schema_change(void **state)
{
    (void)state;
    const struct tcol a[] = {{"id", T(NB_TYPE_INT64), false}};
    const struct tcol b2[] = {{"id", T(NB_TYPE_INT64), false}, {"extra", T(NB_TYPE_STRING), true}};
    struct nb_schema *sa = h_schema(a, 1), *sb = h_schema(b2, 2);
    const struct tcell ra[] = {{"1", 0, NULL}};
    const struct tcell rb[] = {{"2", 0, NULL}, {"e", 0, NULL}};
    struct nb_batch *b[2] = {h_batch(sa, ra, 1, "s"), h_batch(sb, rb, 1, "s")};
    struct nb_avro_options o = {NB_AVRO_NULL, 0, 1024, 0};
    struct nb_error err = {0};
    assert_int_equal(h_write(h_path("change.avro"), &o, sa, b, 2, true, &err), NB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "'extra' is new"));
    nb_batch_destroy(b[0]);
    nb_batch_destroy(b[1]);
    nb_schema_release(sa);
    nb_schema_release(sb);
}

static void test_names(void **state)
{
    (void)state;
    const char *in[] = {"a_b", "a b", "a-b", "1x", "", "\xC3\xBCn\xC3\xAF", "_ok", "Z9", "a_b_2", "a.b", "x_2", "x", "x"};
    const char *want[] = {"a_b", "a_b_3", "a_b_4", "_1x", "_", "_n_", "_ok", "Z9", "a_b_2", "a_b_5", "x_2", "x", "x_3"};
    struct nb_schema *s = nb_schema_create();
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) nb_schema_add(s, in[i], nb_type_make(NB_TYPE_STRING), true);
    char **names = NULL;
    assert_int_equal(nb_avro_field_names(s, &names, NULL), NB_OK);
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) assert_string_equal(names[i], want[i]);
    nb_avro_names_free(names, s->n_fields);
    /* Record names: sanitised, never a primitive type's name. */
    const char *rec_in[] = {"public.users", "string", "9lives", NULL, "long_", "bytes"};
    const char *rec_want[] = {"\"name\":\"public_users\"", "\"name\":\"string_record\"", "\"name\":\"_9lives\"",
                              "\"name\":\"nebula_record\"", "\"name\":\"long_\"", "\"name\":\"bytes_record\""};
    for (size_t i = 0; i < 6; i++) {
        struct nb_buf js;
        nb_buf_init(&js);
        assert_int_equal(nb_avro_schema_json(s, rec_in[i], &js, NULL), NB_OK);
        if (!strstr(js.data, rec_want[i])) fail_msg("record name for %s: %s", rec_in[i] ? rec_in[i] : "(none)", js.data);
        nb_buf_cleanup(&js);
    }
    nb_schema_release(s);
}

/* Native columns (a typed source) take the same path as text. */
static void test_native_columns(void **state)
{
    (void)state;
    const struct tcol cols[] = {{"i", T(NB_TYPE_INT64), true}, {"f", T(NB_TYPE_FLOAT64), false}, {"b", T(NB_TYPE_BOOL), true},
                                {"d", T(NB_TYPE_DATE), true}, {"ts", {NB_TYPE_TIMESTAMP, 0, 0, true}, true},
                                {"i32", T(NB_TYPE_INT32), false}, {"t", T(NB_TYPE_TIME), true}};
    struct nb_schema *s = h_schema(cols, 7);
    struct nb_batch *b = nb_batch_create(s, 4);
    for (size_t c = 0; c < 7; c++) nb_batch_set_repr(b, c, NB_REPR_NATIVE);
    const struct tcell want[] = {
        {"-5", 0, NULL}, {"2.5", 0, NULL}, {"x", 0, "true"}, {"x", 0, "-719162"}, {"x", 0, "-62135596800000000"}, {"7", 0, NULL}, {"x", 0, "1"},
        N_, {"-1e-300", 0, NULL}, N_, N_, N_, {"-2147483648", 0, NULL}, N_,
        {"9223372036854775807", 0, NULL}, {"0", 0, NULL}, {"x", 0, "false"}, {"x", 0, "0"}, {"x", 0, "0"}, {"0", 0, NULL}, {"x", 0, "0"},
    };
    nb_column_append_i64(&b->cols[0], -5);
    nb_column_append_f64(&b->cols[1], 2.5);
    nb_column_append_bool(&b->cols[2], true);
    nb_column_append_i32(&b->cols[3], -719162);
    nb_column_append_i64(&b->cols[4], -62135596800000000LL);
    nb_column_append_i32(&b->cols[5], 7);
    nb_column_append_i64(&b->cols[6], 1);
    nb_column_append_null(&b->cols[0]);
    nb_column_append_f64(&b->cols[1], -1e-300);
    for (int c = 2; c <= 4; c++) nb_column_append_null(&b->cols[c]);
    nb_column_append_i32(&b->cols[5], INT32_MIN);
    nb_column_append_null(&b->cols[6]);
    nb_column_append_i64(&b->cols[0], INT64_MAX);
    nb_column_append_f64(&b->cols[1], 0.0);
    nb_column_append_bool(&b->cols[2], false);
    nb_column_append_i32(&b->cols[3], 0);
    nb_column_append_i64(&b->cols[4], 0);
    nb_column_append_i32(&b->cols[5], 0);
    nb_column_append_i64(&b->cols[6], 0);
    b->n_rows = 3;
    b->stream = "native";
    struct nb_avro_options o = {NB_AVRO_ZSTD, 0, 1024, 0};
    struct nb_error err = {0};
    const char *path = h_path("native.avro");
    if (h_write(path, &o, s, &b, 1, true, &err) != NB_OK) fail_msg("%s", err.message);
    struct nb_buf exp;
    nb_buf_init(&exp);
    h_expect_ndjson(&exp, cols, 7, want, 3);
    check_readers(path, cols, 7, &exp, 3);
    nb_buf_cleanup(&exp);
    nb_batch_destroy(b);
    nb_schema_release(s);
    avsc_flush();
}

static struct nb_cfg *scalar(const char *k, const char *v)
{
    struct nb_cfg *c = calloc(1, sizeof *c);
    c->kind = NB_CFG_SCALAR;
    c->key = (char *)k;
    c->value = (char *)v;
    return c;
}

static nb_status opts(const char *codec, const char *level, const char *bs, const char *si, struct nb_avro_options *out,
                      struct nb_error *err)
{
    struct nb_cfg *kids[4];
    size_t n = 0;
    if (codec) kids[n++] = scalar("codec", codec);
    if (level) kids[n++] = scalar("compression_level", level);
    if (bs) kids[n++] = scalar("block_size", bs);
    if (si) kids[n++] = scalar("sync_interval", si);
    struct nb_cfg map = {.kind = NB_CFG_MAP, .children = kids, .n_children = n};
    void *o = NULL;
    nb_status st = nb_format_avro.options_create(&map, &o, err);
    if (st == NB_OK) { *out = *(struct nb_avro_options *)o; nb_format_avro.options_destroy(o); }
    for (size_t i = 0; i < n; i++) free(kids[i]);
    return st;
}

static void test_options(void **state)
{
    (void)state;
    struct nb_avro_options o;
    struct nb_error err = {0};
    assert_int_equal(opts(NULL, NULL, NULL, NULL, &o, &err), NB_OK);
    assert_int_equal(o.codec, NB_AVRO_SNAPPY);
    assert_int_equal(o.block_size, NB_AVRO_DEFAULT_BLOCK_SIZE);
    assert_int_equal(o.sync_interval, 0);
    assert_int_equal(opts("zstd", "19", "1MiB", "1000", &o, &err), NB_OK);
    assert_int_equal(o.codec, NB_AVRO_ZSTD);
    assert_int_equal(o.level, 19);
    assert_int_equal(o.block_size, 1024 * 1024);
    assert_int_equal(o.sync_interval, 1000);
    assert_int_equal(opts("deflate", "12", NULL, NULL, &o, &err), NB_OK);
    assert_int_equal(o.level, 9);
    assert_int_equal(opts("null", NULL, NULL, NULL, &o, &err), NB_OK);
    assert_int_equal(o.codec, NB_AVRO_NULL);
    /* An unquoted YAML `codec: null` arrives as a null node. */
    struct nb_cfg nullnode = {.kind = NB_CFG_NULL, .key = (char *)"codec"};
    struct nb_cfg *kid = &nullnode;
    struct nb_cfg map = {.kind = NB_CFG_MAP, .children = &kid, .n_children = 1};
    void *po = NULL;
    assert_int_equal(nb_format_avro.options_create(&map, &po, &err), NB_OK);
    assert_int_equal(((struct nb_avro_options *)po)->codec, NB_AVRO_NULL);
    nb_format_avro.options_destroy(po);
    assert_int_equal(opts("lz4", NULL, NULL, NULL, &o, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "lz4"));
    assert_int_equal(opts(NULL, "-1", NULL, NULL, &o, &err), NB_ERR_CONFIG);
    assert_int_equal(opts(NULL, NULL, "0", NULL, &o, &err), NB_ERR_CONFIG);
    assert_int_equal(opts(NULL, NULL, "1GiB", NULL, &o, &err), NB_ERR_CONFIG);
    assert_int_equal(opts(NULL, NULL, "lots", NULL, &o, &err), NB_ERR_CONFIG);
    assert_int_equal(opts(NULL, NULL, NULL, "-3", &o, &err), NB_ERR_CONFIG);
    assert_string_equal(nb_format_avro.name, "avro");
    assert_string_equal(nb_format_avro.extension, ".avro");
    assert_false(nb_format_avro.keeps_mismatches_as_text);
    assert_false(nb_format_avro.resumable);
    assert_int_equal(nb_format_avro.writer_open(&(void *){NULL}, NULL, NULL, NULL,
                                                &(struct nb_format_resume){true, 10}, &err),
                     NB_ERR_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_types_null),
        cmocka_unit_test(test_all_types_deflate),
        cmocka_unit_test(test_all_types_snappy),
        cmocka_unit_test(test_all_types_zstd),
        cmocka_unit_test(test_null_patterns),
        cmocka_unit_test(test_many_blocks),
        cmocka_unit_test(test_tail_merge),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_zero_byte_records),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_schema_change),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_native_columns),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
