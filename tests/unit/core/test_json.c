/* Unit tests of the JSON parser (core/json.h): values, strictness, Unicode, incremental parsing,
 * error locations, writing, and the JSONTestSuite parsing cases read in place from $NB_SHARED. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"

static struct nb_json *parse_ok(struct nb_arena *a, const char *s)
{
    struct nb_json *v = NULL;
    struct nb_error err = {0};
    nb_status st = nb_json_parse(s, strlen(s), a, &v, &err);
    if (st != NB_OK) fail_msg("'%s' should parse: %s", s, err.message);
    assert_non_null(v);
    return v;
}

static void expect_fail(struct nb_arena *a, const char *s, size_t n, const char *fragment)
{
    struct nb_json *v = NULL;
    struct nb_error err = {0};
    nb_status st = nb_json_parse(s, n, a, &v, &err);
    if (st != NB_ERR_INVALID) fail_msg("'%.*s' should fail, got %d", (int)n, s, st);
    assert_null(v);
    if (fragment && !strstr(err.message, fragment)) fail_msg("message '%s' lacks '%s'", err.message, fragment);
}

static void roundtrip(struct nb_arena *a, const char *in, const char *expect)
{
    struct nb_json *v = parse_ok(a, in);
    struct nb_buf b;
    nb_buf_init(&b);
    nb_json_write(&b, v);
    assert_string_equal(b.data, expect);
    nb_buf_cleanup(&b);
}

static void test_values(void **state)
{
    struct nb_arena a;
    nb_arena_init(&a, 256);
    struct nb_json *v = parse_ok(&a, " {\"a\":1,\"b\":[true,false,null],\"c\":\"x\\ny\",\"d\":-0.5e+10,\"a\":2} ");
    assert_int_equal(v->kind, NB_JSON_OBJECT);
    assert_int_equal(v->u.object.count, 5);
    int64_t i;
    assert_true(nb_json_get_i64(v, "a", &i));
    assert_int_equal(i, 1);   /* first of duplicate keys */
    assert_int_equal(v->u.object.members[4].value->u.number.text[0], '2');
    const struct nb_json *b = nb_json_get(v, "b");
    assert_int_equal(b->kind, NB_JSON_ARRAY);
    assert_int_equal(b->u.array.count, 3);
    assert_true(b->u.array.items[0]->u.boolean);
    assert_int_equal(b->u.array.items[2]->kind, NB_JSON_NULL);
    assert_string_equal(nb_json_get_string(v, "c"), "x\ny");
    const struct nb_json *d = nb_json_get(v, "d");
    assert_int_equal(d->u.number.len, 8);
    assert_memory_equal(d->u.number.text, "-0.5e+10", 8);
    double f;
    assert_true(nb_json_f64(d, &f));
    assert_true(f == -0.5e10);
    assert_false(nb_json_i64(d, &i));
    assert_null(nb_json_get(v, "zz"));
    assert_null(nb_json_get_string(v, "a"));
    bool bo;
    assert_false(nb_json_get_bool(v, "a", &bo));
    /* Scalars at top level, empty containers. */
    assert_int_equal(parse_ok(&a, "42")->kind, NB_JSON_NUMBER);
    assert_int_equal(parse_ok(&a, "\"\"")->u.string.len, 0);
    assert_int_equal(parse_ok(&a, "[]")->u.array.count, 0);
    assert_int_equal(parse_ok(&a, "{}")->u.object.count, 0);
    nb_arena_cleanup(&a);
}

static void test_numbers(void **state)
{
    struct nb_arena a;
    nb_arena_init(&a, 256);
    int64_t i;
    uint64_t u;
    assert_true(nb_json_i64(parse_ok(&a, "9223372036854775807"), &i));
    assert_true(i == INT64_MAX);
    assert_true(nb_json_i64(parse_ok(&a, "-9223372036854775808"), &i));
    assert_true(i == INT64_MIN);
    assert_false(nb_json_i64(parse_ok(&a, "9223372036854775808"), &i));
    assert_true(nb_json_u64(parse_ok(&a, "18446744073709551615"), &u));
    assert_true(u == UINT64_MAX);
    assert_false(nb_json_u64(parse_ok(&a, "18446744073709551616"), &u));
    assert_false(nb_json_u64(parse_ok(&a, "-1"), &u));
    /* Exact text survives: no double rounding. */
    struct nb_json *big = parse_ok(&a, "123456789012345678901234567890.000000000000000000001");
    assert_string_equal(big->u.number.text, "123456789012345678901234567890.000000000000000000001");
    double f;
    assert_false(nb_json_f64(parse_ok(&a, "1e400"), &f));   /* out of double range */
    assert_true(nb_json_f64(parse_ok(&a, "291.07"), &f));
    assert_true(f == 291.07);
    expect_fail(&a, "01", 2, "leading zero");
    expect_fail(&a, "-01", 3, "leading zero");
    expect_fail(&a, "1.", 2, "end of input");
    expect_fail(&a, ".5", 2, "unexpected character '.'");
    expect_fail(&a, "1e", 2, NULL);
    expect_fail(&a, "1e+x", 4, "exponent");
    expect_fail(&a, "NaN", 3, NULL);
    expect_fail(&a, "-Infinity", 9, NULL);
    expect_fail(&a, "+1", 2, NULL);
    expect_fail(&a, "0x10", 4, "after the JSON value");
    nb_arena_cleanup(&a);
}

static void test_strict(void **state)
{
    struct nb_arena a;
    nb_arena_init(&a, 256);
    expect_fail(&a, "[1,2,]", 6, "trailing comma in array");
    expect_fail(&a, "{\"a\":1,}", 8, "trailing comma in object");
    expect_fail(&a, "{'a':1}", 7, "expected a string key");
    expect_fail(&a, "{\"a\" 1}", 7, "expected ':'");
    expect_fail(&a, "[1 2]", 5, "expected ',' or ']'");
    expect_fail(&a, "tru", 3, "end of input");
    expect_fail(&a, "trUe", 4, "invalid literal");
    expect_fail(&a, "", 0, "end of input");
    expect_fail(&a, "  ", 2, "end of input");
    expect_fail(&a, "{} x", 4, "after the JSON value");
    expect_fail(&a, "\"a\tb\"", 5, "control character U+0009");
    expect_fail(&a, "\"\\x\"", 4, "invalid escape '\\x'");
    expect_fail(&a, "\"\\u12g4\"", 8, "4 hex digits");
    expect_fail(&a, "/* c */ 1", 9, NULL);
    expect_fail(&a, "[1]\0", 4, "after the JSON value");
    /* Depth limit: exactly NB_JSON_MAX_DEPTH nests parse, one more fails. */
    char deep[2 * NB_JSON_MAX_DEPTH + 4];
    for (int k = 0; k < NB_JSON_MAX_DEPTH; k++) { deep[k] = '['; deep[2 * NB_JSON_MAX_DEPTH - 1 - k] = ']'; }
    deep[2 * NB_JSON_MAX_DEPTH] = '\0';
    parse_ok(&a, deep);
    char deeper[2 * NB_JSON_MAX_DEPTH + 4];
    for (int k = 0; k <= NB_JSON_MAX_DEPTH; k++) { deeper[k] = '['; deeper[2 * NB_JSON_MAX_DEPTH + 1 - k] = ']'; }
    expect_fail(&a, deeper, 2 * NB_JSON_MAX_DEPTH + 2, "nesting deeper than 512");
    nb_arena_cleanup(&a);
}

static void test_unicode(void **state)
{
    struct nb_arena a;
    nb_arena_init(&a, 256);
    /* \u escapes -> UTF-8, surrogate pairs combined, raw UTF-8 kept. */
    struct nb_json *v = parse_ok(&a, "\"\\u00e9\\u20AC\\ud83d\\ude00 caf\xc3\xa9 \\u0000!\"");
    const char expect[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 caf\xc3\xa9 \0!";
    assert_int_equal(v->u.string.len, sizeof expect - 1);
    assert_memory_equal(v->u.string.ptr, expect, sizeof expect - 1);
    /* Keys are unescaped too. */
    v = parse_ok(&a, "{\"k\\u00e9y\":1}");
    assert_string_equal(v->u.object.members[0].key, "k\xc3\xa9y");
    assert_non_null(nb_json_get(v, "k\xc3\xa9y"));
    expect_fail(&a, "\"\\ud800\"", 8, "lone high surrogate");
    expect_fail(&a, "\"\\ud800\\u0041\"", 14, "lone high surrogate");
    expect_fail(&a, "\"\\udc00\"", 8, "lone low surrogate");
    expect_fail(&a, "\"\xff\"", 3, "invalid UTF-8");
    expect_fail(&a, "\"\xc3\"", 3, "invalid UTF-8");
    expect_fail(&a, "\"\xed\xa0\x80\"", 5, "invalid UTF-8");        /* encoded surrogate */
    expect_fail(&a, "\"\xc0\xaf\"", 4, "invalid UTF-8");            /* overlong */
    expect_fail(&a, "\xef\xbb\xbf{}", 5, "unexpected byte 0xEF");    /* a BOM is the caller's business */
    nb_arena_cleanup(&a);
}

static void test_error_location(void **state)
{
    struct nb_arena a;
    nb_arena_init(&a, 256);
    struct nb_json *v;
    struct nb_error err = {0};
    const char *s = "{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}";
    assert_int_equal(nb_json_parse(s, strlen(s), &a, &v, &err), NB_ERR_INVALID);
    assert_string_equal(err.message, "invalid JSON at line 3, column 14 (byte 25): unexpected character ',' (expected a JSON value)");
    /* Columns count characters, not bytes. */
    s = "[\"\xc3\xa9\xc3\xa9\", x]";
    assert_int_equal(nb_json_parse(s, strlen(s), &a, &v, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "line 1, column 8 (byte 9)"));
    size_t off = 0, used = 0;
    assert_int_equal(nb_json_parse_prefix_ex(s, strlen(s), true, &a, &v, &used, &off, &err), NB_ERR_INVALID);
    assert_int_equal(off, 9);
    nb_arena_cleanup(&a);
}

static void test_prefix(void **state)
{
    struct nb_arena a;
    nb_arena_init(&a, 256);
    struct nb_json *v;
    struct nb_error err = {0};
    size_t used = 0;
    const char *s = "  {\"a\":[1,\"x\"]}\n{\"b\":2}";
    assert_int_equal(nb_json_parse_prefix(s, strlen(s), &a, &v, &used, &err), NB_OK);
    assert_int_equal(used, 15);
    assert_int_equal(v->kind, NB_JSON_OBJECT);
    /* Every proper prefix of a value is NB_AGAIN, never an error. */
    const char *full = "{\"k\":[true,false,null,-1.5e3,\"\\ud83d\\ude00\xc3\xa9\"],\"z\":{}}";
    size_t n = strlen(full);
    for (size_t k = 0; k < n; k++) {
        nb_status st = nb_json_parse_prefix(full, k, &a, &v, &used, &err);
        if (st != NB_AGAIN) fail_msg("prefix of %zu bytes: status %d (%s)", k, st, err.message);
    }
    assert_int_equal(nb_json_parse_prefix(full, n, &a, &v, &used, &err), NB_OK);
    assert_int_equal(used, n);
    /* A number touching the end may continue; at EOF it is complete. */
    assert_int_equal(nb_json_parse_prefix("123", 3, &a, &v, &used, &err), NB_AGAIN);
    assert_int_equal(nb_json_parse_prefix_ex("123", 3, true, &a, &v, &used, NULL, &err), NB_OK);
    assert_int_equal(used, 3);
    assert_int_equal(nb_json_parse_prefix_ex("[1,", 3, true, &a, &v, &used, NULL, &err), NB_ERR_INVALID);
    /* An error before the end is reported at once, not NB_AGAIN. */
    assert_int_equal(nb_json_parse_prefix("[1,,", 4, &a, &v, &used, &err), NB_ERR_INVALID);
    assert_int_equal(nb_json_parse_prefix("[tx", 3, &a, &v, &used, &err), NB_ERR_INVALID);
    /* Trailing bytes are left alone. */
    assert_int_equal(nb_json_parse_prefix("[1] garbage", 11, &a, &v, &used, &err), NB_OK);
    assert_int_equal(used, 3);
    nb_arena_cleanup(&a);
}

static void test_write(void **state)
{
    struct nb_arena a;
    nb_arena_init(&a, 256);
    roundtrip(&a, " { \"a\" : [ 1 , 2.50 , -0e0 ] , \"b\" : { } , \"c\" : [ ] , \"d\":null,\"e\":true }",
              "{\"a\":[1,2.50,-0e0],\"b\":{},\"c\":[],\"d\":null,\"e\":true}");
    roundtrip(&a, "\"\\u0001\\\"\\\\\\/\\t\\u00e9\"", "\"\\u0001\\\"\\\\/\\t\xc3\xa9\"");
    struct nb_buf b;
    nb_buf_init(&b);
    nb_json_write(&b, NULL);
    assert_string_equal(b.data, "null");
    nb_buf_cleanup(&b);
    nb_arena_cleanup(&a);
}

/* Large inputs: many members (scratch stack growth) and long strings. */
static void test_large(void **state)
{
    struct nb_arena a;
    nb_arena_init(&a, 4096);
    struct nb_buf b;
    nb_buf_init(&b);
    nb_buf_putc(&b, '{');
    for (int k = 0; k < 5000; k++) nb_buf_printf(&b, "%s\"k%d\":[%d,{\"x\":[%d]}]", k ? "," : "", k, k, k);
    nb_buf_putc(&b, '}');
    struct nb_json *v = parse_ok(&a, b.data);
    assert_int_equal(v->u.object.count, 5000);
    int64_t i;
    assert_true(nb_json_i64(v->u.object.members[4999].value->u.array.items[0], &i));
    assert_int_equal(i, 4999);
    nb_buf_reset(&b);
    nb_buf_putc(&b, '"');
    for (int k = 0; k < 100000; k++) nb_buf_append(&b, k % 100 ? "ab" : "\\n", 2);
    nb_buf_putc(&b, '"');
    v = parse_ok(&a, b.data);
    assert_int_equal(v->u.string.len, 199000);
    nb_buf_cleanup(&b);
    nb_arena_cleanup(&a);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

static void test_conformance(void **state)
{
    const char *shared = getenv("NB_SHARED");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/conformance/json-test-suite/test_parsing", shared ? shared : "../../shared");
    DIR *d = opendir(dir);
    if (!d) {
        print_message("NOTICE: %s not found; skipping the JSONTestSuite conformance cases\n", dir);
        skip();
        return;
    }
    struct dirent *e;
    int y = 0, n = 0, i = 0, failures = 0;
    struct nb_arena a;
    nb_arena_init(&a, 64 * 1024);
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if ((name[0] != 'y' && name[0] != 'n' && name[0] != 'i') || name[1] != '_') continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        size_t len;
        char *data = slurp(path, &len);
        if (!data) continue;
        struct nb_json *v = NULL;
        struct nb_error err = {0};
        nb_status st = nb_json_parse(data, len, &a, &v, &err);
        if (name[0] == 'y') {
            y++;
            if (st != NB_OK) { print_error("y case rejected: %s: %s\n", name, err.message); failures++; }
        } else if (name[0] == 'n') {
            n++;
            if (st != NB_ERR_INVALID || err.message[0] == '\0') { print_error("n case accepted: %s\n", name); failures++; }
        } else {
            i++;   /* either answer, no crash (ASan run checks) */
            assert_true(st == NB_OK || st == NB_ERR_INVALID);
        }
        /* The same through the prefix parser at EOF: consistent verdicts for y and n. */
        size_t used = 0;
        nb_status st2 = nb_json_parse_prefix_ex(data, len, true, &a, &v, &used, NULL, &err);
        if (name[0] == 'y' && st2 != NB_OK) { print_error("y case rejected by prefix parser: %s\n", name); failures++; }
        free(data);
        nb_arena_reset(&a);
    }
    closedir(d);
    nb_arena_cleanup(&a);
    print_message("JSONTestSuite: %d y, %d n, %d i cases\n", y, n, i);
    assert_true(y > 90 && n > 150);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),  cmocka_unit_test(test_numbers),        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_unicode), cmocka_unit_test(test_error_location), cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_write),   cmocka_unit_test(test_large),          cmocka_unit_test(test_conformance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
