/* SigV4 (see sigv4.h): canonical request -> string to sign -> HMAC chain of the secret over date,
 * region, service and "aws4_request" -> signature. OpenSSL supplies SHA-256 and HMAC, loaded at first
 * use (net/crypto_lib.c): signing asks for it first, so a missing libcrypto is one clear error. */
#include "net/sigv4.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/str.h"
#include "net/crypto_lib.h"
#include "net/http.h"

void nb_aws_creds_cleanup(struct nb_aws_creds *c)
{
    if (!c) return;
    if (c->secret_access_key) nb_secure_zero(c->secret_access_key, strlen(c->secret_access_key));
    free(c->access_key_id);
    free(c->secret_access_key);
    free(c->session_token);
    c->access_key_id = c->secret_access_key = c->session_token = NULL;
}

static void to_hex(const unsigned char *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void nb_sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    /* NULL only when libcrypto cannot be loaded: an empty hash, and signing reports why. */
    if (!SHA256(p, n, md)) {
        out[0] = '\0';
        return;
    }
    to_hex(md, sizeof md, out);
}

void nb_amz_date(long long unix_s, char out[17])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static void hmac(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &len);
}

struct hdr {
    char *name;    /* lower-case */
    char *value;   /* trimmed, inner runs of spaces collapsed */
};

static int cmp_hdr(const void *a, const void *b)
{
    return strcmp(((const struct hdr *)a)->name, ((const struct hdr *)b)->name);
}

struct qp {
    const char *k, *v;
    size_t kl, vl;
};

static int cmp_qp(const void *a, const void *b)
{
    const struct qp *x = a, *y = b;
    size_t n = x->kl < y->kl ? x->kl : y->kl;
    int c = memcmp(x->k, y->k, n);
    if (c) return c;
    if (x->kl != y->kl) return x->kl < y->kl ? -1 : 1;
    n = x->vl < y->vl ? x->vl : y->vl;
    c = memcmp(x->v, y->v, n);
    if (c) return c;
    return x->vl < y->vl ? -1 : x->vl > y->vl;
}

/* Canonical query: parameters sorted by name then value, "k=" for a bare "k". */
static nb_status canonical_query(const char *q, struct nb_buf *out, struct nb_error *err)
{
    if (!q || !*q) return NB_OK;
    size_t n = 1;
    for (const char *p = q; *p; p++) n += *p == '&';
    struct qp *v = calloc(n, sizeof *v);
    if (!v) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    size_t m = 0;
    for (const char *p = q; *p;) {
        const char *e = strchr(p, '&');
        if (!e) e = p + strlen(p);
        if (e > p) {
            const char *eq = memchr(p, '=', (size_t)(e - p));
            v[m].k = p;
            v[m].kl = eq ? (size_t)(eq - p) : (size_t)(e - p);
            v[m].v = eq ? eq + 1 : e;
            v[m].vl = eq ? (size_t)(e - eq - 1) : 0;
            m++;
        }
        p = *e ? e + 1 : e;
    }
    qsort(v, m, sizeof *v, cmp_qp);
    for (size_t i = 0; i < m; i++) {
        if (i) nb_buf_putc(out, '&');
        nb_buf_append(out, v[i].k, v[i].kl);
        nb_buf_putc(out, '=');
        nb_buf_append(out, v[i].v, v[i].vl);
    }
    free(v);
    return NB_OK;
}

static void free_hdrs(struct hdr *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

static nb_status sorted_headers(const struct nb_sigv4_request *r, struct hdr **out, struct nb_error *err)
{
    struct hdr *h = calloc(r->n_headers ? r->n_headers : 1, sizeof *h);
    if (!h) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->n_headers; i++) {
        h[i].name = strdup(r->headers[i].name);
        const char *v = r->headers[i].value ? r->headers[i].value : "";
        h[i].value = malloc(strlen(v) + 1);
        if (!h[i].name || !h[i].value) { free_hdrs(h, r->n_headers); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
        for (char *p = h[i].name; *p; p++) *p = (char)tolower((unsigned char)*p);
        while (*v == ' ' || *v == '\t') v++;
        size_t o = 0;
        bool space = false;
        for (; *v; v++) {
            if (*v == ' ' || *v == '\t') { space = true; continue; }
            if (space && o) h[i].value[o++] = ' ';
            space = false;
            h[i].value[o++] = *v;
        }
        h[i].value[o] = '\0';
    }
    qsort(h, r->n_headers, sizeof *h, cmp_hdr);
    *out = h;
    return NB_OK;
}

static void signed_list(const struct hdr *h, size_t n, struct nb_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (i) nb_buf_putc(out, ';');
        nb_buf_puts(out, h[i].name);
    }
}

static nb_status canonical(const struct nb_sigv4_request *r, const char *query, struct nb_buf *out, struct nb_buf *signed_hdrs,
                           struct nb_error *err)
{
    struct hdr *h = NULL;
    nb_status st = sorted_headers(r, &h, err);
    if (st != NB_OK) return st;
    nb_buf_puts(out, r->method);
    nb_buf_putc(out, '\n');
    nb_buf_puts(out, r->path && *r->path ? r->path : "/");
    nb_buf_putc(out, '\n');
    st = canonical_query(query, out, err);
    if (st == NB_OK) {
        nb_buf_putc(out, '\n');
        for (size_t i = 0; i < r->n_headers; i++) {
            nb_buf_puts(out, h[i].name);
            nb_buf_putc(out, ':');
            nb_buf_puts(out, h[i].value);
            nb_buf_putc(out, '\n');
        }
        nb_buf_putc(out, '\n');
        signed_list(h, r->n_headers, out);
        nb_buf_putc(out, '\n');
        nb_buf_puts(out, r->payload_hash ? r->payload_hash : "UNSIGNED-PAYLOAD");
        if (signed_hdrs) signed_list(h, r->n_headers, signed_hdrs);
    }
    free_hdrs(h, r->n_headers);
    if (st == NB_OK) st = nb_buf_status(out, err);
    return st;
}

nb_status nb_sigv4_canonical(const struct nb_sigv4_request *r, struct nb_buf *out, struct nb_error *err)
{
    return canonical(r, r->query, out, NULL, err);
}

static nb_status check_inputs(const struct nb_sigv4_request *r, const struct nb_aws_creds *creds, struct nb_error *err)
{
    if (!creds || !creds->access_key_id || !creds->secret_access_key)
        return nb_error_set(err, NB_ERR_AUTH, "no AWS credentials: set access_key_id/secret_access_key or AWS_ACCESS_KEY_ID");
    if (!r->amz_date || strlen(r->amz_date) != 16 || !r->region || !r->service || !r->method)
        return nb_error_set(err, NB_ERR_INTERNAL, "sigv4: incomplete request");
    return nb_crypto_require("sigv4", err);
}

/* string to sign + signature over a finished canonical request. */
static void signature(const struct nb_sigv4_request *r, const struct nb_aws_creds *creds, const struct nb_buf *canon,
                      struct nb_buf *scope, char sig[65])
{
    char date[9];
    memcpy(date, r->amz_date, 8);
    date[8] = '\0';
    nb_buf_printf(scope, "%s/%s/%s/aws4_request", date, r->region, r->service);
    char ch[65];
    nb_sha256_hex(canon->data ? canon->data : "", canon->len, ch);
    struct nb_buf sts;
    nb_buf_init(&sts);
    nb_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, scope->data, ch);
    size_t sl = strlen(creds->secret_access_key);
    char *k = malloc(sl + 5);
    unsigned char kd[32], kr[32], ks[32], kk[32], out[32];
    if (k && !sts.oom) {
        memcpy(k, "AWS4", 4);
        memcpy(k + 4, creds->secret_access_key, sl + 1);
        hmac(k, sl + 4, date, 8, kd);
        hmac(kd, 32, r->region, strlen(r->region), kr);
        hmac(kr, 32, r->service, strlen(r->service), ks);
        hmac(ks, 32, "aws4_request", 12, kk);
        hmac(kk, 32, sts.data, sts.len, out);
        to_hex(out, 32, sig);
        nb_secure_zero(k, sl + 4);
        nb_secure_zero(kk, sizeof kk);
    } else {
        sig[0] = '\0';
    }
    free(k);
    nb_buf_cleanup(&sts);
}

nb_status nb_sigv4_sign(const struct nb_sigv4_request *r, const struct nb_aws_creds *creds, struct nb_buf *auth,
                        char *sig_out, struct nb_error *err)
{
    nb_status st = check_inputs(r, creds, err);
    if (st != NB_OK) return st;
    struct nb_buf canon, sh, scope;
    nb_buf_init(&canon);
    nb_buf_init(&sh);
    nb_buf_init(&scope);
    char sig[65];
    st = canonical(r, r->query, &canon, &sh, err);
    if (st == NB_OK) {
        signature(r, creds, &canon, &scope, sig);
        if (!sig[0]) st = nb_error_set(err, NB_ERR_NOMEM, "out of memory signing a request");
    }
    if (st == NB_OK) {
        nb_buf_printf(auth, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", creds->access_key_id,
                      scope.data, sh.data ? sh.data : "", sig);
        if (sig_out) memcpy(sig_out, sig, 65);
        st = nb_buf_status(auth, err);
    }
    nb_buf_cleanup(&canon);
    nb_buf_cleanup(&sh);
    nb_buf_cleanup(&scope);
    return st;
}

nb_status nb_sigv4_presign(const struct nb_sigv4_request *r, const struct nb_aws_creds *creds, unsigned expires_s,
                           struct nb_buf *out, struct nb_error *err)
{
    nb_status st = check_inputs(r, creds, err);
    if (st != NB_OK) return st;
    struct nb_buf q, canon, sh, scope, tmp;
    nb_buf_init(&q);
    nb_buf_init(&canon);
    nb_buf_init(&sh);
    nb_buf_init(&scope);
    nb_buf_init(&tmp);
    /* The signed-header list and scope are part of the query being signed. */
    struct hdr *h = NULL;
    st = sorted_headers(r, &h, err);
    if (st != NB_OK) return st;
    signed_list(h, r->n_headers, &sh);
    free_hdrs(h, r->n_headers);
    char date[9];
    memcpy(date, r->amz_date, 8);
    date[8] = '\0';
    nb_buf_printf(&tmp, "%s/%s/%s/%s/aws4_request", creds->access_key_id, date, r->region, r->service);
    if (r->query && *r->query) {
        nb_buf_puts(&q, r->query);
        nb_buf_putc(&q, '&');
    }
    nb_buf_puts(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");

    nb_uri_encode(&q, tmp.data ? tmp.data : "", tmp.len, false);
    nb_buf_printf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%u", r->amz_date, expires_s);
    if (creds->session_token && *creds->session_token) {
        nb_buf_puts(&q, "&X-Amz-Security-Token=");
        nb_uri_encode(&q, creds->session_token, strlen(creds->session_token), false);
    }
    nb_buf_puts(&q, "&X-Amz-SignedHeaders=");
    nb_buf_append(&q, sh.data ? sh.data : "", sh.len);
    char sig[65] = "";
    if (q.oom) st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    if (st == NB_OK) st = canonical(r, q.data, &canon, NULL, err);
    if (st == NB_OK) {
        signature(r, creds, &canon, &scope, sig);
        if (!sig[0]) st = nb_error_set(err, NB_ERR_NOMEM, "out of memory signing a request");
    }
    if (st == NB_OK) {
        nb_buf_append(out, q.data, q.len);
        nb_buf_printf(out, "&X-Amz-Signature=%s", sig);
        st = nb_buf_status(out, err);
    }
    nb_buf_cleanup(&q);
    nb_buf_cleanup(&canon);
    nb_buf_cleanup(&sh);
    nb_buf_cleanup(&scope);
    nb_buf_cleanup(&tmp);
    return st;
}
