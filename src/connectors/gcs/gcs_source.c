/* The gcs source: objects matched by a name glob, read as CSV or JSON through the csv/json source
 * (connectors/common/file_source) with this connector's file access: objects.list for the glob
 * (lexical or newest-first order) and an istream of ranged media GETs (8 MiB at a time, pinned to
 * the listed generation with ifGenerationMatch, so an object replaced mid-read is an error). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/common/object_source.h"
#include "connectors/gcs/gcs_http.h"
#include "connectors/connector.h"
#include "core/arena.h"
#include "core/json.h"
#include "core/log.h"
#include "net/google_auth.h"
#include "net/http.h"

#define RANGE_SIZE (8u << 20)

static const struct nb_config_key gcs_source_spec[] = {
    {"bucket", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED, "bucket name"},
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED, "object name or glob (* ? [..] match any character including '/')"},
    {"order", NB_KEY_ENUM, "lexical", "lexical|newest", 0, "order of the matched objects: by name, or newest first"},
    {"stream", NB_KEY_STRING, NULL, NULL, 0, "stream name (default: the first object's base name)"},
    {"stream_per_file", NB_KEY_BOOL, "false", NULL, 0, "one stream per object"},
    {"compression", NB_KEY_ENUM, "auto", "auto|none|gzip|zstd|lz4|bzip2|xz|snappy", 0, "codec (auto = by extension)"},
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_object_source_keys},
    {"credentials_file", NB_KEY_STRING, NULL, NULL, 0,
     "service-account key or authorized-user JSON; default GOOGLE_APPLICATION_CREDENTIALS, then the metadata server"},
    {"endpoint", NB_KEY_STRING, "https://storage.googleapis.com", NULL, 0, "JSON API root (tests point it at a fake)"},
    {"ca_bundle", NB_KEY_STRING, NULL, NULL, 0, "PEM file of CAs to trust instead of the system store"},
    {"max_attempts", NB_KEY_INT, "6", NULL, 0, "attempts per request"},
    {NULL},
};

struct gobj {
    char *name;
    char generation[32];
    char updated[40];
    uint64_t size;
};

struct gcs_source {
    struct nb_object_source obj;   /* first: the csv source over our files (object_source.h) */
    struct nb_http_client *http;
    struct nb_google_auth *auth;
    char *endpoint, *bucket;
    bool newest_first;
    struct gobj *objs;
    size_t n_objs;
};

static nb_status g_error(const char *what, const char *bucket, const char *name, const struct nb_http_response *r,
                         struct nb_error *err)
{
    return nb_gcs_error(what, bucket, name, r, "; check credentials_file and roles/storage.objectViewer", NULL, err);
}

static int cmp_name(const void *a, const void *b) { return strcmp(((const struct gobj *)a)->name, ((const struct gobj *)b)->name); }
static int cmp_newest(const void *a, const void *b)
{
    const struct gobj *x = a, *y = b;
    int c = strcmp(y->updated, x->updated);
    return c ? c : strcmp(x->name, y->name);
}

static nb_status list_objects(void *ctx, const char *pattern, char ***names, uint64_t **sizes, size_t *count,
                              struct nb_error *err)
{
    struct gcs_source *s = ctx;
    size_t plen = strcspn(pattern, "*?[");
    bool glob = pattern[plen] != '\0';
    char token[2048] = "";
    struct nb_buf url;
    nb_buf_init(&url);
    nb_status st = NB_OK;
    size_t cap = 0;
    for (;;) {
        nb_buf_reset(&url);
        nb_buf_printf(&url, "%s/storage/v1/b/", s->endpoint);
        nb_uri_encode(&url, s->bucket, strlen(s->bucket), false);
        nb_buf_puts(&url, "/o?prefix=");
        nb_uri_encode(&url, pattern, plen, false);
        if (*token) {
            nb_buf_puts(&url, "&pageToken=");
            nb_uri_encode(&url, token, strlen(token), false);
        }
        if ((st = nb_buf_status(&url, err)) != NB_OK) break;
        struct nb_http_request req = {"GET", url.data, NULL, 0, NULL, 0, true, nb_gcs_add_auth, s->auth, "gcs list", NULL};
        struct nb_http_response r;
        nb_http_response_init(&r);
        st = nb_gcs_send(s->http, s->auth, &req, &r, err);
        if (st == NB_OK && r.status != 200) st = g_error("GET (list)", s->bucket, pattern, &r, err);
        struct nb_arena ar;
        nb_arena_init(&ar, 16384);
        struct nb_json *j = NULL;
        if (st == NB_OK && nb_json_parse(r.body.data ? r.body.data : "", r.body.len, &ar, &j, NULL) != NB_OK)
            st = nb_error_set(err, NB_ERR_PROTOCOL, "gcs list gs://%s/%s: the answer is not JSON", s->bucket, pattern);
        const struct nb_json *items = st == NB_OK ? nb_json_get(j, "items") : NULL;
        for (size_t i = 0; st == NB_OK && items && items->kind == NB_JSON_ARRAY && i < items->u.array.count; i++) {
            const struct nb_json *it = items->u.array.items[i];
            const char *name = nb_json_get_string(it, "name");
            const char *size = nb_json_get_string(it, "size"), *gen = nb_json_get_string(it, "generation");
            const char *upd = nb_json_get_string(it, "updated");
            if (!name || !*name || name[strlen(name) - 1] == '/') continue;
            if (glob ? fnmatch(pattern, name, 0) != 0 : strcmp(pattern, name) != 0) continue;
            if (s->n_objs == cap) {
                cap = cap ? cap * 2 : 64;
                struct gobj *no = realloc(s->objs, cap * sizeof *no);
                if (!no) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); break; }
                s->objs = no;
            }
            struct gobj o = {0};
            o.name = strdup(name);
            if (!o.name) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); break; }
            o.size = size ? strtoull(size, NULL, 10) : 0;
            snprintf(o.generation, sizeof o.generation, "%s", gen ? gen : "");
            snprintf(o.updated, sizeof o.updated, "%s", upd ? upd : "");
            s->objs[s->n_objs++] = o;
        }
        const char *next = st == NB_OK ? nb_json_get_string(j, "nextPageToken") : NULL;
        if (next) snprintf(token, sizeof token, "%s", next);
        nb_arena_cleanup(&ar);
        nb_http_response_cleanup(&r);
        if (st != NB_OK || !next) break;
    }
    nb_buf_cleanup(&url);
    if (st != NB_OK) return st;
    if (!s->n_objs) return nb_error_set(err, NB_ERR_NOT_FOUND, "gcs source: no object in gs://%s matches '%s'", s->bucket, pattern);
    qsort(s->objs, s->n_objs, sizeof *s->objs, s->newest_first ? cmp_newest : cmp_name);
    char **nv = calloc(s->n_objs, sizeof *nv);
    uint64_t *sv = calloc(s->n_objs, sizeof *sv);
    if (!nv || !sv) { free(nv); free(sv); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < s->n_objs; i++) {
        size_t l = strlen(s->objs[i].name) + strlen(s->bucket) + 8;
        if (!(nv[i] = malloc(l))) { nb_paths_free(nv, i); free(sv); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
        snprintf(nv[i], l, "gs://%s/%s", s->bucket, s->objs[i].name);
        sv[i] = s->objs[i].size;
    }
    *names = nv;
    *sizes = sv;
    *count = s->n_objs;
    return NB_OK;
}

struct g_istream {
    struct nb_istream base;
    struct gcs_source *src;
    const struct gobj *o;
    uint64_t pos;
    struct nb_buf buf;
    size_t off;
};

static nb_status gi_read(struct nb_istream *is, void *out, size_t cap, size_t *n, struct nb_error *err)
{
    struct g_istream *g = (struct g_istream *)is;
    *n = 0;
    if (g->off == g->buf.len) {
        if (g->pos >= g->o->size) return NB_DONE;
        uint64_t end = g->pos + RANGE_SIZE - 1;
        if (end >= g->o->size) end = g->o->size - 1;
        struct nb_buf url;
        nb_buf_init(&url);
        nb_buf_printf(&url, "%s/storage/v1/b/", g->src->endpoint);
        nb_uri_encode(&url, g->src->bucket, strlen(g->src->bucket), false);
        nb_buf_puts(&url, "/o/");
        nb_uri_encode(&url, g->o->name, strlen(g->o->name), false);
        nb_buf_puts(&url, "?alt=media");
        if (g->o->generation[0]) nb_buf_printf(&url, "&ifGenerationMatch=%s", g->o->generation);
        char range[80];
        snprintf(range, sizeof range, "Range: bytes=%llu-%llu", (unsigned long long)g->pos, (unsigned long long)end);
        const char *hdrs[1] = {range};
        nb_buf_reset(&g->buf);
        g->off = 0;
        struct nb_http_request req = {"GET", url.data, hdrs, 1, NULL, 0, true, nb_gcs_add_auth, g->src->auth, "gcs GET", &g->buf};
        struct nb_http_response r;
        nb_http_response_init(&r);
        nb_status st = nb_buf_status(&url, err);
        if (st == NB_OK) st = nb_gcs_send(g->src->http, g->src->auth, &req, &r, err);
        if (st == NB_OK && r.status == 412)
            st = nb_error_set(err, NB_ERR_INVALID, "gcs GET gs://%s/%s: the object changed while it was being read; rerun",
                              g->src->bucket, g->o->name);
        else if (st == NB_OK && r.status != 206 && r.status != 200) {
            nb_buf_append(&r.body, g->buf.data ? g->buf.data : "", g->buf.len);
            st = g_error("GET", g->src->bucket, g->o->name, &r, err);
        } else if (st == NB_OK && g->buf.len != end - g->pos + 1)
            st = nb_error_set(err, NB_ERR_PROTOCOL, "gcs GET gs://%s/%s bytes %llu-%llu: got %zu bytes", g->src->bucket,
                              g->o->name, (unsigned long long)g->pos, (unsigned long long)end, g->buf.len);
        nb_http_response_cleanup(&r);
        nb_buf_cleanup(&url);
        if (st != NB_OK) return st;
        g->pos = end + 1;
    }
    size_t k = g->buf.len - g->off;
    if (k > cap) k = cap;
    memcpy(out, g->buf.data + g->off, k);
    g->off += k;
    is->raw_read += k;
    *n = k;
    return NB_OK;
}

static void gi_destroy(struct nb_istream *is)
{
    struct g_istream *g = (struct g_istream *)is;
    nb_buf_cleanup(&g->buf);
    free(g);
}

static const struct nb_istream_ops gi_ops = {gi_read, gi_destroy};

/* A listed name ("gs://bucket/object") -> the object's name in the bucket. */
static const char *object_name(const struct gcs_source *s, const char *name)
{
    size_t bl = strlen(s->bucket);
    return strncmp(name, "gs://", 5) == 0 && strncmp(name + 5, s->bucket, bl) == 0 && name[5 + bl] == '/' ? name + 6 + bl
                                                                                                          : name;
}

static nb_status open_object(void *ctx, const char *name, enum nb_codec codec, bool auto_codec, uint64_t offset,
                             struct nb_istream **out, struct nb_error *err)
{
    struct gcs_source *s = ctx;
    const char *obj = object_name(s, name);
    const struct gobj *o = NULL;
    for (size_t i = 0; i < s->n_objs; i++)
        if (strcmp(s->objs[i].name, obj) == 0) o = &s->objs[i];
    if (!o) return nb_error_set(err, NB_ERR_NOT_FOUND, "%s: not among the listed objects", name);
    if (auto_codec && codec == NB_CODEC_NONE) codec = nb_codec_from_path(obj);
    struct g_istream *g = calloc(1, sizeof *g);
    if (!g) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    g->base.ops = &gi_ops;
    g->base.raw_size = o->size;
    g->src = s;
    g->o = o;
    nb_buf_init(&g->buf);
    if (codec == NB_CODEC_NONE) {
        g->pos = offset > o->size ? o->size : offset;
        g->base.raw_read = g->pos;
        *out = &g->base;
        return NB_OK;
    }
    struct nb_istream *z = NULL;
    nb_status st = nb_decompress_istream_create(codec, &g->base, name, &z, err);
    if (st != NB_OK) { gi_destroy(&g->base); return st; }
    char tmp[65536];
    while (offset > 0 && st == NB_OK) {
        size_t n = 0;
        st = nb_istream_read(z, tmp, offset < sizeof tmp ? (size_t)offset : sizeof tmp, &n, err);
        if (st == NB_DONE || (st == NB_OK && n == 0)) st = nb_error_set(err, NB_ERR_INVALID, "%s: shorter than the saved position", name);
        else offset -= n;
    }
    if (st != NB_OK) { nb_istream_destroy(z); return st; }
    *out = z;
    return NB_OK;
}

static void gsrc_free(struct gcs_source *s)
{
    nb_object_source_close(&s->obj);
    for (size_t i = 0; i < s->n_objs; i++) free(s->objs[i].name);
    free(s->objs);
    nb_google_auth_destroy(s->auth);
    nb_http_client_destroy(s->http);
    free(s->endpoint);
    free(s->bucket);
    free(s);
}

/* Incremental mode remembers an object by its generation (new on every overwrite). */
static bool object_version(void *ctx, const char *name, char *out, size_t cap)
{
    struct gcs_source *s = ctx;
    const char *key = object_name(s, name);
    for (size_t i = 0; i < s->n_objs; i++) {
        if (strcmp(s->objs[i].name, key) == 0) {
            snprintf(out, cap, "%s", s->objs[i].generation);
            return true;
        }
    }
    return false;
}

static nb_status gsrc_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    extern const struct nb_connector_ops nb_connector_csv, nb_connector_json, nb_connector_parquet;
    const struct nb_cfg *cfg = ctx->config;
    struct gcs_source *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->newest_first = strcmp(nb_cfg_string(cfg, "order", "lexical"), "newest") == 0;
    s->bucket = strdup(nb_cfg_string(cfg, "bucket", ""));
    s->endpoint = strdup(nb_cfg_string(cfg, "endpoint", "https://storage.googleapis.com"));
    if (s->endpoint) {
        size_t l = strlen(s->endpoint);
        while (l && s->endpoint[l - 1] == '/') s->endpoint[--l] = '\0';
    }
    int64_t attempts = nb_cfg_int(cfg, "max_attempts", 6);
    struct nb_http_options ho = {
        .connect_timeout_ms = ctx->options ? ctx->options->connect_timeout_ms : 0,
        .request_timeout_ms = ctx->options ? ctx->options->request_timeout_ms : 0,
        .idle_timeout_ms = ctx->options ? ctx->options->idle_timeout_ms : 0,
        .ca_bundle = nb_cfg_string(cfg, "ca_bundle", NULL),
        .retry = {(unsigned)(attempts < 1 ? 1 : attempts), 200, 20000, 60000},
        .cancel = ctx->cancel,
    };
    nb_status st = !s->bucket || !s->endpoint ? nb_error_set(err, NB_ERR_NOMEM, "out of memory") : NB_OK;
    if (st == NB_OK) st = nb_http_client_create(&ho, &s->http, err);
    if (st == NB_OK)
        st = nb_google_auth_create(nb_cfg_string(cfg, "credentials_file", NULL),
                                   "https://www.googleapis.com/auth/devstorage.read_only", s->http, &s->auth, err);
    struct nb_file_access fa = {s, list_objects, open_object};
    struct nb_object_source_args oa = {nb_connector_csv.source, nb_connector_json.source, &fa, object_version, "gcs",
                                       nb_connector_parquet.source};
    if (st == NB_OK) st = nb_object_source_open(&s->obj, ctx, &oa, err);
    if (st != NB_OK) {
        gsrc_free(s);
        return st;
    }
    *self = s;
    return NB_OK;
}

static void gsrc_close(void *self)
{
    if (self) gsrc_free(self);
}

const struct nb_source_ops nb_gcs_source_ops = {
    .spec = gcs_source_spec, .open = gsrc_open, .check = nb_object_source_check,
    .discover = nb_object_source_discover, .read = nb_object_source_read, .progress = nb_object_source_progress,
    .close = gsrc_close,
};
