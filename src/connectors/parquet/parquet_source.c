/* The `parquet` source: Parquet files (a local path or glob, or objects when s3/gcs compose it over
 * their listing and ranged reads) read by the format's reader, one stream for all files or one per file. Batches are filled on the reader thread (the reader decodes
 * columns, there is no text left for workers to parse). A position is file + row group + row, so a
 * killed run resumes at the last committed batch. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/common/file_source.h"
#include "connectors/connector.h"
#include "connectors/parquet/parquet_source.h"
#include "core/json.h"
#include "core/log.h"
#include "formats/parquet/reader.h"
#include "io/stream.h"

static const struct nb_config_key parquet_source_keys[] = {
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED,
     "input file or glob (*, ?, [..], ** for any depth); files are read in sorted order", NULL},
    {"stream", NB_KEY_STRING, NULL, NULL, 0, "stream name (default: the first file's base name without extension)", NULL},
    {"stream_per_file", NB_KEY_BOOL, "false", NULL, 0,
     "one stream per file, named by its base name (default: one stream for all matched files, which must share "
     "their columns)", NULL},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

struct pq_stream {
    char *name;
    size_t first, count;          /* its files */
    struct nb_schema *schema;     /* from its first file, once read */
    bool resuming;
    size_t resume_file, resume_rg;
    uint64_t resume_row;
};

/* The open file: a local descriptor, or a name in an object store (ctx->files) read by ranged reads. */
struct local_file {
    int fd;
    const char *path;
    const struct nb_file_access *fa;
};

struct parquet_source {
    const struct nb_context *ctx;
    char **files;
    uint64_t *sizes;
    size_t n_files;
    uint64_t total_size, done_size;
    struct pq_stream *streams;
    size_t n_streams;
    size_t batch_size;
    /* reading */
    size_t cur_stream, cur_file;  /* cur_file: index within the stream */
    struct local_file lf;
    struct nb_pq_reader *reader;
    bool done;
};

/* One ranged read per call: the reader asks for the footer, then whole column chunks, so the
 * requests are few and large. */
static nb_status store_read_at(struct local_file *f, uint64_t offset, void *dst, size_t n, struct nb_error *err)
{
    struct nb_istream *in = NULL;
    nb_status rc = f->fa->open(f->fa->ctx, f->path, NB_CODEC_NONE, false, offset, &in, err);
    if (rc != NB_OK) return nb_error_prefix(err, "parquet source: ");
    size_t got = 0;
    while (got < n && rc == NB_OK) {
        size_t k = 0;
        rc = nb_istream_read(in, (char *)dst + got, n - got, &k, err);
        got += k;
        if (rc == NB_DONE || (rc == NB_OK && k == 0)) break;
    }
    nb_istream_destroy(in);
    if (rc != NB_OK && rc != NB_DONE) return nb_error_prefix(err, "parquet source: %s at offset %llu: ", f->path,
                                                             (unsigned long long)offset);
    if (got < n)
        return nb_error_set(err, NB_ERR_INVALID, "%s: object ends at offset %llu, inside data its footer points to",
                            f->path, (unsigned long long)(offset + got));
    return NB_OK;
}

static nb_status local_read_at(void *ctx, uint64_t offset, void *dst, size_t n, struct nb_error *err)
{
    struct local_file *f = ctx;
    if (f->fa) return store_read_at(f, offset, dst, n, err);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(f->fd, (char *)dst + got, n - got, (off_t)(offset + got));
        if (r < 0) {
            if (errno == EINTR) continue;
            return nb_error_set(err, NB_ERR_IO, "%s: read at offset %llu failed: %s", f->path,
                                (unsigned long long)(offset + got), strerror(errno));
        }
        if (r == 0)
            return nb_error_set(err, NB_ERR_INVALID, "%s: file ends at offset %llu, inside data its footer points to "
                                "(truncated while read?)", f->path, (unsigned long long)(offset + got));
        got += (size_t)r;
    }
    return NB_OK;
}

static void close_reader(struct parquet_source *s)
{
    nb_pq_reader_destroy(s->reader);
    s->reader = NULL;
    if (s->lf.fd >= 0) close(s->lf.fd);
    s->lf.fd = -1;
    s->lf.fa = NULL;
}

/* Open file i (an index into s->files) with a reader on it. */
static nb_status open_reader(struct parquet_source *s, size_t i, struct nb_error *err)
{
    close_reader(s);
    const char *path = s->files[i];
    if (s->ctx->files) {
        s->lf.fa = s->ctx->files;
        s->lf.path = path;
        struct nb_pq_input in = {&s->lf, local_read_at, s->sizes[i], path};
        nb_status rc = s->sizes[i] ? nb_pq_reader_open(&s->reader, &in, err)
                                   : nb_error_set(err, NB_ERR_INVALID, "%s: not a Parquet file (0 bytes)", path);
        if (rc != NB_OK) close_reader(s);
        return rc;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return nb_error_set(err, e == ENOENT ? NB_ERR_NOT_FOUND : NB_ERR_IO, "parquet source: cannot open %s: %s", path,
                            strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return nb_error_set(err, NB_ERR_IO, "parquet source: cannot stat %s: %s", path, strerror(e));
    }
    s->lf.fd = fd;
    s->lf.path = path;
    struct nb_pq_input in = {&s->lf, local_read_at, (uint64_t)st.st_size, path};
    nb_status rc = nb_pq_reader_open(&s->reader, &in, err);
    if (rc != NB_OK) {
        close_reader(s);
        return rc;
    }
    return NB_OK;
}

static void source_close(void *self)
{
    struct parquet_source *s = self;
    if (!s) return;
    close_reader(s);
    for (size_t i = 0; i < s->n_streams; i++) {
        free(s->streams[i].name);
        nb_schema_release(s->streams[i].schema);
    }
    free(s->streams);
    nb_paths_free(s->files, s->n_files);
    free(s->sizes);
    free(s);
}

/* The saved position {"file":..,"row_group":..,"row":..} of a stream, if any. */
static nb_status load_resume(struct parquet_source *s, struct pq_stream *st, struct nb_error *err)
{
    static const char *const keys[] = {"row_group", "row"};
    int64_t v[2] = {0, 0};
    size_t idx;
    nb_status rc = nb_file_position_load(s->ctx, st->name, (const char *const *)&s->files[st->first], st->count, keys, 2, 2,
                                         &idx, v, err);
    if (rc != NB_OK || idx == st->count) return rc;
    st->resuming = true;
    st->resume_file = idx;
    st->resume_rg = (size_t)v[0];
    st->resume_row = (uint64_t)v[1];
    NB_INFO("parquet", "resuming stream %s in %s at row group %lld, row %lld", st->name, s->files[st->first + idx],
            (long long)v[0], (long long)v[1]);
    return NB_OK;
}

static nb_status source_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    struct parquet_source *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->ctx = ctx;
    s->lf.fd = -1;
    nb_status rc;
    const char *path = nb_cfg_string(ctx->config, "path", NULL);
    if (!path || !*path) {
        rc = nb_error_set(err, NB_ERR_CONFIG, "parquet source: 'path' is required");
        goto fail;
    }
    if ((rc = nb_file_list(ctx, path, &s->files, &s->sizes, &s->n_files, err)) != NB_OK) {
        nb_error_prefix(err, "parquet source: ");
        goto fail;
    }
    bool per_file = nb_cfg_bool(ctx->config, "stream_per_file", false);
    s->n_streams = per_file ? s->n_files : 1;
    s->streams = calloc(s->n_streams ? s->n_streams : 1, sizeof *s->streams);
    if (!s->sizes || !s->streams) {
        rc = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < s->n_files; i++) s->total_size += s->sizes[i];
    const char *stream = nb_cfg_string(ctx->config, "stream", NULL);
    for (size_t i = 0; i < s->n_streams; i++) {
        struct pq_stream *st = &s->streams[i];
        st->first = per_file ? i : 0;
        st->count = per_file ? 1 : s->n_files;
        char name[1024];
        bool named = !per_file && stream && *stream;
        if (!named) nb_file_stream_name(s->files[st->first], name, sizeof name);
        st->name = strdup(named ? stream : name);
        if (!st->name) {
            rc = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            goto fail;
        }
        if ((rc = load_resume(s, st, err)) != NB_OK) goto fail;
    }
    s->batch_size = ctx->options && ctx->options->batch_size ? ctx->options->batch_size : 10000;
    *self = s;
    return NB_OK;
fail:
    source_close(s);
    return rc;
}

/* A stream's schema is its first file's; every later file must have the same columns. */
static nb_status check_schema(struct parquet_source *s, struct pq_stream *st, size_t file, struct nb_error *err)
{
    struct nb_schema *sc = nb_pq_reader_schema(s->reader);
    if (!st->schema) {
        st->schema = nb_schema_retain(sc);
        return NB_OK;
    }
    if (nb_schema_equal(st->schema, sc)) return NB_OK;
    return nb_error_set(err, NB_ERR_INVALID,
                        "parquet source: %s has other columns than %s, the first file of stream '%s'; read them as "
                        "separate streams (stream_per_file: true) or give a path that matches files of one layout",
                        s->files[file], s->files[st->first], st->name);
}

static nb_status ensure_schema(struct parquet_source *s, struct pq_stream *st, struct nb_error *err)
{
    if (st->schema) return NB_OK;
    nb_status rc = open_reader(s, st->first, err);
    if (rc != NB_OK) return rc;
    rc = check_schema(s, st, st->first, err);
    close_reader(s);
    return rc;
}

static nb_status source_check(void *self, struct nb_error *err)
{
    struct parquet_source *s = self;
    for (size_t i = 0; i < s->n_files; i++) {
        nb_status rc = open_reader(s, i, err);
        close_reader(s);
        if (rc != NB_OK) return rc;
    }
    return NB_OK;
}

static nb_status source_discover(void *self, struct nb_buf *json, struct nb_error *err)
{
    struct parquet_source *s = self;
    nb_buf_puts(json, "{\"streams\":[");
    for (size_t i = 0; i < s->n_streams; i++) {
        struct pq_stream *st = &s->streams[i];
        nb_status rc = ensure_schema(s, st, err);
        if (rc != NB_OK) return rc;
        if (i) nb_buf_putc(json, ',');
        nb_buf_puts(json, "{\"name\":");
        nb_buf_json_string(json, st->name, strlen(st->name));
        nb_buf_puts(json, ",\"files\":[");
        for (size_t f = 0; f < st->count; f++) {
            if (f) nb_buf_putc(json, ',');
            nb_buf_json_string(json, s->files[st->first + f], strlen(s->files[st->first + f]));
        }
        nb_buf_puts(json, "],\"schema\":");
        nb_schema_to_json(st->schema, json);
        nb_buf_putc(json, '}');
    }
    nb_buf_puts(json, "]}");
    return nb_buf_status(json, err);
}

static nb_status set_meta(struct parquet_source *s, struct pq_stream *st, struct nb_batch *b, struct nb_error *err)
{
    size_t rg = 0;
    uint64_t row = 0;
    if (s->reader) nb_pq_reader_tell(s->reader, &rg, &row);
    const char *file = s->files[st->first + s->cur_file];
    struct nb_buf pos;
    nb_buf_init(&pos);
    nb_buf_puts(&pos, "{\"file\":");
    nb_buf_json_string(&pos, file, strlen(file));
    nb_buf_printf(&pos, ",\"row_group\":%zu,\"row\":%llu}", rg, (unsigned long long)row);
    nb_status rc = nb_buf_status(&pos, err);
    if (rc == NB_OK) {
        b->position = nb_arena_strndup(&b->arena, pos.data, pos.len);
        b->stream = nb_arena_strdup(&b->arena, st->name);
        b->source_name = nb_arena_strdup(&b->arena, file);
        if (!b->position || !b->stream || !b->source_name) rc = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    nb_buf_cleanup(&pos);
    return rc;
}

/* Open the stream's current file, at the resume point when there is one. */
static nb_status open_current(struct parquet_source *s, struct pq_stream *st, struct nb_error *err)
{
    size_t f = st->first + s->cur_file;
    nb_status rc = open_reader(s, f, err);
    if (rc != NB_OK) return rc;
    if ((rc = check_schema(s, st, f, err)) != NB_OK) return rc;
    if (st->resuming && s->cur_file == st->resume_file) {
        st->resuming = false;
        rc = nb_pq_reader_seek(s->reader, st->resume_rg, st->resume_row, err);
        if (rc != NB_OK)
            return nb_error_prefix(err, "parquet source: cannot resume stream '%s' (delete the state file to start over): ",
                                   st->name);
    }
    return NB_OK;
}

static nb_status source_read(void *self, struct nb_batch **out, struct nb_error *err)
{
    struct parquet_source *s = self;
    nb_status rc;
    for (;;) {
        if (s->done || s->cur_stream >= s->n_streams) return NB_DONE;
        if (nb_context_cancelled(s->ctx)) return nb_error_set(err, NB_ERR_CANCELLED, "parquet source: cancelled");
        struct pq_stream *st = &s->streams[s->cur_stream];
        if (st->resuming && s->cur_file < st->resume_file) {
            for (size_t i = 0; i < st->resume_file; i++) s->done_size += s->sizes[st->first + i];
            s->cur_file = st->resume_file;
        }
        if (!s->reader && (rc = open_current(s, st, err)) != NB_OK) return rc;
        struct nb_batch *b = nb_pq_reader_batch_create(s->reader, s->batch_size);
        if (!b) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        rc = nb_pq_reader_next(s->reader, b, s->batch_size, err);
        if (rc != NB_OK && rc != NB_DONE) {
            nb_batch_destroy(b);
            return rc;
        }
        size_t rg;
        uint64_t row;
        nb_pq_reader_tell(s->reader, &rg, &row);
        bool file_end = rc == NB_DONE || rg >= nb_pq_reader_row_groups(s->reader);
        bool last_file = s->cur_file + 1 >= st->count;
        if (rc == NB_DONE && !last_file) {   /* nothing left in this file: on to the next */
            nb_batch_destroy(b);
            s->done_size += s->sizes[st->first + s->cur_file];
            close_reader(s);
            s->cur_file++;
            continue;
        }
        if ((rc = set_meta(s, st, b, err)) != NB_OK) {
            nb_batch_destroy(b);
            return rc;
        }
        if (file_end) {
            s->done_size += s->sizes[st->first + s->cur_file];
            close_reader(s);
            if (last_file) {
                b->end_of_stream = true;
                s->cur_stream++;
                s->cur_file = 0;
            } else {
                s->cur_file++;
            }
        }
        *out = b;
        return NB_OK;
    }
}

static bool source_progress(void *self, uint64_t *done, uint64_t *total)
{
    struct parquet_source *s = self;
    uint64_t d = s->done_size;
    if (s->reader) {
        size_t rg, n = nb_pq_reader_row_groups(s->reader);
        uint64_t row;
        nb_pq_reader_tell(s->reader, &rg, &row);
        if (n) d += s->sizes[s->streams[s->cur_stream].first + s->cur_file] / n * rg;
    }
    *done = d;
    *total = s->total_size;
    return true;
}

const struct nb_source_ops nb_parquet_source_ops = {
    .spec = parquet_source_keys,
    .open = source_open,
    .check = source_check,
    .discover = source_discover,
    .read = source_read,
    .ack = NULL,
    .progress = source_progress,
    .close = source_close,
};
