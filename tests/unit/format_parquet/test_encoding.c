/* The Thrift compact encoder and the RLE/bit-packed hybrid against bytes computed by hand from the
 * specs, plus a round trip of the hybrid through an independent decoder for every bit width. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "formats/parquet/parquet.h"

static void assert_bytes(const struct nb_buf *b, const unsigned char *want, size_t n)
{
    assert_false(b->oom);
    if (b->len != n || memcmp(b->data, want, n) != 0) {
        fprintf(stderr, "got %zu bytes:", b->len);
        for (size_t i = 0; i < b->len; i++) fprintf(stderr, " %02x", (unsigned char)b->data[i]);
        fprintf(stderr, "\nwant %zu bytes:", n);
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %02x", want[i]);
        fprintf(stderr, "\n");
        fail();
    }
}

static void test_thrift_fields(void **state)
{
    struct nb_buf b;
    nb_buf_init(&b);
    struct pq_thrift t;
    pq_thrift_init(&t, &b);
    pq_thrift_begin(&t);
    pq_thrift_i32(&t, 1, 1);            /* delta 1, type 5: 0x15; zigzag(1) = 2 */
    pq_thrift_i64(&t, 3, -1);           /* delta 2, type 6: 0x26; zigzag(-1) = 1 */
    pq_thrift_string(&t, 4, "ab");      /* 0x18, length 2 */
    pq_thrift_bool(&t, 5, true);        /* 0x11: the type nibble is the value */
    pq_thrift_bool(&t, 6, false);       /* 0x12 */
    pq_thrift_i32(&t, 20, 150);         /* delta 14: 0xe5; zigzag(150) = 300 = ac 02 */
    pq_thrift_i32(&t, 40, 0);           /* delta 20 > 15: long form 05, zigzag(40) = 80 = 0x50 */
    pq_thrift_i32(&t, 2, -2);           /* going back: long form 05 04; zigzag(-2) = 3 */
    pq_thrift_list(&t, 3, PQ_T_I32, 3); /* 0x19, header 0x35 (3 << 4 | 5) */
    pq_thrift_elem_i32(&t, 1);
    pq_thrift_elem_i32(&t, 2);
    pq_thrift_elem_i32(&t, -3);
    pq_thrift_struct(&t, 4);            /* 0x1c, nested ids start again from 0 */
    pq_thrift_i32(&t, 1, 64);           /* 0x15, zigzag(64) = 128 = 80 01 */
    pq_thrift_end(&t);                  /* 00 */
    pq_thrift_i64(&t, 5, INT64_MIN);    /* delta 1 from 4: 0x16, zigzag = 2^64 - 1: ff x9 01 */
    pq_thrift_double(&t, 6, 1.0);       /* 0x17, 00 00 00 00 00 00 f0 3f */
    pq_thrift_end(&t);
    static const unsigned char want[] = {
        0x15, 0x02, 0x26, 0x01, 0x18, 0x02, 'a', 'b', 0x11, 0x12, 0xe5, 0xac, 0x02, 0x05, 0x50, 0x00, 0x05, 0x04,
        0x03, 0x19, 0x35, 0x02, 0x04, 0x05, 0x1c, 0x15, 0x80, 0x01, 0x00, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0x01, 0x17, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x00,
    };
    assert_bytes(&b, want, sizeof want);
    assert_int_equal(t.depth, -1);
    nb_buf_cleanup(&b);
}

static void test_thrift_lists(void **state)
{
    struct nb_buf b;
    nb_buf_init(&b);
    struct pq_thrift t;
    pq_thrift_init(&t, &b);
    pq_thrift_begin(&t);
    pq_thrift_list(&t, 1, PQ_T_BINARY, 20);     /* 0x19, 0xf8 then varint 20 */
    for (int i = 0; i < 20; i++) pq_thrift_elem_binary(&t, "x", i == 0 ? 1 : 0);
    pq_thrift_list(&t, 2, PQ_T_BOOL_TRUE, 2);   /* 0x29, 0x21; elements 01 00 */
    pq_thrift_elem_bool(&t, true);
    pq_thrift_elem_bool(&t, false);
    pq_thrift_list(&t, 3, PQ_T_STRUCT, 2);      /* 0x19, 0x2c */
    pq_thrift_begin(&t);                        /* element structs have no field header */
    pq_thrift_i64(&t, 2, 7);                    /* 0x26 0x0e */
    pq_thrift_end(&t);
    pq_thrift_begin(&t);
    pq_thrift_end(&t);
    pq_thrift_list(&t, 4, PQ_T_I64, 0);         /* 0x19, 0x06 */
    pq_thrift_end(&t);
    unsigned char want[64];
    size_t n = 0;
    want[n++] = 0x19; want[n++] = 0xf8; want[n++] = 20; want[n++] = 1; want[n++] = 'x';
    for (int i = 1; i < 20; i++) want[n++] = 0;
    want[n++] = 0x19; want[n++] = 0x21; want[n++] = 1; want[n++] = 0;
    want[n++] = 0x19; want[n++] = 0x2c; want[n++] = 0x26; want[n++] = 0x0e; want[n++] = 0; want[n++] = 0;
    want[n++] = 0x19; want[n++] = 0x06; want[n++] = 0;
    assert_bytes(&b, want, n);
    nb_buf_cleanup(&b);
}

static void test_varint(void **state)
{
    struct nb_buf b;
    nb_buf_init(&b);
    pq_varint(&b, 0);
    pq_varint(&b, 127);
    pq_varint(&b, 128);
    pq_varint(&b, 16384);
    pq_varint(&b, UINT64_MAX);
    static const unsigned char want[] = {0x00, 0x7f, 0x80, 0x01, 0x80, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x01};
    assert_bytes(&b, want, sizeof want);
    nb_buf_cleanup(&b);
}

static void test_bit_width(void **state)
{
    assert_int_equal(pq_bit_width(0), 0);
    assert_int_equal(pq_bit_width(1), 1);
    assert_int_equal(pq_bit_width(2), 2);
    assert_int_equal(pq_bit_width(7), 3);
    assert_int_equal(pq_bit_width(8), 4);
    assert_int_equal(pq_bit_width(UINT32_MAX), 32);
}

static void test_rle_hand(void **state)
{
    struct nb_buf b;
    nb_buf_init(&b);
    /* Eight equal values: one RLE run, header 8 << 1 = 0x10, value in one byte. */
    uint8_t zeros[8] = {0};
    pq_rle_encode(&b, zeros, 1, 8, 1);
    static const unsigned char w1[] = {0x10, 0x00};
    assert_bytes(&b, w1, sizeof w1);

    /* Mixed bits: one bit-packed group, header (1 << 1) | 1, LSB first: 1,0,1,1,0,0,0,1 = 0x8d. */
    nb_buf_reset(&b);
    uint8_t bits[8] = {1, 0, 1, 1, 0, 0, 0, 1};
    pq_rle_encode(&b, bits, 1, 8, 1);
    static const unsigned char w2[] = {0x03, 0x8d};
    assert_bytes(&b, w2, sizeof w2);

    /* The spec's example: 0..7 at bit width 3 packs to 10001000 11000110 11111010. */
    nb_buf_reset(&b);
    uint32_t seq[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    pq_rle_encode(&b, seq, 4, 8, 3);
    static const unsigned char w3[] = {0x03, 0x88, 0xc6, 0xfa};
    assert_bytes(&b, w3, sizeof w3);

    /* 1,2,3 then twenty 7s: the packed run borrows five 7s to fill its group of 8, the other 15
     * form an RLE run (header 15 << 1 = 0x1e). Packed: 1,2,3,7,7,7,7,7 at width 3. */
    nb_buf_reset(&b);
    uint32_t mix[23] = {1, 2, 3};
    for (int i = 3; i < 23; i++) mix[i] = 7;
    pq_rle_encode(&b, mix, 4, 23, 3);
    /* value bits LSB first: 1=100 2=010 3=110 7=111...: byte 0 = 10001011 read backwards = 0xd1,
     * byte 1 = bit 8 (the top bit of 3, a 0) then seven 1s = 0xfe, byte 2 = 0xff. */
    static const unsigned char w4[] = {0x03, 0xd1, 0xfe, 0xff, 0x1e, 0x07};
    assert_bytes(&b, w4, sizeof w4);

    /* Fewer than 8 left over: padded with zeros to a whole group. 3 values 1 at width 1 -> 0x07. */
    nb_buf_reset(&b);
    uint8_t ones[3] = {1, 1, 1};
    pq_rle_encode(&b, ones, 1, 3, 1);
    static const unsigned char w5[] = {0x03, 0x07};
    assert_bytes(&b, w5, sizeof w5);

    /* A long run needing two value bytes (width 9), 300 values: header 600 = d8 04, value 0x0101 LE. */
    nb_buf_reset(&b);
    uint32_t *long_run = malloc(300 * sizeof *long_run);
    for (int i = 0; i < 300; i++) long_run[i] = 257;
    pq_rle_encode(&b, long_run, 4, 300, 9);
    static const unsigned char w6[] = {0xd8, 0x04, 0x01, 0x01};
    assert_bytes(&b, w6, sizeof w6);
    free(long_run);
    nb_buf_cleanup(&b);
}

/* An independent decoder written from the spec, for round trips. */
static size_t decode_hybrid(const unsigned char *p, size_t len, int w, uint32_t *out, size_t n)
{
    size_t pos = 0, got = 0;
    while (got < n && pos < len) {
        uint64_t h = 0;
        int shift = 0;
        while (pos < len) {
            unsigned char c = p[pos++];
            h |= (uint64_t)(c & 0x7f) << shift;
            shift += 7;
            if (!(c & 0x80)) break;
        }
        if (h & 1) {
            size_t count = (size_t)(h >> 1) * 8;
            uint64_t bitpos = 0;
            for (size_t i = 0; i < count; i++) {
                uint64_t v = 0;
                for (int k = 0; k < w; k++, bitpos++)
                    v |= (uint64_t)((p[pos + bitpos / 8] >> (bitpos % 8)) & 1) << k;
                if (got < n) out[got++] = (uint32_t)v;
            }
            pos += (size_t)(h >> 1) * (size_t)w;
        } else {
            size_t count = (size_t)(h >> 1);
            uint32_t v = 0;
            for (int k = 0; k < (w + 7) / 8; k++) v |= (uint32_t)p[pos++] << (8 * k);
            for (size_t i = 0; i < count && got < n; i++) out[got++] = v;
        }
    }
    return got;
}

static void test_rle_roundtrip(void **state)
{
    srand(12345);
    struct nb_buf b;
    nb_buf_init(&b);
    enum { N = 3000 };
    uint32_t *v = malloc(N * sizeof *v), *back = malloc(N * sizeof *back);
    for (int w = 1; w <= 32; w++) {
        uint32_t mask = w == 32 ? UINT32_MAX : ((1u << w) - 1);
        for (int pattern = 0; pattern < 4; pattern++) {
            size_t n = (size_t)(rand() % N) + 1;
            for (size_t i = 0; i < n; i++) {
                uint32_t x = ((uint32_t)rand() << 16) ^ (uint32_t)rand();
                if (pattern == 1 && i > 0 && rand() % 10) x = v[i - 1];          /* long runs */
                if (pattern == 2) x = (uint32_t)(i / 13);                        /* runs of 13 */
                if (pattern == 3) x = i % 2 ? mask : 0;                          /* alternating extremes */
                v[i] = x & mask;
            }
            nb_buf_reset(&b);
            pq_rle_encode(&b, v, 4, n, w);
            assert_false(b.oom);
            memset(back, 0xab, N * sizeof *back);
            assert_int_equal(decode_hybrid((const unsigned char *)b.data, b.len, w, back, n), n);
            assert_memory_equal(v, back, n * sizeof *v);
        }
    }
    free(v);
    free(back);
    nb_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thrift_fields), cmocka_unit_test(test_thrift_lists), cmocka_unit_test(test_varint),
        cmocka_unit_test(test_bit_width),     cmocka_unit_test(test_rle_hand),     cmocka_unit_test(test_rle_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
