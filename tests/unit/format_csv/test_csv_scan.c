/* The block classifier: SSE2 and AVX2 paths give exactly the plain path's masks and prefix XOR on
 * many random inputs, and whole reads agree whichever path is forced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helper_csv.h"

static const char alphabet[] = {'a', 'b', ',', ';', '"', '\'', '\n', '\r', ' ', '\t', '\\', '#', 0, (char)0xC3, (char)0xA9, (char)0xFF};

static void fill_random(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = alphabet[rand() % (int)sizeof alphabet];
}

static void test_classify_agrees(void **state)
{
    (void)state;
    srand(1234);
    char block[64];
    enum nb_csv_isa isas[] = {NB_CSV_ISA_SSE2, NB_CSV_ISA_AVX2};
    const char quotes[] = {'"', '\'', 0};
    const char delims[] = {',', ';', '\t'};
    for (int round = 0; round < 20000; round++) {
        fill_random(block, sizeof block);
        char q = quotes[round % 3], d = delims[round % 3];
        struct nb_csv_masks ref, got;
        nb_csv_classify(NB_CSV_ISA_PLAIN, block, q, d, &ref);
        for (size_t k = 0; k < 2; k++) {
            nb_csv_classify(isas[k], block, q, d, &got);
            assert_true(got.quote == ref.quote);
            assert_true(got.delim == ref.delim);
            assert_true(got.lf == ref.lf);
            assert_true(got.cr == ref.cr);
        }
        uint64_t bits = ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 11) ^ (uint64_t)rand();
        uint64_t px = nb_csv_prefix_xor(NB_CSV_ISA_PLAIN, bits);
        assert_true(nb_csv_prefix_xor(NB_CSV_ISA_SSE2, bits) == px);
        /* The definition: bit i is the parity of bits 0..i. */
        unsigned parity = 0;
        for (unsigned i = 0; i < 64; i++) {
            parity ^= (unsigned)(bits >> i) & 1u;
            assert_int_equal((px >> i) & 1u, parity);
        }
    }
}

/* Whole reads of random CSV-like text give the same rows, errors and bad records on every path. */
static void test_decode_agrees(void **state)
{
    (void)state;
    srand(99);
    enum nb_csv_isa best = nb_csv_isa_force(NB_CSV_ISA_AVX2);
    printf("best classifier on this CPU: %s\n", nb_csv_isa_name(best));
    enum nb_csv_isa paths[] = {NB_CSV_ISA_PLAIN, NB_CSV_ISA_SSE2, NB_CSV_ISA_AVX2};
    static char text[4096];
    for (int round = 0; round < 300; round++) {
        size_t n = (size_t)(rand() % (int)(sizeof text - 1));
        fill_random(text, n);
        struct nb_csv_dialect d;
        nb_csv_dialect_init(&d);
        if (round % 4 == 1) strcpy(d.comment, "#");
        if (round % 4 == 2) d.escape = '\\';
        if (round % 4 == 3) d.header = false;
        struct nb_buf ref;
        nb_buf_init(&ref);
        for (size_t k = 0; k < 3; k++) {
            nb_csv_isa_force(paths[k]);
            struct collect_sink sink;
            collect_sink_init(&sink);
            struct read_result r;
            struct nb_error err = {0};
            nb_status st = read_csv(&d, text, n, round % 2 == 0, 50, 256, &sink.base, &r, &err);
            struct nb_buf out;
            nb_buf_init(&out);
            nb_buf_printf(&out, "st=%d err=%s bad=%zu\n%s\n%s", st, st ? err.message : "", sink.count,
                          sink.log.data ? sink.log.data : "", r.rows.data ? r.rows.data : "");
            if (k == 0) nb_buf_append(&ref, out.data, out.len);
            else assert_string_equal(out.data, ref.data);
            nb_buf_cleanup(&out);
            read_result_cleanup(&r);
            collect_sink_cleanup(&sink);
        }
        nb_buf_cleanup(&ref);
        nb_csv_dialect_cleanup(&d);
    }
    nb_csv_isa_force(best);
}

/* Record boundaries for any max_records: the scanner (which counts whole blocks at once while
 * no batch ends in them) against a byte-at-a-time walk, stepping through random text the way
 * the file source does. */
static void test_scan_counts(void **state)
{
    (void)state;
    srand(99);
    static const char pieces[] = {'a', 'b', ',', '"', '\n', '\n', '\n', 'x'};
    char text[3000];
    struct nb_csv_dialect d;
    nb_csv_dialect_init(&d);
    for (int round = 0; round < 400; round++) {
        size_t n = 1 + (size_t)(rand() % (int)sizeof text);
        for (size_t i = 0; i < n; i++) text[i] = pieces[rand() % (int)sizeof pieces];
        size_t maxes[] = {1, 2, 3, 7, 64, 100000};
        for (size_t k = 0; k < sizeof maxes / sizeof *maxes; k++) {
            size_t pos = 0;
            while (pos < n) {
                /* reference: up to maxes[k] records from pos */
                size_t recs = 0, end = pos;
                uint64_t lines = 0, lines_at = 0;
                bool in_q = false;
                for (size_t i = pos; i < n && recs < maxes[k]; i++) {
                    if (text[i] == '"') in_q = !in_q;
                    if (text[i] == '\n') {
                        lines++;
                        if (!in_q) { recs++; end = i + 1; lines_at = lines; }
                    }
                }
                struct nb_csv_scan sc;
                struct nb_error err = {0};
                assert_int_equal(nb_csv_scan_records(&d, text + pos, n - pos, false, maxes[k], &sc, "t", 1, &err), NB_OK);
                if (sc.records != recs || sc.consumed != end - pos || sc.lines != lines_at)
                    fail_msg("round %d max %zu at %zu: got %zu records %zu bytes %llu lines, want %zu %zu %llu", round,
                             maxes[k], pos, sc.records, sc.consumed, (unsigned long long)sc.lines, recs, end - pos,
                             (unsigned long long)lines_at);
                if (recs == 0) break;
                pos = end;
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_agrees),
        cmocka_unit_test(test_scan_counts),
        cmocka_unit_test(test_decode_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
