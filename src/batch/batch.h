/* Columnar batches (DESIGN.md §3): per column a validity bitmap and either fixed-width native
 * values or offsets + bytes. Buffers follow the Arrow layout (validity LSB-first, int32-style
 * offsets) except BOOL, which is one byte per value here.
 *
 * Two representations of a column's values:
 *   NB_REPR_NATIVE  fixed width: bool uint8, int32, int64, float64 double, date int32 days,
 *                   time/timestamp int64 microseconds. Only for those types.
 *   NB_REPR_TEXT    offsets + UTF-8 bytes: the value's exact source text, whatever the logical type.
 *                   Text sources (CSV, JSON, COPY text) use it so nothing is reformatted on the way
 *                   to a text destination; typed writers parse with batch/value.h.
 * STRING, BINARY, JSON and DECIMAL columns are always TEXT (decimals as exact text).
 *
 * A text value that does not fit the column's type (an int64 column meeting "N/A") sets its bit in
 * the `mismatch` bitmap: text outputs keep it as a string, typed outputs apply the bad-record policy.
 *
 * A batch may arrive undecoded: the source puts raw bytes in `raw` and a `decode` function that a
 * worker thread calls to fill the columns; that is how parsing runs on several cores. */
#ifndef NB_BATCH_BATCH_H
#define NB_BATCH_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "batch/schema.h"
#include "core/arena.h"
#include "core/error.h"

enum nb_repr { NB_REPR_TEXT = 0, NB_REPR_NATIVE = 1 };

struct nb_column {
    enum nb_repr repr;
    struct nb_type type;
    size_t len;                 /* values appended */
    size_t cap;                 /* rows the bitmaps/values/offsets have room for */
    uint8_t *validity;          /* bit i set = value i present */
    uint8_t *mismatch;          /* NULL until the first mismatch; bit i set = text does not fit type */
    size_t null_count, mismatch_count;
    /* NB_REPR_NATIVE */
    void *values;
    size_t width;
    /* NB_REPR_TEXT: value i is data[offsets[i] .. offsets[i+1]) */
    uint32_t *offsets;
    char *data;
    size_t data_len, data_cap;
    bool oom;                   /* sticky allocation failure, checked by nb_batch_check */
    /* Set by a decoder that looked at every value: each non-null text value of this (numeric)
     * column is a plain JSON number (-?(0|[1-9][0-9]*)(.[0-9]+)?), so writers may copy it as is.
     * false = not known. */
    bool plain_numbers;
};

struct nb_batch;
typedef nb_status (*nb_batch_decode_fn)(struct nb_batch *b, struct nb_error *err);

struct nb_row_loc {
    uint64_t line;              /* 1-based source line (or record number) of the row's start */
    uint64_t offset;            /* byte offset of the row in its source */
};

struct nb_batch {
    struct nb_schema *schema;   /* retained */
    size_t n_rows;
    struct nb_column *cols;     /* schema->n_fields of them */
    const char *stream;         /* stream name (arena) */
    uint64_t seq;               /* per-stream sequence number, from 0, assigned by the engine */
    const char *position;       /* JSON text: the source position after the last row (arena), or NULL */
    const char *source_name;    /* for messages: file path, table, ... (arena) */
    struct nb_row_loc *locs;    /* optional, n_rows entries (arena) */
    bool end_of_stream;         /* the last batch of its stream (may have 0 rows) */
    size_t bad_records;         /* rows the decoder sent to the bad-record policy */
    struct nb_arena arena;
    /* Undecoded input, for worker-side decode. */
    char *raw;
    size_t raw_len;
    void (*raw_free)(void *raw, void *opaque);
    void *raw_opaque;
    nb_batch_decode_fn decode;
    void *decode_ctx;
};

/* Create an empty batch for schema (retained; may be NULL for a raw batch whose decoder sets it
 * with nb_batch_set_schema). Columns get repr TEXT unless `native` says otherwise. */
struct nb_batch *nb_batch_create(struct nb_schema *schema, size_t row_capacity);
void nb_batch_destroy(struct nb_batch *b);   /* accepts NULL; frees raw via raw_free */
/* (Re)build the columns for a schema: drops any values. */
nb_status nb_batch_set_schema(struct nb_batch *b, struct nb_schema *schema, struct nb_error *err);
/* Choose a column's representation before appending (TEXT by default). */
void nb_batch_set_repr(struct nb_batch *b, size_t col, enum nb_repr repr);
/* Make room for `rows` rows in every column. */
nb_status nb_batch_reserve(struct nb_batch *b, size_t rows, struct nb_error *err);
/* After a decoder is done: every column has n_rows values and no allocation failed. */
nb_status nb_batch_check(const struct nb_batch *b, struct nb_error *err);
/* Keep only rows whose bit is set in keep (used to drop bad records); locs follow. */
void nb_batch_filter(struct nb_batch *b, const uint8_t *keep);
/* Bytes held by this batch (buffers + arena + raw), for the engine's memory limit. */
size_t nb_batch_bytes(const struct nb_batch *b);
/* Remove the last partially appended row (a decoder that found a bad record mid-row). */
void nb_batch_truncate(struct nb_batch *b, size_t rows);

/* --- appending (one value per column per row; the producer sets n_rows) ------------------- */
bool nb_column_grow(struct nb_column *c, size_t min_rows);
bool nb_column_grow_data(struct nb_column *c, size_t extra);

static inline bool nb_bit_get(const uint8_t *bits, size_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }
static inline void nb_bit_set(uint8_t *bits, size_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static inline void nb_bit_clear(uint8_t *bits, size_t i) { bits[i >> 3] &= (uint8_t)~(1u << (i & 7)); }

static inline bool nb_column_is_null(const struct nb_column *c, size_t i) { return !nb_bit_get(c->validity, i); }
static inline bool nb_column_is_mismatch(const struct nb_column *c, size_t i)
{
    return c->mismatch && nb_bit_get(c->mismatch, i);
}

static inline void nb_column_append_null(struct nb_column *c)
{
    if (c->len >= c->cap && !nb_column_grow(c, c->len + 1)) return;
    nb_bit_clear(c->validity, c->len);
    if (c->repr == NB_REPR_TEXT) c->offsets[c->len + 1] = c->offsets[c->len];
    else memset((char *)c->values + c->len * c->width, 0, c->width);
    c->null_count++;
    c->len++;
}

/* memcpy for the short values that are most of a text column: a libc call per value costs more
 * than the copy, so up to 16 bytes take two overlapping fixed-size moves inside [p, p + n). */
static inline void nb_copy_short(char *o, const char *p, size_t n)
{
    if (n > 16) { memcpy(o, p, n); return; }
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
        memcpy(o, &a, 8);
        memcpy(o + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        memcpy(o, &a, 4);
        memcpy(o + n - 4, &b, 4);
    } else {
        for (size_t i = 0; i < n; i++) o[i] = p[i];
    }
}

static inline void nb_column_append_text(struct nb_column *c, const char *p, size_t n)
{
    if (c->len >= c->cap && !nb_column_grow(c, c->len + 1)) return;
    if (c->data_cap - c->data_len < n && !nb_column_grow_data(c, n)) return;
    if (n) {   /* data may still be NULL for an empty value: memcpy(NULL, .., 0) is undefined */
        nb_copy_short(c->data + c->data_len, p, n);
        c->data_len += n;
    }
    nb_bit_set(c->validity, c->len);
    c->offsets[c->len + 1] = (uint32_t)c->data_len;
    c->len++;
}

/* Mark the value just appended as not fitting the column's type. */
void nb_column_mark_mismatch(struct nb_column *c);
/* The same for value i (< len), for checks that run after the values are appended. */
void nb_column_mark_mismatch_at(struct nb_column *c, size_t i);

static inline void nb_column_append_native(struct nb_column *c, const void *v)
{
    if (c->len >= c->cap && !nb_column_grow(c, c->len + 1)) return;
    memcpy((char *)c->values + c->len * c->width, v, c->width);
    nb_bit_set(c->validity, c->len);
    c->len++;
}
static inline void nb_column_append_i64(struct nb_column *c, int64_t v) { nb_column_append_native(c, &v); }
static inline void nb_column_append_i32(struct nb_column *c, int32_t v) { nb_column_append_native(c, &v); }
static inline void nb_column_append_f64(struct nb_column *c, double v) { nb_column_append_native(c, &v); }
static inline void nb_column_append_bool(struct nb_column *c, bool v) { uint8_t b = v; nb_column_append_native(c, &b); }

/* --- reading ------------------------------------------------------------------------------ */
static inline const char *nb_column_text(const struct nb_column *c, size_t i, size_t *len)
{
    *len = c->offsets[i + 1] - c->offsets[i];
    return c->data + c->offsets[i];
}
static inline int64_t nb_column_i64(const struct nb_column *c, size_t i) { return ((const int64_t *)c->values)[i]; }
static inline int32_t nb_column_i32(const struct nb_column *c, size_t i) { return ((const int32_t *)c->values)[i]; }
static inline double nb_column_f64(const struct nb_column *c, size_t i) { return ((const double *)c->values)[i]; }
static inline bool nb_column_bool(const struct nb_column *c, size_t i) { return ((const uint8_t *)c->values)[i] != 0; }

#endif
