/* The one retry policy for every HTTP caller (DESIGN.md §2 net layer): exponential backoff with
 * full jitter, Retry-After honoured, errors classified (network, 408/429/5xx retryable; other 4xx
 * not), and non-idempotent requests retried only when the request never reached the server. */
#ifndef NB_NET_RETRY_H
#define NB_NET_RETRY_H

#include <stdbool.h>
#include <stdint.h>

struct nb_retry_policy {
    unsigned max_attempts;   /* total attempts including the first (>= 1) */
    uint64_t base_ms;        /* first backoff cap */
    uint64_t max_ms;         /* backoff cap */
    uint64_t max_retry_after_ms; /* a server's Retry-After longer than this is clamped */
};
#define NB_RETRY_POLICY_DEFAULT {6, 200, 20000, 60000}

enum nb_retry_class { NB_RETRY_NO = 0, NB_RETRY_YES };

/* HTTP status -> retryable? (408, 429, 500..599 yes; everything else no). status 0 = no response
 * (connection failure, timeout): retryable. */
enum nb_retry_class nb_retry_classify_http(long status);
/* May this request be sent again after this outcome? A non-idempotent request is retried only
 * when nothing reached the server (connect failure, status 0 with sent=false) or on 429/503
 * (the server says it did not process it). */
bool nb_retry_should(const struct nb_retry_policy *p, unsigned attempt_done, long status, bool idempotent,
                     bool request_sent);
/* Backoff before attempt `attempt` (1 = the first retry): uniform in [0, min(max, base * 2^(attempt-1))]
 * ("full jitter"). rng is a caller-held xorshift state (non-zero). */
uint64_t nb_retry_backoff_ms(const struct nb_retry_policy *p, unsigned attempt, uint64_t *rng);
/* Parse a Retry-After value: delta-seconds or an IMF-fixdate (RFC 9110 §10.2.3), relative to
 * now_s (Unix seconds). false if unparseable. A date in the past is 0 ms. */
bool nb_retry_after_parse(const char *value, int64_t now_s, uint64_t *ms);
/* The delay to wait: Retry-After (clamped) when the server sent one, else the jittered backoff. */
uint64_t nb_retry_delay_ms(const struct nb_retry_policy *p, unsigned attempt, const char *retry_after,
                           int64_t now_s, uint64_t *rng);

#endif
