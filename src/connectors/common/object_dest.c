/* Object-store destinations (see object_dest.h): builds the format's view of the config, expands
 * key templates and wraps a store's upload stream in the object's codec. */
#include "connectors/common/object_dest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

const struct nb_config_key nb_object_dest_keys[] = {
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED,
     "object key template: {stream} {date} {yyyy} {mm} {dd} {hh} {seq} {uuid} {run_id}"},
    {"format", NB_KEY_ENUM, "auto", "auto|parquet|avro|csv|json", 0, "file format; auto = by the key's extension"},
    {"compression", NB_KEY_ENUM, "auto", "auto|none|gzip|zstd|lz4|bzip2|xz|snappy|lz4_raw|deflate", 0,
     "parquet/avro: compression inside the file; csv/json: codec around the object (auto = by extension)"},
    {"compression_level", NB_KEY_INT, "0", NULL, 0, "codec level, 0 = default"},
    {"overwrite", NB_KEY_BOOL, "false", NULL, 0, "replace an existing object (default: refuse, write-once)"},
    {"json_format", NB_KEY_ENUM, "auto", "auto|array|lines", 0, "json layout (auto = lines for .ndjson/.jsonl)"},
    {"row_group_size", NB_KEY_INT, NULL, NULL, 0, "parquet: rows per row group"},
    {"delimiter", NB_KEY_STRING, NULL, NULL, 0, "csv: field separator"},
    {"header", NB_KEY_BOOL, NULL, NULL, 0, "csv: write a header line"},
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_file_dest_rotate_keys},
    {NULL},
};

struct nb_object_dest {
    const struct nb_format_ops *format;
    struct nb_cfg *fmt_cfg;          /* the format/file_dest view of our config */
    struct nb_context fctx;          /* ctx with fmt_cfg: file_dest keeps a pointer to it */
    void *fd;                        /* the file destination */
    nb_object_open_fn open;
    void *open_ctx;
    struct tm start;                 /* run start (UTC): {date} etc. are fixed for the run */
    char run_id[40];
};

static const struct nb_config_key path_only[] = {
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED, "object key"},
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_file_dest_rotate_keys},
    {NULL},
};
static const struct nb_config_key codec_keys[] = {
    {"compression", NB_KEY_ENUM, "auto", "auto|none|gzip|zstd|lz4|bzip2|xz|snappy", 0, "codec"},
    {"compression_level", NB_KEY_INT, "0", NULL, 0, "level"},
    {NULL},
};

static bool spec_has(const struct nb_config_key *spec, const char *name)
{
    for (const struct nb_config_key *k = spec; k && k->name; k++) {
        if (k->type == NB_KEY_INCLUDE) {
            if (spec_has(k->children, name)) return true;
        } else if (strcmp(k->name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* The format compresses inside the file (parquet, avro): no codec around the object. */
static bool inner_compression(const struct nb_format_ops *f)
{
    return f->compresses_itself || spec_has(f->spec, "compression") || spec_has(f->spec, "codec");
}

static void random_hex(char *out, size_t n)
{
    FILE *f = fopen("/dev/urandom", "rb");
    unsigned char b[32] = {0};
    size_t got = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    uint64_t x = (uint64_t)nb_wall_us() ^ (uint64_t)nb_mono_ns();
    for (size_t i = got; i < sizeof b; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        b[i] = (unsigned char)(x >> 56);
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i + 1 < n && i / 2 < sizeof b; i++) out[i] = hex[(b[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
    out[n - 1] = '\0';
}

static nb_status format_view(struct nb_object_dest *d, const struct nb_cfg *cfg, const char *store, struct nb_error *err)
{
    const char *path = nb_cfg_string(cfg, "path", NULL);
    const char *fmt = nb_cfg_string(cfg, "format", "auto");
    d->format = strcmp(fmt, "auto") == 0 ? nb_format_for_path(path ? path : "") : nb_format_find(fmt);
    if (!path || !d->format)
        return nb_error_set(err, NB_ERR_CONFIG, "%s destination: cannot tell the format of '%s': set format: parquet|avro|csv|json",
                            store, path ? path : "");
    const char *comp = nb_cfg_string(cfg, "compression", "auto");
    struct nb_cfg *m = nb_cfg_new_map();
    if (!m) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    bool ok = nb_cfg_set(m, "path", path) != NULL;
    char lvl[32];
    snprintf(lvl, sizeof lvl, "%lld", (long long)nb_cfg_int(cfg, "compression_level", 0));
    if (!inner_compression(d->format) || spec_has(d->format->spec, "compression_level"))
        ok = ok && nb_cfg_set(m, "compression_level", lvl);
    if (strcmp(comp, "auto") != 0) {
        const char *key = spec_has(d->format->spec, "codec") ? "codec" : "compression";
        if (strcmp(key, "codec") == 0 && strcmp(comp, "none") == 0) comp = "null";
        ok = ok && nb_cfg_set(m, key, comp);
    }
    if (strcmp(d->format->name, "json") == 0) ok = ok && nb_cfg_set(m, "format", nb_cfg_string(cfg, "json_format", "auto"));
    static const char *pass[] = {"row_group_size", "delimiter", "header", "rotate_rows", "rotate_bytes", "rotate_interval"};
    for (size_t i = 0; i < sizeof pass / sizeof *pass; i++) {
        const char *v = nb_cfg_string(cfg, pass[i], NULL);
        if (v && (i >= 3 || spec_has(d->format->spec, pass[i]))) ok = ok && nb_cfg_set(m, pass[i], v);
    }
    if (!ok) {
        nb_cfg_destroy(m);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    struct nb_config_key spec[4] = {
        {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, path_only},
        {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, d->format->spec},
        {NULL},
        {NULL},
    };
    if (!inner_compression(d->format)) spec[2] = (struct nb_config_key){"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, codec_keys};
    nb_status st = nb_cfg_validate(m, spec, "destination", err);
    if (st != NB_OK) {
        nb_cfg_destroy(m);
        return nb_error_prefix(err, "%s destination (%s options): ", store, d->format->name);
    }
    d->fmt_cfg = m;
    return NB_OK;
}

char *nb_object_dest_expand(struct nb_object_dest *d, const char *tmpl)
{
    struct nb_buf b;
    nb_buf_init(&b);
    char tmp[64];
    for (const char *p = tmpl; *p;) {
        const char *v = NULL;
        size_t n = 0;
        if (*p == '{') {
            const char *e = strchr(p, '}');
            n = e ? (size_t)(e - p + 1) : 0;
            int f = 0;
            if (n == 6 && strncmp(p, "{date}", 6) == 0) f = 1;
            else if (n == 6 && strncmp(p, "{yyyy}", 6) == 0) f = 2;
            else if (n == 4 && strncmp(p, "{mm}", 4) == 0) f = 3;
            else if (n == 4 && strncmp(p, "{dd}", 4) == 0) f = 4;
            else if (n == 4 && strncmp(p, "{hh}", 4) == 0) f = 5;
            if (f) {
                const struct tm *t = &d->start;
                if (f == 1) snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", t->tm_year + 1900, t->tm_mon + 1, t->tm_mday);
                else if (f == 2) snprintf(tmp, sizeof tmp, "%04d", t->tm_year + 1900);
                else if (f == 3) snprintf(tmp, sizeof tmp, "%02d", t->tm_mon + 1);
                else if (f == 4) snprintf(tmp, sizeof tmp, "%02d", t->tm_mday);
                else snprintf(tmp, sizeof tmp, "%02d", t->tm_hour);
                v = tmp;
            } else if (n == 8 && strncmp(p, "{run_id}", 8) == 0) {
                v = d->run_id;
            } else if (n == 6 && strncmp(p, "{uuid}", 6) == 0) {
                char h[33];
                random_hex(h, sizeof h);
                snprintf(tmp, sizeof tmp, "%.8s-%.4s-4%.3s-a%.3s-%.12s", h, h + 8, h + 12, h + 15, h + 18);
                v = tmp;
            }
        }
        if (v) {
            nb_buf_puts(&b, v);
            p += n;
        } else {
            nb_buf_putc(&b, *p++);
        }
    }
    if (b.oom) {
        nb_buf_cleanup(&b);
        return NULL;
    }
    return nb_buf_detach(&b, NULL);
}

static nb_status opener(void *ctx, const char *path, enum nb_codec codec, int level, uint64_t resume_len,
                        bool replace, struct nb_ostream **out, struct nb_error *err)
{
    (void)resume_len;   /* whole objects: never resumed mid-object */
    struct nb_object_dest *d = ctx;
    char *key = nb_object_dest_expand(d, path);
    if (!key) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    size_t lead = strspn(key, "/");
    if (lead) memmove(key, key + lead, strlen(key + lead) + 1);
    struct nb_ostream *os = NULL;
    nb_status st = d->open(d->open_ctx, key, replace, &os, err);
    if (st == NB_OK && codec != NB_CODEC_NONE && !inner_compression(d->format)) {
        struct nb_ostream *z = NULL;
        st = nb_compress_ostream_create(codec, level, os, &z, err);
        if (st != NB_OK) {
            os->ops->abort(os, false);
            nb_ostream_destroy(os);
        } else {
            os = z;
        }
    }
    free(key);
    if (st == NB_OK) *out = os;
    return st;
}

static void free_dest(struct nb_object_dest *d)
{
    nb_cfg_destroy(d->fmt_cfg);
    free(d);
}

nb_status nb_object_dest_open(struct nb_object_dest **out, const struct nb_context *ctx, const char *store,
                              nb_object_open_fn open, void *open_ctx, struct nb_error *err)
{
    struct nb_object_dest *d = calloc(1, sizeof *d);
    if (!d) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    d->open = open;
    d->open_ctx = open_ctx;
    time_t now = time(NULL);
    gmtime_r(&now, &d->start);
    strftime(d->run_id, sizeof d->run_id, "%Y%m%dT%H%M%SZ", &d->start);
    nb_status st = format_view(d, ctx->config, store, err);
    if (st != NB_OK) {
        free_dest(d);
        return st;
    }
    d->fctx = *ctx;
    d->fctx.config = d->fmt_cfg;
    struct nb_file_dest_args args = {.format = d->format, .opener = opener, .opener_ctx = d, .whole_objects = true};
    st = nb_file_dest_open(&d->fd, &d->fctx, &args, err);
    if (st != NB_OK) {
        free_dest(d);
        return st;
    }
    *out = d;
    return NB_OK;
}

nb_status nb_object_dest_encode(void *self, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err)
{
    return nb_file_dest_encode(((struct nb_object_dest *)self)->fd, b, out, err);
}
nb_status nb_object_dest_write(void *self, const struct nb_batch *b, const struct nb_buf *enc, struct nb_error *err)
{
    return nb_file_dest_write(((struct nb_object_dest *)self)->fd, b, enc, err);
}
bool nb_object_dest_wants_commit(void *self, const char *stream)
{
    return nb_file_dest_wants_commit(((struct nb_object_dest *)self)->fd, stream);
}

uint64_t nb_object_dest_bytes_written(void *self)
{
    return nb_file_dest_bytes_written(((struct nb_object_dest *)self)->fd);
}

nb_status nb_object_dest_commit(void *self, const char *stream, struct nb_buf *state, struct nb_error *err)
{
    return nb_file_dest_commit(((struct nb_object_dest *)self)->fd, stream, state, err);
}
nb_status nb_object_dest_end_stream(void *self, const char *stream, struct nb_error *err)
{
    return nb_file_dest_end_stream(((struct nb_object_dest *)self)->fd, stream, err);
}
void nb_object_dest_close(struct nb_object_dest *d, bool success, bool keep_partial)
{
    if (!d) return;
    nb_file_dest_close(d->fd, success, keep_partial);
    free_dest(d);
}
