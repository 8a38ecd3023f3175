/* The s3 source: objects matched by a key glob, read as CSV or JSON through the csv/json connector's
 * source (connectors/common/object_source) with this connector's file access: ListObjectsV2 for the glob
 * (lexical or newest-first order), and an istream of ranged GETs (8 MiB at a time, If-Match on the
 * listed ETag so an object replaced mid-read is an error, not a mix) for the bytes: objects are
 * streamed, never downloaded whole. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/common/object_source.h"
#include "connectors/s3/s3.h"
#include "core/log.h"

#define RANGE_SIZE (8u << 20)

static const struct nb_config_key s3_source_spec[] = {
    S3_COMMON_KEYS,
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED,
     "object key or glob (* ? [..] match any character including '/'), e.g. exports/2024-*/part-*.csv"},
    {"order", NB_KEY_ENUM, "lexical", "lexical|newest", 0, "order of the matched objects: by key, or newest first"},
    {"stream", NB_KEY_STRING, NULL, NULL, 0, "stream name (default: the first object's base name)"},
    {"stream_per_file", NB_KEY_BOOL, "false", NULL, 0, "one stream per object"},
    {"compression", NB_KEY_ENUM, "auto", "auto|none|gzip|zstd|lz4|bzip2|xz|snappy", 0, "codec (auto = by extension)"},
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_object_source_keys},
    {NULL},
};

struct obj {
    char *key;
    char etag[128];
    char modified[40];
    uint64_t size;
};

struct s3_source {
    struct nb_object_source obj;   /* first: the csv source over our files (object_source.h) */
    struct nb_s3_conn conn;
    bool newest_first;
    struct obj *objs;              /* listed objects, for ETags at open */
    size_t n_objs;
};

/* ---- listing ------------------------------------------------------------------------------- */

static int cmp_key(const void *a, const void *b) { return strcmp(((const struct obj *)a)->key, ((const struct obj *)b)->key); }
static int cmp_newest(const void *a, const void *b)
{
    const struct obj *x = a, *y = b;
    int c = strcmp(y->modified, x->modified);   /* ISO 8601 UTC sorts as text */
    return c ? c : strcmp(x->key, y->key);
}

static const char *name_key(struct s3_source *s, const char *name)
{
    /* names are "s3://bucket/key" */
    size_t bl = strlen(nb_s3_bucket(s->conn.s3));
    if (strncmp(name, "s3://", 5) == 0 && strncmp(name + 5, nb_s3_bucket(s->conn.s3), bl) == 0 && name[5 + bl] == '/')
        return name + 6 + bl;
    return name;
}

static nb_status list_objects(void *ctx, const char *pattern, char ***names, uint64_t **sizes, size_t *count,
                              struct nb_error *err)
{
    struct s3_source *s = ctx;
    while (*pattern == '/') pattern++;
    size_t plen = strcspn(pattern, "*?[");
    bool glob = pattern[plen] != '\0';
    struct nb_buf q, prefix;
    nb_buf_init(&q);
    nb_buf_init(&prefix);
    nb_uri_encode(&prefix, pattern, plen, false);
    char token[1024] = "";
    nb_status st = NB_OK;
    struct nb_http_response r;
    nb_http_response_init(&r);
    size_t cap = 0;
    for (;;) {
        nb_buf_reset(&q);
        if (*token) {
            nb_buf_puts(&q, "continuation-token=");
            nb_uri_encode(&q, token, strlen(token), false);
            nb_buf_putc(&q, '&');
        }
        nb_buf_printf(&q, "list-type=2&prefix=%s", prefix.data ? prefix.data : "");
        if ((st = nb_buf_status(&q, err)) != NB_OK) break;
        struct nb_s3_call call = {"GET", "", q.data, NULL, 0, NULL, 0, true, NULL};
        st = nb_s3_call(s->conn.s3, &call, &r, err);
        if (st == NB_OK && (r.status < 200 || r.status > 299)) st = nb_s3_error(s->conn.s3, "GET (list)", pattern, &r, err);
        if (st != NB_OK) break;
        /* Walk <Contents> elements. */
        for (const char *p = r.body.data; p && (p = strstr(p, "<Contents>"));) {
            const char *e = strstr(p, "</Contents>");
            if (!e) break;
            size_t n = (size_t)(e - p);
            char *one = strndup(p, n);
            p = e;
            if (!one) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); break; }
            char key[2048], size[32] = "0";
            struct obj o = {0};
            if (nb_s3_xml_tag(one, "Key", key, sizeof key)) {
                nb_s3_xml_tag(one, "ETag", o.etag, sizeof o.etag);
                nb_s3_xml_tag(one, "LastModified", o.modified, sizeof o.modified);
                nb_s3_xml_tag(one, "Size", size, sizeof size);
                o.size = strtoull(size, NULL, 10);
                size_t kl = strlen(key);
                bool dir = kl && key[kl - 1] == '/';
                if (!dir && (glob ? fnmatch(pattern, key, 0) == 0 : strcmp(pattern, key) == 0)) {
                    if (s->n_objs == cap) {
                        cap = cap ? cap * 2 : 64;
                        struct obj *no = realloc(s->objs, cap * sizeof *no);
                        if (!no) { free(one); st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); break; }
                        s->objs = no;
                    }
                    o.key = strdup(key);
                    if (!o.key) { free(one); st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); break; }
                    s->objs[s->n_objs++] = o;
                }
            }
            free(one);
        }
        if (st != NB_OK) break;
        char trunc[16] = "";
        nb_s3_xml_tag(r.body.data, "IsTruncated", trunc, sizeof trunc);
        if (strcmp(trunc, "true") != 0 || !nb_s3_xml_tag(r.body.data, "NextContinuationToken", token, sizeof token)) break;
    }
    nb_http_response_cleanup(&r);
    nb_buf_cleanup(&q);
    nb_buf_cleanup(&prefix);
    if (st != NB_OK) return st;
    if (s->n_objs == 0)
        return nb_error_set(err, NB_ERR_NOT_FOUND, "s3 source: no object in s3://%s matches '%s'", nb_s3_bucket(s->conn.s3),
                            pattern);
    qsort(s->objs, s->n_objs, sizeof *s->objs, s->newest_first ? cmp_newest : cmp_key);
    char **nv = calloc(s->n_objs, sizeof *nv);
    uint64_t *sv = calloc(s->n_objs, sizeof *sv);
    if (!nv || !sv) { free(nv); free(sv); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < s->n_objs; i++) {
        size_t l = strlen(s->objs[i].key) + strlen(nb_s3_bucket(s->conn.s3)) + 8;
        nv[i] = malloc(l);
        if (!nv[i]) { nb_paths_free(nv, i); free(sv); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
        snprintf(nv[i], l, "s3://%s/%s", nb_s3_bucket(s->conn.s3), s->objs[i].key);
        sv[i] = s->objs[i].size;
    }
    NB_DEBUG("s3", "%zu objects match s3://%s/%s", s->n_objs, nb_s3_bucket(s->conn.s3), pattern);
    *names = nv;
    *sizes = sv;
    *count = s->n_objs;
    return NB_OK;
}

/* ---- ranged-GET istream ---------------------------------------------------------------------- */

struct s3_istream {
    struct nb_istream base;
    struct nb_s3_client *c;
    char *key;
    char etag[128];
    uint64_t pos, size;      /* next byte to fetch; object size */
    struct nb_buf buf;
    size_t off;              /* consumed in buf */
};

static nb_status s3_is_read(struct nb_istream *is, void *out, size_t cap, size_t *n, struct nb_error *err)
{
    struct s3_istream *s = (struct s3_istream *)is;
    *n = 0;
    if (s->off == s->buf.len) {
        if (s->pos >= s->size) return NB_DONE;
        uint64_t end = s->pos + RANGE_SIZE - 1;
        if (end >= s->size) end = s->size - 1;
        char range[80], ifm[200];
        snprintf(range, sizeof range, "Range: bytes=%llu-%llu", (unsigned long long)s->pos, (unsigned long long)end);
        snprintf(ifm, sizeof ifm, "If-Match: %s", s->etag);
        const char *hdrs[2] = {range, ifm};
        nb_buf_reset(&s->buf);
        s->off = 0;
        struct nb_s3_call call = {"GET", s->key, NULL, hdrs, s->etag[0] ? 2 : 1, NULL, 0, true, &s->buf};
        struct nb_http_response r;
        nb_http_response_init(&r);
        nb_status st = nb_s3_call(s->c, &call, &r, err);
        if (st == NB_OK && r.status == 412) {
            st = nb_error_set(err, NB_ERR_INVALID, "s3 GET s3://%s/%s: the object changed while it was being read "
                                                   "(ETag no longer %s); rerun to read the new version",
                              nb_s3_bucket(s->c), s->key, s->etag);
        } else if (st == NB_OK && r.status != 206 && r.status != 200) {
            /* The error body went to the sink: show it. */
            nb_buf_append(&r.body, s->buf.data ? s->buf.data : "", s->buf.len);
            st = nb_s3_error(s->c, "GET", s->key, &r, err);
        }
        nb_http_response_cleanup(&r);
        if (st != NB_OK) return st;
        if (s->buf.len != end - s->pos + 1)
            return nb_error_set(err, NB_ERR_PROTOCOL, "s3 GET s3://%s/%s bytes %llu-%llu: got %zu bytes", nb_s3_bucket(s->c),
                                s->key, (unsigned long long)s->pos, (unsigned long long)end, s->buf.len);
        s->pos = end + 1;
    }
    size_t k = s->buf.len - s->off;
    if (k > cap) k = cap;
    memcpy(out, s->buf.data + s->off, k);
    s->off += k;
    is->raw_read += k;
    *n = k;
    return NB_OK;
}

static void s3_is_destroy(struct nb_istream *is)
{
    struct s3_istream *s = (struct s3_istream *)is;
    nb_buf_cleanup(&s->buf);
    free(s->key);
    free(s);
}

static const struct nb_istream_ops s3_is_ops = {s3_is_read, s3_is_destroy};

static nb_status open_object(void *ctx, const char *name, enum nb_codec codec, bool auto_codec, uint64_t offset,
                             struct nb_istream **out, struct nb_error *err)
{
    struct s3_source *src = ctx;
    const char *key = name_key(src, name);
    const struct obj *o = NULL;
    for (size_t i = 0; i < src->n_objs; i++)
        if (strcmp(src->objs[i].key, key) == 0) o = &src->objs[i];
    if (!o) return nb_error_set(err, NB_ERR_NOT_FOUND, "%s: not among the listed objects", name);
    if (auto_codec && codec == NB_CODEC_NONE) codec = nb_codec_from_path(key);
    struct s3_istream *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->base.ops = &s3_is_ops;
    s->base.raw_size = o->size;
    s->c = src->conn.s3;
    s->key = strdup(key);
    snprintf(s->etag, sizeof s->etag, "%s", o->etag);
    s->size = o->size;
    nb_buf_init(&s->buf);
    if (!s->key) { s3_is_destroy(&s->base); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    struct nb_istream *is = &s->base;
    if (codec == NB_CODEC_NONE) {
        s->pos = offset > s->size ? s->size : offset;
        s->base.raw_read = s->pos;
        *out = is;
        return NB_OK;
    }
    struct nb_istream *z = NULL;
    nb_status st = nb_decompress_istream_create(codec, is, name, &z, err);
    if (st != NB_OK) { s3_is_destroy(is); return st; }
    /* Compressed: read and discard up to offset. */
    char tmp[65536];
    while (offset > 0) {
        size_t n = 0;
        st = nb_istream_read(z, tmp, offset < sizeof tmp ? (size_t)offset : sizeof tmp, &n, err);
        if (st == NB_DONE || (st == NB_OK && n == 0)) { st = nb_error_set(err, NB_ERR_INVALID, "%s: shorter than the saved position", name); break; }
        if (st != NB_OK) break;
        offset -= n;
    }
    if (st != NB_OK && st != NB_DONE) { nb_istream_destroy(z); return st; }
    *out = z;
    return NB_OK;
}

/* ---- source ops ------------------------------------------------------------------------------ */

static void s3_source_free(struct s3_source *s)
{
    nb_object_source_close(&s->obj);
    for (size_t i = 0; i < s->n_objs; i++) free(s->objs[i].key);
    free(s->objs);
    nb_s3_teardown(&s->conn);
    free(s);
}

/* Incremental mode remembers an object by its ETag (changes whenever the bytes do). */
static bool object_version(void *ctx, const char *name, char *out, size_t cap)
{
    struct s3_source *src = ctx;
    const char *key = name_key(src, name);
    for (size_t i = 0; i < src->n_objs; i++) {
        if (strcmp(src->objs[i].key, key) == 0) {
            snprintf(out, cap, "%s", src->objs[i].etag);
            return true;
        }
    }
    return false;
}

static nb_status s3_source_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    extern const struct nb_connector_ops nb_connector_csv, nb_connector_json, nb_connector_parquet;
    const struct nb_cfg *cfg = ctx->config;
    struct s3_source *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->newest_first = strcmp(nb_cfg_string(cfg, "order", "lexical"), "newest") == 0;
    nb_status st = nb_s3_setup(ctx, &s->conn, err);
    if (st != NB_OK) { free(s); return st; }
    struct nb_file_access fa = {s, list_objects, open_object};
    struct nb_object_source_args oa = {nb_connector_csv.source, nb_connector_json.source, &fa, object_version, "s3",
                                       nb_connector_parquet.source};
    if ((st = nb_object_source_open(&s->obj, ctx, &oa, err)) != NB_OK) {
        s3_source_free(s);
        return st;
    }
    *self = s;
    return NB_OK;
}

static void s3_source_close(void *self)
{
    if (self) s3_source_free(self);
}

const struct nb_source_ops nb_s3_source_ops = {
    .spec = s3_source_spec, .open = s3_source_open, .check = nb_object_source_check,
    .discover = nb_object_source_discover, .read = nb_object_source_read, .progress = nb_object_source_progress,
    .close = s3_source_close,
};
