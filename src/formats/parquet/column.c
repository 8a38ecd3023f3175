/* Column chunks of the Parquet writer: encoded batch values (encode.c) into dictionary or PLAIN pages
 * with fallback, data page v1 assembly (definition levels as the RLE hybrid with a 4-byte length),
 * compression and statistics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/parquet/column.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet writer assumes a little-endian host (PLAIN values are copied as they are)"
#endif

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
/* The first 8 bytes as a big-endian number, zero-padded: comparing two of them orders the strings
 * as memcmp would as far as they differ there (a shorter string pads with zeros, which also sorts
 * first). Most statistics comparisons end here, without a memcmp call. */
static inline uint64_t prefix_be(const char *p, size_t n)
{
    uint64_t v = 0;
    if (n >= 8) {
        memcpy(&v, p, 8);
        return __builtin_bswap64(v);
    }
    for (size_t i = 0; i < n; i++) v |= (uint64_t)(unsigned char)p[i] << (56 - 8 * i);
    return v;
}

static int cmp_bytes(bool is_signed, const char *a, size_t an, const char *b, size_t bn)
{
    if (is_signed) {
        /* Same length (FLBA): the sign byte decides first. */
        int8_t sa = (int8_t)a[0], sb = (int8_t)b[0];
        if (sa != sb) return sa < sb ? -1 : 1;
        return memcmp(a + 1, b + 1, an - 1);
    }
    uint64_t pa = prefix_be(a, an), pb = prefix_be(b, bn);
    if (pa != pb) return pa < pb ? -1 : 1;
    size_t m = an < bn ? an : bn;
    int r = m > 8 ? memcmp(a + 8, b + 8, m - 8) : 0;
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
static void dict_clear(struct pq_dict *d)
{
    if (d->slots && d->count) memset(d->slots, 0, ((size_t)d->mask + 1) * sizeof *d->slots);
    d->count = 0;
    nb_buf_reset(&d->plain);
}

static void dict_free(struct pq_dict *d)
{
    free(d->slots);
    free(d->ent);
    nb_buf_cleanup(&d->plain);
    memset(d, 0, sizeof *d);
}

static bool dict_rehash(struct pq_dict *d, uint32_t nslots)
{
    uint64_t *s = calloc(nslots, sizeof *s);
    if (!s) return false;
    for (uint32_t i = 0; d->slots && i <= d->mask; i++) {
        uint64_t v = d->slots[i];
        if (!v) continue;
        uint32_t j = (uint32_t)(v >> 32) & (nslots - 1);
        while (s[j]) j = (j + 1) & (nslots - 1);
        s[j] = v;
    }
    free(d->slots);
    d->slots = s;
    d->mask = nslots - 1;
    return true;
}

/* Keys of up to 16 bytes (most of them: numbers, short strings) in two loads each, not a memcmp call. */
static inline bool bytes_eq(const char *a, const char *b, size_t n)
{
    uint64_t x, y, u, v;
    if (n >= 8 && n <= 16) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + n - 8, 8);
        memcpy(&v, b + n - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t x4, y4, u4, v4;
        memcpy(&x4, a, 4);
        memcpy(&y4, b, 4);
        memcpy(&u4, a + n - 4, 4);
        memcpy(&v4, b + n - 4, 4);
        return ((x4 ^ y4) | (u4 ^ v4)) == 0;
    }
    return memcmp(a, b, n) == 0;
}

/* Index of the value of hash h (pq_hash_bytes), adding it (with a 4-byte length first when
 * prefixed) if new; -1 on OOM. */
static inline int64_t dict_add(struct pq_dict *d, const char *p, size_t n, uint32_t h, bool prefixed)
{
    if (!d->slots && !dict_rehash(d, 1024)) return -1;
    uint32_t i = h & d->mask;
    for (uint64_t v; (v = d->slots[i]) != 0; i = (i + 1) & d->mask) {
        if ((uint32_t)(v >> 32) != h) continue;
        uint32_t e = (uint32_t)v - 1;
        uint64_t en = d->ent[e];
        if ((uint32_t)(en >> 32) == n && bytes_eq(d->plain.data + (uint32_t)en, p, n)) return e;
    }
    if (d->count == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 1024;
        uint64_t *a = realloc(d->ent, cap * sizeof *a);
        if (!a) return -1;
        d->ent = a;
        d->cap = cap;
    }
    if (prefixed) {
        uint32_t len32 = (uint32_t)n;
        pq_buf_add(&d->plain, &len32, 4);
    }
    uint32_t e = d->count;
    uint64_t off = d->plain.len;
    pq_buf_add(&d->plain, p, n);
    if (d->plain.oom) return -1;
    d->ent[e] = off | (uint64_t)n << 32;
    d->slots[i] = (uint64_t)h << 32 | (e + 1);
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

nb_status pq_kind_of(const struct nb_field *f, enum pq_kind *kind, enum pq_phys *phys, int *type_length,
                     struct nb_error *err)
{
    *type_length = 0;
    switch (f->type.id) {
    case NB_TYPE_NULL: *kind = PK_NULL; *phys = PQ_INT32; break;
    case NB_TYPE_BOOL: *kind = PK_BOOL; *phys = PQ_BOOLEAN; break;
    case NB_TYPE_INT32: *kind = PK_I32; *phys = PQ_INT32; break;
    case NB_TYPE_INT64: *kind = PK_I64; *phys = PQ_INT64; break;
    case NB_TYPE_FLOAT64: *kind = PK_F64; *phys = PQ_DOUBLE; break;
    case NB_TYPE_DATE: *kind = PK_DATE; *phys = PQ_INT32; break;
    case NB_TYPE_TIME: *kind = PK_TIME; *phys = PQ_INT64; break;
    case NB_TYPE_TIMESTAMP: *kind = PK_TS; *phys = PQ_INT64; break;
    case NB_TYPE_STRING: *kind = PK_STRING; *phys = PQ_BYTE_ARRAY; break;
    case NB_TYPE_BINARY:
    case NB_TYPE_JSON: *kind = PK_BYTES; *phys = PQ_BYTE_ARRAY; break;
    case NB_TYPE_DECIMAL:
        if (f->type.precision < 1 || f->type.precision > 76 || f->type.scale > f->type.precision)
            return nb_error_set(err, NB_ERR_CONFIG, "parquet: column '%s' has decimal(%u,%u): precision must be "
                                "1..76 and scale 0..precision", f->name, f->type.precision, f->type.scale);
        if (f->type.precision <= 9) { *kind = PK_DEC32; *phys = PQ_INT32; }
        else if (f->type.precision <= 18) { *kind = PK_DEC64; *phys = PQ_INT64; }
        else { *kind = PK_DECFIX; *phys = PQ_FLBA; *type_length = decimal_bytes(f->type.precision); }
        break;
    default:
        return nb_error_set(err, NB_ERR_UNSUPPORTED, "parquet: column '%s' has a type Parquet output does not "
                            "support (id %d)", f->name, (int)f->type.id);
    }
    return NB_OK;
}

size_t pq_kind_width(enum pq_kind kind, int type_length)
{
    switch (kind) {
    case PK_BOOL: return 1;
    case PK_I32: case PK_DATE: case PK_DEC32: return 4;
    case PK_I64: case PK_TIME: case PK_TS: case PK_F64: case PK_DEC64: return 8;
    case PK_DECFIX: return (size_t)type_length;
    default: return 0;
    }
}

bool pq_kind_dict_ok(const struct nb_parquet_options *opt, enum pq_kind kind, enum pq_phys phys)
{
    return opt->dictionary && phys != PQ_BOOLEAN && kind != PK_NULL;
}

nb_status pq_col_init(struct pq_col *c, const struct nb_field *f, const struct nb_parquet_options *opt,
                      struct nb_error *err)
{
    memset(c, 0, sizeof *c);
    c->name = f->name;
    c->type = f->type;
    c->optional = f->nullable || f->type.id == NB_TYPE_NULL;
    nb_status st = pq_kind_of(f, &c->kind, &c->phys, &c->type_length, err);
    if (st != NB_OK) return st;
    c->dict_ok = pq_kind_dict_ok(opt, c->kind, c->phys);
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
    c->values = c->uncompressed = c->compressed = c->made = 0;
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
    return (size_t)c->made + c->vals.len + c->pn * sizeof(uint32_t) + c->dict.plain.len + (size_t)c->dict.count * 16;
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
    struct pq_job *j;
    nb_status st = pq_ctx_job(x, &j, err);
    if (st != NB_OK) return st;
    struct nb_buf *body = &j->body;
    nb_buf_reset(body);
    if (c->optional) {
        uint32_t len = 0;
        pq_buf_add(body, &len, 4);
        if (c->pn == c->pv && c->pv >= 8) {
            /* no nulls: one RLE run of 1s, as pq_rle_encode would write it, without the scan */
            pq_varint(body, (uint64_t)c->pv << 1);
            nb_buf_putc(body, 1);
        } else {
            pq_rle_encode(body, c->defs, 1, c->pv, 1);
        }
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
    if ((st = nb_buf_status(body, err)) != NB_OK) return st;
    if (body->len > INT32_MAX) return page_too_large(c, body->len, err);
    if ((st = record_page_index(c, err)) != NB_OK) return st;
    struct pq_page_loc *loc = &c->pages[c->n_pages];
    loc->offset = 0;   /* known once compressed: pq_col_page_done */
    loc->size = 0;
    loc->first_row = c->values;
    j->col = c;
    j->type = PQ_DATA_PAGE;
    j->enc = enc;
    j->num_values = c->pv;
    j->page = c->n_pages++;
    j->src = body->data;
    j->src_len = body->len;
    c->made += body->len;
    c->enc_mask |= 1u << enc;
    c->values += c->pv;
    stats_merge(c, &c->st, &c->pst);
    stats_reset(&c->pst);
    c->pv = c->pn = 0;
    c->page_raw = 0;
    nb_buf_reset(&c->vals);
    c->page_dict = c->dict_ok && !c->fallen;
    pq_ctx_submit(x, j);
    return NB_OK;
}

nb_status pq_col_finish_chunk(struct pq_ctx *x, struct pq_col *c, struct nb_error *err)
{
    nb_status st = pq_col_finish_page(x, c, err);
    if (st != NB_OK) return st;
    nb_buf_reset(&c->dictpage);
    if (c->dict.count == 0) return NB_OK;
    if (c->dict.plain.len > INT32_MAX) return page_too_large(c, c->dict.plain.len, err);
    struct pq_job *j;
    if ((st = pq_ctx_job(x, &j, err)) != NB_OK) return st;
    /* the dictionary stays as it is until the chunk is written: compressed in place */
    j->col = c;
    j->type = PQ_DICTIONARY_PAGE;
    j->enc = PQ_ENC_PLAIN;
    j->num_values = c->dict.count;
    j->src = c->dict.plain.data;
    j->src_len = c->dict.plain.len;
    c->enc_mask |= 1u << PQ_ENC_PLAIN;
    pq_ctx_submit(x, j);
    return NB_OK;
}

nb_status pq_col_page_done(struct pq_ctx *x, struct pq_job *j, struct nb_error *err)
{
    struct pq_col *c = j->col;
    if (j->out_len > INT32_MAX) return page_too_large(c, j->out_len, err);
    page_header(&x->hdr, j->type, j->src_len, j->out_len, j->num_values, j->enc);
    struct nb_buf *dst = j->type == PQ_DATA_PAGE ? &c->chunk : &c->dictpage;
    if (j->type == PQ_DATA_PAGE) {
        struct pq_page_loc *loc = &c->pages[j->page];
        loc->offset = c->chunk.len;
        loc->size = (uint32_t)(x->hdr.len + j->out_len);
    }
    pq_buf_add(dst, x->hdr.data, x->hdr.len);
    pq_buf_add(dst, j->out, j->out_len);
    c->uncompressed += x->hdr.len + j->src_len;
    c->compressed += x->hdr.len + j->out_len;
    return nb_buf_status(dst, err);
}

/* ---- values ----------------------------------------------------------------------------------- */
static inline nb_status add_fixed(struct pq_col *c, const void *p, size_t w, uint32_t h, struct nb_error *err)
{
    if (c->page_dict) {
        int64_t e = dict_add(&c->dict, p, w, h, false);
        if (e < 0) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory (dictionary of '%s')", c->name);
        c->idx[c->pn] = (uint32_t)e;
        c->page_raw += w;
    } else {
        pq_buf_add(&c->vals, p, w);
    }
    c->pn++;
    return NB_OK;
}

static inline nb_status add_bytes(struct pq_col *c, const char *p, size_t n, uint32_t h, struct nb_error *err)
{
    if (n > UINT32_MAX / 2) return page_too_large(c, n, err);
    if (c->page_dict) {
        int64_t e = dict_add(&c->dict, p, n, h, true);
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

/* PLAIN pages of a fixed-width column without nulls: the encoded values are already the page's
 * bytes, so they are copied a page's worth at a time and min/max is one tight loop. Pages end
 * exactly where the value-by-value path ends them (at page_rows values or page_size bytes). */
static inline __attribute__((always_inline)) nb_status append_plain_fixed(struct pq_ctx *x, struct pq_col *c,
                                                                          const struct pq_enc_col *ec, size_t r,
                                                                          size_t r1, const enum pq_kind kind,
                                                                          const size_t w, struct nb_error *err)
{
    nb_status st;
    while (r < r1) {
        size_t k = r1 - r, room = c->cap_rows - c->pv;
        size_t bytes_room = c->vals.len >= x->opt->page_size ? 1 : (x->opt->page_size - c->vals.len + w - 1) / w;
        if (k > room) k = room;
        if (k > bytes_room) k = bytes_room;
        const uint8_t *v = ec->vals + r * w;
        if (kind == PK_F64) {
            for (size_t i = 0; i < k; i++) {
                double d;
                memcpy(&d, v + i * 8, 8);
                stat_double(&c->pst, d);
            }
        } else {
            int64_t mn = INT64_MAX, mx = INT64_MIN;
            for (size_t i = 0; i < k; i++) {
                int64_t a;
                if (kind == PK_I32) {
                    int32_t b;
                    memcpy(&b, v + i * 4, 4);
                    a = b;
                } else {
                    memcpy(&a, v + i * 8, 8);
                }
                mn = a < mn ? a : mn;
                mx = a > mx ? a : mx;
            }
            if (k) {
                stat_int(&c->pst, mn);
                stat_int(&c->pst, mx);
            }
        }
        pq_buf_add(&c->vals, v, k * w);
        if (c->optional) memset(c->defs + c->pv, 1, k);
        c->pv += k;
        c->pn += k;
        r += k;
        if (c->pv >= c->cap_rows || c->vals.len >= x->opt->page_size)
            if ((st = pq_col_finish_page(x, c, err)) != NB_OK) return st;
    }
    if (c->vals.oom) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory buffering column '%s'", c->name);
    return NB_OK;
}

/* The rows of one kind: always inlined with a constant kind and width, so each kind gets its own
 * loop without a per-value switch. */
static inline __attribute__((always_inline)) nb_status append_rows(struct pq_ctx *x, struct pq_col *c,
                                                                   const struct nb_column *bc,
                                                                   const struct pq_enc_col *ec, size_t r0, size_t r1,
                                                                   const enum pq_kind kind, const size_t w,
                                                                   struct nb_error *err)
{
    nb_status st = NB_OK;
    if ((kind == PK_I32 || kind == PK_I64 || kind == PK_F64) && !c->page_dict && bc->null_count == 0)
        return append_plain_fixed(x, c, ec, r0, r1, kind, w, err);
    for (size_t r = r0; r < r1; r++) {
        if (nb_column_is_null(bc, r)) {
            c->defs[c->pv++] = 0;   /* the encoder refused nulls in a required column */
            c->pst.nulls++;
        } else {
            const uint8_t *v = ec->vals ? ec->vals + r * w : NULL;
            uint32_t h = ec->hash ? ec->hash[r] : 0;
            switch (kind) {
            case PK_NULL:
                return nb_error_set(err, NB_ERR_INTERNAL, "parquet: column '%s' has a value in the null type", c->name);
            case PK_BOOL:
                stat_int(&c->pst, *v);
                add_bool(c, *v);
                break;
            case PK_I32: {
                int32_t i;
                memcpy(&i, v, 4);
                stat_int(&c->pst, i);
                st = add_fixed(c, v, 4, h, err);
                break;
            }
            case PK_I64: {
                int64_t i;
                memcpy(&i, v, 8);
                stat_int(&c->pst, i);
                st = add_fixed(c, v, 8, h, err);
                break;
            }
            case PK_F64: {
                double d;
                memcpy(&d, v, 8);
                stat_double(&c->pst, d);
                st = add_fixed(c, v, 8, h, err);
                break;
            }
            case PK_DECFIX:
                stat_bytes(&c->pst, true, (const char *)v, w);
                st = add_fixed(c, v, w, h, err);
                break;
            default: {   /* PK_STRING, PK_BYTES */
                /* not nb_column_text: a column of only empty strings has no data buffer (NULL + 0) */
                size_t n = bc->offsets[r + 1] - bc->offsets[r];
                const char *p = bc->data ? bc->data + bc->offsets[r] : "";
                stat_bytes(&c->pst, false, p, n);
                st = add_bytes(c, p, n, h, err);
                break;
            }
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
    }
    if (c->vals.oom) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory buffering column '%s'", c->name);
    return NB_OK;
}

nb_status pq_col_append(struct pq_ctx *x, struct pq_col *c, const struct nb_column *bc, const struct pq_enc_col *ec,
                        size_t r0, size_t r1, struct nb_error *err)
{
    switch (c->kind) {
    case PK_BOOL: return append_rows(x, c, bc, ec, r0, r1, PK_BOOL, 1, err);
    case PK_I32: case PK_DATE: case PK_DEC32: return append_rows(x, c, bc, ec, r0, r1, PK_I32, 4, err);
    case PK_I64: case PK_TIME: case PK_TS: case PK_DEC64: return append_rows(x, c, bc, ec, r0, r1, PK_I64, 8, err);
    case PK_F64: return append_rows(x, c, bc, ec, r0, r1, PK_F64, 8, err);
    case PK_DECFIX: return append_rows(x, c, bc, ec, r0, r1, PK_DECFIX, (size_t)c->type_length, err);
    case PK_STRING: case PK_BYTES: return append_rows(x, c, bc, ec, r0, r1, PK_BYTES, 0, err);
    case PK_NULL: break;
    }
    return append_rows(x, c, bc, ec, r0, r1, PK_NULL, 0, err);
}
