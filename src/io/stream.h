/* Byte streams (DESIGN.md §2 io layer): files written atomically (temp name, fsync, rename),
 * compression codecs stacked on any stream, and reading with transparent decompression.
 * Formats write to an nb_ostream and know nothing of where the bytes go. */
#ifndef NB_IO_STREAM_H
#define NB_IO_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum nb_codec { NB_CODEC_NONE = 0, NB_CODEC_GZIP, NB_CODEC_ZSTD, NB_CODEC_LZ4, NB_CODEC_BZIP2, NB_CODEC_XZ, NB_CODEC_SNAPPY };

/* "none|gzip|zstd|lz4|bzip2|xz|snappy" (also "gz", "zst", "bz2"); "auto" is handled by callers. */
nb_status nb_codec_parse(const char *name, enum nb_codec *out, struct nb_error *err);
const char *nb_codec_name(enum nb_codec c);
/* By extension: .gz .zst .lz4 .bz2 .xz .sz (framed snappy); NONE otherwise. */
enum nb_codec nb_codec_from_path(const char *path);
/* The path without its compression extension ("a.csv.gz" -> "a.csv"), in out. */
void nb_path_strip_codec(const char *path, char *out, size_t cap);

/* ---- output ---------------------------------------------------------------------------- */
struct nb_ostream;
struct nb_ostream_ops {
    nb_status (*write)(struct nb_ostream *s, const void *p, size_t n, struct nb_error *err);
    /* Push buffered bytes down and make what was written so far a valid, durable prefix: a
     * compressor ends its frame/member here (a later append starts a new one; every codec here
     * allows concatenated frames), the file is fsynced. *durable_len: bytes in the final file. */
    nb_status (*checkpoint)(struct nb_ostream *s, uint64_t *durable_len, struct nb_error *err);
    /* End the stream and commit it (a file is fsynced and renamed to its final name). */
    nb_status (*finish)(struct nb_ostream *s, struct nb_error *err);
    /* Give up: remove temp files (keep_partial=false) or leave the partial temp file for a resume. */
    void (*abort)(struct nb_ostream *s, bool keep_partial);
    void (*destroy)(struct nb_ostream *s);   /* frees; aborts (not keeping) if neither finish nor abort ran */
};
struct nb_ostream {
    const struct nb_ostream_ops *ops;
    uint64_t bytes_in;     /* bytes given to write() */
    uint64_t bytes_out;    /* bytes that reached the end of the chain (after compression) */
};

static inline nb_status nb_ostream_write(struct nb_ostream *s, const void *p, size_t n, struct nb_error *err)
{
    return s->ops->write(s, p, n, err);
}
void nb_ostream_destroy(struct nb_ostream *s);   /* accepts NULL */

/* A file written as "<path>.nebula-partial" and renamed to path by finish. With resume_len > 0 the
 * existing partial file is opened, truncated to resume_len and appended to (a missing partial file,
 * or one shorter than resume_len, is an error naming it). Parent directories are created. */
nb_status nb_file_ostream_open(const char *path, uint64_t resume_len, struct nb_ostream **out, struct nb_error *err);
/* The name of the partial file for a final path. */
void nb_partial_path(const char *path, char *out, size_t cap);
/* Compress into inner (owned: destroyed with the returned stream). level 0 = codec default.
 * On failure (unknown codec, level out of range: NB_ERR_CONFIG) inner stays the caller's. */
nb_status nb_compress_ostream_create(enum nb_codec codec, int level, struct nb_ostream *inner,
                                     struct nb_ostream **out, struct nb_error *err);
/* File + optional compression in one call. */
nb_status nb_output_open(const char *path, enum nb_codec codec, int level, uint64_t resume_len,
                         struct nb_ostream **out, struct nb_error *err);
/* An ostream that appends to an nb_buf (tests, and formats that build a whole object in memory). */
struct nb_buf;
struct nb_ostream *nb_buf_ostream_create(struct nb_buf *buf);

/* ---- input ----------------------------------------------------------------------------- */
struct nb_istream;
struct nb_istream_ops {
    /* Read up to cap bytes; *n = 0 and NB_DONE at the end. A truncated or corrupt compressed
     * stream is NB_ERR_INVALID naming the file and the compressed offset. */
    nb_status (*read)(struct nb_istream *s, void *buf, size_t cap, size_t *n, struct nb_error *err);
    void (*destroy)(struct nb_istream *s);
};
struct nb_istream {
    const struct nb_istream_ops *ops;
    uint64_t raw_size;     /* size of the underlying file if known (0 = unknown) */
    uint64_t raw_read;     /* bytes of the underlying file consumed so far (for progress) */
};
static inline nb_status nb_istream_read(struct nb_istream *s, void *buf, size_t cap, size_t *n, struct nb_error *err)
{
    return s->ops->read(s, buf, cap, n, err);
}
void nb_istream_destroy(struct nb_istream *s);   /* accepts NULL */

/* Open a file for reading; "-" is stdin. Errors: missing file, a directory, no permission, each
 * naming the path. */
nb_status nb_file_istream_open(const char *path, struct nb_istream **out, struct nb_error *err);
/* Decompress inner (owned, as above; on failure it stays the caller's). name is used in errors. */
nb_status nb_decompress_istream_create(enum nb_codec codec, struct nb_istream *inner, const char *name,
                                       struct nb_istream **out, struct nb_error *err);
/* File + decompression (codec NONE with auto=true: by extension), positioned at uncompressed
 * byte `offset` (a seek for plain files, read-and-discard through a decompressor). */
nb_status nb_input_open(const char *path, enum nb_codec codec, bool auto_codec, uint64_t offset,
                        struct nb_istream **out, struct nb_error *err);
/* An istream over memory (not copied). */
struct nb_istream *nb_mem_istream_create(const void *data, size_t len);

/* ---- files ----------------------------------------------------------------------------- */
/* Expand a path or glob (*, ?, [..], and ** for any depth) into sorted file paths. A pattern that
 * matches nothing is NB_ERR_NOT_FOUND naming it. Caller frees with nb_paths_free. */
nb_status nb_glob_files(const char *pattern, char ***paths, size_t *count, struct nb_error *err);
void nb_paths_free(char **paths, size_t count);
/* mkdir -p of the directory part of path. */
nb_status nb_mkdirs_for(const char *path, struct nb_error *err);
/* Write a whole file atomically (temp, fsync, rename, fsync dir). */
nb_status nb_write_file_atomic(const char *path, const void *data, size_t len, struct nb_error *err);
/* Read a whole file (NUL-terminated). Caller frees. */
nb_status nb_read_file(const char *path, char **data, size_t *len, struct nb_error *err);

#endif
