/* The HTTP client over libcurl (see http.h). One CURLSH shares connections, DNS and TLS sessions
 * across a pool of easy handles, so threads reuse warm connections; each nb_http_send borrows a
 * handle, runs the attempts of one request on it and returns it. */
#include "net/http.h"

#include <ctype.h>
#include <stdio.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "net/breaker.h"

#define POOL_MAX 64
#define LOCKS (CURL_LOCK_DATA_LAST + 1)

struct endpoint {
    struct endpoint *next;
    char *key;                    /* scheme://host:port */
    struct nb_breaker breaker;
};

struct nb_http_client {
    struct nb_http_options opt;
    char *ca_bundle;
    CURLSH *share;
    pthread_mutex_t locks[LOCKS];
    pthread_mutex_t mu;           /* pool, endpoints, stats, rng */
    CURL *pool[POOL_MAX];
    size_t n_pool;
    struct endpoint *endpoints;
    struct nb_http_stats stats;
    uint64_t rng;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init_once(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
    (void)h;
    (void)access;
    struct nb_http_client *c = ctx;
    pthread_mutex_lock(&c->locks[(int)data % LOCKS]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
    (void)h;
    struct nb_http_client *c = ctx;
    pthread_mutex_unlock(&c->locks[(int)data % LOCKS]);
}

nb_status nb_http_client_create(const struct nb_http_options *opt, struct nb_http_client **out, struct nb_error *err)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        const char *why = nb_curl_load_error();
        if (why) return nb_error_set(err, NB_ERR_UNSUPPORTED, "http: %s", why);
        return nb_error_set(err, NB_ERR_INTERNAL, "libcurl initialisation failed");
    }
    struct nb_http_client *c = calloc(1, sizeof *c);
    if (!c) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    if (opt) c->opt = *opt;
    if (c->opt.retry.max_attempts == 0) c->opt.retry = (struct nb_retry_policy)NB_RETRY_POLICY_DEFAULT;
    if (c->opt.breaker_threshold == 0) c->opt.breaker_threshold = 5;
    if (c->opt.breaker_cooldown_ms == 0) c->opt.breaker_cooldown_ms = 5000;
    if (c->opt.connect_timeout_ms == 0) c->opt.connect_timeout_ms = 30000;
    if (c->opt.idle_timeout_ms == 0) c->opt.idle_timeout_ms = 300000;
    if (opt && opt->ca_bundle) {
        c->ca_bundle = strdup(opt->ca_bundle);
        if (!c->ca_bundle) { free(c); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    }
    c->opt.ca_bundle = c->ca_bundle;
    for (int i = 0; i < LOCKS; i++) pthread_mutex_init(&c->locks[i], NULL);
    pthread_mutex_init(&c->mu, NULL);
    c->rng = (uint64_t)nb_wall_us() ^ (uint64_t)(uintptr_t)c;
    c->share = curl_share_init();
    if (!c->share) { nb_http_client_destroy(c); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    *out = c;
    return NB_OK;
}

void nb_http_client_destroy(struct nb_http_client *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_pool; i++) curl_easy_cleanup(c->pool[i]);
    if (c->share) curl_share_cleanup(c->share);
    for (struct endpoint *e = c->endpoints, *n; e; e = n) {
        n = e->next;
        nb_breaker_cleanup(&e->breaker);
        free(e->key);
        free(e);
    }
    for (int i = 0; i < LOCKS; i++) pthread_mutex_destroy(&c->locks[i]);
    pthread_mutex_destroy(&c->mu);
    free(c->ca_bundle);
    free(c);
}

void nb_http_client_stats(struct nb_http_client *c, struct nb_http_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    uint64_t opened = 0;
    for (struct endpoint *e = c->endpoints; e; e = e->next) opened += e->breaker.times_opened;
    out->breaker_opened = opened;
    pthread_mutex_unlock(&c->mu);
}

void nb_http_response_init(struct nb_http_response *r)
{
    r->status = 0;
    r->attempts = 0;
    nb_buf_init(&r->body);
    nb_buf_init(&r->headers);
}

void nb_http_response_cleanup(struct nb_http_response *r)
{
    nb_buf_cleanup(&r->body);
    nb_buf_cleanup(&r->headers);
}

bool nb_http_response_header(const struct nb_http_response *r, const char *name, char *out, size_t cap)
{
    if (!r->headers.data || cap == 0) return false;
    size_t nl = strlen(name);
    const char *p = r->headers.data;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1, *e = p + len;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
            size_t vl = (size_t)(e - v);
            if (vl >= cap) vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        if (!eol) break;
        p = eol + 1;
    }
    return false;
}

void nb_uri_encode(struct nb_buf *out, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~' || (keep_slash && ch == '/')) {
            nb_buf_putc(out, (char)ch);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            nb_buf_append(out, e, 3);
        }
    }
}

static bool sensitive_param(const char *k, size_t n)
{
    static const char *names[] = {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature",
                                  "access_token", "token", "key", "sig", "upload_id", "client_secret"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == n && strncasecmp(k, names[i], n) == 0) return true;
    return false;
}

void nb_http_redact_url(const char *url, char *out, size_t cap)
{
    if (cap == 0) return;
    size_t o = 0;
#define PUT(ch) do { if (o + 1 < cap) out[o++] = (ch); } while (0)
    const char *q = strchr(url, '?');
    const char *end = q ? q : url + strlen(url);
    for (const char *p = url; p < end; p++) PUT(*p);
    if (q) {
        const char *p = q;
        while (*p) {
            PUT(*p);  /* '?' or '&' */
            p++;
            const char *k = p;
            while (*p && *p != '=' && *p != '&') p++;
            size_t kl = (size_t)(p - k);
            for (const char *x = k; x < p; x++) PUT(*x);
            if (*p == '=') {
                PUT('=');
                p++;
                const char *v = p;
                while (*p && *p != '&') p++;
                if (sensitive_param(k, kl)) {
                    PUT('*'); PUT('*'); PUT('*');
                } else {
                    for (const char *x = v; x < p; x++) PUT(*x);
                }
            }
        }
    }
#undef PUT
    out[o] = '\0';
    nb_redact(out, cap);
}

static struct nb_breaker *endpoint_breaker(struct nb_http_client *c, const char *url)
{
    char key[256];
    const char *s = strstr(url, "://");
    const char *host = s ? s + 3 : url;
    size_t n = strcspn(host, "/?#");
    size_t pre = (size_t)(host - url);
    if (pre + n >= sizeof key) n = sizeof key - 1 - pre;
    memcpy(key, url, pre + n);
    key[pre + n] = '\0';
    pthread_mutex_lock(&c->mu);
    struct endpoint *e = c->endpoints;
    for (; e; e = e->next)
        if (strcmp(e->key, key) == 0) break;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (e) e->key = strdup(key);
        if (e && e->key) {
            nb_breaker_init(&e->breaker, c->opt.breaker_threshold, c->opt.breaker_cooldown_ms, NULL, NULL);
            e->next = c->endpoints;
            c->endpoints = e;
        } else if (e) {
            free(e);
            e = NULL;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return e ? &e->breaker : NULL;
}

static CURL *borrow(struct nb_http_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->n_pool) h = c->pool[--c->n_pool];
    pthread_mutex_unlock(&c->mu);
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    return curl_easy_init();
}

static void give_back(struct nb_http_client *c, CURL *h)
{
    pthread_mutex_lock(&c->mu);
    if (c->n_pool < POOL_MAX) {
        c->pool[c->n_pool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h) curl_easy_cleanup(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct nb_buf *b = ud;
    nb_buf_append(b, p, size * n);
    return b->oom ? 0 : size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct nb_buf *b = ud;
    /* A new status line (after 100 Continue or a redirect) starts a new header block. */
    if (n * size >= 5 && strncmp(p, "HTTP/", 5) == 0) nb_buf_reset(b);
    nb_buf_append(b, p, size * n);
    return b->oom ? 0 : size * n;
}

static void wait_ms(struct nb_http_client *c, uint64_t ms)
{
    if (c->opt.sleep_fn) {
        c->opt.sleep_fn(c->opt.sleep_ctx, ms);
        return;
    }
    uint64_t end = nb_mono_ms() + ms;
    for (;;) {
        if (c->opt.cancel && atomic_load(c->opt.cancel)) return;
        uint64_t now = nb_mono_ms();
        if (now >= end) return;
        uint64_t step = end - now > 50 ? 50 : end - now;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static bool cancelled(struct nb_http_client *c) { return c->opt.cancel && atomic_load(c->opt.cancel); }

/* One attempt. Returns the curl code; status/headers/body in resp. */
static CURLcode attempt(struct nb_http_client *c, CURL *h, const struct nb_http_request *req,
                        struct curl_slist *hdrs, struct nb_http_response *resp, bool *sent)
{
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->opt.connect_timeout_ms);
    if (c->opt.request_timeout_ms) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->opt.request_timeout_ms);
    /* Idle: below 1 byte/s for idle_timeout seconds. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    long idle_s = (long)(c->opt.idle_timeout_ms / 1000);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, idle_s > 0 ? idle_s : 1L);
    if (c->opt.ca_bundle) curl_easy_setopt(h, CURLOPT_CAINFO, c->opt.ca_bundle);
    if (c->opt.insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, req->sink ? req->sink : &resp->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp->headers);
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
        if (req->body || strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        }
    }
    nb_buf_reset(&resp->body);
    nb_buf_reset(&resp->headers);
    resp->status = 0;
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    long reqsize = 0;
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &reqsize);
    *sent = reqsize > 0;
    if (rc == CURLE_OK) resp->status = code;
    return rc;
}

static bool has_header(const struct nb_http_request *req, const struct nb_buf *extra, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->n_headers; i++)
        if (strncasecmp(req->headers[i], name, n) == 0 && req->headers[i][n] == ':') return true;
    for (const char *p = extra->data; p && *p;) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') return true;
        const char *nl = strchr(p, '\n');
        if (!nl) break;
        p = nl + 1;
    }
    return false;
}

static struct curl_slist *build_headers(const struct nb_http_request *req, struct nb_buf *extra)
{
    struct curl_slist *l = NULL, *t;
#define ADD(s) do { t = curl_slist_append(l, (s)); if (!t) goto oom; l = t; } while (0)
    for (size_t i = 0; i < req->n_headers; i++) ADD(req->headers[i]);
    for (char *p = extra->data; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        if (*p) ADD(p);
        if (!nl) break;
        p = nl + 1;
    }
    /* libcurl would otherwise add a form content type to bodies and wait for 100-continue. */
    if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
        if (!has_header(req, extra, "Content-Type")) ADD("Content-Type: application/octet-stream");
        ADD("Expect:");
    }
    return l;
oom:
    curl_slist_free_all(l);
    return NULL;
#undef ADD
}

nb_status nb_http_send(struct nb_http_client *c, const struct nb_http_request *req, struct nb_http_response *resp,
                       struct nb_error *err)
{
    char shown[512];
    nb_http_redact_url(req->url, shown, sizeof shown);
    const char *what = req->what ? req->what : shown;
    CURL *h = borrow(c);
    if (!h) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating an HTTP handle");
    struct nb_breaker *br = endpoint_breaker(c, req->url);
    struct nb_buf extra;
    nb_buf_init(&extra);
    nb_status st = NB_OK;
    CURLcode last_rc = CURLE_OK;
    char curl_msg[CURL_ERROR_SIZE] = "";
    pthread_mutex_lock(&c->mu);
    c->stats.requests++;
    pthread_mutex_unlock(&c->mu);
    resp->attempts = 0;
    for (unsigned n = 1;; n++) {
        if (cancelled(c)) { st = nb_error_set(err, NB_ERR_CANCELLED, "%s: cancelled", what); break; }
        uint64_t bw = 0;
        if (br && !nb_breaker_allow(br, &bw)) {
            /* The endpoint is failing: wait out the cool-down instead of adding load; it counts as
             * an attempt so a dead endpoint still ends the request. */
            pthread_mutex_lock(&c->mu);
            c->stats.breaker_waits++;
            pthread_mutex_unlock(&c->mu);
            if (n >= c->opt.retry.max_attempts) {
                char last_what[CURL_ERROR_SIZE + 32];
                if (curl_msg[0]) snprintf(last_what, sizeof last_what, "%s", curl_msg);
                else snprintf(last_what, sizeof last_what, "HTTP %ld", resp->status);
                st = nb_error_retryable(err, NB_ERR_NET,
                                        "%s: circuit breaker open for this endpoint after %u consecutive failures "
                                        "(last: %s); check that the server is reachable",
                                        what, c->opt.breaker_threshold, last_what);
                break;
            }
            NB_DEBUG("http", "%s: circuit open, waiting %llu ms", what, (unsigned long long)bw);
            wait_ms(c, bw);
            continue;
        }
        nb_buf_reset(&extra);
        if (req->prepare && (st = req->prepare(req->prepare_ctx, req, &extra, err)) != NB_OK) break;
        struct curl_slist *hdrs = build_headers(req, &extra);
        if (!hdrs && (req->n_headers || extra.len)) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); break; }
        bool sent = false;
        uint64_t t0 = nb_mono_ms();
        size_t sink_len = req->sink ? req->sink->len : 0;
        last_rc = attempt(c, h, req, hdrs, resp, &sent);
        curl_slist_free_all(hdrs);
        resp->attempts = n;
        pthread_mutex_lock(&c->mu);
        c->stats.attempts++;
        pthread_mutex_unlock(&c->mu);
        if (last_rc != CURLE_OK) snprintf(curl_msg, sizeof curl_msg, "%s", curl_easy_strerror(last_rc));
        NB_DEBUG("http", "%s %s -> %ld%s%s (%llu ms, attempt %u)", req->method, shown, resp->status,
                 last_rc ? " " : "", last_rc ? curl_msg : "", (unsigned long long)(nb_mono_ms() - t0), n);
        bool failed = last_rc != CURLE_OK || nb_retry_classify_http(resp->status) == NB_RETRY_YES;
        if (br) {
            if (failed) nb_breaker_failure(br);
            else nb_breaker_success(br);
        }
        if (!failed) break;
        if (!nb_retry_should(&c->opt.retry, n, resp->status, req->idempotent, sent)) break;
        if (req->sink) { req->sink->len = sink_len; if (req->sink->data) req->sink->data[sink_len] = '\0'; }
        char ra[128];
        const char *retry_after = resp->status && nb_http_response_header(resp, "Retry-After", ra, sizeof ra) ? ra : NULL;
        uint64_t d;
        pthread_mutex_lock(&c->mu);
        d = nb_retry_delay_ms(&c->opt.retry, n, retry_after, nb_wall_us() / 1000000, &c->rng);
        c->stats.retries++;
        pthread_mutex_unlock(&c->mu);
        NB_DEBUG("http", "%s: retrying in %llu ms (%s)", what, (unsigned long long)d,
                 last_rc ? curl_msg : "retryable status");
        wait_ms(c, d);
    }
    nb_buf_cleanup(&extra);
    give_back(c, h);
    if (st != NB_OK) return st;
    if (resp->body.oom || resp->headers.oom) return nb_error_set(err, NB_ERR_NOMEM, "%s: out of memory reading the response", what);
    if (last_rc != CURLE_OK) {
        nb_status code = last_rc == CURLE_OPERATION_TIMEDOUT ? NB_ERR_TIMEOUT : NB_ERR_NET;
        return nb_error_retryable(err, code, "%s: %s after %u attempt%s", what, curl_msg, resp->attempts,
                                  resp->attempts == 1 ? "" : "s");
    }
    return NB_OK;
}
