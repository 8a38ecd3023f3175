/* The source side shared by connectors that read record files (csv, json lines): expands the path
 * glob into streams (one for all files, or one per file), opens each file with decompression,
 * reads large blocks, asks the format where the last complete record ends, and emits raw batches
 * (whole records + a decode callback) that the engine's workers decode. It tracks per stream the
 * byte offset, line and row for positions and resumes from a saved position. Format-neutral: the
 * format is a table of callbacks. */
#ifndef NB_CONNECTORS_COMMON_FILE_SOURCE_H
#define NB_CONNECTORS_COMMON_FILE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "io/stream.h"

/* path (required, glob), stream, stream_per_file, compression. Include with NB_KEY_INCLUDE. */
extern const struct nb_config_key nb_file_source_keys[];

struct nb_file_scan {
    size_t consumed;     /* bytes of whole records from the start of the buffer */
    size_t records;      /* records in them (at most max_records) */
    uint64_t lines;      /* LF bytes in them */
};

/* A chunk of whole records handed to the format's decoder on a worker thread. */
struct nb_file_chunk {
    const char *data;
    size_t len;
    const char *path;         /* the file, for messages */
    const char *stream;
    uint64_t first_line;      /* 1-based line of data[0] */
    uint64_t first_offset;    /* byte offset of data[0] in the (uncompressed) file */
    size_t records;           /* as counted by scan (a hint: comment/blank lines count too) */
};

struct nb_file_format {
    void *ctx;                                  /* the format's options; read-only once open */
    void (*ctx_free)(void *ctx);                /* called when the source and all its batches are gone */
    size_t sample_records;                      /* records read from a stream's first file for its schema */
    /* At the start of a file (not when resuming inside it): bytes to skip (BOM, skipped lines, a
     * header) and the LFs in them; *header_at: offset of the header record in buf or SIZE_MAX.
     * NB_AGAIN: more bytes needed (only when !eof). */
    nb_status (*preamble)(void *ctx, const char *buf, size_t n, bool eof, size_t *skip, uint64_t *lines,
                          size_t *header_at, struct nb_error *err);
    /* Whole records at the start of buf[0..n), at most max_records of them. eof: buf ends the file. */
    nb_status (*scan)(void *ctx, const char *buf, size_t n, bool eof, size_t max_records, struct nb_file_scan *out,
                      const char *path, uint64_t first_line, struct nb_error *err);
    /* The stream's schema from its first file: header record (may be NULL) and a sample of whole
     * records (may be empty). */
    nb_status (*schema)(void *ctx, const char *path, const char *header, size_t header_len, const char *sample,
                        size_t sample_len, struct nb_schema **out, struct nb_error *err);
    /* A later file's header in the same stream (NULL: not checked). */
    nb_status (*check_header)(void *ctx, const struct nb_schema *schema, const char *path, const char *header,
                              size_t header_len, struct nb_error *err);
    /* Decode a chunk into b (schema already set). Thread-safe. */
    nb_status (*decode)(void *ctx, const struct nb_file_chunk *chunk, struct nb_batch *b,
                        struct nb_bad_record_sink *sink, struct nb_error *err);
};

struct nb_file_source_args {
    const char *path;            /* file or glob */
    const char *stream;          /* stream name (one stream for all files); NULL: first file's base name */
    bool stream_per_file;        /* one stream per file, named by its base name */
    enum nb_codec codec;
    bool auto_codec;             /* by extension */
    size_t block_size;           /* read size (0: 4 MiB) */
    size_t max_record_size;      /* a longer record is an error naming its line (0: 64 MiB) */
    struct nb_file_format format;   /* ctx ownership passes to the source (ctx_free) */
};

/* Files somewhere else than the local file system (object stores): set in nb_context.files. */
struct nb_file_access {
    void *ctx;
    /* Expand pattern into sorted names (freed with nb_paths_free) and their sizes (malloc'd,
     * 0 = unknown; ownership passes to the caller). No match: NB_ERR_NOT_FOUND naming the pattern. */
    nb_status (*list)(void *ctx, const char *pattern, char ***names, uint64_t **sizes, size_t *count,
                      struct nb_error *err);
    /* Open a listed name at uncompressed byte offset, decompressing like nb_input_open. */
    nb_status (*open)(void *ctx, const char *name, enum nb_codec codec, bool auto_codec, uint64_t offset,
                      struct nb_istream **out, struct nb_error *err);
};

struct nb_file_source;

/* Fill args from the nb_file_source_keys of a config section (format left empty). */
nb_status nb_file_source_args_from_cfg(struct nb_file_source_args *args, const struct nb_cfg *cfg, struct nb_error *err);

/* Expands the glob (no match: NB_ERR_NOT_FOUND naming the pattern). On failure the format ctx is freed. */
/* A file's default stream name: "data/users.csv.gz" -> "users" (the compression extension, then
 * one more extension, removed; "-" is "stdin"). */
void nb_file_stream_name(const char *path, char *out, size_t cap);

/* The files a source reads: the store's listing when the source is composed over one (ctx->files:
 * s3, gcs), else the local glob, with each regular file's size from stat (0 when unknown). On
 * failure what was listed is still handed over for the caller to free. */
nb_status nb_file_list(const struct nb_context *ctx, const char *path, char ***files, uint64_t **sizes, size_t *n,
                       struct nb_error *err);

/* A stream's saved position in a list of files, {"file": name, key: integer, ...}: *file gets the
 * index of the named file in files[0..n) (n when the stream has no saved position) and values[k]
 * the integer keys[k]. The first `required` keys must be there and >= 0; the others keep the
 * caller's value when absent. A position that is not one, or that names a file the path no longer
 * matches, is NB_ERR_CONFIG saying so (the file sources, json and parquet share it). */
nb_status nb_file_position_load(const struct nb_context *ctx, const char *stream, const char *const *files, size_t n,
                                const char *const *keys, size_t nkeys, size_t required, size_t *file, int64_t *values,
                                struct nb_error *err);

nb_status nb_file_source_open(struct nb_file_source **out, const struct nb_context *ctx,
                              const struct nb_file_source_args *args, struct nb_error *err);
/* Every file can be opened and its first bytes read. */
nb_status nb_file_source_check(struct nb_file_source *s, struct nb_error *err);
/* {"streams":[{"name":..,"files":[..],"schema":[..]}]} */
nb_status nb_file_source_discover(struct nb_file_source *s, struct nb_buf *json, struct nb_error *err);
/* The source read(): NB_OK with a raw batch, NB_DONE when every stream is finished. */
nb_status nb_file_source_read(struct nb_file_source *s, struct nb_batch **out, struct nb_error *err);
void nb_file_source_close(struct nb_file_source *s);
/* Bytes of input consumed and the total (compressed file sizes; total 0 when unknown). */
void nb_file_source_progress(void *self, uint64_t *done, uint64_t *total);
/* Streams, for tests and messages. */
size_t nb_file_source_stream_count(const struct nb_file_source *s);
const char *nb_file_source_stream_name(const struct nb_file_source *s, size_t i);

#endif
