/* xz through liblzma (CRC64 checks); a checkpoint ends the .xz stream and the next write starts
 * another. Decoding walks concatenated streams and the zero stream padding the format allows
 * between them (in multiples of four bytes). */
#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"

/* xz -9 needs 65 MiB to decode; this leaves room and still bounds hostile headers. */
#define XZ_MEMLIMIT (256u << 20)

struct xz_enc {
    struct nb_zenc base;
    lzma_stream z;
    uint32_t preset;
    bool live;
    unsigned char out[NB_ZCHUNK];
};

static nb_status xz_init(struct xz_enc *x, struct nb_error *err)
{
    lzma_ret rc = lzma_easy_encoder(&x->z, x->preset, LZMA_CHECK_CRC64);
    if (rc != LZMA_OK)
        return nb_error_set(err, rc == LZMA_MEM_ERROR ? NB_ERR_NOMEM : NB_ERR_INTERNAL, "xz compressor init failed (%d)", (int)rc);
    x->live = true;
    return NB_OK;
}

static nb_status xz_run(struct xz_enc *x, lzma_action action, nb_zsink sink, void *ctx, struct nb_error *err)
{
    for (;;) {
        x->z.next_out = x->out;
        x->z.avail_out = NB_ZCHUNK;
        lzma_ret rc = lzma_code(&x->z, action);
        if (rc != LZMA_OK && rc != LZMA_STREAM_END)
            return nb_error_set(err, rc == LZMA_MEM_ERROR ? NB_ERR_NOMEM : NB_ERR_INTERNAL, "xz compressor failed (%d)", (int)rc);
        size_t made = NB_ZCHUNK - x->z.avail_out;
        if (made) {
            nb_status st = sink(ctx, x->out, made, err);
            if (st != NB_OK) return st;
        }
        if (action == LZMA_FINISH ? rc == LZMA_STREAM_END : (x->z.avail_in == 0 && x->z.avail_out != 0)) return NB_OK;
    }
}

static nb_status xz_write(struct nb_zenc *e, const uint8_t *p, size_t n, nb_zsink sink, void *ctx, struct nb_error *err)
{
    struct xz_enc *x = (struct xz_enc *)e;
    nb_status st;
    if (!x->live && (st = xz_init(x, err)) != NB_OK) return st;
    x->z.next_in = p;
    x->z.avail_in = n;
    return xz_run(x, LZMA_RUN, sink, ctx, err);
}

static nb_status xz_end(struct nb_zenc *e, nb_zsink sink, void *ctx, struct nb_error *err)
{
    struct xz_enc *x = (struct xz_enc *)e;
    nb_status st;
    if (!x->live && (st = xz_init(x, err)) != NB_OK) return st;
    x->z.next_in = NULL;
    x->z.avail_in = 0;
    if ((st = xz_run(x, LZMA_FINISH, sink, ctx, err)) != NB_OK) return st;
    x->live = false;   /* the next write re-initialises (lzma_easy_encoder reuses the allocations) */
    return NB_OK;
}

static void xz_enc_destroy(struct nb_zenc *e)
{
    struct xz_enc *x = (struct xz_enc *)e;
    lzma_end(&x->z);
    free(x);
}

static const struct nb_zenc_ops xz_enc_ops = {.write = xz_write, .end = xz_end, .destroy = xz_enc_destroy};

nb_status nb_zenc_xz_create(int level, struct nb_zenc **out, struct nb_error *err)
{
    if (level < 0 || level > 9)
        return nb_error_set(err, NB_ERR_CONFIG, "xz compression_level %d is out of range (1..9)", level);
    struct xz_enc *x = calloc(1, sizeof *x);
    if (!x) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating an xz compressor");
    lzma_stream init = LZMA_STREAM_INIT;
    x->z = init;
    x->preset = level == 0 ? LZMA_PRESET_DEFAULT : (uint32_t)level;
    nb_status st = xz_init(x, err);
    if (st != NB_OK) { lzma_end(&x->z); free(x); return st; }
    x->base.ops = &xz_enc_ops;
    *out = &x->base;
    return NB_OK;
}

struct xz_dec {
    struct nb_zdec base;
    lzma_stream z;
    bool live;         /* inside a stream */
    bool seen_stream;  /* padding only follows a stream */
    uint64_t padding;  /* zero bytes seen since the last stream ended */
};

static nb_status xz_decode(struct nb_zdec *d, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                           size_t out_cap, size_t *out_made, bool *boundary, struct nb_error *err)
{
    struct xz_dec *x = (struct xz_dec *)d;
    *in_used = *out_made = 0;
    if (!x->live) {
        size_t i = 0;
        while (x->seen_stream && i < in_len && in[i] == 0) i++;
        x->padding += i;
        *in_used = i;
        *boundary = x->padding % 4 == 0;
        if (i == in_len) return NB_OK;
        if (x->padding % 4 != 0)
            return nb_error_set(err, NB_ERR_INVALID, "stream padding is not a multiple of four bytes");
        lzma_ret rc = lzma_stream_decoder(&x->z, XZ_MEMLIMIT, 0);
        if (rc != LZMA_OK) return nb_error_set(err, NB_ERR_NOMEM, "xz decoder init failed (%d)", (int)rc);
        x->live = true;
        x->seen_stream = true;
        x->padding = 0;
        in += i;
        in_len -= i;
    }
    x->z.next_in = in;
    x->z.avail_in = in_len;
    x->z.next_out = out;
    x->z.avail_out = out_cap;
    lzma_ret rc = lzma_code(&x->z, LZMA_RUN);
    size_t used = in_len - x->z.avail_in;
    *in_used += used;
    *out_made = out_cap - x->z.avail_out;
    switch (rc) {
    case LZMA_STREAM_END:
        x->live = false;
        *boundary = true;
        return NB_OK;
    case LZMA_OK:
    case LZMA_BUF_ERROR:   /* no progress possible: more input needed */
        if (used > 0) *boundary = false;
        return NB_OK;
    case LZMA_MEM_ERROR: return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    case LZMA_MEMLIMIT_ERROR:
        return nb_error_set(err, NB_ERR_INVALID, "the stream needs more than %u MiB of memory to decode", XZ_MEMLIMIT >> 20);
    case LZMA_FORMAT_ERROR: return nb_error_set(err, NB_ERR_INVALID, "not an xz stream (bad magic)");
    case LZMA_OPTIONS_ERROR: return nb_error_set(err, NB_ERR_INVALID, "unsupported xz options");
    default: return nb_error_set(err, NB_ERR_INVALID, "compressed data is corrupt (%d)", (int)rc);
    }
}

static void xz_dec_destroy(struct nb_zdec *d)
{
    struct xz_dec *x = (struct xz_dec *)d;
    lzma_end(&x->z);
    free(x);
}

static const struct nb_zdec_ops xz_dec_ops = {.decode = xz_decode, .destroy = xz_dec_destroy};

nb_status nb_zdec_xz_create(struct nb_zdec **out, struct nb_error *err)
{
    struct xz_dec *x = calloc(1, sizeof *x);
    if (!x) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating an xz decoder");
    lzma_stream init = LZMA_STREAM_INIT;
    x->z = init;
    x->base.ops = &xz_dec_ops;
    *out = &x->base;
    return NB_OK;
}
