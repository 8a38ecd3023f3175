/* The Avro Object Container File writer (spec 1.11 "Object Container Files"): header with the
 * schema and codec, then blocks (count, size, data, sync marker). Rows arrive pre-encoded from
 * workers (avro_encode.c); here only the framing, merging small tails into full blocks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/str.h"
#include "formats/avro/avro.h"
#include "formats/avro/avro_internal.h"
#include "formats/format.h"

const struct nb_config_key nb_avro_format_keys[] = {
    /* No default in the table: validation would put it in place of an unquoted `codec: null`
     * (a YAML null), silently turning "no compression" into snappy. The default is applied below. */
    {"codec", NB_KEY_ENUM, NULL, "null|none|deflate|snappy|zstd", 0,
     "block compression inside the file, default snappy (null = none; the file itself is never wrapped in a codec)", NULL},
    {"compression_level", NB_KEY_INT, "0", NULL, 0, "codec level, 0 = default (deflate 1..9, zstd 1..22)", NULL},
    {"block_size", NB_KEY_SIZE, "256KiB", NULL, 0,
     "uncompressed bytes of records per block (a sync marker after each block)", NULL},
    {"sync_interval", NB_KEY_INT, "0", NULL, 0, "at most this many records per block (0 = no limit)", NULL},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

/* Options are read straight from the tree (validated or not, e.g. in tests), defaults applied here. */
static const struct nb_cfg *cfg_node(const struct nb_cfg *cfg, const char *key)
{
    if (!cfg || cfg->kind != NB_CFG_MAP) return NULL;
    for (size_t i = 0; i < cfg->n_children; i++) {
        const struct nb_cfg *c = cfg->children[i];
        if (c->key && strcmp(c->key, key) == 0) return c;
    }
    return NULL;
}

static const char *cfg_text(const struct nb_cfg *cfg, const char *key)
{
    const struct nb_cfg *c = cfg_node(cfg, key);
    return c && c->kind == NB_CFG_SCALAR ? c->value : NULL;
}

/* A configuration error prefixed with the key's place ("dest.yaml:4:13: "). */
static nb_status config_error(const struct nb_cfg *cfg, const char *key, struct nb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static nb_status config_error(const struct nb_cfg *cfg, const char *key, struct nb_error *err, const char *fmt, ...)
{
    char where[512] = "", msg[NB_ERROR_MESSAGE_MAX];
    const struct nb_cfg *node = cfg_node(cfg, key);
    if (node && node->file) nb_cfg_where(node, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nb_error_set(err, NB_ERR_CONFIG, "%s%s%s", where, where[0] ? ": " : "", msg);
}

static nb_status options_create(const struct nb_cfg *cfg, void **out, struct nb_error *err)
{
    struct nb_avro_options *o = calloc(1, sizeof *o);
    if (!o) return nb_error_set(err, NB_ERR_NOMEM, "avro: out of memory");
    o->codec = NB_AVRO_SNAPPY;
    o->block_size = NB_AVRO_DEFAULT_BLOCK_SIZE;
    const char *v;
    /* YAML reads an unquoted `codec: null` (or `codec:`) as a null value, not the text "null": take it as meant. */
    const struct nb_cfg *cn = cfg_node(cfg, "codec");
    if (cn && cn->kind == NB_CFG_NULL) o->codec = NB_AVRO_NULL;
    if ((v = cfg_text(cfg, "codec")) != NULL) {
        if (strcmp(v, "null") == 0 || strcmp(v, "none") == 0) o->codec = NB_AVRO_NULL;
        else if (strcmp(v, "deflate") == 0) o->codec = NB_AVRO_DEFLATE;
        else if (strcmp(v, "snappy") == 0) o->codec = NB_AVRO_SNAPPY;
        else if (strcmp(v, "zstd") == 0 || strcmp(v, "zstandard") == 0) o->codec = NB_AVRO_ZSTD;
        else {
            free(o);
            return config_error(cfg, "codec", err, "avro: codec '%s' is not one of null, deflate, snappy, zstd", v);
        }
    }
    if ((v = cfg_text(cfg, "compression_level")) != NULL) {
        int64_t level;
        if (!nb_parse_i64(v, strlen(v), &level) || level < 0 || level > 22) {
            free(o);
            return config_error(cfg, "compression_level", err,
                                "avro: compression_level '%s' is not 0 (codec default) .. 9 (deflate) or 22 (zstd)", v);
        }
        if (o->codec == NB_AVRO_DEFLATE && level > 9) level = 9;
        o->level = (int)level;
    }
    if ((v = cfg_text(cfg, "block_size")) != NULL) {
        uint64_t bs;
        if (nb_parse_size(v, &bs, NULL) != NB_OK || bs < 1 || bs > NB_AVRO_MAX_BLOCK_SIZE) {
            free(o);
            return config_error(cfg, "block_size", err, "avro: block_size '%s' is not a size from 1 byte to 64MiB", v);
        }
        o->block_size = (size_t)bs;
    }
    if ((v = cfg_text(cfg, "sync_interval")) != NULL) {
        int64_t si;
        if (!nb_parse_i64(v, strlen(v), &si) || si < 0) {
            free(o);
            return config_error(cfg, "sync_interval", err,
                                "avro: sync_interval '%s' is not 0 (no limit) or a number of records", v);
        }
        o->sync_interval = (uint64_t)si;
    }
    *out = o;
    return NB_OK;
}

static void options_destroy(void *o) { free(o); }

static nb_status encode(const void *options, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err)
{
    return nb_avro_encode_batch(options, b, out, err);
}

/* ---- the writer ------------------------------------------------------------------------ */
struct avro_writer {
    struct nb_avro_options o;
    struct nb_ostream *os;
    struct nb_schema *schema;
    bool header_written;
    uint8_t sync[16];
    struct nb_buf pending;     /* raw records not yet in a block */
    uint64_t pending_rows;
    struct nb_buf scratch;     /* encoding when no worker did, compressing pending */
    uint64_t rows, blocks;
};

static size_t varint(uint8_t *p, int64_t v)
{
    uint64_t zz = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t i = 0;
    while (zz >= 0x80) {
        p[i++] = (uint8_t)(zz | 0x80);
        zz >>= 7;
    }
    p[i++] = (uint8_t)zz;
    return i;
}

static void make_sync(uint8_t sync[16])
{
    if (getrandom(sync, 16, GRND_NONBLOCK) == 16) return;
    /* No entropy yet (early boot): uniqueness is all a sync marker needs. */
    uint64_t a = nb_mono_ns() * 0x9E3779B97F4A7C15ull, b2 = (uint64_t)(uintptr_t)sync ^ (uint64_t)nb_wall_us();
    memcpy(sync, &a, 8);
    memcpy(sync + 8, &b2, 8);
}

static nb_status write_header(struct avro_writer *w, const char *stream, struct nb_error *err)
{
    struct nb_buf h, js;
    nb_buf_init(&h);
    nb_buf_init(&js);
    nb_status st = nb_avro_schema_json(w->schema, stream, &js, err);
    if (st != NB_OK) goto fail;
    uint8_t v[10];
    nb_buf_append(&h, "Obj\x01", 4);
    nb_buf_append(&h, v, varint(v, 2));
    const char *codec = nb_avro_codec_name(w->o.codec);
    const char *kv[4] = {"avro.schema", js.data, "avro.codec", codec};
    size_t kl[4] = {11, js.len, 10, strlen(codec)};
    for (int i = 0; i < 4; i++) {
        nb_buf_append(&h, v, varint(v, (int64_t)kl[i]));
        nb_buf_append(&h, kv[i], kl[i]);
    }
    nb_buf_append(&h, v, varint(v, 0));
    nb_buf_append(&h, w->sync, 16);
    if ((st = nb_buf_status(&h, err)) != NB_OK) goto fail;
    if ((st = nb_ostream_write(w->os, h.data, h.len, err)) != NB_OK) goto fail;
    w->header_written = true;
fail:
    nb_buf_cleanup(&h);
    nb_buf_cleanup(&js);
    return st;
}

static nb_status write_block(struct avro_writer *w, uint64_t rows, const char *data, size_t n, struct nb_error *err)
{
    uint8_t hdr[20];
    size_t hl = varint(hdr, (int64_t)rows);
    hl += varint(hdr + hl, (int64_t)n);
    nb_status st = nb_ostream_write(w->os, hdr, hl, err);
    if (st == NB_OK && n) st = nb_ostream_write(w->os, data, n, err);
    if (st == NB_OK) st = nb_ostream_write(w->os, w->sync, 16, err);
    if (st == NB_OK) {
        w->rows += rows;
        w->blocks++;
    }
    return st;
}

static nb_status flush_pending(struct avro_writer *w, struct nb_error *err)
{
    if (!w->pending_rows) return NB_OK;
    if (!w->header_written) {
        nb_status st = write_header(w, NULL, err);
        if (st != NB_OK) return st;
    }
    nb_buf_reset(&w->scratch);
    nb_status st = nb_avro_compress(&w->o, w->pending.data, w->pending.len, &w->scratch, err);
    if (st == NB_OK) st = write_block(w, w->pending_rows, w->scratch.data, w->scratch.len, err);
    if (st != NB_OK) return st;
    nb_buf_reset(&w->pending);
    w->pending_rows = 0;
    return NB_OK;
}

static nb_status writer_open(void **out, const void *options, struct nb_ostream *os, struct nb_schema *schema,
                             const struct nb_format_resume *resume, struct nb_error *err)
{
    if (resume && resume->resuming)
        return nb_error_set(err, NB_ERR_UNSUPPORTED, "avro: a partial Avro file cannot be resumed; the stream is rewritten");
    struct avro_writer *w = calloc(1, sizeof *w);
    if (!w) return nb_error_set(err, NB_ERR_NOMEM, "avro: out of memory");
    if (options) w->o = *(const struct nb_avro_options *)options;
    else w->o = (struct nb_avro_options){NB_AVRO_SNAPPY, 0, NB_AVRO_DEFAULT_BLOCK_SIZE, 0};
    if (!w->o.block_size) w->o.block_size = NB_AVRO_DEFAULT_BLOCK_SIZE;
    w->os = os;
    w->schema = nb_schema_retain(schema);
    nb_buf_init(&w->pending);
    nb_buf_init(&w->scratch);
    make_sync(w->sync);
    *out = w;
    return NB_OK;
}

static nb_status schema_mismatch(const struct avro_writer *w, const struct nb_batch *b, struct nb_error *err)
{
    const struct nb_schema *a = w->schema, *s = b->schema;
    const char *what = "changed";
    const char *col = "?";
    size_t n = a->n_fields < s->n_fields ? a->n_fields : s->n_fields;
    size_t i = 0;
    while (i < n && strcmp(a->fields[i].name, s->fields[i].name) == 0 &&
           a->fields[i].type.id == s->fields[i].type.id && a->fields[i].type.precision == s->fields[i].type.precision &&
           a->fields[i].type.scale == s->fields[i].type.scale && a->fields[i].type.utc == s->fields[i].type.utc &&
           a->fields[i].nullable == s->fields[i].nullable)
        i++;
    if (i < n) col = s->fields[i].name;
    else if (s->n_fields > a->n_fields) { col = s->fields[i].name; what = "is new"; }
    else if (a->n_fields > s->n_fields) { col = a->fields[i].name; what = "is gone"; }
    return nb_error_set(err, NB_ERR_UNSUPPORTED,
                        "avro: stream %s: column '%s' %s, but an Avro file has one schema; set schema.on_new_column: "
                        "ignore (or on_type_change: fail) for this destination, or write a new file",
                        b->stream ? b->stream : "?", col, what);
}

static nb_status take_segments(struct avro_writer *w, const char *p, size_t n, struct nb_error *err)
{
    size_t i = 0;
    while (i < n) {
        if (n - i < 17) goto corrupt;
        char kind = p[i];
        uint64_t rows, bytes;
        memcpy(&rows, p + i + 1, 8);
        memcpy(&bytes, p + i + 9, 8);
        i += 17;
        if (bytes > n - i) goto corrupt;
        nb_status st;
        if (kind == NB_AVRO_SEG_BLOCK) {
            if ((st = flush_pending(w, err)) != NB_OK) return st;
            if ((st = write_block(w, rows, p + i, (size_t)bytes, err)) != NB_OK) return st;
        } else if (kind == NB_AVRO_SEG_TAIL) {
            bool over = w->pending.len + bytes > w->o.block_size ||
                        (w->o.sync_interval && w->pending_rows + rows > w->o.sync_interval);
            if (over && (st = flush_pending(w, err)) != NB_OK) return st;
            nb_buf_append(&w->pending, p + i, (size_t)bytes);
            if ((st = nb_buf_status(&w->pending, err)) != NB_OK) return st;
            w->pending_rows += rows;
            if (w->pending.len >= w->o.block_size || (w->o.sync_interval && w->pending_rows >= w->o.sync_interval))
                if ((st = flush_pending(w, err)) != NB_OK) return st;
        } else {
            goto corrupt;
        }
        i += (size_t)bytes;
    }
    return NB_OK;
corrupt:
    return nb_error_set(err, NB_ERR_INTERNAL, "avro: encoded batch is malformed at byte %zu", i);
}

static nb_status writer_write(void *self, const struct nb_batch *b, const struct nb_buf *encoded, struct nb_error *err)
{
    struct avro_writer *w = self;
    if (b->schema != w->schema && !nb_schema_equal(b->schema, w->schema)) return schema_mismatch(w, b, err);
    nb_status st;
    if (!w->header_written && (st = write_header(w, b->stream, err)) != NB_OK) return st;
    if (!encoded) {
        if ((st = nb_avro_encode_batch(&w->o, b, &w->scratch, err)) != NB_OK) return st;
        /* take_segments reuses scratch for compression: move the bytes out first. */
        struct nb_buf segs = w->scratch;
        nb_buf_init(&w->scratch);
        st = take_segments(w, segs.data, segs.len, err);
        nb_buf_cleanup(&w->scratch);
        w->scratch = segs;
        return st;
    }
    return take_segments(w, encoded->data, encoded->len, err);
}

static nb_status writer_flush(void *self, struct nb_error *err)
{
    struct avro_writer *w = self;
    return flush_pending(w, err);
}

static nb_status writer_finish(void *self, struct nb_error *err)
{
    struct avro_writer *w = self;
    nb_status st = flush_pending(w, err);
    if (st == NB_OK && !w->header_written) st = write_header(w, NULL, err);
    return st;
}

static void writer_destroy(void *self)
{
    struct avro_writer *w = self;
    if (!w) return;
    nb_schema_release(w->schema);
    nb_buf_cleanup(&w->pending);
    nb_buf_cleanup(&w->scratch);
    free(w);
}

const struct nb_format_ops nb_format_avro = {
    .name = "avro",
    .extension = ".avro",
    .spec = nb_avro_format_keys,
    .keeps_mismatches_as_text = false,
    .resumable = false,
    .compresses_itself = true,
    .options_create = options_create,
    .options_destroy = options_destroy,
    .encode = encode,
    .writer_open = writer_open,
    .writer_write = writer_write,
    .writer_flush = writer_flush,
    .writer_finish = writer_finish,
    .writer_destroy = writer_destroy,
};
