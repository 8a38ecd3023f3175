/* An nb_ostream that uploads one S3 object: bytes are cut into parts of part_size, each uploaded
 * by a pool of max_concurrency threads while the writer continues (async batching; at most
 * max_concurrency + 1 parts in memory). Small objects are one PUT. finish() completes the
 * multipart upload, abort() aborts it. If-None-Match: * (plus a HEAD check at open, for servers
 * that ignore the header) makes a rerun refuse to overwrite a finished object unless overwrite=true.
 * Not resumable mid-object: checkpoint() is unsupported; the destination rewrites an unfinished
 * object from the start on a rerun (file_dest whole_objects). */
#ifndef NB_CONNECTORS_S3_OSTREAM_H
#define NB_CONNECTORS_S3_OSTREAM_H

#include "connectors/s3/s3_client.h"
#include "io/stream.h"

#define NB_S3_MIN_PART (5u * 1024 * 1024)

struct nb_s3_upload_options {
    size_t part_size;        /* >= 5 MiB (S3's minimum for all parts but the last) */
    unsigned concurrency;    /* parallel part uploads, >= 1 */
    bool overwrite;          /* false: If-None-Match: * and a HEAD check */
};

nb_status nb_s3_ostream_open(struct nb_s3_client *c, const char *key, const struct nb_s3_upload_options *o,
                             struct nb_ostream **out, struct nb_error *err);

#endif
