/* The Parquet reader's pieces on hand-made bytes from the specs: the Thrift compact decoder (field
 * deltas, zigzag, lists, maps, nested skips, the depth limit), the RLE/bit-packed hybrid and
 * DELTA_BINARY_PACKED examples of the Parquet encodings page, a page header, and a whole minimal
 * file built byte by byte, plus every truncation and byte flip of it failing cleanly. */
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

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_thrift_fields(void **state)
{
    (void)state;
    /* struct { 1: i32 -3, 2: true, 5: binary "abc", 300: i64 1<<40, 6: struct { 1: i32 7 }, 7: list<i32>[1,2],
     * 8: false } with field 300 given by a full header (delta 0 + zigzag i16) */
    static const uint8_t b[] = {
        0x15, 0x05,                   /* id 1 i32 zigzag(-3) = 5 */
        0x11,                         /* id 2 bool true (type 1) */
        0x38, 0x03, 'a', 'b', 'c',    /* id 5 (delta 3) binary */
        0x06, 0xd8, 0x04, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, /* id 300 i64: zigzag(2^40) = 2^41 */
        0x0c, 0x0c, 0x15, 0x0e, 0x00, /* id 6 struct (full header: zigzag(6) = 12) { 1: i32 7 } */
        0x19, 0x25, 0x02, 0x04,       /* id 7 list of 2 i32: 1, 2 */
        0x12,                         /* id 8 bool false (type 2) */
        0x00,
    };
    struct pq_tread t;
    struct nb_error err = {0};
    pq_tread_init(&t, b, sizeof b, 100, "x.parquet");
    assert_int_equal(pq_tread_struct_begin(&t, &err), NB_OK);
    int16_t id;
    uint8_t ty;
    int32_t i32;
    int64_t i64;
    bool bv;
    const uint8_t *p;
    size_t n;
    assert_int_equal(pq_tread_field(&t, &id, &ty, &err), NB_OK);
    assert_int_equal(id, 1);
    assert_int_equal(pq_tread_i32(&t, ty, &i32, &err), NB_OK);
    assert_int_equal(i32, -3);
    assert_int_equal(pq_tread_field(&t, &id, &ty, &err), NB_OK);
    assert_int_equal(id, 2);
    assert_int_equal(pq_tread_bool(&t, ty, &bv, &err), NB_OK);
    assert_true(bv);
    assert_int_equal(pq_tread_field(&t, &id, &ty, &err), NB_OK);
    assert_int_equal(id, 5);
    assert_int_equal(pq_tread_binary(&t, ty, &p, &n, &err), NB_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(p, "abc", 3);
    assert_int_equal(pq_tread_field(&t, &id, &ty, &err), NB_OK);
    assert_int_equal(id, 300);
    assert_int_equal(pq_tread_i64(&t, ty, &i64, &err), NB_OK);
    assert_true(i64 == (int64_t)1 << 40);
    /* the rest is skipped generically: nested struct, list, bool */
    for (int k = 0; k < 3; k++) {
        assert_int_equal(pq_tread_field(&t, &id, &ty, &err), NB_OK);
        assert_int_equal(pq_tread_skip(&t, ty, &err), NB_OK);
    }
    assert_int_equal(pq_tread_field(&t, &id, &ty, &err), NB_DONE);
    assert_ptr_equal(t.p, b + sizeof b);

    /* The whole struct skipped at once gives the same end. */
    pq_tread_init(&t, b, sizeof b, 0, "x.parquet");
    assert_int_equal(pq_tread_skip(&t, PQ_T_STRUCT, &err), NB_OK);
    assert_ptr_equal(t.p, b + sizeof b);
}

static void test_thrift_errors(void **state)
{
    (void)state;
    struct pq_tread t;
    struct nb_error err = {0};
    /* A list claiming 1000 elements in 3 bytes. */
    static const uint8_t big_list[] = {0x19, 0xf5, 0xe8, 0x07, 0x00};
    pq_tread_init(&t, big_list, sizeof big_list, 1000, "f.parquet");
    assert_int_equal(pq_tread_skip(&t, PQ_T_STRUCT, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "f.parquet: list longer than the metadata at offset 1004"));
    /* A string longer than the input. */
    static const uint8_t long_str[] = {0x18, 0x10, 'a', 0x00};
    pq_tread_init(&t, long_str, sizeof long_str, 0, "f.parquet");
    assert_int_equal(pq_tread_skip(&t, PQ_T_STRUCT, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "string longer than the metadata"));
    /* Nesting deeper than the limit: struct in struct in ... */
    uint8_t deep[2 * PQ_TREAD_MAX_DEPTH + 4];
    for (size_t i = 0; i < sizeof deep; i++) deep[i] = 0x1c;   /* field 1, struct */
    pq_tread_init(&t, deep, sizeof deep, 0, "f.parquet");
    assert_int_equal(pq_tread_skip(&t, PQ_T_STRUCT, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "nested too deeply"));
    /* A varint that never ends, a type nibble that is no type, a map skipped. */
    static const uint8_t endless[] = {0x15, 0xff, 0xff, 0xff};
    pq_tread_init(&t, endless, sizeof endless, 0, "f.parquet");
    assert_int_equal(pq_tread_skip(&t, PQ_T_STRUCT, &err), NB_ERR_INVALID);
    static const uint8_t badtype[] = {0x1e, 0x00};
    pq_tread_init(&t, badtype, sizeof badtype, 0, "f.parquet");
    assert_int_equal(pq_tread_skip(&t, PQ_T_STRUCT, &err), NB_ERR_INVALID);
    static const uint8_t map[] = {0x1b, 0x02, 0x85, 0x01, 'k', 0x04, 0x01, 'l', 0x06, 0x00};   /* map<binary,i32> {k:2,l:3} */
    pq_tread_init(&t, map, sizeof map, 0, "f.parquet");
    assert_int_equal(pq_tread_skip(&t, PQ_T_STRUCT, &err), NB_OK);
    assert_ptr_equal(t.p, map + sizeof map);
}

static void test_rle(void **state)
{
    (void)state;
    struct nb_error err = {0};
    uint32_t out[16];
    size_t used;
    /* The spec's bit-packing example: 0..7 at width 3 = one group, bytes 10001000 11000110 11111010. */
    static const uint8_t packed[] = {0x03, 0x88, 0xc6, 0xfa};
    assert_int_equal(pq_rle_decode(packed, sizeof packed, 3, out, 8, &used, &err), NB_OK);
    for (uint32_t i = 0; i < 8; i++) assert_int_equal(out[i], i);
    assert_int_equal(used, 4);
    /* A run of 10 fives at width 3 (one value byte), then a packed group of which 3 values are used. */
    static const uint8_t mixed[] = {0x14, 0x05, 0x03, 0x88, 0xc6, 0xfa};
    assert_int_equal(pq_rle_decode(mixed, sizeof mixed, 3, out, 13, &used, &err), NB_OK);
    for (int i = 0; i < 10; i++) assert_int_equal(out[i], 5);
    assert_int_equal(out[10], 0);
    assert_int_equal(out[12], 2);
    /* Width 0: every value is 0. A two-byte run value at width 9. */
    static const uint8_t w9[] = {0x06, 0x2c, 0x01};   /* run of 3 of 300 */
    assert_int_equal(pq_rle_decode(w9, sizeof w9, 9, out, 3, &used, &err), NB_OK);
    assert_int_equal(out[2], 300);
    /* Errors: data ends, value wider than the width, width out of range. */
    assert_int_equal(pq_rle_decode(packed, 2, 3, out, 8, &used, &err), NB_ERR_INVALID);
    assert_int_equal(pq_rle_decode(w9, sizeof w9, 8, out, 4, &used, &err), NB_ERR_INVALID);
    assert_int_equal(pq_rle_decode(w9, sizeof w9, 33, out, 3, &used, &err), NB_ERR_INVALID);
    assert_int_equal(pq_rle_decode(packed, sizeof packed, 3, out, 9, &used, &err), NB_ERR_INVALID);
}

static void test_delta(void **state)
{
    (void)state;
    struct nb_error err = {0};
    int64_t out[8];
    size_t used;
    /* The spec's example 1: 1 2 3 4 5 (deltas all 1: min delta 1, widths 0). */
    static const uint8_t ex1[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(pq_delta_decode(ex1, sizeof ex1, out, 5, false, &used, &err), NB_OK);
    for (int i = 0; i < 5; i++) assert_int_equal(out[i], i + 1);
    assert_int_equal(used, sizeof ex1);
    /* Example 2: 7 5 3 1 2 3 4 5: min delta -2, relative 0 0 0 3 3 3 3 at width 2 in the first miniblock. */
    uint8_t ex2[5 + 1 + 4 + 8] = {0x80, 0x01, 0x04, 0x08, 0x0e, 0x03, 0x02, 0x00, 0x00, 0x00, 0xc0, 0x3f};
    static const int64_t want2[] = {7, 5, 3, 1, 2, 3, 4, 5};
    assert_int_equal(pq_delta_decode(ex2, sizeof ex2, out, 8, false, &used, &err), NB_OK);
    assert_memory_equal(out, want2, sizeof want2);
    uint64_t count;
    assert_int_equal(pq_delta_count(ex2, sizeof ex2, &count, &err), NB_OK);
    assert_int_equal(count, 8);
    /* Fewer values than asked, a miniblock cut short, a bad block size. */
    assert_int_equal(pq_delta_decode(ex1, sizeof ex1, out, 6, false, &used, &err), NB_ERR_INVALID);
    assert_int_equal(pq_delta_decode(ex2, sizeof ex2 - 1, out, 8, false, &used, &err), NB_ERR_INVALID);
    static const uint8_t badblock[] = {0x81, 0x01, 0x04, 0x01, 0x00};
    assert_int_equal(pq_delta_decode(badblock, sizeof badblock, out, 1, false, &used, &err), NB_ERR_INVALID);
}

static void test_page_header(void **state)
{
    (void)state;
    struct nb_error err = {0};
    struct pq_page_header h;
    /* DATA_PAGE, 100/80 bytes, DataPageHeader { 10 values, PLAIN, RLE, RLE }, an unknown field 9 (binary). */
    static const uint8_t b[] = {0x15, 0x00, 0x15, 0xc8, 0x01, 0x15, 0xa0, 0x01, 0x2c, 0x15, 0x14, 0x15, 0x00,
                                0x15, 0x06, 0x15, 0x06, 0x00, 0x48, 0x02, 'z', 'z', 0x00};
    assert_int_equal(pq_page_header_decode(&h, b, sizeof b, 0, "p.parquet", &err), NB_OK);
    assert_int_equal(h.type, 0);
    assert_int_equal(h.uncompressed_size, 100);
    assert_int_equal(h.compressed_size, 80);
    assert_int_equal(h.num_values, 10);
    assert_int_equal(h.encoding, 0);
    assert_int_equal(h.def_encoding, 3);
    assert_int_equal(h.header_len, sizeof b);
    /* Without its DataPageHeader a data page is refused. */
    static const uint8_t no_sub[] = {0x15, 0x00, 0x15, 0xc8, 0x01, 0x15, 0xa0, 0x01, 0x00};
    assert_int_equal(pq_page_header_decode(&h, no_sub, sizeof no_sub, 40, "p.parquet", &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "p.parquet: page header lacks its value count at offset 40"));
}

/* A minimal file by hand: one required INT32 column "a" with 1, -2, 300 (PLAIN, uncompressed, v1)
 * and one optional BYTE_ARRAY UTF8 column "s" with "x", null, "yz". */
static size_t minimal_file(uint8_t *f)
{
    size_t n = 0;
#define PUT(...)                                                   \
    do {                                                           \
        static const uint8_t b_[] = {__VA_ARGS__};                 \
        memcpy(f + n, b_, sizeof b_);                              \
        n += sizeof b_;                                            \
    } while (0)
    PUT('P', 'A', 'R', '1');
    /* column a's page at 4: header (16 bytes) + 12 bytes of values */
    PUT(0x15, 0x00, 0x15, 0x18, 0x15, 0x18, 0x2c, 0x15, 0x06, 0x15, 0x00, 0x15, 0x06, 0x15, 0x06, 0x00, 0x00);
    PUT(0x01, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, 0x2c, 0x01, 0x00, 0x00);
    size_t a_len = n - 4;   /* 29 */
    size_t s_off = n;
    /* column s's page: definition levels (4-byte length 2: bit-packed header 0x03 + byte 0b101), then
     * PLAIN "x" and "yz": 6 + 5 + 6 = 17 bytes */
    PUT(0x15, 0x00, 0x15, 0x22, 0x15, 0x22, 0x2c, 0x15, 0x06, 0x15, 0x00, 0x15, 0x06, 0x15, 0x06, 0x00, 0x00);
    PUT(0x02, 0x00, 0x00, 0x00, 0x03, 0x05, 0x01, 0x00, 0x00, 0x00, 'x', 0x02, 0x00, 0x00, 0x00, 'y', 'z');
    size_t s_len = n - s_off;   /* 34 */
    size_t meta = n;
    PUT(0x15, 0x02,                                     /* 1: version 1 */
        0x19, 0x3c,                                     /* 2: schema, 3 structs */
        0x48, 0x06, 's', 'c', 'h', 'e', 'm', 'a', 0x15, 0x04, 0x00,   /* root, 2 children */
        0x15, 0x02, 0x25, 0x00, 0x18, 0x01, 'a', 0x00,                /* INT32 REQUIRED a */
        0x15, 0x0c, 0x25, 0x02, 0x18, 0x01, 's', 0x25, 0x00, 0x00,    /* BYTE_ARRAY OPTIONAL s, converted UTF8 */
        0x16, 0x06,                                     /* 3: num_rows 3 */
        0x19, 0x1c,                                     /* 4: row groups, 1 */
        0x19, 0x2c);                                    /* RowGroup 1: columns, 2 */
    /* ColumnChunk a: 2: file_offset, 3: meta_data { type, encodings [0], path [a], codec 0, num_values 3,
     * sizes, 9: data_page_offset 4 } */
    PUT(0x26, 0x08, 0x1c, 0x15, 0x02, 0x19, 0x15, 0x00, 0x19, 0x18, 0x01, 'a', 0x15, 0x00, 0x16, 0x06);
    f[n++] = 0x16, f[n++] = (uint8_t)(2 * a_len), f[n++] = 0x16, f[n++] = (uint8_t)(2 * a_len);
    PUT(0x26, 0x08, 0x00, 0x00);
    PUT(0x26);
    f[n++] = (uint8_t)(2 * s_off);
    PUT(0x1c, 0x15, 0x0c, 0x19, 0x15, 0x00, 0x19, 0x18, 0x01, 's', 0x15, 0x00, 0x16, 0x06);
    f[n++] = 0x16, f[n++] = (uint8_t)(2 * s_len), f[n++] = 0x16, f[n++] = (uint8_t)(2 * s_len);
    f[n++] = 0x26, f[n++] = (uint8_t)(2 * s_off);
    PUT(0x00, 0x00);
    PUT(0x16, 0x7e, 0x16, 0x06, 0x00);                  /* RowGroup 2: total_byte_size 63, 3: num_rows 3 */
    PUT(0x00);                                          /* end FileMetaData */
    uint32_t mlen = (uint32_t)(n - meta);
    f[n++] = (uint8_t)mlen, f[n++] = (uint8_t)(mlen >> 8), f[n++] = 0, f[n++] = 0;
    PUT('P', 'A', 'R', '1');
#undef PUT
    return n;
}

static void test_minimal_file(void **state)
{
    (void)state;
    uint8_t f[512];
    size_t n = minimal_file(f);
    struct nb_error err = {0};
    struct nb_pq_reader *r = NULL;
    if (nb_pq_reader_open_memory(&r, f, n, "mini.parquet", &err) != NB_OK) fail_msg("%s", err.message);
    struct nb_schema *s = nb_pq_reader_schema(r);
    assert_int_equal(s->n_fields, 2);
    assert_string_equal(s->fields[0].name, "a");
    assert_int_equal(s->fields[0].type.id, NB_TYPE_INT32);
    assert_false(s->fields[0].nullable);
    assert_int_equal(s->fields[1].type.id, NB_TYPE_STRING);
    assert_true(s->fields[1].nullable);
    assert_int_equal(nb_pq_reader_num_rows(r), 3);
    struct nb_batch *b = nb_pq_reader_batch_create(r, 4);
    if (nb_pq_reader_next(r, b, 2, &err) != NB_OK) fail_msg("%s", err.message);
    if (nb_pq_reader_next(r, b, 2, &err) != NB_OK) fail_msg("%s", err.message);
    assert_int_equal(nb_pq_reader_next(r, b, 2, &err), NB_DONE);
    assert_int_equal(b->n_rows, 3);
    assert_int_equal(nb_column_i32(&b->cols[0], 0), 1);
    assert_int_equal(nb_column_i32(&b->cols[0], 1), -2);
    assert_int_equal(nb_column_i32(&b->cols[0], 2), 300);
    size_t len;
    const char *t = nb_column_text(&b->cols[1], 0, &len);
    assert_int_equal(len, 1);
    assert_memory_equal(t, "x", 1);
    assert_true(nb_column_is_null(&b->cols[1], 1));
    t = nb_column_text(&b->cols[1], 2, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(t, "yz", 2);
    nb_batch_destroy(b);
    /* Seek to row 2: only "yz" is left. */
    assert_int_equal(nb_pq_reader_seek(r, 0, 2, &err), NB_OK);
    b = nb_pq_reader_batch_create(r, 4);
    assert_int_equal(nb_pq_reader_next(r, b, 10, &err), NB_OK);
    assert_int_equal(b->n_rows, 1);
    assert_int_equal(nb_column_i32(&b->cols[0], 0), 300);
    nb_batch_destroy(b);
    nb_pq_reader_destroy(r);
}

/* Every prefix and every single-byte change of the minimal file: an error with a message or a
 * valid read, never a crash (ASan watches). */
static void test_minimal_file_damaged(void **state)
{
    (void)state;
    uint8_t f[512], g[512];
    size_t n = minimal_file(f);
    for (size_t cut = 0; cut < n; cut++) {
        struct nb_error err = {0};
        struct nb_pq_reader *r = NULL;
        assert_int_not_equal(nb_pq_reader_open_memory(&r, f, cut, "cut.parquet", &err), NB_OK);
        assert_non_null(strstr(err.message, "cut.parquet"));
    }
    static const uint8_t flips[] = {0x00, 0xff, 0x80, 0x01, 0x7f};
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < N(flips); k++) {
            memcpy(g, f, n);
            g[i] = flips[k];
            struct nb_error err = {0};
            struct nb_pq_reader *r = NULL;
            if (nb_pq_reader_open_memory(&r, g, n, "flip.parquet", &err) != NB_OK) {
                assert_true(err.message[0] != '\0');
                continue;
            }
            struct nb_batch *b = nb_pq_reader_batch_create(r, 4);
            nb_status rc;
            while ((rc = nb_pq_reader_next(r, b, 2, &err)) == NB_OK) {}
            if (rc != NB_DONE) assert_true(err.message[0] != '\0');
            nb_batch_destroy(b);
            nb_pq_reader_destroy(r);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thrift_fields), cmocka_unit_test(test_thrift_errors),
        cmocka_unit_test(test_rle),           cmocka_unit_test(test_delta),
        cmocka_unit_test(test_page_header),   cmocka_unit_test(test_minimal_file),
        cmocka_unit_test(test_minimal_file_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
