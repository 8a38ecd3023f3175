/* Shared flags: each run flag maps to one key of the pipeline file, so "a flag overrides the file;
 * the file overrides the default" is a single mechanism: the flag is written into the tree before
 * validation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/str.h"

static const struct { const char *flag; const char *key; } run_flags[] = {
    {"--batch-size", "performance.batch_size"},
    {"--workers", "performance.workers"},
    {"--max-concurrency", "performance.max_concurrency"},
    {"--flush-interval", "performance.flush_interval"},
    {"--memory-limit", "performance.memory_limit"},
    {"--timeout", "timeouts.run"},
    {"--log-level", "observability.log_level"},
    {"--log-format", "observability.log_format"},
    {"--progress", "observability.progress"},
    {"--metrics-addr", "observability.metrics_addr"},
    {"--state", "state.path"},
    {"--on-bad-record", "errors.on_bad_record"},
    {"--dead-letter", "errors.dead_letter_path"},
    {"--max-bad-records", "errors.max_bad_records"},
    {"--storage", "storage.mode"},
    {"--name", "name"},
};
#define N_RUN_FLAGS (sizeof run_flags / sizeof run_flags[0])

static nb_status set_override(struct nb_cli_flags *f, const char *key, const char *value, struct nb_error *err)
{
    if (!f->overrides && !(f->overrides = nb_cfg_new_map())) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    if (!nb_cfg_set(f->overrides, key, value)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    return NB_OK;
}

nb_status nb_cli_parse_flags(int argc, char **argv, int first, struct nb_cli_flags *f, nb_cli_extra_fn extra,
                             void *user, const char **positionals, int *n_positionals, int max_positionals,
                             struct nb_error *err)
{
    *n_positionals = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { f->help = true; continue; }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (*n_positionals >= max_positionals) return nb_error_set(err, NB_ERR_CONFIG, "unexpected argument '%s'", a);
            positionals[(*n_positionals)++] = a;
            continue;
        }
        /* --flag=value is the same as --flag value */
        char name[64];
        const char *value = NULL;
        const char *eq = strchr(a, '=');
        if (eq && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            value = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        if (extra) {
            /* The command's own flags first. */
            const char *next = i + 1 < argc ? argv[i + 1] : NULL;
            bool took_next = false;
            int handled = extra(user, name, value, next, &took_next, err);
            if (handled < 0) return NB_ERR_CONFIG;
            if (handled > 0) {
                if (took_next) i++;
                continue;
            }
        }
        const char *key = NULL;
        if (strcmp(name, "-c") == 0 || strcmp(name, "--config") == 0) key = "\001config";
        else if (strcmp(name, "--source") == 0) key = "\001source";
        else if (strcmp(name, "--destination") == 0) key = "\001destination";
        else if (strcmp(name, "--set") == 0) key = "\001set";
        else {
            for (size_t k = 0; k < N_RUN_FLAGS; k++)
                if (strcmp(name, run_flags[k].flag) == 0) key = run_flags[k].key;
        }
        if (!key) {
            const char *names[N_RUN_FLAGS + 5];
            for (size_t k = 0; k < N_RUN_FLAGS; k++) names[k] = run_flags[k].flag;
            names[N_RUN_FLAGS] = "--config";
            names[N_RUN_FLAGS + 1] = "--source";
            names[N_RUN_FLAGS + 2] = "--destination";
            names[N_RUN_FLAGS + 3] = "--set";
            names[N_RUN_FLAGS + 4] = "--help";
            const char *near = nb_nearest(name, names, N_RUN_FLAGS + 5);
            return nb_error_set(err, NB_ERR_CONFIG, "unknown flag '%s'%s%s%s", name, near ? "; did you mean '" : "",
                                near ? near : "", near ? "'?" : "");
        }
        if (!value) {
            if (i + 1 >= argc) return nb_error_set(err, NB_ERR_CONFIG, "flag %s needs a value", name);
            value = argv[++i];
        }
        if (strcmp(key, "\001config") == 0) f->config_path = value;
        else if (strcmp(key, "\001source") == 0) f->source_path_file = value;
        else if (strcmp(key, "\001destination") == 0) f->destination_file = value;
        else if (strcmp(key, "\001set") == 0) {
            const char *e2 = strchr(value, '=');
            if (!e2 || e2 == value) return nb_error_set(err, NB_ERR_CONFIG, "--set needs key.path=value (got '%s')", value);
            char k2[256];
            snprintf(k2, sizeof k2, "%.*s", (int)(e2 - value), value);
            if (set_override(f, k2, e2 + 1, err) != NB_OK) return NB_ERR_NOMEM;
        } else if (set_override(f, key, value, err) != NB_OK) {
            return NB_ERR_NOMEM;
        }
    }
    return NB_OK;
}

void nb_cli_flags_cleanup(struct nb_cli_flags *f)
{
    nb_cfg_destroy(f->overrides);
    f->overrides = NULL;
}

/* Copy every scalar of src (a tree of maps) into dst under its dotted path. */
static nb_status apply(struct nb_cfg *dst, const struct nb_cfg *src, char *prefix, size_t cap, struct nb_error *err)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < src->n_children; i++) {
        const struct nb_cfg *c = src->children[i];
        snprintf(prefix + plen, cap - plen, "%s%s", plen ? "." : "", c->key);
        if (c->kind == NB_CFG_MAP) {
            nb_status rc = apply(dst, c, prefix, cap, err);
            if (rc != NB_OK) return rc;
        } else if (!nb_cfg_set(dst, prefix, c->value ? c->value : "")) {
            return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        }
        prefix[plen] = '\0';
    }
    return NB_OK;
}

nb_status nb_cli_load_config(struct nb_cli_flags *f, struct nb_cfg **out, struct nb_error *err)
{
    struct nb_cfg *root = NULL;
    nb_status rc;
    if (f->config_path) {
        if (f->source_path_file || f->destination_file)
            return nb_error_set(err, NB_ERR_CONFIG, "use either -c FILE or --source F --destination F, not both");
        rc = nb_cfg_load_file(f->config_path, &root, err);
        if (rc != NB_OK) return rc;
    } else if (f->source_path_file || f->destination_file) {
        if (!f->source_path_file || !f->destination_file)
            return nb_error_set(err, NB_ERR_CONFIG, "--source and --destination go together");
        struct nb_cfg *src = NULL, *dst = NULL;
        rc = nb_cfg_load_file(f->source_path_file, &src, err);
        if (rc == NB_OK) rc = nb_cfg_load_file(f->destination_file, &dst, err);
        if (rc != NB_OK) { nb_cfg_destroy(src); nb_cfg_destroy(dst); return rc; }
        root = nb_cfg_new_map();
        if (!root) { nb_cfg_destroy(src); nb_cfg_destroy(dst); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
        /* A file may hold the section itself or {source: {...}} / {destination: {...}}. */
        struct nb_cfg *inner = nb_cfg_take(src, "source");
        if (inner) { nb_cfg_destroy(src); src = inner; }
        inner = nb_cfg_take(dst, "destination");
        if (inner) { nb_cfg_destroy(dst); dst = inner; }
        nb_cfg_put(root, "source", src);
        nb_cfg_put(root, "destination", dst);
    } else {
        root = nb_cfg_new_map();
        if (!root) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    if (f->overrides) {
        char prefix[512] = "";
        rc = apply(root, f->overrides, prefix, sizeof prefix, err);
        if (rc != NB_OK) { nb_cfg_destroy(root); return rc; }
    }
    *out = root;
    return NB_OK;
}
