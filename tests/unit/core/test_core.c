/* Unit tests of core: errors, arena, buffers, strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"

static void test_error_prefix(void **state)
{
    struct nb_error err;
    nb_error_set(&err, NB_ERR_INVALID, "unterminated quote");
    nb_error_prefix(&err, "%s:%d:%d: ", "a.csv", 3, 7);
    assert_string_equal(err.message, "a.csv:3:7: unterminated quote");
    assert_int_equal(err.code, NB_ERR_INVALID);
    assert_int_equal(nb_error_set(NULL, NB_ERR_IO, "x"), NB_ERR_IO);
}

static void test_arena(void **state)
{
    struct nb_arena a;
    nb_arena_init(&a, 64);
    char *s = nb_arena_strdup(&a, "hello");
    void *big = nb_arena_alloc(&a, 1000);
    assert_non_null(big);
    assert_string_equal(s, "hello");
    assert_true(((uintptr_t)big & 15) == 0);
    nb_arena_reset(&a);
    assert_int_equal(a.allocated, 0);
    assert_string_equal(nb_arena_printf(&a, "%d-%s", 7, "x"), "7-x");
    nb_arena_cleanup(&a);
}

static void test_buf_json_string(void **state)
{
    struct nb_buf b;
    nb_buf_init(&b);
    nb_buf_json_string(&b, "a\"b\\c\n\x01\xc3\xa9", 9);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
    nb_buf_cleanup(&b);
}

static void test_durations_sizes(void **state)
{
    uint64_t v;
    assert_int_equal(nb_parse_duration_ms("10s", &v, NULL), NB_OK); assert_int_equal(v, 10000);
    assert_int_equal(nb_parse_duration_ms("5m", &v, NULL), NB_OK); assert_int_equal(v, 300000);
    assert_int_equal(nb_parse_duration_ms("1h30m", &v, NULL), NB_OK); assert_int_equal(v, 5400000);
    assert_int_equal(nb_parse_duration_ms("250ms", &v, NULL), NB_OK); assert_int_equal(v, 250);
    assert_int_equal(nb_parse_duration_ms("7", &v, NULL), NB_OK); assert_int_equal(v, 7000);
    assert_int_equal(nb_parse_duration_ms("soon", &v, NULL), NB_ERR_CONFIG);
    assert_int_equal(nb_parse_duration_ms("", &v, NULL), NB_ERR_CONFIG);
    assert_int_equal(nb_parse_size("256MiB", &v, NULL), NB_OK); assert_int_equal(v, 256u << 20);
    assert_int_equal(nb_parse_size("10MB", &v, NULL), NB_OK); assert_int_equal(v, 10000000);
    assert_int_equal(nb_parse_size("4096", &v, NULL), NB_OK); assert_int_equal(v, 4096);
    assert_int_equal(nb_parse_size("lots", &v, NULL), NB_ERR_CONFIG);
}

static void test_nearest_and_utf8(void **state)
{
    const char *keys[] = {"batch_size", "workers", "flush_interval"};
    assert_string_equal(nb_nearest("batch_sise", keys, 3), "batch_size");
    assert_null(nb_nearest("zzzzzzzzzzzz", keys, 3));
    assert_true(nb_utf8_valid("h\xc3\xa9llo", 6));
    assert_false(nb_utf8_valid("\xc3\x28", 2));
    assert_false(nb_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(nb_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_int_equal(nb_utf8_valid_prefix("abc\xff", 4), 3);
    int64_t i;
    assert_true(nb_parse_i64("-9223372036854775808", 20, &i));
    assert_false(nb_parse_i64("9223372036854775808", 19, &i));
}

/* The validator against a plain code-point decoder, over every lead byte with every second
 * byte and the interesting third and fourth bytes, each after ASCII prefixes of 0..19 bytes (the
 * word-at-a-time skip lands on the lead at every offset, and sequences straddle the vector
 * path's 16-byte blocks) and followed by ASCII or a cut; then long mixed texts. */
static size_t ref_utf8_valid_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], len;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else return i;
        if (i + len > n) return i;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return n;
}

static void test_utf8_against_reference(void **state)
{
    static const unsigned char tails[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xF5, 0xFF};
    unsigned char buf[32];
    size_t checked = 0;
    for (unsigned lead = 0x80; lead <= 0xFF; lead++)
        for (unsigned second = 0; second <= 0xFF; second++)
            for (size_t t3 = 0; t3 < sizeof tails; t3++)
                for (size_t t4 = 0; t4 < sizeof tails; t4 += (lead >= 0xF0 ? 1 : sizeof tails))
                    for (size_t pre = 0; pre < 20; pre += (second & 7) == 0 ? 1 : 7) {
                        size_t n = 0;
                        for (size_t k = 0; k < pre; k++) buf[n++] = 'a';
                        buf[n++] = (unsigned char)lead;
                        buf[n++] = (unsigned char)second;
                        buf[n++] = tails[t3];
                        buf[n++] = tails[t4];
                        for (size_t k = 0; k < 9; k++) buf[n++] = 'z';
                        for (size_t cut = pre;; cut = cut < pre + 4 ? cut + 1 : n) {
                            assert_int_equal(nb_utf8_valid_prefix((const char *)buf, cut), ref_utf8_valid_prefix(buf, cut));
                            checked++;
                            if (cut == n) break;
                        }
                    }
    assert_true(checked > 100000);
    /* Long texts of random letters from every class, some broken: every prefix length of each. */
    static const char *pieces[] = {"a", "bc", "\xc3\xa9", "\xce\xa3", "\xe6\x97\xa5", "\xf0\x9f\x9a\x80", "\xed\x9f\xbf",
                                   "\xc3", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xff", "0123456789abcdef"};
    unsigned seed = 7;
    for (int t = 0; t < 3000; t++) {
        char text[200];
        size_t n = 0;
        while (n < 150) {
            seed = seed * 1103515245u + 12345u;
            size_t k = (seed >> 16) % (sizeof pieces / sizeof *pieces);
            if (k >= 7 && k <= 12 && (seed >> 8) % 8) k = (seed >> 20) % 7;   /* mostly valid */
            size_t len = strlen(pieces[k]);
            memcpy(text + n, pieces[k], len);
            n += len;
        }
        for (size_t cut = 0; cut <= n; cut++)
            assert_int_equal(nb_utf8_valid_prefix(text, cut), ref_utf8_valid_prefix((const unsigned char *)text, cut));
    }
}

static void test_redact(void **state)
{
    nb_log_add_secret("hunter2secret");
    char msg[128] = "password=hunter2secret and again hunter2secret";
    nb_redact(msg, sizeof msg);
    assert_string_equal(msg, "password=*** and again ***");
}

/* nb_secure_zero wipes every byte it is given and nothing around it; NULL or 0 bytes are no-ops. */
static void test_secure_zero(void **state)
{
    (void)state;
    char buf[16];
    memset(buf, 'x', sizeof buf);
    nb_secure_zero(buf + 2, 10);
    for (size_t i = 0; i < sizeof buf; i++) assert_int_equal(buf[i], i >= 2 && i < 12 ? 0 : 'x');
    nb_secure_zero(NULL, 5);
    nb_secure_zero(buf, 0);
    assert_int_equal(buf[0], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_prefix),   cmocka_unit_test(test_arena),
        cmocka_unit_test(test_buf_json_string), cmocka_unit_test(test_durations_sizes),
        cmocka_unit_test(test_nearest_and_utf8), cmocka_unit_test(test_redact),
        cmocka_unit_test(test_utf8_against_reference), cmocka_unit_test(test_secure_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
