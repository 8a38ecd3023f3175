/* AWS Signature Version 4 (our own implementation, checked against the examples in AWS's
 * documentation): header signing with x-amz-content-sha256 and session tokens, and query
 * presigning. Inputs are already percent-encoded as they go on the wire. */
#ifndef NB_NET_SIGV4_H
#define NB_NET_SIGV4_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

struct nb_aws_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;     /* NULL unless temporary credentials */
};
void nb_aws_creds_cleanup(struct nb_aws_creds *c);

struct nb_sigv4_header {
    const char *name;
    const char *value;
};

struct nb_sigv4_request {
    const char *method;
    const char *path;          /* canonical URI: each segment URI-encoded, '/' kept ("/" if empty) */
    const char *query;         /* query string as sent (encoded "k=v&k2=v2"), NULL/"" for none */
    const struct nb_sigv4_header *headers;   /* every header to sign (host, x-amz-date, x-amz-content-sha256 ...) */
    size_t n_headers;
    const char *payload_hash;  /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    const char *region;
    const char *service;       /* "s3" */
    const char *amz_date;      /* "YYYYMMDDTHHMMSSZ" */
};

/* The Authorization header value ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...")
 * into auth; the hex signature into sig (65 bytes) if not NULL. */
nb_status nb_sigv4_sign(const struct nb_sigv4_request *r, const struct nb_aws_creds *creds, struct nb_buf *auth,
                        char *sig, struct nb_error *err);
/* Presigned URL query: the request's query plus X-Amz-Algorithm, -Credential, -Date, -Expires,
 * -SignedHeaders (from r->headers, normally just host), -Security-Token and -Signature, into out.
 * r->payload_hash is normally "UNSIGNED-PAYLOAD". */
nb_status nb_sigv4_presign(const struct nb_sigv4_request *r, const struct nb_aws_creds *creds, unsigned expires_s,
                           struct nb_buf *out, struct nb_error *err);
/* The canonical request and string to sign, for tests and debugging (no secrets in either). */
nb_status nb_sigv4_canonical(const struct nb_sigv4_request *r, struct nb_buf *canonical, struct nb_error *err);

void nb_sha256_hex(const void *p, size_t n, char out[65]);
/* "YYYYMMDDTHHMMSSZ" for a Unix time. */
void nb_amz_date(long long unix_s, char out[17]);

#endif
