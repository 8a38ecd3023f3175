/* The streaming Parquet writer: batches are cut into row groups (by rows or buffered bytes); a row
 * group is written as soon as it is full, so memory is bounded by one row group's encoded pages.
 * The footer (FileMetaData, Thrift compact) and the page indexes are written by finish: a file
 * without them is no valid Parquet file, and the ostream's partial name covers the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/parquet/column.h"

#define PQ_SLICE_ROWS 1024   /* rows per column pass at most, between two row-group byte checks */
#define PQ_FIRST_SLICE 64    /* before anything tells how large a row is */

struct pq_chunk_meta {
    uint64_t start, data_page_offset, dict_page_offset;
    bool has_dict;
    uint64_t uncompressed, compressed, values, nulls;
    unsigned enc_mask;
    char *min, *max;               /* NULL: no min/max */
    uint32_t min_len, max_len;
    char *column_index, *offset_index;   /* serialized page index (column_index may be NULL) */
    size_t ci_len, oi_len;
    uint64_t ci_offset, oi_offset;
};

struct pq_rg {
    uint64_t rows, uncompressed, compressed, file_offset;
    struct pq_chunk_meta *chunks;
};

struct nb_parquet_writer {
    struct nb_parquet_options opt;
    struct pq_ctx x;
    struct nb_ostream *os;
    struct nb_schema *schema;
    struct pq_col *cols;
    size_t ncols;
    uint64_t pos;          /* bytes written to os */
    uint64_t rg_rows;      /* rows in the open row group */
    uint64_t rows;         /* rows accepted */
    struct pq_rg *rgs;
    size_t n_rgs, cap_rgs;
    bool broken;           /* an error left the buffers inconsistent: refuse further work */
    struct nb_buf scratch, tmp;
    /* The row-group byte check runs at row counts that depend on the rows alone, never on how
     * they came in batches, so the file is the same for any batch size: next_check is the rg_rows
     * of the next one, set from the bytes a row took so far (bpr), so one slice adds about half of
     * the room left at most. */
    uint64_t next_check, bpr;
    struct nb_buf enc;     /* a batch encoded here when the caller brought no encoding */
    struct pq_enc_col *view;   /* per column: the current batch's encoded values */
};

void nb_parquet_options_default(struct nb_parquet_options *o)
{
    o->codec = NB_PQ_SNAPPY;
    o->level = 0;
    o->row_group_rows = 1048576;
    o->row_group_bytes = 128ull << 20;
    o->page_size = 1u << 20;
    o->page_rows = 20000;
    o->dictionary = true;
    o->dictionary_page_size = 1u << 20;
    o->page_index = true;
}

bool nb_parquet_codec_parse(const char *name, enum nb_parquet_codec *out)
{
    static const struct { const char *name; enum nb_parquet_codec c; } map[] = {
        {"none", NB_PQ_UNCOMPRESSED}, {"uncompressed", NB_PQ_UNCOMPRESSED}, {"snappy", NB_PQ_SNAPPY},
        {"gzip", NB_PQ_GZIP}, {"zstd", NB_PQ_ZSTD}, {"lz4_raw", NB_PQ_LZ4_RAW},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(name, map[i].name) == 0) {
            *out = map[i].c;
            return true;
        }
    return false;
}

static nb_status out_write(struct nb_parquet_writer *w, const void *p, size_t n, struct nb_error *err)
{
    nb_status st = nb_ostream_write(w->os, p, n, err);
    if (st != NB_OK) return st;
    w->pos += n;
    return NB_OK;
}

nb_status nb_parquet_writer_open(struct nb_parquet_writer **out, const struct nb_parquet_options *opt,
                                 struct nb_ostream *os, struct nb_schema *schema, struct nb_error *err)
{
    *out = NULL;
    if (!schema) return nb_error_set(err, NB_ERR_INTERNAL, "parquet: a writer needs a schema");
    if (opt->page_rows < 1 || opt->row_group_rows < 1 || opt->page_size < 1)
        return nb_error_set(err, NB_ERR_CONFIG, "parquet: row_group_size and page_size must be at least 1");
    struct nb_parquet_writer *w = calloc(1, sizeof *w);
    if (!w) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
    w->opt = *opt;
    pq_ctx_init(&w->x, &w->opt);
    nb_buf_init(&w->scratch);
    nb_buf_init(&w->tmp);
    w->os = os;
    w->schema = nb_schema_retain(schema);
    nb_status st;
    w->ncols = schema->n_fields;
    nb_buf_init(&w->enc);
    w->cols = calloc(w->ncols ? w->ncols : 1, sizeof *w->cols);
    w->view = calloc(w->ncols ? w->ncols : 1, sizeof *w->view);
    if (!w->cols || !w->view) {
        st = nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < w->ncols; i++)
        if ((st = pq_col_init(&w->cols[i], &schema->fields[i], &w->opt, err)) != NB_OK) goto fail;
    if ((st = out_write(w, "PAR1", 4, err)) != NB_OK) goto fail;
    *out = w;
    return NB_OK;
fail:
    nb_parquet_writer_destroy(w);
    return st;
}

static void chunk_meta_free(struct pq_chunk_meta *m)
{
    free(m->min);
    free(m->max);
    free(m->column_index);
    free(m->offset_index);
}

void nb_parquet_writer_destroy(struct nb_parquet_writer *w)
{
    if (!w) return;
    pq_ctx_cleanup(&w->x);   /* first: its threads may still read the columns' dictionaries */
    for (size_t i = 0; w->cols && i < w->ncols; i++) pq_col_cleanup(&w->cols[i]);
    free(w->cols);
    free(w->view);
    nb_buf_cleanup(&w->enc);
    for (size_t r = 0; r < w->n_rgs; r++) {
        for (size_t i = 0; i < w->ncols; i++) chunk_meta_free(&w->rgs[r].chunks[i]);
        free(w->rgs[r].chunks);
    }
    free(w->rgs);
    nb_buf_cleanup(&w->scratch);
    nb_buf_cleanup(&w->tmp);
    nb_schema_release(w->schema);
    free(w);
}

uint64_t nb_parquet_writer_rows(const struct nb_parquet_writer *w) { return w->rows; }
size_t nb_parquet_writer_row_groups(const struct nb_parquet_writer *w) { return w->n_rgs; }

static char *dup_buf(const struct nb_buf *b, uint32_t *len)
{
    char *p = malloc(b->len ? b->len : 1);
    if (p && b->len) memcpy(p, b->data, b->len);
    *len = (uint32_t)b->len;
    return p;
}

static char *take_bytes(struct nb_buf *b, size_t *len)
{
    char *p = malloc(b->len ? b->len : 1);
    if (p && b->len) memcpy(p, b->data, b->len);
    *len = b->len;
    return p;
}

/* The page indexes of one chunk, serialized now that its page offsets are final. */
static nb_status chunk_page_index(struct nb_parquet_writer *w, struct pq_col *c, struct pq_chunk_meta *m,
                                  struct nb_error *err)
{
    struct pq_thrift t;
    struct nb_buf *b = &w->scratch;
    nb_buf_reset(b);
    pq_thrift_init(&t, b);
    pq_thrift_begin(&t);
    pq_thrift_list(&t, 1, PQ_T_STRUCT, c->n_pages);
    for (size_t i = 0; i < c->n_pages; i++) {
        pq_thrift_begin(&t);
        pq_thrift_i64(&t, 1, (int64_t)(m->data_page_offset + c->pages[i].offset));
        pq_thrift_i32(&t, 2, (int32_t)c->pages[i].size);
        pq_thrift_i64(&t, 3, (int64_t)c->pages[i].first_row);
        pq_thrift_end(&t);
    }
    pq_thrift_end(&t);
    nb_status st = nb_buf_status(b, err);
    if (st != NB_OK) return st;
    if (!(m->offset_index = take_bytes(b, &m->oi_len))) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
    if (!c->ci_valid) return NB_OK;
    nb_buf_reset(b);
    pq_thrift_begin(&t);
    pq_thrift_list(&t, 1, PQ_T_BOOL_TRUE, c->n_pages);
    for (size_t i = 0; i < c->n_pages; i++) pq_thrift_elem_bool(&t, c->ci[i].null_page);
    const char *base = c->ci_bytes.data ? c->ci_bytes.data : "";   /* no data yet: all pages null */
    pq_thrift_list(&t, 2, PQ_T_BINARY, c->n_pages);
    for (size_t i = 0; i < c->n_pages; i++)
        pq_thrift_elem_binary(&t, base + c->ci[i].min_off, c->ci[i].null_page ? 0 : c->ci[i].min_len);
    pq_thrift_list(&t, 3, PQ_T_BINARY, c->n_pages);
    for (size_t i = 0; i < c->n_pages; i++)
        pq_thrift_elem_binary(&t, base + c->ci[i].max_off, c->ci[i].null_page ? 0 : c->ci[i].max_len);
    pq_thrift_i32(&t, 4, 0);   /* boundary_order UNORDERED */
    pq_thrift_list(&t, 5, PQ_T_I64, c->n_pages);
    for (size_t i = 0; i < c->n_pages; i++) pq_thrift_elem_i64(&t, (int64_t)c->ci[i].nulls);
    pq_thrift_end(&t);
    if ((st = nb_buf_status(b, err)) != NB_OK) return st;
    if (!(m->column_index = take_bytes(b, &m->ci_len))) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
    return NB_OK;
}

static nb_status flush_row_group(struct nb_parquet_writer *w, struct nb_error *err)
{
    if (w->rg_rows == 0) return NB_OK;
    nb_status st;
    if (w->n_rgs == w->cap_rgs) {
        size_t cap = w->cap_rgs ? w->cap_rgs * 2 : 8;
        struct pq_rg *r = realloc(w->rgs, cap * sizeof *r);
        if (!r) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
        w->rgs = r;
        w->cap_rgs = cap;
    }
    struct pq_rg *rg = &w->rgs[w->n_rgs];
    memset(rg, 0, sizeof *rg);
    rg->chunks = calloc(w->ncols ? w->ncols : 1, sizeof *rg->chunks);
    if (!rg->chunks) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
    w->n_rgs++;   /* counted now so destroy frees its chunks whatever happens below */
    rg->file_offset = w->pos;
    rg->rows = w->rg_rows;
    for (size_t i = 0; i < w->ncols; i++)
        if ((st = pq_col_finish_chunk(&w->x, &w->cols[i], err)) != NB_OK) return st;
    if ((st = pq_ctx_drain(&w->x, err)) != NB_OK) return st;
    for (size_t i = 0; i < w->ncols; i++) {
        struct pq_col *c = &w->cols[i];
        struct pq_chunk_meta *m = &rg->chunks[i];
        m->start = w->pos;
        if (c->dictpage.len) {
            m->has_dict = true;
            m->dict_page_offset = w->pos;
            if ((st = out_write(w, c->dictpage.data, c->dictpage.len, err)) != NB_OK) return st;
        }
        m->data_page_offset = w->pos;
        if ((st = out_write(w, c->chunk.data, c->chunk.len, err)) != NB_OK) return st;
        m->uncompressed = c->uncompressed;
        m->compressed = c->compressed;
        m->values = c->values;
        m->nulls = c->st.nulls;
        m->enc_mask = c->enc_mask | (1u << PQ_ENC_RLE);
        if (pq_stats_value(c, &c->st, false, &w->tmp)) {
            if (!(m->min = dup_buf(&w->tmp, &m->min_len))) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
            pq_stats_value(c, &c->st, true, &w->tmp);
            if (!(m->max = dup_buf(&w->tmp, &m->max_len))) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory");
        }
        if (w->opt.page_index && (st = chunk_page_index(w, c, m, err)) != NB_OK) return st;
        rg->uncompressed += m->uncompressed;
        rg->compressed += m->compressed;
        pq_col_reset_chunk(c);
    }
    w->rg_rows = 0;
    w->next_check = 0;
    return NB_OK;
}

static size_t buffered_bytes(const struct nb_parquet_writer *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->ncols; i++) n += pq_col_buffered(&w->cols[i]);
    return n;
}

static nb_status schema_mismatch(const struct nb_parquet_writer *w, const struct nb_schema *s, struct nb_error *err)
{
    size_t n = s->n_fields < w->schema->n_fields ? s->n_fields : w->schema->n_fields;
    for (size_t i = 0; i < n; i++) {
        const struct nb_field *a = &w->schema->fields[i], *b = &s->fields[i];
        if (strcmp(a->name, b->name) != 0 || a->type.id != b->type.id || a->type.precision != b->type.precision ||
            a->type.scale != b->type.scale || a->type.utc != b->type.utc || a->nullable != b->nullable) {
            char ta[48], tb[48];
            nb_type_format(a->type, ta, sizeof ta);
            nb_type_format(b->type, tb, sizeof tb);
            return nb_error_set(err, NB_ERR_UNSUPPORTED, "parquet: column %zu changed from '%s' %s%s to '%s' %s%s within "
                                "one file; a Parquet file has one schema: choose schema.on_new_column: fail|ignore or "
                                "write the stream to a new file", i + 1, a->name, ta, a->nullable ? "" : " not null",
                                b->name, tb, b->nullable ? "" : " not null");
        }
    }
    const char *extra = s->n_fields > n ? s->fields[n].name : w->schema->fields[n].name;
    return nb_error_set(err, NB_ERR_UNSUPPORTED, "parquet: column '%s' %s within one file; a Parquet file has one schema: "
                        "choose schema.on_new_column: fail|ignore or write the stream to a new file", extra,
                        s->n_fields > n ? "appeared" : "disappeared");
}

nb_status nb_parquet_encode(const struct nb_parquet_options *opt, const struct nb_batch *b, struct nb_buf *out)
{
    if (!b->schema || b->n_rows == 0) return NB_DONE;
    return pq_encode_batch(opt, b, 0, out, NULL) == NB_OK ? NB_OK : NB_DONE;
}

/* Whether the encoding fits this writer's columns (same options: hashes where a dictionary may be). */
static bool view_usable(struct nb_parquet_writer *w, const struct nb_batch *b, const struct nb_buf *encoded)
{
    if (!encoded || !pq_enc_view(encoded, b, w->ncols, w->view)) return false;
    for (size_t i = 0; i < w->ncols; i++) {
        const struct pq_col *c = &w->cols[i];
        size_t width = pq_kind_width(c->kind, c->type_length);
        if ((c->dict_ok && !w->view[i].hash) || w->view[i].width != width || (width && !w->view[i].vals))
            return false;
    }
    return true;
}

/* Rows until the next row-group byte check, with `bytes` buffered now. */
static uint64_t check_step(const struct nb_parquet_writer *w, size_t bytes)
{
    if (w->bpr == 0) return PQ_FIRST_SLICE;
    uint64_t left = w->opt.row_group_bytes > bytes ? w->opt.row_group_bytes - bytes : 0;
    uint64_t step = left / (2 * w->bpr);
    return step < 1 ? 1 : step > PQ_SLICE_ROWS ? PQ_SLICE_ROWS : step;
}

nb_status nb_parquet_writer_write(struct nb_parquet_writer *w, const struct nb_batch *b, struct nb_error *err)
{
    return nb_parquet_writer_write_encoded(w, b, NULL, err);
}

nb_status nb_parquet_writer_write_encoded(struct nb_parquet_writer *w, const struct nb_batch *b,
                                          const struct nb_buf *encoded, struct nb_error *err)
{
    if (w->broken) return nb_error_set(err, NB_ERR_INTERNAL, "parquet: the writer already failed; the file is abandoned");
    if (b->n_rows == 0) return NB_OK;
    if (!nb_schema_equal(b->schema, w->schema)) return schema_mismatch(w, b->schema, err);
    nb_status st = NB_OK;
    if (!view_usable(w, b, encoded)) {
        /* No usable encoding from a worker (none, or a value it could not take): encode here,
         * where the stream row number is known for the message. */
        if ((st = pq_encode_batch(&w->opt, b, w->rows, &w->enc, err)) != NB_OK) goto fail;
        if (!view_usable(w, b, &w->enc)) {
            st = nb_error_set(err, NB_ERR_INTERNAL, "parquet: a batch encoding does not match its writer");
            goto fail;
        }
    }
    size_t r = 0;
    while (r < b->n_rows) {
        if (w->next_check <= w->rg_rows) w->next_check = w->rg_rows + check_step(w, 0);
        uint64_t room = w->opt.row_group_rows - w->rg_rows;
        uint64_t to_slice = w->next_check - w->rg_rows;
        size_t take = b->n_rows - r;
        if (take > room) take = (size_t)room;
        if (take > to_slice) take = (size_t)to_slice;
        for (size_t i = 0; i < w->ncols; i++)
            if ((st = pq_col_append(&w->x, &w->cols[i], &b->cols[i], &w->view[i], r, r + take, err)) != NB_OK) goto fail;
        r += take;
        w->rg_rows += take;
        w->rows += take;
        if (w->rg_rows >= w->opt.row_group_rows) {
            if ((st = flush_row_group(w, err)) != NB_OK) goto fail;
        } else if (w->rg_rows == w->next_check) {
            size_t bytes = buffered_bytes(w);
            w->bpr = bytes / w->rg_rows;
            if (bytes >= w->opt.row_group_bytes) {
                if ((st = flush_row_group(w, err)) != NB_OK) goto fail;
            } else {
                w->next_check = w->rg_rows + check_step(w, bytes);
            }
        }
    }
    return NB_OK;
fail:
    w->broken = true;
    return st;
}

nb_status nb_parquet_writer_flush(struct nb_parquet_writer *w, struct nb_error *err)
{
    if (w->broken) return nb_error_set(err, NB_ERR_INTERNAL, "parquet: the writer already failed; the file is abandoned");
    nb_status st = flush_row_group(w, err);
    if (st != NB_OK) w->broken = true;
    return st;
}

/* ---- footer ----------------------------------------------------------------------------------- */
static void write_schema_element(struct pq_thrift *t, const struct pq_col *c)
{
    pq_thrift_begin(t);
    pq_thrift_i32(t, 1, c->phys);
    if (c->phys == PQ_FLBA) pq_thrift_i32(t, 2, c->type_length);
    pq_thrift_i32(t, 3, c->optional ? 1 : 0);
    pq_thrift_string(t, 4, c->name);
    switch (c->kind) {
    case PK_NULL:
        pq_thrift_struct(t, 10);
        pq_thrift_struct(t, 11);   /* UNKNOWN (always null) */
        pq_thrift_end(t);
        pq_thrift_end(t);
        break;
    case PK_DEC32:
    case PK_DEC64:
    case PK_DECFIX:
        pq_thrift_i32(t, 6, 5);   /* DECIMAL */
        pq_thrift_i32(t, 7, c->type.scale);
        pq_thrift_i32(t, 8, c->type.precision);
        pq_thrift_struct(t, 10);
        pq_thrift_struct(t, 5);
        pq_thrift_i32(t, 1, c->type.scale);
        pq_thrift_i32(t, 2, c->type.precision);
        pq_thrift_end(t);
        pq_thrift_end(t);
        break;
    case PK_STRING:
        pq_thrift_i32(t, 6, 0);   /* UTF8 */
        pq_thrift_struct(t, 10);
        pq_thrift_struct(t, 1);
        pq_thrift_end(t);
        pq_thrift_end(t);
        break;
    case PK_BYTES:
        if (c->type.id == NB_TYPE_JSON) {
            pq_thrift_i32(t, 6, 19);   /* JSON */
            pq_thrift_struct(t, 10);
            pq_thrift_struct(t, 12);
            pq_thrift_end(t);
            pq_thrift_end(t);
        }
        break;
    case PK_DATE:
        pq_thrift_i32(t, 6, 6);   /* DATE */
        pq_thrift_struct(t, 10);
        pq_thrift_struct(t, 6);
        pq_thrift_end(t);
        pq_thrift_end(t);
        break;
    case PK_TIME:
    case PK_TS: {
        bool utc = c->kind == PK_TS && c->type.utc;
        /* Converted types imply UTC-adjusted values: only set them then. */
        if (utc) pq_thrift_i32(t, 6, 10);   /* TIMESTAMP_MICROS */
        pq_thrift_struct(t, 10);
        pq_thrift_struct(t, c->kind == PK_TS ? 8 : 7);
        pq_thrift_bool(t, 1, utc);
        pq_thrift_struct(t, 2);
        pq_thrift_struct(t, 2);   /* MICROS */
        pq_thrift_end(t);
        pq_thrift_end(t);
        pq_thrift_end(t);
        pq_thrift_end(t);
        break;
    }
    default:
        break;
    }
    pq_thrift_end(t);
}

static void write_column_chunk(struct pq_thrift *t, const struct nb_parquet_writer *w, const struct pq_col *c,
                               const struct pq_chunk_meta *m)
{
    pq_thrift_begin(t);
    pq_thrift_i64(t, 2, (int64_t)m->start);
    pq_thrift_struct(t, 3);
    pq_thrift_i32(t, 1, c->phys);
    size_t nenc = 0;
    for (unsigned e = 0; e < 32; e++) nenc += (m->enc_mask >> e) & 1;
    pq_thrift_list(t, 2, PQ_T_I32, nenc);
    for (unsigned e = 0; e < 32; e++)
        if ((m->enc_mask >> e) & 1) pq_thrift_elem_i32(t, (int32_t)e);
    pq_thrift_list(t, 3, PQ_T_BINARY, 1);
    pq_thrift_elem_binary(t, c->name, strlen(c->name));
    pq_thrift_i32(t, 4, w->opt.codec);
    pq_thrift_i64(t, 5, (int64_t)m->values);
    pq_thrift_i64(t, 6, (int64_t)m->uncompressed);
    pq_thrift_i64(t, 7, (int64_t)m->compressed);
    pq_thrift_i64(t, 9, (int64_t)m->data_page_offset);
    if (m->has_dict) pq_thrift_i64(t, 11, (int64_t)m->dict_page_offset);
    pq_thrift_struct(t, 12);
    pq_thrift_i64(t, 3, (int64_t)m->nulls);
    if (m->min) {
        pq_thrift_binary(t, 5, m->max, m->max_len);
        pq_thrift_binary(t, 6, m->min, m->min_len);
    }
    pq_thrift_end(t);
    pq_thrift_end(t);   /* ColumnMetaData */
    if (m->offset_index) {
        pq_thrift_i64(t, 4, (int64_t)m->oi_offset);
        pq_thrift_i32(t, 5, (int32_t)m->oi_len);
    }
    if (m->column_index) {
        pq_thrift_i64(t, 6, (int64_t)m->ci_offset);
        pq_thrift_i32(t, 7, (int32_t)m->ci_len);
    }
    pq_thrift_end(t);
}

static void write_kv(struct pq_thrift *t, const char *key, const char *value, size_t value_len)
{
    pq_thrift_begin(t);
    pq_thrift_string(t, 1, key);
    pq_thrift_binary(t, 2, value, value_len);
    pq_thrift_end(t);
}

nb_status nb_parquet_writer_finish(struct nb_parquet_writer *w, struct nb_error *err)
{
    if (w->broken) return nb_error_set(err, NB_ERR_INTERNAL, "parquet: the writer already failed; the file is abandoned");
    nb_status st = flush_row_group(w, err);
    if (st != NB_OK) goto fail;
    /* Page indexes go between the row groups and the footer: column indexes, then offset indexes. */
    for (size_t r = 0; r < w->n_rgs; r++)
        for (size_t i = 0; i < w->ncols; i++) {
            struct pq_chunk_meta *m = &w->rgs[r].chunks[i];
            if (!m->column_index) continue;
            m->ci_offset = w->pos;
            if ((st = out_write(w, m->column_index, m->ci_len, err)) != NB_OK) goto fail;
        }
    for (size_t r = 0; r < w->n_rgs; r++)
        for (size_t i = 0; i < w->ncols; i++) {
            struct pq_chunk_meta *m = &w->rgs[r].chunks[i];
            if (!m->offset_index) continue;
            m->oi_offset = w->pos;
            if ((st = out_write(w, m->offset_index, m->oi_len, err)) != NB_OK) goto fail;
        }

    struct nb_buf *b = &w->scratch;
    nb_buf_reset(b);
    struct pq_thrift t;
    pq_thrift_init(&t, b);
    pq_thrift_begin(&t);
    pq_thrift_i32(&t, 1, 1);
    pq_thrift_list(&t, 2, PQ_T_STRUCT, w->ncols + 1);
    pq_thrift_begin(&t);
    pq_thrift_string(&t, 4, "schema");
    pq_thrift_i32(&t, 5, (int32_t)w->ncols);
    pq_thrift_end(&t);
    for (size_t i = 0; i < w->ncols; i++) write_schema_element(&t, &w->cols[i]);
    pq_thrift_i64(&t, 3, (int64_t)w->rows);
    pq_thrift_list(&t, 4, PQ_T_STRUCT, w->n_rgs);
    for (size_t r = 0; r < w->n_rgs; r++) {
        const struct pq_rg *rg = &w->rgs[r];
        pq_thrift_begin(&t);
        pq_thrift_list(&t, 1, PQ_T_STRUCT, w->ncols);
        for (size_t i = 0; i < w->ncols; i++) write_column_chunk(&t, w, &w->cols[i], &rg->chunks[i]);
        pq_thrift_i64(&t, 2, (int64_t)rg->uncompressed);
        pq_thrift_i64(&t, 3, (int64_t)rg->rows);
        pq_thrift_i64(&t, 5, (int64_t)rg->file_offset);
        pq_thrift_i64(&t, 6, (int64_t)rg->compressed);
        pq_thrift_end(&t);
    }
    nb_buf_reset(&w->tmp);
    nb_schema_to_json(w->schema, &w->tmp);
    pq_thrift_list(&t, 5, PQ_T_STRUCT, 2);
    write_kv(&t, "nebula.version", NB_VERSION, strlen(NB_VERSION));
    write_kv(&t, "nebula.schema", w->tmp.data ? w->tmp.data : "[]", w->tmp.data ? w->tmp.len : 2);
    pq_thrift_string(&t, 6, "nebula version " NB_VERSION);
    pq_thrift_list(&t, 7, PQ_T_STRUCT, w->ncols);
    for (size_t i = 0; i < w->ncols; i++) {
        pq_thrift_begin(&t);
        pq_thrift_struct(&t, 1);   /* TYPE_ORDER */
        pq_thrift_end(&t);
        pq_thrift_end(&t);
    }
    pq_thrift_end(&t);
    if ((st = nb_buf_status(b, err)) != NB_OK || (st = nb_buf_status(&w->tmp, err)) != NB_OK) goto fail;
    if (b->len > UINT32_MAX) {
        st = nb_error_set(err, NB_ERR_LIMIT, "parquet: footer of %zu bytes is too large", b->len);
        goto fail;
    }
    uint32_t len = (uint32_t)b->len;
    if ((st = out_write(w, b->data, b->len, err)) != NB_OK || (st = out_write(w, &len, 4, err)) != NB_OK ||
        (st = out_write(w, "PAR1", 4, err)) != NB_OK)
        goto fail;
    w->broken = true;   /* finished: nothing more may be written */
    return NB_OK;
fail:
    w->broken = true;
    return st;
}
