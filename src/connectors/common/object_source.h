/* The source side shared by the object stores (s3, gcs): the csv or json source reading through the
 * store's listing and ranged reads (struct nb_file_access), and incremental mode: the objects
 * loaded (name + version: S3 ETag, GCS generation) are remembered in the stream's saved position,
 * so a later run lists again and reads only new or changed objects. A connector's source struct
 * starts with a struct nb_object_source, so the forwarding ops below take it as `self`. */
#ifndef NB_CONNECTORS_COMMON_OBJECT_SOURCE_H
#define NB_CONNECTORS_COMMON_OBJECT_SOURCE_H

#include "connectors/common/file_source.h"
#include "connectors/connector.h"

/* format (csv|json|parquet), mode (full_refresh|incremental), csv: and json: maps of the inner source's
 * options. Include with NB_KEY_INCLUDE. */
extern const struct nb_config_key nb_object_source_keys[];

/* The version of a listed object (S3 ETag, GCS generation) into out; false if unknown. */
typedef bool (*nb_object_version_fn)(void *store_ctx, const char *name, char *out, size_t cap);

struct nb_object_seen;
struct nb_object_track;
struct nb_object_source {
    const struct nb_source_ops *ops;  /* the inner source (csv or json) */
    void *inner;                      /* NULL: incremental found nothing new to read */
    struct nb_cfg *inner_cfg;         /* its config: the connector's csv:/json: map plus path/stream/... */
    struct nb_context ictx;           /* its context: ours, with its config, file access and state */
    struct nb_file_access fa;         /* what the inner source sees (ours when incremental) */
    struct nb_file_access store;      /* the store's own listing and reads */
    nb_object_version_fn version;
    const char *store_name;
    bool incremental;
    struct nb_object_seen *seen;      /* objects loaded by earlier runs (all streams) */
    struct nb_object_seen *listed;    /* incremental: the names this run's listing returned */
    struct nb_object_track *tracks;   /* per stream: objects loaded, current object */
    struct nb_stream_state *istate;   /* the state the inner source resumes from */
    size_t n_istate;
    const struct nb_context *ctx;
};

struct nb_object_source_args {
    const struct nb_source_ops *csv, *json;   /* the inner sources, picked by `format` */
    const struct nb_file_access *files;       /* the store's */
    nb_object_version_fn version;             /* called with files->ctx */
    const char *store;                        /* "s3", "gcs": for messages */
    const struct nb_source_ops *parquet;      /* format: parquet (NULL: not offered) */
};

/* Open the inner source over the store. On failure nothing is left open. */
nb_status nb_object_source_open(struct nb_object_source *o, const struct nb_context *ctx,
                                const struct nb_object_source_args *args, struct nb_error *err);
void nb_object_source_close(struct nb_object_source *o);

nb_status nb_object_source_check(void *self, struct nb_error *err);
nb_status nb_object_source_discover(void *self, struct nb_buf *json, struct nb_error *err);
nb_status nb_object_source_read(void *self, struct nb_batch **out, struct nb_error *err);
bool nb_object_source_progress(void *self, uint64_t *done, uint64_t *total);

#endif
