/* Configuration: a YAML (or JSON) file loaded into a tree of nodes that remember where they came
 * from (file:line:column), with ${ENV} and ${file:/path} interpolation applied to scalars, then
 * validated against declarative spec tables (the same tables `nebula spec` prints). */
#ifndef NB_CORE_CONFIG_H
#define NB_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

enum nb_cfg_kind { NB_CFG_NULL, NB_CFG_SCALAR, NB_CFG_MAP, NB_CFG_LIST };

struct nb_cfg {
    enum nb_cfg_kind kind;
    char *key;                 /* key in the parent map, NULL for list items and the root */
    char *value;               /* scalar text after interpolation (NULL unless SCALAR) */
    bool quoted;               /* the scalar was quoted in the source ("123" is a string) */
    bool secret;               /* set by validation when the spec marks this key secret */
    struct nb_cfg **children;  /* MAP: members in file order; LIST: items */
    size_t n_children;
    char *file;                /* where it came from, for messages */
    int line, column;          /* 1-based */
};

/* --- the spec tables ---------------------------------------------------------------------- */
enum nb_key_type {
    NB_KEY_STRING, NB_KEY_INT, NB_KEY_FLOAT, NB_KEY_BOOL, NB_KEY_DURATION, NB_KEY_SIZE,
    NB_KEY_ENUM,      /* one of `choices` ("a|b|c") */
    NB_KEY_LIST,      /* list of scalars (a single scalar is accepted as a one-item list) */
    NB_KEY_MAP,       /* nested map validated against `children` (or free-form if children NULL) */
    NB_KEY_INCLUDE,   /* not a key: splice in the keys of `children` (shared tables, e.g. format options) */
};
#define NB_KEY_REQUIRED 0x1u
#define NB_KEY_SECRET   0x2u   /* value never printed; registered with nb_log_add_secret */

struct nb_config_key {
    const char *name;
    enum nb_key_type type;
    const char *default_value;         /* as text, NULL for none */
    const char *choices;               /* NB_KEY_ENUM: "a|b|c" */
    unsigned flags;
    const char *help;                  /* one line for `nebula spec` */
    const struct nb_config_key *children; /* NB_KEY_MAP: its keys (NULL-name terminated) */
};
/* Tables end with an entry whose name is NULL. */

/* --- loading ------------------------------------------------------------------------------ */
/* Load a YAML/JSON file. Errors name file:line:column. Interpolation failures (unset variable,
 * unreadable secret file) are NB_ERR_CONFIG naming the variable, never its value. */
nb_status nb_cfg_load_file(const char *path, struct nb_cfg **out, struct nb_error *err);
/* Same from memory; `name` is used in messages. */
nb_status nb_cfg_load_string(const char *text, size_t len, const char *name, struct nb_cfg **out,
                             struct nb_error *err);
void nb_cfg_destroy(struct nb_cfg *cfg);

/* Validate a MAP node against a spec table: unknown keys are an error naming the key, its place
 * and the nearest valid key; wrong types, bad enum values, missing required keys likewise.
 * Marks secret nodes and registers their values with nb_log_add_secret. */
nb_status nb_cfg_validate(struct nb_cfg *map, const struct nb_config_key *spec, const char *section,
                          struct nb_error *err);

/* --- reading (after validation; defaults come from the spec when the key is absent) -------- */
const struct nb_cfg *nb_cfg_child(const struct nb_cfg *map, const char *key);
const char *nb_cfg_string(const struct nb_cfg *map, const char *key, const char *fallback);
int64_t nb_cfg_int(const struct nb_cfg *map, const char *key, int64_t fallback);
double nb_cfg_float(const struct nb_cfg *map, const char *key, double fallback);
bool nb_cfg_bool(const struct nb_cfg *map, const char *key, bool fallback);
uint64_t nb_cfg_duration_ms(const struct nb_cfg *map, const char *key, uint64_t fallback);
uint64_t nb_cfg_size(const struct nb_cfg *map, const char *key, uint64_t fallback);
/* Scalar or list of scalars as an array of strings (pointers into the tree); returns count. */
size_t nb_cfg_strings(const struct nb_cfg *map, const char *key, const char **out, size_t max);

/* Build a tree in code (CLI flags, `nebula pipeline` arguments). */
struct nb_cfg *nb_cfg_new_map(void);
/* Set key=value on a map (replacing an existing key); value may be dotted ("source.path") to
 * create nested maps on the way. Returns NULL on OOM. */
struct nb_cfg *nb_cfg_set(struct nb_cfg *map, const char *dotted_key, const char *value);
/* Detach child `key` from map and return it (caller owns it), or NULL. */
struct nb_cfg *nb_cfg_take(struct nb_cfg *map, const char *key);
/* Attach `child` under `key` (replacing an existing one). */
void nb_cfg_put(struct nb_cfg *map, const char *key, struct nb_cfg *child);

/* The location prefix for messages: "pipeline.yaml:12:3" (or "" when unknown). */
void nb_cfg_where(const struct nb_cfg *node, char *out, size_t cap);
/* Print a spec table for `nebula spec` (secrets flagged, defaults shown). As text or JSON. */
void nb_config_spec_print(struct nb_buf *out, const struct nb_config_key *spec, bool json, int indent);

#endif
