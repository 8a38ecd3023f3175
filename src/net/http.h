/* The one HTTP client (DESIGN.md §2 net layer), over libcurl: connections, TLS sessions and DNS are
 * shared between requests and threads (connection reuse), HTTP/2 is used where TLS offers it, TLS is
 * verified by default (optional CA bundle), proxies come from the environment (http_proxy,
 * https_proxy, no_proxy), timeouts from the pipeline's timeouts: section. Every request goes through
 * the retry policy (net/retry.h) and the circuit breaker of its endpoint (net/breaker.h).
 * Parallel transfers: the client is thread-safe; callers run up to max_concurrency requests at once
 * from their own threads (each borrows a pooled easy handle). Request logs (debug) never show
 * headers, and redact signatures, credentials and tokens in URLs. */
#ifndef NB_NET_HTTP_H
#define NB_NET_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "net/retry.h"

struct nb_http_options {
    uint64_t connect_timeout_ms;   /* 0 = 30 s */
    uint64_t request_timeout_ms;   /* whole request; 0 = none */
    uint64_t idle_timeout_ms;      /* abort if no byte moves for this long; 0 = 300 s */
    const char *ca_bundle;         /* PEM file of trusted CAs; NULL = system store */
    bool insecure;                 /* skip TLS verification (tests against self-signed servers only) */
    struct nb_retry_policy retry;  /* max_attempts 0 = NB_RETRY_POLICY_DEFAULT */
    unsigned breaker_threshold;    /* consecutive failures that open an endpoint's breaker; 0 = 5 */
    uint64_t breaker_cooldown_ms;  /* 0 = 5000 */
    atomic_bool *cancel;           /* checked while waiting between attempts */
    /* Test hook: called instead of sleeping between attempts (ms = the computed delay). */
    void (*sleep_fn)(void *ctx, uint64_t ms);
    void *sleep_ctx;
};

struct nb_http_client;
/* libcurl is loaded on first use (net/curl_lib.c): why it could not be, or NULL. */
const char *nb_curl_load_error(void);
nb_status nb_http_client_create(const struct nb_http_options *opt, struct nb_http_client **out, struct nb_error *err);
void nb_http_client_destroy(struct nb_http_client *c);

struct nb_http_request {
    const char *method;            /* GET PUT POST DELETE HEAD */
    const char *url;
    const char *const *headers;    /* "Name: value" lines, n_headers of them */
    size_t n_headers;
    const void *body;              /* request body (not copied), body_len bytes */
    size_t body_len;
    bool idempotent;               /* may be resent after the server might have seen it */
    /* Called before every attempt (e.g. to sign with a fresh date): append "Name: value\n" lines. */
    nb_status (*prepare)(void *ctx, const struct nb_http_request *req, struct nb_buf *headers, struct nb_error *err);
    void *prepare_ctx;
    const char *what;              /* for messages: "s3 PUT bucket/key" (NULL: method + host) */
    struct nb_buf *sink;           /* NULL: body into resp->body; else appended here */
};

struct nb_http_response {
    long status;                   /* 0 when no response arrived */
    struct nb_buf body;
    struct nb_buf headers;         /* raw header block of the final response */
    unsigned attempts;             /* attempts made */
};

void nb_http_response_init(struct nb_http_response *r);
void nb_http_response_cleanup(struct nb_http_response *r);
/* Value of header `name` (case-insensitive) in the final response into out; false if absent. */
bool nb_http_response_header(const struct nb_http_response *r, const char *name, char *out, size_t cap);

/* Send with retries. NB_OK when a response arrived, whatever its status (retryable statuses are
 * retried first; the last one is returned): the caller judges the status. NB_ERR_NET (retryable)
 * when no response arrived after the last attempt, NB_ERR_TIMEOUT on a timeout, NB_ERR_CANCELLED. */
nb_status nb_http_send(struct nb_http_client *c, const struct nb_http_request *req, struct nb_http_response *resp,
                       struct nb_error *err);

/* Retry/breaker counters since creation (metrics, tests). */
struct nb_http_stats {
    uint64_t requests, attempts, retries, breaker_opened, breaker_waits;
};
void nb_http_client_stats(struct nb_http_client *c, struct nb_http_stats *out);

/* The URL with the values of sensitive query parameters (signatures, credentials, tokens) replaced
 * by "***", for logs and messages. */
void nb_http_redact_url(const char *url, char *out, size_t cap);
/* Percent-encode per RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~); keep '/' if keep_slash. */
void nb_uri_encode(struct nb_buf *out, const char *s, size_t n, bool keep_slash);

#endif
