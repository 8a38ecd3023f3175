/* Shared helpers of the Parquet writer tests: build schemas and text batches, write a file, and
 * read it back with the independent readers of tests/tools/parquet_read.mjs (DuckDB, hyparquet). */
#ifndef TEST_HELPER_PQ_H
#define TEST_HELPER_PQ_H

#include <stdbool.h>
#include <stddef.h>

#include "batch/batch.h"
#include "formats/parquet/parquet.h"

/* "name:type[?]" items, '?' = nullable; type as nb_type_parse reads it ("decimal(10,2)", "timestamptz"). */
struct nb_schema *pqt_schema(const char *const *cols, size_t n);
/* A TEXT batch of rows x cols cells, row-major; NULL cell = null. */
struct nb_batch *pqt_batch(struct nb_schema *s, const char *const *cells, size_t rows);
/* Write batches to path (options NULL = defaults); returns the status, err filled. */
nb_status pqt_write(const char *path, const struct nb_parquet_options *opt, struct nb_schema *s,
                    struct nb_batch *const *batches, size_t n, struct nb_error *err);
/* True when node and tests/node_modules are there; prints a notice once when not. */
bool pqt_have_reader(void);
/* Run the reader (mode "" for rows, "--metadata", "--hyparquet", ...; sql may be NULL) on path and
 * return its stdout (caller frees), or NULL when it failed (its stderr is printed). */
char *pqt_read(const char *mode, const char *sql, const char *path);
/* Rows of several files in one reader start: each file's rows follow a {"file": path} line. */
char *pqt_read_many(const char *mode, char *const *paths, size_t n);
/* A path under the build dir's test scratch folder. Static buffer per call site is not needed:
 * returns a malloc'd string. */
char *pqt_path(const char *name);
/* Assert that the reader output equals expected (both newline-separated lines); prints both on failure. */
bool pqt_same(const char *got, const char *expected);

/* The sample table of the layout tests: id int64 = row, name string (7 values), amount
 * decimal(12,2) "<row>.50" (null when row % 10 == 3), note string unique per row. */
extern const char *const pqt_sample_cols[4];
struct nb_batch *pqt_sample_batch(struct nb_schema *s, size_t first, size_t rows);
/* Write rows [0, rows) in batches of batch_rows; aborts on error. Returns the path (free it). */
char *pqt_write_sample(const char *name, const struct nb_parquet_options *opt, size_t rows, size_t batch_rows);
/* What hyparquet prints for sample rows [0, rows) (free it). */
char *pqt_sample_hyparquet(size_t rows);

#endif
