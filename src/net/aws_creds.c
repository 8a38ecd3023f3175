/* AWS credential chain (see aws_creds.h). The shared credentials file is INI: [profile] sections of
 * key = value lines; '#' and ';' start comments. */
#include "net/aws_creds.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "io/stream.h"
#include "net/http.h"

static char *dup_nonempty(const char *s) { return s && *s ? strdup(s) : NULL; }

static nb_status take(struct nb_aws_creds *out, const char *ak, const char *sk, const char *tok, struct nb_error *err)
{
    out->access_key_id = strdup(ak);
    out->secret_access_key = strdup(sk);
    out->session_token = dup_nonempty(tok);
    if (!out->access_key_id || !out->secret_access_key || (tok && *tok && !out->session_token)) {
        nb_aws_creds_cleanup(out);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    nb_log_add_secret(out->secret_access_key);
    if (out->session_token) nb_log_add_secret(out->session_token);
    return NB_OK;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) *--e = '\0';
    return s;
}

/* One value of a profile in an INI file (the config file's "[profile NAME]" or "[NAME]"). */
static bool ini_get(const char *path, const char *profile, const char *key, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[4096];
    bool in = false, found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e) continue;
            *e = '\0';
            char *name = trim(s + 1);
            if (strncmp(name, "profile ", 8) == 0) name = trim(name + 8);
            in = strcmp(name, profile) == 0;
            continue;
        }
        char *eq = in ? strchr(s, '=') : NULL;
        if (!eq) continue;
        *eq = '\0';
        if (strcmp(trim(s), key) == 0) {
            snprintf(out, cap, "%s", trim(eq + 1));
            found = true;
        }
    }
    fclose(f);
    memset(line, 0, sizeof line);   /* it may have held a secret */
    return found;
}

/* credential_process (the config file's way to get keys from a helper, e.g. an SSO tool): run
 * the command, read {"Version":1,"AccessKeyId","SecretAccessKey","SessionToken","Expiration"} from
 * its standard output. Its output holds secrets: it never goes into a message. */
static nb_status credential_process(const char *cmd, struct nb_aws_creds *out, int64_t *expires, struct nb_error *err)
{
    FILE *p = popen(cmd, "r");
    if (!p) return nb_error_set(err, NB_ERR_AUTH, "credential_process: cannot run the command");
    struct nb_buf b;
    nb_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0 && b.len < (1u << 20)) nb_buf_append(&b, chunk, n);
    int rc = pclose(p);
    nb_status st = nb_buf_status(&b, err);
    if (st == NB_OK && rc != 0)
        st = nb_error_set(err, NB_ERR_AUTH, "credential_process: the command failed (status %d); run it by hand to see why", rc);
    struct nb_arena ar;
    nb_arena_init(&ar, 4096);
    struct nb_json *j = NULL;
    int64_t version = 0;
    if (st == NB_OK && (nb_json_parse(b.data ? b.data : "", b.len, &ar, &j, NULL) != NB_OK ||
                        !nb_json_get_i64(j, "Version", &version) || version != 1 ||
                        !nb_json_get_string(j, "AccessKeyId") || !nb_json_get_string(j, "SecretAccessKey")))
        st = nb_error_set(err, NB_ERR_AUTH, "credential_process: the output is not {\"Version\": 1, \"AccessKeyId\", "
                                            "\"SecretAccessKey\", ...} JSON");
    if (st == NB_OK) {
        *expires = nb_aws_parse_expiration(nb_json_get_string(j, "Expiration"));
        st = take(out, nb_json_get_string(j, "AccessKeyId"), nb_json_get_string(j, "SecretAccessKey"),
                  nb_json_get_string(j, "SessionToken"), err);
    }
    nb_arena_cleanup(&ar);
    if (b.data) memset(b.data, 0, b.len);
    nb_buf_cleanup(&b);
    return st;
}

/* The AWS CLI's file `name`: the path in environment variable `env`, else ~/.aws/<name>. */
static void aws_file_path(const char *env, const char *name, char *out, size_t cap)
{
    const char *file = getenv(env), *home = getenv("HOME");
    if (file && *file) snprintf(out, cap, "%s", file);
    else snprintf(out, cap, "%s/.aws/%s", home ? home : "", name);
}

/* false: no such file/profile or incomplete profile. */
static bool from_file(const char *path, const char *profile, struct nb_aws_creds *out, bool *found_file,
                      struct nb_error *err, nb_status *st)
{
    *found_file = access(path, R_OK) == 0;
    if (!*found_file) return false;
    char ak[512] = "", sk[512] = "", tok[4096] = "";
    ini_get(path, profile, "aws_access_key_id", ak, sizeof ak);
    ini_get(path, profile, "aws_secret_access_key", sk, sizeof sk);
    ini_get(path, profile, "aws_session_token", tok, sizeof tok);
    bool ok = *ak && *sk;
    if (ok) *st = take(out, ak, sk, tok, err);
    memset(sk, 0, sizeof sk);
    memset(tok, 0, sizeof tok);
    return ok;
}

/* ---- remote providers: web identity (STS), ECS container credentials, EC2 instance metadata ---- */

static nb_status get(struct nb_http_client *h, const char *method, const char *url, const char *const *hdrs, size_t nh,
                     struct nb_http_response *r, struct nb_error *err)
{
    struct nb_http_request req = {.method = method, .url = url, .headers = hdrs, .n_headers = nh, .idempotent = true,
                                  .body = strcmp(method, "PUT") == 0 ? "" : NULL, .what = "aws credentials"};
    return nb_http_send(h, &req, r, err);
}

static bool xml_tag(const char *xml, const char *tag, char *out, size_t cap)
{
    char open_[64], close_[64];
    snprintf(open_, sizeof open_, "<%s>", tag);
    snprintf(close_, sizeof close_, "</%s>", tag);
    const char *a = xml ? strstr(xml, open_) : NULL;
    const char *b = a ? strstr(a, close_) : NULL;
    if (!a || !b) return false;
    a += strlen(open_);
    size_t n = (size_t)(b - a);
    if (n >= cap) return false;
    memcpy(out, a, n);
    out[n] = '\0';
    return true;
}

/* "2026-11-27T01:00:00Z" (the Expiration of STS, ECS and EC2 answers) -> seconds since the epoch;
 * 0 when absent or not understood (then the credentials are treated as lasting the run). */
int64_t nb_aws_parse_expiration(const char *s)
{
    int y, mo, d, h, mi, se;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6) return 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = se};
    time_t t = timegm(&tm);
    return t > 0 ? (int64_t)t : 0;
}

/* {"AccessKeyId","SecretAccessKey","Token","Expiration"} (ECS and EC2 answers). */
static nb_status from_json(const struct nb_buf *body, struct nb_aws_creds *out, int64_t *expires, const char *where,
                           struct nb_error *err)
{
    struct nb_arena ar;
    nb_arena_init(&ar, 4096);
    struct nb_json *j = NULL;
    nb_status st;
    const char *ak = NULL, *sk = NULL, *tok = NULL;
    if (body->data && nb_json_parse(body->data, body->len, &ar, &j, NULL) == NB_OK) {
        ak = nb_json_get_string(j, "AccessKeyId");
        sk = nb_json_get_string(j, "SecretAccessKey");
        tok = nb_json_get_string(j, "Token");
        *expires = nb_aws_parse_expiration(nb_json_get_string(j, "Expiration"));
    }
    if (ak && sk) st = take(out, ak, sk, tok, err);
    else st = nb_error_set(err, NB_ERR_AUTH, "%s: no AccessKeyId/SecretAccessKey in the answer", where);
    nb_arena_cleanup(&ar);
    return st;
}

static nb_status web_identity(struct nb_http_client *h, const char *role, const char *token_file, struct nb_aws_creds *out,
                              int64_t *expires, struct nb_error *err)
{
    char *tok = NULL;
    size_t tl = 0;
    nb_status st = nb_read_file(token_file, &tok, &tl, err);
    if (st != NB_OK) return nb_error_prefix(err, "AWS_WEB_IDENTITY_TOKEN_FILE: ");
    while (tl && (tok[tl - 1] == '\n' || tok[tl - 1] == '\r' || tok[tl - 1] == ' ')) tok[--tl] = '\0';
    nb_log_add_secret(tok);
    const char *ep = getenv("AWS_ENDPOINT_URL_STS");
    const char *sess = getenv("AWS_ROLE_SESSION_NAME");
    struct nb_buf url;
    nb_buf_init(&url);
    nb_buf_printf(&url, "%s/?Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=", ep && *ep ? ep : "https://sts.amazonaws.com");
    nb_uri_encode(&url, role, strlen(role), false);
    nb_buf_puts(&url, "&RoleSessionName=");
    const char *sn = sess && *sess ? sess : "nebula";
    nb_uri_encode(&url, sn, strlen(sn), false);
    nb_buf_puts(&url, "&WebIdentityToken=");
    nb_uri_encode(&url, tok, tl, false);
    struct nb_http_response r;
    nb_http_response_init(&r);
    st = nb_buf_status(&url, err);
    if (st == NB_OK) st = get(h, "GET", url.data, NULL, 0, &r, err);
    char ak[256], sk[256], stok[4096];
    if (st == NB_OK && (r.status != 200 || !xml_tag(r.body.data, "AccessKeyId", ak, sizeof ak) ||
                        !xml_tag(r.body.data, "SecretAccessKey", sk, sizeof sk))) {
        char code[128] = "";
        xml_tag(r.body.data, "Code", code, sizeof code);
        st = nb_error_set(err, NB_ERR_AUTH, "STS AssumeRoleWithWebIdentity for role %s: HTTP %ld %s; check AWS_ROLE_ARN and the token",
                          role, r.status, code);
    }
    char exp[64];
    if (st == NB_OK && xml_tag(r.body.data, "Expiration", exp, sizeof exp)) *expires = nb_aws_parse_expiration(exp);
    if (st == NB_OK) st = take(out, ak, sk, xml_tag(r.body.data, "SessionToken", stok, sizeof stok) ? stok : NULL, err);
    nb_http_response_cleanup(&r);
    nb_buf_cleanup(&url);
    free(tok);
    return st;
}

static nb_status ecs(struct nb_http_client *h, const char *url, struct nb_aws_creds *out, int64_t *expires,
                     struct nb_error *err)
{
    char auth[2048];
    const char *hdrs[1] = {auth};
    const char *t = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    size_t nh = 0;
    if (t && *t) {
        snprintf(auth, sizeof auth, "Authorization: %s", t);
        nh = 1;
    }
    struct nb_http_response r;
    nb_http_response_init(&r);
    nb_status st = get(h, "GET", url, hdrs, nh, &r, err);
    if (st == NB_OK && r.status != 200)
        st = nb_error_set(err, NB_ERR_AUTH, "ECS container credentials (%s): HTTP %ld", url, r.status);
    if (st == NB_OK) st = from_json(&r.body, out, expires, "ECS container credentials", err);
    nb_http_response_cleanup(&r);
    return st;
}

static nb_status ec2(struct nb_http_client *h, struct nb_aws_creds *out, int64_t *expires, struct nb_error *err)
{
    const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char base[256], url[512], tokh[256] = "", role[256];
    snprintf(base, sizeof base, "%s", ep && *ep ? ep : "http://169.254.169.254");
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/') base[--bl] = '\0';
    struct nb_http_response r;
    nb_http_response_init(&r);
    /* IMDSv2: a session token first. */
    snprintf(url, sizeof url, "%s/latest/api/token", base);
    const char *th[1] = {"X-aws-ec2-metadata-token-ttl-seconds: 21600"};
    nb_status st = get(h, "PUT", url, th, 1, &r, err);
    if (st == NB_OK && r.status == 200 && r.body.data && r.body.len < 200) {
        snprintf(tokh, sizeof tokh, "X-aws-ec2-metadata-token: %s", r.body.data);
        nb_log_add_secret(r.body.data);
    }
    const char *hh[1] = {tokh};
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", base);
    if (st == NB_OK) st = get(h, "GET", url, hh, tokh[0] ? 1 : 0, &r, err);
    if (st == NB_OK && (r.status != 200 || !r.body.data || !r.body.len || r.body.len >= sizeof role))
        st = nb_error_set(err, NB_ERR_AUTH, "EC2 instance metadata: no IAM role (HTTP %ld)", r.status);
    if (st == NB_OK) {
        snprintf(role, sizeof role, "%.*s", (int)strcspn(r.body.data, "\r\n"), r.body.data);
        snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/%s", base, role);
        st = get(h, "GET", url, hh, tokh[0] ? 1 : 0, &r, err);
        if (st == NB_OK && r.status != 200) st = nb_error_set(err, NB_ERR_AUTH, "EC2 instance metadata for role %s: HTTP %ld", role, r.status);
        if (st == NB_OK) st = from_json(&r.body, out, expires, "EC2 instance metadata", err);
    }
    nb_http_response_cleanup(&r);
    return st;
}

/* The remote providers in the standard order; NB_DONE when none applies. */
static nb_status remote(struct nb_aws_creds *out, int64_t *expires, char *source, size_t cap, struct nb_error *err)
{
    const char *role = getenv("AWS_ROLE_ARN"), *tf = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"), *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *ec2off = getenv("AWS_EC2_METADATA_DISABLED");
    bool want_ec2 = !(ec2off && strcasecmp(ec2off, "true") == 0);
    if (!(role && *role && tf && *tf) && !(full && *full) && !(rel && *rel) && !want_ec2) return NB_DONE;
    /* Metadata endpoints answer at once or not at all: short timeouts, few attempts. */
    struct nb_http_options o = {.connect_timeout_ms = 1000, .request_timeout_ms = 5000,
                                .retry = {2, 100, 500, 2000}, .breaker_threshold = 100};
    struct nb_http_client *h = NULL;
    nb_status st = nb_http_client_create(&o, &h, err);
    if (st != NB_OK) return st;
    char url[1024];
    if (role && *role && tf && *tf) {
        st = web_identity(h, role, tf, out, expires, err);
        snprintf(source, cap, "web identity (AWS_ROLE_ARN %s)", role);
    } else if ((full && *full) || (rel && *rel)) {
        if (full && *full) snprintf(url, sizeof url, "%s", full);
        else snprintf(url, sizeof url, "http://169.254.170.2%s", rel);
        st = ecs(h, url, out, expires, err);
        snprintf(source, cap, "ECS container credentials");
    } else {
        st = ec2(h, out, expires, err);
        snprintf(source, cap, "EC2 instance metadata");
        if (st != NB_OK) st = NB_DONE;   /* not on EC2: the chain simply ends */
    }
    nb_http_client_destroy(h);
    return st;
}

/* The chain; *expires: when temporary credentials from a remote provider expire (0 = never/unknown). */
static nb_status resolve(const char *access_key_id, const char *secret_access_key, const char *session_token,
                         const char *profile, struct nb_aws_creds *out, int64_t *expires, char *source,
                         size_t source_cap, struct nb_error *err)
{
    memset(out, 0, sizeof *out);
    *expires = 0;
    if (access_key_id && *access_key_id) {
        if (!secret_access_key || !*secret_access_key)
            return nb_error_set(err, NB_ERR_CONFIG, "access_key_id is set but secret_access_key is not");
        snprintf(source, source_cap, "config");
        return take(out, access_key_id, secret_access_key, session_token, err);
    }
    const char *ek = getenv("AWS_ACCESS_KEY_ID"), *es = getenv("AWS_SECRET_ACCESS_KEY");
    if (ek && *ek && es && *es) {
        snprintf(source, source_cap, "environment (AWS_ACCESS_KEY_ID)");
        return take(out, ek, es, getenv("AWS_SESSION_TOKEN"), err);
    }
    if (!profile || !*profile) profile = getenv("AWS_PROFILE");
    if (!profile || !*profile) profile = "default";
    char path[1024];
    aws_file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", path, sizeof path);
    bool found = false;
    nb_status st = NB_OK;
    if (from_file(path, profile, out, &found, err, &st)) {
        snprintf(source, source_cap, "shared credentials file %s [%s]", path, profile);
        return st;
    }
    char cfg[1024], cmd[2048];
    aws_file_path("AWS_CONFIG_FILE", "config", cfg, sizeof cfg);
    if (ini_get(cfg, profile, "credential_process", cmd, sizeof cmd) && *cmd) {
        snprintf(source, source_cap, "credential_process of %s [%s]", cfg, profile);
        st = credential_process(cmd, out, expires, err);
        return st == NB_OK ? st : nb_error_prefix(err, "%s [%s]: ", cfg, profile);
    }
    st = remote(out, expires, source, source_cap, err);
    if (st != NB_DONE) return st;
    return nb_error_set(err, NB_ERR_AUTH,
                        "no AWS credentials found: tried the config (access_key_id), the environment "
                        "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), %s%s (profile '%s'), credential_process in the config "
                        "file, web identity, ECS and "
                        "EC2 instance metadata; set one of them",
                        path, found ? "" : " (missing)", profile);
}

nb_status nb_aws_creds_resolve(const char *access_key_id, const char *secret_access_key, const char *session_token,
                               const char *profile, struct nb_aws_creds *out, char *source, size_t source_cap,
                               struct nb_error *err)
{
    int64_t expires;
    return resolve(access_key_id, secret_access_key, session_token, profile, out, &expires, source, source_cap, err);
}

/* ---- refreshing provider ------------------------------------------------------------------ */

struct nb_aws_creds_provider {
    pthread_mutex_t mu;
    char *ak, *sk, *tok, *profile;   /* the configured values: a refresh walks the chain again */
    struct nb_aws_creds cur;
    int64_t expires;                 /* 0: static credentials, never refreshed */
    unsigned margin_s;
    int64_t (*now)(void *);
    void *now_ctx;
    unsigned refreshes;
};

static int64_t wall_now(void *ctx)
{
    (void)ctx;
    return (int64_t)(nb_wall_us() / 1000000);
}

void nb_aws_creds_provider_destroy(struct nb_aws_creds_provider *p)
{
    if (!p) return;
    nb_aws_creds_cleanup(&p->cur);
    free(p->ak);
    free(p->sk);
    free(p->tok);
    free(p->profile);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

nb_status nb_aws_creds_provider_create(const char *access_key_id, const char *secret_access_key,
                                       const char *session_token, const char *profile,
                                       struct nb_aws_creds_provider **out, char *source, size_t source_cap,
                                       struct nb_error *err)
{
    struct nb_aws_creds_provider *p = calloc(1, sizeof *p);
    if (!p) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&p->mu, NULL);
    p->margin_s = NB_AWS_REFRESH_MARGIN_S;
    p->now = wall_now;
    p->ak = dup_nonempty(access_key_id);
    p->sk = dup_nonempty(secret_access_key);
    p->tok = dup_nonempty(session_token);
    p->profile = dup_nonempty(profile);
    if ((access_key_id && *access_key_id && !p->ak) || (secret_access_key && *secret_access_key && !p->sk) ||
        (session_token && *session_token && !p->tok) || (profile && *profile && !p->profile)) {
        nb_aws_creds_provider_destroy(p);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    nb_status st = resolve(p->ak, p->sk, p->tok, p->profile, &p->cur, &p->expires, source, source_cap, err);
    if (st != NB_OK) {
        nb_aws_creds_provider_destroy(p);
        return st;
    }
    *out = p;
    return NB_OK;
}

void nb_aws_creds_provider_set_clock(struct nb_aws_creds_provider *p, int64_t (*now)(void *ctx), void *ctx,
                                     unsigned margin_s)
{
    p->now = now ? now : wall_now;
    p->now_ctx = ctx;
    p->margin_s = margin_s;
}

int64_t nb_aws_creds_provider_expires(const struct nb_aws_creds_provider *p) { return p->expires; }
unsigned nb_aws_creds_provider_refreshes(const struct nb_aws_creds_provider *p) { return p->refreshes; }

static nb_status copy_creds(const struct nb_aws_creds *from, struct nb_aws_creds *to, struct nb_error *err)
{
    to->access_key_id = strdup(from->access_key_id);
    to->secret_access_key = strdup(from->secret_access_key);
    to->session_token = from->session_token ? strdup(from->session_token) : NULL;
    if (!to->access_key_id || !to->secret_access_key || (from->session_token && !to->session_token)) {
        nb_aws_creds_cleanup(to);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    return NB_OK;
}

nb_status nb_aws_creds_provider_get(struct nb_aws_creds_provider *p, struct nb_aws_creds *out, struct nb_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&p->mu);
    nb_status st = NB_OK;
    int64_t now = p->now(p->now_ctx);
    /* One thread refreshes under the lock; the others wait for it and then use the new keys. */
    if (p->expires && now + (int64_t)p->margin_s >= p->expires) {
        struct nb_aws_creds fresh;
        int64_t exp = 0;
        char source[256];
        struct nb_error e = {0};
        st = resolve(p->ak, p->sk, p->tok, p->profile, &fresh, &exp, source, sizeof source, &e);
        if (st == NB_OK) {
            nb_aws_creds_cleanup(&p->cur);
            p->cur = fresh;
            p->expires = exp;
            p->refreshes++;
            NB_DEBUG("aws", "refreshed temporary credentials from %s", source);
        } else if (now < p->expires) {
            /* Still valid for a while: keep them and try again on the next request. */
            NB_WARN("aws", "refreshing temporary credentials failed (%s); the current ones expire in %llds",
                    e.message, (long long)(p->expires - now));
            st = NB_OK;
        } else {
            if (err) *err = e;
            nb_error_prefix(err, "AWS temporary credentials expired and could not be refreshed: ");
        }
    }
    if (st == NB_OK) st = copy_creds(&p->cur, out, err);
    pthread_mutex_unlock(&p->mu);
    return st;
}
