/* Unit tests of the JSON format reader: NDJSON and top-level arrays, records spanning reads,
 * schema inference, new keys under each policy, bad records, oversized records, resume, Unicode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "core/json.h"
#include "formats/json/json_format.h"
#include "io/stream.h"

/* An istream handing out at most `chunk` bytes per read, to make records span reads. */
struct chunked {
    struct nb_istream base;
    const char *data;
    size_t len, pos, chunk;
};

static nb_status chunked_read(struct nb_istream *s, void *buf, size_t cap, size_t *n, struct nb_error *err)
{
    struct chunked *c = (struct chunked *)s;
    size_t k = c->len - c->pos;
    if (k > cap) k = cap;
    if (k > c->chunk) k = c->chunk;
    memcpy(buf, c->data + c->pos, k);
    c->pos += k;
    *n = k;
    return k ? NB_OK : NB_DONE;
}

static void chunked_destroy(struct nb_istream *s) { free(s); }
static const struct nb_istream_ops chunked_ops = {chunked_read, chunked_destroy};

static struct nb_istream *chunked_open(const char *data, size_t len, size_t chunk)
{
    struct chunked *c = calloc(1, sizeof *c);
    c->base.ops = &chunked_ops;
    c->data = data;
    c->len = len;
    c->chunk = chunk;
    return &c->base;
}

/* A bad-record sink that records what it gets and skips (or fails when fail_after is reached). */
struct sink {
    struct nb_bad_record_sink base;
    int count;
    char where[8][256], reason[8][512], raw[8][64];
    int fail_after;
};

static nb_status sink_report(struct nb_bad_record_sink *s, const struct nb_bad_record *rec, struct nb_error *err)
{
    struct sink *k = (struct sink *)s;
    if (k->count < 8) {
        snprintf(k->where[k->count], 256, "%s", rec->location);
        snprintf(k->reason[k->count], 512, "%s", rec->reason);
        snprintf(k->raw[k->count], 64, "%.*s", (int)(rec->raw_len < 63 ? rec->raw_len : 63), rec->raw ? rec->raw : "");
    }
    k->count++;
    if (k->fail_after && k->count >= k->fail_after)
        return nb_error_set(err, NB_ERR_INVALID, "%s: %s", rec->location, rec->reason);
    return NB_OK;
}

static void sink_init(struct sink *s)
{
    memset(s, 0, sizeof *s);
    s->base.report = sink_report;
}

/* Everything read from a text: the schema, then each row's values as "v|v|..." ('~' null, '!'
 * suffix mismatch), one line per row. */
struct result {
    struct nb_schema *schema;
    char rows[8192];
    int n_rows, n_batches;
    char last_position[256];
    nb_status status;
    struct nb_error err;
};

static void read_all(const char *text, size_t chunk, struct nb_json_reader_options *opt, struct result *res)
{
    memset(res, 0, sizeof *res);
    size_t len = strlen(text);
    struct nb_istream *in = chunked_open(text, len, chunk);
    enum nb_json_layout layout;
    struct nb_schema *schema = NULL;
    res->status = nb_json_infer(in, opt, &schema, &layout, &res->err);
    nb_istream_destroy(in);
    if (res->status != NB_OK) return;
    in = chunked_open(text, len, chunk);
    struct nb_json_reader *r = NULL;
    res->status = nb_json_reader_create(&r, in, schema, layout, opt, &res->err);
    nb_schema_release(schema);
    if (res->status != NB_OK) { nb_istream_destroy(in); return; }
    for (;;) {
        struct nb_batch *b = NULL;
        nb_status st = nb_json_reader_next(r, &b, &res->err);
        if (st == NB_DONE) break;
        if (st != NB_OK) { res->status = st; break; }
        res->n_batches++;
        assert_non_null(b->position);
        snprintf(res->last_position, sizeof res->last_position, "%s", b->position);
        for (size_t i = 0; i < b->n_rows; i++) {
            size_t o = strlen(res->rows);
            for (size_t c = 0; c < b->schema->n_fields; c++) {
                const struct nb_column *col = &b->cols[c];
                if (c) res->rows[o++] = '|';
                if (nb_column_is_null(col, i)) res->rows[o++] = '~';
                else {
                    size_t n;
                    const char *t = nb_column_text(col, i, &n);
                    memcpy(res->rows + o, t, n);
                    o += n;
                    if (nb_column_is_mismatch(col, i)) res->rows[o++] = '!';
                }
            }
            res->rows[o++] = '\n';
            res->rows[o] = '\0';
            res->n_rows++;
        }
        if (b->end_of_stream) {
            nb_schema_release(res->schema);
            res->schema = nb_schema_retain(b->schema);
        }
        nb_batch_destroy(b);
    }
    nb_json_reader_destroy(r);
    nb_istream_destroy(in);
}

static void result_cleanup(struct result *res) { nb_schema_release(res->schema); }

static void expect_schema(const struct nb_schema *s, const char *expect)
{
    char buf[1024] = "";
    for (size_t i = 0; i < s->n_fields; i++) {
        char t[64];
        nb_type_format(s->fields[i].type, t, sizeof t);
        size_t o = strlen(buf);
        snprintf(buf + o, sizeof buf - o, "%s%s:%s", i ? " " : "", s->fields[i].name, t);
    }
    assert_string_equal(buf, expect);
}

static const char NDJSON[] =
    "{\"id\":1,\"price\":291.07,\"ok\":true,\"name\":\"a\",\"day\":\"2024-01-31\",\"at\":\"2024-01-31T10:00:00Z\","
    "\"tags\":[\"x\",{\"y\":null}],\"mixed\":1,\"nothing\":null}\n"
    "\n"
    "{\"id\":-20,\"price\":1e3,\"ok\":false,\"name\":\"caf\\u00e9 \xf0\x9f\x98\x80\",\"day\":\"2024-02-29\","
    "\"at\":\"2024-02-29T23:59:59.5+01:00\",\"tags\":{},\"mixed\":\"two\",\"nothing\":null}\r\n"
    "  {\"price\":3,\"id\":3}  \n"
    "{\"id\":9223372036854775807,\"price\":-0.0}";

static void test_ndjson(void **state)
{
    size_t chunks[] = {1 << 20, 1, 7};
    for (size_t k = 0; k < 3; k++) {
        struct nb_json_reader_options opt = {.name = "t.ndjson", .stream = "t"};
        struct result res;
        read_all(NDJSON, chunks[k], &opt, &res);
        assert_int_equal(res.status, NB_OK);
        expect_schema(res.schema, "id:int64 price:float64 ok:bool name:string day:date at:timestamptz tags:json "
                                  "mixed:string nothing:string");
        assert_string_equal(res.rows,
                            "1|291.07|true|a|2024-01-31|2024-01-31T10:00:00Z|[\"x\",{\"y\":null}]|1|~\n"
                            "-20|1e3|false|caf\xc3\xa9 \xf0\x9f\x98\x80|2024-02-29|2024-02-29T23:59:59.5+01:00|{}|two|~\n"
                            "3|3|~|~|~|~|~|~|~\n"
                            "9223372036854775807|-0.0|~|~|~|~|~|~|~\n");
        assert_int_equal(res.n_batches, 1);
        assert_string_equal(res.last_position, "{\"file\":\"t.ndjson\",\"offset\":356,\"line\":5,\"row\":4}");
        result_cleanup(&res);
    }
}

static void test_array(void **state)
{
    const char *text = "\xEF\xBB\xBF [\n  {\"a\": 1, \"b\": \"x\"},\n  {\"b\": \"y\\n\", \"a\": 2.5}\n ,{}\n]\n  ";
    size_t chunks[] = {4096, 1, 3};
    for (size_t k = 0; k < 3; k++) {
        struct nb_json_reader_options opt = {.name = "t.json", .batch_size = 2};
        struct result res;
        read_all(text, chunks[k], &opt, &res);
        assert_int_equal(res.status, NB_OK);
        expect_schema(res.schema, "a:float64 b:string");
        assert_string_equal(res.rows, "1|x\n2.5|y\n\n~|~\n");
        assert_int_equal(res.n_batches, 2);
        result_cleanup(&res);
    }
    /* Empty inputs. */
    const char *empties[] = {"", "[]", "  [ ]  \n", "\n\n"};
    for (size_t k = 0; k < 4; k++) {
        struct nb_json_reader_options opt = {.name = "e.json"};
        struct result res;
        read_all(empties[k], 2, &opt, &res);
        assert_int_equal(res.status, NB_OK);
        assert_int_equal(res.schema->n_fields, 0);
        assert_int_equal(res.n_rows, 0);
        assert_int_equal(res.n_batches, 1);   /* the end-of-stream batch */
        result_cleanup(&res);
    }
    /* Forced layout: an NDJSON reader meeting an array line reports it as not an object. */
    struct nb_json_reader_options opt = {.name = "f.json", .layout = NB_JSON_LAYOUT_LINES};
    struct sink sk;
    sink_init(&sk);
    opt.bad = &sk.base;
    struct result res;
    read_all("[{\"a\":1}]\n{\"a\":2}\n", 4096, &opt, &res);
    assert_int_equal(res.status, NB_OK);
    assert_string_equal(res.rows, "2\n");
    assert_int_equal(sk.count, 1);
    assert_string_equal(sk.where[0], "f.json:1:1");
    assert_string_equal(sk.reason[0], "record is an array, expected an object");
    result_cleanup(&res);
}

static void test_inference_and_mismatch(void **state)
{
    /* Inferred from the first two records; later values that do not fit are flagged. */
    const char *text = "{\"n\":1,\"f\":1.5,\"b\":true,\"d\":\"2024-01-01\",\"j\":[1]}\n"
                       "{\"n\":2,\"f\":2,\"b\":false,\"d\":\"2024-01-02\",\"j\":{}}\n"
                       "{\"n\":\"3\",\"f\":\"x\",\"b\":1,\"d\":\"soon\",\"j\":\"s\"}\n"
                       "{\"n\":1.5,\"f\":12345678901234567890123,\"b\":\"true\",\"d\":7,\"j\":true}\n"
                       "{\"n\":99999999999999999999,\"f\":{\"o\":1},\"b\":[],\"d\":\"2024-13-01\",\"j\":null}\n";
    struct nb_json_reader_options opt = {.name = "m.ndjson", .infer_rows = 2};
    struct result res;
    read_all(text, 5, &opt, &res);
    assert_int_equal(res.status, NB_OK);
    expect_schema(res.schema, "n:int64 f:float64 b:bool d:date j:json");
    assert_string_equal(res.rows, "1|1.5|true|2024-01-01|[1]\n"
                                  "2|2|false|2024-01-02|{}\n"
                                  "3!|x!|1!|soon!|\"s\"\n"
                                  "1.5!|12345678901234567890123!|true!|7!|true\n"
                                  "99999999999999999999!|{\"o\":1}!|[]!|2024-13-01!|~\n");
    result_cleanup(&res);
    /* Mixed kinds in the sample: string; only nulls: string; objects and arrays: json; dates and
     * timestamps mixed: string. */
    text = "{\"a\":1,\"b\":null,\"c\":[1],\"d\":\"2024-01-01\",\"e\":1}\n"
           "{\"a\":\"x\",\"b\":null,\"c\":{\"k\":2},\"d\":\"2024-01-01T00:00:00\",\"e\":2.5}\n"
           "{\"a\":true}\n";
    struct nb_json_reader_options opt2 = {.name = "x.ndjson"};
    read_all(text, 1000, &opt2, &res);
    expect_schema(res.schema, "a:string b:string c:json d:string e:float64");
    assert_string_equal(res.rows, "1|~|[1]|2024-01-01|1\nx|~|{\"k\":2}|2024-01-01T00:00:00|2.5\ntrue|~|~|~|~\n");
    result_cleanup(&res);
}

static const char NEW_KEYS[] = "{\"a\":1}\n{\"a\":2}\n{\"a\":3,\"b\":\"new\",\"c\":{\"x\":1}}\n{\"c\":5,\"a\":4}\n";

static void test_new_keys(void **state)
{
    struct nb_json_reader_options opt = {.name = "k.ndjson", .infer_rows = 2, .on_new_key = NB_JSON_NEW_KEY_ADD};
    struct result res;
    read_all(NEW_KEYS, 3, &opt, &res);
    assert_int_equal(res.status, NB_OK);
    expect_schema(res.schema, "a:int64 b:string c:json");
    /* The first batch ends before the record with new keys; the next carries them. */
    assert_int_equal(res.n_batches, 2);
    assert_string_equal(res.rows, "1\n2\n3|new|{\"x\":1}\n4|~|5\n");
    result_cleanup(&res);

    opt.on_new_key = NB_JSON_NEW_KEY_IGNORE;
    read_all(NEW_KEYS, 3, &opt, &res);
    assert_int_equal(res.status, NB_OK);
    expect_schema(res.schema, "a:int64");
    assert_string_equal(res.rows, "1\n2\n3\n4\n");
    result_cleanup(&res);

    opt.on_new_key = NB_JSON_NEW_KEY_FAIL;
    read_all(NEW_KEYS, 3, &opt, &res);
    assert_int_equal(res.status, NB_ERR_INVALID);
    assert_non_null(strstr(res.err.message, "k.ndjson:3"));
    assert_non_null(strstr(res.err.message, "new key 'b'"));
    assert_non_null(strstr(res.err.message, "on_new_column is 'fail'"));
    result_cleanup(&res);

    /* New key when the batch is still empty: no empty batch is emitted for the split. */
    struct nb_json_reader_options one = {.name = "k.ndjson", .infer_rows = 1, .batch_size = 1};
    read_all("{\"a\":1}\n{\"b\":2}\n", 1, &one, &res);
    assert_int_equal(res.status, NB_OK);
    assert_string_equal(res.rows, "1\n~|2\n");
    result_cleanup(&res);
}

static void test_bad_records(void **state)
{
    const char *text = "{\"a\":1}\n"
                       "{\"a\":2,}\n"
                       "{\"a\":\"\xff\"}\n"
                       "42\n"
                       "{\"a\":3} x\n"
                       "{\"a\":4}\n";
    struct sink sk;
    sink_init(&sk);
    struct nb_json_reader_options opt = {.name = "bad.ndjson", .stream = "s", .bad = &sk.base};
    struct result res;
    read_all(text, 2, &opt, &res);
    assert_int_equal(res.status, NB_OK);
    assert_string_equal(res.rows, "1\n4\n");
    assert_int_equal(sk.count, 4);
    assert_int_equal(res.n_batches, 1);
    assert_string_equal(sk.where[0], "bad.ndjson:2:8");
    assert_string_equal(sk.reason[0], "invalid JSON: trailing comma in object");
    assert_string_equal(sk.raw[0], "{\"a\":2,}");
    assert_string_equal(sk.where[1], "bad.ndjson:3:7");
    assert_string_equal(sk.reason[1], "invalid JSON: invalid UTF-8 in string");
    assert_string_equal(sk.where[2], "bad.ndjson:4:1");
    assert_string_equal(sk.reason[2], "record is a number, expected an object");
    assert_string_equal(sk.where[3], "bad.ndjson:5:9");
    assert_non_null(strstr(sk.reason[3], "unexpected data after"));
    result_cleanup(&res);

    /* Policy fail (no sink): the run stops with the place. */
    struct nb_json_reader_options fail = {.name = "bad.ndjson"};
    read_all(text, 4096, &fail, &res);
    assert_int_equal(res.status, NB_ERR_INVALID);
    assert_non_null(strstr(res.err.message, "bad.ndjson:2:8: invalid JSON: trailing comma in object"));
    result_cleanup(&res);

    /* Array: an element that is invalid but framed is skipped; the rest is read. */
    const char *arr = "[{\"a\":1},\n {\"a\":tru},\n 5,\n {\"a\":\"\\x\"}, {\"a\":2}]";
    sink_init(&sk);
    struct nb_json_reader_options aopt = {.name = "bad.json", .bad = &sk.base};
    read_all(arr, 3, &aopt, &res);
    assert_int_equal(res.status, NB_OK);
    assert_string_equal(res.rows, "1\n2\n");
    assert_int_equal(sk.count, 3);
    assert_string_equal(sk.where[0], "bad.json:2:7");
    assert_string_equal(sk.raw[0], "{\"a\":tru}");
    assert_string_equal(sk.where[1], "bad.json:3:2");
    assert_string_equal(sk.reason[1], "array element is a number, expected an object");
    assert_string_equal(sk.where[2], "bad.json:4:8");
    result_cleanup(&res);

    /* Array whose structure is lost, or never closed: an error naming the place. */
    sink_init(&sk);
    read_all("[{\"a\":1} {\"a\":2}]", 3, &aopt, &res);
    assert_int_equal(res.status, NB_ERR_INVALID);
    assert_non_null(strstr(res.err.message, "bad.json:1:10: invalid JSON: expected ',' or ']' after an array element"));
    result_cleanup(&res);
    read_all("[{\"a\":1},\n{\"a\":2}", 3, &aopt, &res);
    assert_int_equal(res.status, NB_ERR_INVALID);
    assert_non_null(strstr(res.err.message, "bad.json:2:8: unexpected end of input: the top-level array is not closed"));
    result_cleanup(&res);
    read_all("[{\"a\":1}] {}", 3, &aopt, &res);
    assert_int_equal(res.status, NB_ERR_INVALID);
    assert_non_null(strstr(res.err.message, "unexpected data after the top-level array"));
    result_cleanup(&res);
    sink_init(&sk);
    read_all("[{\"a\":1},{\"a\":\"unterminated}]", 4, &aopt, &res);
    assert_int_equal(res.status, NB_ERR_INVALID);
    assert_non_null(strstr(res.err.message, "cannot be read past it"));
    result_cleanup(&res);
}

static void test_max_record_size(void **state)
{
    /* A line far larger than max_record_size is reported and skipped without being buffered. */
    size_t big = 200000;
    char *text = malloc(big + 100);
    strcpy(text, "{\"a\":1}\n{\"a\":\"");
    size_t o = strlen(text);
    memset(text + o, 'x', big);
    o += big;
    strcpy(text + o, "\"}\n{\"a\":2}\n");
    struct sink sk;
    sink_init(&sk);
    struct nb_json_reader_options opt = {.name = "big.ndjson", .max_record_size = 1000, .bad = &sk.base};
    struct result res;
    read_all(text, 4096, &opt, &res);
    assert_int_equal(res.status, NB_OK);
    assert_string_equal(res.rows, "1\n2\n");
    assert_int_equal(sk.count, 1);
    assert_string_equal(sk.where[0], "big.ndjson:2:1");
    assert_string_equal(sk.reason[0], "record larger than max_record_size (1000 bytes)");
    result_cleanup(&res);
    /* The same in an array. */
    strcpy(text, "[{\"a\":1},{\"a\":[\"");
    o = strlen(text);
    memset(text + o, 'y', big);
    o += big;
    strcpy(text + o, "\",{\"z\":\"]}\"}]},\n{\"a\":2}]");
    sink_init(&sk);
    opt.name = "big.json";
    read_all(text, 4096, &opt, &res);
    assert_int_equal(res.status, NB_OK);
    assert_string_equal(res.rows, "1\n2\n");
    assert_int_equal(sk.count, 1);
    assert_string_equal(sk.where[0], "big.json:1:10");
    result_cleanup(&res);
    /* Over the limit even when the whole record arrived in one read. */
    const char *before[] = {"{\"a\":1}\n{\"a\":\"", "[{\"a\":1},{\"a\":\""};
    const char *after[] = {"\"}\n{\"a\":2}\n", "\"},{\"a\":2}]"};
    for (int k = 0; k < 2; k++) {
        char pad[1501];
        memset(pad, 'p', 1500);
        pad[1500] = '\0';
        char small[2000];
        snprintf(small, sizeof small, "%s%s%s", before[k], pad, after[k]);
        sink_init(&sk);
        struct nb_json_reader_options o1 = {.name = "one", .max_record_size = 1000, .bad = &sk.base};
        read_all(small, 1 << 20, &o1, &res);
        assert_int_equal(res.status, NB_OK);
        assert_string_equal(res.rows, "1\n2\n");
        assert_int_equal(sk.count, 1);
        assert_non_null(strstr(sk.reason[0], "max_record_size"));
        result_cleanup(&res);
    }
    /* A tiny limit with the whole input in one read (the raw snippet stays inside the buffer). */
    const char *tiny[] = {"{\"a\":1}\n{\"a\":\"xxxxxxxxxxxxxxxxxxxx\"}\n{\"a\":2}\n",
                          "[{\"a\":1},{\"a\":\"xxxxxxxxxxxxxxxxxxxx\"},{\"a\":2}]"};
    for (int k = 0; k < 2; k++) {
        sink_init(&sk);
        struct nb_json_reader_options o2 = {.name = "tiny", .max_record_size = 16, .bad = &sk.base};
        read_all(tiny[k], 1 << 20, &o2, &res);
        assert_int_equal(res.status, NB_OK);
        assert_string_equal(res.rows, "1\n2\n");
        assert_int_equal(sk.count, 1);
        result_cleanup(&res);
    }
    /* Policy fail: the error names the line. */
    opt.bad = NULL;
    read_all(text, 4096, &opt, &res);
    assert_int_equal(res.status, NB_ERR_INVALID);
    assert_non_null(strstr(res.err.message, "big.json:1:10: record larger than max_record_size"));
    result_cleanup(&res);
    free(text);
}

/* Read batch by batch, then resume at each batch's position with a fresh reader: the rows after
 * it are exactly the rest. */
static void check_resume(const char *text)
{
    size_t len = strlen(text);
    struct nb_json_reader_options opt = {.name = "r.json", .batch_size = 2};
    struct result full;
    read_all(text, 5, &opt, &full);
    assert_int_equal(full.status, NB_OK);

    struct nb_istream *in = chunked_open(text, len, 5);
    struct nb_schema *schema;
    enum nb_json_layout layout;
    assert_int_equal(nb_json_infer(in, &opt, &schema, &layout, NULL), NB_OK);
    nb_istream_destroy(in);
    in = chunked_open(text, len, 5);
    struct nb_json_reader *r;
    assert_int_equal(nb_json_reader_create(&r, in, schema, layout, &opt, NULL), NB_OK);
    struct nb_batch *b;
    assert_int_equal(nb_json_reader_next(r, &b, NULL), NB_OK);
    assert_int_equal(b->n_rows, 2);
    struct nb_arena a;
    nb_arena_init(&a, 1024);
    struct nb_json *pos;
    assert_int_equal(nb_json_parse(b->position, strlen(b->position), &a, &pos, NULL), NB_OK);
    int64_t off, line, row;
    assert_true(nb_json_get_i64(pos, "offset", &off));
    assert_true(nb_json_get_i64(pos, "line", &line));
    assert_true(nb_json_get_i64(pos, "row", &row));
    assert_int_equal(row, 2);
    assert_int_equal(b->locs[1].line, 2);
    nb_batch_destroy(b);
    nb_json_reader_destroy(r);
    nb_istream_destroy(in);

    struct nb_json_reader_options ropt = opt;
    ropt.offset = (uint64_t)off;
    ropt.line = (uint64_t)line;
    ropt.row = (uint64_t)row;
    struct result rest;
    memset(&rest, 0, sizeof rest);
    in = chunked_open(text + off, len - (size_t)off, 3);
    assert_int_equal(nb_json_reader_create(&r, in, schema, layout, &ropt, NULL), NB_OK);
    char rows[1024] = "";
    for (;;) {
        nb_status st = nb_json_reader_next(r, &b, NULL);
        if (st == NB_DONE) break;
        assert_int_equal(st, NB_OK);
        for (size_t i = 0; i < b->n_rows; i++) {
            size_t n;
            const char *t = nb_column_text(&b->cols[0], i, &n);
            strncat(rows, t, n);
            strcat(rows, "\n");
        }
        if (b->end_of_stream) assert_non_null(strstr(b->position, "\"row\":5}"));
        nb_batch_destroy(b);
    }
    assert_string_equal(rows, strchr(strchr(full.rows, '\n') + 1, '\n') + 1);
    nb_json_reader_destroy(r);
    nb_istream_destroy(in);
    nb_schema_release(schema);
    nb_arena_cleanup(&a);
    result_cleanup(&full);
}

static void test_resume(void **state)
{
    check_resume("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\":4}\n{\"a\":5}\n");
    check_resume("[{\"a\":1},\n{\"a\":2} ,\n{\"a\":3},\n{\"a\":4},{\"a\":5}\n]\n");
}

static void test_duplicates_and_unicode_keys(void **state)
{
    const char *text = "{\"k\\u00e9\":1,\"dup\":1,\"dup\":2}\n{\"k\xc3\xa9\":2,\"dup\":3}\n";
    struct nb_json_reader_options opt = {.name = "u.ndjson"};
    struct result res;
    read_all(text, 1, &opt, &res);
    assert_int_equal(res.status, NB_OK);
    expect_schema(res.schema, "k\xc3\xa9:int64 dup:int64");
    assert_string_equal(res.rows, "1|2\n2|3\n");   /* the last of duplicate keys wins */
    result_cleanup(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndjson),       cmocka_unit_test(test_array),
        cmocka_unit_test(test_inference_and_mismatch), cmocka_unit_test(test_new_keys),
        cmocka_unit_test(test_bad_records),  cmocka_unit_test(test_max_record_size),
        cmocka_unit_test(test_resume),       cmocka_unit_test(test_duplicates_and_unicode_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
