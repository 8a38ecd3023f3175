/* A compressing ostream stacked on another: bytes go through a codec encoder (codec_*.c) into the
 * inner stream. checkpoint ends the current frame/member so the output so far is a complete
 * compressed file, then checkpoints the inner stream; the next write starts a new frame. */
#include <stdlib.h>

#include "io/io_internal.h"
#include "io/stream.h"

struct compress_ostream {
    struct nb_ostream base;
    struct nb_ostream *inner;
    struct nb_zenc *enc;
    enum nb_codec codec;
    bool frame_open;    /* bytes were written since the last frame end */
    bool any_frame;     /* at least one frame was ended (the output is non-empty) */
    bool done;          /* finished or aborted */
};

static nb_status to_inner(void *ctx, const void *p, size_t n, struct nb_error *err)
{
    struct compress_ostream *c = ctx;
    return nb_ostream_write(c->inner, p, n, err);
}

static void sync_counts(struct compress_ostream *c) { c->base.bytes_out = c->inner->bytes_out; }

static nb_status compress_write(struct nb_ostream *s, const void *p, size_t n, struct nb_error *err)
{
    struct compress_ostream *c = (struct compress_ostream *)s;
    if (c->done) return nb_error_set(err, NB_ERR_INTERNAL, "write to a finished %s stream", nb_codec_name(c->codec));
    if (n == 0) return NB_OK;
    nb_status st = c->enc->ops->write(c->enc, p, n, to_inner, c, err);
    if (st != NB_OK) return st;
    c->frame_open = true;
    s->bytes_in += n;
    sync_counts(c);
    return NB_OK;
}

static nb_status end_frame(struct compress_ostream *c, struct nb_error *err)
{
    nb_status st = c->enc->ops->end(c->enc, to_inner, c, err);
    if (st != NB_OK) return st;
    c->frame_open = false;
    c->any_frame = true;
    sync_counts(c);
    return NB_OK;
}

static nb_status compress_checkpoint(struct nb_ostream *s, uint64_t *durable_len, struct nb_error *err)
{
    struct compress_ostream *c = (struct compress_ostream *)s;
    if (c->done)
        return nb_error_set(err, NB_ERR_INTERNAL, "checkpoint of a finished %s stream", nb_codec_name(c->codec));
    nb_status st = NB_OK;
    /* Nothing new since the last frame: no empty frame, the durable prefix is unchanged. */
    if (c->frame_open && (st = end_frame(c, err)) != NB_OK) return st;
    st = c->inner->ops->checkpoint(c->inner, durable_len, err);
    sync_counts(c);
    return st;
}

static nb_status compress_finish(struct nb_ostream *s, struct nb_error *err)
{
    struct compress_ostream *c = (struct compress_ostream *)s;
    if (c->done) return nb_error_set(err, NB_ERR_INTERNAL, "finish of a finished %s stream", nb_codec_name(c->codec));
    nb_status st = NB_OK;
    /* An empty output still gets one (empty) frame: a zero-byte .gz is not a valid gzip file. */
    if ((c->frame_open || !c->any_frame) && (st = end_frame(c, err)) != NB_OK) return st;
    st = c->inner->ops->finish(c->inner, err);
    sync_counts(c);
    if (st == NB_OK) c->done = true;
    return st;
}

static void compress_abort(struct nb_ostream *s, bool keep_partial)
{
    struct compress_ostream *c = (struct compress_ostream *)s;
    c->done = true;
    c->inner->ops->abort(c->inner, keep_partial);
}

static void compress_destroy(struct nb_ostream *s)
{
    struct compress_ostream *c = (struct compress_ostream *)s;
    c->enc->ops->destroy(c->enc);
    nb_ostream_destroy(c->inner);   /* aborts it (not keeping) if neither finish nor abort ran */
    free(c);
}

static const struct nb_ostream_ops compress_ostream_ops = {
    .write = compress_write, .checkpoint = compress_checkpoint, .finish = compress_finish,
    .abort = compress_abort, .destroy = compress_destroy,
};

nb_status nb_compress_ostream_prepare(enum nb_codec codec, int level, struct nb_ostream **out, struct nb_error *err)
{
    *out = NULL;
    struct nb_zenc *enc = NULL;
    nb_status st;
    switch (codec) {
    case NB_CODEC_GZIP: st = nb_zenc_gzip_create(level, &enc, err); break;
    case NB_CODEC_ZSTD: st = nb_zenc_zstd_create(level, &enc, err); break;
    case NB_CODEC_LZ4: st = nb_zenc_lz4_create(level, &enc, err); break;
    case NB_CODEC_BZIP2: st = nb_zenc_bzip2_create(level, &enc, err); break;
    case NB_CODEC_XZ: st = nb_zenc_xz_create(level, &enc, err); break;
    case NB_CODEC_SNAPPY: st = nb_zenc_snappy_create(level, &enc, err); break;
    default: return nb_error_set(err, NB_ERR_CONFIG, "unknown compression codec %d", (int)codec);
    }
    if (st != NB_OK) return st;
    struct compress_ostream *c = calloc(1, sizeof *c);
    if (!c) {
        enc->ops->destroy(enc);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a %s stream", nb_codec_name(codec));
    }
    c->base.ops = &compress_ostream_ops;
    c->enc = enc;
    c->codec = codec;
    *out = &c->base;
    return NB_OK;
}

void nb_compress_ostream_attach(struct nb_ostream *s, struct nb_ostream *inner)
{
    ((struct compress_ostream *)s)->inner = inner;
}

nb_status nb_compress_ostream_create(enum nb_codec codec, int level, struct nb_ostream *inner,
                                     struct nb_ostream **out, struct nb_error *err)
{
    if (codec == NB_CODEC_NONE) {
        *out = inner;
        return NB_OK;
    }
    nb_status st = nb_compress_ostream_prepare(codec, level, out, err);
    if (st == NB_OK) nb_compress_ostream_attach(*out, inner);
    return st;
}
