/* Google OAuth2 (see google_auth.h). The token request is a form POST; its JSON answer gives
 * access_token and expires_in. The JWT header carries the key id so the server finds the key. */
#include "net/google_auth.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "io/stream.h"
#include "net/crypto_lib.h"

enum kind { SERVICE_ACCOUNT, AUTHORIZED_USER, METADATA };

struct nb_google_auth {
    struct nb_http_client *http;
    enum kind kind;
    char *file;                 /* for messages */
    char *scope, *token_uri, *client_email, *key_id, *private_key, *client_id, *client_secret, *refresh_token;
    char *metadata_url;
    pthread_mutex_t mu;
    char token[4096];
    int64_t expires_at;         /* unix s */
};

void nb_base64url(struct nb_buf *out, const void *p, size_t n)
{
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *s = p;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        char q[4] = {tb[v >> 18], tb[(v >> 12) & 63], tb[(v >> 6) & 63], tb[v & 63]};
        nb_buf_append(out, q, 4);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        char q[2] = {tb[v >> 18], tb[(v >> 12) & 63]};
        nb_buf_append(out, q, 2);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        char q[3] = {tb[v >> 18], tb[(v >> 12) & 63], tb[(v >> 6) & 63]};
        nb_buf_append(out, q, 3);
    }
}

nb_status nb_google_jwt(const char *private_key_pem, const char *key_id, const char *client_email, const char *scope,
                        const char *audience, int64_t now_s, struct nb_buf *out, struct nb_error *err)
{
    struct nb_buf h, c, signing;
    nb_buf_init(&h);
    nb_buf_init(&c);
    nb_buf_init(&signing);
    nb_buf_puts(&h, "{\"alg\":\"RS256\",\"typ\":\"JWT\"");
    if (key_id && *key_id) {
        nb_buf_puts(&h, ",\"kid\":");
        nb_buf_json_string(&h, key_id, strlen(key_id));
    }
    nb_buf_putc(&h, '}');
    nb_buf_puts(&c, "{\"iss\":");
    nb_buf_json_string(&c, client_email, strlen(client_email));
    nb_buf_puts(&c, ",\"scope\":");
    nb_buf_json_string(&c, scope, strlen(scope));
    nb_buf_puts(&c, ",\"aud\":");
    nb_buf_json_string(&c, audience, strlen(audience));
    nb_buf_printf(&c, ",\"iat\":%lld,\"exp\":%lld}", (long long)now_s, (long long)now_s + 3600);
    nb_base64url(&signing, h.data, h.len);
    nb_buf_putc(&signing, '.');
    nb_base64url(&signing, c.data, c.len);
    nb_status st = nb_buf_status(&signing, err);
    if (st == NB_OK) st = nb_crypto_require("google oauth2", err);
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    if (st == NB_OK) {
        bio = BIO_new_mem_buf(private_key_pem, -1);
        key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        if (!key) st = nb_error_set(err, NB_ERR_AUTH, "the service account's private_key is not a readable PEM private key");
    }
    if (st == NB_OK) {
        md = EVP_MD_CTX_new();
        if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
            EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)signing.data, signing.len) != 1 ||
            !(sig = malloc(siglen)) ||
            EVP_DigestSign(md, sig, &siglen, (const unsigned char *)signing.data, signing.len) != 1)
            st = nb_error_set(err, NB_ERR_AUTH, "could not sign the OAuth2 JWT with the service account key (RS256)");
    }
    if (st == NB_OK) {
        nb_buf_append(out, signing.data, signing.len);
        nb_buf_putc(out, '.');
        nb_base64url(out, sig, siglen);
        st = nb_buf_status(out, err);
    }
    free(sig);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    nb_buf_cleanup(&h);
    nb_buf_cleanup(&c);
    nb_buf_cleanup(&signing);
    return st;
}

void nb_google_auth_destroy(struct nb_google_auth *a)
{
    if (!a) return;
    if (a->private_key) nb_secure_zero(a->private_key, strlen(a->private_key));
    nb_secure_zero(a->token, sizeof a->token);
    free(a->file);
    free(a->scope);
    free(a->token_uri);
    free(a->client_email);
    free(a->key_id);
    free(a->private_key);
    free(a->client_id);
    free(a->client_secret);
    free(a->refresh_token);
    free(a->metadata_url);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static char *jdup(const struct nb_json *j, const char *k)
{
    const char *s = nb_json_get_string(j, k);
    return s ? strdup(s) : NULL;
}

nb_status nb_google_auth_create(const char *credentials_file, const char *scope, struct nb_http_client *http,
                                struct nb_google_auth **out, struct nb_error *err)
{
    struct nb_google_auth *a = calloc(1, sizeof *a);
    if (!a) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&a->mu, NULL);
    a->http = http;
    a->scope = strdup(scope);
    if (!credentials_file || !*credentials_file) credentials_file = getenv("GOOGLE_APPLICATION_CREDENTIALS");
    nb_status st = NB_OK;
    if (!credentials_file || !*credentials_file) {
        const char *host = getenv("GCE_METADATA_HOST");
        char url[512];
        snprintf(url, sizeof url, "http://%s/computeMetadata/v1/instance/service-accounts/default/token",
                 host && *host ? host : "metadata.google.internal");
        a->kind = METADATA;
        a->metadata_url = strdup(url);
        a->file = strdup("the metadata server");
        if (!a->metadata_url || !a->file) st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    } else {
        char *text = NULL;
        size_t len = 0;
        a->file = strdup(credentials_file);
        st = nb_read_file(credentials_file, &text, &len, err);
        struct nb_arena ar;
        nb_arena_init(&ar, 8192);
        struct nb_json *j = NULL;
        if (st == NB_OK && nb_json_parse(text, len, &ar, &j, NULL) != NB_OK)
            st = nb_error_set(err, NB_ERR_CONFIG, "%s: not a Google credentials JSON file", credentials_file);
        if (st == NB_OK) {
            const char *type = nb_json_get_string(j, "type");
            a->token_uri = jdup(j, "token_uri");
            if (!a->token_uri) a->token_uri = strdup("https://oauth2.googleapis.com/token");
            if (type && strcmp(type, "service_account") == 0) {
                a->kind = SERVICE_ACCOUNT;
                a->client_email = jdup(j, "client_email");
                a->key_id = jdup(j, "private_key_id");
                a->private_key = jdup(j, "private_key");
                if (!a->client_email || !a->private_key)
                    st = nb_error_set(err, NB_ERR_CONFIG, "%s: a service account key needs client_email and private_key",
                                      credentials_file);
            } else if (type && strcmp(type, "authorized_user") == 0) {
                a->kind = AUTHORIZED_USER;
                a->client_id = jdup(j, "client_id");
                a->client_secret = jdup(j, "client_secret");
                a->refresh_token = jdup(j, "refresh_token");
                if (!a->client_id || !a->client_secret || !a->refresh_token)
                    st = nb_error_set(err, NB_ERR_CONFIG, "%s: authorized_user needs client_id, client_secret, refresh_token",
                                      credentials_file);
                if (a->client_secret) nb_log_add_secret(a->client_secret);
                if (a->refresh_token) nb_log_add_secret(a->refresh_token);
            } else {
                st = nb_error_set(err, NB_ERR_CONFIG, "%s: credentials type '%s' is not supported (service_account, authorized_user)",
                                  credentials_file, type ? type : "(none)");
            }
        }
        nb_arena_cleanup(&ar);
        if (text) {
            nb_secure_zero(text, len);
            free(text);
        }
    }
    if (st != NB_OK) {
        nb_google_auth_destroy(a);
        return st;
    }
    *out = a;
    return NB_OK;
}

static void form_field(struct nb_buf *b, const char *k, const char *v)
{
    if (b->len) nb_buf_putc(b, '&');
    nb_buf_puts(b, k);
    nb_buf_putc(b, '=');
    nb_uri_encode(b, v, strlen(v), false);
}

static nb_status fetch(struct nb_google_auth *a, struct nb_error *err)
{
    struct nb_buf body;
    nb_buf_init(&body);
    nb_status st = NB_OK;
    int64_t now = nb_wall_us() / 1000000;
    struct nb_http_request req = {.idempotent = true, .what = "google oauth2 token request"};
    const char *form_hdr[1] = {"Content-Type: application/x-www-form-urlencoded"};
    const char *md_hdr[1] = {"Metadata-Flavor: Google"};
    if (a->kind == SERVICE_ACCOUNT) {
        struct nb_buf jwt;
        nb_buf_init(&jwt);
        st = nb_google_jwt(a->private_key, a->key_id, a->client_email, a->scope, a->token_uri, now, &jwt, err);
        if (st == NB_OK) {
            form_field(&body, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
            form_field(&body, "assertion", jwt.data);
        }
        nb_buf_cleanup(&jwt);
    } else if (a->kind == AUTHORIZED_USER) {
        form_field(&body, "grant_type", "refresh_token");
        form_field(&body, "client_id", a->client_id);
        form_field(&body, "client_secret", a->client_secret);
        form_field(&body, "refresh_token", a->refresh_token);
    }
    if (st != NB_OK) {
        nb_buf_cleanup(&body);
        return st;
    }
    if (a->kind == METADATA) {
        req.method = "GET";
        req.url = a->metadata_url;
        req.headers = md_hdr;
    } else {
        req.method = "POST";
        req.url = a->token_uri;
        req.headers = form_hdr;
        req.body = body.data;
        req.body_len = body.len;
    }
    req.n_headers = 1;
    struct nb_http_response r;
    nb_http_response_init(&r);
    st = nb_http_send(a->http, &req, &r, err);
    struct nb_arena ar;
    nb_arena_init(&ar, 4096);
    struct nb_json *j = NULL;
    if (st == NB_OK) {
        bool parsed = r.body.data && nb_json_parse(r.body.data, r.body.len, &ar, &j, NULL) == NB_OK;
        const char *tok = parsed ? nb_json_get_string(j, "access_token") : NULL;
        int64_t exp = 0;
        if (r.status != 200 || !tok) {
            const char *e = parsed ? nb_json_get_string(j, "error") : NULL;
            const char *d = parsed ? nb_json_get_string(j, "error_description") : NULL;
            st = nb_error_set(err, r.status == 400 || r.status == 401 || r.status == 403 ? NB_ERR_AUTH : NB_ERR_NET,
                              "google oauth2 token request for %s: HTTP %ld%s%s%s%s; check the credentials file", a->file,
                              r.status, e ? " " : "", e ? e : "", d ? ": " : "", d ? d : "");
        } else if (strlen(tok) >= sizeof a->token) {
            st = nb_error_set(err, NB_ERR_PROTOCOL, "google oauth2: access token too long");
        } else {
            if (!nb_json_get_i64(j, "expires_in", &exp) || exp <= 0) exp = 3600;
            snprintf(a->token, sizeof a->token, "%s", tok);
            nb_log_add_secret(a->token);
            a->expires_at = now + exp;
        }
    }
    nb_arena_cleanup(&ar);
    nb_http_response_cleanup(&r);
    nb_secure_zero(body.data, body.len);
    nb_buf_cleanup(&body);
    return st;
}

nb_status nb_google_auth_header(struct nb_google_auth *a, struct nb_buf *out, struct nb_error *err)
{
    pthread_mutex_lock(&a->mu);
    nb_status st = NB_OK;
    int64_t now = nb_wall_us() / 1000000;
    if (!a->token[0] || a->expires_at - now < 60) st = fetch(a, err);
    if (st == NB_OK) nb_buf_printf(out, "Authorization: Bearer %s", a->token);
    pthread_mutex_unlock(&a->mu);
    return st == NB_OK ? nb_buf_status(out, err) : st;
}

void nb_google_auth_invalidate(struct nb_google_auth *a)
{
    pthread_mutex_lock(&a->mu);
    a->token[0] = '\0';
    a->expires_at = 0;
    pthread_mutex_unlock(&a->mu);
}
