/* Shared helpers of the io tests: temp directories, deterministic test data, whole-stream reads. */
#ifndef NB_TEST_HELPER_IO_H
#define NB_TEST_HELPER_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "io/stream.h"

/* A fresh directory under /tmp (removed by tmpdir_remove). */
char *tmpdir_create(void);
void tmpdir_remove(char *dir);
/* dir + "/" + name in a static rotating buffer (valid for a few calls). */
const char *tpath(const char *dir, const char *name);

/* Deterministic data: CSV-like text lines mixed with incompressible stretches. */
void test_data(struct nb_buf *out, size_t n, uint32_t seed);

/* Read a stream to its end into out (reads of `piece` bytes). Returns the final status:
 * NB_DONE at a clean end, or the error. */
nb_status read_all(struct nb_istream *s, struct nb_buf *out, size_t piece, struct nb_error *err);

/* Compress data (written in pieces of `piece` bytes) into out with the given codec. */
void compress_mem(enum nb_codec c, int level, const void *data, size_t n, size_t piece, struct nb_buf *out);
/* Decompress memory; returns the final status (NB_DONE on success). */
nb_status decompress_mem(enum nb_codec c, const void *data, size_t n, struct nb_buf *out, size_t piece,
                         struct nb_error *err);

/* Write a whole file (test setup). */
void write_file(const char *path, const void *data, size_t n);
bool file_exists(const char *path);
/* True when the command exists on PATH. */
bool have_tool(const char *name);

#endif
