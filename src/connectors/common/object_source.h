/* The source side shared by the object stores (s3, gcs): the csv source reading through the store's
 * listing and ranged reads (struct nb_file_access). A connector's source struct starts with a
 * struct nb_object_source, so the forwarding ops below take it as `self`. */
#ifndef NB_CONNECTORS_COMMON_OBJECT_SOURCE_H
#define NB_CONNECTORS_COMMON_OBJECT_SOURCE_H

#include "connectors/common/file_source.h"
#include "connectors/connector.h"

struct nb_object_source {
    const struct nb_source_ops *csv;  /* the inner source */
    void *inner;
    struct nb_cfg *csv_cfg;           /* its config: the connector's csv: map plus path/stream/... */
    struct nb_context ictx;           /* its context: ours, with its config and our file access */
    struct nb_file_access fa;
};

/* Open `csv` over `fa` with the connector's `csv:` map plus its path, stream, compression and
 * stream_per_file keys. On failure nothing is left open. */
nb_status nb_object_source_open(struct nb_object_source *o, const struct nb_source_ops *csv,
                                const struct nb_context *ctx, const struct nb_file_access *fa, struct nb_error *err);
void nb_object_source_close(struct nb_object_source *o);

nb_status nb_object_source_check(void *self, struct nb_error *err);
nb_status nb_object_source_discover(void *self, struct nb_buf *json, struct nb_error *err);
nb_status nb_object_source_read(void *self, struct nb_batch **out, struct nb_error *err);
bool nb_object_source_progress(void *self, uint64_t *done, uint64_t *total);

#endif
