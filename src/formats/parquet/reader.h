/* The Parquet reader: batches from a Parquet file reached through a random-access callback (a local
 * file's pread, or an object store's ranged GET), so it never needs the whole file: the footer, then
 * one row group's column chunks at a time. Flat schemas (required/optional top-level columns). */
#ifndef NB_FORMATS_PARQUET_READER_H
#define NB_FORMATS_PARQUET_READER_H

#include <stddef.h>
#include <stdint.h>

#include "batch/batch.h"
#include "core/error.h"

struct nb_pq_input {
    void *ctx;
    /* Exactly n bytes at offset into dst (a short file is an error naming the file). */
    nb_status (*read_at)(void *ctx, uint64_t offset, void *dst, size_t n, struct nb_error *err);
    uint64_t size;          /* the file's size in bytes */
    const char *name;       /* for messages (copied) */
};

struct nb_pq_reader;

/* Reads and checks the footer and the leading magic, decodes the metadata. */
nb_status nb_pq_reader_open(struct nb_pq_reader **out, const struct nb_pq_input *in, struct nb_error *err);
void nb_pq_reader_destroy(struct nb_pq_reader *r);   /* accepts NULL */
/* The columns as our schema (owned by the reader: retain to keep). */
struct nb_schema *nb_pq_reader_schema(const struct nb_pq_reader *r);
uint64_t nb_pq_reader_num_rows(const struct nb_pq_reader *r);
size_t nb_pq_reader_row_groups(const struct nb_pq_reader *r);
/* The file's key/value metadata (NULL when absent). */
const char *nb_pq_reader_meta(const struct nb_pq_reader *r, const char *key);
/* Continue at row `row` of row group `rg` (rg == row_groups: at the end). */
nb_status nb_pq_reader_seek(struct nb_pq_reader *r, size_t rg, uint64_t row, struct nb_error *err);
/* The place of the next row: row group and row in it. */
void nb_pq_reader_tell(const struct nb_pq_reader *r, size_t *rg, uint64_t *row);
/* A batch for this file's schema with each column's representation set, room for rows. */
struct nb_batch *nb_pq_reader_batch_create(const struct nb_pq_reader *r, size_t rows);
/* Append up to max_rows rows (never across a row group's end) to b, made by batch_create, and set
 * b->n_rows. NB_DONE when no rows are left. */
nb_status nb_pq_reader_next(struct nb_pq_reader *r, struct nb_batch *b, size_t max_rows, struct nb_error *err);

/* A reader of a whole file held in memory (tests, fuzzing): data must outlive the reader. */
nb_status nb_pq_reader_open_memory(struct nb_pq_reader **out, const void *data, size_t len, const char *name,
                                   struct nb_error *err);

#endif
