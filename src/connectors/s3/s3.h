/* Internal to the s3 connector: the connection (HTTP client + S3 client) built from a config
 * section, shared by the destination and the source. */
#ifndef NB_CONNECTORS_S3_H
#define NB_CONNECTORS_S3_H

#include "connectors/connector.h"
#include "connectors/s3/s3_client.h"
#include "connectors/s3/s3_ostream.h"

/* Config keys shared by the source and the destination. */
#define S3_COMMON_KEYS                                                                                              \
    {"bucket", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED, "bucket name"},                                          \
    {"endpoint", NB_KEY_STRING, NULL, NULL, 0,                                                                      \
     "http(s)://host[:port] of an S3-compatible store (MinIO, R2, Ceph); default AWS for the region"},             \
    {"region", NB_KEY_STRING, "us-east-1", NULL, 0, "region used in signatures (SigV4)"},                           \
    {"path_style", NB_KEY_BOOL, "false", NULL, 0, "bucket in the URL path instead of the host name (most S3-compatible stores)"}, \
    {"access_key_id", NB_KEY_STRING, NULL, NULL, 0,                                                                 \
     "access key; default: AWS_ACCESS_KEY_ID, then the shared credentials file (profile)"},                        \
    {"secret_access_key", NB_KEY_STRING, NULL, NULL, NB_KEY_SECRET, "secret key"},                                  \
    {"session_token", NB_KEY_STRING, NULL, NULL, NB_KEY_SECRET, "session token of temporary credentials"},          \
    {"profile", NB_KEY_STRING, NULL, NULL, 0, "profile in the shared credentials file (default AWS_PROFILE or default)"}, \
    {"ca_bundle", NB_KEY_STRING, NULL, NULL, 0, "PEM file of CAs to trust instead of the system store"},            \
    {"max_concurrency", NB_KEY_INT, "0", NULL, 0, "parallel requests (0 = performance.max_concurrency)"},           \
    {"max_attempts", NB_KEY_INT, "6", NULL, 0, "attempts per request (retries with backoff on 408/429/5xx/network)"}, \
    {"retry_base", NB_KEY_DURATION, "200ms", NULL, 0, "first backoff (exponential with full jitter)"},              \
    {"retry_max", NB_KEY_DURATION, "20s", NULL, 0, "longest backoff"},                                              \
    {"breaker_threshold", NB_KEY_INT, "5", NULL, 0, "consecutive failures that open the circuit breaker"},          \
    {"breaker_cooldown", NB_KEY_DURATION, "5s", NULL, 0, "time the breaker stays open before a probe"}

struct nb_s3_conn {
    struct nb_aws_creds_provider *creds;
    struct nb_http_client *http;
    struct nb_s3_client *s3;
    unsigned concurrency;
};

nb_status nb_s3_setup(const struct nb_context *ctx, struct nb_s3_conn *out, struct nb_error *err);
void nb_s3_teardown(struct nb_s3_conn *c);

extern const struct nb_source_ops nb_s3_source_ops;

#endif
