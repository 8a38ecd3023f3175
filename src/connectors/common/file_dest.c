/* The file destination shared by csv/json/parquet/avro (and object stores through an opener):
 * one output per stream, written under a partial name, checkpointed and resumed by length. */
#include "connectors/common/file_dest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/log.h"

const struct nb_config_key nb_file_dest_path_key[] = {
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED,
     "output file; {stream} is the stream name (needed when the source has several streams), {run_id} "
     "a new name per run (for incremental and CDC sources), {date} {yyyy} {mm} {dd} {hh} the run's start (UTC)"},
    {NULL},
};

const struct nb_config_key nb_file_dest_keys[] = {
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_file_dest_path_key},
    {"compression", NB_KEY_ENUM, "auto", "auto|none|gzip|zstd|lz4|bzip2|xz|snappy", 0,
     "compression of the whole file; auto = by extension (.gz .zst .lz4 .bz2 .xz .sz)"},
    {"compression_level", NB_KEY_INT, "0", NULL, 0, "codec level, 0 = the codec's default"},
    {NULL},
};

struct file_stream {
    struct file_stream *next;
    char *name;
    char *path;
    struct nb_ostream *os;
    void *writer;
    struct nb_schema *schema;
    uint64_t rows;           /* rows in the output, including those of a resumed partial file */
};

struct file_dest {
    time_t run_start;            /* for {run_id} and the date parts of the path template */
    const struct nb_context *ctx;
    struct nb_file_dest_args args;
    void *format_options;
    const char *path_template;
    enum nb_codec codec;
    bool codec_auto;
    int level;
    struct file_stream *streams;
};

static nb_status default_opener(void *ctx, const char *path, enum nb_codec codec, int level, uint64_t resume_len,
                                struct nb_ostream **out, struct nb_error *err)
{
    (void)ctx;
    return nb_output_open(path, codec, level, resume_len, out, err);
}

nb_status nb_file_dest_open(void **self, const struct nb_context *ctx, const struct nb_file_dest_args *args,
                            struct nb_error *err)
{
    struct file_dest *d = calloc(1, sizeof *d);
    if (!d) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    d->ctx = ctx;
    d->args = *args;
    d->run_start = time(NULL);
    if (!d->args.opener) d->args.opener = default_opener;
    d->path_template = nb_cfg_string(ctx->config, "path", NULL);
    if (!d->path_template || !*d->path_template) {
        free(d);
        return nb_error_set(err, NB_ERR_CONFIG, "destination: 'path' is required");
    }
    const char *comp = nb_cfg_string(ctx->config, "compression", "auto");
    /* A format that compresses inside the file owns its compression keys: no codec around it. */
    if (args->format->compresses_itself) comp = "none";
    d->codec_auto = strcmp(comp, "auto") == 0;
    if (!d->codec_auto && nb_codec_parse(comp, &d->codec, err) != NB_OK) {
        free(d);
        return nb_error_prefix(err, "destination compression: ");
    }
    d->level = (int)nb_cfg_int(ctx->config, "compression_level", 0);
    if (args->format->options_create) {
        nb_status st = args->format->options_create(ctx->config, &d->format_options, err);
        if (st != NB_OK) {
            free(d);
            return st;
        }
    }
    *self = d;
    return NB_OK;
}

nb_status nb_file_dest_check(void *self, struct nb_error *err)
{
    /* Writability is checked for real when the first file is created; a template that cannot hold
     * several streams is caught then as well. */
    (void)self;
    (void)err;
    return NB_OK;
}

/* The path template: {stream}, and the run's start time as {run_id} (20261126T221539Z-<pid>, so
 * two runs in one second differ), {date}
 * (2026-11-26), {yyyy} {mm} {dd} {hh}. The time is taken once per run so every stream agrees. */
static char *expand_path(const char *tmpl, const char *stream, time_t run_start)
{
    struct tm tm;
    gmtime_r(&run_start, &tm);
    char parts[6][24];
    size_t n0 = strftime(parts[0], sizeof parts[0], "%Y%m%dT%H%M%SZ", &tm);
    snprintf(parts[0] + n0, sizeof parts[0] - n0, "-%d", (int)getpid());
    strftime(parts[1], sizeof parts[1], "%Y-%m-%d", &tm);
    strftime(parts[2], sizeof parts[2], "%Y", &tm);
    strftime(parts[3], sizeof parts[3], "%m", &tm);
    strftime(parts[4], sizeof parts[4], "%d", &tm);
    strftime(parts[5], sizeof parts[5], "%H", &tm);
    static const char *const names[6] = {"{run_id}", "{date}", "{yyyy}", "{mm}", "{dd}", "{hh}"};
    struct nb_buf b;
    nb_buf_init(&b);
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{stream}", 8) == 0) {
            for (const char *c = stream; *c; c++) nb_buf_putc(&b, (*c == '/' || *c == '\\') ? '_' : *c);
            p += 8;
            continue;
        }
        bool matched = false;
        for (int i = 0; i < 6 && !matched; i++) {
            size_t n = strlen(names[i]);
            if (strncmp(p, names[i], n) == 0) {
                nb_buf_puts(&b, parts[i]);
                p += n;
                matched = true;
            }
        }
        if (!matched) nb_buf_putc(&b, *p++);
    }
    if (b.oom) { nb_buf_cleanup(&b); return NULL; }
    return nb_buf_detach(&b, NULL);
}

static struct file_stream *find_stream(struct file_dest *d, const char *name)
{
    for (struct file_stream *s = d->streams; s; s = s->next)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

static void stream_free(struct file_stream *s)
{
    if (!s) return;
    free(s->name);
    free(s->path);
    nb_schema_release(s->schema);
    free(s);
}

/* The output path an unfinished earlier run was writing, from its saved destination state: a
 * resume continues that file even when the template has a {run_id} or date part. */
static char *saved_path(const char *state)
{
    if (!state) return NULL;
    struct nb_arena a;
    nb_arena_init(&a, 4096);
    struct nb_json *j = NULL;
    char *path = NULL;
    if (nb_json_parse(state, strlen(state), &a, &j, NULL) == NB_OK) {
        const char *p = nb_json_get_string(j, "path");
        if (p) path = strdup(p);
    }
    nb_arena_cleanup(&a);
    return path;
}

/* Resume information saved by commit(): {"path":..,"length":N,"rows":R}. */
static bool parse_resume(const char *state, const char *path, uint64_t *length, uint64_t *rows)
{
    if (!state) return false;
    struct nb_arena a;
    nb_arena_init(&a, 4096);
    struct nb_json *j = NULL;
    bool ok = false;
    int64_t len = 0, r = 0;
    if (nb_json_parse(state, strlen(state), &a, &j, NULL) == NB_OK) {
        const char *p = nb_json_get_string(j, "path");
        ok = p && strcmp(p, path) == 0 && nb_json_get_i64(j, "length", &len) && nb_json_get_i64(j, "rows", &r) &&
             len >= 0 && r >= 0;
    }
    nb_arena_cleanup(&a);
    if (ok) { *length = (uint64_t)len; *rows = (uint64_t)r; }
    return ok;
}

static nb_status open_stream(struct file_dest *d, const struct nb_batch *b, struct file_stream **out, struct nb_error *err)
{
    struct file_stream *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->name = strdup(b->stream ? b->stream : "default");
    s->path = expand_path(d->path_template, s->name, d->run_start);
    if (!s->name || !s->path) { stream_free(s); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    for (struct file_stream *o = d->streams; o; o = o->next) {
        if (strcmp(o->path, s->path) == 0) {
            nb_error_set(err, NB_ERR_CONFIG,
                         "streams '%s' and '%s' would both be written to %s: put {stream} in the destination path",
                         o->name, s->name, s->path);
            stream_free(s);
            return NB_ERR_CONFIG;
        }
    }
    uint64_t resume_len = 0, resume_rows = 0;
    const struct nb_stream_state *st = nb_context_state(d->ctx, s->name);
    char *previous = st && !st->done ? saved_path(st->destination_state) : NULL;
    if (previous) {
        free(s->path);
        s->path = previous;
    }
    /* A continuing source (incremental, CDC) after an earlier run finished this file: writing it
     * again would replace that run's rows. */
    if (st && st->done && d->args.opener == default_opener && access(s->path, F_OK) == 0) {
        nb_error_set(err, NB_ERR_CONFIG,
                     "%s holds the output of an earlier run of stream '%s': put {run_id} in the destination path "
                     "so each run writes a new file, or move the file away", s->path, s->name);
        stream_free(s);
        return NB_ERR_CONFIG;
    }
    enum nb_codec codec = d->codec_auto ? nb_codec_from_path(s->path) : d->codec;
    bool resuming = d->args.format->resumable && !d->args.whole_objects && st &&
                    parse_resume(st->destination_state, s->path, &resume_len, &resume_rows) && resume_len > 0;
    nb_status rc = d->args.opener(d->args.opener_ctx, s->path, codec, d->level, resuming ? resume_len : 0, &s->os, err);
    if (rc != NB_OK) { stream_free(s); return rc; }
    if (resuming) {
        s->rows = resume_rows;
        NB_INFO("destination", "resuming %s at byte %llu (%llu rows already written)", s->path,
                (unsigned long long)resume_len, (unsigned long long)resume_rows);
    }
    struct nb_format_resume fr = {resuming, resume_rows};
    s->schema = nb_schema_retain(b->schema);
    rc = d->args.format->writer_open(&s->writer, d->format_options, s->os, b->schema, &fr, err);
    if (rc != NB_OK) {
        s->os->ops->abort(s->os, false);
        nb_ostream_destroy(s->os);
        stream_free(s);
        return nb_error_prefix(err, "%s: ", b->stream ? b->stream : "");
    }
    s->next = d->streams;
    d->streams = s;
    *out = s;
    return NB_OK;
}

nb_status nb_file_dest_encode(void *self, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err)
{
    struct file_dest *d = self;
    if (!d->args.format->encode) return NB_DONE;  /* the writer encodes in write() */
    return d->args.format->encode(d->format_options, b, out, err);
}

nb_status nb_file_dest_write(void *self, const struct nb_batch *b, const struct nb_buf *encoded, struct nb_error *err)
{
    struct file_dest *d = self;
    struct file_stream *s = find_stream(d, b->stream ? b->stream : "default");
    if (!s) {
        nb_status rc = open_stream(d, b, &s, err);
        if (rc != NB_OK) return rc;
    }
    if (b->n_rows == 0 && !encoded) return NB_OK;
    nb_status rc = d->args.format->writer_write(s->writer, b, encoded, err);
    if (rc != NB_OK) return nb_error_prefix(err, "writing %s: ", s->path);
    s->rows += b->n_rows;
    return NB_OK;
}

nb_status nb_file_dest_commit(void *self, const char *stream, struct nb_buf *dest_state, struct nb_error *err)
{
    struct file_dest *d = self;
    struct file_stream *s = find_stream(d, stream);
    if (!s) return NB_OK;
    /* A format that cannot be resumed mid-file is only durable when the file is finished. */
    if (!d->args.format->resumable || d->args.whole_objects) return NB_AGAIN;
    nb_status rc = d->args.format->writer_flush ? d->args.format->writer_flush(s->writer, err) : NB_OK;
    uint64_t len = 0;
    if (rc == NB_OK) rc = s->os->ops->checkpoint(s->os, &len, err);
    if (rc != NB_OK) return nb_error_prefix(err, "checkpointing %s: ", s->path);
    nb_buf_puts(dest_state, "{\"path\":");
    nb_buf_json_string(dest_state, s->path, strlen(s->path));
    nb_buf_printf(dest_state, ",\"length\":%llu,\"rows\":%llu}", (unsigned long long)len, (unsigned long long)s->rows);
    return nb_buf_status(dest_state, err);
}

static void unlink_stream(struct file_dest *d, struct file_stream *s)
{
    for (struct file_stream **pp = &d->streams; *pp; pp = &(*pp)->next) {
        if (*pp == s) { *pp = s->next; break; }
    }
}

nb_status nb_file_dest_end_stream(void *self, const char *stream, struct nb_error *err)
{
    struct file_dest *d = self;
    struct file_stream *s = find_stream(d, stream);
    if (!s) return NB_OK;
    nb_status rc = d->args.format->writer_finish(s->writer, err);
    if (rc == NB_OK) rc = s->os->ops->finish(s->os, err);
    if (rc != NB_OK) {
        nb_error_prefix(err, "finishing %s: ", s->path);
        return rc;   /* close() aborts it */
    }
    NB_DEBUG("destination", "wrote %s (%llu rows)", s->path, (unsigned long long)s->rows);
    d->args.format->writer_destroy(s->writer);
    nb_ostream_destroy(s->os);
    unlink_stream(d, s);
    stream_free(s);
    return NB_OK;
}

void nb_file_dest_close(void *self, bool success, bool keep_partial)
{
    struct file_dest *d = self;
    if (!d) return;
    struct file_stream *s = d->streams;
    while (s) {
        struct file_stream *next = s->next;
        /* Streams still open here did not finish: never leave them looking complete. */
        if (s->writer) d->args.format->writer_destroy(s->writer);
        s->os->ops->abort(s->os, keep_partial && d->args.format->resumable && !d->args.whole_objects);
        nb_ostream_destroy(s->os);
        stream_free(s);
        s = next;
    }
    (void)success;
    if (d->format_options && d->args.format->options_destroy) d->args.format->options_destroy(d->format_options);
    free(d);
}
