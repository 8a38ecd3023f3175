/* LZ4 frame format through liblz4's lz4frame API (with content checksums); a checkpoint ends the
 * frame and the next write starts a new one. Decoding walks concatenated (and skippable) frames. */
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"

#define LZ4_IN_CHUNK (64u * 1024u)
#define LZ4_MAX_LEVEL 12

struct lz4_enc {
    struct nb_zenc base;
    LZ4F_cctx *cctx;
    LZ4F_preferences_t prefs;
    bool started;
    size_t out_cap;
    unsigned char *out;
};

static nb_status lz4_begin(struct lz4_enc *z, nb_zsink sink, void *ctx, struct nb_error *err)
{
    size_t rc = LZ4F_compressBegin(z->cctx, z->out, z->out_cap, &z->prefs);
    if (LZ4F_isError(rc)) return nb_error_set(err, NB_ERR_INTERNAL, "lz4 compressor failed: %s", LZ4F_getErrorName(rc));
    z->started = true;
    return sink(ctx, z->out, rc, err);
}

static nb_status lz4_write(struct nb_zenc *e, const uint8_t *p, size_t n, nb_zsink sink, void *ctx, struct nb_error *err)
{
    struct lz4_enc *z = (struct lz4_enc *)e;
    nb_status st;
    if (!z->started && (st = lz4_begin(z, sink, ctx, err)) != NB_OK) return st;
    while (n > 0) {
        size_t k = n > LZ4_IN_CHUNK ? LZ4_IN_CHUNK : n;
        size_t rc = LZ4F_compressUpdate(z->cctx, z->out, z->out_cap, p, k, NULL);
        if (LZ4F_isError(rc)) return nb_error_set(err, NB_ERR_INTERNAL, "lz4 compressor failed: %s", LZ4F_getErrorName(rc));
        if (rc && (st = sink(ctx, z->out, rc, err)) != NB_OK) return st;
        p += k;
        n -= k;
    }
    return NB_OK;
}

static nb_status lz4_end(struct nb_zenc *e, nb_zsink sink, void *ctx, struct nb_error *err)
{
    struct lz4_enc *z = (struct lz4_enc *)e;
    nb_status st;
    if (!z->started && (st = lz4_begin(z, sink, ctx, err)) != NB_OK) return st;
    size_t rc = LZ4F_compressEnd(z->cctx, z->out, z->out_cap, NULL);
    if (LZ4F_isError(rc)) return nb_error_set(err, NB_ERR_INTERNAL, "lz4 compressor failed: %s", LZ4F_getErrorName(rc));
    z->started = false;
    return sink(ctx, z->out, rc, err);
}

static void lz4_enc_destroy(struct nb_zenc *e)
{
    struct lz4_enc *z = (struct lz4_enc *)e;
    LZ4F_freeCompressionContext(z->cctx);
    free(z->out);
    free(z);
}

static const struct nb_zenc_ops lz4_enc_ops = {.write = lz4_write, .end = lz4_end, .destroy = lz4_enc_destroy};

nb_status nb_zenc_lz4_create(int level, struct nb_zenc **out, struct nb_error *err)
{
    if (level < 0 || level > LZ4_MAX_LEVEL)
        return nb_error_set(err, NB_ERR_CONFIG, "lz4 compression_level %d is out of range (1..%d)", level, LZ4_MAX_LEVEL);
    struct lz4_enc *z = calloc(1, sizeof *z);
    if (!z) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating an lz4 compressor");
    memset(&z->prefs, 0, sizeof z->prefs);
    z->prefs.compressionLevel = level;
    z->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    /* One buffer big enough for a header, an update of LZ4_IN_CHUNK bytes, or the frame end. */
    z->out_cap = LZ4F_compressBound(LZ4_IN_CHUNK, &z->prefs) + LZ4F_HEADER_SIZE_MAX;
    z->out = malloc(z->out_cap);
    if (!z->out || LZ4F_isError(LZ4F_createCompressionContext(&z->cctx, LZ4F_VERSION))) {
        free(z->out);
        free(z);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating an lz4 compressor");
    }
    z->base.ops = &lz4_enc_ops;
    *out = &z->base;
    return NB_OK;
}

struct lz4_dec {
    struct nb_zdec base;
    LZ4F_dctx *dctx;
};

static nb_status lz4_decode(struct nb_zdec *d, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                            size_t out_cap, size_t *out_made, bool *boundary, struct nb_error *err)
{
    struct lz4_dec *z = (struct lz4_dec *)d;
    size_t src = in_len, dst = out_cap;
    size_t rc = LZ4F_decompress(z->dctx, out, &dst, in, &src, NULL);
    *in_used = src;
    *out_made = dst;
    if (LZ4F_isError(rc)) {
        LZ4F_resetDecompressionContext(z->dctx);
        return nb_error_set(err, NB_ERR_INVALID, "%s", LZ4F_getErrorName(rc));
    }
    /* 0: the frame is fully decoded and flushed; the next byte starts a new frame. */
    if (rc == 0) *boundary = true;
    else if (src > 0 || dst > 0) *boundary = false;
    return NB_OK;
}

static void lz4_dec_destroy(struct nb_zdec *d)
{
    struct lz4_dec *z = (struct lz4_dec *)d;
    LZ4F_freeDecompressionContext(z->dctx);
    free(z);
}

static const struct nb_zdec_ops lz4_dec_ops = {.decode = lz4_decode, .destroy = lz4_dec_destroy};

nb_status nb_zdec_lz4_create(struct nb_zdec **out, struct nb_error *err)
{
    struct lz4_dec *z = calloc(1, sizeof *z);
    if (!z || LZ4F_isError(LZ4F_createDecompressionContext(&z->dctx, LZ4F_VERSION))) {
        free(z);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating an lz4 decoder");
    }
    z->base.ops = &lz4_dec_ops;
    *out = &z->base;
    return NB_OK;
}
