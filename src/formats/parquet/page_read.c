/* Page-level decoding for the Parquet reader (Parquet format spec, "Encodings"): page headers, the
 * RLE/bit-packed hybrid, DELTA_BINARY_PACKED, and page decompression. The codecs are Parquet's raw
 * blocks (raw snappy, raw LZ4, a zstd frame, a gzip member), not the framed stream formats of
 * src/io, so they call the libraries directly, as the writer's pool.c does for compression. */
#include <lz4.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "formats/parquet/read_internal.h"
#include "io/snappy_lib.h"

/* ---- page header ------------------------------------------------------------------------- */
static nb_status data_v1_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct pq_page_header *h = ctx;
    switch (id) {
    case 1: return pq_tread_i32(t, ty, &h->num_values, err);
    case 2: return pq_tread_i32(t, ty, &h->encoding, err);
    case 3: return pq_tread_i32(t, ty, &h->def_encoding, err);
    default: return pq_tread_skip(t, ty, err);
    }
}

static nb_status dict_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct pq_page_header *h = ctx;
    switch (id) {
    case 1: return pq_tread_i32(t, ty, &h->num_values, err);
    case 2: return pq_tread_i32(t, ty, &h->encoding, err);
    default: return pq_tread_skip(t, ty, err);
    }
}

static nb_status data_v2_field(struct pq_tread *t, void *ctx, int16_t id, uint8_t ty, struct nb_error *err)
{
    struct pq_page_header *h = ctx;
    switch (id) {
    case 1: return pq_tread_i32(t, ty, &h->num_values, err);
    case 2: return pq_tread_i32(t, ty, &h->num_nulls, err);
    case 3: return pq_tread_i32(t, ty, &h->num_rows, err);
    case 4: return pq_tread_i32(t, ty, &h->encoding, err);
    case 5: return pq_tread_i32(t, ty, &h->def_len, err);
    case 6: return pq_tread_i32(t, ty, &h->rep_len, err);
    case 7: return pq_tread_bool(t, ty, &h->is_compressed, err);
    default: return pq_tread_skip(t, ty, err);
    }
}


nb_status pq_page_header_decode(struct pq_page_header *h, const uint8_t *p, size_t n, uint64_t base,
                                const char *name, struct nb_error *err)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->uncompressed_size = h->compressed_size = -1;
    h->num_values = -1;
    h->is_compressed = true;
    struct pq_tread t;
    pq_tread_init(&t, p, n, base, name);
    nb_status rc = pq_tread_struct_begin(&t, err);
    if (rc != NB_OK) return rc;
    bool sub = false;
    for (;;) {
        int16_t id;
        uint8_t ty;
        rc = pq_tread_field(&t, &id, &ty, err);
        if (rc == NB_DONE) break;
        if (rc != NB_OK) return rc;
        switch (id) {
        case 1: rc = pq_tread_i32(&t, ty, &h->type, err); break;
        case 2: rc = pq_tread_i32(&t, ty, &h->uncompressed_size, err); break;
        case 3: rc = pq_tread_i32(&t, ty, &h->compressed_size, err); break;
        case 5:
        case 7:
        case 8:
            if (ty != PQ_T_STRUCT) {
                rc = pq_tread_skip(&t, ty, err);
                break;
            }
            sub = true;
            rc = pq_tread_struct(&t, id == 5 ? data_v1_field : id == 7 ? dict_field : data_v2_field, h, err);
            break;
        default: rc = pq_tread_skip(&t, ty, err); break;
        }
        if (rc != NB_OK) return rc;
    }
    h->header_len = (size_t)(t.p - t.start);
    if (h->type < 0 || h->uncompressed_size < 0 || h->compressed_size < 0)
        return nb_error_set(err, NB_ERR_INVALID, "%s: page header lacks its type or sizes at offset %llu", name,
                            (unsigned long long)base);
    if ((h->type == PQR_DATA_PAGE || h->type == PQR_DICTIONARY_PAGE || h->type == PQR_DATA_PAGE_V2) &&
        (!sub || h->num_values < 0))
        return nb_error_set(err, NB_ERR_INVALID, "%s: page header lacks its value count at offset %llu", name,
                            (unsigned long long)base);
    if (h->type == PQR_DATA_PAGE_V2 &&
        (h->def_len < 0 || h->rep_len < 0 || (int64_t)h->def_len + h->rep_len > h->compressed_size ||
         (int64_t)h->def_len + h->rep_len > h->uncompressed_size))
        return nb_error_set(err, NB_ERR_INVALID, "%s: page header's level lengths exceed the page at offset %llu", name,
                            (unsigned long long)base);
    return NB_OK;
}

/* ---- RLE / bit-packed hybrid -------------------------------------------------------------- */
static nb_status uvarint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v, struct nb_error *err)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= n) return nb_error_set(err, NB_ERR_INVALID, "encoded values end inside a varint");
        uint8_t b = p[(*pos)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return NB_OK;
        }
    }
    return nb_error_set(err, NB_ERR_INVALID, "varint longer than 64 bits in encoded values");
}

/* 8 values of w bits (w <= 64) from a group of w bytes, LSB first. */
static void unpack8(const uint8_t *src, int w, uint64_t *out)
{
    uint8_t buf[72];
    memcpy(buf, src, (size_t)w);
    memset(buf + w, 0, 8);
    uint64_t mask = w == 64 ? ~(uint64_t)0 : (((uint64_t)1 << w) - 1);
    for (int i = 0; i < 8; i++) {
        size_t bit = (size_t)i * (size_t)w;
        uint64_t lo;
        memcpy(&lo, buf + bit / 8, 8);
        unsigned sh = bit % 8;
        uint64_t v = lo >> sh;
        if (sh && w + (int)sh > 64) v |= (uint64_t)buf[bit / 8 + 8] << (64 - sh);
        out[i] = v & mask;
    }
}

nb_status pq_rle_decode(const uint8_t *p, size_t n, int bit_width, uint32_t *out, size_t count, size_t *used,
                        struct nb_error *err)
{
    if (bit_width < 0 || bit_width > 32)
        return nb_error_set(err, NB_ERR_INVALID, "RLE bit width %d is out of range", bit_width);
    size_t pos = 0, k = 0;
    size_t vbytes = ((size_t)bit_width + 7) / 8;
    while (k < count) {
        uint64_t hdr;
        nb_status rc = uvarint(p, n, &pos, &hdr, err);
        if (rc != NB_OK) return rc;
        if (hdr & 1) {
            uint64_t groups = hdr >> 1;
            if (groups == 0) return nb_error_set(err, NB_ERR_INVALID, "empty bit-packed run");
            if (groups > (n - pos) / (bit_width ? (size_t)bit_width : 1) + 1 && bit_width)
                return nb_error_set(err, NB_ERR_INVALID, "bit-packed run longer than its data");
            for (uint64_t g = 0; g < groups && k < count; g++) {
                uint64_t v[8];
                if (bit_width == 0) {
                    memset(v, 0, sizeof v);
                } else {
                    if (n - pos < (size_t)bit_width) {
                        /* The last group may be cut short when it holds only padding past count. */
                        uint8_t tmp[32] = {0};
                        memcpy(tmp, p + pos, n - pos);
                        size_t need = (count - k) * (size_t)bit_width;
                        if ((n - pos) * 8 < (need < (size_t)8 * bit_width ? need : (size_t)8 * bit_width))
                            return nb_error_set(err, NB_ERR_INVALID, "bit-packed run longer than its data");
                        unpack8(tmp, bit_width, v);
                        pos = n;
                    } else {
                        unpack8(p + pos, bit_width, v);
                        pos += (size_t)bit_width;
                    }
                }
                for (int i = 0; i < 8 && k < count; i++) out[k++] = (uint32_t)v[i];
            }
        } else {
            uint64_t run = hdr >> 1;
            if (n - pos < vbytes) return nb_error_set(err, NB_ERR_INVALID, "RLE run value beyond its data");
            uint32_t v = 0;
            for (size_t i = 0; i < vbytes; i++) v |= (uint32_t)p[pos + i] << (8 * i);
            pos += vbytes;
            if (run == 0) return nb_error_set(err, NB_ERR_INVALID, "empty RLE run");
            if (bit_width < 32 && (v >> bit_width)) return nb_error_set(err, NB_ERR_INVALID, "RLE run value wider than its bit width");
            size_t take = run < count - k ? (size_t)run : count - k;
            for (size_t i = 0; i < take; i++) out[k + i] = v;
            k += take;
        }
    }
    *used = pos;
    return NB_OK;
}

/* ---- DELTA_BINARY_PACKED ----------------------------------------------------------------- */
struct delta_hdr {
    uint64_t block, mini, total;
    int64_t first;
};

static nb_status delta_header(const uint8_t *p, size_t n, size_t *pos, struct delta_hdr *h, struct nb_error *err)
{
    uint64_t z;
    nb_status rc;
    if ((rc = uvarint(p, n, pos, &h->block, err)) != NB_OK || (rc = uvarint(p, n, pos, &h->mini, err)) != NB_OK ||
        (rc = uvarint(p, n, pos, &h->total, err)) != NB_OK || (rc = uvarint(p, n, pos, &z, err)) != NB_OK)
        return rc;
    h->first = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    if (h->block == 0 || h->block % 128 || h->mini == 0 || h->block % h->mini || (h->block / h->mini) % 32 ||
        h->block > (1u << 20))
        return nb_error_set(err, NB_ERR_INVALID, "DELTA_BINARY_PACKED block of %llu values in %llu miniblocks is invalid",
                            (unsigned long long)h->block, (unsigned long long)h->mini);
    return NB_OK;
}

nb_status pq_delta_count(const uint8_t *p, size_t n, uint64_t *count, struct nb_error *err)
{
    size_t pos = 0;
    struct delta_hdr h;
    nb_status rc = delta_header(p, n, &pos, &h, err);
    if (rc != NB_OK) return rc;
    *count = h.total;
    return NB_OK;
}

nb_status pq_delta_decode(const uint8_t *p, size_t n, int64_t *out, size_t count, bool is32, size_t *used,
                          struct nb_error *err)
{
    size_t pos = 0;
    struct delta_hdr h;
    nb_status rc = delta_header(p, n, &pos, &h, err);
    if (rc != NB_OK) return rc;
    if (h.total < count)
        return nb_error_set(err, NB_ERR_INVALID, "DELTA_BINARY_PACKED holds %llu values where %zu are needed",
                            (unsigned long long)h.total, count);
    size_t per_mini = (size_t)(h.block / h.mini);
    uint64_t cur = (uint64_t)h.first;
    size_t k = 0;
    uint64_t total = h.total;
    if (total > 0 && count > 0) out[k++] = is32 ? (int64_t)(int32_t)(uint32_t)cur : (int64_t)cur;
    uint64_t left = total ? total - 1 : 0;   /* values still encoded after the first */
    while (left > 0) {
        uint64_t zmin;
        if ((rc = uvarint(p, n, &pos, &zmin, err)) != NB_OK) return rc;
        uint64_t min_delta = (uint64_t)((int64_t)(zmin >> 1) ^ -(int64_t)(zmin & 1));
        if (n - pos < h.mini) return nb_error_set(err, NB_ERR_INVALID, "DELTA_BINARY_PACKED bit widths beyond the data");
        const uint8_t *widths = p + pos;
        pos += (size_t)h.mini;
        for (uint64_t m = 0; m < h.mini && left > 0; m++) {
            int w = widths[m];
            if (w > 64) return nb_error_set(err, NB_ERR_INVALID, "DELTA_BINARY_PACKED bit width %d is over 64", w);
            size_t bytes = per_mini / 8 * (size_t)w;
            if (n - pos < bytes) return nb_error_set(err, NB_ERR_INVALID, "DELTA_BINARY_PACKED miniblock beyond the data");
            for (size_t g = 0; g < per_mini / 8 && left > 0; g++) {
                uint64_t v[8];
                if (w) unpack8(p + pos + g * (size_t)w, w, v);
                else memset(v, 0, sizeof v);
                for (int i = 0; i < 8 && left > 0; i++, left--) {
                    cur += min_delta + v[i];
                    if (k < count) out[k++] = is32 ? (int64_t)(int32_t)(uint32_t)cur : (int64_t)cur;
                }
            }
            pos += bytes;
        }
    }
    *used = pos;
    return NB_OK;
}

/* ---- decompression ----------------------------------------------------------------------- */
struct pq_dctx {
    ZSTD_DCtx *zstd;
    z_stream z;
    bool z_ready;
};

struct pq_dctx *pq_dctx_create(void) { return calloc(1, sizeof(struct pq_dctx)); }

void pq_dctx_destroy(struct pq_dctx *d)
{
    if (!d) return;
    if (d->zstd) ZSTD_freeDCtx(d->zstd);
    if (d->z_ready) inflateEnd(&d->z);
    free(d);
}

nb_status pq_decompress_check(int32_t codec, const uint8_t *in, size_t in_len, size_t out_len, struct nb_error *err)
{
    /* What each codec can expand to at most (or says it will), so a header cannot make us allocate
     * far more than its compressed bytes could ever fill. */
    uint64_t most;
    switch (codec) {
    case NB_PQ_UNCOMPRESSED: most = in_len; break;
    case NB_PQ_SNAPPY: {
        if (nb_snappy_require(err) != NB_OK) return NB_ERR_UNSUPPORTED;
        size_t len = 0;
        if (snappy_uncompressed_length((const char *)in, in_len, &len) != SNAPPY_OK)
            return nb_error_set(err, NB_ERR_INVALID, "snappy page is corrupt (no length)");
        most = len;
        break;
    }
    case NB_PQ_GZIP: most = (uint64_t)in_len * 1032 + 64; break;   /* deflate's limit */
    case NB_PQ_LZ4_RAW: most = (uint64_t)in_len * 255 + 16; break; /* LZ4 block's limit */
    case NB_PQ_ZSTD: {
        unsigned long long n = ZSTD_getFrameContentSize(in, in_len);
        if (n == ZSTD_CONTENTSIZE_ERROR) return nb_error_set(err, NB_ERR_INVALID, "zstd page is corrupt (bad frame header)");
        most = n == ZSTD_CONTENTSIZE_UNKNOWN ? (uint64_t)in_len * 32768 + 65536 : n;   /* 32768: 4-byte RLE block -> 128 KiB */
        break;
    }
    default: return NB_OK;   /* pq_decompress names the codec */
    }
    if (out_len > most)
        return nb_error_set(err, NB_ERR_INVALID, "page claims %zu bytes uncompressed, more than its %zu compressed bytes can hold",
                            out_len, in_len);
    return NB_OK;
}

nb_status pq_decompress(struct pq_dctx *d, int32_t codec, const uint8_t *in, size_t in_len, uint8_t *out,
                        size_t out_len, struct nb_error *err)
{
    switch (codec) {
    case NB_PQ_UNCOMPRESSED:
        if (in_len != out_len) return nb_error_set(err, NB_ERR_INVALID, "uncompressed page sizes disagree");
        if (in_len) memcpy(out, in, in_len);
        return NB_OK;
    case NB_PQ_SNAPPY: {
        if (nb_snappy_require(err) != NB_OK) return NB_ERR_UNSUPPORTED;
        size_t len = 0;
        if (snappy_uncompressed_length((const char *)in, in_len, &len) != SNAPPY_OK || len != out_len)
            return nb_error_set(err, NB_ERR_INVALID, "snappy page is corrupt (its length does not match the header)");
        len = out_len;
        if (snappy_uncompress((const char *)in, in_len, (char *)out, &len) != SNAPPY_OK || len != out_len)
            return nb_error_set(err, NB_ERR_INVALID, "snappy page is corrupt");
        return NB_OK;
    }
    case NB_PQ_GZIP: {
        if (!d->z_ready) {
            memset(&d->z, 0, sizeof d->z);
            /* 15 + 32: a gzip or zlib header, auto-detected (old writers used either). */
            if (inflateInit2(&d->z, 15 + 32) != Z_OK) return nb_error_set(err, NB_ERR_NOMEM, "cannot start gzip");
            d->z_ready = true;
        } else if (inflateReset(&d->z) != Z_OK) {
            return nb_error_set(err, NB_ERR_INTERNAL, "gzip reset failed");
        }
        if (in_len > UINT32_MAX || out_len > UINT32_MAX) return nb_error_set(err, NB_ERR_INVALID, "gzip page too large");
        d->z.next_in = (Bytef *)(uintptr_t)in;
        d->z.avail_in = (uInt)in_len;
        d->z.next_out = out;
        d->z.avail_out = (uInt)out_len;
        int r = inflate(&d->z, Z_FINISH);
        if (r != Z_STREAM_END || d->z.avail_out != 0)
            return nb_error_set(err, NB_ERR_INVALID, "gzip page is corrupt or has another size than its header says");
        return NB_OK;
    }
    case NB_PQ_ZSTD: {
        if (!d->zstd && !(d->zstd = ZSTD_createDCtx())) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        size_t r = ZSTD_decompressDCtx(d->zstd, out, out_len, in, in_len);
        if (ZSTD_isError(r) || r != out_len)
            return nb_error_set(err, NB_ERR_INVALID, "zstd page is corrupt or has another size than its header says%s%s",
                                ZSTD_isError(r) ? ": " : "", ZSTD_isError(r) ? ZSTD_getErrorName(r) : "");
        return NB_OK;
    }
    case NB_PQ_LZ4_RAW: {
        if (in_len > (size_t)INT32_MAX || out_len > (size_t)INT32_MAX)
            return nb_error_set(err, NB_ERR_INVALID, "lz4 page too large");
        int r = LZ4_decompress_safe((const char *)in, (char *)out, (int)in_len, (int)out_len);
        if (r < 0 || (size_t)r != out_len)
            return nb_error_set(err, NB_ERR_INVALID, "lz4_raw page is corrupt or has another size than its header says");
        return NB_OK;
    }
    default:
        return nb_error_set(err, NB_ERR_UNSUPPORTED,
                            "compression codec %d is not supported (none, snappy, gzip, zstd and lz4_raw are)", (int)codec);
    }
}
