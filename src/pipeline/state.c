/* The JSON-file state store and the in-memory state it saves. */
#include "pipeline/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "io/stream.h"

void nb_state_init(struct nb_state *st) { memset(st, 0, sizeof *st); }

void nb_state_cleanup(struct nb_state *st)
{
    for (size_t i = 0; i < st->count; i++) {
        free(st->entries[i].stream);
        free(st->entries[i].source_position);
        free(st->entries[i].destination_state);
    }
    free(st->entries);
    nb_state_init(st);
}

struct nb_state_entry *nb_state_find(struct nb_state *st, const char *stream)
{
    for (size_t i = 0; i < st->count; i++)
        if (strcmp(st->entries[i].stream, stream) == 0) return &st->entries[i];
    return NULL;
}

struct nb_state_entry *nb_state_upsert(struct nb_state *st, const char *stream)
{
    struct nb_state_entry *e = nb_state_find(st, stream);
    if (e) return e;
    if (st->count == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        struct nb_state_entry *grown = realloc(st->entries, cap * sizeof *grown);
        if (!grown) return NULL;
        st->entries = grown;
        st->cap = cap;
    }
    e = &st->entries[st->count];
    memset(e, 0, sizeof *e);
    e->stream = strdup(stream);
    if (!e->stream) return NULL;
    st->count++;
    return e;
}

bool nb_state_set_text(char **field, const char *value)
{
    char *copy = NULL;
    if (value && !(copy = strdup(value))) return false;
    free(*field);
    *field = copy;
    return true;
}

struct file_store {
    struct nb_state_store base;
    char *path;
    char *pipeline;
};

static nb_status file_load(struct nb_state_store *base, struct nb_state *out, struct nb_error *err)
{
    struct file_store *s = (struct file_store *)base;
    char *text = NULL;
    size_t len = 0;
    nb_state_init(out);
    FILE *probe = fopen(s->path, "rb");
    if (!probe) return NB_OK;   /* no state yet: a first run */
    fclose(probe);
    nb_status rc = nb_read_file(s->path, &text, &len, err);
    if (rc != NB_OK) return rc;
    struct nb_arena arena;
    nb_arena_init(&arena, 16 * 1024);
    struct nb_json *root = NULL;
    rc = nb_json_parse(text, len, &arena, &root, err);
    if (rc != NB_OK) {
        nb_error_prefix(err, "state file %s is damaged (%s); move it away to start over: ", s->path, "not JSON");
        rc = NB_ERR_CONFIG;
        goto done;
    }
    const struct nb_json *streams = nb_json_get(root, "streams");
    if (!streams || streams->kind != NB_JSON_OBJECT) {
        rc = nb_error_set(err, NB_ERR_CONFIG, "state file %s has no 'streams' object; move it away to start over", s->path);
        goto done;
    }
    const char *pipeline = nb_json_get_string(root, "pipeline");
    if (pipeline && s->pipeline && strcmp(pipeline, s->pipeline) != 0) {
        rc = nb_error_set(err, NB_ERR_CONFIG, "state file %s belongs to pipeline '%s', not '%s': use another state path",
                          s->path, pipeline, s->pipeline);
        goto done;
    }
    for (size_t i = 0; i < streams->u.object.count; i++) {
        const struct nb_json_member *m = &streams->u.object.members[i];
        struct nb_state_entry *e = nb_state_upsert(out, m->key);
        if (!e) { rc = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto done; }
        struct nb_buf b;
        nb_buf_init(&b);
        const struct nb_json *src = nb_json_get(m->value, "source");
        if (src && src->kind != NB_JSON_NULL) { nb_json_write(&b, src); nb_state_set_text(&e->source_position, b.data); }
        nb_buf_reset(&b);
        const struct nb_json *dst = nb_json_get(m->value, "destination");
        if (dst && dst->kind != NB_JSON_NULL) { nb_json_write(&b, dst); nb_state_set_text(&e->destination_state, b.data); }
        nb_buf_cleanup(&b);
        int64_t rows = 0;
        if (nb_json_get_i64(m->value, "rows", &rows) && rows > 0) e->rows = (uint64_t)rows;
        nb_json_get_bool(m->value, "done", &e->done);
    }
done:
    nb_arena_cleanup(&arena);
    free(text);
    if (rc != NB_OK) nb_state_cleanup(out);
    return rc;
}

static nb_status file_save(struct nb_state_store *base, const struct nb_state *st, struct nb_error *err)
{
    struct file_store *s = (struct file_store *)base;
    struct nb_buf b;
    nb_buf_init(&b);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    nb_buf_puts(&b, "{\n  \"version\": 1,\n  \"pipeline\": ");
    nb_buf_json_string(&b, s->pipeline ? s->pipeline : "", s->pipeline ? strlen(s->pipeline) : 0);
    nb_buf_printf(&b, ",\n  \"updated_at\": \"%s\",\n  \"streams\": {", when);
    for (size_t i = 0; i < st->count; i++) {
        const struct nb_state_entry *e = &st->entries[i];
        nb_buf_puts(&b, i ? ",\n    " : "\n    ");
        nb_buf_json_string(&b, e->stream, strlen(e->stream));
        nb_buf_puts(&b, ": {\"source\": ");
        nb_buf_puts(&b, e->source_position ? e->source_position : "null");
        nb_buf_puts(&b, ", \"destination\": ");
        nb_buf_puts(&b, e->destination_state ? e->destination_state : "null");
        nb_buf_printf(&b, ", \"rows\": %llu, \"done\": %s}", (unsigned long long)e->rows, e->done ? "true" : "false");
    }
    nb_buf_puts(&b, st->count ? "\n  }\n}\n" : "}\n}\n");
    nb_status rc = nb_buf_status(&b, err);
    if (rc == NB_OK) rc = nb_mkdirs_for(s->path, err);
    if (rc == NB_OK) rc = nb_write_file_atomic(s->path, b.data, b.len, err);
    if (rc != NB_OK) nb_error_prefix(err, "saving state %s: ", s->path);
    nb_buf_cleanup(&b);
    return rc;
}

static void file_destroy(struct nb_state_store *base)
{
    struct file_store *s = (struct file_store *)base;
    if (!s) return;
    free(s->path);
    free(s->pipeline);
    free(s);
}

static const struct nb_state_store_ops file_ops = {file_load, file_save, file_destroy};

nb_status nb_state_file_store_create(const char *path, const char *pipeline_name, struct nb_state_store **out,
                                     struct nb_error *err)
{
    struct file_store *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->base.ops = &file_ops;
    s->path = strdup(path);
    s->pipeline = pipeline_name ? strdup(pipeline_name) : NULL;
    if (!s->path) { file_destroy(&s->base); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    *out = &s->base;
    return NB_OK;
}
