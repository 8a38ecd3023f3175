/* bzip2 through libbz2: a checkpoint ends the bzip2 stream and the next write starts another
 * (bzip2 tools decompress concatenated streams as one). */
#include <bzlib.h>
#include <limits.h>
#include <stdlib.h>

#include "io/io_internal.h"

struct bzip2_enc {
    struct nb_zenc base;
    bz_stream z;
    int block100k;
    bool live;   /* z is initialised */
    unsigned char out[NB_ZCHUNK];
};

static nb_status bz_init(struct bzip2_enc *b, struct nb_error *err)
{
    int rc = BZ2_bzCompressInit(&b->z, b->block100k, 0, 0);
    if (rc != BZ_OK)
        return nb_error_set(err, rc == BZ_MEM_ERROR ? NB_ERR_NOMEM : NB_ERR_INTERNAL, "bzip2 compressor init failed (%d)", rc);
    b->live = true;
    return NB_OK;
}

static nb_status bz_run(struct bzip2_enc *b, int action, nb_zsink sink, void *ctx, struct nb_error *err)
{
    for (;;) {
        b->z.next_out = (char *)b->out;
        b->z.avail_out = NB_ZCHUNK;
        int rc = BZ2_bzCompress(&b->z, action);
        if (rc != BZ_RUN_OK && rc != BZ_FINISH_OK && rc != BZ_STREAM_END)
            return nb_error_set(err, NB_ERR_INTERNAL, "bzip2 compressor failed (%d)", rc);
        size_t made = NB_ZCHUNK - b->z.avail_out;
        if (made) {
            nb_status st = sink(ctx, b->out, made, err);
            if (st != NB_OK) return st;
        }
        if (action == BZ_FINISH ? rc == BZ_STREAM_END : b->z.avail_in == 0) return NB_OK;
    }
}

static nb_status bzip2_write(struct nb_zenc *e, const uint8_t *p, size_t n, nb_zsink sink, void *ctx, struct nb_error *err)
{
    struct bzip2_enc *b = (struct bzip2_enc *)e;
    nb_status st;
    if (!b->live && (st = bz_init(b, err)) != NB_OK) return st;
    while (n > 0) {
        unsigned k = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        b->z.next_in = (char *)p;
        b->z.avail_in = k;
        if ((st = bz_run(b, BZ_RUN, sink, ctx, err)) != NB_OK) return st;
        p += k;
        n -= k;
    }
    return NB_OK;
}

static nb_status bzip2_end(struct nb_zenc *e, nb_zsink sink, void *ctx, struct nb_error *err)
{
    struct bzip2_enc *b = (struct bzip2_enc *)e;
    nb_status st;
    if (!b->live && (st = bz_init(b, err)) != NB_OK) return st;
    b->z.next_in = NULL;
    b->z.avail_in = 0;
    if ((st = bz_run(b, BZ_FINISH, sink, ctx, err)) != NB_OK) return st;
    /* libbz2 has no reset: the next write initialises a fresh stream. */
    BZ2_bzCompressEnd(&b->z);
    b->live = false;
    return NB_OK;
}

static void bzip2_enc_destroy(struct nb_zenc *e)
{
    struct bzip2_enc *b = (struct bzip2_enc *)e;
    if (b->live) BZ2_bzCompressEnd(&b->z);
    free(b);
}

static const struct nb_zenc_ops bzip2_enc_ops = {.write = bzip2_write, .end = bzip2_end, .destroy = bzip2_enc_destroy};

nb_status nb_zenc_bzip2_create(int level, struct nb_zenc **out, struct nb_error *err)
{
    if (level < 0 || level > 9)
        return nb_error_set(err, NB_ERR_CONFIG, "bzip2 compression_level %d is out of range (1..9)", level);
    struct bzip2_enc *b = calloc(1, sizeof *b);
    if (!b) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a bzip2 compressor");
    b->block100k = level == 0 ? 9 : level;
    nb_status st = bz_init(b, err);
    if (st != NB_OK) { free(b); return st; }
    b->base.ops = &bzip2_enc_ops;
    *out = &b->base;
    return NB_OK;
}

struct bzip2_dec {
    struct nb_zdec base;
    bz_stream z;
    bool live;
};

static nb_status bzip2_decode(struct nb_zdec *d, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                              size_t out_cap, size_t *out_made, bool *boundary, struct nb_error *err)
{
    struct bzip2_dec *b = (struct bzip2_dec *)d;
    *in_used = *out_made = 0;
    if (!b->live) {
        if (in_len == 0) return NB_OK;   /* between streams: nothing to do until a next one starts */
        int rc = BZ2_bzDecompressInit(&b->z, 0, 0);
        if (rc != BZ_OK) return nb_error_set(err, NB_ERR_NOMEM, "bzip2 decoder init failed (%d)", rc);
        b->live = true;
    }
    unsigned ilen = in_len > UINT_MAX ? UINT_MAX : (unsigned)in_len, olen = out_cap > UINT_MAX ? UINT_MAX : (unsigned)out_cap;
    b->z.next_in = (char *)in;
    b->z.avail_in = ilen;
    b->z.next_out = (char *)out;
    b->z.avail_out = olen;
    int rc = BZ2_bzDecompress(&b->z);
    *in_used = ilen - b->z.avail_in;
    *out_made = olen - b->z.avail_out;
    switch (rc) {
    case BZ_STREAM_END:
        BZ2_bzDecompressEnd(&b->z);
        b->live = false;
        *boundary = true;
        return NB_OK;
    case BZ_OK:
        if (*in_used > 0) *boundary = false;
        return NB_OK;
    case BZ_DATA_ERROR_MAGIC: return nb_error_set(err, NB_ERR_INVALID, "not a bzip2 stream (bad magic)");
    case BZ_DATA_ERROR: return nb_error_set(err, NB_ERR_INVALID, "data integrity error (bad block or CRC)");
    case BZ_MEM_ERROR: return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    default: return nb_error_set(err, NB_ERR_INVALID, "bzip2 decoder error %d", rc);
    }
}

static void bzip2_dec_destroy(struct nb_zdec *d)
{
    struct bzip2_dec *b = (struct bzip2_dec *)d;
    if (b->live) BZ2_bzDecompressEnd(&b->z);
    free(b);
}

static const struct nb_zdec_ops bzip2_dec_ops = {.decode = bzip2_decode, .destroy = bzip2_dec_destroy};

nb_status nb_zdec_bzip2_create(struct nb_zdec **out, struct nb_error *err)
{
    struct bzip2_dec *b = calloc(1, sizeof *b);
    if (!b) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a bzip2 decoder");
    b->base.ops = &bzip2_dec_ops;
    *out = &b->base;
    return NB_OK;
}
