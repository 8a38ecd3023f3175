/* zstd frames through libzstd (with content checksums); a checkpoint ends the frame and the next
 * write starts a new one. Decoding walks concatenated (and skippable) frames. */
#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "io/io_internal.h"

/* Frames may ask for a window up to 2^27 (128 MiB, what the zstd tool accepts without --memory):
 * bounded memory against hostile headers. */
#define ZSTD_MAX_WINDOW_LOG 27

struct zstd_enc {
    struct nb_zenc base;
    ZSTD_CCtx *cctx;
    unsigned char out[NB_ZCHUNK];
};

static nb_status zstd_run(struct zstd_enc *z, ZSTD_inBuffer *in, ZSTD_EndDirective mode, nb_zsink sink, void *ctx,
                          struct nb_error *err)
{
    for (;;) {
        ZSTD_outBuffer ob = {z->out, NB_ZCHUNK, 0};
        size_t rc = ZSTD_compressStream2(z->cctx, &ob, in, mode);
        if (ZSTD_isError(rc)) return nb_error_set(err, NB_ERR_INTERNAL, "zstd compressor failed: %s", ZSTD_getErrorName(rc));
        if (ob.pos) {
            nb_status st = sink(ctx, z->out, ob.pos, err);
            if (st != NB_OK) return st;
        }
        if (mode == ZSTD_e_end) {
            if (rc == 0) return NB_OK;
        } else if (in->pos == in->size) {
            return NB_OK;
        }
    }
}

static nb_status zstd_write(struct nb_zenc *e, const uint8_t *p, size_t n, nb_zsink sink, void *ctx, struct nb_error *err)
{
    ZSTD_inBuffer in = {p, n, 0};
    return zstd_run((struct zstd_enc *)e, &in, ZSTD_e_continue, sink, ctx, err);
}

static nb_status zstd_end(struct nb_zenc *e, nb_zsink sink, void *ctx, struct nb_error *err)
{
    ZSTD_inBuffer in = {NULL, 0, 0};
    return zstd_run((struct zstd_enc *)e, &in, ZSTD_e_end, sink, ctx, err);
}

static void zstd_enc_destroy(struct nb_zenc *e)
{
    struct zstd_enc *z = (struct zstd_enc *)e;
    ZSTD_freeCCtx(z->cctx);
    free(z);
}

static const struct nb_zenc_ops zstd_enc_ops = {.write = zstd_write, .end = zstd_end, .destroy = zstd_enc_destroy};

nb_status nb_zenc_zstd_create(int level, struct nb_zenc **out, struct nb_error *err)
{
    if (level != 0 && (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()))
        return nb_error_set(err, NB_ERR_CONFIG, "zstd compression_level %d is out of range (%d..%d)", level,
                            ZSTD_minCLevel(), ZSTD_maxCLevel());
    struct zstd_enc *z = calloc(1, sizeof *z);
    if (!z || !(z->cctx = ZSTD_createCCtx())) {
        free(z);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a zstd compressor");
    }
    size_t rc = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level == 0 ? ZSTD_CLEVEL_DEFAULT : level);
    if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(rc)) {
        ZSTD_freeCCtx(z->cctx);
        free(z);
        return nb_error_set(err, NB_ERR_INTERNAL, "zstd compressor setup failed: %s", ZSTD_getErrorName(rc));
    }
    z->base.ops = &zstd_enc_ops;
    *out = &z->base;
    return NB_OK;
}

struct zstd_dec {
    struct nb_zdec base;
    ZSTD_DCtx *dctx;
};

static nb_status zstd_decode(struct nb_zdec *d, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                             size_t out_cap, size_t *out_made, bool *boundary, struct nb_error *err)
{
    struct zstd_dec *z = (struct zstd_dec *)d;
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_cap, 0};
    size_t rc = ZSTD_decompressStream(z->dctx, &ob, &ib);
    *in_used = ib.pos;
    *out_made = ob.pos;
    if (ZSTD_isError(rc)) {
        ZSTD_DCtx_reset(z->dctx, ZSTD_reset_session_only);
        if (ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation)
            return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        return nb_error_set(err, NB_ERR_INVALID, "%s", ZSTD_getErrorName(rc));
    }
    /* 0: a frame was completely decoded and flushed. */
    if (rc == 0) *boundary = true;
    else if (ib.pos > 0 || ob.pos > 0) *boundary = false;
    return NB_OK;
}

static void zstd_dec_destroy(struct nb_zdec *d)
{
    struct zstd_dec *z = (struct zstd_dec *)d;
    ZSTD_freeDCtx(z->dctx);
    free(z);
}

static const struct nb_zdec_ops zstd_dec_ops = {.decode = zstd_decode, .destroy = zstd_dec_destroy};

nb_status nb_zdec_zstd_create(struct nb_zdec **out, struct nb_error *err)
{
    struct zstd_dec *z = calloc(1, sizeof *z);
    if (!z || !(z->dctx = ZSTD_createDCtx())) {
        free(z);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a zstd decoder");
    }
    ZSTD_DCtx_setParameter(z->dctx, ZSTD_d_windowLogMax, ZSTD_MAX_WINDOW_LOG);
    z->base.ops = &zstd_dec_ops;
    *out = &z->base;
    return NB_OK;
}
