/* A decompressing istream over another: compressed bytes are read from the inner stream into a
 * buffer and fed to a codec decoder (codec_*.c), frame after frame. The end of the input is only
 * a clean end when it falls between frames; anything else is a truncated stream (never a
 * silent EOF), reported with the compressed offset. */
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"
#include "io/stream.h"

#define IN_BUF_SIZE (256u * 1024u)

struct decompress_istream {
    struct nb_istream base;
    struct nb_istream *inner;
    struct nb_zdec *dec;
    enum nb_codec codec;
    char *name;
    unsigned char *in;
    size_t in_pos, in_len;
    uint64_t consumed;    /* compressed bytes given to the decoder */
    bool inner_eof, boundary, failed;
    struct nb_error failure;
};

static nb_status fail_sticky(struct decompress_istream *d, struct nb_error *err)
{
    d->failed = true;
    d->failure = *err;
    return d->failure.code;
}

static nb_status refill(struct decompress_istream *d, struct nb_error *err)
{
    if (d->in_pos > 0) {
        memmove(d->in, d->in + d->in_pos, d->in_len - d->in_pos);
        d->in_len -= d->in_pos;
        d->in_pos = 0;
    }
    size_t got = 0;
    nb_status st = nb_istream_read(d->inner, d->in + d->in_len, IN_BUF_SIZE - d->in_len, &got, err);
    d->base.raw_read = d->inner->raw_read;
    if (st == NB_DONE || (st == NB_OK && got == 0)) {
        d->inner_eof = true;
        return NB_OK;
    }
    if (st != NB_OK) return st;
    d->in_len += got;
    return NB_OK;
}

static nb_status decompress_read(struct nb_istream *s, void *buf, size_t cap, size_t *n, struct nb_error *err)
{
    struct decompress_istream *d = (struct decompress_istream *)s;
    struct nb_error local;
    if (!err) err = &local;   /* the sticky failure keeps the full message either way */
    *n = 0;
    if (d->failed) {
        *err = d->failure;
        return d->failure.code;
    }
    if (cap == 0) return NB_OK;
    for (;;) {
        size_t used = 0, made = 0;
        struct nb_error derr;
        nb_error_clear(&derr);
        nb_status st = d->dec->ops->decode(d->dec, d->in + d->in_pos, d->in_len - d->in_pos, &used, buf, cap, &made,
                                           &d->boundary, &derr);
        d->in_pos += used;
        d->consumed += used;
        if (st != NB_OK) {
            if (st == NB_ERR_NOMEM)
                nb_error_set(err, NB_ERR_NOMEM, "%s: out of memory decoding the %s stream at compressed byte %llu",
                             d->name, nb_codec_name(d->codec), (unsigned long long)d->consumed);
            else
                nb_error_set(err, NB_ERR_INVALID, "%s: corrupt %s stream at compressed byte %llu: %s", d->name,
                             nb_codec_name(d->codec), (unsigned long long)d->consumed, derr.message);
            return fail_sticky(d, err);
        }
        if (made > 0) {
            *n = made;
            return NB_OK;
        }
        if (used > 0) continue;   /* more input left, or output pending inside the decoder */
        /* No progress: the decoder needs more input. */
        if (d->inner_eof) {
            if (d->in_pos < d->in_len) {
                nb_error_set(err, NB_ERR_INVALID, "%s: corrupt %s stream at compressed byte %llu: decoder stalled",
                             d->name, nb_codec_name(d->codec), (unsigned long long)d->consumed);
                return fail_sticky(d, err);
            }
            if (d->boundary && d->consumed > 0) return NB_DONE;
            nb_error_set(err, NB_ERR_INVALID, "%s: truncated %s stream at compressed byte %llu%s", d->name,
                         nb_codec_name(d->codec), (unsigned long long)d->consumed,
                         d->consumed == 0 ? " (the file is empty)" : "");
            return fail_sticky(d, err);
        }
        if (d->in_len - d->in_pos == IN_BUF_SIZE) {
            nb_error_set(err, NB_ERR_INVALID, "%s: corrupt %s stream at compressed byte %llu: decoder stalled",
                         d->name, nb_codec_name(d->codec), (unsigned long long)d->consumed);
            return fail_sticky(d, err);
        }
        if ((st = refill(d, err)) != NB_OK) return st;   /* the file stream's error names the file */
    }
}

static void decompress_destroy(struct nb_istream *s)
{
    struct decompress_istream *d = (struct decompress_istream *)s;
    d->dec->ops->destroy(d->dec);
    nb_istream_destroy(d->inner);
    free(d->in);
    free(d->name);
    free(d);
}

static const struct nb_istream_ops decompress_istream_ops = {.read = decompress_read, .destroy = decompress_destroy};

nb_status nb_decompress_istream_create(enum nb_codec codec, struct nb_istream *inner, const char *name,
                                       struct nb_istream **out, struct nb_error *err)
{
    *out = NULL;
    struct nb_zdec *dec = NULL;
    nb_status st;
    switch (codec) {
    case NB_CODEC_NONE: *out = inner; return NB_OK;
    case NB_CODEC_GZIP: st = nb_zdec_gzip_create(&dec, err); break;
    case NB_CODEC_ZSTD: st = nb_zdec_zstd_create(&dec, err); break;
    case NB_CODEC_LZ4: st = nb_zdec_lz4_create(&dec, err); break;
    case NB_CODEC_BZIP2: st = nb_zdec_bzip2_create(&dec, err); break;
    case NB_CODEC_XZ: st = nb_zdec_xz_create(&dec, err); break;
    case NB_CODEC_SNAPPY: st = nb_zdec_snappy_create(&dec, err); break;
    default: return nb_error_set(err, NB_ERR_CONFIG, "unknown compression codec %d", (int)codec);
    }
    if (st != NB_OK) return st;
    struct decompress_istream *d = calloc(1, sizeof *d);
    if (d) {
        d->in = malloc(IN_BUF_SIZE);
        d->name = strdup(name ? name : "(stream)");
    }
    if (!d || !d->in || !d->name) {
        if (d) { free(d->in); free(d->name); free(d); }
        dec->ops->destroy(dec);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a %s decoder", nb_codec_name(codec));
    }
    d->base.ops = &decompress_istream_ops;
    d->base.raw_size = inner->raw_size;
    d->inner = inner;
    d->dec = dec;
    d->codec = codec;
    d->boundary = true;
    *out = &d->base;
    return NB_OK;
}
