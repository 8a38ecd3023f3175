/* Compression codecs: names, CRC-32C, round trips of every codec (small, multi-MB, many small
 * writes), concatenated frames, truncated and corrupt input (NB_ERR_INVALID naming the place),
 * levels, and the snappy framing format checked byte by byte against the spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "io/helper_io.h"
#include "io/io_internal.h"
#include "io/stream.h"

static const enum nb_codec all_codecs[] = {NB_CODEC_GZIP, NB_CODEC_ZSTD, NB_CODEC_LZ4,
                                           NB_CODEC_BZIP2, NB_CODEC_XZ, NB_CODEC_SNAPPY};
#define NCODECS (sizeof all_codecs / sizeof all_codecs[0])

static void test_codec_names(void **state)
{
    enum nb_codec c;
    struct nb_error err;
    assert_int_equal(nb_codec_parse("gz", &c, &err), NB_OK); assert_int_equal(c, NB_CODEC_GZIP);
    assert_int_equal(nb_codec_parse("ZSTD", &c, &err), NB_OK); assert_int_equal(c, NB_CODEC_ZSTD);
    assert_int_equal(nb_codec_parse("bz2", &c, &err), NB_OK); assert_int_equal(c, NB_CODEC_BZIP2);
    assert_int_equal(nb_codec_parse("snappy", &c, &err), NB_OK); assert_int_equal(c, NB_CODEC_SNAPPY);
    assert_int_equal(nb_codec_parse("none", &c, &err), NB_OK); assert_int_equal(c, NB_CODEC_NONE);
    assert_int_equal(nb_codec_parse("rar", &c, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "'rar'"));
    for (size_t i = 0; i < NCODECS; i++) {
        assert_int_equal(nb_codec_parse(nb_codec_name(all_codecs[i]), &c, &err), NB_OK);
        assert_int_equal(c, all_codecs[i]);
    }
    assert_int_equal(nb_codec_from_path("a.csv.gz"), NB_CODEC_GZIP);
    assert_int_equal(nb_codec_from_path("dir/a.json.zst"), NB_CODEC_ZSTD);
    assert_int_equal(nb_codec_from_path("a.lz4"), NB_CODEC_LZ4);
    assert_int_equal(nb_codec_from_path("a.csv.BZ2"), NB_CODEC_BZIP2);
    assert_int_equal(nb_codec_from_path("a.xz"), NB_CODEC_XZ);
    assert_int_equal(nb_codec_from_path("a.csv.sz"), NB_CODEC_SNAPPY);
    assert_int_equal(nb_codec_from_path("a.csv"), NB_CODEC_NONE);
    assert_int_equal(nb_codec_from_path("dir/.gz"), NB_CODEC_NONE);
    char out[64];
    nb_path_strip_codec("out/a.csv.gz", out, sizeof out); assert_string_equal(out, "out/a.csv");
    nb_path_strip_codec("a.parquet", out, sizeof out); assert_string_equal(out, "a.parquet");
    nb_path_strip_codec("a.csv.zst", out, 4); assert_string_equal(out, "a.c");
    nb_partial_path("x/y.csv", out, sizeof out); assert_string_equal(out, "x/y.csv.nebula-partial");
}

static void test_crc32c(void **state)
{
    /* The CRC-32C check value (RFC 3720 / the Castagnoli catalogue). */
    assert_int_equal(nb_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(nb_crc32c_portable(0, "123456789", 9), 0xE3069283u);
    /* RFC 3720 B.4: 32 bytes of zeros -> 0x8A9136AA; 32 bytes of 0xFF -> 0x62A8AB43. */
    unsigned char z[32], f[32], inc[32];
    memset(z, 0, sizeof z);
    memset(f, 0xff, sizeof f);
    for (int i = 0; i < 32; i++) inc[i] = (unsigned char)i;
    assert_int_equal(nb_crc32c(0, z, 32), 0x8A9136AAu);
    assert_int_equal(nb_crc32c(0, f, 32), 0x62A8AB43u);
    assert_int_equal(nb_crc32c_portable(0, inc, 32), 0x46DD794Eu);
    /* Incremental == one shot, and both implementations agree on odd lengths and alignments. */
    struct nb_buf b;
    nb_buf_init(&b);
    test_data(&b, 100003, 7);
    for (size_t off = 0; off < 9; off++) {
        uint32_t one = nb_crc32c(0, b.data + off, b.len - off);
        assert_int_equal(one, nb_crc32c_portable(0, b.data + off, b.len - off));
        uint32_t inc2 = nb_crc32c(0, b.data + off, 12345);
        inc2 = nb_crc32c(inc2, b.data + off + 12345, b.len - off - 12345);
        assert_int_equal(one, inc2);
    }
    nb_buf_cleanup(&b);
}

static void roundtrip(enum nb_codec c, size_t n, size_t write_piece, size_t read_piece, uint32_t seed)
{
    struct nb_buf data, comp, back;
    struct nb_error err;
    nb_buf_init(&data); nb_buf_init(&comp); nb_buf_init(&back);
    test_data(&data, n, seed);
    compress_mem(c, 0, data.data, data.len, write_piece, &comp);
    assert_true(comp.len > 0);
    nb_status st = decompress_mem(c, comp.data, comp.len, &back, read_piece, &err);
    if (st != NB_DONE) fail_msg("%s: %s", nb_codec_name(c), err.message);
    assert_int_equal(back.len, data.len);
    assert_memory_equal(back.data, data.data, data.len);
    nb_buf_cleanup(&data); nb_buf_cleanup(&comp); nb_buf_cleanup(&back);
}

static void test_roundtrip_small(void **state)
{
    for (size_t i = 0; i < NCODECS; i++) {
        roundtrip(all_codecs[i], 0, 1, 100, 1);        /* empty: one empty frame, decodes to nothing */
        roundtrip(all_codecs[i], 1, 1, 1, 2);
        roundtrip(all_codecs[i], 1000, 1000, 7, 3);
        roundtrip(all_codecs[i], 70000, 70000, 65536, 4);
    }
}

static void test_roundtrip_many_small_writes(void **state)
{
    /* 300 KB written 3 bytes at a time, read back in odd pieces. */
    for (size_t i = 0; i < NCODECS; i++) roundtrip(all_codecs[i], 300 * 1000, 3, 4093, 5);
}

static void test_roundtrip_multi_mb(void **state)
{
    /* 3 MB: several zstd/lz4/bzip2 blocks and 46 snappy chunks; big writes and reads. */
    for (size_t i = 0; i < NCODECS; i++) roundtrip(all_codecs[i], 3 * 1000 * 1000 + 17, 1 << 20, 1 << 20, 6);
}

/* Frames ended by checkpoints, and separately compressed streams glued together, read as one. */
static void test_concatenated(void **state)
{
    struct nb_buf data, comp, back;
    struct nb_error err;
    nb_buf_init(&data); nb_buf_init(&comp); nb_buf_init(&back);
    test_data(&data, 200000, 8);
    for (size_t i = 0; i < NCODECS; i++) {
        enum nb_codec c = all_codecs[i];
        nb_buf_reset(&comp);
        nb_buf_reset(&back);
        struct nb_ostream *b = nb_buf_ostream_create(&comp), *z = NULL;
        assert_int_equal(nb_compress_ostream_create(c, 0, b, &z, &err), NB_OK);
        uint64_t last = 0;
        for (size_t off = 0; off < data.len; off += 30000) {
            size_t k = data.len - off < 30000 ? data.len - off : 30000;
            assert_int_equal(nb_ostream_write(z, data.data + off, k, &err), NB_OK);
            uint64_t durable;
            assert_int_equal(z->ops->checkpoint(z, &durable, &err), NB_OK);
            assert_int_equal(durable, comp.len);
            assert_true(durable > last);
            last = durable;
            /* Everything up to a checkpoint is a complete stream on its own. */
            struct nb_buf part;
            nb_buf_init(&part);
            assert_int_equal(decompress_mem(c, comp.data, comp.len, &part, 65536, &err), NB_DONE);
            assert_int_equal(part.len, off + k);
            assert_memory_equal(part.data, data.data, off + k);
            nb_buf_cleanup(&part);
        }
        /* A checkpoint with nothing new adds no bytes. */
        uint64_t durable;
        assert_int_equal(z->ops->checkpoint(z, &durable, &err), NB_OK);
        assert_int_equal(durable, last);
        assert_int_equal(z->ops->finish(z, &err), NB_OK);
        assert_int_equal(comp.len, last);   /* finish after a checkpoint adds no empty frame */
        nb_ostream_destroy(z);
        /* Two independent streams back to back. */
        size_t first = comp.len;
        compress_mem(c, 0, "tail", 4, 4, &comp);
        assert_true(comp.len > first);
        assert_int_equal(decompress_mem(c, comp.data, comp.len, &back, 777, &err), NB_DONE);
        assert_int_equal(back.len, data.len + 4);
        assert_memory_equal(back.data, data.data, data.len);
        assert_memory_equal(back.data + data.len, "tail", 4);
    }
    nb_buf_cleanup(&data); nb_buf_cleanup(&comp); nb_buf_cleanup(&back);
}

/* Every proper prefix of a one-frame stream is a truncated stream, reported with its length. */
static void test_truncated(void **state)
{
    struct nb_buf data, comp, back;
    struct nb_error err;
    nb_buf_init(&data); nb_buf_init(&comp); nb_buf_init(&back);
    test_data(&data, 3000, 9);
    for (size_t i = 0; i < NCODECS; i++) {
        enum nb_codec c = all_codecs[i];
        nb_buf_reset(&comp);
        compress_mem(c, 0, data.data, data.len, data.len, &comp);
        /* Snappy's framing has no end marker: a cut between chunks cannot be seen, so with one
         * chunk every cut after the stream identifier (10 bytes) lands inside the chunk. */
        for (size_t cut = 0; cut < comp.len; cut += cut < 64 || cut + 64 > comp.len ? 1 : 5) {
            if (c == NB_CODEC_SNAPPY && cut == 10) continue;
            nb_buf_reset(&back);
            nb_status st = decompress_mem(c, comp.data, cut, &back, 1000, &err);
            if (st != NB_ERR_INVALID)
                fail_msg("%s cut at %zu of %zu: status %d", nb_codec_name(c), cut, comp.len, (int)st);
            char want[128];
            snprintf(want, sizeof want, "mem.bin: truncated %s stream at compressed byte %zu", nb_codec_name(c), cut);
            if (strncmp(err.message, want, strlen(want)) != 0)
                fail_msg("cut %zu: '%s', wanted '%s'", cut, err.message, want);
            /* What came out was right (a cut in a trailer comes after all the data). */
            assert_true(back.len <= data.len);
            assert_memory_equal(back.data, data.data, back.len);
        }
    }
    nb_buf_cleanup(&data); nb_buf_cleanup(&comp); nb_buf_cleanup(&back);
}

/* Flipped bytes inside the compressed data are caught (checksums are on for every codec). */
static void test_corrupt(void **state)
{
    struct nb_buf data, comp, back;
    struct nb_error err;
    nb_buf_init(&data); nb_buf_init(&comp); nb_buf_init(&back);
    test_data(&data, 50000, 10);
    for (size_t i = 0; i < NCODECS; i++) {
        enum nb_codec c = all_codecs[i];
        nb_buf_reset(&comp);
        compress_mem(c, 0, data.data, data.len, data.len, &comp);
        for (int k = 1; k < 8; k++) {
            size_t at = comp.len * (size_t)k / 8;
            comp.data[at] ^= 0x5a;
            nb_buf_reset(&back);
            nb_status st = decompress_mem(c, comp.data, comp.len, &back, 4096, &err);
            if (st != NB_ERR_INVALID)
                fail_msg("%s flip at %zu of %zu: status %d", nb_codec_name(c), at, comp.len, (int)st);
            assert_non_null(strstr(err.message, "mem.bin: "));
            assert_non_null(strstr(err.message, nb_codec_name(c)));
            assert_non_null(strstr(err.message, "compressed byte"));
            comp.data[at] ^= 0x5a;
        }
        /* Garbage after a complete stream is not silently ignored. */
        nb_buf_append(&comp, "garbage!", 8);
        nb_buf_reset(&back);
        assert_int_equal(decompress_mem(c, comp.data, comp.len, &back, 4096, &err), NB_ERR_INVALID);
        /* And data of another codec is refused from the first bytes. */
        enum nb_codec other = all_codecs[(i + 1) % NCODECS];
        nb_buf_reset(&comp);
        compress_mem(other, 0, data.data, 100, 100, &comp);
        nb_buf_reset(&back);
        assert_int_equal(decompress_mem(c, comp.data, comp.len, &back, 4096, &err), NB_ERR_INVALID);
        assert_int_equal(back.len, 0);
    }
    nb_buf_cleanup(&data); nb_buf_cleanup(&comp); nb_buf_cleanup(&back);
}

static void test_levels(void **state)
{
    struct nb_buf out;
    struct nb_error err;
    nb_buf_init(&out);
    struct nb_ostream *b = nb_buf_ostream_create(&out), *z = NULL;
    assert_int_equal(nb_compress_ostream_create(NB_CODEC_GZIP, 10, b, &z, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "gzip"));
    assert_int_equal(nb_compress_ostream_create(NB_CODEC_SNAPPY, 3, b, &z, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_compress_ostream_create(NB_CODEC_ZSTD, 99, b, &z, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_compress_ostream_create(NB_CODEC_LZ4, -1, b, &z, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_compress_ostream_create(NB_CODEC_BZIP2, 10, b, &z, &err), NB_ERR_CONFIG);
    assert_int_equal(nb_compress_ostream_create(NB_CODEC_XZ, 10, b, &z, &err), NB_ERR_CONFIG);
    assert_null(z);
    nb_ostream_destroy(b);   /* not taken over on failure */
    /* Every valid level of every codec round-trips; higher levels are smaller on text. */
    struct nb_buf data, back;
    nb_buf_init(&data); nb_buf_init(&back);
    test_data(&data, 20000, 11);
    static const int levels[][2] = {{1, 9}, {1, 19}, {1, 12}, {1, 9}, {1, 9}, {0, 0}};
    for (size_t i = 0; i < NCODECS; i++) {
        for (int lv = levels[i][0]; lv <= levels[i][1]; lv += levels[i][1] > 9 ? 6 : 4) {
            nb_buf_reset(&out);
            nb_buf_reset(&back);
            compress_mem(all_codecs[i], lv, data.data, data.len, 999, &out);
            assert_int_equal(decompress_mem(all_codecs[i], out.data, out.len, &back, 5000, &err), NB_DONE);
            assert_int_equal(back.len, data.len);
            assert_memory_equal(back.data, data.data, data.len);
        }
    }
    nb_buf_reset(&out);
    compress_mem(NB_CODEC_ZSTD, -5, data.data, data.len, 999, &out);   /* zstd's fast levels */
    nb_buf_cleanup(&out); nb_buf_cleanup(&data); nb_buf_cleanup(&back);
}

static void put_chunk(struct nb_buf *b, unsigned type, const void *body, size_t n)
{
    unsigned char h[4] = {(unsigned char)type, (unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16)};
    nb_buf_append(b, h, 4);
    nb_buf_append(b, body, n);
}

static void put_data_chunk(struct nb_buf *b, const char *text, uint32_t crc_xor)
{
    size_t n = strlen(text);
    uint32_t crc = nb_crc32c(0, text, n);
    uint32_t masked = (((crc >> 15) | (crc << 17)) + 0xa282ead8u) ^ crc_xor;
    unsigned char body[300];
    body[0] = (unsigned char)masked; body[1] = (unsigned char)(masked >> 8);
    body[2] = (unsigned char)(masked >> 16); body[3] = (unsigned char)(masked >> 24);
    memcpy(body + 4, text, n);
    put_chunk(b, 0x01, body, n + 4);
}

/* A stream assembled by hand from the framing spec: identifier, padding, skippable chunk,
 * uncompressed chunks, a repeated identifier; then the errors the spec requires. */
static void test_snappy_framing_spec(void **state)
{
    struct nb_buf s, back;
    struct nb_error err;
    nb_buf_init(&s); nb_buf_init(&back);
    static const char ident[] = "sNaPpY";
    put_chunk(&s, 0xff, ident, 6);
    put_data_chunk(&s, "hello, ", 0);
    put_chunk(&s, 0xfe, "\0\0\0", 3);        /* padding */
    put_chunk(&s, 0x80, "skip me", 7);       /* reserved skippable */
    put_chunk(&s, 0xff, ident, 6);           /* identifier again (concatenation) */
    put_data_chunk(&s, "world", 0);
    put_chunk(&s, 0x99, "", 0);              /* empty skippable */
    assert_int_equal(decompress_mem(NB_CODEC_SNAPPY, s.data, s.len, &back, 3, &err), NB_DONE);
    assert_int_equal(back.len, 12);
    assert_memory_equal(back.data, "hello, world", 12);

    /* Our encoder starts with exactly the identifier chunk the spec gives. */
    struct nb_buf ours;
    nb_buf_init(&ours);
    compress_mem(NB_CODEC_SNAPPY, 0, "x", 1, 1, &ours);
    assert_memory_equal(ours.data, "\xff\x06\x00\x00sNaPpY", 10);
    nb_buf_cleanup(&ours);

    nb_buf_reset(&s);
    put_data_chunk(&s, "no identifier first", 0);
    assert_int_equal(decompress_mem(NB_CODEC_SNAPPY, s.data, s.len, &back, 100, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "identifier"));

    nb_buf_reset(&s);
    put_chunk(&s, 0xff, ident, 6);
    put_data_chunk(&s, "bad checksum", 1);
    assert_int_equal(decompress_mem(NB_CODEC_SNAPPY, s.data, s.len, &back, 100, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "checksum"));

    nb_buf_reset(&s);
    put_chunk(&s, 0xff, ident, 6);
    put_chunk(&s, 0x02, "xxxx", 4);          /* reserved unskippable */
    assert_int_equal(decompress_mem(NB_CODEC_SNAPPY, s.data, s.len, &back, 100, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "unskippable"));
    assert_non_null(strstr(err.message, "compressed byte 14"));

    nb_buf_reset(&s);
    put_chunk(&s, 0xff, ident, 6);
    unsigned char big[4] = {0x01, 0x05, 0x00, 0x01};   /* uncompressed chunk claiming 65541 + 4 bytes */
    nb_buf_append(&s, big, 4);
    assert_int_equal(decompress_mem(NB_CODEC_SNAPPY, s.data, s.len, &back, 100, &err), NB_ERR_INVALID);
    nb_buf_cleanup(&s); nb_buf_cleanup(&back);
}

/* .xz allows zero stream padding after a stream, in multiples of four bytes. */
static void test_xz_stream_padding(void **state)
{
    struct nb_buf comp, back;
    struct nb_error err;
    nb_buf_init(&comp); nb_buf_init(&back);
    compress_mem(NB_CODEC_XZ, 0, "one", 3, 3, &comp);
    nb_buf_append(&comp, "\0\0\0\0\0\0\0\0", 8);
    compress_mem(NB_CODEC_XZ, 0, "two", 3, 3, &comp);
    nb_buf_append(&comp, "\0\0\0\0", 4);
    assert_int_equal(decompress_mem(NB_CODEC_XZ, comp.data, comp.len, &back, 100, &err), NB_DONE);
    assert_int_equal(back.len, 6);
    assert_memory_equal(back.data, "onetwo", 6);
    nb_buf_append(&comp, "\0\0", 2);   /* 6 bytes of padding at the end: not a multiple of 4 */
    nb_buf_reset(&back);
    assert_int_equal(decompress_mem(NB_CODEC_XZ, comp.data, comp.len, &back, 100, &err), NB_ERR_INVALID);
    /* Padding before the first stream is not allowed either. */
    nb_buf_reset(&comp);
    nb_buf_append(&comp, "\0\0\0\0", 4);
    compress_mem(NB_CODEC_XZ, 0, "x", 1, 1, &comp);
    assert_int_equal(decompress_mem(NB_CODEC_XZ, comp.data, comp.len, &back, 100, &err), NB_ERR_INVALID);
    nb_buf_cleanup(&comp); nb_buf_cleanup(&back);
}

/* The decoder reads what the system tools write (single and concatenated streams). */
static void test_system_tool_output(void **state)
{
    static const char *tools[] = {"gzip", "zstd -q", "lz4 -q", "bzip2", "xz"};
    static const char *bins[] = {"gzip", "zstd", "lz4", "bzip2", "xz"};
    char *dir = tmpdir_create();
    struct nb_buf data, back;
    struct nb_error err;
    nb_buf_init(&data); nb_buf_init(&back);
    test_data(&data, 400000, 12);
    write_file(tpath(dir, "in.bin"), data.data, data.len);
    for (size_t i = 0; i < 5; i++) {
        if (!have_tool(bins[i])) { print_message("skipping %s: not installed\n", bins[i]); continue; }
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "%s -c < %s > %s && %s -c < %s >> %s", tools[i], tpath(dir, "in.bin"),
                 tpath(dir, "out.z"), tools[i], tpath(dir, "in.bin"), tpath(dir, "out.z"));
        assert_int_equal(system(cmd), 0);
        struct nb_istream *s = NULL;
        assert_int_equal(nb_input_open(tpath(dir, "out.z"), all_codecs[i], false, 0, &s, &err), NB_OK);
        nb_buf_reset(&back);
        assert_int_equal(read_all(s, &back, 100000, &err), NB_DONE);
        assert_true(s->raw_read == s->raw_size && s->raw_size > 0);
        nb_istream_destroy(s);
        assert_int_equal(back.len, 2 * data.len);
        assert_memory_equal(back.data, data.data, data.len);
        assert_memory_equal(back.data + data.len, data.data, data.len);
    }
    nb_buf_cleanup(&data); nb_buf_cleanup(&back);
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_names),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_roundtrip_small),
        cmocka_unit_test(test_roundtrip_many_small_writes),
        cmocka_unit_test(test_roundtrip_multi_mb),
        cmocka_unit_test(test_concatenated),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_snappy_framing_spec),
        cmocka_unit_test(test_xz_stream_padding),
        cmocka_unit_test(test_system_tool_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
