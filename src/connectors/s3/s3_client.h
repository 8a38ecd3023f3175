/* A small S3 REST client over the shared HTTP layer: SigV4-signed requests (x-amz-content-sha256
 * always sent, session tokens as x-amz-security-token), path-style or virtual-hosted addressing,
 * S3 error bodies turned into messages naming the bucket, key and HTTP status. Thread-safe. */
#ifndef NB_CONNECTORS_S3_CLIENT_H
#define NB_CONNECTORS_S3_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/http.h"
#include "net/aws_creds.h"
#include "net/sigv4.h"

struct nb_s3_config {
    const char *bucket;
    const char *endpoint;        /* "http://127.0.0.1:9000"; NULL = https://s3.<region>.amazonaws.com */
    const char *region;          /* default us-east-1 */
    bool path_style;             /* bucket in the path (MinIO, Ceph, local servers) */
    struct nb_aws_creds_provider *creds;   /* borrowed; asked at every signature (refreshes) */
};

struct nb_s3_client;
nb_status nb_s3_client_create(const struct nb_s3_config *cfg, struct nb_http_client *http, struct nb_s3_client **out,
                              struct nb_error *err);
void nb_s3_client_destroy(struct nb_s3_client *c);
const char *nb_s3_bucket(const struct nb_s3_client *c);

struct nb_s3_call {
    const char *method;
    const char *key;            /* object key (unencoded), "" for the bucket */
    const char *query;          /* encoded query, may be NULL */
    const char *const *headers; /* extra "Name: value" headers (not signed unless x-amz-*) */
    size_t n_headers;
    const void *body;
    size_t body_len;
    bool idempotent;
    struct nb_buf *sink;        /* response body goes here instead of resp->body */
};

/* NB_OK when a response arrived (any status); see nb_http_send. */
nb_status nb_s3_call(struct nb_s3_client *c, const struct nb_s3_call *call, struct nb_http_response *resp,
                     struct nb_error *err);
/* Turn a non-2xx response into an error: "s3 PUT s3://bucket/key: HTTP 403 AccessDenied: <message>;
 * <what to do>". Returns the status (NB_ERR_AUTH for 401/403, NB_ERR_NOT_FOUND for 404, ...). */
nb_status nb_s3_error(const struct nb_s3_client *c, const char *method, const char *key,
                      const struct nb_http_response *resp, struct nb_error *err);
/* Text of the first <tag>...</tag> in xml (entities &amp; &lt; &gt; &quot; &apos; decoded) into out. */
bool nb_s3_xml_tag(const char *xml, const char *tag, char *out, size_t cap);

#endif
