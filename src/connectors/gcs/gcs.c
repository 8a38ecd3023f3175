/* The `gcs` destination: the shared object destination with an upload stream that uses the GCS
 * JSON API's resumable uploads: a session is opened (with ifGenerationMatch=0 unless overwrite, so
 * a rerun never replaces a finished object), bytes go up in chunks that are multiples of 256 KiB,
 * the last chunk states the total and carries the object's CRC32C (x-goog-hash) for the server to
 * verify. After a dropped connection or a 5xx the session is asked what it has (Content-Range:
 * bytes * / *, answered by 308 + Range) and the upload resumes from there. OAuth2 tokens come from
 * net/google_auth. Uploads are sequential per object (the API has one offset per session). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/common/object_dest.h"
#include "connectors/gcs/gcs_http.h"
#include "core/arena.h"
#include "core/json.h"
#include "core/log.h"
#include "io/crc32c.h"
#include "net/google_auth.h"
#include "net/http.h"

#define CHUNK_UNIT (256u * 1024)

static const struct nb_config_key gcs_dest_spec[] = {
    {"bucket", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED, "bucket name"},
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_object_dest_keys},
    {"credentials_file", NB_KEY_STRING, NULL, NULL, 0,
     "service-account key or authorized-user JSON; default GOOGLE_APPLICATION_CREDENTIALS, then the metadata server"},
    {"endpoint", NB_KEY_STRING, "https://storage.googleapis.com", NULL, 0, "JSON API root (tests point it at a fake)"},
    {"chunk_size", NB_KEY_SIZE, "8MiB", NULL, 0, "resumable upload chunk (a multiple of 256KiB)"},
    {"ca_bundle", NB_KEY_STRING, NULL, NULL, 0, "PEM file of CAs to trust instead of the system store"},
    {"max_attempts", NB_KEY_INT, "6", NULL, 0, "attempts per request (and resumptions per chunk)"},
    {"retry_base", NB_KEY_DURATION, "200ms", NULL, 0, "first backoff (exponential with full jitter)"},
    {"retry_max", NB_KEY_DURATION, "20s", NULL, 0, "longest backoff"},
    {"breaker_threshold", NB_KEY_INT, "5", NULL, 0, "consecutive failures that open the circuit breaker"},
    {"breaker_cooldown", NB_KEY_DURATION, "5s", NULL, 0, "time the breaker stays open before a probe"},
    {NULL},
};

struct gcs_dest {
    struct nb_http_client *http;
    struct nb_google_auth *auth;
    char *endpoint, *bucket;
    size_t chunk;
    bool overwrite;
    struct nb_retry_policy retry;
    struct nb_object_dest *od;
};

/* ---- requests --------------------------------------------------------------------------------- */


static nb_status gcs_send(struct gcs_dest *d, const struct nb_http_request *req, struct nb_http_response *r,
                          struct nb_error *err)
{
    return nb_gcs_send(d->http, d->auth, req, r, err);
}

static nb_status gcs_error(const char *what, const char *bucket, const char *key, const struct nb_http_response *r,
                           struct nb_error *err)
{
    return nb_gcs_error(what, bucket, key, r,
                        "; check credentials_file and that the account may write this bucket (roles/storage.objectCreator)",
                        "; the object already exists and is not overwritten (ifGenerationMatch=0): remove it or set "
                        "overwrite: true", err);
}

/* ---- the upload stream -------------------------------------------------------------------------- */

struct gcs_ostream {
    struct nb_ostream base;
    struct gcs_dest *d;
    char *key;
    char *session;            /* session URI */
    struct nb_buf cur;        /* bytes not yet confirmed, starting at offset `sent` */
    uint64_t sent;            /* bytes the server has persisted */
    uint32_t crc;
    bool done;
    bool replace;             /* overwrite even when the destination is write-once (a resumed rewrite) */
};

static nb_status open_session(struct gcs_ostream *s, struct nb_error *err)
{
    struct gcs_dest *d = s->d;
    struct nb_buf url;
    nb_buf_init(&url);
    nb_buf_printf(&url, "%s/upload/storage/v1/b/", d->endpoint);
    nb_uri_encode(&url, d->bucket, strlen(d->bucket), false);
    nb_buf_puts(&url, "/o?uploadType=resumable&name=");
    nb_uri_encode(&url, s->key, strlen(s->key), false);
    if (!d->overwrite && !s->replace) nb_buf_puts(&url, "&ifGenerationMatch=0");
    const char *hdrs[2] = {"Content-Type: application/json; charset=UTF-8", "X-Upload-Content-Type: application/octet-stream"};
    char what[600];
    snprintf(what, sizeof what, "gcs POST (start upload) gs://%s/%s", d->bucket, s->key);
    struct nb_http_request req = {"POST", url.data, hdrs, 2, "{}", 2, true, nb_gcs_add_auth, d->auth, what, NULL};
    struct nb_http_response r;
    nb_http_response_init(&r);
    nb_status st = nb_buf_status(&url, err);
    if (st == NB_OK) st = gcs_send(d, &req, &r, err);
    char loc[2048];
    if (st == NB_OK && r.status != 200 && r.status != 201) st = gcs_error("POST (start upload)", d->bucket, s->key, &r, err);
    else if (st == NB_OK && !nb_http_response_header(&r, "Location", loc, sizeof loc))
        st = nb_error_set(err, NB_ERR_PROTOCOL, "gcs start upload of gs://%s/%s: no Location header", d->bucket, s->key);
    if (st == NB_OK && !(s->session = strdup(loc))) st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    nb_http_response_cleanup(&r);
    nb_buf_cleanup(&url);
    return st;
}

/* Bytes persisted according to a 308's Range header ("bytes=0-N"), or 0. */
static uint64_t persisted(const struct nb_http_response *r)
{
    char range[128];
    if (!nb_http_response_header(r, "Range", range, sizeof range)) return 0;
    const char *dash = strchr(range, '-');
    return dash ? strtoull(dash + 1, NULL, 10) + 1 : 0;
}

/* PUT `len` bytes of cur (from its start) at offset `sent`; final: the object's total is known.
 * Returns NB_OK with *complete when the object is finished. On a dropped connection or a 5xx,
 * asks the session for its offset and continues from there. */
static nb_status put_chunk(struct gcs_ostream *s, size_t len, bool final, bool *complete, struct nb_error *err)
{
    struct gcs_dest *d = s->d;
    uint64_t rng = (uint64_t)(uintptr_t)s ^ (uint64_t)time(NULL);
    uint64_t total = s->sent + s->cur.len;
    uint64_t end_goal = s->sent + len;     /* offset after this chunk */
    *complete = false;
    char what[600];
    snprintf(what, sizeof what, "gcs PUT (upload chunk) gs://%s/%s", d->bucket, s->key);
    for (unsigned attempt = 1;; attempt++) {
        bool query = false;
        nb_status st = NB_OK;
        struct nb_http_response r;
        nb_http_response_init(&r);
        size_t off = 0;      /* into cur */
        while (s->sent < end_goal || (final && !*complete)) {
            char cr[128], hash[80];
            size_t n = (size_t)(end_goal - s->sent);
            off = (size_t)(s->sent - (end_goal - len));
            if (query) snprintf(cr, sizeof cr, final ? "Content-Range: bytes */%llu" : "Content-Range: bytes */*",
                                (unsigned long long)total);
            else if (n == 0) snprintf(cr, sizeof cr, "Content-Range: bytes */%llu", (unsigned long long)total);
            else if (final) snprintf(cr, sizeof cr, "Content-Range: bytes %llu-%llu/%llu", (unsigned long long)s->sent,
                                     (unsigned long long)(s->sent + n - 1), (unsigned long long)total);
            else snprintf(cr, sizeof cr, "Content-Range: bytes %llu-%llu/*", (unsigned long long)s->sent,
                          (unsigned long long)(s->sent + n - 1));
            unsigned char be[4] = {(unsigned char)(s->crc >> 24), (unsigned char)(s->crc >> 16), (unsigned char)(s->crc >> 8),
                                   (unsigned char)s->crc};
            static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            uint32_t v = (uint32_t)be[0] << 16 | (uint32_t)be[1] << 8 | be[2];
            snprintf(hash, sizeof hash, "x-goog-hash: crc32c=%c%c%c%c%c%c==", b64[v >> 18], b64[(v >> 12) & 63],
                     b64[(v >> 6) & 63], b64[v & 63], b64[be[3] >> 2], b64[(be[3] & 3) << 4]);
            const char *hdrs[2] = {cr, hash};
            /* Not idempotent for the HTTP layer: after a failure we ask the session instead. */
            struct nb_http_request req = {"PUT", s->session, hdrs, final ? 2 : 1, query ? NULL : s->cur.data + off,
                                          query ? 0 : n, false, nb_gcs_add_auth, d->auth, what, NULL};
            st = gcs_send(d, &req, &r, err);
            if (st == NB_OK && r.status == 308) {
                uint64_t p = persisted(&r);
                if (p < end_goal - len || p > total) {
                    st = nb_error_set(err, NB_ERR_PROTOCOL, "%s: the server reports %llu bytes persisted, outside this chunk", what,
                                      (unsigned long long)p);
                    break;
                }
                s->sent = p;
                query = false;
                if (final && s->sent == total && n == 0) {
                    /* Everything persisted but not finalised: send the empty final request. */
                }
                continue;
            }
            if (st == NB_OK && (r.status == 200 || r.status == 201)) {
                s->sent = total;
                *complete = true;
                break;
            }
            if (st == NB_OK && r.status == 404) {
                st = nb_error_set(err, NB_ERR_NOT_FOUND, "%s: the upload session expired (HTTP 404); rerun to start over", what);
                break;
            }
            if (st == NB_OK && !(r.status >= 500 || r.status == 429 || r.status == 408))
                st = gcs_error("PUT (upload chunk)", d->bucket, s->key, &r, err);
            else if (st == NB_OK)
                st = gcs_error("PUT (upload chunk)", d->bucket, s->key, &r, err);
            break;
        }
        nb_http_response_cleanup(&r);
        if (st == NB_OK) break;
        bool transient = (err && err->retryable) || st == NB_ERR_NET || st == NB_ERR_TIMEOUT;
        if (!transient || attempt >= d->retry.max_attempts) return st;
        uint64_t ms = nb_retry_backoff_ms(&d->retry, attempt, &rng);
        NB_DEBUG("gcs", "%s: interrupted (%s); asking the session for its offset in %llu ms", what,
                 err ? err->message : "", (unsigned long long)ms);
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        /* Ask the session what it has, then continue from there. */
        char cr[128];
        snprintf(cr, sizeof cr, final ? "Content-Range: bytes */%llu" : "Content-Range: bytes */*", (unsigned long long)total);
        const char *qh[1] = {cr};
        struct nb_http_request q = {"PUT", s->session, qh, 1, NULL, 0, true, nb_gcs_add_auth, d->auth, what, NULL};
        nb_http_response_init(&r);
        st = gcs_send(d, &q, &r, err);
        if (st == NB_OK && r.status == 308) {
            s->sent = persisted(&r);
            if (s->sent < end_goal - len) s->sent = end_goal - len;   /* never before what it confirmed */
        } else if (st == NB_OK && (r.status == 200 || r.status == 201) && final) {
            s->sent = total;
            *complete = true;
            nb_http_response_cleanup(&r);
            return NB_OK;
        }
        nb_http_response_cleanup(&r);
    }
    /* Drop the confirmed bytes from cur. */
    uint64_t base = end_goal - len;
    size_t drop = (size_t)(s->sent - base);
    if (drop > s->cur.len) drop = s->cur.len;
    memmove(s->cur.data, s->cur.data + drop, s->cur.len - drop);
    s->cur.len -= drop;
    if (s->cur.data) s->cur.data[s->cur.len] = '\0';
    return NB_OK;
}

static nb_status g_write(struct nb_ostream *os, const void *p, size_t n, struct nb_error *err)
{
    struct gcs_ostream *s = (struct gcs_ostream *)os;
    if (s->done) return nb_error_set(err, NB_ERR_INTERNAL, "gcs: write after finish");
    nb_buf_append(&s->cur, p, n);
    if (s->cur.oom) return nb_error_set(err, NB_ERR_NOMEM, "out of memory buffering a GCS chunk");
    s->crc = nb_crc32c(s->crc, p, n);
    os->bytes_in += n;
    os->bytes_out += n;
    /* Keep at least one byte back so the final request always carries data and the total. */
    while (s->cur.len > s->d->chunk) {
        nb_status st = NB_OK;
        if (!s->session && (st = open_session(s, err)) != NB_OK) return st;
        bool complete = false;
        if ((st = put_chunk(s, s->d->chunk, false, &complete, err)) != NB_OK) return st;
    }
    return NB_OK;
}

static nb_status g_checkpoint(struct nb_ostream *os, uint64_t *len, struct nb_error *err)
{
    (void)os;
    (void)len;
    return nb_error_set(err, NB_ERR_UNSUPPORTED, "gcs objects are not resumable across runs");
}

static nb_status g_finish(struct nb_ostream *os, struct nb_error *err)
{
    struct gcs_ostream *s = (struct gcs_ostream *)os;
    if (s->done) return nb_error_set(err, NB_ERR_INTERNAL, "gcs: finish twice");
    s->done = true;
    nb_status st = NB_OK;
    if (!s->session) st = open_session(s, err);
    bool complete = false;
    if (st == NB_OK) st = put_chunk(s, s->cur.len, true, &complete, err);
    if (st == NB_OK && !complete)
        st = nb_error_set(err, NB_ERR_PROTOCOL, "gcs gs://%s/%s: the upload did not complete", s->d->bucket, s->key);
    if (st == NB_OK) NB_DEBUG("gcs", "wrote gs://%s/%s (%llu bytes)", s->d->bucket, s->key, (unsigned long long)os->bytes_out);
    return st;
}

static void g_abort(struct nb_ostream *os, bool keep)
{
    (void)keep;
    struct gcs_ostream *s = (struct gcs_ostream *)os;
    if (s->done || !s->session) {
        s->done = true;
        return;
    }
    s->done = true;
    /* Cancel the session: DELETE on the session URI (499 is the documented answer). */
    struct nb_http_request req = {"DELETE", s->session, NULL, 0, NULL, 0, true, nb_gcs_add_auth, s->d->auth, "gcs cancel upload", NULL};
    struct nb_http_response r;
    nb_http_response_init(&r);
    (void)nb_http_send(s->d->http, &req, &r, NULL);
    nb_http_response_cleanup(&r);
}

static void g_destroy(struct nb_ostream *os)
{
    struct gcs_ostream *s = (struct gcs_ostream *)os;
    if (!s->done) g_abort(os, false);
    nb_buf_cleanup(&s->cur);
    free(s->session);
    free(s->key);
    free(s);
}

static const struct nb_ostream_ops gcs_ops = {g_write, g_checkpoint, g_finish, g_abort, g_destroy};

static nb_status gcs_open_key(void *ctx, const char *key, bool replace, struct nb_ostream **out, struct nb_error *err)
{
    struct gcs_dest *d = ctx;
    struct gcs_ostream *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->base.ops = &gcs_ops;
    s->d = d;
    s->replace = replace;
    s->key = strdup(key);
    nb_buf_init(&s->cur);
    if (!s->key) {
        free(s);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    NB_DEBUG("gcs", "writing gs://%s/%s", d->bucket, key);
    *out = &s->base;
    return NB_OK;
}

/* ---- destination ops ------------------------------------------------------------------------- */

static void gcs_free(struct gcs_dest *d)
{
    nb_google_auth_destroy(d->auth);
    nb_http_client_destroy(d->http);
    free(d->endpoint);
    free(d->bucket);
    free(d);
}

static nb_status gcs_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    const struct nb_cfg *cfg = ctx->config;
    uint64_t chunk = nb_cfg_size(cfg, "chunk_size", 8u << 20);
    if (chunk == 0 || chunk % CHUNK_UNIT != 0)
        return nb_error_set(err, NB_ERR_CONFIG, "gcs destination: chunk_size must be a multiple of 256KiB (got %llu bytes)",
                            (unsigned long long)chunk);
    struct gcs_dest *d = calloc(1, sizeof *d);
    if (!d) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    d->chunk = (size_t)chunk;
    d->overwrite = nb_cfg_bool(cfg, "overwrite", false);
    d->bucket = strdup(nb_cfg_string(cfg, "bucket", ""));
    const char *ep = nb_cfg_string(cfg, "endpoint", "https://storage.googleapis.com");
    d->endpoint = strdup(ep);
    if (d->endpoint) {
        size_t l = strlen(d->endpoint);
        while (l && d->endpoint[l - 1] == '/') d->endpoint[--l] = '\0';
    }
    int64_t attempts = nb_cfg_int(cfg, "max_attempts", 6), thr = nb_cfg_int(cfg, "breaker_threshold", 5);
    d->retry = (struct nb_retry_policy){(unsigned)(attempts < 1 ? 1 : attempts), nb_cfg_duration_ms(cfg, "retry_base", 200),
                                        nb_cfg_duration_ms(cfg, "retry_max", 20000), 60000};
    struct nb_http_options ho = {
        .connect_timeout_ms = ctx->options ? ctx->options->connect_timeout_ms : 0,
        .request_timeout_ms = ctx->options ? ctx->options->request_timeout_ms : 0,
        .idle_timeout_ms = ctx->options ? ctx->options->idle_timeout_ms : 0,
        .ca_bundle = nb_cfg_string(cfg, "ca_bundle", NULL),
        .retry = d->retry,
        .breaker_threshold = (unsigned)(thr < 1 ? 1 : thr),
        .breaker_cooldown_ms = nb_cfg_duration_ms(cfg, "breaker_cooldown", 5000),
        .cancel = ctx->cancel,
    };
    nb_status st = !d->bucket || !d->endpoint ? nb_error_set(err, NB_ERR_NOMEM, "out of memory") : NB_OK;
    if (st == NB_OK) st = nb_http_client_create(&ho, &d->http, err);
    if (st == NB_OK)
        st = nb_google_auth_create(nb_cfg_string(cfg, "credentials_file", NULL),
                                   "https://www.googleapis.com/auth/devstorage.read_write", d->http, &d->auth, err);
    if (st == NB_OK) st = nb_object_dest_open(&d->od, ctx, "gcs", gcs_open_key, d, err);
    if (st != NB_OK) {
        gcs_free(d);
        return st;
    }
    *self = d;
    return NB_OK;
}

static nb_status gcs_check(void *self, struct nb_error *err)
{
    struct gcs_dest *d = self;
    struct nb_buf url;
    nb_buf_init(&url);
    nb_buf_printf(&url, "%s/storage/v1/b/", d->endpoint);
    nb_uri_encode(&url, d->bucket, strlen(d->bucket), false);
    nb_buf_puts(&url, "/o?maxResults=1");
    struct nb_http_request req = {"GET", url.data, NULL, 0, NULL, 0, true, nb_gcs_add_auth, d->auth, "gcs check", NULL};
    struct nb_http_response r;
    nb_http_response_init(&r);
    nb_status st = nb_buf_status(&url, err);
    if (st == NB_OK) st = gcs_send(d, &req, &r, err);
    if (st == NB_OK && r.status != 200) st = gcs_error("GET (list)", d->bucket, "", &r, err);
    nb_http_response_cleanup(&r);
    nb_buf_cleanup(&url);
    return st;
}

static nb_status gcs_encode(void *self, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err)
{
    return nb_object_dest_encode(((struct gcs_dest *)self)->od, b, out, err);
}
static nb_status gcs_write(void *self, const struct nb_batch *b, const struct nb_buf *enc, struct nb_error *err)
{
    return nb_object_dest_write(((struct gcs_dest *)self)->od, b, enc, err);
}
static nb_status gcs_commit(void *self, const char *stream, struct nb_buf *state, struct nb_error *err)
{
    return nb_object_dest_commit(((struct gcs_dest *)self)->od, stream, state, err);
}
static bool gcs_wants_commit(void *self, const char *stream)
{
    return nb_object_dest_wants_commit(((struct gcs_dest *)self)->od, stream);
}
static uint64_t gcs_bytes_written(void *self)
{
    return nb_object_dest_bytes_written(((struct gcs_dest *)self)->od);
}
static nb_status gcs_end(void *self, const char *stream, struct nb_error *err)
{
    return nb_object_dest_end_stream(((struct gcs_dest *)self)->od, stream, err);
}
static void gcs_close(void *self, bool success, bool keep_partial)
{
    struct gcs_dest *d = self;
    if (!d) return;
    nb_object_dest_close(d->od, success, keep_partial);
    gcs_free(d);
}

static const struct nb_destination_ops gcs_destination = {
    .spec = gcs_dest_spec, .typed = true, .open = gcs_open, .check = gcs_check, .encode = gcs_encode,
    .write = gcs_write, .commit = gcs_commit, .wants_commit = gcs_wants_commit,
    .bytes_written = gcs_bytes_written, .end_stream = gcs_end, .close = gcs_close,
};

extern const struct nb_source_ops nb_gcs_source_ops;

const struct nb_connector_ops nb_connector_gcs = {
    .name = "gcs",
    .description = "Google Cloud Storage (parquet/avro/csv/json objects, resumable uploads with CRC32C, OAuth2; csv, json and parquet objects as a source, incremental)",
    .kinds = NB_SOURCE | NB_DESTINATION,
    .source_caps = NB_CAP_FULL_REFRESH | NB_CAP_INCREMENTAL | NB_CAP_RESUME,
    .destination_caps = NB_CAP_FULL_REFRESH | NB_CAP_EXACTLY_ONCE,
    .source = &nb_gcs_source_ops,
    .destination = &gcs_destination,
};
