/* The json connector: a source reading JSON files (a top-level array of objects or NDJSON, auto-
 * detected per file) through the JSON format reader, and a destination over the shared file
 * destination with the JSON writer. The source reads sequentially on the reader thread rather than
 * through common/file_source: schema.on_new_column=add must widen the schema in record order (a
 * parallel per-chunk decode cannot), and array files need structural framing, not line framing. */
#include <stdlib.h>
#include <string.h>

#include "connectors/common/file_dest.h"
#include "connectors/common/file_source.h"
#include "connectors/connector.h"
#include "core/json.h"
#include "core/log.h"
#include "formats/json/json_format.h"
#include "io/stream.h"

static const struct nb_config_key json_source_keys[] = {
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED,
     "input file or glob (*, ?, [..], ** for any depth); matching files are read in sorted order as one stream", NULL},
    {"", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_json_format_keys},
    {"infer_rows", NB_KEY_INT, "10000", NULL, 0, "records sampled from the start of the first file for the schema", NULL},
    {"max_record_size", NB_KEY_SIZE, "64MiB", NULL, 0,
     "a larger record is a bad record naming its line (protects memory from a runaway line)", NULL},
    {"compression", NB_KEY_ENUM, "auto", "auto|none|gzip|zstd|lz4|bzip2|xz|snappy", 0,
     "compression of the input files; auto = by extension (.gz .zst .lz4 .bz2 .xz .sz)", NULL},
    {"stream", NB_KEY_STRING, NULL, NULL, 0, "stream name (default: the first file's base name without extensions)", NULL},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static const struct nb_config_key json_dest_keys[] = {
    {"", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_file_dest_keys},
    {"", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_json_format_keys},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

struct json_source {
    const struct nb_context *ctx;
    char **files;
    size_t n_files;
    uint64_t *sizes;              /* file sizes, for progress */
    uint64_t total_size, done_size;
    char *stream;
    enum nb_json_layout layout;   /* from config; AUTO: per file */
    enum nb_codec codec;
    bool auto_codec;
    struct nb_json_reader_options ropt;
    struct nb_schema *schema;     /* NULL until inferred; grows with new keys */
    size_t cur;                   /* file being read */
    struct nb_istream *in;
    struct nb_json_reader *reader;
    uint64_t row;                 /* rows handed out (positions count across files) */
    bool done;
    /* Resume point (from the saved position), if any. */
    bool resuming;
    size_t resume_file;
    uint64_t resume_offset, resume_line, resume_row;
};

static void source_close(void *self)
{
    struct json_source *s = self;
    if (!s) return;
    nb_json_reader_destroy(s->reader);
    nb_istream_destroy(s->in);
    nb_schema_release(s->schema);
    nb_paths_free(s->files, s->n_files);
    free(s->sizes);
    free(s->stream);
    free(s);
}

/* The saved position {"file":..,"offset":..,"line":..,"row":..} of this stream, if any. */
static nb_status load_resume(struct json_source *s, struct nb_error *err)
{
    static const char *const keys[] = {"offset", "line", "row"};
    int64_t v[3] = {0, 1, 0};
    size_t idx;
    nb_status rc = nb_file_position_load(s->ctx, s->stream, (const char *const *)s->files, s->n_files, keys, 3, 1, &idx, v, err);
    if (rc != NB_OK || idx == s->n_files) return rc;
    s->resuming = true;
    s->resume_file = idx;
    s->resume_offset = (uint64_t)v[0];
    s->resume_line = v[1] > 0 ? (uint64_t)v[1] : 1;
    s->resume_row = v[2] > 0 ? (uint64_t)v[2] : 0;
    s->cur = idx;
    s->row = s->resume_row;
    for (size_t i = 0; i < idx; i++) s->done_size += s->sizes[i];
    NB_INFO("json", "resuming stream %s in %s at byte %llu (line %llu)", s->stream, s->files[idx],
            (unsigned long long)s->resume_offset, (unsigned long long)s->resume_line);
    return NB_OK;
}

static nb_status source_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    struct json_source *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->ctx = ctx;
    nb_status rc;
    const char *path = nb_cfg_string(ctx->config, "path", NULL);
    if (!path || !*path) {
        rc = nb_error_set(err, NB_ERR_CONFIG, "json source: 'path' is required");
        goto fail;
    }
    const char *fmt = nb_cfg_string(ctx->config, "format", "auto");
    if (!fmt || strcmp(fmt, "auto") == 0) s->layout = NB_JSON_LAYOUT_AUTO;
    else if (strcmp(fmt, "array") == 0) s->layout = NB_JSON_LAYOUT_ARRAY;
    else if (strcmp(fmt, "lines") == 0) s->layout = NB_JSON_LAYOUT_LINES;
    else {
        rc = nb_error_set(err, NB_ERR_CONFIG, "json source: format '%s' is not one of auto, array, lines", fmt);
        goto fail;
    }
    const char *comp = nb_cfg_string(ctx->config, "compression", "auto");
    s->auto_codec = !comp || strcmp(comp, "auto") == 0;
    if (!s->auto_codec && (rc = nb_codec_parse(comp, &s->codec, err)) != NB_OK) {
        nb_error_prefix(err, "json source compression: ");
        goto fail;
    }
    int64_t infer = nb_cfg_int(ctx->config, "infer_rows", NB_JSON_DEFAULT_INFER_ROWS);
    uint64_t maxrec = nb_cfg_size(ctx->config, "max_record_size", NB_JSON_DEFAULT_MAX_RECORD);
    if (infer < 1) {
        rc = nb_error_set(err, NB_ERR_CONFIG, "json source: infer_rows must be at least 1 (got %lld)", (long long)infer);
        goto fail;
    }
    if (maxrec < 16 || maxrec > ((uint64_t)1 << 40)) {
        rc = nb_error_set(err, NB_ERR_CONFIG, "json source: max_record_size must be between 16 bytes and 1TiB");
        goto fail;
    }
    if ((rc = nb_file_list(ctx, path, &s->files, &s->sizes, &s->n_files, err)) != NB_OK) {
        nb_error_prefix(err, "json source: ");
        goto fail;
    }
    for (size_t i = 0; i < s->n_files; i++) s->total_size += s->sizes[i];
    const char *stream = nb_cfg_string(ctx->config, "stream", NULL);
    char name[1024];
    if (!stream || !*stream) nb_file_stream_name(s->files[0], name, sizeof name);
    s->stream = strdup(stream && *stream ? stream : name);
    if (!s->stream) {
        rc = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    s->ropt.stream = s->stream;
    s->ropt.infer_rows = (size_t)infer;
    s->ropt.max_record_size = (size_t)maxrec;
    s->ropt.batch_size = ctx->options && ctx->options->batch_size ? ctx->options->batch_size : 10000;
    s->ropt.bad = ctx->bad;
    if (ctx->options) {
        switch (ctx->options->on_new_column) {
        case NB_NEW_COLUMN_ADD: s->ropt.on_new_key = NB_JSON_NEW_KEY_ADD; break;
        case NB_NEW_COLUMN_IGNORE: s->ropt.on_new_key = NB_JSON_NEW_KEY_IGNORE; break;
        case NB_NEW_COLUMN_FAIL: s->ropt.on_new_key = NB_JSON_NEW_KEY_FAIL; break;
        }
    }
    if ((rc = load_resume(s, err)) != NB_OK) goto fail;
    *self = s;
    return NB_OK;
fail:
    source_close(s);
    return rc;
}

static nb_status open_input(struct json_source *s, size_t i, uint64_t offset, struct nb_istream **in, struct nb_error *err)
{
    const struct nb_file_access *fa = s->ctx->files;
    nb_status rc = fa ? fa->open(fa->ctx, s->files[i], s->codec, s->auto_codec, offset, in, err)
                      : nb_input_open(s->files[i], s->codec, s->auto_codec, offset, in, err);
    if (rc != NB_OK) return nb_error_prefix(err, "json source: ");
    return NB_OK;
}

/* Schema from the first file(s): the sample is the first infer_rows records of the first file
 * that has any. */
static nb_status ensure_schema(struct json_source *s, struct nb_error *err)
{
    if (s->schema) return NB_OK;
    for (size_t i = 0; i < s->n_files; i++) {
        struct nb_istream *in = NULL;
        nb_status rc = open_input(s, i, 0, &in, err);
        if (rc != NB_OK) return rc;
        struct nb_json_reader_options o = s->ropt;
        o.name = s->files[i];
        o.layout = s->layout;
        o.bad = NULL;
        enum nb_json_layout layout;
        struct nb_schema *schema = NULL;
        rc = nb_json_infer(in, &o, &schema, &layout, err);
        nb_istream_destroy(in);
        if (rc != NB_OK) return rc;
        if (schema->n_fields > 0 || i + 1 == s->n_files) {
            s->schema = schema;
            return NB_OK;
        }
        nb_schema_release(schema);
    }
    s->schema = nb_schema_create();
    return s->schema ? NB_OK : nb_error_set(err, NB_ERR_NOMEM, "out of memory");
}

static nb_status source_check(void *self, struct nb_error *err)
{
    struct json_source *s = self;
    char buf[4096];
    for (size_t i = 0; i < s->n_files; i++) {
        struct nb_istream *in = NULL;
        nb_status rc = open_input(s, i, 0, &in, err);
        if (rc != NB_OK) return rc;
        size_t n = 0;
        rc = nb_istream_read(in, buf, sizeof buf, &n, err);
        nb_istream_destroy(in);
        if (rc != NB_OK && rc != NB_DONE) return nb_error_prefix(err, "json source: reading %s: ", s->files[i]);
    }
    return NB_OK;
}

static nb_status source_discover(void *self, struct nb_buf *json, struct nb_error *err)
{
    struct json_source *s = self;
    nb_status rc = ensure_schema(s, err);
    if (rc != NB_OK) return rc;
    nb_buf_puts(json, "{\"streams\":[{\"name\":");
    nb_buf_json_string(json, s->stream, strlen(s->stream));
    nb_buf_puts(json, ",\"files\":[");
    for (size_t i = 0; i < s->n_files; i++) {
        if (i) nb_buf_putc(json, ',');
        nb_buf_json_string(json, s->files[i], strlen(s->files[i]));
    }
    nb_buf_puts(json, "],\"schema\":");
    nb_schema_to_json(s->schema, json);
    nb_buf_puts(json, "}]}");
    return nb_buf_status(json, err);
}

static void close_file(struct json_source *s)
{
    nb_json_reader_destroy(s->reader);
    s->reader = NULL;
    nb_istream_destroy(s->in);
    s->in = NULL;
}

static nb_status open_file(struct json_source *s, struct nb_error *err)
{
    size_t i = s->cur;
    bool resume_here = s->resuming && i == s->resume_file && s->resume_offset > 0;
    struct nb_json_reader_options o = s->ropt;
    o.name = s->files[i];
    o.row = s->row;
    o.offset = resume_here ? s->resume_offset : 0;
    o.line = resume_here ? s->resume_line : 1;
    enum nb_json_layout layout = s->layout;
    nb_status rc;
    if (layout == NB_JSON_LAYOUT_AUTO && resume_here) {
        /* Inside a file the layout is not visible: look at its start. */
        struct nb_istream *head = NULL;
        if ((rc = open_input(s, i, 0, &head, err)) != NB_OK) return rc;
        rc = nb_json_detect_layout(head, &layout, err);
        nb_istream_destroy(head);
        if (rc != NB_OK) return nb_error_prefix(err, "json source: %s: ", s->files[i]);
    }
    if ((rc = open_input(s, i, o.offset, &s->in, err)) != NB_OK) return rc;
    rc = nb_json_reader_create(&s->reader, s->in, s->schema, layout, &o, err);
    if (rc != NB_OK) {
        close_file(s);
        return rc;
    }
    return NB_OK;
}

static nb_status source_read(void *self, struct nb_batch **out, struct nb_error *err)
{
    struct json_source *s = self;
    nb_status rc = ensure_schema(s, err);
    if (rc != NB_OK) return rc;
    for (;;) {
        if (s->done) return NB_DONE;
        if (nb_context_cancelled(s->ctx)) return nb_error_set(err, NB_ERR_CANCELLED, "json source: cancelled");
        if (!s->reader && (rc = open_file(s, err)) != NB_OK) return rc;
        struct nb_batch *b = NULL;
        rc = nb_json_reader_next(s->reader, &b, err);
        if (rc == NB_DONE) {   /* not expected: the reader ends with an end-of-stream batch */
            close_file(s);
            if (++s->cur >= s->n_files) s->done = true;
            continue;
        }
        if (rc != NB_OK) return rc;
        s->row += b->n_rows;
        /* The schema may have grown with new keys: the next file starts from it. */
        struct nb_schema *cur = nb_json_reader_schema(s->reader);
        if (cur != s->schema) {
            nb_schema_release(s->schema);
            s->schema = nb_schema_retain(cur);
        }
        if (b->end_of_stream) {
            s->done_size += s->sizes[s->cur];
            close_file(s);
            if (++s->cur < s->n_files) {
                b->end_of_stream = false;
                if (b->n_rows == 0) {
                    nb_batch_destroy(b);
                    continue;
                }
            } else {
                s->done = true;
            }
        }
        *out = b;
        return NB_OK;
    }
}

static bool source_progress(void *self, uint64_t *done, uint64_t *total)
{
    struct json_source *s = self;
    *done = s->done_size + (s->in ? s->in->raw_read : 0);
    *total = s->total_size;
    return true;
}

static const struct nb_source_ops json_source_ops = {
    .spec = json_source_keys,
    .open = source_open,
    .check = source_check,
    .discover = source_discover,
    .read = source_read,
    .ack = NULL,
    .progress = source_progress,
    .close = source_close,
};

static nb_status dest_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    struct nb_file_dest_args a = {.format = &nb_format_json};
    return nb_file_dest_open(self, ctx, &a, err);
}

static const struct nb_destination_ops json_dest_ops = NB_FILE_DESTINATION_OPS(json_dest_keys, dest_open, false);

const struct nb_connector_ops nb_connector_json = {
    .name = "json",
    .description = "JSON files: a top-level array of objects or NDJSON (auto-detected), globs, compression, "
                   "schema inference, new keys, resume",
    .kinds = NB_SOURCE | NB_DESTINATION,
    .source_caps = NB_CAP_FULL_REFRESH | NB_CAP_RESUME | NB_CAP_SCHEMA_EVOLUTION,
    .destination_caps = NB_CAP_FULL_REFRESH | NB_CAP_RESUME | NB_CAP_SCHEMA_EVOLUTION,
    .source = &json_source_ops,
    .destination = &json_dest_ops,
};
