/* Test helpers for the Avro writer: build batches from text tables, write files through the format
 * ops, and read them back with two independent readers (libavro in C, avsc via node) in one
 * canonical text form (see tests/tools/avro_read.mjs). */
#ifndef TEST_HELPER_AVRO_H
#define TEST_HELPER_AVRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/batch.h"
#include "core/buf.h"
#include "formats/avro/avro_internal.h"

struct tcol {
    const char *name;
    struct nb_type type;
    bool nullable;
};

/* One cell: `in` is the text given to the writer (NULL = null), len its length (0 = strlen),
 * `want` the canonical value a reader must return (NULL = same as in; ignored when in is NULL). */
struct tcell {
    const char *in;
    size_t len;
    const char *want;
};

struct nb_schema *h_schema(const struct tcol *cols, size_t n);
/* A TEXT batch with rows[r * ncols + c]. */
struct nb_batch *h_batch(struct nb_schema *s, const struct tcell *cells, size_t nrows, const char *stream);

/* A fresh temp directory for this test program (removed by h_cleanup). */
const char *h_tmpdir(void);
void h_cleanup(void);
char *h_path(const char *name);   /* static buffer rotated over 4 */

/* Write batches to path through nb_format_avro with these options; use_encode: go through the
 * worker-side encode() first. Returns the status of the first failing call. */
nb_status h_write(const char *path, const struct nb_avro_options *o, struct nb_schema *s, struct nb_batch **batches,
                  size_t nb, bool use_encode, struct nb_error *err);

/* Canonical rows (JSON arrays of strings/null, one per line) for the expected values of cells. */
void h_expect_ndjson(struct nb_buf *out, const struct tcol *cols, size_t ncols, const struct tcell *cells, size_t nrows);

/* Read path with libavro (zstd files are first rewritten with codec null by decompressing each
 * block with libzstd, since Debian's libavro has no zstd), appending canonical NDJSON to out. The
 * column types give decimal scales. Returns rows read, or -1 (message in msg). */
long h_read_libavro(const char *path, const struct tcol *cols, size_t ncols, struct nb_buf *out, char *msg, size_t cap);

/* Walk the container: check magic, header, every block's count/size and sync marker. Fills codec
 * name, block and row counts, and the schema JSON (malloc'ed, caller frees). Returns false + msg. */
bool h_walk(const char *path, char *codec, size_t codec_cap, long *blocks, long *rows, char **schema_json, char *msg,
            size_t cap);

/* Queue path for tests/tools/avro_read.mjs against expected NDJSON (0), or 77 when node or
 * tests/node_modules is missing (a notice is printed once). h_node_flush runs every queued check in
 * one node process: 0 all match, 1 a mismatch (details on stderr), 77 skipped. */
int h_node_check(const char *path, const struct nb_buf *expected_ndjson);
int h_node_flush(void);

#endif
