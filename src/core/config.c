/* Configuration trees: YAML/JSON (via libyaml's event API) into nodes that remember
 * file:line:column, ${ENV} / ${file:/path} interpolation of scalars, validation against spec
 * tables (unknown keys with suggestions, types, enums, required keys, defaults, secrets), getters,
 * and the `nebula spec` printer. Secret values never appear in a message built here. */
#include "core/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "core/log.h"
#include "core/str.h"

#define CFG_MAX_DEPTH 64                      /* nesting of maps/lists in a config file */
#define CFG_MAX_FILE (16u << 20)              /* a config file larger than this is a mistake */
#define CFG_MAX_SECRET_FILE (1u << 20)        /* ${file:...} contents */
#define CFG_MAX_INCLUDE_DEPTH 8

/* --- nodes --------------------------------------------------------------------------------- */

static struct nb_cfg *node_new(enum nb_cfg_kind kind, const char *file, int line, int column)
{
    struct nb_cfg *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->line = line;
    n->column = column;
    if (file && !(n->file = strdup(file))) {
        free(n);
        return NULL;
    }
    return n;
}

static void node_clear_contents(struct nb_cfg *n)
{
    for (size_t i = 0; i < n->n_children; i++) nb_cfg_destroy(n->children[i]);
    free(n->children);
    n->children = NULL;
    n->n_children = 0;
    free(n->value);
    n->value = NULL;
}

void nb_cfg_destroy(struct nb_cfg *cfg)
{
    if (!cfg) return;
    node_clear_contents(cfg);
    free(cfg->key);
    free(cfg->file);
    free(cfg);
}

/* Children arrays grow by doubling; the capacity is implied (next power of two >= n). */
static bool node_append(struct nb_cfg *parent, struct nb_cfg *child)
{
    size_t n = parent->n_children;
    if (n == 0 || (n & (n - 1)) == 0) {
        size_t cap = n ? n * 2 : 4;
        struct nb_cfg **c = realloc(parent->children, cap * sizeof *c);
        if (!c) return false;
        parent->children = c;
    }
    parent->children[parent->n_children++] = child;
    return true;
}

static struct nb_cfg *map_find(const struct nb_cfg *map, const char *key, size_t *index)
{
    if (!map || map->kind != NB_CFG_MAP || !key) return NULL;
    for (size_t i = 0; i < map->n_children; i++) {
        if (map->children[i]->key && strcmp(map->children[i]->key, key) == 0) {
            if (index) *index = i;
            return map->children[i];
        }
    }
    return NULL;
}

void nb_cfg_where(const struct nb_cfg *node, char *out, size_t cap)
{
    if (!cap) return;
    out[0] = '\0';
    if (!node || !node->file) return;
    if (node->line > 0) snprintf(out, cap, "%s:%d:%d", node->file, node->line, node->column);
    else snprintf(out, cap, "%s", node->file);
}

/* "where: " or "" */
static void where_prefix(const struct nb_cfg *node, char *out, size_t cap)
{
    nb_cfg_where(node, out, cap);
    if (out[0]) {
        size_t l = strlen(out);
        if (l + 2 < cap) memcpy(out + l, ": ", 3);
    }
}

/* --- interpolation ------------------------------------------------------------------------- */

struct loader {
    const char *name;
    struct nb_error *err;
};

static nb_status read_secret_file(const char *path, const char *where, struct nb_buf *out, struct nb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nb_error_set(err, NB_ERR_CONFIG, "%scannot read file '%s' named by ${file:...}: %s", where, path,
                            strerror(errno));
    char chunk[4096];
    size_t got, total = 0;
    size_t start = out->len;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        total += got;
        if (total > CFG_MAX_SECRET_FILE) {
            fclose(f);
            return nb_error_set(err, NB_ERR_CONFIG, "%sfile '%s' named by ${file:...} is larger than 1 MiB", where, path);
        }
        nb_buf_append(out, chunk, got);
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) return nb_error_set(err, NB_ERR_CONFIG, "%scannot read file '%s' named by ${file:...}", where, path);
    if (out->data && memchr(out->data + start, '\0', out->len - start))
        return nb_error_set(err, NB_ERR_CONFIG, "%sfile '%s' named by ${file:...} contains a NUL byte", where, path);
    /* A secret file usually ends with a newline that is not part of the secret. */
    while (out->len > start && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
        out->data[--out->len] = '\0';
    /* What a file holds is treated as secret whatever key it lands in. */
    if (out->data) nb_log_add_secret(out->data + start);
    return nb_buf_status(out, err);
}

static bool env_name_ok(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9')) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
    }
    return true;
}

/* Expand ${NAME}, ${file:/path} and $${ in s[0..n) into a new string (*out, caller frees). */
static nb_status interpolate(const char *s, size_t n, const char *where, char **out, struct nb_error *err)
{
    struct nb_buf b;
    nb_buf_init(&b);
    nb_status st = NB_OK;
    size_t i = 0;
    while (i < n) {
        const char *dollar = memchr(s + i, '$', n - i);
        if (!dollar) {
            nb_buf_append(&b, s + i, n - i);
            break;
        }
        size_t d = (size_t)(dollar - s);
        nb_buf_append(&b, s + i, d - i);
        if (d + 2 < n && s[d + 1] == '$' && s[d + 2] == '{') {   /* $${ -> literal ${ */
            nb_buf_append(&b, "${", 2);
            i = d + 3;
            continue;
        }
        if (d + 1 >= n || s[d + 1] != '{') {
            nb_buf_putc(&b, '$');
            i = d + 1;
            continue;
        }
        const char *close = memchr(s + d + 2, '}', n - d - 2);
        if (!close) {
            st = nb_error_set(err, NB_ERR_CONFIG, "%sunterminated '${' in a value: close it with '}' or write '$${' for a literal '${'",
                              where);
            goto fail;
        }
        const char *name = s + d + 2;
        size_t name_len = (size_t)(close - name);
        char ref[256];
        if (name_len >= sizeof ref) {
            st = nb_error_set(err, NB_ERR_CONFIG, "%sreference '${...}' is too long (over 255 bytes)", where);
            goto fail;
        }
        memcpy(ref, name, name_len);
        ref[name_len] = '\0';
        if (memchr(ref, '\0', name_len)) {
            st = nb_error_set(err, NB_ERR_CONFIG, "%sreference '${...}' contains a NUL byte", where);
            goto fail;
        }
        if (strncmp(ref, "file:", 5) == 0) {
            if (!ref[5]) {
                st = nb_error_set(err, NB_ERR_CONFIG, "%s'${file:}' needs a path, e.g. ${file:/run/secrets/pg_password}", where);
                goto fail;
            }
            if ((st = read_secret_file(ref + 5, where, &b, err)) != NB_OK) goto fail;
        } else {
            if (!env_name_ok(ref, name_len)) {
                st = nb_error_set(err, NB_ERR_CONFIG,
                                  "%s'${%s}' is not a valid reference: use ${ENV_VAR} (letters, digits, '_') or ${file:/path}",
                                  where, ref);
                goto fail;
            }
            const char *v = getenv(ref);
            if (!v) {
                st = nb_error_set(err, NB_ERR_CONFIG, "%senvironment variable '%s' is not set: export it or change the value",
                                  where, ref);
                goto fail;
            }
            nb_buf_puts(&b, v);
        }
        i = (size_t)(close - s) + 1;
    }
    if ((st = nb_buf_status(&b, err)) != NB_OK) goto fail;
    if (!b.data) {
        *out = strdup("");
        if (!*out) return nb_error_set(err, NB_ERR_NOMEM, "out of memory loading configuration");
        return NB_OK;
    }
    *out = nb_buf_detach(&b, NULL);
    return NB_OK;
fail:
    nb_buf_cleanup(&b);
    return st;
}

/* --- loading ------------------------------------------------------------------------------- */

static bool plain_null(const char *v, size_t n)
{
    return n == 0 || (n == 1 && v[0] == '~') || (n == 4 && (memcmp(v, "null", 4) == 0 || memcmp(v, "Null", 4) == 0 ||
                                                            memcmp(v, "NULL", 4) == 0));
}

struct frame {
    struct nb_cfg *node;
    char *pending_key;      /* MAP: the key read, waiting for its value */
    int key_line, key_col;
};

static nb_status yaml_error(const yaml_parser_t *p, const char *name, struct nb_error *err)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->context)
        return nb_error_set(err, NB_ERR_CONFIG, "%s:%d:%d: YAML error: %s (%s at line %d)", name, line, col, problem,
                            p->context, (int)p->context_mark.line + 1);
    return nb_error_set(err, NB_ERR_CONFIG, "%s:%d:%d: YAML error: %s", name, line, col, problem);
}

nb_status nb_cfg_load_string(const char *text, size_t len, const char *name, struct nb_cfg **out,
                             struct nb_error *err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct frame stack[CFG_MAX_DEPTH + 1];
    int depth = 0;
    struct nb_cfg *root = NULL;
    bool have_event = false, done = false;
    int documents = 0;
    nb_status st = NB_OK;
    char where[512];

    *out = NULL;
    if (!name) name = "<config>";
    if (!yaml_parser_initialize(&parser)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory loading configuration");
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""), text ? len : 0);
    memset(stack, 0, sizeof stack);

    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            st = yaml_error(&parser, name, err);
            goto fail;
        }
        have_event = true;
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        snprintf(where, sizeof where, "%s:%d:%d: ", name, line, col);
        struct frame *top = depth ? &stack[depth - 1] : NULL;
        struct nb_cfg *node = NULL;

        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                st = nb_error_set(err, NB_ERR_CONFIG, "%sa second YAML document ('---'): a config file holds exactly one", where);
                goto fail;
            }
            break;
        case YAML_ALIAS_EVENT:
            st = nb_error_set(err, NB_ERR_CONFIG, "%sYAML aliases (*%s) are not supported: repeat the value instead", where,
                              (const char *)ev.data.alias.anchor);
            goto fail;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            if (depth > 0) depth--;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            size_t vn = ev.data.scalar.length;
            bool quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                          (ev.data.scalar.tag && strcmp((const char *)ev.data.scalar.tag, YAML_STR_TAG) == 0);
            if (top && top->node->kind == NB_CFG_MAP && !top->pending_key) {
                /* a key */
                if (memchr(v, '\0', vn) || vn == 0) {
                    st = nb_error_set(err, NB_ERR_CONFIG, "%san empty key (or one with a NUL byte) is not allowed", where);
                    goto fail;
                }
                struct nb_cfg *dup = map_find(top->node, v, NULL);
                if (dup) {
                    st = nb_error_set(err, NB_ERR_CONFIG, "%sduplicate key '%s' (first at line %d): keep one of them", where, v,
                                      dup->line);
                    goto fail;
                }
                if (!(top->pending_key = strdup(v))) goto oom;
                top->key_line = line;
                top->key_col = col;
                break;
            }
            if (!quoted && plain_null(v, vn)) {
                if (!(node = node_new(NB_CFG_NULL, name, line, col))) goto oom;
            } else {
                if (!(node = node_new(NB_CFG_SCALAR, name, line, col))) goto oom;
                node->quoted = quoted;
                if (memchr(v, '\0', vn)) {
                    nb_cfg_destroy(node);
                    st = nb_error_set(err, NB_ERR_CONFIG, "%sa value contains a NUL byte", where);
                    goto fail;
                }
                if ((st = interpolate(v, vn, where, &node->value, err)) != NB_OK) {
                    nb_cfg_destroy(node);
                    goto fail;
                }
            }
            break;
        }
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (top && top->node->kind == NB_CFG_MAP && !top->pending_key) {
                st = nb_error_set(err, NB_ERR_CONFIG, "%sa map or list used as a key: keys must be plain names", where);
                goto fail;
            }
            if (depth >= CFG_MAX_DEPTH) {
                st = nb_error_set(err, NB_ERR_CONFIG, "%snested more than %d levels deep", where, CFG_MAX_DEPTH);
                goto fail;
            }
            if (!(node = node_new(ev.type == YAML_MAPPING_START_EVENT ? NB_CFG_MAP : NB_CFG_LIST, name, line, col)))
                goto oom;
            break;
        default:
            break;
        }

        if (node) {
            /* Attach the new value: to the root slot, a map under its pending key, or a list. */
            if (!top) {
                if (root) {
                    nb_cfg_destroy(node);
                    st = nb_error_set(err, NB_ERR_CONFIG, "%sunexpected second value at the top level", where);
                    goto fail;
                }
                root = node;
            } else {
                if (top->node->kind == NB_CFG_MAP) {
                    node->key = top->pending_key;
                    top->pending_key = NULL;
                    /* A member is reported where its key is, which is what a reader looks for. */
                    node->line = top->key_line;
                    node->column = top->key_col;
                }
                if (!node_append(top->node, node)) {
                    nb_cfg_destroy(node);
                    goto oom;
                }
            }
            if (node->kind == NB_CFG_MAP || node->kind == NB_CFG_LIST) {
                stack[depth].node = node;
                stack[depth].pending_key = NULL;
                depth++;
            }
        }
        yaml_event_delete(&ev);
        have_event = false;
    }
    yaml_parser_delete(&parser);
    if (!root) {
        /* An empty file is an empty map: validation then names what is missing. */
        if (!(root = node_new(NB_CFG_MAP, name, 1, 1))) return nb_error_set(err, NB_ERR_NOMEM, "out of memory loading configuration");
    } else if (root->kind == NB_CFG_NULL) {
        root->kind = NB_CFG_MAP;
    }
    *out = root;
    return NB_OK;

oom:
    st = nb_error_set(err, NB_ERR_NOMEM, "out of memory loading configuration");
fail:
    if (have_event) yaml_event_delete(&ev);
    for (int i = 0; i < CFG_MAX_DEPTH + 1; i++) free(stack[i].pending_key);
    yaml_parser_delete(&parser);
    nb_cfg_destroy(root);
    return st;
}

nb_status nb_cfg_load_file(const char *path, struct nb_cfg **out, struct nb_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return nb_error_set(err, NB_ERR_CONFIG, "cannot open config file '%s': %s", path, strerror(errno));
    struct nb_buf b;
    nb_buf_init(&b);
    char chunk[8192];
    size_t got;
    nb_status st = NB_OK;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + got > CFG_MAX_FILE) {
            st = nb_error_set(err, NB_ERR_CONFIG, "config file '%s' is larger than 16 MiB", path);
            goto done;
        }
        nb_buf_append(&b, chunk, got);
    }
    if (ferror(f)) {
        st = nb_error_set(err, NB_ERR_CONFIG, "cannot read config file '%s': %s", path, strerror(errno));
        goto done;
    }
    if ((st = nb_buf_status(&b, err)) != NB_OK) goto done;
    st = nb_cfg_load_string(b.data ? b.data : "", b.len, path, out, err);
done:
    fclose(f);
    nb_buf_cleanup(&b);
    return st;
}

/* --- validation ---------------------------------------------------------------------------- */

struct flat_spec {
    const struct nb_config_key **keys;
    size_t n, cap;
    bool oom;
};

static void flatten(struct flat_spec *fs, const struct nb_config_key *spec, int depth)
{
    if (!spec || depth > CFG_MAX_INCLUDE_DEPTH) return;
    for (const struct nb_config_key *k = spec; k->name || k->type == NB_KEY_INCLUDE; k++) {
        if (k->type == NB_KEY_INCLUDE) {
            flatten(fs, k->children, depth + 1);
            if (!k->name) continue;   /* an include entry may have no name */
            continue;
        }
        bool seen = false;
        for (size_t i = 0; i < fs->n && !seen; i++) seen = strcmp(fs->keys[i]->name, k->name) == 0;
        if (seen) continue;   /* the first definition wins */
        if (fs->n == fs->cap) {
            size_t cap = fs->cap ? fs->cap * 2 : 32;
            const struct nb_config_key **nk = realloc(fs->keys, cap * sizeof *nk);
            if (!nk) { fs->oom = true; return; }
            fs->keys = nk;
            fs->cap = cap;
        }
        fs->keys[fs->n++] = k;
    }
}

static bool parse_bool_text(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(v, yes[i]) == 0) { *out = true; return true; }
        if (strcasecmp(v, no[i]) == 0) { *out = false; return true; }
    }
    return false;
}

static bool parse_float_text(const char *v, double *out)
{
    if (!v[0] || v[0] == ' ' || v[0] == '\t') return false;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*end || !isfinite(d)) return false;
    *out = d;
    return true;
}

static bool enum_has(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == vl && strncmp(p, v, l) == 0) return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

/* The nearest choice of an enum, copied into out ("" when none is near). */
static void enum_nearest(const char *choices, const char *v, char *out, size_t cap)
{
    char buf[512];
    const char *cands[64];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", choices ? choices : "");
    for (char *save = NULL, *t = strtok_r(buf, "|", &save); t && n < 64; t = strtok_r(NULL, "|", &save)) cands[n++] = t;
    const char *best = nb_nearest(v, cands, n);
    snprintf(out, cap, "%s", best ? best : "");
}

static char *join_path(const char *section, const char *key)
{
    size_t sl = section && *section ? strlen(section) : 0, kl = strlen(key);
    char *p = malloc(sl + kl + 2);
    if (!p) return NULL;
    if (sl) {
        memcpy(p, section, sl);
        p[sl] = '.';
        memcpy(p + sl + 1, key, kl + 1);
    } else {
        memcpy(p, key, kl + 1);
    }
    return p;
}

static const char *key_type_name(enum nb_key_type t)
{
    switch (t) {
    case NB_KEY_STRING: return "string";
    case NB_KEY_INT: return "int";
    case NB_KEY_FLOAT: return "float";
    case NB_KEY_BOOL: return "bool";
    case NB_KEY_DURATION: return "duration";
    case NB_KEY_SIZE: return "size";
    case NB_KEY_ENUM: return "enum";
    case NB_KEY_LIST: return "list";
    case NB_KEY_MAP: return "map";
    case NB_KEY_INCLUDE: return "include";
    }
    return "?";
}

static const char *kind_name(enum nb_cfg_kind k)
{
    switch (k) {
    case NB_CFG_NULL: return "an empty value";
    case NB_CFG_SCALAR: return "a single value";
    case NB_CFG_MAP: return "a map";
    case NB_CFG_LIST: return "a list";
    }
    return "?";
}

static void mark_secret(struct nb_cfg *node)
{
    node->secret = true;
    if (node->kind == NB_CFG_SCALAR && node->value) nb_log_add_secret(node->value);
    for (size_t i = 0; i < node->n_children; i++) mark_secret(node->children[i]);
}

static nb_status validate_map(struct nb_cfg *map, const struct nb_config_key *spec, const char *section,
                              struct nb_error *err);

/* Check one scalar against a scalar key type. `shown` is the value as a message may show it. */
static nb_status check_scalar(const struct nb_cfg *node, const struct nb_config_key *k, const char *path,
                              const char *where, struct nb_error *err)
{
    const char *v = node->value ? node->value : "";
    bool secret = (k->flags & NB_KEY_SECRET) != 0;
    char shown[160];
    if (secret) snprintf(shown, sizeof shown, "the value (hidden: secret)");
    else snprintf(shown, sizeof shown, "'%.120s%s'", v, strlen(v) > 120 ? "..." : "");
    switch (k->type) {
    case NB_KEY_STRING:
    case NB_KEY_LIST:
        return NB_OK;
    case NB_KEY_INT: {
        int64_t i;
        if (!nb_parse_i64(v, strlen(v), &i))
            return nb_error_set(err, NB_ERR_CONFIG, "%s%s: %s is not a whole number", where, path, shown);
        return NB_OK;
    }
    case NB_KEY_FLOAT: {
        double d;
        if (!parse_float_text(v, &d)) return nb_error_set(err, NB_ERR_CONFIG, "%s%s: %s is not a number", where, path, shown);
        return NB_OK;
    }
    case NB_KEY_BOOL: {
        bool b;
        if (!parse_bool_text(v, &b))
            return nb_error_set(err, NB_ERR_CONFIG, "%s%s: %s is not a boolean: use true or false", where, path, shown);
        return NB_OK;
    }
    case NB_KEY_DURATION: {
        uint64_t ms;
        if (nb_parse_duration_ms(v, &ms, NULL) != NB_OK)
            return nb_error_set(err, NB_ERR_CONFIG, "%s%s: %s is not a duration: use a number with a unit, e.g. 500ms, 10s, 5m, 1h",
                                where, path, shown);
        return NB_OK;
    }
    case NB_KEY_SIZE: {
        uint64_t bytes;
        if (nb_parse_size(v, &bytes, NULL) != NB_OK)
            return nb_error_set(err, NB_ERR_CONFIG, "%s%s: %s is not a size: use e.g. 4096, 64KiB, 256MiB, 1GiB", where, path,
                                shown);
        return NB_OK;
    }
    case NB_KEY_ENUM: {
        if (enum_has(k->choices, v)) return NB_OK;
        char near[64] = "";
        if (!secret) enum_nearest(k->choices, v, near, sizeof near);
        if (near[0])
            return nb_error_set(err, NB_ERR_CONFIG, "%s%s: %s is not one of %s; did you mean '%s'?", where, path, shown,
                                k->choices ? k->choices : "", near);
        return nb_error_set(err, NB_ERR_CONFIG, "%s%s: %s is not one of %s", where, path, shown, k->choices ? k->choices : "");
    }
    case NB_KEY_MAP:
    case NB_KEY_INCLUDE:
        break;
    }
    return NB_OK;
}

static nb_status check_node(struct nb_cfg *node, const struct nb_config_key *k, const char *section,
                            struct nb_error *err)
{
    char where[512];
    where_prefix(node, where, sizeof where);
    char *path = join_path(section, k->name);
    if (!path) return nb_error_set(err, NB_ERR_NOMEM, "out of memory validating configuration");
    nb_status st = NB_OK;
    if (k->flags & NB_KEY_SECRET) mark_secret(node);

    switch (k->type) {
    case NB_KEY_MAP:
        if (node->kind != NB_CFG_MAP) {
            st = nb_error_set(err, NB_ERR_CONFIG, "%s%s must be a map of keys (key: value lines), not %s", where, path,
                              kind_name(node->kind));
            break;
        }
        if (k->children) st = validate_map(node, k->children, path, err);
        break;
    case NB_KEY_LIST:
        if (node->kind == NB_CFG_SCALAR) break;
        if (node->kind != NB_CFG_LIST) {
            st = nb_error_set(err, NB_ERR_CONFIG, "%s%s must be a list (or a single value), not %s", where, path,
                              kind_name(node->kind));
            break;
        }
        for (size_t i = 0; i < node->n_children; i++) {
            if (node->children[i]->kind != NB_CFG_SCALAR) {
                where_prefix(node->children[i], where, sizeof where);
                st = nb_error_set(err, NB_ERR_CONFIG, "%s%s: item %zu must be a single value, not %s", where, path, i + 1,
                                  kind_name(node->children[i]->kind));
                break;
            }
        }
        break;
    default:
        if (node->kind != NB_CFG_SCALAR) {
            st = nb_error_set(err, NB_ERR_CONFIG, "%s%s must be a single %s value, not %s", where, path, key_type_name(k->type),
                              kind_name(node->kind));
            break;
        }
        st = check_scalar(node, k, path, where, err);
        break;
    }
    free(path);
    return st;
}

static nb_status validate_map(struct nb_cfg *map, const struct nb_config_key *spec, const char *section,
                              struct nb_error *err)
{
    char where[512];
    struct flat_spec fs = {0};
    nb_status st = NB_OK;
    const char **names = NULL;
    const char *in = section && *section ? section : "the top level";

    if (map->kind == NB_CFG_NULL) map->kind = NB_CFG_MAP;   /* "performance:" with nothing under it */
    if (map->kind != NB_CFG_MAP) {
        where_prefix(map, where, sizeof where);
        return nb_error_set(err, NB_ERR_CONFIG, "%s%s must be a map of keys (key: value lines), not %s", where,
                            section && *section ? section : "the configuration", kind_name(map->kind));
    }
    flatten(&fs, spec, 0);
    if (fs.oom || !(names = malloc((fs.n + 1) * sizeof *names))) {
        st = nb_error_set(err, NB_ERR_NOMEM, "out of memory validating configuration");
        goto done;
    }
    for (size_t i = 0; i < fs.n; i++) names[i] = fs.keys[i]->name;
    names[fs.n] = "type";

    /* Keys present: known, of the right type. */
    for (size_t i = 0; i < map->n_children; i++) {
        struct nb_cfg *child = map->children[i];
        const struct nb_config_key *k = NULL;
        for (size_t j = 0; j < fs.n && !k; j++)
            if (child->key && strcmp(fs.keys[j]->name, child->key) == 0) k = fs.keys[j];
        if (!k) {
            if (child->key && strcmp(child->key, "type") == 0) continue;
            where_prefix(child, where, sizeof where);
            const char *near = child->key ? nb_nearest(child->key, names, fs.n + 1) : NULL;
            if (near)
                st = nb_error_set(err, NB_ERR_CONFIG, "%sunknown key '%s' in %s; did you mean '%s'?", where,
                                  child->key ? child->key : "", in, near);
            else
                st = nb_error_set(err, NB_ERR_CONFIG, "%sunknown key '%s' in %s (see `nebula spec` for the valid keys)", where,
                                  child->key ? child->key : "", in);
            goto done;
        }
        /* "section:" with nothing under it is an empty section (its defaults apply); any other
         * "key:" with no value counts as absent, below. */
        if (child->kind == NB_CFG_NULL && k->type == NB_KEY_MAP) child->kind = NB_CFG_MAP;
        if (child->kind == NB_CFG_NULL) continue;
        /* Paths under a root are "performance.batch_size", under a keyed section "source.cdc.slot". */
        if ((st = check_node(child, k, map->key ? section : NULL, err)) != NB_OK) goto done;
    }

    /* Keys absent (or empty): required ones are an error, defaults are filled in. */
    for (size_t j = 0; j < fs.n; j++) {
        const struct nb_config_key *k = fs.keys[j];
        struct nb_cfg *child = map_find(map, k->name, NULL);
        if (child && child->kind != NB_CFG_NULL) continue;
        if (k->flags & NB_KEY_REQUIRED) {
            where_prefix(child ? child : map, where, sizeof where);
            st = nb_error_set(err, NB_ERR_CONFIG, "%s%s: missing required key '%s'%s%s%s", where, in, k->name,
                              k->help ? " (" : "", k->help ? k->help : "", k->help ? ")" : "");
            goto done;
        }
        if (!k->default_value) continue;
        if (child) {
            /* Keep the place the user wrote "key:" and give it the default. */
            child->kind = NB_CFG_SCALAR;
            if (!(child->value = strdup(k->default_value))) goto oom;
        } else {
            struct nb_cfg *d = node_new(NB_CFG_SCALAR, NULL, 0, 0);
            if (!d) goto oom;
            if (!(d->key = strdup(k->name)) || !(d->value = strdup(k->default_value)) || !node_append(map, d)) {
                nb_cfg_destroy(d);
                goto oom;
            }
            child = d;
        }
        if (k->flags & NB_KEY_SECRET) mark_secret(child);
    }
    goto done;
oom:
    st = nb_error_set(err, NB_ERR_NOMEM, "out of memory validating configuration");
done:
    free(names);
    free(fs.keys);
    return st;
}

nb_status nb_cfg_validate(struct nb_cfg *map, const struct nb_config_key *spec, const char *section,
                          struct nb_error *err)
{
    if (!map) return nb_error_set(err, NB_ERR_CONFIG, "%s: missing section", section && *section ? section : "configuration");
    return validate_map(map, spec, section, err);
}

/* --- getters ------------------------------------------------------------------------------- */

const struct nb_cfg *nb_cfg_child(const struct nb_cfg *map, const char *key)
{
    return map_find(map, key, NULL);
}

static const char *scalar_of(const struct nb_cfg *map, const char *key)
{
    const struct nb_cfg *c = map_find(map, key, NULL);
    return c && c->kind == NB_CFG_SCALAR ? c->value : NULL;
}

const char *nb_cfg_string(const struct nb_cfg *map, const char *key, const char *fallback)
{
    const char *v = scalar_of(map, key);
    return v ? v : fallback;
}

int64_t nb_cfg_int(const struct nb_cfg *map, const char *key, int64_t fallback)
{
    const char *v = scalar_of(map, key);
    int64_t i;
    return v && nb_parse_i64(v, strlen(v), &i) ? i : fallback;
}

double nb_cfg_float(const struct nb_cfg *map, const char *key, double fallback)
{
    const char *v = scalar_of(map, key);
    double d;
    return v && parse_float_text(v, &d) ? d : fallback;
}

bool nb_cfg_bool(const struct nb_cfg *map, const char *key, bool fallback)
{
    const char *v = scalar_of(map, key);
    bool b;
    return v && parse_bool_text(v, &b) ? b : fallback;
}

uint64_t nb_cfg_duration_ms(const struct nb_cfg *map, const char *key, uint64_t fallback)
{
    const char *v = scalar_of(map, key);
    uint64_t ms;
    return v && nb_parse_duration_ms(v, &ms, NULL) == NB_OK ? ms : fallback;
}

uint64_t nb_cfg_size(const struct nb_cfg *map, const char *key, uint64_t fallback)
{
    const char *v = scalar_of(map, key);
    uint64_t b;
    return v && nb_parse_size(v, &b, NULL) == NB_OK ? b : fallback;
}

size_t nb_cfg_strings(const struct nb_cfg *map, const char *key, const char **out, size_t max)
{
    const struct nb_cfg *c = map_find(map, key, NULL);
    if (!c) return 0;
    if (c->kind == NB_CFG_SCALAR) {
        if (!max) return 1;
        out[0] = c->value;
        return 1;
    }
    if (c->kind != NB_CFG_LIST) return 0;
    size_t n = 0, total = 0;
    for (size_t i = 0; i < c->n_children; i++) {
        if (c->children[i]->kind != NB_CFG_SCALAR) continue;
        total++;
        if (n < max) out[n++] = c->children[i]->value;
    }
    return max ? n : total;   /* max 0 asks how many there are */
}

/* --- building ------------------------------------------------------------------------------ */

struct nb_cfg *nb_cfg_new_map(void)
{
    return node_new(NB_CFG_MAP, NULL, 0, 0);
}

struct nb_cfg *nb_cfg_take(struct nb_cfg *map, const char *key)
{
    size_t idx;
    struct nb_cfg *c = map_find(map, key, &idx);
    if (!c) return NULL;
    memmove(map->children + idx, map->children + idx + 1, (map->n_children - idx - 1) * sizeof *map->children);
    map->n_children--;
    if (map->n_children == 0) {
        free(map->children);
        map->children = NULL;
    }
    /* Otherwise the array keeps its capacity (>= the old count), so node_append's rule holds. */
    return c;
}

void nb_cfg_put(struct nb_cfg *map, const char *key, struct nb_cfg *child)
{
    if (!map || !child || !key) {
        nb_cfg_destroy(child);
        return;
    }
    if (map->kind == NB_CFG_NULL) map->kind = NB_CFG_MAP;
    if (map->kind != NB_CFG_MAP) {
        nb_cfg_destroy(child);
        return;
    }
    char *k = strdup(key);
    if (!k) {
        nb_cfg_destroy(child);
        return;
    }
    free(child->key);
    child->key = k;
    size_t idx;
    struct nb_cfg *old = map_find(map, key, &idx);
    if (old) {
        map->children[idx] = child;
        nb_cfg_destroy(old);
        return;
    }
    if (!node_append(map, child)) nb_cfg_destroy(child);
}

struct nb_cfg *nb_cfg_set(struct nb_cfg *map, const char *dotted_key, const char *value)
{
    if (!map || !dotted_key || !*dotted_key) return NULL;
    /* Refuse "a..b", ".a", "a." before creating anything. */
    if (dotted_key[0] == '.' || dotted_key[strlen(dotted_key) - 1] == '.' || strstr(dotted_key, "..")) return NULL;
    struct nb_cfg *cur = map;
    const char *p = dotted_key;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0) return NULL;
        char *seg = strndup(p, len);
        if (!seg) return NULL;
        if (cur->kind == NB_CFG_NULL) cur->kind = NB_CFG_MAP;
        if (cur->kind != NB_CFG_MAP) {   /* cannot happen for nodes made here; a scalar in the way is replaced below */
            free(seg);
            return NULL;
        }
        struct nb_cfg *next = map_find(cur, seg, NULL);
        if (dot) {
            if (!next || next->kind != NB_CFG_MAP) {
                struct nb_cfg *m = nb_cfg_new_map();
                if (!m) { free(seg); return NULL; }
                nb_cfg_put(cur, seg, m);
                next = map_find(cur, seg, NULL);
                if (next != m) { free(seg); return NULL; }
            }
            free(seg);
            cur = next;
            p = dot + 1;
            continue;
        }
        struct nb_cfg *s = node_new(value ? NB_CFG_SCALAR : NB_CFG_NULL, NULL, 0, 0);
        if (!s || (value && !(s->value = strdup(value)))) {
            nb_cfg_destroy(s);
            free(seg);
            return NULL;
        }
        nb_cfg_put(cur, seg, s);
        struct nb_cfg *got = map_find(cur, seg, NULL);
        free(seg);
        return got == s ? s : NULL;
    }
}

/* --- `nebula spec` ------------------------------------------------------------------------- */

static void type_text(const struct nb_config_key *k, char *out, size_t cap)
{
    if (k->type == NB_KEY_ENUM) snprintf(out, cap, "%s", k->choices ? k->choices : "enum");
    else snprintf(out, cap, "%s", key_type_name(k->type));
}

static void spec_print_text(struct nb_buf *out, const struct nb_config_key *spec, int indent)
{
    struct flat_spec fs = {0};
    flatten(&fs, spec, 0);
    int wname = 4, wtype = 4, wdef = 7;
    for (size_t i = 0; i < fs.n; i++) {
        const struct nb_config_key *k = fs.keys[i];
        char t[256];
        type_text(k, t, sizeof t);
        int l = (int)strlen(k->name);
        if (l > wname) wname = l;
        if ((int)strlen(t) > wtype) wtype = (int)strlen(t);
        if (k->default_value && (int)strlen(k->default_value) > wdef) wdef = (int)strlen(k->default_value);
    }
    if (wdef < 10) wdef = 10;   /* "(required)" */
    for (size_t i = 0; i < fs.n; i++) {
        const struct nb_config_key *k = fs.keys[i];
        char t[256];
        type_text(k, t, sizeof t);
        const char *def = k->default_value ? (k->default_value[0] ? k->default_value : "\"\"")
                                           : (k->flags & NB_KEY_REQUIRED) ? "(required)" : "-";
        nb_buf_printf(out, "%*s%-*s  %-*s  %-*s  %s%s\n", indent + 2, "", wname, k->name, wtype, t, wdef, def,
                      k->help ? k->help : "", (k->flags & NB_KEY_SECRET) ? " (secret)" : "");
        if (k->type == NB_KEY_MAP && k->children) spec_print_text(out, k->children, indent + 2);
    }
    if (fs.oom) out->oom = true;
    free(fs.keys);
}

static void json_str_or_null(struct nb_buf *out, const char *s)
{
    if (s) nb_buf_json_string(out, s, strlen(s));
    else nb_buf_puts(out, "null");
}

static void spec_print_json(struct nb_buf *out, const struct nb_config_key *spec)
{
    struct flat_spec fs = {0};
    flatten(&fs, spec, 0);
    nb_buf_putc(out, '[');
    for (size_t i = 0; i < fs.n; i++) {
        const struct nb_config_key *k = fs.keys[i];
        if (i) nb_buf_putc(out, ',');
        nb_buf_puts(out, "{\"name\":");
        json_str_or_null(out, k->name);
        nb_buf_printf(out, ",\"type\":\"%s\",\"default\":", key_type_name(k->type));
        json_str_or_null(out, k->default_value);
        if (k->type == NB_KEY_ENUM) {
            nb_buf_puts(out, ",\"choices\":[");
            const char *p = k->choices ? k->choices : "";
            bool first = true;
            while (*p) {
                const char *bar = strchr(p, '|');
                size_t l = bar ? (size_t)(bar - p) : strlen(p);
                if (!first) nb_buf_putc(out, ',');
                nb_buf_json_string(out, p, l);
                first = false;
                p += l + (bar ? 1 : 0);
            }
            nb_buf_putc(out, ']');
        }
        nb_buf_printf(out, ",\"required\":%s,\"secret\":%s,\"help\":", (k->flags & NB_KEY_REQUIRED) ? "true" : "false",
                      (k->flags & NB_KEY_SECRET) ? "true" : "false");
        json_str_or_null(out, k->help);
        if (k->type == NB_KEY_MAP && k->children) {
            nb_buf_puts(out, ",\"children\":");
            spec_print_json(out, k->children);
        }
        nb_buf_putc(out, '}');
    }
    nb_buf_putc(out, ']');
    if (fs.oom) out->oom = true;
    free(fs.keys);
}

void nb_config_spec_print(struct nb_buf *out, const struct nb_config_key *spec, bool json, int indent)
{
    if (json) spec_print_json(out, spec);
    else spec_print_text(out, spec, indent);
}
