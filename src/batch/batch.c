/* Columnar batches: allocation, growth, filtering and accounting. */
#include "batch/batch.h"

#include <stdlib.h>

static void column_free(struct nb_column *c)
{
    free(c->validity);
    free(c->mismatch);
    free(c->values);
    free(c->offsets);
    free(c->data);
    memset(c, 0, sizeof *c);
}

static void column_init(struct nb_column *c, struct nb_type type, enum nb_repr repr)
{
    memset(c, 0, sizeof *c);
    c->type = type;
    size_t w = nb_type_native_width(type.id);
    c->repr = (repr == NB_REPR_NATIVE && w) ? NB_REPR_NATIVE : NB_REPR_TEXT;
    c->width = w;
}

struct nb_batch *nb_batch_create(struct nb_schema *schema, size_t row_capacity)
{
    struct nb_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    nb_arena_init(&b->arena, 16 * 1024);
    if (schema) {
        if (nb_batch_set_schema(b, schema, NULL) != NB_OK || (row_capacity && nb_batch_reserve(b, row_capacity, NULL) != NB_OK)) {
            nb_batch_destroy(b);
            return NULL;
        }
    }
    return b;
}

void nb_batch_destroy(struct nb_batch *b)
{
    if (!b) return;
    if (b->schema) {
        for (size_t i = 0; i < b->schema->n_fields; i++) column_free(&b->cols[i]);
        nb_schema_release(b->schema);
    }
    free(b->cols);
    if (b->raw && b->raw_free) b->raw_free(b->raw, b->raw_opaque);
    nb_arena_cleanup(&b->arena);
    free(b);
}

nb_status nb_batch_set_schema(struct nb_batch *b, struct nb_schema *schema, struct nb_error *err)
{
    if (b->schema) {
        for (size_t i = 0; i < b->schema->n_fields; i++) column_free(&b->cols[i]);
        nb_schema_release(b->schema);
        b->schema = NULL;
    }
    free(b->cols);
    b->cols = calloc(schema->n_fields ? schema->n_fields : 1, sizeof *b->cols);
    if (!b->cols) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a batch");
    b->schema = nb_schema_retain(schema);
    for (size_t i = 0; i < schema->n_fields; i++) column_init(&b->cols[i], schema->fields[i].type, NB_REPR_TEXT);
    b->n_rows = 0;
    return NB_OK;
}

void nb_batch_set_repr(struct nb_batch *b, size_t col, enum nb_repr repr)
{
    struct nb_column *c = &b->cols[col];
    struct nb_type t = c->type;
    column_free(c);
    column_init(c, t, repr);
}

bool nb_column_grow(struct nb_column *c, size_t min_rows)
{
    if (c->oom) return false;
    if (min_rows <= c->cap) return true;
    size_t cap = c->cap ? c->cap : 64;
    while (cap < min_rows) cap *= 2;
    size_t old_bytes = (c->cap + 7) / 8, new_bytes = (cap + 7) / 8;
    uint8_t *v = realloc(c->validity, new_bytes);
    if (!v) goto oom;
    memset(v + old_bytes, 0, new_bytes - old_bytes);
    c->validity = v;
    if (c->mismatch) {
        uint8_t *m = realloc(c->mismatch, new_bytes);
        if (!m) goto oom;
        memset(m + old_bytes, 0, new_bytes - old_bytes);
        c->mismatch = m;
    }
    if (c->repr == NB_REPR_NATIVE) {
        void *vals = realloc(c->values, cap * c->width);
        if (!vals) goto oom;
        c->values = vals;
    } else {
        uint32_t *o = realloc(c->offsets, (cap + 1) * sizeof *o);
        if (!o) goto oom;
        if (!c->offsets) o[0] = 0;
        c->offsets = o;
    }
    c->cap = cap;
    /* A text column always has a data buffer, so readers may form data + offset even when every
     * value is empty (pointer arithmetic on NULL is undefined). */
    if (c->repr == NB_REPR_TEXT && !c->data && !nb_column_grow_data(c, 1)) return false;
    return true;
oom:
    c->oom = true;
    return false;
}

bool nb_column_grow_data(struct nb_column *c, size_t extra)
{
    if (c->oom) return false;
    if (c->data_cap - c->data_len >= extra) return true;
    size_t cap = c->data_cap ? c->data_cap : 1024;
    while (cap - c->data_len < extra) cap *= 2;
    /* Offsets are 32-bit (Arrow layout): a column of one batch holds at most 4 GiB - 1 of text. */
    if (cap > UINT32_MAX) {
        if (c->data_len + extra > UINT32_MAX) { c->oom = true; return false; }
        cap = UINT32_MAX;
    }
    char *d = realloc(c->data, cap);
    if (!d) { c->oom = true; return false; }
    c->data = d;
    c->data_cap = cap;
    return true;
}

nb_status nb_batch_reserve(struct nb_batch *b, size_t rows, struct nb_error *err)
{
    for (size_t i = 0; b->schema && i < b->schema->n_fields; i++)
        if (!nb_column_grow(&b->cols[i], rows)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory growing a batch");
    return NB_OK;
}

void nb_column_mark_mismatch(struct nb_column *c)
{
    if (c->len > 0) nb_column_mark_mismatch_at(c, c->len - 1);
}

void nb_column_mark_mismatch_at(struct nb_column *c, size_t i)
{
    if (i >= c->len) return;
    if (!c->mismatch) {
        c->mismatch = calloc((c->cap + 7) / 8, 1);
        if (!c->mismatch) { c->oom = true; return; }
    }
    if (nb_bit_get(c->mismatch, i)) return;
    nb_bit_set(c->mismatch, i);
    c->mismatch_count++;
}

nb_status nb_batch_check(const struct nb_batch *b, struct nb_error *err)
{
    for (size_t i = 0; b->schema && i < b->schema->n_fields; i++) {
        const struct nb_column *c = &b->cols[i];
        if (c->oom) return nb_error_set(err, NB_ERR_NOMEM, "out of memory (or over 4 GiB of text in column '%s' of one batch)",
                                        b->schema->fields[i].name);
        if (c->len != b->n_rows)
            return nb_error_set(err, NB_ERR_INTERNAL, "column '%s' has %zu values for %zu rows",
                                b->schema->fields[i].name, c->len, b->n_rows);
    }
    return NB_OK;
}

void nb_batch_truncate(struct nb_batch *b, size_t rows)
{
    for (size_t i = 0; b->schema && i < b->schema->n_fields; i++) {
        struct nb_column *c = &b->cols[i];
        while (c->len > rows) {
            c->len--;
            if (!nb_bit_get(c->validity, c->len)) c->null_count--;
            if (c->mismatch && nb_bit_get(c->mismatch, c->len)) { nb_bit_clear(c->mismatch, c->len); c->mismatch_count--; }
            nb_bit_clear(c->validity, c->len);
        }
        if (c->repr == NB_REPR_TEXT && c->offsets) c->data_len = c->offsets[c->len];
    }
    if (b->n_rows > rows) b->n_rows = rows;
}

void nb_batch_filter(struct nb_batch *b, const uint8_t *keep)
{
    size_t n = b->n_rows;
    for (size_t ci = 0; b->schema && ci < b->schema->n_fields; ci++) {
        struct nb_column *c = &b->cols[ci];
        size_t out = 0, data_out = 0;
        c->null_count = 0;
        c->mismatch_count = 0;
        for (size_t i = 0; i < n; i++) {
            if (!nb_bit_get(keep, i)) continue;
            bool valid = nb_bit_get(c->validity, i);
            bool mism = c->mismatch && nb_bit_get(c->mismatch, i);
            if (c->repr == NB_REPR_TEXT) {
                uint32_t start = c->offsets[i], end = c->offsets[i + 1];
                if (end > start) memmove(c->data + data_out, c->data + start, end - start);
                c->offsets[out] = (uint32_t)data_out;
                data_out += end - start;
                c->offsets[out + 1] = (uint32_t)data_out;
            } else if (out != i) {
                memmove((char *)c->values + out * c->width, (char *)c->values + i * c->width, c->width);
            }
            if (valid) nb_bit_set(c->validity, out); else { nb_bit_clear(c->validity, out); c->null_count++; }
            if (c->mismatch) {
                if (mism) { nb_bit_set(c->mismatch, out); c->mismatch_count++; } else nb_bit_clear(c->mismatch, out);
            }
            out++;
        }
        for (size_t i = out; i < n; i++) {
            nb_bit_clear(c->validity, i);
            if (c->mismatch) nb_bit_clear(c->mismatch, i);
        }
        if (c->repr == NB_REPR_TEXT) c->data_len = data_out;
        c->len = out;
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (!nb_bit_get(keep, i)) continue;
        if (b->locs) b->locs[out] = b->locs[i];
        out++;
    }
    b->n_rows = out;
}

size_t nb_batch_bytes(const struct nb_batch *b)
{
    size_t total = sizeof *b + b->arena.reserved + b->raw_len;
    for (size_t i = 0; b->schema && i < b->schema->n_fields; i++) {
        const struct nb_column *c = &b->cols[i];
        total += (c->cap + 7) / 8 * (c->mismatch ? 2 : 1);
        total += c->repr == NB_REPR_NATIVE ? c->cap * c->width : (c->cap + 1) * 4 + c->data_cap;
    }
    return total;
}
