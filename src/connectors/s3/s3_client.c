/* S3 REST calls (see s3_client.h). Each attempt is signed afresh in the HTTP layer's prepare hook,
 * so a retried request carries a current x-amz-date. */
#include "connectors/s3/s3_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

struct nb_s3_client {
    struct nb_http_client *http;
    char *bucket, *region;
    char *scheme_host;    /* "http://127.0.0.1:9000" (virtual-hosted: with the bucket in the host) */
    char *host;           /* the Host header value */
    bool path_style;
    struct nb_aws_creds_provider *creds;
};

const char *nb_s3_bucket(const struct nb_s3_client *c) { return c->bucket; }

void nb_s3_client_destroy(struct nb_s3_client *c)
{
    if (!c) return;
    free(c->bucket);
    free(c->region);
    free(c->scheme_host);
    free(c->host);
    free(c);
}

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

nb_status nb_s3_client_create(const struct nb_s3_config *cfg, struct nb_http_client *http, struct nb_s3_client **out,
                              struct nb_error *err)
{
    if (!cfg->bucket || !*cfg->bucket) return nb_error_set(err, NB_ERR_CONFIG, "s3: 'bucket' is required");
    struct nb_s3_client *c = calloc(1, sizeof *c);
    if (!c) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    c->http = http;
    c->path_style = cfg->path_style;
    c->bucket = xstrdup(cfg->bucket);
    c->region = xstrdup(cfg->region && *cfg->region ? cfg->region : "us-east-1");
    c->creds = cfg->creds;
    char ep[512];
    if (cfg->endpoint && *cfg->endpoint) {
        snprintf(ep, sizeof ep, "%s", cfg->endpoint);
    } else {
        snprintf(ep, sizeof ep, "https://s3.%s.amazonaws.com", c->region);
    }
    size_t el = strlen(ep);
    while (el && ep[el - 1] == '/') ep[--el] = '\0';
    const char *sep = strstr(ep, "://");
    if (!sep || !sep[3] || strchr(sep + 3, '/')) {
        nb_s3_client_destroy(c);
        return nb_error_set(err, NB_ERR_CONFIG, "s3: endpoint '%s' must look like http(s)://host[:port]", ep);
    }
    char buf[700];
    if (c->path_style) {
        c->scheme_host = xstrdup(ep);
        c->host = xstrdup(sep + 3);
    } else {
        snprintf(buf, sizeof buf, "%.*s%s.%s", (int)(sep + 3 - ep), ep, c->bucket, sep + 3);
        c->scheme_host = xstrdup(buf);
        c->host = xstrdup(strstr(buf, "://") + 3);
    }
    if (!c->bucket || !c->region || !c->scheme_host || !c->host) {
        nb_s3_client_destroy(c);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    *out = c;
    return NB_OK;
}

struct sign_ctx {
    struct nb_s3_client *c;
    const char *method;
    const char *path;       /* canonical (encoded) path */
    const char *query;
    char payload_hash[65];
};

static nb_status sign(void *ctx, const struct nb_http_request *req, struct nb_buf *headers, struct nb_error *err)
{
    (void)req;
    struct sign_ctx *s = ctx;
    /* Asked per attempt: temporary credentials are refreshed before they expire, mid-run. */
    struct nb_aws_creds creds;
    nb_status st = nb_aws_creds_provider_get(s->c->creds, &creds, err);
    if (st != NB_OK) return st;
    char date[17];
    nb_amz_date(nb_wall_us() / 1000000, date);
    struct nb_sigv4_header h[4] = {
        {"host", s->c->host},
        {"x-amz-content-sha256", s->payload_hash},
        {"x-amz-date", date},
        {"x-amz-security-token", creds.session_token},
    };
    size_t n = creds.session_token ? 4 : 3;
    struct nb_sigv4_request r = {s->method, s->path, s->query, h, n, s->payload_hash, s->c->region, "s3", date};
    struct nb_buf auth;
    nb_buf_init(&auth);
    st = nb_sigv4_sign(&r, &creds, &auth, NULL, err);
    if (st == NB_OK) {
        nb_buf_printf(headers, "Host: %s\nx-amz-content-sha256: %s\nx-amz-date: %s\n", s->c->host, s->payload_hash, date);
        if (creds.session_token) nb_buf_printf(headers, "x-amz-security-token: %s\n", creds.session_token);
        nb_buf_printf(headers, "Authorization: %s\n", auth.data);
        st = nb_buf_status(headers, err);
    }
    nb_buf_cleanup(&auth);
    nb_aws_creds_cleanup(&creds);
    return st;
}

nb_status nb_s3_call(struct nb_s3_client *c, const struct nb_s3_call *call, struct nb_http_response *resp,
                     struct nb_error *err)
{
    struct nb_buf path, url;
    nb_buf_init(&path);
    nb_buf_init(&url);
    nb_buf_putc(&path, '/');
    if (c->path_style) {
        nb_uri_encode(&path, c->bucket, strlen(c->bucket), false);
        if (call->key && *call->key) nb_buf_putc(&path, '/');
    }
    if (call->key) nb_uri_encode(&path, call->key, strlen(call->key), true);
    nb_buf_printf(&url, "%s%s%s%s", c->scheme_host, path.data, call->query && *call->query ? "?" : "",
                  call->query ? call->query : "");
    struct sign_ctx sc = {c, call->method, path.data, call->query, ""};
    nb_sha256_hex(call->body ? call->body : "", call->body_len, sc.payload_hash);
    char what[600];
    snprintf(what, sizeof what, "s3 %s s3://%s/%s", call->method, c->bucket, call->key ? call->key : "");
    nb_status st = nb_buf_status(&url, err);
    if (st == NB_OK) st = nb_buf_status(&path, err);
    if (st == NB_OK) {
        struct nb_http_request req = {
            .method = call->method, .url = url.data, .headers = call->headers, .n_headers = call->n_headers,
            .body = call->body, .body_len = call->body_len, .idempotent = call->idempotent,
            .prepare = sign, .prepare_ctx = &sc, .what = what, .sink = call->sink,
        };
        st = nb_http_send(c->http, &req, resp, err);
    }
    nb_buf_cleanup(&path);
    nb_buf_cleanup(&url);
    return st;
}

bool nb_s3_xml_tag(const char *xml, const char *tag, char *out, size_t cap)
{
    if (!xml || cap == 0) return false;
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(xml, open);
    if (!a) return false;
    a += strlen(open);
    const char *b = strstr(a, close);
    if (!b) return false;
    size_t o = 0;
    static const struct { const char *ent; char ch; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&#34;", '"'}};
    for (const char *p = a; p < b && o + 1 < cap;) {
        bool done = false;
        if (*p == '&') {
            for (size_t i = 0; i < sizeof ents / sizeof *ents; i++) {
                size_t l = strlen(ents[i].ent);
                if ((size_t)(b - p) >= l && strncmp(p, ents[i].ent, l) == 0) {
                    out[o++] = ents[i].ch;
                    p += l;
                    done = true;
                    break;
                }
            }
        }
        if (!done) out[o++] = *p++;
    }
    out[o] = '\0';
    return true;
}

nb_status nb_s3_error(const struct nb_s3_client *c, const char *method, const char *key,
                      const struct nb_http_response *resp, struct nb_error *err)
{
    char code[128] = "", msg[512] = "";
    const char *body = resp->body.data;
    nb_s3_xml_tag(body, "Code", code, sizeof code);
    nb_s3_xml_tag(body, "Message", msg, sizeof msg);
    nb_status st;
    const char *hint = "";
    switch (resp->status) {
    case 401:
    case 403:
        st = NB_ERR_AUTH;
        hint = strcmp(code, "SignatureDoesNotMatch") == 0
                   ? "; check secret_access_key and region"
                   : "; check the credentials and that they may access this bucket and key (s3:PutObject, s3:GetObject, s3:ListBucket)";
        break;
    case 404:
        st = NB_ERR_NOT_FOUND;
        hint = strcmp(code, "NoSuchBucket") == 0 ? "; check 'bucket' (and 'endpoint'/'path_style')" : "";
        break;
    case 412:
        st = NB_ERR_INVALID;
        hint = "; the object already exists and is not overwritten (If-None-Match): remove it or set overwrite: true";
        break;
    default:
        st = resp->status >= 500 || resp->status == 429 ? NB_ERR_NET : NB_ERR_PROTOCOL;
    }
    nb_status r = nb_error_set(err, st, "s3 %s s3://%s/%s: HTTP %ld%s%s%s%s%s", method, c->bucket, key ? key : "",
                               resp->status, *code ? " " : "", code, *msg ? ": " : "", msg, hint);
    if (err && (resp->status >= 500 || resp->status == 429)) err->retryable = true;
    return r;
}
