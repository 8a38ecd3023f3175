/* The destination side shared by object stores (s3, gcs): the file destination (formats,
 * {stream}, compression) with a per-store function that opens an upload stream for an object key,
 * plus key templates ({date} {yyyy} {mm} {dd} {hh} {seq} {uuid} {run_id}, fixed per run so names
 * are deterministic) and the format options exposed under store-neutral names. Objects are whole:
 * durable only when finished, rewritten from the start on a rerun (file_dest whole_objects). */
#ifndef NB_CONNECTORS_COMMON_OBJECT_DEST_H
#define NB_CONNECTORS_COMMON_OBJECT_DEST_H

#include "connectors/common/file_dest.h"

/* path, format, compression, compression_level, overwrite, json_format, row_group_size, delimiter,
 * header, rotate_rows, rotate_bytes, rotate_interval. Include with NB_KEY_INCLUDE. */
extern const struct nb_config_key nb_object_dest_keys[];

/* Open an upload of `key` (template already expanded, no leading '/'). replace: overwrite an
 * existing object even when the destination is write-once (see nb_output_opener). */
typedef nb_status (*nb_object_open_fn)(void *ctx, const char *key, bool replace, struct nb_ostream **out,
                                       struct nb_error *err);

struct nb_object_dest;
nb_status nb_object_dest_open(struct nb_object_dest **out, const struct nb_context *ctx, const char *store,
                              nb_object_open_fn open, void *open_ctx, struct nb_error *err);
nb_status nb_object_dest_encode(void *self, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err);
nb_status nb_object_dest_write(void *self, const struct nb_batch *b, const struct nb_buf *enc, struct nb_error *err);
nb_status nb_object_dest_commit(void *self, const char *stream, struct nb_buf *state, struct nb_error *err);
bool nb_object_dest_wants_commit(void *self, const char *stream);
uint64_t nb_object_dest_bytes_written(void *self);
nb_status nb_object_dest_end_stream(void *self, const char *stream, struct nb_error *err);
void nb_object_dest_close(struct nb_object_dest *d, bool success, bool keep_partial);
/* Expand a key template (exposed for tests). Caller frees. */
char *nb_object_dest_expand(struct nb_object_dest *d, const char *tmpl);

#endif
