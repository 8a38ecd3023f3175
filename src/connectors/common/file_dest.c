/* The file destination shared by csv/json/parquet/avro (and object stores through an opener):
 * outputs per stream (one, or one per rotation), written under a partial name, checkpointed and
 * resumed by length, rotated at checkpoints with the finished files recorded in the state. */
#include "connectors/common/file_dest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

const struct nb_config_key nb_file_dest_rotate_keys[] = {
    {"rotate_rows", NB_KEY_INT, "0", NULL, 0,
     "start a new file once the current one holds this many rows (0 = never); checked at each checkpoint"},
    {"rotate_bytes", NB_KEY_SIZE, NULL, NULL, 0,
     "start a new file once the current one has this many bytes written (e.g. 512MiB); checked at each checkpoint"},
    {"rotate_interval", NB_KEY_DURATION, NULL, NULL, 0,
     "start a new file once the current one has been open this long (e.g. 1h); checked at each checkpoint"},
    {NULL},
};

const struct nb_config_key nb_file_dest_path_key[] = {
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED,
     "output file; {stream} is the stream name (needed when the source has several streams), {run_id} "
     "a new name per run (for incremental and CDC sources), {date} {yyyy} {mm} {dd} {hh} the run's start (UTC), "
     "{seq} the file's number (00000, 00001, ...: added before the extension when rotating without it)"},
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_file_dest_rotate_keys},
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
    /* The path with every part but {seq} expanded. Saved in the state so a resumed run names its
     * files exactly as the interrupted one did (same {run_id}, same date parts). */
    char *base;
    char *path;              /* the current output; NULL between a rotation and the next row */
    struct nb_ostream *os;
    void *writer;
    struct nb_schema *schema;
    uint64_t rows;           /* rows in the current output, including those of a resumed partial file */
    uint64_t resumed_bytes;  /* bytes of a resumed partial file (the stream's counters start at 0) */
    uint64_t opened_ms;      /* when the current output was opened (rotate_interval) */
    uint64_t files;          /* outputs of this stream finished, this run and the runs it resumes */
    unsigned seq;            /* {seq} of the current (or next) output */
    bool replace;            /* resumed: outputs may replace a copy the interrupted run finished
                              * after its last checkpoint (the state says it is not complete) */
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
    uint64_t rotate_rows, rotate_bytes, rotate_ms;   /* 0 = not by that measure */
    uint64_t bytes_finished;     /* bytes of the outputs finished by this run */
    struct file_stream *streams;
};

static bool rotating(const struct file_dest *d) { return d->rotate_rows || d->rotate_bytes || d->rotate_ms; }

static nb_status default_opener(void *ctx, const char *path, enum nb_codec codec, int level, uint64_t resume_len,
                                bool replace, struct nb_ostream **out, struct nb_error *err)
{
    (void)ctx;
    (void)replace;   /* a local file is renamed over its final name: replacing is what happens anyway */
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
    int64_t rr = nb_cfg_int(ctx->config, "rotate_rows", 0);
    if (rr < 0) {
        free(d);
        return nb_error_set(err, NB_ERR_CONFIG, "destination: rotate_rows must be 0 (off) or more (got %lld)", (long long)rr);
    }
    d->rotate_rows = (uint64_t)rr;
    d->rotate_bytes = nb_cfg_size(ctx->config, "rotate_bytes", 0);
    d->rotate_ms = nb_cfg_duration_ms(ctx->config, "rotate_interval", 0);
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
    free(s->base);
    free(s->path);
    nb_schema_release(s->schema);
    free(s);
}

/* When rotating, every name must differ: a template without {seq} gets "-{seq}" before the
 * extension of its last component ("out/users.csv.gz" -> "out/users-{seq}.csv.gz"), so the
 * format and codec are still told by the extension. */
static char *with_seq(char *path)
{
    if (strstr(path, "{seq}")) return path;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *dot = name[0] ? strchr(name + 1, '.') : NULL;
    size_t at = dot ? (size_t)(dot - path) : strlen(path);
    struct nb_buf b;
    nb_buf_init(&b);
    nb_buf_append(&b, path, at);
    nb_buf_puts(&b, "-{seq}");
    nb_buf_puts(&b, path + at);
    free(path);
    if (b.oom) { nb_buf_cleanup(&b); return NULL; }
    return nb_buf_detach(&b, NULL);
}

/* base with {seq} replaced by the output's number. */
static char *seq_path(const char *base, unsigned seq)
{
    char num[16];
    snprintf(num, sizeof num, "%05u", seq);
    struct nb_buf b;
    nb_buf_init(&b);
    for (const char *p = base; *p;) {
        if (strncmp(p, "{seq}", 5) == 0) { nb_buf_puts(&b, num); p += 5; }
        else nb_buf_putc(&b, *p++);
    }
    if (b.oom) { nb_buf_cleanup(&b); return NULL; }
    return nb_buf_detach(&b, NULL);
}

/* What commit() saved: {"base":..,"seq":N,"files":F} and, mid-file for a resumable format,
 * "path","length","rows" of the partial output. Older states have only path/length/rows. */
struct saved {
    char *base, *path;
    int64_t seq, files, length, rows;
    bool has_seq, has_partial;
};

static void saved_parse(const char *state, struct saved *sv)
{
    memset(sv, 0, sizeof *sv);
    if (!state) return;
    struct nb_arena a;
    nb_arena_init(&a, 4096);
    struct nb_json *j = NULL;
    if (nb_json_parse(state, strlen(state), &a, &j, NULL) == NB_OK) {
        const char *b = nb_json_get_string(j, "base"), *p = nb_json_get_string(j, "path");
        if (b) sv->base = strdup(b);
        if (p) sv->path = strdup(p);
        sv->has_seq = nb_json_get_i64(j, "seq", &sv->seq) && sv->seq >= 0 && sv->seq < 100000000;
        if (!nb_json_get_i64(j, "files", &sv->files) || sv->files < 0) sv->files = 0;
        sv->has_partial = p && nb_json_get_i64(j, "length", &sv->length) && nb_json_get_i64(j, "rows", &sv->rows) &&
                          sv->length > 0 && sv->rows >= 0;
    }
    nb_arena_cleanup(&a);
}

static void saved_cleanup(struct saved *sv)
{
    free(sv->base);
    free(sv->path);
}

/* The stream's naming and numbering, continued from its saved state when there is one. */
static nb_status new_stream(struct file_dest *d, const char *name, struct saved *sv, struct file_stream **out,
                            struct nb_error *err)
{
    struct file_stream *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->name = strdup(name);
    s->base = expand_path(d->path_template, name, d->run_start);
    if (s->base && rotating(d)) s->base = with_seq(s->base);
    if (!s->name || !s->base) { stream_free(s); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    for (struct file_stream *o = d->streams; o; o = o->next) {
        if (strcmp(o->base, s->base) == 0) {
            nb_error_set(err, NB_ERR_CONFIG,
                         "streams '%s' and '%s' would both be written to %s: put {stream} in the destination path",
                         o->name, s->name, s->base);
            stream_free(s);
            return NB_ERR_CONFIG;
        }
    }
    const struct nb_stream_state *st = nb_context_state(d->ctx, s->name);
    if (st && !st->done) {
        saved_parse(st->destination_state, sv);
        /* A resume continues the interrupted run's names even when the template has a {run_id}
         * or date part; an older state knew only the partial file's path. */
        char *keep = sv->base ? sv->base : sv->path;
        if (keep) {
            free(s->base);
            s->base = keep;
            if (keep == sv->base) sv->base = NULL; else sv->path = NULL;
            if (!sv->has_partial) { free(sv->path); sv->path = NULL; }
            else if (!sv->path && !(sv->path = seq_path(s->base, (unsigned)sv->seq))) {
                stream_free(s);
                return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            }
        }
        s->seq = sv->has_seq ? (unsigned)sv->seq : 0;
        s->files = (uint64_t)sv->files;
        s->replace = true;
    }
    s->next = d->streams;
    d->streams = s;
    *out = s;
    return NB_OK;
}

/* Open the stream's output number s->seq (resuming the partial one the state names, if any). */
static nb_status open_output(struct file_dest *d, struct file_stream *s, const struct nb_batch *b, struct saved *sv,
                             struct nb_error *err)
{
    s->path = seq_path(s->base, s->seq);
    if (!s->path) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    const struct nb_stream_state *st = nb_context_state(d->ctx, s->name);
    /* A continuing source (incremental, CDC) after an earlier run finished this file: writing it
     * again would replace that run's rows. */
    if (st && st->done && d->args.opener == default_opener && access(s->path, F_OK) == 0) {
        return nb_error_set(err, NB_ERR_CONFIG,
                            "%s holds the output of an earlier run of stream '%s': put {run_id} in the destination path "
                            "so each run writes a new file, or move the file away", s->path, s->name);
    }
    enum nb_codec codec = d->codec_auto ? nb_codec_from_path(s->path) : d->codec;
    bool resuming = sv && sv->has_partial && d->args.format->resumable && !d->args.whole_objects && sv->path &&
                    strcmp(sv->path, s->path) == 0;
    uint64_t resume_len = resuming ? (uint64_t)sv->length : 0, resume_rows = resuming ? (uint64_t)sv->rows : 0;
    nb_status rc = d->args.opener(d->args.opener_ctx, s->path, codec, d->level, resume_len, s->replace, &s->os, err);
    if (rc != NB_OK) return rc;
    s->rows = resume_rows;
    s->resumed_bytes = resume_len;
    s->opened_ms = nb_mono_ms();
    if (resuming)
        NB_INFO("destination", "resuming %s at byte %llu (%llu rows already written)", s->path,
                (unsigned long long)resume_len, (unsigned long long)resume_rows);
    struct nb_format_resume fr = {resuming, resume_rows};
    nb_schema_release(s->schema);
    s->schema = nb_schema_retain(b->schema);
    rc = d->args.format->writer_open(&s->writer, d->format_options, s->os, b->schema, &fr, err);
    if (rc != NB_OK) {
        s->writer = NULL;
        s->os->ops->abort(s->os, false);
        nb_ostream_destroy(s->os);
        s->os = NULL;
        return nb_error_prefix(err, "%s: ", b->stream ? b->stream : "");
    }
    return NB_OK;
}

static void drop_output(struct file_stream *s)
{
    free(s->path);
    s->path = NULL;
    s->os = NULL;
    s->writer = NULL;
    s->rows = 0;
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
    const char *name = b->stream ? b->stream : "default";
    struct file_stream *s = find_stream(d, name);
    if (!s || !s->writer) {
        /* After a rotation the next output waits for a row: a stream never ends on an empty file
         * it did not need. Its first output is opened even empty (a header-only CSV is an answer). */
        if (s && b->n_rows == 0 && !encoded) return NB_OK;
        struct saved sv;
        memset(&sv, 0, sizeof sv);
        nb_status rc = s ? NB_OK : new_stream(d, name, &sv, &s, err);
        if (rc == NB_OK) rc = open_output(d, s, b, &sv, err);
        saved_cleanup(&sv);
        if (rc != NB_OK) {
            if (s) drop_output(s);
            return rc;
        }
    }
    if (b->n_rows == 0 && !encoded) return NB_OK;
    nb_status rc = d->args.format->writer_write(s->writer, b, encoded, err);
    if (rc != NB_OK) return nb_error_prefix(err, "writing %s: ", s->path);
    s->rows += b->n_rows;
    return NB_OK;
}

/* Finish the current output: footer, rename or upload completion. It is complete on its own. */
static nb_status finish_output(struct file_dest *d, struct file_stream *s, struct nb_error *err)
{
    nb_status rc = d->args.format->writer_finish(s->writer, err);
    if (rc == NB_OK) rc = s->os->ops->finish(s->os, err);
    if (rc != NB_OK) return nb_error_prefix(err, "finishing %s: ", s->path);
    NB_DEBUG("destination", "wrote %s (%llu rows)", s->path, (unsigned long long)s->rows);
    d->bytes_finished += s->os->bytes_out;
    d->args.format->writer_destroy(s->writer);
    nb_ostream_destroy(s->os);
    drop_output(s);
    s->files++;
    s->seq++;
    return NB_OK;
}

static bool rotation_due(const struct file_dest *d, const struct file_stream *s)
{
    if (!s->writer || s->rows == 0) return false;
    return (d->rotate_rows && s->rows >= d->rotate_rows) ||
           (d->rotate_bytes && s->resumed_bytes + s->os->bytes_out >= d->rotate_bytes) ||
           (d->rotate_ms && nb_mono_ms() - s->opened_ms >= d->rotate_ms);
}

/* What reached the files (or uploads) this run, after compression: the summary's "out". */
uint64_t nb_file_dest_bytes_written(void *self)
{
    struct file_dest *d = self;
    uint64_t n = d->bytes_finished;
    for (const struct file_stream *s = d->streams; s; s = s->next)
        if (s->os) n += s->os->bytes_out;
    return n;
}

/* A rotation limit reached: ask the engine for a checkpoint now, so files hold the rows asked for
 * (to the batch), not whatever a flush_interval adds. */
bool nb_file_dest_wants_commit(void *self, const char *stream)
{
    struct file_dest *d = self;
    struct file_stream *s = rotating(d) ? find_stream(d, stream) : NULL;
    return s && rotation_due(d, s);
}

/* Rotation happens here, at a checkpoint, and nowhere else: the engine saves the source position
 * of the last row written together with the state returned now, so "files before seq are
 * complete" and "the source resumes after their last row" are recorded in one atomic save. A
 * crash before that save leaves the previous state, whose run rewrites (replaces) this file. */
nb_status nb_file_dest_commit(void *self, const char *stream, struct nb_buf *dest_state, struct nb_error *err)
{
    struct file_dest *d = self;
    struct file_stream *s = find_stream(d, stream);
    if (!s) return NB_OK;
    bool rotated = false;
    if (rotating(d) && rotation_due(d, s)) {
        nb_status rc = finish_output(d, s, err);
        if (rc != NB_OK) return rc;
        rotated = true;
    }
    bool partial = s->writer && d->args.format->resumable && !d->args.whole_objects;
    /* A format that cannot be resumed mid-file is only durable when the file is finished. */
    if (!rotated && !partial) return NB_AGAIN;
    uint64_t len = 0;
    if (partial) {
        nb_status rc = d->args.format->writer_flush ? d->args.format->writer_flush(s->writer, err) : NB_OK;
        if (rc == NB_OK) rc = s->os->ops->checkpoint(s->os, &len, err);
        if (rc != NB_OK) return nb_error_prefix(err, "checkpointing %s: ", s->path);
    }
    nb_buf_puts(dest_state, "{\"base\":");
    nb_buf_json_string(dest_state, s->base, strlen(s->base));
    nb_buf_printf(dest_state, ",\"seq\":%u,\"files\":%llu", s->seq, (unsigned long long)s->files);
    if (partial) {
        nb_buf_puts(dest_state, ",\"path\":");
        nb_buf_json_string(dest_state, s->path, strlen(s->path));
        nb_buf_printf(dest_state, ",\"length\":%llu,\"rows\":%llu", (unsigned long long)len, (unsigned long long)s->rows);
    }
    nb_buf_putc(dest_state, '}');
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
    if (s->writer) {
        nb_status rc = finish_output(d, s, err);
        if (rc != NB_OK) return rc;   /* close() aborts it */
    }
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
        /* Outputs still open here did not finish: never leave them looking complete. */
        if (s->writer) d->args.format->writer_destroy(s->writer);
        if (s->os) {
            s->os->ops->abort(s->os, keep_partial && d->args.format->resumable && !d->args.whole_objects);
            nb_ostream_destroy(s->os);
        }
        stream_free(s);
        s = next;
    }
    (void)success;
    if (d->format_options && d->args.format->options_destroy) d->args.format->options_destroy(d->format_options);
    free(d);
}
