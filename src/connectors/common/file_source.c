/* The shared file source (see file_source.h). Reads blocks into reference-counted buffers; every
 * batch points into the block its records live in (no copy) and drops its reference once decoded.
 * Only the tail of a block (a record cut by the block end) is copied into the next block. */
#include "connectors/common/file_source.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/log.h"

const struct nb_config_key nb_file_source_keys[] = {
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED,
     "input file or glob (*, ?, [..], ** for any depth); files are read in sorted order", NULL},
    {"stream", NB_KEY_STRING, NULL, NULL, 0,
     "stream name (default: the first file's base name without extensions)", NULL},
    {"stream_per_file", NB_KEY_BOOL, "false", NULL, 0,
     "one stream per file, named by its base name (default: one stream for all matched files)", NULL},
    {"compression", NB_KEY_ENUM, "auto", "auto|none|gzip|zstd|lz4|bzip2|xz|snappy", 0,
     "input compression; auto = by extension (.gz .zst .lz4 .bz2 .xz .sz)", NULL},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

/* Reads go into blocks of this size, and batches point into them. Blocks in use are most of the
 * reader's memory (the engine's window of batches spans several), and every fresh page costs a
 * fault (~8 us on a virtual machine): 1 MiB blocks cut a 1M-row run's page faults by a sixth
 * against 4 MiB ones, with no more read calls than a syscall's cost would notice. */
#define DEFAULT_BLOCK (1u << 20)
#define DEFAULT_MAX_RECORD (64u << 20)
#define MIN_READ (64u << 10)

/* ---- shared, reference-counted pieces ---------------------------------------------------- */

struct block {
    atomic_int refs;
    size_t cap, len;
    char *data;         /* storage below, or `adopted` */
    char *adopted;      /* a stream's sample buffer, taken over as its first block (freed with it) */
    char storage[];
};

#define SPARE_BLOCKS 4

struct shared {
    atomic_int refs;
    struct nb_file_format fmt;
    struct nb_bad_record_sink *sink;
    /* Blocks every batch let go of, kept for the next reads: a block is 4 MiB, and a fresh one
     * costs a page fault per 4 KiB (the allocator hands blocks this large straight from mmap).
     * Only blocks that were in use at once are kept, so this never raises the peak. */
    _Atomic(struct block *) spare[SPARE_BLOCKS];
};

static struct block *block_new(struct shared *sh, size_t cap)
{
    struct block *b = NULL;
    for (size_t i = 0; sh && !b && i < SPARE_BLOCKS; i++) {
        b = atomic_exchange(&sh->spare[i], NULL);
        if (b && b->cap != cap) {
            free(b);
            b = NULL;
        }
    }
    if (!b) b = malloc(sizeof *b + cap + 1);
    if (!b) return NULL;
    b->data = b->storage;
    b->adopted = NULL;
    atomic_init(&b->refs, 1);
    b->cap = cap;
    b->len = 0;
    return b;
}
/* A block over buf (len bytes used, room for cap), which it frees when let go. */
static struct block *block_adopt(char *buf, size_t len, size_t cap)
{
    struct block *b = malloc(sizeof *b);
    if (!b) return NULL;
    b->data = b->adopted = buf;
    b->cap = cap;
    b->len = len;
    atomic_init(&b->refs, 1);
    return b;
}
static void block_ref(struct block *b) { atomic_fetch_add(&b->refs, 1); }
static void block_unref(struct shared *sh, struct block *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1) return;
    if (b->adopted) {
        free(b->adopted);
        free(b);
        return;
    }
    for (size_t i = 0; sh && i < SPARE_BLOCKS; i++) {
        struct block *none = NULL;
        if (atomic_compare_exchange_strong(&sh->spare[i], &none, b)) return;
    }
    free(b);
}

static void shared_unref(struct shared *sh)
{
    if (sh && atomic_fetch_sub(&sh->refs, 1) == 1) {
        if (sh->fmt.ctx_free) sh->fmt.ctx_free(sh->fmt.ctx);
        for (size_t i = 0; i < SPARE_BLOCKS; i++) free(atomic_load(&sh->spare[i]));
        free(sh);
    }
}

struct batch_ctx {
    struct block *blk;
    struct shared *sh;
    struct nb_file_chunk chunk;
};

static void batch_raw_free(void *raw, void *opaque)
{
    (void)raw;
    struct batch_ctx *c = opaque;
    if (!c) return;
    block_unref(c->sh, c->blk);
    shared_unref(c->sh);
    free(c);
}

static nb_status batch_decode(struct nb_batch *b, struct nb_error *err)
{
    struct batch_ctx *c = b->decode_ctx;
    if (!c) return NB_OK;
    nb_status st = c->sh->fmt.decode(c->sh->fmt.ctx, &c->chunk, b, c->sh->sink, err);
    /* The raw bytes are no longer needed: let the block go as soon as possible. */
    b->raw = NULL;
    b->raw_len = 0;
    b->raw_free = NULL;
    b->raw_opaque = NULL;
    b->decode = NULL;
    b->decode_ctx = NULL;
    batch_raw_free(NULL, c);
    return st;
}

/* ---- streams and the reader ----------------------------------------------------------------- */

struct stream {
    char *name;
    size_t first, count;          /* its files: paths[first .. first+count) */
    struct nb_schema *schema;     /* built from the first file */
    bool started, finished;
    /* resume */
    size_t resume_file;           /* index within the stream */
    uint64_t resume_offset, resume_line, resume_row;
    /* The file the schema came from stays open with what was read of it, so a pipe or stdin is
     * read once and a regular file is not read twice at its start. */
    struct nb_istream *pre_in;
    char *pre_data;
    size_t pre_len, pre_cap, pre_index;
    bool pre_eof;
};

struct nb_file_source {
    const struct nb_context *ctx;
    struct nb_file_source_args args;
    struct shared *sh;
    char **paths;
    size_t n_paths;
    uint64_t *sizes;
    bool *regular;                 /* a regular file: a short read is not "no data for now" */
    struct stream *streams;
    size_t n_streams;
    size_t batch_size;
    /* reading */
    size_t cur_stream, cur_file;   /* cur_file: index within the stream */
    struct nb_istream *in;
    bool file_open, eof, preamble_done;
    bool short_read;               /* the last read of a pipe returned less than asked */
    bool cur_regular;
    size_t rescan_at;              /* a record spans the buffer: scan again once it holds this much */
    struct block *blk;
    size_t start, pos;             /* batch start and scan position in blk */
    size_t recs;                   /* records in [start, pos) */
    uint64_t lines_pending;        /* LFs in [start, pos) */
    uint64_t base_offset;          /* file offset of blk->data[0] */
    uint64_t line;                 /* LFs in the file before blk->data[start] */
    uint64_t rows;                 /* records of this stream before start */
    uint64_t done_bytes;           /* compressed bytes of files already finished */
};

static const char *path_of(const struct nb_file_source *s, const struct stream *st, size_t i)
{
    return s->paths[st->first + i];
}

void nb_file_stream_name(const char *path, char *out, size_t cap)
{
    if (strcmp(path, "-") == 0) {
        snprintf(out, cap, "stdin");
        return;
    }
    char tmp[4096];
    nb_path_strip_codec(path, tmp, sizeof tmp);
    const char *slash = strrchr(tmp, '/');
    const char *b = slash ? slash + 1 : tmp;
    snprintf(out, cap, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
    if (!*out) snprintf(out, cap, "stream");
}

nb_status nb_file_source_args_from_cfg(struct nb_file_source_args *args, const struct nb_cfg *cfg, struct nb_error *err)
{
    memset(args, 0, sizeof *args);
    args->path = nb_cfg_string(cfg, "path", NULL);
    if (!args->path || !*args->path) return nb_error_set(err, NB_ERR_CONFIG, "source: 'path' is required (a file or a glob)");
    args->stream = nb_cfg_string(cfg, "stream", NULL);
    if (args->stream && !*args->stream) args->stream = NULL;
    args->stream_per_file = nb_cfg_bool(cfg, "stream_per_file", false);
    const char *comp = nb_cfg_string(cfg, "compression", "auto");
    args->auto_codec = !comp || strcmp(comp, "auto") == 0;
    if (!args->auto_codec && nb_codec_parse(comp, &args->codec, err) != NB_OK)
        return nb_error_prefix(err, "source compression: ");
    return NB_OK;
}

void nb_file_source_close(struct nb_file_source *s)
{
    if (!s) return;
    nb_istream_destroy(s->in);
    block_unref(s->sh, s->blk);
    for (size_t i = 0; i < s->n_streams; i++) {
        free(s->streams[i].name);
        nb_schema_release(s->streams[i].schema);
        nb_istream_destroy(s->streams[i].pre_in);
        free(s->streams[i].pre_data);
    }
    free(s->streams);
    free(s->sizes);
    free(s->regular);
    if (s->paths) nb_paths_free(s->paths, s->n_paths);
    shared_unref(s->sh);
    free(s);
}

nb_status nb_file_list(const struct nb_context *ctx, const char *path, char ***files, uint64_t **sizes, size_t *n,
                       struct nb_error *err)
{
    if (ctx && ctx->files) return ctx->files->list(ctx->files->ctx, path, files, sizes, n, err);
    nb_status rc = nb_glob_files(path, files, n, err);
    if (rc != NB_OK) return rc;
    *sizes = calloc(*n ? *n : 1, sizeof **sizes);
    if (!*sizes) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < *n; i++) {
        struct stat sb;
        if (stat((*files)[i], &sb) == 0 && S_ISREG(sb.st_mode)) (*sizes)[i] = (uint64_t)sb.st_size;
    }
    return NB_OK;
}

nb_status nb_file_position_load(const struct nb_context *ctx, const char *stream, const char *const *files, size_t n,
                                const char *const *keys, size_t nkeys, size_t required, size_t *file, int64_t *values,
                                struct nb_error *err)
{
    *file = n;
    const struct nb_stream_state *ss = ctx ? nb_context_state(ctx, stream) : NULL;
    if (!ss || !ss->source_position || !*ss->source_position) return NB_OK;
    struct nb_arena a;
    nb_arena_init(&a, 4096);
    struct nb_json *v = NULL;
    nb_status rc = nb_json_parse(ss->source_position, strlen(ss->source_position), &a, &v, err);
    if (rc != NB_OK) {
        nb_arena_cleanup(&a);
        return nb_error_prefix(err, "saved position of stream '%s': ", stream);
    }
    const char *name = nb_json_get_string(v, "file");
    bool ok = name != NULL;
    for (size_t k = 0; ok && k < nkeys; k++) {
        int64_t x = 0;
        bool have = nb_json_get_i64(v, keys[k], &x);
        if (have) values[k] = x;
        if (k < required && (!have || x < 0)) ok = false;
    }
    if (!ok) {
        char want[128] = "";
        for (size_t k = 0; k < required; k++) {
            size_t l = strlen(want);
            snprintf(want + l, sizeof want - l, ",\"%s\"", keys[k]);
        }
        nb_arena_cleanup(&a);
        return nb_error_set(err, NB_ERR_CONFIG,
                            "saved position of stream '%s' is not a file position (want {\"file\"%s,...}); "
                            "remove the state file to start over", stream, want);
    }
    for (size_t i = 0; i < n && *file == n; i++)
        if (strcmp(files[i], name) == 0) *file = i;
    if (*file == n)
        rc = nb_error_set(err, NB_ERR_CONFIG,
                          "saved position of stream '%s' names %s, which the path no longer matches; "
                          "restore the file or remove the state file to start over", stream, name);
    nb_arena_cleanup(&a);
    return rc;
}

static nb_status parse_resume(struct nb_file_source *s, struct stream *st, struct nb_error *err)
{
    static const char *const keys[] = {"offset", "line", "row"};
    int64_t v[3] = {0, 0, 0};
    size_t idx;
    nb_status rc = nb_file_position_load(s->ctx, st->name, (const char *const *)&s->paths[st->first], st->count, keys, 3, 1,
                                         &idx, v, err);
    if (rc != NB_OK || idx == st->count) return rc;
    st->resume_file = idx;
    st->resume_offset = (uint64_t)v[0];
    st->resume_line = v[1] > 0 ? (uint64_t)v[1] : 0;
    st->resume_row = v[2] > 0 ? (uint64_t)v[2] : 0;
    return NB_OK;
}

nb_status nb_file_source_open(struct nb_file_source **out, const struct nb_context *ctx,
                              const struct nb_file_source_args *args, struct nb_error *err)
{
    *out = NULL;
    nb_status st;
    struct nb_file_source *s = calloc(1, sizeof *s);
    struct shared *sh = calloc(1, sizeof *sh);
    if (!s || !sh) {
        free(s);
        free(sh);
        if (args->format.ctx_free) args->format.ctx_free(args->format.ctx);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    atomic_init(&sh->refs, 1);
    sh->fmt = args->format;
    sh->sink = ctx ? ctx->bad : NULL;
    s->sh = sh;
    s->ctx = ctx;
    s->args = *args;
    if (!s->args.block_size) s->args.block_size = DEFAULT_BLOCK;
    if (!s->args.max_record_size) s->args.max_record_size = DEFAULT_MAX_RECORD;
    s->batch_size = ctx && ctx->options && ctx->options->batch_size ? ctx->options->batch_size : 10000;
    const struct nb_file_access *fa = ctx ? ctx->files : NULL;
    if (fa) {
        if ((st = fa->list(fa->ctx, args->path, &s->paths, &s->sizes, &s->n_paths, err)) != NB_OK) goto fail;
    } else {
        if (strcmp(args->path, "-") == 0) {
        /* Standard input: one stream, read once (the schema sample and the rows share it). */
        s->paths = calloc(1, sizeof *s->paths);
        if (!s->paths || !(s->paths[0] = strdup("-"))) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
        s->n_paths = 1;
    } else if ((st = nb_glob_files(args->path, &s->paths, &s->n_paths, err)) != NB_OK) {
        goto fail;
    }
        s->sizes = calloc(s->n_paths ? s->n_paths : 1, sizeof *s->sizes);
    }
    s->regular = calloc(s->n_paths ? s->n_paths : 1, sizeof *s->regular);
    s->streams = calloc(s->n_paths ? s->n_paths : 1, sizeof *s->streams);
    if (!s->sizes || !s->streams || !s->regular) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
    for (size_t i = 0; i < s->n_paths; i++) {
        struct stat sb;
        if (fa) {
            s->regular[i] = true;
        } else if (strcmp(s->paths[i], "-") != 0 && stat(s->paths[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
            s->sizes[i] = (uint64_t)sb.st_size;
            s->regular[i] = true;
        }
    }
    char name[1024];
    if (!args->stream_per_file) {
        if (args->stream) snprintf(name, sizeof name, "%s", args->stream);
        else nb_file_stream_name(s->paths[0], name, sizeof name);
        s->streams[0].name = strdup(name);
        s->streams[0].first = 0;
        s->streams[0].count = s->n_paths;
        s->n_streams = 1;
    } else {
        for (size_t i = 0; i < s->n_paths; i++) {
            nb_file_stream_name(s->paths[i], name, sizeof name);
            /* Same base name in two folders: keep stream names unique. */
            char uniq[1100];
            snprintf(uniq, sizeof uniq, "%s", name);
            for (int k = 2;; k++) {
                bool clash = false;
                for (size_t j = 0; j < s->n_streams; j++)
                    if (strcmp(s->streams[j].name, uniq) == 0) clash = true;
                if (!clash) break;
                snprintf(uniq, sizeof uniq, "%s_%d", name, k);
            }
            s->streams[s->n_streams].name = strdup(uniq);
            s->streams[s->n_streams].first = i;
            s->streams[s->n_streams].count = 1;
            s->n_streams++;
        }
    }
    for (size_t i = 0; i < s->n_streams; i++) {
        if (!s->streams[i].name) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
        if ((st = parse_resume(s, &s->streams[i], err)) != NB_OK) goto fail;
    }
    *out = s;
    return NB_OK;
fail:
    nb_file_source_close(s);
    return st;
}

size_t nb_file_source_stream_count(const struct nb_file_source *s) { return s->n_streams; }
const char *nb_file_source_stream_name(const struct nb_file_source *s, size_t i)
{
    return i < s->n_streams ? s->streams[i].name : NULL;
}

void nb_file_source_progress(void *self, uint64_t *done, uint64_t *total)
{
    struct nb_file_source *s = self;
    uint64_t t = 0;
    for (size_t i = 0; i < s->n_paths; i++) t += s->sizes[i];
    uint64_t d = s->done_bytes + (s->in ? s->in->raw_read : 0);
    *total = t;
    *done = d > t && t ? t : d;
}

/* A file through the context's file access (object stores) or the local file system. */
static nb_status input_open(struct nb_file_source *s, const char *path, uint64_t offset, struct nb_istream **out,
                            struct nb_error *err)
{
    const struct nb_file_access *fa = s->ctx ? s->ctx->files : NULL;
    if (fa) return fa->open(fa->ctx, path, s->args.codec, s->args.auto_codec, offset, out, err);
    return nb_input_open(path, s->args.codec, s->args.auto_codec, offset, out, err);
}

/* ---- block reading ----------------------------------------------------------------------------- */

/* Read more bytes of the open file into the block, keeping [keep, len). May move to a new block. */
static nb_status read_more(struct nb_file_source *s, size_t keep, const char *path, struct nb_error *err)
{
    struct block *b = s->blk;
    if (!b || b->cap - b->len < MIN_READ) {
        size_t tail = b ? b->len - keep : 0;
        size_t cap = s->args.block_size;
        while (cap < tail * 2 + MIN_READ) cap *= 2;
        struct block *nb = block_new(s->sh, cap);
        if (!nb) return nb_error_set(err, NB_ERR_NOMEM, "out of memory reading %s", path);
        if (b) {
            memcpy(nb->data, b->data + keep, tail);
            nb->len = tail;
            s->base_offset += keep;
            s->start -= keep;
            s->pos -= keep;
            s->rescan_at = s->rescan_at > keep ? s->rescan_at - keep : 0;
            block_unref(s->sh, b);
        }
        s->blk = b = nb;
    }
    size_t n = 0, want = b->cap - b->len;
    nb_status st = nb_istream_read(s->in, b->data + b->len, want, &n, err);
    if (st == NB_DONE || (st == NB_OK && n == 0)) {
        s->eof = true;
        return NB_OK;
    }
    if (st != NB_OK) return st;
    b->len += n;
    s->short_read = n < want && !s->cur_regular;
    return NB_OK;
}

static void close_file(struct nb_file_source *s, const struct stream *stm)
{
    if (s->in) {
        nb_istream_destroy(s->in);
        s->in = NULL;
    }
    s->done_bytes += s->sizes[stm->first + s->cur_file];
    s->file_open = false;
}

static nb_status open_file(struct nb_file_source *s, struct stream *stm, size_t idx, uint64_t offset,
                           struct nb_error *err)
{
    const char *path = path_of(s, stm, idx);
    block_unref(s->sh, s->blk);
    s->blk = NULL;
    s->eof = false;
    s->short_read = false;
    s->cur_regular = s->regular[stm->first + idx];
    if (stm->pre_in && stm->pre_index == idx && offset == 0) {
        /* Continue where the schema sample stopped: its buffer becomes the first block (no copy,
         * no fresh pages while the workers wait for their first batch). */
        s->blk = block_adopt(stm->pre_data, stm->pre_len, stm->pre_cap);
        if (!s->blk) return nb_error_set(err, NB_ERR_NOMEM, "out of memory reading %s", path);
        s->in = stm->pre_in;
        s->eof = stm->pre_eof;
        s->short_read = !s->cur_regular;   /* hand over what the sample saw before waiting on a pipe */
        stm->pre_in = NULL;
        stm->pre_data = NULL;
    } else {
        nb_status st = input_open(s, path, offset, &s->in, err);
        if (st != NB_OK) return st;
    }
    s->file_open = true;
    s->rescan_at = 0;
    s->preamble_done = offset > 0;
    s->base_offset = offset;
    s->start = s->pos = s->recs = 0;
    s->lines_pending = 0;
    return NB_OK;
}

/* The schema of a stream from one file: its header and a sample of its records. *found: the file
 * had a header or a record (an empty file says nothing about the columns). */
static nb_status schema_from_file(struct nb_file_source *s, struct stream *stm, size_t idx, bool *found,
                                  struct nb_error *err)
{
    const char *path = path_of(s, stm, idx);
    bool regular = s->regular[stm->first + idx], short_read = false;
    struct nb_istream *in = NULL;
    nb_status st = input_open(s, path, 0, &in, err);
    if (st != NB_OK) return st;
    struct nb_buf buf;
    nb_buf_init(&buf);
    bool eof = false, pre = false;
    size_t skip = 0, header_at = SIZE_MAX, want = s->sh->fmt.sample_records;
    uint64_t lines = 0;
    struct nb_file_scan sc = {0};
    size_t limit = s->args.max_record_size + (64u << 20), rescan_at = 0;
    for (;;) {
        if (!eof) {
            if (!nb_buf_reserve(&buf, 1u << 20)) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto out; }
            size_t n = 0, ask = buf.cap - buf.len - 1;
            st = nb_istream_read(in, buf.data + buf.len, ask, &n, err);
            if (st == NB_DONE || (st == NB_OK && n == 0)) eof = true;
            else if (st != NB_OK) goto out;
            else short_read = n < ask && !regular;
            buf.len += n;
            st = NB_OK;
        }
        if (!pre) {
            st = s->sh->fmt.preamble(s->sh->fmt.ctx, buf.data ? buf.data : "", buf.len, eof, &skip, &lines, &header_at, err);
            if (st == NB_AGAIN && !eof && buf.len < s->args.max_record_size) continue;   /* a header needs it */
            if (st == NB_AGAIN)
                st = nb_error_set(err, NB_ERR_LIMIT, "the header is longer than max_record_size (%zu bytes)",
                                  s->args.max_record_size);
            if (st != NB_OK) {
                nb_error_prefix(err, "%s: ", path);
                goto out;
            }
            pre = true;
        }
        if (!eof && !short_read && buf.len < rescan_at) continue;   /* a long record: read more first */
        sc.consumed = 0;
        sc.records = 0;
        if (want) {
            st = s->sh->fmt.scan(s->sh->fmt.ctx, buf.data + skip, buf.len - skip, eof, want, &sc, path, lines + 1, err);
            if (st != NB_OK) goto out;
        }
        rescan_at = buf.len + (buf.len - skip - sc.consumed);
        if (!eof && sc.records < want && buf.len - skip - sc.consumed > s->args.max_record_size) {
            st = nb_error_set(err, NB_ERR_LIMIT,
                              "%s:%llu: a record longer than max_record_size (%zu bytes) starts here; "
                              "check the quoting or raise max_record_size",
                              path, (unsigned long long)(lines + sc.lines + 1), s->args.max_record_size);
            goto out;
        }
        /* A pipe that has nothing more for now: infer from what has arrived, once that is at least
         * one record (a writer may send the header on its own: inferring from no rows would make
         * every column a string, depending on timing). */
        if (eof || !want || sc.records >= want || buf.len >= limit || (short_read && sc.records > 0)) break;
    }
    *found = header_at != SIZE_MAX || sc.consumed > 0;
    nb_schema_release(stm->schema);
    stm->schema = NULL;
    st = s->sh->fmt.schema(s->sh->fmt.ctx, path, header_at == SIZE_MAX ? NULL : buf.data + header_at,
                           header_at == SIZE_MAX ? 0 : skip - header_at, buf.data ? buf.data + skip : "", sc.consumed,
                           &stm->schema, err);
    if (st == NB_OK && *found && !stm->pre_in) {
        if (!nb_buf_reserve(&buf, 1)) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto out; }
        stm->pre_cap = buf.cap - 1;   /* the byte after the last is the buffer's own */
        stm->pre_data = nb_buf_detach(&buf, &stm->pre_len);
        stm->pre_in = in;
        stm->pre_eof = eof;
        stm->pre_index = idx;
        in = NULL;
    }
out:
    nb_buf_cleanup(&buf);
    nb_istream_destroy(in);
    return st;
}

/* The schema of a stream: from its first file that is not empty. */
static nb_status build_schema(struct nb_file_source *s, struct stream *stm, struct nb_error *err)
{
    if (stm->schema) return NB_OK;
    for (size_t k = 0; k < stm->count; k++) {
        bool found = false;
        nb_status st = schema_from_file(s, stm, k, &found, err);
        if (st != NB_OK) return st;
        if (found) break;
    }
    return NB_OK;
}

nb_status nb_file_source_check(struct nb_file_source *s, struct nb_error *err)
{
    for (size_t i = 0; i < s->n_paths; i++) {
        struct nb_istream *in = NULL;
        nb_status st = input_open(s, s->paths[i], 0, &in, err);
        if (st != NB_OK) return st;
        char tmp[512];
        size_t n = 0;
        st = nb_istream_read(in, tmp, sizeof tmp, &n, err);
        nb_istream_destroy(in);
        if (st != NB_OK && st != NB_DONE) return st;
    }
    return NB_OK;
}

nb_status nb_file_source_discover(struct nb_file_source *s, struct nb_buf *json, struct nb_error *err)
{
    nb_buf_puts(json, "{\"streams\":[");
    for (size_t i = 0; i < s->n_streams; i++) {
        struct stream *stm = &s->streams[i];
        nb_status st = build_schema(s, stm, err);
        if (st != NB_OK) return st;
        if (i) nb_buf_putc(json, ',');
        nb_buf_puts(json, "{\"name\":");
        nb_buf_json_string(json, stm->name, strlen(stm->name));
        nb_buf_puts(json, ",\"files\":[");
        for (size_t k = 0; k < stm->count; k++) {
            if (k) nb_buf_putc(json, ',');
            const char *p = path_of(s, stm, k);
            nb_buf_json_string(json, p, strlen(p));
        }
        nb_buf_puts(json, "],\"schema\":");
        nb_schema_to_json(stm->schema, json);
        nb_buf_putc(json, '}');
    }
    nb_buf_puts(json, "]}");
    return nb_buf_status(json, err);
}

/* Make the batch [start, pos) of the current file. */
static nb_status emit(struct nb_file_source *s, struct stream *stm, bool last, struct nb_batch **out,
                      struct nb_error *err)
{
    const char *path = path_of(s, stm, s->cur_file);
    struct nb_batch *b = nb_batch_create(stm->schema, 0);
    struct batch_ctx *c = calloc(1, sizeof *c);
    if (!b || !c) {
        nb_batch_destroy(b);
        free(c);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    size_t len = s->pos - s->start;
    uint64_t off_end = s->base_offset + s->pos;
    uint64_t line_end = s->line + s->lines_pending;
    uint64_t rows_end = s->rows + s->recs;
    b->stream = nb_arena_strdup(&b->arena, stm->name);
    b->source_name = nb_arena_strdup(&b->arena, path);
    struct nb_buf pos;
    nb_buf_init(&pos);
    nb_buf_puts(&pos, "{\"file\":");
    nb_buf_json_string(&pos, path, strlen(path));
    nb_buf_printf(&pos, ",\"offset\":%llu,\"line\":%llu,\"row\":%llu}", (unsigned long long)off_end,
                  (unsigned long long)line_end, (unsigned long long)rows_end);
    b->position = pos.data ? nb_arena_strndup(&b->arena, pos.data, pos.len) : NULL;
    nb_buf_cleanup(&pos);
    if (!b->stream || !b->source_name || !b->position) {
        nb_batch_destroy(b);
        free(c);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    b->end_of_stream = last;
    if (len > 0) {
        c->blk = s->blk;
        block_ref(s->blk);
        c->sh = s->sh;
        atomic_fetch_add(&s->sh->refs, 1);
        c->chunk.data = s->blk->data + s->start;
        c->chunk.len = len;
        c->chunk.path = b->source_name;
        c->chunk.stream = b->stream;
        c->chunk.first_line = s->line + 1;
        c->chunk.first_offset = s->base_offset + s->start;
        c->chunk.records = s->recs;
        b->raw = s->blk->data + s->start;
        b->raw_len = len;
        b->raw_free = batch_raw_free;
        b->raw_opaque = c;
        b->decode = batch_decode;
        b->decode_ctx = c;
    } else {
        free(c);
    }
    s->line = line_end;
    s->rows = rows_end;
    s->start = s->pos;
    s->recs = 0;
    s->lines_pending = 0;
    *out = b;
    return NB_OK;
}

nb_status nb_file_source_read(struct nb_file_source *s, struct nb_batch **out, struct nb_error *err)
{
    *out = NULL;
    nb_status st;
    for (;;) {
        if (s->ctx && nb_context_cancelled(s->ctx)) return nb_error_set(err, NB_ERR_CANCELLED, "cancelled");
        if (s->cur_stream >= s->n_streams) return NB_DONE;
        struct stream *stm = &s->streams[s->cur_stream];
        if (!stm->started) {
            if ((st = build_schema(s, stm, err)) != NB_OK) return st;
            stm->started = true;
            s->cur_file = stm->resume_file;
            s->line = stm->resume_line;
            s->rows = stm->resume_row;
            for (size_t i = 0; i < stm->resume_file; i++) s->done_bytes += s->sizes[stm->first + i];
            if ((st = open_file(s, stm, s->cur_file, stm->resume_offset, err)) != NB_OK) return st;
        }
        if (!s->file_open) {
            s->cur_file++;
            s->line = 0;
            if ((st = open_file(s, stm, s->cur_file, 0, err)) != NB_OK) return st;
        }
        const char *path = path_of(s, stm, s->cur_file);
        size_t avail = s->blk ? s->blk->len - s->pos : 0;
        if (!s->preamble_done) {
            size_t skip = 0, header_at = SIZE_MAX;
            uint64_t lines = 0;
            const char *p = s->blk ? s->blk->data + s->start : "";
            size_t n = s->blk ? s->blk->len - s->start : 0;
            st = s->sh->fmt.preamble(s->sh->fmt.ctx, p, n, s->eof, &skip, &lines, &header_at, err);
            if (st == NB_AGAIN && !s->eof) {
                if (n > s->args.max_record_size)
                    return nb_error_set(err, NB_ERR_LIMIT, "%s: the header is longer than max_record_size (%zu bytes)",
                                        path, s->args.max_record_size);
                if ((st = read_more(s, s->start, path, err)) != NB_OK) return st;
                continue;
            }
            if (st != NB_OK) return nb_error_prefix(err, "%s: ", path);
            if (header_at != SIZE_MAX && s->cur_file > 0 && s->sh->fmt.check_header &&
                (st = s->sh->fmt.check_header(s->sh->fmt.ctx, stm->schema, path, p + header_at, skip - header_at, err)) != NB_OK)
                return st;
            s->start += skip;
            s->pos = s->start;
            s->line += lines;
            s->preamble_done = true;
            continue;
        }
        /* A record longer than the buffer: read until the buffer has doubled before scanning it
         * again from its start, so a long record costs linear time, not quadratic. */
        if (!s->eof && s->blk && s->blk->len < s->rescan_at) {
            if ((st = read_more(s, s->start, path, err)) != NB_OK) return st;
            continue;
        }
        if (avail > 0 || s->eof) {
            size_t want = s->batch_size - s->recs;
            struct nb_file_scan sc = {0};
            st = s->sh->fmt.scan(s->sh->fmt.ctx, s->blk ? s->blk->data + s->pos : "", avail, s->eof, want, &sc, path,
                                 s->line + s->lines_pending + 1, err);
            if (st != NB_OK) return st;
            s->pos += sc.consumed;
            s->recs += sc.records;
            if (sc.records) s->rescan_at = 0;
            s->lines_pending += sc.lines;
            bool file_done = s->eof && (!s->blk || s->pos == s->blk->len);
            if (file_done) {
                bool last = s->cur_file + 1 >= stm->count;
                if ((st = emit(s, stm, last, out, err)) != NB_OK) return st;
                close_file(s, stm);
                if (last) {
                    stm->finished = true;
                    s->cur_stream++;
                }
                if ((*out)->raw_len == 0 && !last) {
                    nb_batch_destroy(*out);   /* nothing in this file: no batch, go on */
                    *out = NULL;
                    continue;
                }
                return NB_OK;
            }
            if (s->recs >= s->batch_size) {
                /* Full, and all buffered bytes used: read on first so that a batch ending exactly at
                 * the end of the file is the stream's last (no empty batch after it). */
                if (!s->eof && s->cur_regular && s->blk && s->pos == s->blk->len && s->blk->cap - s->blk->len >= MIN_READ) {
                    if ((st = read_more(s, s->start, path, err)) != NB_OK) return st;
                    continue;
                }
                return emit(s, stm, false, out, err);
            }
            if (sc.consumed < avail || avail == 0) {
                /* The window ends inside a record. Hand over what we have, then read more. */
                if (s->recs > 0) return emit(s, stm, false, out, err);
                if (s->blk && !s->eof) s->rescan_at = s->blk->len + (s->blk->len - s->pos);
                if (s->blk && s->blk->len - s->pos > s->args.max_record_size)
                    return nb_error_set(err, NB_ERR_LIMIT,
                                        "%s:%llu: a record longer than max_record_size (%zu bytes) starts here; "
                                        "check the quoting or raise max_record_size",
                                        path, (unsigned long long)(s->line + 1), s->args.max_record_size);
            }
        }
        /* A pipe has nothing more for now: hand over what arrived (flush_interval semantics). */
        if (s->recs > 0 && s->short_read) {
            s->short_read = false;
            return emit(s, stm, false, out, err);
        }
        /* A full block would have to be copied with the pending records: hand them over first. */
        if (s->recs > 0 && s->blk && s->blk->cap - s->blk->len < MIN_READ) return emit(s, stm, false, out, err);
        if ((st = read_more(s, s->start, path, err)) != NB_OK) return st;
    }
}
