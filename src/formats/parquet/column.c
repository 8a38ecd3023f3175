/* Column chunks of the Parquet writer: values from batch columns (TEXT parsed by batch/value.h, or
 * NATIVE) to physical values, dictionary or PLAIN encoding with fallback, data page v1 assembly
 * (definition levels as the RLE hybrid with a 4-byte length), compression and statistics. */
#include <lz4.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "batch/value.h"
#include "core/str.h"
#include "formats/parquet/column.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet writer assumes a little-endian host (PLAIN values are copied as they are)"
#endif

/* ---- compression ------------------------------------------------------------------------------ */
void pq_ctx_init(struct pq_ctx *x, const struct nb_parquet_options *opt)
{
    memset(x, 0, sizeof *x);
    x->opt = opt;
    nb_buf_init(&x->body);
    nb_buf_init(&x->comp);
    nb_buf_init(&x->hdr);
}

void pq_ctx_cleanup(struct pq_ctx *x)
{
    nb_buf_cleanup(&x->body);
    nb_buf_cleanup(&x->comp);
    nb_buf_cleanup(&x->hdr);
    if (x->zstd) ZSTD_freeCCtx(x->zstd);
    if (x->z_ready) deflateEnd(&x->z);
    x->zstd = NULL;
    x->z_ready = false;
}

nb_status pq_compress(struct pq_ctx *x, const char *src, size_t n, const char **out, size_t *out_len,
                      struct nb_error *err)
{
    struct nb_buf *d = &x->comp;
    nb_buf_reset(d);
    switch (x->opt->codec) {
    case NB_PQ_UNCOMPRESSED:
        *out = src;
        *out_len = n;
        return NB_OK;
    case NB_PQ_SNAPPY: {
        size_t cap = snappy_max_compressed_length(n);
        if (!nb_buf_reserve(d, cap)) break;
        size_t len = cap;
        if (snappy_compress(src, n, d->data, &len) != SNAPPY_OK)
            return nb_error_set(err, NB_ERR_INTERNAL, "parquet: snappy compression of a %zu-byte page failed", n);
        d->len = len;
        goto done;
    }
    case NB_PQ_GZIP: {
        if (!x->z_ready) {
            memset(&x->z, 0, sizeof x->z);
            int level = x->opt->level ? x->opt->level : Z_DEFAULT_COMPRESSION;
            /* windowBits 15 + 16: a gzip member, which is what Parquet's GZIP codec means. */
            if (deflateInit2(&x->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return nb_error_set(err, NB_ERR_NOMEM, "parquet: cannot start a gzip compressor");
            x->z_ready = true;
        } else if (deflateReset(&x->z) != Z_OK) {
            return nb_error_set(err, NB_ERR_INTERNAL, "parquet: gzip compressor reset failed");
        }
        size_t cap = deflateBound(&x->z, (uLong)n) + 32;
        if (!nb_buf_reserve(d, cap)) break;
        x->z.next_in = (Bytef *)(uintptr_t)src;
        x->z.avail_in = (uInt)n;
        x->z.next_out = (Bytef *)d->data;
        x->z.avail_out = (uInt)cap;
        if (deflate(&x->z, Z_FINISH) != Z_STREAM_END)
            return nb_error_set(err, NB_ERR_INTERNAL, "parquet: gzip compression of a %zu-byte page failed", n);
        d->len = cap - x->z.avail_out;
        goto done;
    }
    case NB_PQ_ZSTD: {
        if (!x->zstd && !(x->zstd = ZSTD_createCCtx())) break;
        size_t cap = ZSTD_compressBound(n);
        if (!nb_buf_reserve(d, cap)) break;
        int level = x->opt->level ? x->opt->level : ZSTD_CLEVEL_DEFAULT;
        size_t r = ZSTD_compressCCtx(x->zstd, d->data, cap, src, n, level);
        if (ZSTD_isError(r))
            return nb_error_set(err, NB_ERR_INTERNAL, "parquet: zstd compression failed: %s", ZSTD_getErrorName(r));
        d->len = r;
        goto done;
    }
    case NB_PQ_LZ4_RAW: {
        if (n > (size_t)LZ4_MAX_INPUT_SIZE)
            return nb_error_set(err, NB_ERR_LIMIT, "parquet: a %zu-byte page is too large for lz4; lower page_size", n);
        int cap = LZ4_compressBound((int)n);
        if (!nb_buf_reserve(d, (size_t)cap)) break;
        int r = LZ4_compress_default(src, d->data, (int)n, cap);
        if (r <= 0) return nb_error_set(err, NB_ERR_INTERNAL, "parquet: lz4 compression of a %zu-byte page failed", n);
        d->len = (size_t)r;
        goto done;
    }
    }
    return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory compressing a %zu-byte page", n);
done:
    *out = d->data;
    *out_len = d->len;
    return NB_OK;
}

/* ---- statistics ------------------------------------------------------------------------------- */
static void stats_reset(struct pq_stats *s)
{
    s->has = false;
    s->too_long = false;
    s->nulls = 0;
    nb_buf_reset(&s->bmin);
    nb_buf_reset(&s->bmax);
}

static inline void stat_int(struct pq_stats *s, int64_t v)
{
    if (!s->has) {
        s->imin = s->imax = v;
        s->has = true;
    } else if (v < s->imin) {
        s->imin = v;
    } else if (v > s->imax) {
        s->imax = v;
    }
}

static inline void stat_double(struct pq_stats *s, double v)
{
    if (isnan(v)) return;   /* NaN takes no part in min/max (Parquet spec) */
    if (!s->has) {
        s->dmin = s->dmax = v;
        s->has = true;
    } else if (v < s->dmin) {
        s->dmin = v;
    } else if (v > s->dmax) {
        s->dmax = v;
    }
}

/* Unsigned lexicographic (BYTE_ARRAY) or signed big-endian (FLBA decimals). */
static int cmp_bytes(bool is_signed, const char *a, size_t an, const char *b, size_t bn)
{
    if (is_signed) {
        /* Same length (FLBA): the sign byte decides first. */
        int8_t sa = (int8_t)a[0], sb = (int8_t)b[0];
        if (sa != sb) return sa < sb ? -1 : 1;
        return memcmp(a + 1, b + 1, an - 1);
    }
    size_t m = an < bn ? an : bn;
    int r = m ? memcmp(a, b, m) : 0;
    if (r) return r;
    return an < bn ? -1 : an > bn;
}

static inline void set_bytes(struct nb_buf *dst, const char *p, size_t n)
{
    nb_buf_reset(dst);
    pq_buf_add(dst, p, n);
}

static void stat_bytes(struct pq_stats *s, bool is_signed, const char *p, size_t n)
{
    if (n > PQ_STATS_MAX_BYTES) {
        /* Still a candidate for min/max, which we cannot store: leave min/max out entirely. */
        s->too_long = true;
        return;
    }
    if (!s->has) {
        set_bytes(&s->bmin, p, n);
        set_bytes(&s->bmax, p, n);
        s->has = true;
        return;
    }
    if (cmp_bytes(is_signed, p, n, s->bmin.data, s->bmin.len) < 0) set_bytes(&s->bmin, p, n);
    else if (cmp_bytes(is_signed, p, n, s->bmax.data, s->bmax.len) > 0) set_bytes(&s->bmax, p, n);
}

static void stats_merge(const struct pq_col *c, struct pq_stats *dst, const struct pq_stats *src)
{
    dst->nulls += src->nulls;
    dst->too_long |= src->too_long;
    if (!src->has) return;
    switch (c->phys) {
    case PQ_DOUBLE:
        stat_double(dst, src->dmin);
        stat_double(dst, src->dmax);
        break;
    case PQ_BYTE_ARRAY:
    case PQ_FLBA:
        stat_bytes(dst, c->phys == PQ_FLBA, src->bmin.data, src->bmin.len);
        stat_bytes(dst, c->phys == PQ_FLBA, src->bmax.data, src->bmax.len);
        break;
    default:
        stat_int(dst, src->imin);
        stat_int(dst, src->imax);
        break;
    }
}

bool pq_stats_value(const struct pq_col *c, const struct pq_stats *s, bool max, struct nb_buf *out)
{
    nb_buf_reset(out);
    if (!s->has || s->too_long) return false;
    switch (c->phys) {
    case PQ_BOOLEAN: {
        char v = (char)(max ? s->imax : s->imin);
        pq_buf_add(out, &v, 1);
        return true;
    }
    case PQ_INT32: {
        int32_t v = (int32_t)(max ? s->imax : s->imin);
        pq_buf_add(out, &v, 4);
        return true;
    }
    case PQ_INT64: {
        int64_t v = max ? s->imax : s->imin;
        pq_buf_add(out, &v, 8);
        return true;
    }
    case PQ_DOUBLE: {
        double v = max ? s->dmax : s->dmin;
        /* The spec: a zero min is written as -0.0 and a zero max as +0.0. */
        if (v == 0.0) v = max ? 0.0 : -0.0;
        pq_buf_add(out, &v, 8);
        return true;
    }
    case PQ_BYTE_ARRAY:
    case PQ_FLBA: {
        const struct nb_buf *b = max ? &s->bmax : &s->bmin;
        pq_buf_add(out, b->data, b->len);
        return true;
    }
    }
    return false;
}

/* ---- dictionary ------------------------------------------------------------------------------- */
static uint32_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t t = 0;
    memcpy(&t, p + i, n - i);
    h = (h ^ t) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

static void dict_clear(struct pq_dict *d)
{
    if (d->slots && d->count) memset(d->slots, 0, ((size_t)d->mask + 1) * sizeof *d->slots);
    d->count = 0;
    nb_buf_reset(&d->plain);
}

static void dict_free(struct pq_dict *d)
{
    free(d->slots);
    free(d->hash);
    free(d->off);
    free(d->len);
    nb_buf_cleanup(&d->plain);
    memset(d, 0, sizeof *d);
}

static bool dict_rehash(struct pq_dict *d, uint32_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof *s);
    if (!s) return false;
    for (uint32_t e = 0; e < d->count; e++) {
        uint32_t i = d->hash[e] & (nslots - 1);
        while (s[i]) i = (i + 1) & (nslots - 1);
        s[i] = e + 1;
    }
    free(d->slots);
    d->slots = s;
    d->mask = nslots - 1;
    return true;
}

/* Index of the value, adding it (with a 4-byte length first when prefixed) if new; -1 on OOM. */
static int64_t dict_add(struct pq_dict *d, const char *p, size_t n, bool prefixed)
{
    if (!d->slots && !dict_rehash(d, 1024)) return -1;
    uint32_t h = hash_bytes(p, n);
    uint32_t i = h & d->mask;
    for (uint32_t e; (e = d->slots[i]) != 0; i = (i + 1) & d->mask) {
        e--;
        if (d->hash[e] == h && d->len[e] == n && memcmp(d->plain.data + d->off[e], p, n) == 0) return e;
    }
    if (d->count == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 1024;
        uint32_t *a = realloc(d->hash, cap * sizeof *a);
        if (!a) return -1;
        d->hash = a;
        if (!(a = realloc(d->off, cap * sizeof *a))) return -1;
        d->off = a;
        if (!(a = realloc(d->len, cap * sizeof *a))) return -1;
        d->len = a;
        d->cap = cap;
    }
    if (prefixed) {
        uint32_t len32 = (uint32_t)n;
        pq_buf_add(&d->plain, &len32, 4);
    }
    uint32_t e = d->count;
    d->off[e] = (uint32_t)d->plain.len;
    pq_buf_add(&d->plain, p, n);
    if (d->plain.oom) return -1;
    d->hash[e] = h;
    d->len[e] = (uint32_t)n;
    d->slots[i] = e + 1;
    d->count++;
    if ((uint64_t)d->count * 2 > (uint64_t)d->mask + 1 && !dict_rehash(d, (d->mask + 1) * 2)) return -1;
    return e;
}

/* ---- column setup ----------------------------------------------------------------------------- */
static int decimal_bytes(int precision)
{
    /* Fewest bytes whose two's complement holds 10^p - 1. */
    return (int)ceil((precision * 3.3219280948873623 + 1.0) / 8.0);
}

nb_status pq_col_init(struct pq_col *c, const struct nb_field *f, const struct nb_parquet_options *opt,
                      struct nb_error *err)
{
    memset(c, 0, sizeof *c);
    c->name = f->name;
    c->type = f->type;
    c->optional = f->nullable;
    switch (f->type.id) {
    case NB_TYPE_NULL: c->kind = PK_NULL; c->phys = PQ_INT32; c->optional = true; break;
    case NB_TYPE_BOOL: c->kind = PK_BOOL; c->phys = PQ_BOOLEAN; break;
    case NB_TYPE_INT32: c->kind = PK_I32; c->phys = PQ_INT32; break;
    case NB_TYPE_INT64: c->kind = PK_I64; c->phys = PQ_INT64; break;
    case NB_TYPE_FLOAT64: c->kind = PK_F64; c->phys = PQ_DOUBLE; break;
    case NB_TYPE_DATE: c->kind = PK_DATE; c->phys = PQ_INT32; break;
    case NB_TYPE_TIME: c->kind = PK_TIME; c->phys = PQ_INT64; break;
    case NB_TYPE_TIMESTAMP: c->kind = PK_TS; c->phys = PQ_INT64; break;
    case NB_TYPE_STRING: c->kind = PK_STRING; c->phys = PQ_BYTE_ARRAY; break;
    case NB_TYPE_BINARY:
    case NB_TYPE_JSON: c->kind = PK_BYTES; c->phys = PQ_BYTE_ARRAY; break;
    case NB_TYPE_DECIMAL:
        if (f->type.precision < 1 || f->type.precision > 76 || f->type.scale > f->type.precision)
            return nb_error_set(err, NB_ERR_CONFIG, "parquet: column '%s' has decimal(%u,%u): precision must be "
                                "1..76 and scale 0..precision", f->name, f->type.precision, f->type.scale);
        if (f->type.precision <= 9) { c->kind = PK_DEC32; c->phys = PQ_INT32; }
        else if (f->type.precision <= 18) { c->kind = PK_DEC64; c->phys = PQ_INT64; }
        else { c->kind = PK_DECFIX; c->phys = PQ_FLBA; c->type_length = decimal_bytes(f->type.precision); }
        break;
    default:
        return nb_error_set(err, NB_ERR_UNSUPPORTED, "parquet: column '%s' has a type Parquet output does not "
                            "support (id %d)", f->name, (int)f->type.id);
    }
    c->dict_ok = opt->dictionary && c->phys != PQ_BOOLEAN && c->kind != PK_NULL;
    c->page_dict = c->dict_ok;
    c->cap_rows = opt->page_rows;
    c->idx = malloc(c->cap_rows * sizeof *c->idx);
    c->defs = malloc(c->cap_rows);
    nb_buf_init(&c->vals);
    nb_buf_init(&c->chunk);
    nb_buf_init(&c->dictpage);
    nb_buf_init(&c->ci_bytes);
    nb_buf_init(&c->pst.bmin);
    nb_buf_init(&c->pst.bmax);
    nb_buf_init(&c->st.bmin);
    nb_buf_init(&c->st.bmax);
    nb_buf_init(&c->dict.plain);
    c->ci_valid = true;
    if (!c->idx || !c->defs) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory for column '%s'", f->name);
    return NB_OK;
}

void pq_col_cleanup(struct pq_col *c)
{
    free(c->idx);
    free(c->defs);
    free(c->pages);
    free(c->ci);
    nb_buf_cleanup(&c->vals);
    nb_buf_cleanup(&c->chunk);
    nb_buf_cleanup(&c->dictpage);
    nb_buf_cleanup(&c->ci_bytes);
    nb_buf_cleanup(&c->pst.bmin);
    nb_buf_cleanup(&c->pst.bmax);
    nb_buf_cleanup(&c->st.bmin);
    nb_buf_cleanup(&c->st.bmax);
    dict_free(&c->dict);
}

void pq_col_reset_chunk(struct pq_col *c)
{
    dict_clear(&c->dict);
    nb_buf_reset(&c->chunk);
    nb_buf_reset(&c->dictpage);
    nb_buf_reset(&c->ci_bytes);
    c->values = c->uncompressed = c->compressed = 0;
    c->enc_mask = 0;
    c->n_pages = 0;
    c->ci_valid = true;
    c->fallen = false;
    c->page_dict = c->dict_ok;
    stats_reset(&c->st);
}

size_t pq_col_buffered(const struct pq_col *c)
{
    /* the dictionary's hash table costs about 16 bytes an entry besides its PLAIN bytes */
    return c->chunk.len + c->vals.len + c->pn * sizeof(uint32_t) + c->dict.plain.len + (size_t)c->dict.count * 16;
}

/* ---- pages ------------------------------------------------------------------------------------ */
static void page_header(struct nb_buf *hdr, enum pq_page_type type, size_t uncompressed, size_t compressed,
                        size_t num_values, enum pq_encoding enc)
{
    struct pq_thrift t;
    nb_buf_reset(hdr);
    pq_thrift_init(&t, hdr);
    pq_thrift_begin(&t);
    pq_thrift_i32(&t, 1, type);
    pq_thrift_i32(&t, 2, (int32_t)uncompressed);
    pq_thrift_i32(&t, 3, (int32_t)compressed);
    if (type == PQ_DATA_PAGE) {
        pq_thrift_struct(&t, 5);
        pq_thrift_i32(&t, 1, (int32_t)num_values);
        pq_thrift_i32(&t, 2, enc);
        pq_thrift_i32(&t, 3, PQ_ENC_RLE);
        pq_thrift_i32(&t, 4, PQ_ENC_RLE);
        pq_thrift_end(&t);
    } else {
        pq_thrift_struct(&t, 7);
        pq_thrift_i32(&t, 1, (int32_t)num_values);
        pq_thrift_i32(&t, 2, enc);
        pq_thrift_end(&t);
    }
    pq_thrift_end(&t);
}

static nb_status page_too_large(const struct pq_col *c, size_t n, struct nb_error *err)
{
    return nb_error_set(err, NB_ERR_LIMIT, "parquet: column '%s': a page of %zu bytes exceeds Parquet's 2 GiB page "
                        "limit (a single value too large?)", c->name, n);
}

static nb_status record_page_index(struct pq_col *c, struct nb_error *err)
{
    if (c->n_pages == c->cap_pages) {
        size_t cap = c->cap_pages ? c->cap_pages * 2 : 16;
        struct pq_page_loc *p = realloc(c->pages, cap * sizeof *p);
        if (!p) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
        c->pages = p;
        struct pq_ci_entry *e = realloc(c->ci, cap * sizeof *e);
        if (!e) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
        c->ci = e;
        c->cap_pages = cap;
    }
    struct pq_ci_entry *e = &c->ci[c->n_pages];
    memset(e, 0, sizeof *e);
    e->nulls = c->pst.nulls;
    e->null_page = c->pn == 0;
    if (!e->null_page) {
        if (!c->pst.has || c->pst.too_long) {
            c->ci_valid = false;   /* a page without usable min/max: no column index for this chunk */
        } else {
            struct nb_buf tmp;
            nb_buf_init(&tmp);
            pq_stats_value(c, &c->pst, false, &tmp);
            e->min_off = (uint32_t)c->ci_bytes.len;
            e->min_len = (uint32_t)tmp.len;
            pq_buf_add(&c->ci_bytes, tmp.data, tmp.len);
            pq_stats_value(c, &c->pst, true, &tmp);
            e->max_off = (uint32_t)c->ci_bytes.len;
            e->max_len = (uint32_t)tmp.len;
            pq_buf_add(&c->ci_bytes, tmp.data, tmp.len);
            bool oom = tmp.oom;
            nb_buf_cleanup(&tmp);
            if (oom) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
        }
    }
    return NB_OK;
}

nb_status pq_col_finish_page(struct pq_ctx *x, struct pq_col *c, struct nb_error *err)
{
    if (c->pv == 0) return NB_OK;
    struct nb_buf *body = &x->body;
    nb_buf_reset(body);
    if (c->optional) {
        uint32_t len = 0;
        pq_buf_add(body, &len, 4);
        pq_rle_encode(body, c->defs, 1, c->pv, 1);
        len = (uint32_t)(body->len - 4);
        if (!body->oom) memcpy(body->data, &len, 4);
    }
    enum pq_encoding enc;
    if (c->page_dict && c->pn > 0) {
        enc = PQ_ENC_RLE_DICTIONARY;
        int bw = pq_bit_width(c->dict.count - 1);
        if (bw < 1) bw = 1;
        /* The first page tells whether the dictionary pays (as parquet-mr judges it): when the
         * dictionary plus the indices are no smaller than PLAIN, the rest of the chunk is PLAIN. */
        if (c->n_pages == 0 && c->dict.plain.len + (uint64_t)c->pn * (uint64_t)bw / 8 >= c->page_raw) c->fallen = true;
        nb_buf_putc(body, (char)bw);
        pq_rle_encode(body, c->idx, 4, c->pn, bw);
    } else {
        enc = PQ_ENC_PLAIN;
        if (c->bool_bits) {
            nb_buf_putc(&c->vals, (char)c->bool_acc);
            c->bool_acc = 0;
            c->bool_bits = 0;
        }
        pq_buf_add(body, c->vals.data, c->vals.len);
    }
    nb_status st = nb_buf_status(body, err);
    if (st != NB_OK) return st;
    if (body->len > INT32_MAX) return page_too_large(c, body->len, err);
    const char *comp;
    size_t clen;
    if ((st = pq_compress(x, body->data, body->len, &comp, &clen, err)) != NB_OK) return st;
    if (clen > INT32_MAX) return page_too_large(c, clen, err);
    page_header(&x->hdr, PQ_DATA_PAGE, body->len, clen, c->pv, enc);
    if ((st = record_page_index(c, err)) != NB_OK) return st;
    struct pq_page_loc *loc = &c->pages[c->n_pages++];
    loc->offset = c->chunk.len;
    loc->size = (uint32_t)(x->hdr.len + clen);
    loc->first_row = c->values;
    pq_buf_add(&c->chunk, x->hdr.data, x->hdr.len);
    pq_buf_add(&c->chunk, comp, clen);
    if ((st = nb_buf_status(&c->chunk, err)) != NB_OK) return st;
    c->uncompressed += x->hdr.len + body->len;
    c->compressed += x->hdr.len + clen;
    c->enc_mask |= 1u << enc;
    c->values += c->pv;
    stats_merge(c, &c->st, &c->pst);
    stats_reset(&c->pst);
    c->pv = c->pn = 0;
    c->page_raw = 0;
    nb_buf_reset(&c->vals);
    c->page_dict = c->dict_ok && !c->fallen;
    return NB_OK;
}

nb_status pq_col_finish_chunk(struct pq_ctx *x, struct pq_col *c, struct nb_error *err)
{
    nb_status st = pq_col_finish_page(x, c, err);
    if (st != NB_OK) return st;
    nb_buf_reset(&c->dictpage);
    if (c->dict.count == 0) return NB_OK;
    if (c->dict.plain.len > INT32_MAX) return page_too_large(c, c->dict.plain.len, err);
    const char *comp;
    size_t clen;
    if ((st = pq_compress(x, c->dict.plain.data, c->dict.plain.len, &comp, &clen, err)) != NB_OK) return st;
    page_header(&x->hdr, PQ_DICTIONARY_PAGE, c->dict.plain.len, clen, c->dict.count, PQ_ENC_PLAIN);
    pq_buf_add(&c->dictpage, x->hdr.data, x->hdr.len);
    pq_buf_add(&c->dictpage, comp, clen);
    c->uncompressed += x->hdr.len + c->dict.plain.len;
    c->compressed += x->hdr.len + clen;
    c->enc_mask |= 1u << PQ_ENC_PLAIN;
    return nb_buf_status(&c->dictpage, err);
}

/* ---- values ----------------------------------------------------------------------------------- */
static nb_status add_fixed(struct pq_col *c, const void *p, size_t w, struct nb_error *err)
{
    if (c->page_dict) {
        int64_t e = dict_add(&c->dict, p, w, false);
        if (e < 0) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory (dictionary of '%s')", c->name);
        c->idx[c->pn] = (uint32_t)e;
        c->page_raw += w;
    } else {
        pq_buf_add(&c->vals, p, w);
    }
    c->pn++;
    return NB_OK;
}

static nb_status add_bytes(struct pq_col *c, const char *p, size_t n, struct nb_error *err)
{
    if (n > UINT32_MAX / 2) return page_too_large(c, n, err);
    if (c->page_dict) {
        int64_t e = dict_add(&c->dict, p, n, true);
        if (e < 0) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory (dictionary of '%s')", c->name);
        c->idx[c->pn] = (uint32_t)e;
        c->page_raw += 4 + n;
    } else {
        uint32_t len32 = (uint32_t)n;
        pq_buf_add(&c->vals, &len32, 4);
        pq_buf_add(&c->vals, p, n);
    }
    c->pn++;
    return NB_OK;
}

static inline void add_bool(struct pq_col *c, bool v)
{
    c->bool_acc |= (uint64_t)v << c->bool_bits;
    if (++c->bool_bits == 8) {
        nb_buf_putc(&c->vals, (char)c->bool_acc);
        c->bool_acc = 0;
        c->bool_bits = 0;
    }
    c->pn++;
}

static void mul10_add(uint8_t *be, int len, unsigned digit)
{
    unsigned carry = digit;
    for (int i = len - 1; i >= 0; i--) {
        unsigned v = be[i] * 10u + carry;
        be[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

/* Decimal text ([-+]?digits[.digits]) to big-endian two's complement of len bytes at `scale`.
 * For precisions beyond the 128-bit parser of batch/value.h. */
static bool parse_decimal_wide(const char *s, size_t n, int precision, int scale, uint8_t *be, int len)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    memset(be, 0, (size_t)len);
    int sig = 0, fd = 0;
    bool any = false, dot = false;
    for (; i < n; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (dot || !any) return false;
            dot = true;
            continue;
        }
        if (ch < '0' || ch > '9') return false;
        any = true;
        if (dot && ++fd > scale) {
            if (ch != '0') return false;   /* zeros beyond the scale change nothing (as batch/value.h) */
            continue;
        }
        if (sig == 0 && ch == '0') continue;
        if (++sig > precision) return false;
        mul10_add(be, len, (unsigned)(ch - '0'));
    }
    if (!any || (dot && fd == 0)) return false;
    int used = fd > scale ? scale : fd;
    if (sig && sig + (scale - used) > precision) return false;
    for (int k = used; k < scale; k++) mul10_add(be, len, 0);
    if (neg) {
        unsigned carry = 1;
        for (int k = len - 1; k >= 0; k--) {
            unsigned v = (uint8_t)~be[k] + carry;
            be[k] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    return true;
}

static nb_status bad_value(const struct pq_col *c, const struct nb_batch *b, size_t row, uint64_t row_base,
                           const char *p, size_t n, const char *what, struct nb_error *err)
{
    char tname[48];
    nb_type_format(c->type, tname, sizeof tname);
    char where[160] = "";
    if (b->locs && b->source_name)
        snprintf(where, sizeof where, " (%s:%llu)", b->source_name, (unsigned long long)b->locs[row].line);
    else if (b->locs)
        snprintf(where, sizeof where, " (line %llu)", (unsigned long long)b->locs[row].line);
    int shown = n > 64 ? 64 : (int)n;
    return nb_error_set(err, NB_ERR_INVALID, "parquet: column '%s', row %llu%s: value '%.*s%s' %s %s", c->name,
                        (unsigned long long)(row_base + row + 1), where, shown, p ? p : "", n > 64 ? "..." : "",
                        what, tname);
}

nb_status pq_col_write(struct pq_ctx *x, struct pq_col *c, const struct nb_batch *b, size_t col, size_t r0,
                       size_t r1, uint64_t row_base, struct nb_error *err)
{
    const struct nb_column *bc = &b->cols[col];
    nb_status st = NB_OK;
    bool native = bc->repr == NB_REPR_NATIVE;
    if (bc->len < r1)
        return nb_error_set(err, NB_ERR_INTERNAL, "parquet: column '%s' has %zu values for %zu rows", c->name,
                            bc->len, r1);
    if (native) {
        size_t want = 0;
        switch (c->kind) {
        case PK_BOOL: want = 1; break;
        case PK_I32: case PK_DATE: want = 4; break;
        case PK_I64: case PK_F64: case PK_TIME: case PK_TS: want = 8; break;
        default: break;
        }
        if (want == 0 || bc->width != want)
            return nb_error_set(err, NB_ERR_INTERNAL, "parquet: column '%s' arrived in a native layout of width %zu "
                                "this writer does not expect", c->name, bc->width);
    }
    uint8_t fix[32];
    for (size_t r = r0; r < r1; r++) {
        size_t n = 0;
        const char *p = NULL;
        if (nb_column_is_null(bc, r)) {
            if (!c->optional)
                return nb_error_set(err, NB_ERR_INVALID, "parquet: column '%s', row %llu: null in a column declared "
                                    "not nullable", c->name, (unsigned long long)(row_base + r + 1));
            c->defs[c->pv++] = 0;
            c->pst.nulls++;
        } else {
            if (!native) {
                /* not nb_column_text: a column of only empty strings has no data buffer (NULL + 0) */
                n = bc->offsets[r + 1] - bc->offsets[r];
                p = bc->data ? bc->data + bc->offsets[r] : "";
            }
            switch (c->kind) {
            case PK_NULL:
                return bad_value(c, b, r, row_base, p, n, "is not null in a column of type", err);
            case PK_BOOL: {
                bool v;
                if (native) v = nb_column_bool(bc, r);
                else if (!nb_value_parse_bool(p, n, &v)) goto bad;
                stat_int(&c->pst, v);
                add_bool(c, v);
                break;
            }
            case PK_I32:
            case PK_DATE: {
                int32_t v;
                if (native) v = nb_column_i32(bc, r);
                else if (!(c->kind == PK_I32 ? nb_value_parse_i32(p, n, &v) : nb_value_parse_date(p, n, &v))) goto bad;
                stat_int(&c->pst, v);
                st = add_fixed(c, &v, 4, err);
                break;
            }
            case PK_I64:
            case PK_TIME:
            case PK_TS: {
                int64_t v;
                bool zoned;
                if (native) v = nb_column_i64(bc, r);
                else if (!(c->kind == PK_I64 ? nb_value_parse_i64(p, n, &v)
                           : c->kind == PK_TIME ? nb_value_parse_time(p, n, &v)
                                                : nb_value_parse_timestamp(p, n, &v, &zoned)))
                    goto bad;
                stat_int(&c->pst, v);
                st = add_fixed(c, &v, 8, err);
                break;
            }
            case PK_F64: {
                double v;
                if (native) v = nb_column_f64(bc, r);
                else if (!nb_value_parse_f64(p, n, &v)) goto bad;
                stat_double(&c->pst, v);
                st = add_fixed(c, &v, 8, err);
                break;
            }
            case PK_DEC32:
            case PK_DEC64: {
                __int128 u;
                if (!nb_value_parse_decimal(p, n, c->type.precision, c->type.scale, &u)) goto bad;
                stat_int(&c->pst, (int64_t)u);
                if (c->kind == PK_DEC32) {
                    int32_t v = (int32_t)u;
                    st = add_fixed(c, &v, 4, err);
                } else {
                    int64_t v = (int64_t)u;
                    st = add_fixed(c, &v, 8, err);
                }
                break;
            }
            case PK_DECFIX: {
                int len = c->type_length;
                if (c->type.precision <= 38) {
                    __int128 u;
                    if (!nb_value_parse_decimal(p, n, c->type.precision, c->type.scale, &u)) goto bad;
                    for (int i = 0; i < len; i++)
                        fix[len - 1 - i] = i < 16 ? (uint8_t)((unsigned __int128)u >> (8 * i)) : (u < 0 ? 0xff : 0);
                } else if (!parse_decimal_wide(p, n, c->type.precision, c->type.scale, fix, len)) {
                    goto bad;
                }
                stat_bytes(&c->pst, true, (const char *)fix, (size_t)len);
                st = add_fixed(c, fix, (size_t)len, err);
                break;
            }
            case PK_STRING:
                if (!nb_utf8_valid(p, n))
                    return nb_error_set(err, NB_ERR_INVALID, "parquet: column '%s', row %llu: value is not valid "
                                        "UTF-8 (at byte %zu) and cannot be a Parquet STRING; declare the column "
                                        "binary", c->name, (unsigned long long)(row_base + r + 1),
                                        nb_utf8_valid_prefix(p, n));
                /* fall through */
            case PK_BYTES:
                stat_bytes(&c->pst, false, p, n);
                st = add_bytes(c, p, n, err);
                break;
            }
            if (st != NB_OK) return st;
            if (c->optional) c->defs[c->pv] = 1;
            c->pv++;
            if (c->page_dict && c->dict.plain.len > x->opt->dictionary_page_size) {
                /* The dictionary stops paying: this page ends as is, the rest of the chunk is PLAIN. */
                c->fallen = true;
                if ((st = pq_col_finish_page(x, c, err)) != NB_OK) return st;
                continue;
            }
        }
        if (c->pv >= c->cap_rows || c->vals.len >= x->opt->page_size) {
            if ((st = pq_col_finish_page(x, c, err)) != NB_OK) return st;
        }
        continue;
    bad:
        return bad_value(c, b, r, row_base, p, n, "does not fit", err);
    }
    if (c->vals.oom) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory buffering column '%s'", c->name);
    return NB_OK;
}
