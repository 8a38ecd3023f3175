/* gzip (RFC 1952) through zlib: one member per frame; a checkpoint ends the member and the next
 * write starts a new one (gzip readers decompress concatenated members as one stream). */
#include <limits.h>
#include <stdlib.h>
#include <zlib.h>

#include "io/io_internal.h"

#define GZIP_WINDOW (15 + 16)   /* 32 KiB window, gzip wrapper (not zlib, not raw) */

struct gzip_enc {
    struct nb_zenc base;
    z_stream z;
    unsigned char out[NB_ZCHUNK];
};

/* Run deflate over the input already set in z, emitting full output chunks. */
static nb_status gzip_run(struct gzip_enc *g, int flush, nb_zsink sink, void *ctx, struct nb_error *err)
{
    for (;;) {
        g->z.next_out = g->out;
        g->z.avail_out = NB_ZCHUNK;
        int rc = deflate(&g->z, flush);
        if (rc == Z_STREAM_ERROR) return nb_error_set(err, NB_ERR_INTERNAL, "gzip compressor failed (stream error)");
        size_t made = NB_ZCHUNK - g->z.avail_out;
        if (made) {
            nb_status st = sink(ctx, g->out, made, err);
            if (st != NB_OK) return st;
        }
        if (flush == Z_FINISH) {
            if (rc == Z_STREAM_END) return NB_OK;
        } else if (g->z.avail_in == 0 && g->z.avail_out != 0) {
            return NB_OK;
        }
    }
}

static nb_status gzip_write(struct nb_zenc *e, const uint8_t *p, size_t n, nb_zsink sink, void *ctx, struct nb_error *err)
{
    struct gzip_enc *g = (struct gzip_enc *)e;
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        g->z.next_in = (Bytef *)p;
        g->z.avail_in = k;
        nb_status st = gzip_run(g, Z_NO_FLUSH, sink, ctx, err);
        if (st != NB_OK) return st;
        p += k;
        n -= k;
    }
    return NB_OK;
}

static nb_status gzip_end(struct nb_zenc *e, nb_zsink sink, void *ctx, struct nb_error *err)
{
    struct gzip_enc *g = (struct gzip_enc *)e;
    g->z.next_in = NULL;
    g->z.avail_in = 0;
    nb_status st = gzip_run(g, Z_FINISH, sink, ctx, err);
    if (st != NB_OK) return st;
    if (deflateReset(&g->z) != Z_OK) return nb_error_set(err, NB_ERR_INTERNAL, "gzip compressor reset failed");
    return NB_OK;
}

static void gzip_enc_destroy(struct nb_zenc *e)
{
    struct gzip_enc *g = (struct gzip_enc *)e;
    deflateEnd(&g->z);
    free(g);
}

static const struct nb_zenc_ops gzip_enc_ops = {.write = gzip_write, .end = gzip_end, .destroy = gzip_enc_destroy};

nb_status nb_zenc_gzip_create(int level, struct nb_zenc **out, struct nb_error *err)
{
    if (level < 0 || level > 9)
        return nb_error_set(err, NB_ERR_CONFIG, "gzip compression_level %d is out of range (1..9)", level);
    struct gzip_enc *g = calloc(1, sizeof *g);
    if (!g) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a gzip compressor");
    int rc = deflateInit2(&g->z, level == 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, GZIP_WINDOW, 8,
                          Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        free(g);
        return nb_error_set(err, rc == Z_MEM_ERROR ? NB_ERR_NOMEM : NB_ERR_INTERNAL, "gzip compressor init failed (%d)", rc);
    }
    g->base.ops = &gzip_enc_ops;
    *out = &g->base;
    return NB_OK;
}

struct gzip_dec {
    struct nb_zdec base;
    z_stream z;
};

static nb_status gzip_decode(struct nb_zdec *d, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                             size_t out_cap, size_t *out_made, bool *boundary, struct nb_error *err)
{
    struct gzip_dec *g = (struct gzip_dec *)d;
    uInt ilen = in_len > UINT_MAX ? UINT_MAX : (uInt)in_len, olen = out_cap > UINT_MAX ? UINT_MAX : (uInt)out_cap;
    g->z.next_in = (Bytef *)in;
    g->z.avail_in = ilen;
    g->z.next_out = out;
    g->z.avail_out = olen;
    int rc = inflate(&g->z, Z_NO_FLUSH);
    *in_used = ilen - g->z.avail_in;
    *out_made = olen - g->z.avail_out;
    switch (rc) {
    case Z_STREAM_END:
        *boundary = true;
        if (inflateReset(&g->z) != Z_OK) return nb_error_set(err, NB_ERR_INTERNAL, "gzip decoder reset failed");
        return NB_OK;
    case Z_OK:
    case Z_BUF_ERROR:   /* no progress possible: more input needed */
        if (*in_used > 0) *boundary = false;
        return NB_OK;
    case Z_NEED_DICT: return nb_error_set(err, NB_ERR_INVALID, "member needs a preset dictionary");
    case Z_MEM_ERROR: return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    default: return nb_error_set(err, NB_ERR_INVALID, "%s", g->z.msg ? g->z.msg : "invalid deflate data");
    }
}

static void gzip_dec_destroy(struct nb_zdec *d)
{
    struct gzip_dec *g = (struct gzip_dec *)d;
    inflateEnd(&g->z);
    free(g);
}

static const struct nb_zdec_ops gzip_dec_ops = {.decode = gzip_decode, .destroy = gzip_dec_destroy};

nb_status nb_zdec_gzip_create(struct nb_zdec **out, struct nb_error *err)
{
    struct gzip_dec *g = calloc(1, sizeof *g);
    if (!g) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a gzip decoder");
    int rc = inflateInit2(&g->z, GZIP_WINDOW);
    if (rc != Z_OK) {
        free(g);
        return nb_error_set(err, rc == Z_MEM_ERROR ? NB_ERR_NOMEM : NB_ERR_INTERNAL, "gzip decoder init failed (%d)", rc);
    }
    g->base.ops = &gzip_dec_ops;
    *out = &g->base;
    return NB_OK;
}
