/* Object-store sources: the csv or json source over a store's listing and ranged reads, and the
 * bookkeeping of incremental mode. The list of loaded objects rides in each batch's position
 * ({"file":..,"offset":..,"version":..,"objects":{"name":"version",...}}): the engine saves it
 * with the checkpoint, so "which objects are loaded" moves atomically with the data. The inner
 * sources ignore the extra keys. */
#include "connectors/common/object_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"

const struct nb_config_key nb_object_source_keys[] = {
    {"format", NB_KEY_ENUM, "csv", "csv|json|parquet", 0,
     "object format: csv, json (NDJSON or a top-level array, as the json source), or parquet (flat Parquet "
     "files, as the parquet source: the footer first, then one ranged read per column chunk)"},
    {"mode", NB_KEY_ENUM, "full_refresh", "full_refresh|incremental", 0,
     "incremental: remember the objects loaded (key + ETag/generation) in the state and read only new or "
     "changed ones on later runs (a changed object is read again whole); needs --state and `stream`"},
    {"csv", NB_KEY_MAP, NULL, NULL, 0, "options of the csv source (delimiter, header, infer_types, ...: nebula spec csv)"},
    {"json", NB_KEY_MAP, NULL, NULL, 0, "options of the json source (format: auto|array|lines, infer_rows, ...: nebula spec json)"},
    {NULL},
};

/* ---- sets of (name, version) ---------------------------------------------------------------- */

struct entry {
    char *name, *version;
};

struct nb_object_seen {   /* sorted by name: looked up once per listed object */
    struct entry *e;
    size_t n, cap;
};

struct nb_object_track {  /* one per stream this run */
    struct nb_object_track *next;
    char *stream;
    struct entry *e;      /* loaded objects, in load order */
    size_t n, cap;
    char *cur, *cur_version;   /* the object being read */
    struct nb_buf json;   /* "objects":{...} cached; rebuilt when e changes */
    bool dirty;
};

/* The first index whose name is >= name (entries are kept sorted by name). */
static size_t lower_bound(const struct entry *e, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(e[mid].name, name) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Insert or update (name, version) in the sorted set: a binary search, not a scan, because a
 * long-lived incremental source remembers many thousands of objects. version NULL: a name only. */
static bool put(struct entry **e, size_t *n, size_t *cap, const char *name, const char *version)
{
    size_t at = lower_bound(*e, *n, name);
    char *v = NULL;
    if (version && !(v = strdup(version))) return false;
    if (at < *n && strcmp((*e)[at].name, name) == 0) {
        free((*e)[at].version);
        (*e)[at].version = v;
        return true;
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct entry *ne = realloc(*e, nc * sizeof *ne);
        if (!ne) { free(v); return false; }
        *e = ne;
        *cap = nc;
    }
    char *nm = strdup(name);
    if (!nm) { free(v); return false; }
    memmove(*e + at + 1, *e + at, (*n - at) * sizeof **e);
    (*e)[at] = (struct entry){nm, v};
    (*n)++;
    return true;
}

static void entries_free(struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(e[i].name); free(e[i].version); }
    free(e);
}

static const struct entry *find(const struct nb_object_seen *s, const char *name)
{
    if (!s || !s->n) return NULL;
    size_t at = lower_bound(s->e, s->n, name);
    return at < s->n && strcmp(s->e[at].name, name) == 0 ? &s->e[at] : NULL;
}

static const char *seen_version(const struct nb_object_seen *s, const char *name)
{
    const struct entry *f = find(s, name);
    return f ? f->version : NULL;
}

/* ---- saved positions ---------------------------------------------------------------------- */

/* Every stream's "objects" from the saved state: what earlier runs loaded. */
static nb_status load_seen(struct nb_object_source *o, struct nb_error *err)
{
    o->seen = calloc(1, sizeof *o->seen);
    if (!o->seen) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < o->ctx->n_state; i++) {
        const char *p = o->ctx->state[i].source_position;
        if (!p) continue;
        struct nb_arena a;
        nb_arena_init(&a, 4096);
        struct nb_json *j = NULL;
        if (nb_json_parse(p, strlen(p), &a, &j, NULL) == NB_OK) {
            const struct nb_json *objs = nb_json_get(j, "objects");
            for (size_t k = 0; objs && objs->kind == NB_JSON_OBJECT && k < objs->u.object.count; k++) {
                const struct nb_json_member *m = &objs->u.object.members[k];
                if (m->value->kind != NB_JSON_STRING) continue;
                if (!put(&o->seen->e, &o->seen->n, &o->seen->cap, m->key, m->value->u.string.ptr)) {
                    nb_arena_cleanup(&a);
                    return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
                }
            }
        }
        nb_arena_cleanup(&a);
    }
    return NB_OK;
}

/* The stream's saved position: the object it was inside (and that object's version), if any. */
static bool saved_file(const char *pos, char *file, size_t fcap, char *version, size_t vcap)
{
    if (!pos) return false;
    struct nb_arena a;
    nb_arena_init(&a, 4096);
    struct nb_json *j = NULL;
    bool ok = false;
    if (nb_json_parse(pos, strlen(pos), &a, &j, NULL) == NB_OK) {
        const char *f = nb_json_get_string(j, "file"), *v = nb_json_get_string(j, "version");
        if (f && v) {
            snprintf(file, fcap, "%s", f);
            snprintf(version, vcap, "%s", v);
            ok = true;
        }
    }
    nb_arena_cleanup(&a);
    return ok;
}

/* ---- the incremental listing ----------------------------------------------------------------- */

/* The store's listing minus the objects already loaded with the same version. A stream that
 * stopped inside an object resumes it (first in the list) if its version is unchanged; otherwise
 * its saved position is dropped and the object is read again from the start. */
static nb_status incr_list(void *ctx, const char *pattern, char ***names, uint64_t **sizes, size_t *count,
                           struct nb_error *err)
{
    struct nb_object_source *o = ctx;
    char **nv = NULL;
    uint64_t *sv = NULL;
    size_t n = 0;
    nb_status st = o->store.list(o->store.ctx, pattern, &nv, &sv, &n, err);
    if (st != NB_OK) return st;
    /* The names listed now: loaded objects that are gone (deleted, expired by a lifecycle rule)
     * are dropped from the saved set, so it stays as large as the prefix, not as its history. */
    if (!o->listed && !(o->listed = calloc(1, sizeof *o->listed))) st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == NB_OK && i < n; i++)
        if (!put(&o->listed->e, &o->listed->n, &o->listed->cap, nv[i], NULL)) st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    if (st != NB_OK) {
        for (size_t i = 0; i < n; i++) free(nv[i]);
        free(nv);
        free(sv);
        return st;
    }
    char ver[256], file[2048], fver[256];
    size_t keep = 0, skipped = 0;
    char *resume = NULL;
    for (size_t i = 0; i < o->n_istate; i++) {
        struct nb_stream_state *is = &o->istate[i];
        bool ok = saved_file(is->source_position, file, sizeof file, fver, sizeof fver);
        bool same = false;
        for (size_t k = 0; ok && k < n; k++) {
            if (strcmp(nv[k], file) != 0) continue;
            same = o->version(o->store.ctx, nv[k], ver, sizeof ver) && strcmp(ver, fver) == 0 &&
                   !(seen_version(o->seen, file) && strcmp(seen_version(o->seen, file), fver) == 0);
            if (same) resume = nv[k];
        }
        if (!same) is->source_position = NULL;   /* start the stream's objects from their beginning */
    }
    for (size_t i = 0; i < n; i++) {
        const char *had = seen_version(o->seen, nv[i]);
        bool loaded = had && o->version(o->store.ctx, nv[i], ver, sizeof ver) && strcmp(ver, had) == 0;
        if (loaded && nv[i] != resume) {
            free(nv[i]);
            skipped++;
            continue;
        }
        /* The object a stream stopped inside goes first: the inner source skips what precedes it. */
        if (nv[i] == resume && keep > 0) {
            uint64_t size = sv[i];
            memmove(nv + 1, nv, keep * sizeof *nv);
            memmove(sv + 1, sv, keep * sizeof *sv);
            nv[0] = resume;
            sv[0] = size;
            keep++;
            continue;
        }
        nv[keep] = nv[i];
        sv[keep] = sv[i];
        keep++;
    }
    NB_INFO(o->store_name, "incremental: %zu new or changed objects, %zu already loaded", keep, skipped);
    if (keep == 0) {
        free(nv);
        free(sv);
        return NB_DONE;   /* nothing to read: nb_object_source_open treats it as an empty run */
    }
    *names = nv;
    *sizes = sv;
    *count = keep;
    return NB_OK;
}

static nb_status incr_open(void *ctx, const char *name, enum nb_codec codec, bool auto_codec, uint64_t offset,
                           struct nb_istream **out, struct nb_error *err)
{
    struct nb_object_source *o = ctx;
    return o->store.open(o->store.ctx, name, codec, auto_codec, offset, out, err);
}

/* ---- open / close ------------------------------------------------------------------------- */

static nb_status inner_config(struct nb_object_source *o, const struct nb_cfg *cfg, const char *fmt, struct nb_error *err)
{
    struct nb_cfg *m = nb_cfg_new_map();
    bool ok = m != NULL;
    const struct nb_cfg *cm = nb_cfg_child(cfg, fmt);
    for (size_t i = 0; ok && cm && cm->kind == NB_CFG_MAP && i < cm->n_children; i++) {
        const struct nb_cfg *k = cm->children[i];
        if (k->kind == NB_CFG_SCALAR && k->key && k->value) ok = nb_cfg_set(m, k->key, k->value) != NULL;
    }
    static const char *pass[] = {"path", "stream", "compression"};
    /* Parquet compresses inside the file: there is no compression around it to pass on. */
    size_t n_pass = strcmp(fmt, "parquet") == 0 ? 2 : sizeof pass / sizeof *pass;
    for (size_t i = 0; ok && i < n_pass; i++) {
        const char *v = nb_cfg_string(cfg, pass[i], NULL);
        if (v) ok = nb_cfg_set(m, pass[i], v) != NULL;
    }
    if (ok && nb_cfg_bool(cfg, "stream_per_file", false)) ok = nb_cfg_set(m, "stream_per_file", "true") != NULL;
    if (!ok) {
        nb_cfg_destroy(m);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    o->inner_cfg = m;
    char section[32];
    snprintf(section, sizeof section, "source.%s", fmt);
    return nb_cfg_validate(m, o->ops->spec, section, err);
}

nb_status nb_object_source_open(struct nb_object_source *o, const struct nb_context *ctx,
                                const struct nb_object_source_args *args, struct nb_error *err)
{
    const struct nb_cfg *cfg = ctx->config;
    o->ctx = ctx;
    o->store = *args->files;
    o->version = args->version;
    o->store_name = args->store;
    const char *fmt = nb_cfg_string(cfg, "format", "csv");
    bool json = strcmp(fmt, "json") == 0, parquet = strcmp(fmt, "parquet") == 0;
    o->ops = json ? args->json : parquet ? args->parquet : args->csv;
    if (!o->ops) return nb_error_set(err, NB_ERR_CONFIG, "%s source: format '%s' is not available", args->store, fmt);
    o->incremental = strcmp(nb_cfg_string(cfg, "mode", "full_refresh"), "incremental") == 0;
    nb_status st = inner_config(o, cfg, json ? "json" : parquet ? "parquet" : "csv", err);
    if (st == NB_OK && o->incremental) {
        const char *stream = nb_cfg_string(cfg, "stream", NULL);
        if ((!stream || !*stream) && !nb_cfg_bool(cfg, "stream_per_file", false))
            st = nb_error_set(err, NB_ERR_CONFIG,
                              "%s source: mode: incremental needs `stream` (a fixed stream name: the default, the "
                              "first object's name, changes as objects arrive) or stream_per_file: true", args->store);
        else if (!ctx->options || !ctx->options->state_path)
            NB_WARN(args->store, "mode: incremental without a state file (--state or state.path) reads every object");
    }
    if (st == NB_OK) {
        o->ictx = *ctx;
        o->ictx.config = o->inner_cfg;
        o->fa = o->store;
        if (o->incremental) {
            st = load_seen(o, err);
            o->n_istate = ctx->n_state;
            if (st == NB_OK && ctx->n_state && !(o->istate = calloc(ctx->n_state, sizeof *o->istate)))
                st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            if (st == NB_OK && ctx->n_state) memcpy(o->istate, ctx->state, ctx->n_state * sizeof *o->istate);
            o->ictx.state = o->istate;
            o->fa = (struct nb_file_access){o, incr_list, incr_open};
        }
        o->ictx.files = &o->fa;
    }
    if (st == NB_OK) {
        st = o->ops->open(&o->inner, &o->ictx, err);
        if (st != NB_OK) o->inner = NULL;
        if (st == NB_DONE) st = NB_OK;   /* incremental: nothing new; read() ends at once */
    }
    if (st != NB_OK) nb_object_source_close(o);
    return st;
}

static void tracks_free(struct nb_object_track *t)
{
    while (t) {
        struct nb_object_track *n = t->next;
        entries_free(t->e, t->n);
        free(t->stream);
        free(t->cur);
        free(t->cur_version);
        nb_buf_cleanup(&t->json);
        free(t);
        t = n;
    }
}

void nb_object_source_close(struct nb_object_source *o)
{
    if (o->inner) o->ops->close(o->inner);
    o->inner = NULL;
    nb_cfg_destroy(o->inner_cfg);
    o->inner_cfg = NULL;
    if (o->seen) entries_free(o->seen->e, o->seen->n);
    free(o->seen);
    o->seen = NULL;
    if (o->listed) entries_free(o->listed->e, o->listed->n);
    free(o->listed);
    o->listed = NULL;
    tracks_free(o->tracks);
    o->tracks = NULL;
    free(o->istate);
    o->istate = NULL;
}

nb_status nb_object_source_check(void *self, struct nb_error *err)
{
    struct nb_object_source *o = self;
    if (!o->inner) return NB_OK;
    return o->ops->check ? o->ops->check(o->inner, err) : NB_OK;
}

nb_status nb_object_source_discover(void *self, struct nb_buf *json, struct nb_error *err)
{
    struct nb_object_source *o = self;
    if (!o->inner) {
        nb_buf_puts(json, "{\"streams\":[]}");
        return nb_buf_status(json, err);
    }
    return o->ops->discover(o->inner, json, err);
}

/* ---- read: tracking loaded objects ---------------------------------------------------------- */

static struct nb_object_track *track_for(struct nb_object_source *o, const char *stream)
{
    for (struct nb_object_track *t = o->tracks; t; t = t->next)
        if (strcmp(t->stream, stream) == 0) return t;
    struct nb_object_track *t = calloc(1, sizeof *t);
    if (!t || !(t->stream = strdup(stream))) { free(t); return NULL; }
    nb_buf_init(&t->json);
    t->dirty = true;
    /* What earlier runs of this stream loaded stays recorded, unless the object is gone. */
    const struct nb_stream_state *ss = nb_context_state(o->ctx, stream);
    if (ss && ss->source_position) {
        struct nb_arena a;
        nb_arena_init(&a, 4096);
        struct nb_json *j = NULL;
        if (nb_json_parse(ss->source_position, strlen(ss->source_position), &a, &j, NULL) == NB_OK) {
            const struct nb_json *objs = nb_json_get(j, "objects");
            size_t gone = 0;
            for (size_t k = 0; objs && objs->kind == NB_JSON_OBJECT && k < objs->u.object.count; k++) {
                const struct nb_json_member *m = &objs->u.object.members[k];
                if (m->value->kind != NB_JSON_STRING) continue;
                if (o->listed && !find(o->listed, m->key)) { gone++; continue; }
                put(&t->e, &t->n, &t->cap, m->key, m->value->u.string.ptr);
            }
            if (gone)
                NB_INFO(o->store_name, "stream %s: %zu loaded object%s no longer listed, forgotten", stream, gone,
                        gone == 1 ? " is" : "s are");
        }
        nb_arena_cleanup(&a);
    }
    t->next = o->tracks;
    o->tracks = t;
    return t;
}

static bool mark_loaded(struct nb_object_track *t)
{
    if (!t->cur) return true;
    if (!put(&t->e, &t->n, &t->cap, t->cur, t->cur_version ? t->cur_version : "")) return false;
    t->dirty = true;
    return true;
}

/* Record the batch's object and rewrite its position with the version and the loaded set. */
static nb_status track_batch(struct nb_object_source *o, struct nb_batch *b, struct nb_error *err)
{
    if (!b->position || !b->stream) return NB_OK;
    struct nb_object_track *t = track_for(o, b->stream);
    if (!t) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    struct nb_arena a;
    nb_arena_init(&a, 1024);
    struct nb_json *j = NULL;
    const char *file = NULL;
    if (nb_json_parse(b->position, strlen(b->position), &a, &j, NULL) == NB_OK) file = nb_json_get_string(j, "file");
    bool ok = true;
    if (file && (!t->cur || strcmp(t->cur, file) != 0)) {
        ok = mark_loaded(t);   /* the inner source moved on: the previous object is complete */
        char ver[256] = "";
        if (!o->version(o->store.ctx, file, ver, sizeof ver)) ver[0] = '\0';
        free(t->cur);
        free(t->cur_version);
        t->cur = strdup(file);
        t->cur_version = strdup(ver);
        ok = ok && t->cur && t->cur_version;
    }
    nb_arena_cleanup(&a);
    if (ok && b->end_of_stream) {
        ok = mark_loaded(t);
        free(t->cur);
        t->cur = NULL;
    }
    if (!ok) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    if (t->dirty) {
        nb_buf_reset(&t->json);
        nb_buf_puts(&t->json, "\"objects\":{");
        for (size_t i = 0; i < t->n; i++) {
            if (i) nb_buf_putc(&t->json, ',');
            nb_buf_json_string(&t->json, t->e[i].name, strlen(t->e[i].name));
            nb_buf_putc(&t->json, ':');
            nb_buf_json_string(&t->json, t->e[i].version, strlen(t->e[i].version));
        }
        nb_buf_putc(&t->json, '}');
        t->dirty = false;
    }
    size_t pl = strlen(b->position);
    if (pl < 2 || b->position[pl - 1] != '}') return NB_OK;
    struct nb_buf p;
    nb_buf_init(&p);
    nb_buf_append(&p, b->position, pl - 1);
    if (t->cur) {
        nb_buf_puts(&p, ",\"version\":");
        nb_buf_json_string(&p, t->cur_version, strlen(t->cur_version));
    }
    nb_buf_putc(&p, ',');
    nb_buf_append(&p, t->json.data ? t->json.data : "", t->json.len);
    nb_buf_putc(&p, '}');
    nb_status st = nb_buf_status(&p, err);
    if (st == NB_OK) {
        char *np = nb_arena_strndup(&b->arena, p.data, p.len);
        if (np) b->position = np;
        else st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    nb_buf_cleanup(&p);
    return st;
}

nb_status nb_object_source_read(void *self, struct nb_batch **out, struct nb_error *err)
{
    struct nb_object_source *o = self;
    if (!o->inner) return NB_DONE;
    nb_status st;
    for (;;) {
        st = o->ops->read(o->inner, out, err);
        if (st != NB_OK || o->incremental) break;
        /* full_refresh: a stream an earlier run finished has nothing more to give (the engine
         * keeps calling because the connector can also run incrementally). */
        const struct nb_stream_state *ss = (*out)->stream ? nb_context_state(o->ctx, (*out)->stream) : NULL;
        if (!ss || !ss->done) return NB_OK;
        if ((*out)->end_of_stream)
            NB_INFO(o->store_name, "stream %s was finished by an earlier run (state); nothing to do for it", (*out)->stream);
        nb_batch_destroy(*out);
        *out = NULL;
    }
    if (st != NB_OK) return st;
    st = track_batch(o, *out, err);
    if (st != NB_OK) {
        nb_batch_destroy(*out);
        *out = NULL;
    }
    return st;
}

bool nb_object_source_progress(void *self, uint64_t *done, uint64_t *total)
{
    struct nb_object_source *o = self;
    if (!o->inner) return false;
    return o->ops->progress ? o->ops->progress(o->inner, done, total) : false;
}
