/* Source positions as JSON: {"gtid":"0-1-42","file":"bin.000003","pos":1234} for the binlog, plus
 * "ranges":[[after,upto],..] (the key ranges a snapshot still running has left to copy), "cursor"
 * (incremental) and "done" (a full refresh that finished). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/mysql/source.h"
#include "core/json.h"

void my_pos_json(const struct my_pos *p, struct nb_buf *out)
{
    bool any = false;
    if (p->gtid[0]) {
        nb_buf_puts(out, "\"gtid\":");
        nb_buf_json_string(out, p->gtid, strlen(p->gtid));
        any = true;
    }
    if (p->file[0]) {
        nb_buf_printf(out, "%s\"file\":", any ? "," : "");
        nb_buf_json_string(out, p->file, strlen(p->file));
        nb_buf_printf(out, ",\"pos\":%llu", (unsigned long long)p->pos);
    }
}

bool my_pos_parse(const char *json, struct my_pos *p, char **cursor, bool *done, struct nb_arena *a)
{
    memset(p, 0, sizeof *p);
    *cursor = NULL;
    *done = false;
    if (!json) return false;
    struct nb_arena tmp;
    nb_arena_init(&tmp, 4096);
    struct nb_json *v = NULL;
    bool ok = nb_json_parse(json, strlen(json), &tmp, &v, NULL) == NB_OK && v && v->kind == NB_JSON_OBJECT;
    if (ok) {
        const char *g = nb_json_get_string(v, "gtid"), *f = nb_json_get_string(v, "file"), *c = nb_json_get_string(v, "cursor");
        if (g) snprintf(p->gtid, sizeof p->gtid, "%s", g);
        if (f) snprintf(p->file, sizeof p->file, "%s", f);
        const struct nb_json *pos = nb_json_get(v, "pos");
        if (pos) nb_json_u64(pos, &p->pos);
        if (c) *cursor = nb_arena_strdup(a, c);
        nb_json_get_bool(v, "done", done);
    }
    nb_arena_cleanup(&tmp);
    return ok;
}

/* A range bound: null, or a list of exactly t->n_pk strings (copied to t->arena). */
static bool parse_bound(const struct nb_json *e, struct my_tinfo *t, char ***out)
{
    *out = NULL;
    if (e->kind == NB_JSON_NULL) return true;
    if (e->kind != NB_JSON_ARRAY || !t->n_pk || e->u.array.count != t->n_pk) return false;
    char **k = nb_arena_alloc(&t->arena, t->n_pk * sizeof(char *));
    if (!k) return false;
    for (size_t i = 0; i < t->n_pk; i++) {
        const struct nb_json *s = e->u.array.items[i];
        if (s->kind != NB_JSON_STRING || !(k[i] = nb_arena_strndup(&t->arena, s->u.string.ptr, s->u.string.len)))
            return false;
    }
    *out = k;
    return true;
}

int my_pos_ranges(const char *json, struct my_tinfo *t)
{
    if (!json) return 0;
    struct nb_arena tmp;
    nb_arena_init(&tmp, 4096);
    struct nb_json *v = NULL;
    int res = 0;
    if (nb_json_parse(json, strlen(json), &tmp, &v, NULL) == NB_OK && v && v->kind == NB_JSON_OBJECT) {
        const struct nb_json *r = nb_json_get(v, "ranges"), *k = nb_json_get(v, "pk");
        size_t keep = t->n_ranges;
        if (r) {
            res = r->kind == NB_JSON_ARRAY && r->u.array.count ? 1 : -1;
            for (size_t i = 0; res == 1 && i < r->u.array.count; i++) {
                const struct nb_json *e = r->u.array.items[i];
                char **after, **upto;
                if (e->kind != NB_JSON_ARRAY || e->u.array.count != 2 || !parse_bound(e->u.array.items[0], t, &after) ||
                    !parse_bound(e->u.array.items[1], t, &upto) || !my_range_add(t, after, upto))
                    res = -1;
            }
        } else if (k) {
            char **after;
            res = parse_bound(k, t, &after) && after && my_range_add(t, after, NULL) ? 1 : -1;
        }
        if (res < 0) t->n_ranges = keep;
    }
    nb_arena_cleanup(&tmp);
    return res;
}

bool my_pos_columns(const char *json, struct my_hist *h)
{
    if (!json) return false;
    struct nb_arena tmp;
    nb_arena_init(&tmp, 4096);
    struct nb_json *v = NULL;
    bool ok = false;
    if (nb_json_parse(json, strlen(json), &tmp, &v, NULL) == NB_OK && v && v->kind == NB_JSON_OBJECT) {
        const struct nb_json *c = nb_json_get(v, "columns");
        if (c && c->kind == NB_JSON_ARRAY && c->u.array.count && c->u.array.count < 4096) {
            const char **names = nb_arena_alloc(&tmp, c->u.array.count * sizeof(char *));
            ok = names != NULL;
            for (size_t i = 0; ok && i < c->u.array.count; i++) {
                const struct nb_json *e = c->u.array.items[i];
                if (e->kind != NB_JSON_STRING) ok = false;
                else names[i] = e->u.string.ptr;
            }
            if (ok) ok = my_hist_set(h, names, c->u.array.count);
        }
    }
    nb_arena_cleanup(&tmp);
    return ok;
}

/* Sequence number of `domain` in a MariaDB GTID state "d-s-n,d-s-n"; false when absent. */
static bool gtid_seq(const char *state, unsigned long domain, unsigned long long *seq)
{
    const char *p = state;
    while (*p) {
        char *end;
        unsigned long d = strtoul(p, &end, 10);
        if (*end != '-') return false;
        strtoul(end + 1, &end, 10);
        if (*end != '-') return false;
        unsigned long long n = strtoull(end + 1, &end, 10);
        if (d == domain) { *seq = n; return true; }
        if (*end != ',') return false;
        p = end + 1;
    }
    return false;
}

int my_pos_cmp(const struct my_pos *a, const struct my_pos *b)
{
    if (a->gtid[0] && b->gtid[0] && strchr(a->gtid, '-') && !strchr(a->gtid, ':')) {
        /* Compare per domain; a position is later when any domain is later. */
        int res = 0;
        const char *p = a->gtid;
        while (*p) {
            char *end;
            unsigned long d = strtoul(p, &end, 10);
            unsigned long long sa = 0, sb = 0;
            if (!gtid_seq(a->gtid, d, &sa)) break;
            if (!gtid_seq(b->gtid, d, &sb)) { res = 1; }
            else if (sa > sb) res = 1;
            else if (sa < sb && res == 0) res = -1;
            p = strchr(p, ',');
            if (!p) break;
            p++;
        }
        return res;
    }
    int c = strcmp(a->file, b->file);
    if (c) return c < 0 ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos ? 1 : 0;
}
