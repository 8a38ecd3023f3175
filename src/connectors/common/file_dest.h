/* The destination side shared by every connector that writes files through a format writer
 * (csv, json, parquet, avro locally; s3 and gcs with their own ostream). It owns: the path
 * template ({stream}, {seq}), the partial name + rename on success, compression, checkpoints
 * (nb_ostream checkpoint -> committed length in the destination state), resume (truncate the
 * partial file to the committed length and continue, for formats that are resumable) and
 * rotation (rotate_rows/bytes/interval: at a checkpoint the current output is finished and the
 * state records it, so a resumed run continues with the next {seq} and writes each row once).
 * A connector composes it: `open` passes its format (and optionally an output opener). */
#ifndef NB_CONNECTORS_COMMON_FILE_DEST_H
#define NB_CONNECTORS_COMMON_FILE_DEST_H

#include "connectors/connector.h"
#include "formats/format.h"
#include "io/stream.h"

/* path (required, may contain {stream}), compression (auto|none|gzip|zstd|lz4|bzip2|xz|snappy),
 * compression_level. Include it in a connector's destination spec with NB_KEY_INCLUDE. */
extern const struct nb_config_key nb_file_dest_keys[];
/* `path` and the rotation keys: for formats that compress themselves (their own keys name the codec). */
extern const struct nb_config_key nb_file_dest_path_key[];
/* rotate_rows, rotate_bytes, rotate_interval (included in the two tables above). A new output is
 * started at the first checkpoint after the current one reaches a limit; names get {seq}. */
extern const struct nb_config_key nb_file_dest_rotate_keys[];

/* Where the bytes go. The default opener writes local files (nb_output_open). An object store
 * supplies its own (final object name in, ostream that uploads out). resume_len > 0: continue the
 * partial object committed at that length. replace: a resumed run rewrites an output the state
 * does not record as complete, which the interrupted run may have finished after its last
 * checkpoint: a write-once store must let this one replace it. */
typedef nb_status (*nb_output_opener)(void *opener_ctx, const char *path, enum nb_codec codec, int level,
                                      uint64_t resume_len, bool replace, struct nb_ostream **out,
                                      struct nb_error *err);

struct nb_file_dest_args {
    const struct nb_format_ops *format;
    nb_output_opener opener;     /* NULL: local files */
    void *opener_ctx;
    /* true: an output is only durable once finished (an object upload): commit saves nothing
     * mid-stream and a rerun writes the object again from the start instead of resuming it. */
    bool whole_objects;
};

nb_status nb_file_dest_open(void **self, const struct nb_context *ctx, const struct nb_file_dest_args *args,
                            struct nb_error *err);
nb_status nb_file_dest_check(void *self, struct nb_error *err);
nb_status nb_file_dest_encode(void *self, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err);
nb_status nb_file_dest_write(void *self, const struct nb_batch *b, const struct nb_buf *encoded, struct nb_error *err);
nb_status nb_file_dest_commit(void *self, const char *stream, struct nb_buf *dest_state, struct nb_error *err);
bool nb_file_dest_wants_commit(void *self, const char *stream);
uint64_t nb_file_dest_bytes_written(void *self);
nb_status nb_file_dest_end_stream(void *self, const char *stream, struct nb_error *err);
void nb_file_dest_close(void *self, bool success, bool keep_partial);

/* Destination ops for a local-file connector whose only difference is its format:
 *   static nb_status my_open(void **s, const struct nb_context *c, struct nb_error *e)
 *   { struct nb_file_dest_args a = {&nb_format_parquet}; return nb_file_dest_open(s, c, &a, e); }
 *   const struct nb_destination_ops my_dest = NB_FILE_DESTINATION_OPS(my_spec, my_open, true); */
#define NB_FILE_DESTINATION_OPS(spec_table, open_fn, is_typed)                                          \
    {                                                                                                  \
        .spec = (spec_table), .typed = (is_typed), .open = (open_fn), .check = nb_file_dest_check,     \
        .encode = nb_file_dest_encode, .write = nb_file_dest_write, .commit = nb_file_dest_commit,     \
        .wants_commit = nb_file_dest_wants_commit, .bytes_written = nb_file_dest_bytes_written,         \
        .end_stream = nb_file_dest_end_stream, .close = nb_file_dest_close,                            \
    }

/* A whole local-file destination connector for a typed format that compresses itself (Parquet,
 * Avro): keys = path + the format's keys. Defines <prefix>_destination. */
#define NB_FORMAT_FILE_DESTINATION(prefix, format_ops, format_keys)                                      \
    static const struct nb_config_key prefix##_dest_spec[] = {                                          \
        {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_file_dest_path_key},                        \
        {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, format_keys},                                  \
        {NULL},                                                                                         \
    };                                                                                                  \
    static nb_status prefix##_open(void **self, const struct nb_context *ctx, struct nb_error *err)     \
    {                                                                                                   \
        struct nb_file_dest_args args = {.format = &(format_ops)};                                      \
        return nb_file_dest_open(self, ctx, &args, err);                                                \
    }                                                                                                   \
    static const struct nb_destination_ops prefix##_destination =                                       \
        NB_FILE_DESTINATION_OPS(prefix##_dest_spec, prefix##_open, true)

#endif
