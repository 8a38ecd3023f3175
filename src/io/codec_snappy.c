/* Snappy framing format ("framing_format.txt" of the snappy project): a stream identifier chunk,
 * then compressed (0x00) or uncompressed (0x01) data chunks of at most 64 KiB of data, each with the
 * masked CRC-32C of its uncompressed bytes; 0x80-0xfe chunks are skipped, 0x02-0x7f are an error.
 * The chunk framing is ours; libsnappy compresses the chunk bodies. A checkpoint ends the current
 * chunk; the format has no frames to close, and a repeated stream identifier is allowed. */
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"
#include "io/snappy_lib.h"

#define SZ_BLOCK 65536u
#define SZ_IDENT_LEN 6
static const unsigned char sz_ident_chunk[4 + SZ_IDENT_LEN] = {0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'};

static uint32_t sz_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

static void put_le24(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    put_le24(p, v);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct snappy_enc {
    struct nb_zenc base;
    bool started;
    size_t in_len;
    size_t out_cap;
    unsigned char in[SZ_BLOCK];
    unsigned char *out;   /* chunk header (8 bytes) + compressed body */
};

static nb_status sz_chunk(struct snappy_enc *z, const unsigned char *p, size_t n, nb_zsink sink, void *ctx,
                          struct nb_error *err)
{
    uint32_t crc = sz_mask(nb_crc32c(0, p, n));
    size_t clen = z->out_cap - 8;
    if (snappy_compress((const char *)p, n, (char *)z->out + 8, &clen) != SNAPPY_OK)
        return nb_error_set(err, NB_ERR_INTERNAL, "snappy compressor failed");
    /* Incompressible data is stored as is (type 0x01), as the format suggests. */
    if (clen < n) {
        z->out[0] = 0x00;
        put_le24(z->out + 1, (uint32_t)(clen + 4));
        put_le32(z->out + 4, crc);
        return sink(ctx, z->out, clen + 8, err);
    }
    unsigned char hdr[8];
    hdr[0] = 0x01;
    put_le24(hdr + 1, (uint32_t)(n + 4));
    put_le32(hdr + 4, crc);
    nb_status st = sink(ctx, hdr, sizeof hdr, err);
    return st != NB_OK ? st : sink(ctx, p, n, err);
}

static nb_status sz_start(struct snappy_enc *z, nb_zsink sink, void *ctx, struct nb_error *err)
{
    if (z->started) return NB_OK;
    z->started = true;
    return sink(ctx, sz_ident_chunk, sizeof sz_ident_chunk, err);
}

static nb_status snappy_write(struct nb_zenc *e, const uint8_t *p, size_t n, nb_zsink sink, void *ctx, struct nb_error *err)
{
    struct snappy_enc *z = (struct snappy_enc *)e;
    nb_status st = sz_start(z, sink, ctx, err);
    while (st == NB_OK && n > 0) {
        if (z->in_len == 0 && n >= SZ_BLOCK) {   /* whole blocks straight from the caller */
            st = sz_chunk(z, p, SZ_BLOCK, sink, ctx, err);
            p += SZ_BLOCK;
            n -= SZ_BLOCK;
            continue;
        }
        size_t k = SZ_BLOCK - z->in_len < n ? SZ_BLOCK - z->in_len : n;
        memcpy(z->in + z->in_len, p, k);
        z->in_len += k;
        p += k;
        n -= k;
        if (z->in_len == SZ_BLOCK) {
            st = sz_chunk(z, z->in, z->in_len, sink, ctx, err);
            z->in_len = 0;
        }
    }
    return st;
}

static nb_status snappy_end(struct nb_zenc *e, nb_zsink sink, void *ctx, struct nb_error *err)
{
    struct snappy_enc *z = (struct snappy_enc *)e;
    nb_status st = sz_start(z, sink, ctx, err);
    if (st == NB_OK && z->in_len > 0) {
        st = sz_chunk(z, z->in, z->in_len, sink, ctx, err);
        z->in_len = 0;
    }
    return st;
}

static void snappy_enc_destroy(struct nb_zenc *e)
{
    struct snappy_enc *z = (struct snappy_enc *)e;
    free(z->out);
    free(z);
}

static const struct nb_zenc_ops snappy_enc_ops = {.write = snappy_write, .end = snappy_end, .destroy = snappy_enc_destroy};

nb_status nb_zenc_snappy_create(int level, struct nb_zenc **out, struct nb_error *err)
{
    if (level != 0)
        return nb_error_set(err, NB_ERR_CONFIG, "snappy has no compression levels: remove compression_level (got %d)", level);
    nb_status st = nb_snappy_require(err);
    if (st != NB_OK) return st;
    struct snappy_enc *z = calloc(1, sizeof *z);
    if (!z) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a snappy compressor");
    z->out_cap = 8 + snappy_max_compressed_length(SZ_BLOCK);
    if (!(z->out = malloc(z->out_cap))) {
        free(z);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a snappy compressor");
    }
    z->base.ops = &snappy_enc_ops;
    *out = &z->base;
    return NB_OK;
}

enum sz_state { SZ_HEADER, SZ_BODY, SZ_SKIP };

struct snappy_dec {
    struct nb_zdec base;
    enum sz_state state;
    bool seen_ident;
    unsigned char hdr[4];
    size_t hdr_len;
    unsigned type;
    size_t chunk_len, body_len;   /* expected / gathered so far */
    const unsigned char *pend;    /* decoded bytes not yet handed out */
    size_t pend_len;
    size_t max_body;
    unsigned char *body;
    unsigned char data[SZ_BLOCK];
};

/* A complete chunk body is in d->body: check it and make its data pending. */
static nb_status sz_process(struct snappy_dec *d, struct nb_error *err)
{
    if (d->type == 0xff) {
        if (memcmp(d->body, sz_ident_chunk + 4, SZ_IDENT_LEN) != 0)
            return nb_error_set(err, NB_ERR_INVALID, "bad stream identifier (expected sNaPpY)");
        d->seen_ident = true;
        return NB_OK;
    }
    uint32_t want = get_le32(d->body);
    const unsigned char *data;
    size_t len;
    if (d->type == 0x00) {
        const char *c = (const char *)d->body + 4;
        size_t clen = d->chunk_len - 4;
        if (snappy_uncompressed_length(c, clen, &len) != SNAPPY_OK || len > SZ_BLOCK)
            return nb_error_set(err, NB_ERR_INVALID, "compressed chunk has a bad length header");
        size_t got = SZ_BLOCK;
        if (snappy_uncompress(c, clen, (char *)d->data, &got) != SNAPPY_OK || got != len)
            return nb_error_set(err, NB_ERR_INVALID, "compressed chunk is corrupt");
        data = d->data;
    } else {
        data = d->body + 4;
        len = d->chunk_len - 4;
    }
    if (sz_mask(nb_crc32c(0, data, len)) != want)
        return nb_error_set(err, NB_ERR_INVALID, "chunk checksum mismatch (CRC-32C)");
    d->pend = data;
    d->pend_len = len;
    return NB_OK;
}

static nb_status sz_header(struct snappy_dec *d, struct nb_error *err)
{
    d->type = d->hdr[0];
    d->chunk_len = (size_t)d->hdr[1] | (size_t)d->hdr[2] << 8 | (size_t)d->hdr[3] << 16;
    d->body_len = 0;
    d->hdr_len = 0;
    if (!d->seen_ident && d->type != 0xff)
        return nb_error_set(err, NB_ERR_INVALID, "not a framed snappy stream (no sNaPpY stream identifier)");
    if (d->type == 0xff) {
        if (d->chunk_len != SZ_IDENT_LEN) return nb_error_set(err, NB_ERR_INVALID, "bad stream identifier length");
    } else if (d->type == 0x00 || d->type == 0x01) {
        size_t max = d->type == 0x00 ? d->max_body : 4 + SZ_BLOCK;
        if (d->chunk_len < 4 || d->chunk_len > max)
            return nb_error_set(err, NB_ERR_INVALID, "data chunk of %zu bytes is out of range", d->chunk_len);
    } else if (d->type < 0x80) {
        return nb_error_set(err, NB_ERR_INVALID, "reserved unskippable chunk type 0x%02x", d->type);
    } else {
        d->state = SZ_SKIP;
        return NB_OK;
    }
    d->state = SZ_BODY;
    return NB_OK;
}

static nb_status snappy_decode(struct nb_zdec *dd, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                               size_t out_cap, size_t *out_made, bool *boundary, struct nb_error *err)
{
    struct snappy_dec *d = (struct snappy_dec *)dd;
    size_t ip = 0, op = 0;
    nb_status st = NB_OK;
    for (;;) {
        if (d->pend_len > 0) {
            size_t k = d->pend_len < out_cap - op ? d->pend_len : out_cap - op;
            memcpy(out + op, d->pend, k);
            op += k;
            d->pend += k;
            d->pend_len -= k;
            if (d->pend_len > 0) break;   /* output full */
        }
        if (ip == in_len) break;
        size_t avail = in_len - ip;
        if (d->state == SZ_HEADER) {
            size_t k = 4 - d->hdr_len < avail ? 4 - d->hdr_len : avail;
            memcpy(d->hdr + d->hdr_len, in + ip, k);
            d->hdr_len += k;
            ip += k;
            *boundary = false;
            if (d->hdr_len == 4 && (st = sz_header(d, err)) != NB_OK) break;
            if (d->state == SZ_SKIP && d->chunk_len == 0) { d->state = SZ_HEADER; *boundary = true; }
        } else if (d->state == SZ_SKIP) {
            size_t k = d->chunk_len - d->body_len < avail ? d->chunk_len - d->body_len : avail;
            d->body_len += k;
            ip += k;
            if (d->body_len == d->chunk_len) { d->state = SZ_HEADER; *boundary = true; }
        } else {
            size_t k = d->chunk_len - d->body_len < avail ? d->chunk_len - d->body_len : avail;
            memcpy(d->body + d->body_len, in + ip, k);
            d->body_len += k;
            ip += k;
            if (d->body_len == d->chunk_len) {
                if ((st = sz_process(d, err)) != NB_OK) break;
                d->state = SZ_HEADER;
                *boundary = true;
            }
        }
    }
    *in_used = ip;
    *out_made = op;
    return st;
}

static void snappy_dec_destroy(struct nb_zdec *dd)
{
    struct snappy_dec *d = (struct snappy_dec *)dd;
    free(d->body);
    free(d);
}

static const struct nb_zdec_ops snappy_dec_ops = {.decode = snappy_decode, .destroy = snappy_dec_destroy};

nb_status nb_zdec_snappy_create(struct nb_zdec **out, struct nb_error *err)
{
    nb_status st = nb_snappy_require(err);
    if (st != NB_OK) return st;
    struct snappy_dec *d = calloc(1, sizeof *d);
    if (!d) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a snappy decoder");
    d->max_body = 4 + snappy_max_compressed_length(SZ_BLOCK);
    if (!(d->body = malloc(d->max_body))) {
        free(d);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a snappy decoder");
    }
    d->base.ops = &snappy_dec_ops;
    *out = &d->base;
    return NB_OK;
}
