/* MySQL partial JSON updates (binlog_row_value_options=PARTIAL_JSON): a JSON column of a
 * PARTIAL_UPDATE_ROWS after image may hold a diff vector instead of the value. Each diff is an
 * operation byte (0 REPLACE, 1 INSERT, 2 REMOVE), the path (length-encoded, "$.a[2]."b c""), and
 * for REPLACE/INSERT the new value (length-encoded, binary JSON). Applied here, in order, to the
 * column's before value so the row carries the full after value like any other update. */
#include <string.h>

#include "connectors/mysql/mysql_int.h"
#include "core/json.h"

enum { DIFF_REPLACE = 0, DIFF_INSERT = 1, DIFF_REMOVE = 2 };

/* One step of a path: a member name (key != NULL) or an array index. */
struct step {
    const char *key;
    size_t key_len;
    uint64_t index;
};

#define MAX_STEPS 64

/* "$", then ".name", ."quoted name" or "[n]" steps: the forms the server writes in diffs. */
static nb_status parse_path(const char *p, size_t n, struct nb_arena *a, struct step *steps, size_t *n_steps,
                            struct nb_error *err)
{
    size_t i = 0, k = 0;
    if (n < 1 || p[0] != '$') goto bad;
    i = 1;
    while (i < n) {
        if (k == MAX_STEPS) return nb_error_set(err, NB_ERR_UNSUPPORTED, "binlog: JSON diff path deeper than %d steps", MAX_STEPS);
        struct step *s = &steps[k];
        if (p[i] == '[') {
            uint64_t v = 0;
            size_t j = i + 1;
            if (j >= n || p[j] < '0' || p[j] > '9') goto bad;
            while (j < n && p[j] >= '0' && p[j] <= '9') {
                if (v > UINT32_MAX) goto bad;
                v = v * 10 + (uint64_t)(p[j++] - '0');
            }
            if (j >= n || p[j] != ']') goto bad;
            *s = (struct step){NULL, 0, v};
            i = j + 1;
        } else if (p[i] == '.' && i + 1 < n && p[i + 1] == '"') {
            size_t j = i + 2;
            while (j < n && p[j] != '"') j += p[j] == '\\' ? 2 : 1;
            if (j >= n) goto bad;
            struct nb_json *v = NULL;
            if (nb_json_parse(p + i + 1, j - i, a, &v, NULL) != NB_OK || !v || v->kind != NB_JSON_STRING) goto bad;
            *s = (struct step){v->u.string.ptr, v->u.string.len, 0};
            i = j + 1;
        } else if (p[i] == '.') {
            size_t j = i + 1;
            while (j < n && p[j] != '.' && p[j] != '[') j++;
            if (j == i + 1 || (j - i - 1 == 1 && p[i + 1] == '*')) goto bad;
            *s = (struct step){p + i + 1, j - i - 1, 0};
            i = j;
        } else {
            goto bad;
        }
        k++;
    }
    *n_steps = k;
    return NB_OK;
bad:
    return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: JSON diff path '%.*s' is not one this decoder follows (at byte %zu)",
                        (int)(n > 200 ? 200 : n), p, i);
}

static struct nb_json_member *member(struct nb_json *obj, const struct step *s, size_t *at)
{
    for (size_t i = 0; i < obj->u.object.count; i++) {
        struct nb_json_member *m = &obj->u.object.members[i];
        if (m->key_len == s->key_len && !memcmp(m->key, s->key, s->key_len)) {
            if (at) *at = i;
            return m;
        }
    }
    return NULL;
}

/* The value a step leads to from v, or NULL. */
static struct nb_json **child(struct nb_json *v, const struct step *s)
{
    if (s->key) {
        if (v->kind != NB_JSON_OBJECT) return NULL;
        struct nb_json_member *m = member(v, s, NULL);
        return m ? &m->value : NULL;
    }
    if (v->kind != NB_JSON_ARRAY || s->index >= v->u.array.count) return NULL;
    return &v->u.array.items[s->index];
}

static nb_status apply_one(struct nb_json **root, int op, const struct step *steps, size_t n_steps, struct nb_json *value,
                           struct nb_arena *a, struct nb_error *err)
{
    if (n_steps == 0) {
        if (op == DIFF_REMOVE) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: JSON diff removes the whole document");
        *root = value;
        return NB_OK;
    }
    struct nb_json *parent = *root;
    for (size_t i = 0; i + 1 < n_steps; i++) {
        struct nb_json **c = child(parent, &steps[i]);
        if (!c) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: JSON diff path step %zu is not in the before value", i + 1);
        parent = *c;
    }
    const struct step *last = &steps[n_steps - 1];
    if (last->key) {
        if (parent->kind != NB_JSON_OBJECT)
            return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: JSON diff names a member of a value that is not an object");
        size_t at = 0;
        struct nb_json_member *m = member(parent, last, &at);
        if (op == DIFF_REMOVE) {
            if (!m) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: JSON diff removes a member the before value lacks");
            struct nb_json_member *ms = parent->u.object.members;
            memmove(&ms[at], &ms[at + 1], (parent->u.object.count - at - 1) * sizeof *ms);
            parent->u.object.count--;
            return NB_OK;
        }
        if (m) { m->value = value; return NB_OK; }
        if (op == DIFF_REPLACE)
            return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: JSON diff replaces a member the before value lacks");
        size_t cnt = parent->u.object.count;
        struct nb_json_member *ms = nb_arena_alloc(a, (cnt + 1) * sizeof *ms);
        if (!ms) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        if (cnt) memcpy(ms, parent->u.object.members, cnt * sizeof *ms);
        char *key = nb_arena_strndup(a, last->key, last->key_len);
        if (!key) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        ms[cnt] = (struct nb_json_member){key, last->key_len, value};
        parent->u.object.members = ms;
        parent->u.object.count = cnt + 1;
        return NB_OK;
    }
    if (parent->kind != NB_JSON_ARRAY)
        return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: JSON diff names an element of a value that is not an array");
    size_t cnt = parent->u.array.count;
    if (op == DIFF_INSERT) {
        /* past the end appends, as JSON_ARRAY_INSERT does */
        size_t at = last->index < cnt ? (size_t)last->index : cnt;
        struct nb_json **items = nb_arena_alloc(a, (cnt + 1) * sizeof *items);
        if (!items) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        if (at) memcpy(items, parent->u.array.items, at * sizeof *items);
        items[at] = value;
        if (cnt > at) memcpy(items + at + 1, parent->u.array.items + at, (cnt - at) * sizeof *items);
        parent->u.array.items = items;
        parent->u.array.count = cnt + 1;
        return NB_OK;
    }
    if (last->index >= cnt)
        return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: JSON diff names element %llu of an array of %zu",
                            (unsigned long long)last->index, cnt);
    if (op == DIFF_REPLACE) { parent->u.array.items[last->index] = value; return NB_OK; }
    memmove(&parent->u.array.items[last->index], &parent->u.array.items[last->index + 1],
            (cnt - last->index - 1) * sizeof *parent->u.array.items);
    parent->u.array.count--;
    return NB_OK;
}

nb_status my_json_apply_diff(const char *before, size_t before_len, const uint8_t *diff, size_t diff_len,
                             struct nb_arena *a, struct nb_buf *out, struct nb_error *err)
{
    struct nb_json *root = NULL;
    nb_status st = nb_json_parse(before, before_len, a, &root, err);
    if (st != NB_OK) return nb_error_prefix(err, "binlog: the before value of a partial JSON update: ");
    struct nb_buf vtext;
    nb_buf_init(&vtext);
    struct my_rd r;
    my_rd_init(&r, diff, diff_len);
    struct step steps[MAX_STEPS];
    size_t k = 0;
    while (st == NB_OK && my_rd_left(&r) > 0) {
        k++;
        int op = (int)my_rd_le(&r, 1);
        uint64_t plen = my_rd_lenenc(&r);
        const char *path = (const char *)my_rd_take(&r, plen <= my_rd_left(&r) ? (size_t)plen : SIZE_MAX);
        if (!path || op > DIFF_REMOVE) {
            st = nb_error_set(err, NB_ERR_PROTOCOL, "binlog: JSON diff %zu is %s", k, path ? "of an unknown operation" : "cut short");
            break;
        }
        size_t n_steps = 0;
        if ((st = parse_path(path, (size_t)plen, a, steps, &n_steps, err)) != NB_OK) break;
        struct nb_json *value = NULL;
        if (op != DIFF_REMOVE) {
            uint64_t vlen = my_rd_lenenc(&r);
            const uint8_t *v = my_rd_take(&r, vlen <= my_rd_left(&r) ? (size_t)vlen : SIZE_MAX);
            if (!v) { st = nb_error_set(err, NB_ERR_PROTOCOL, "binlog: JSON diff %zu is cut short", k); break; }
            nb_buf_reset(&vtext);
            if ((st = my_json_binary_to_text(v, (size_t)vlen, &vtext, err)) != NB_OK) break;
            if ((st = nb_buf_status(&vtext, err)) != NB_OK) break;
            if ((st = nb_json_parse(vtext.data ? vtext.data : "", vtext.len, a, &value, err)) != NB_OK) break;
        }
        st = apply_one(&root, op, steps, n_steps, value, a, err);
    }
    nb_buf_cleanup(&vtext);
    if (st != NB_OK) return st;
    nb_json_write(out, root);
    return nb_buf_status(out, err);
}
