/* The Parquet reader (reader.h): footer and metadata, then per row group each column chunk is read
 * whole (one ranged read), its pages decompressed and decoded one at a time into plain arrays
 * (values_read.c: definition levels, 8-byte value slots or byte ranges), and rows copied from those into batches
 * in our representation (batch/batch.h), the reverse of what the writer's encode.c reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/value.h"
#include "formats/parquet/read_internal.h"
#include "formats/parquet/reader.h"

struct nb_pq_reader {
    struct nb_pq_input in;
    char *name;
    struct pq_meta meta;
    struct nb_schema *schema;
    struct pq_col *cols;
    struct pq_dctx *dctx;
    size_t rg;                   /* current row group */
    uint64_t rg_row;             /* next row in it */
    bool rg_loaded;
    void *own;                   /* an input context the reader frees (memory input) */
};

static const char *col_name(const struct pq_col *c) { return c->leaf->name; }

static nb_status col_error(const struct nb_pq_reader *r, const struct pq_col *c, uint64_t off, struct nb_error *err,
                           nb_status code, const char *what)
{
    return nb_error_set(err, code, "%s: column '%s', row group %zu: %s at offset %llu", r->name, col_name(c), r->rg, what,
                        (unsigned long long)off);
}

/* Prefix an error from a decoder that does not know the place. */
static nb_status col_prefix(const struct nb_pq_reader *r, const struct pq_col *c, uint64_t off, struct nb_error *err,
                            nb_status rc)
{
    if (err) {
        char what[200];
        snprintf(what, sizeof what, "%s", err->message);
        return col_error(r, c, off, err, rc, what);
    }
    return rc;
}

static bool col_reserve(struct pq_col *c, size_t n)
{
    if (n <= c->cap) return true;
    size_t cap = c->cap ? c->cap : 1024;
    while (cap < n) cap *= 2;
    uint8_t *d = realloc(c->defs, cap);
    if (d) c->defs = d;
    int64_t *s = realloc(c->slots, cap * sizeof *s);
    if (s) c->slots = s;
    int64_t *sc = realloc(c->scratch, cap * sizeof *sc);
    if (sc) c->scratch = sc;
    struct pq_bv *bv = realloc(c->bvs, cap * sizeof *bv);
    if (bv) c->bvs = bv;
    uint32_t *ix = realloc(c->idx, cap * sizeof *ix);
    if (ix) c->idx = ix;
    if (!d || !s || !sc || !bv || !ix) return false;
    c->cap = cap;
    return true;
}

static nb_status read_chunk(struct nb_pq_reader *r, struct pq_col *c, struct nb_error *err)
{
    const struct pq_chunk_meta *cm = c->cm;
    uint64_t start = (uint64_t)(cm->dict_page_offset > 0 ? cm->dict_page_offset : cm->data_page_offset);
    size_t len = (size_t)cm->total_compressed;   /* checked against the file size in meta_read.c */
    nb_buf_reset(&c->chunk);
    if (!nb_buf_reserve(&c->chunk, len + 1)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory reading a column chunk");
    nb_status rc = r->in.read_at(r->in.ctx, start, c->chunk.data, len, err);
    if (rc != NB_OK) return rc;
    c->chunk.len = len;
    c->chunk_off = start;
    c->pos = 0;
    c->has_dict = false;
    c->dict_n = 0;
    c->n = c->at = c->nvals = c->vat = 0;
    return NB_OK;
}

/* Decompress a page body into out (uncompressed bytes). */
static nb_status inflate_into(struct nb_pq_reader *r, struct pq_col *c, const uint8_t *src, size_t src_len,
                              size_t out_len, bool compressed, struct nb_buf *out, uint64_t off, struct nb_error *err)
{
    nb_buf_reset(out);
    int32_t codec = compressed ? c->cm->codec : NB_PQ_UNCOMPRESSED;
    nb_status rc = pq_decompress_check(codec, src, src_len, out_len, err);
    if (rc != NB_OK) return col_prefix(r, c, off, err, rc);
    if (!nb_buf_reserve(out, out_len + 1)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory for a page");
    rc = pq_decompress(r->dctx, codec, src, src_len, (uint8_t *)out->data, out_len, err);
    if (rc != NB_OK) return col_prefix(r, c, off, err, rc);
    out->len = out_len;
    return NB_OK;
}

static nb_status read_dictionary(struct nb_pq_reader *r, struct pq_col *c, const struct pq_page_header *h,
                                 const uint8_t *body, uint64_t off, struct nb_error *err)
{
    if (c->has_dict) return col_error(r, c, off, err, NB_ERR_INVALID, "a second dictionary page");
    if (h->encoding != PQR_ENC_PLAIN && h->encoding != PQR_ENC_PLAIN_DICTIONARY)
        return col_error(r, c, off, err, NB_ERR_UNSUPPORTED, "dictionary page is not PLAIN encoded");
    if ((uint32_t)h->num_values > PQ_MAX_PAGE_VALUES)
        return col_error(r, c, off, err, NB_ERR_UNSUPPORTED, "dictionary page with too many values");
    if (c->leaf->phys == PQR_BOOLEAN) return col_error(r, c, off, err, NB_ERR_INVALID, "dictionary page for booleans");
    nb_status rc = inflate_into(r, c, body, (size_t)h->compressed_size, (size_t)h->uncompressed_size, true, &c->dict, off, err);
    if (rc != NB_OK) return rc;
    size_t n = (size_t)h->num_values;
    /* Every dictionary value takes at least one byte (4 for a byte array's length): a count beyond
     * the page's bytes is refused before anything is sized by it. */
    if (n > c->dict.len) return col_error(r, c, off, err, NB_ERR_INVALID, "dictionary claims more values than its bytes");
    int64_t *slots = realloc(c->dict_slots, (n ? n : 1) * sizeof *slots);
    if (slots) c->dict_slots = slots;
    struct pq_bv *bv = realloc(c->dict_bv, (n ? n : 1) * sizeof *bv);
    if (bv) c->dict_bv = bv;
    if (!slots || !bv) return nb_error_set(err, NB_ERR_NOMEM, "out of memory for a dictionary");
    size_t used;
    const uint8_t *d = (const uint8_t *)c->dict.data;
    rc = pq_decode_plain(c->leaf, d, c->dict.len, d, n, c->dict_slots, c->dict_bv, &used, err);
    if (rc != NB_OK) return col_prefix(r, c, off, err, rc);
    c->dict_n = (uint32_t)n;
    c->has_dict = true;
    return NB_OK;
}

/* Move to the column's next data page (dictionary and index pages on the way are taken/skipped). */
static nb_status next_page(struct nb_pq_reader *r, struct pq_col *c, struct nb_error *err)
{
    for (;;) {
        uint64_t off = c->chunk_off + c->pos;
        if (c->pos >= c->chunk.len)
            return col_error(r, c, off, err, NB_ERR_INVALID, "column chunk ends before the row group's rows");
        struct pq_page_header h;
        const uint8_t *chunk = (const uint8_t *)c->chunk.data;
        nb_status rc = pq_page_header_decode(&h, chunk + c->pos, c->chunk.len - c->pos, off, r->name, err);
        if (rc != NB_OK) return nb_error_prefix(err, "column '%s', row group %zu: ", col_name(c), r->rg);
        size_t body = c->pos + h.header_len;
        if ((size_t)h.compressed_size > c->chunk.len - body)
            return col_error(r, c, off, err, NB_ERR_INVALID, "page runs past its column chunk");
        const uint8_t *bp = chunk + body;
        c->pos = body + (size_t)h.compressed_size;
        if (h.type == PQR_DICTIONARY_PAGE) {
            if ((rc = read_dictionary(r, c, &h, bp, off, err)) != NB_OK) return rc;
            continue;
        }
        if (h.type != PQR_DATA_PAGE && h.type != PQR_DATA_PAGE_V2) continue;   /* index pages: nothing for us */
        if ((uint32_t)h.num_values > PQ_MAX_PAGE_VALUES)
            return col_error(r, c, off, err, NB_ERR_UNSUPPORTED, "page with more than 16Mi values");
        size_t n = (size_t)h.num_values;
        if (n == 0) continue;
        if (!col_reserve(c, n)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory for a page of %zu values", n);
        const uint8_t *vp;
        size_t vlen;
        if (h.type == PQR_DATA_PAGE) {
            rc = inflate_into(r, c, bp, (size_t)h.compressed_size, (size_t)h.uncompressed_size, true, &c->page, off, err);
            if (rc != NB_OK) return rc;
            vp = (const uint8_t *)c->page.data;
            vlen = c->page.len;
            if (c->leaf->optional) {
                if (h.def_encoding != PQR_ENC_RLE)
                    return col_error(r, c, off, err, NB_ERR_UNSUPPORTED, "definition levels not RLE encoded");
                if (vlen < 4 || pq_le32(vp) > vlen - 4)
                    return col_error(r, c, off, err, NB_ERR_INVALID, "definition levels' length beyond the page");
                size_t dl = pq_le32(vp);
                if ((rc = pq_decode_defs(c, vp + 4, dl, n, err)) != NB_OK) return col_prefix(r, c, off, err, rc);
                vp += 4 + dl;
                vlen -= 4 + dl;
            } else {
                c->nvals = (uint32_t)n;
                c->all_valid = true;
            }
        } else {
            if (h.rep_len != 0) return col_error(r, c, off, err, NB_ERR_UNSUPPORTED, "repetition levels in a flat column");
            size_t dl = (size_t)h.def_len;
            if (c->leaf->optional && dl > 0) {
                if ((rc = pq_decode_defs(c, bp, dl, n, err)) != NB_OK) return col_prefix(r, c, off, err, rc);
            } else if (h.num_nulls > 0) {
                return col_error(r, c, off, err, NB_ERR_INVALID, "page counts nulls but has no definition levels");
            } else {
                c->nvals = (uint32_t)n;
                c->all_valid = true;
            }
            size_t clen = (size_t)h.compressed_size - dl, ulen = (size_t)h.uncompressed_size - dl;
            bool compressed = h.is_compressed && c->cm->codec != NB_PQ_UNCOMPRESSED;
            rc = inflate_into(r, c, bp + dl, clen, compressed ? ulen : clen, compressed, &c->page, off, err);
            if (rc != NB_OK) return rc;
            vp = (const uint8_t *)c->page.data;
            vlen = c->page.len;
        }
        if ((rc = pq_decode_values(c, h.encoding, vp, vlen, err)) != NB_OK) return col_prefix(r, c, off, err, rc);
        c->n = (uint32_t)n;
        c->at = c->vat = 0;
        return NB_OK;
    }
}

static nb_status load_row_group(struct nb_pq_reader *r, struct nb_error *err)
{
    for (size_t i = 0; i < r->meta.n_leaves; i++) {
        struct pq_col *c = &r->cols[i];
        c->cm = &r->meta.row_groups[r->rg].cols[i];
        nb_status rc = read_chunk(r, c, err);
        if (rc != NB_OK) return rc;
    }
    r->rg_loaded = true;
    return NB_OK;
}

/* ---- values -> batch columns ---------------------------------------------------------------- */
static size_t format_nanos_ts(int64_t ns, bool utc, char *out)
{
    int64_t us = ns / 1000, rem = ns % 1000;
    if (rem < 0) {
        rem += 1000;
        us--;
    }
    size_t len = nb_value_format_timestamp(us, utc, out);
    if (rem == 0) return len;
    if (utc) len--;   /* the zone goes after the fraction */
    if (!memchr(out, '.', len)) {
        memcpy(out + len, ".000000", 7);
        len += 7;
    }
    len += (size_t)snprintf(out + len, 8, "%03d", (int)rem);
    if (utc) out[len++] = 'Z';
    out[len] = '\0';
    return len;
}

static size_t format_nanos_time(int64_t ns, char *out)
{
    if (ns < 0 || ns >= 86400000000000LL) return nb_value_format_i64(ns, out);
    size_t len = nb_value_format_time(ns / 1000, out);
    int rem = (int)(ns % 1000);
    if (rem == 0) return len;
    if (!memchr(out, '.', len)) {
        memcpy(out + len, ".000000", 7);
        len += 7;
    }
    len += (size_t)snprintf(out + len, 8, "%03d", rem);
    return len;
}

static bool bytes_decimal(const uint8_t *p, size_t n, __int128 *out)
{
    if (n == 0) return false;
    /* Big-endian two's complement; bytes beyond 16 must only repeat the sign. */
    size_t skip = n > 16 ? n - 16 : 0;
    uint8_t sign = (p[0] & 0x80) ? 0xff : 0;
    for (size_t i = 0; i < skip; i++)
        if (p[i] != sign) return false;
    if (skip && ((p[skip] & 0x80) ? 0xff : 0) != sign) return false;
    unsigned __int128 v = sign ? ~(unsigned __int128)0 : 0;
    for (size_t i = skip; i < n; i++) v = (v << 8) | p[i];
    *out = (__int128)v;
    return true;
}

static size_t format_uuid(const uint8_t *p, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[k++] = '-';
        out[k++] = hex[p[i] >> 4];
        out[k++] = hex[p[i] & 15];
    }
    return k;
}

static double slot_f64(int64_t s)
{
    double d;
    memcpy(&d, &s, 8);
    return d;
}

/* Copy rows [at, at + k) of the current page to column out. */
static nb_status emit(struct nb_pq_reader *r, struct pq_col *c, struct nb_column *out, size_t k, struct nb_error *err)
{
    const struct pq_leaf *l = c->leaf;
    char buf[64];
    for (size_t i = 0; i < k; i++) {
        size_t row = c->at + i;
        if (!c->all_valid && !c->defs[row]) {
            nb_column_append_null(out);
            continue;
        }
        size_t v = c->vat++;
        int64_t s = pq_is_bytes(l) ? 0 : c->slots[v];
        switch (l->kind) {
        case RK_BOOL: nb_column_append_bool(out, s != 0); break;
        case RK_I32:
        case RK_DATE: nb_column_append_i32(out, (int32_t)s); break;
        case RK_I64:
        case RK_TIME_US:
        case RK_TS_US: nb_column_append_i64(out, s); break;
        case RK_U32: nb_column_append_i64(out, (int64_t)(uint32_t)s); break;
        case RK_TIME_MS: nb_column_append_i64(out, s * 1000); break;   /* int32 millis: no overflow */
        case RK_TS_MS: {
            int64_t us;
            if (__builtin_mul_overflow(s, (int64_t)1000, &us))
                return nb_error_set(err, NB_ERR_INVALID, "%s: column '%s', row group %zu: timestamp %lld ms is out of range",
                                    r->name, col_name(c), r->rg, (long long)s);
            nb_column_append_i64(out, us);
            break;
        }
        case RK_F32:
        case RK_F64: nb_column_append_f64(out, slot_f64(s)); break;
        case RK_U64: nb_column_append_text(out, buf, nb_value_format_decimal((__int128)(uint64_t)s, 0, buf)); break;
        case RK_DEC_INT: nb_column_append_text(out, buf, nb_value_format_decimal((__int128)s, l->type.scale, buf)); break;
        case RK_TS_NS:
        case RK_INT96: nb_column_append_text(out, buf, format_nanos_ts(s, l->type.utc, buf)); break;
        case RK_TIME_NS: nb_column_append_text(out, buf, format_nanos_time(s, buf)); break;
        case RK_DEC_BYTES: {
            __int128 d;
            const struct pq_bv *bv = &c->bvs[v];
            if (!bytes_decimal((const uint8_t *)c->base + bv->off, bv->len, &d))
                return nb_error_set(err, NB_ERR_INVALID, "%s: column '%s', row group %zu: decimal of %u bytes does not fit 38 digits",
                                    r->name, col_name(c), r->rg, bv->len);
            nb_column_append_text(out, buf, nb_value_format_decimal(d, l->type.scale, buf));
            break;
        }
        case RK_UUID: nb_column_append_text(out, buf, format_uuid((const uint8_t *)c->base + c->bvs[v].off, buf)); break;
        case RK_TEXT:
        case RK_BINARY: nb_column_append_text(out, c->base + c->bvs[v].off, c->bvs[v].len); break;
        }
    }
    c->at += (uint32_t)k;
    return NB_OK;
}

static void skip_rows(struct pq_col *c, size_t k)
{
    if (c->all_valid) {
        c->vat += (uint32_t)k;
    } else {
        for (size_t i = 0; i < k; i++) c->vat += c->defs[c->at + i];
    }
    c->at += (uint32_t)k;
}

/* ---- the reader ----------------------------------------------------------------------------- */
void nb_pq_reader_destroy(struct nb_pq_reader *r)
{
    if (!r) return;
    for (size_t i = 0; r->cols && i < r->meta.n_leaves; i++) {
        struct pq_col *c = &r->cols[i];
        nb_buf_cleanup(&c->chunk);
        nb_buf_cleanup(&c->dict);
        nb_buf_cleanup(&c->page);
        nb_buf_cleanup(&c->mat);
        free(c->dict_slots);
        free(c->dict_bv);
        free(c->defs);
        free(c->slots);
        free(c->scratch);
        free(c->bvs);
        free(c->idx);
    }
    free(r->cols);
    free(r->own);
    pq_dctx_destroy(r->dctx);
    nb_schema_release(r->schema);
    pq_meta_cleanup(&r->meta);
    free(r->name);
    free(r);
}

nb_status nb_pq_reader_open(struct nb_pq_reader **out, const struct nb_pq_input *in, struct nb_error *err)
{
    *out = NULL;
    struct nb_pq_reader *r = calloc(1, sizeof *r);
    if (!r) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    r->in = *in;
    r->name = strdup(in->name ? in->name : "parquet");
    r->dctx = pq_dctx_create();
    uint8_t *footer = NULL;
    nb_status rc;
    if (!r->name || !r->dctx) {
        rc = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    r->in.name = r->name;
    uint64_t size = in->size;
    if (size < 12) {
        rc = nb_error_set(err, NB_ERR_INVALID, "%s: not a Parquet file (%llu bytes, too short for the magic and footer)",
                          r->name, (unsigned long long)size);
        goto fail;
    }
    uint8_t head[4], tail[8];
    if ((rc = in->read_at(in->ctx, 0, head, 4, err)) != NB_OK || (rc = in->read_at(in->ctx, size - 8, tail, 8, err)) != NB_OK)
        goto fail;
    if (memcmp(head, "PAR1", 4) != 0) {
        rc = nb_error_set(err, NB_ERR_INVALID, "%s: not a Parquet file (no PAR1 magic at offset 0)", r->name);
        goto fail;
    }
    if (memcmp(tail + 4, "PAR1", 4) != 0) {
        rc = nb_error_set(err, NB_ERR_INVALID,
                          "%s: no PAR1 magic at the end (offset %llu): the file is truncated or not Parquet%s", r->name,
                          (unsigned long long)(size - 4), memcmp(tail + 4, "PARE", 4) == 0 ? " (encrypted footers are not supported)" : "");
        goto fail;
    }
    uint32_t mlen = pq_le32(tail);
    if (mlen == 0 || (uint64_t)mlen > size - 12) {
        rc = nb_error_set(err, NB_ERR_INVALID, "%s: footer length %u does not fit the file's %llu bytes (at offset %llu)",
                          r->name, mlen, (unsigned long long)size, (unsigned long long)(size - 8));
        goto fail;
    }
    uint64_t moff = size - 8 - mlen;
    footer = malloc(mlen);
    if (!footer) {
        rc = nb_error_set(err, NB_ERR_NOMEM, "out of memory for a %u-byte footer", mlen);
        goto fail;
    }
    if ((rc = in->read_at(in->ctx, moff, footer, mlen, err)) != NB_OK) goto fail;
    if ((rc = pq_meta_decode(&r->meta, footer, mlen, moff, moff, r->name, err)) != NB_OK) goto fail;
    free(footer);
    footer = NULL;
    r->schema = nb_schema_create();
    r->cols = calloc(r->meta.n_leaves ? r->meta.n_leaves : 1, sizeof *r->cols);
    if (!r->schema || !r->cols) {
        rc = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < r->meta.n_leaves; i++) {
        const struct pq_leaf *l = &r->meta.leaves[i];
        if (nb_schema_find(r->schema, l->name) >= 0) {
            rc = nb_error_set(err, NB_ERR_INVALID, "%s: column '%s' appears twice", r->name, l->name);
            goto fail;
        }
        if (nb_schema_add(r->schema, l->name, l->type, l->optional) < 0) {
            rc = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            goto fail;
        }
        r->cols[i].leaf = l;
        r->cols[i].index = i;
        nb_buf_init(&r->cols[i].chunk);
        nb_buf_init(&r->cols[i].dict);
        nb_buf_init(&r->cols[i].page);
        nb_buf_init(&r->cols[i].mat);
    }
    *out = r;
    return NB_OK;
fail:
    free(footer);
    nb_pq_reader_destroy(r);
    return rc;
}

struct mem_input {
    const uint8_t *data;
    size_t len;
};

static nb_status mem_read_at(void *ctx, uint64_t offset, void *dst, size_t n, struct nb_error *err)
{
    const struct mem_input *m = ctx;
    if (offset > m->len || n > m->len - offset)
        return nb_error_set(err, NB_ERR_INVALID, "read of %zu bytes at offset %llu beyond the %zu-byte file", n,
                            (unsigned long long)offset, m->len);
    if (n) memcpy(dst, m->data + offset, n);
    return NB_OK;
}

nb_status nb_pq_reader_open_memory(struct nb_pq_reader **out, const void *data, size_t len, const char *name,
                                   struct nb_error *err)
{
    struct mem_input *m = malloc(sizeof *m);
    if (!m) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    m->data = data;
    m->len = len;
    struct nb_pq_input in = {m, mem_read_at, len, name};
    nb_status rc = nb_pq_reader_open(out, &in, err);
    if (rc != NB_OK) {
        free(m);
        return rc;
    }
    (*out)->own = m;   /* freed with the reader */
    return NB_OK;
}

struct nb_schema *nb_pq_reader_schema(const struct nb_pq_reader *r) { return r->schema; }
uint64_t nb_pq_reader_num_rows(const struct nb_pq_reader *r) { return (uint64_t)r->meta.num_rows; }
size_t nb_pq_reader_row_groups(const struct nb_pq_reader *r) { return r->meta.n_row_groups; }

const char *nb_pq_reader_meta(const struct nb_pq_reader *r, const char *key)
{
    for (size_t i = 0; i < r->meta.n_kv; i++)
        if (strcmp(r->meta.kv_keys[i], key) == 0) return r->meta.kv_values[i];
    return NULL;
}

void nb_pq_reader_tell(const struct nb_pq_reader *r, size_t *rg, uint64_t *row)
{
    *rg = r->rg;
    *row = r->rg_row;
}

struct nb_batch *nb_pq_reader_batch_create(const struct nb_pq_reader *r, size_t rows)
{
    struct nb_batch *b = nb_batch_create(r->schema, 0);
    if (!b) return NULL;
    for (size_t i = 0; i < r->meta.n_leaves; i++) {
        switch (r->meta.leaves[i].kind) {
        case RK_BOOL: case RK_I32: case RK_I64: case RK_U32: case RK_F32: case RK_F64: case RK_DATE:
        case RK_TIME_MS: case RK_TIME_US: case RK_TS_MS: case RK_TS_US:
            nb_batch_set_repr(b, i, NB_REPR_NATIVE);
            break;
        default: break;
        }
    }
    if (rows && nb_batch_reserve(b, rows, NULL) != NB_OK) {
        nb_batch_destroy(b);
        return NULL;
    }
    return b;
}

/* Past empty row groups to one with rows left (or the end). */
static void settle(struct nb_pq_reader *r)
{
    while (r->rg < r->meta.n_row_groups && r->rg_row >= (uint64_t)r->meta.row_groups[r->rg].num_rows) {
        r->rg++;
        r->rg_row = 0;
        r->rg_loaded = false;
    }
}

nb_status nb_pq_reader_seek(struct nb_pq_reader *r, size_t rg, uint64_t row, struct nb_error *err)
{
    if (rg > r->meta.n_row_groups || (rg < r->meta.n_row_groups && row > (uint64_t)r->meta.row_groups[rg].num_rows) ||
        (rg == r->meta.n_row_groups && row != 0))
        return nb_error_set(err, NB_ERR_INVALID, "%s: position row group %zu, row %llu is not in the file (%zu row groups)",
                            r->name, rg, (unsigned long long)row, r->meta.n_row_groups);
    r->rg = rg;
    r->rg_row = row;
    r->rg_loaded = false;
    if (rg == r->meta.n_row_groups || row >= (uint64_t)r->meta.row_groups[rg].num_rows) {
        settle(r);
        return NB_OK;
    }
    if (row == 0) return NB_OK;
    nb_status rc = load_row_group(r, err);
    if (rc != NB_OK) return rc;
    for (size_t i = 0; i < r->meta.n_leaves; i++) {
        struct pq_col *c = &r->cols[i];
        uint64_t left = row;
        while (left > 0) {
            if (c->at == c->n && (rc = next_page(r, c, err)) != NB_OK) return rc;
            size_t k = c->n - c->at < left ? c->n - c->at : (size_t)left;
            skip_rows(c, k);
            left -= k;
        }
    }
    return NB_OK;
}

nb_status nb_pq_reader_next(struct nb_pq_reader *r, struct nb_batch *b, size_t max_rows, struct nb_error *err)
{
    settle(r);
    if (r->rg >= r->meta.n_row_groups) return NB_DONE;
    nb_status rc;
    if (!r->rg_loaded && (rc = load_row_group(r, err)) != NB_OK) return rc;
    uint64_t left_in_rg = (uint64_t)r->meta.row_groups[r->rg].num_rows - r->rg_row;
    size_t want = left_in_rg < max_rows ? (size_t)left_in_rg : max_rows;
    if ((rc = nb_batch_reserve(b, b->n_rows + want, err)) != NB_OK) return rc;
    for (size_t i = 0; i < r->meta.n_leaves; i++) {
        struct pq_col *c = &r->cols[i];
        size_t left = want;
        while (left > 0) {
            if (c->at == c->n && (rc = next_page(r, c, err)) != NB_OK) return rc;
            size_t k = c->n - c->at < left ? c->n - c->at : left;
            if ((rc = emit(r, c, &b->cols[i], k, err)) != NB_OK) return rc;
            left -= k;
        }
    }
    b->n_rows += want;
    r->rg_row += want;
    if (r->rg_row >= (uint64_t)r->meta.row_groups[r->rg].num_rows) {
        /* The row group's pages must end with its rows: more values would be a corrupt file. */
        for (size_t i = 0; i < r->meta.n_leaves; i++) {
            struct pq_col *c = &r->cols[i];
            if (c->at != c->n)
                return col_error(r, c, c->chunk_off + c->pos, err, NB_ERR_INVALID, "page holds more rows than the row group");
        }
        settle(r);
    }
    return nb_batch_check(b, err);
}
