/* Fuzz target for core/config: arbitrary bytes are loaded as YAML/JSON, validated against a small
 * spec (nested map, include, list, enum, secret, required, defaults), read back through the getters
 * and the spec printer. It must never crash, hang or leak, whatever the bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct nb_config_key inner_keys[] = {
    {"user", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED, "user"},
    {"password", NB_KEY_STRING, NULL, NULL, NB_KEY_SECRET, "password"},
    {NULL},
};
static const struct nb_config_key shared_keys[] = {
    {"compression", NB_KEY_ENUM, "none", "none|gzip|zstd", 0, "codec"},
    {NULL},
};
static const struct nb_config_key spec[] = {
    {"name", NB_KEY_STRING, "x", NULL, 0, "name"},
    {"batch_size", NB_KEY_INT, "10", NULL, 0, "rows"},
    {"ratio", NB_KEY_FLOAT, NULL, NULL, 0, "ratio"},
    {"on", NB_KEY_BOOL, "true", NULL, 0, "flag"},
    {"every", NB_KEY_DURATION, "10s", NULL, 0, "interval"},
    {"limit", NB_KEY_SIZE, "1MiB", NULL, 0, "bytes"},
    {"tables", NB_KEY_LIST, NULL, NULL, 0, "patterns"},
    {"auth", NB_KEY_MAP, NULL, NULL, 0, "credentials", inner_keys},
    {"extra", NB_KEY_MAP, NULL, NULL, 0, "free-form", NULL},
    {NULL, NB_KEY_INCLUDE, NULL, NULL, 0, NULL, shared_keys},
    {NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nb_cfg *cfg = NULL;
    struct nb_error err;
    if (nb_cfg_load_string((const char *)data, size, "fuzz.yaml", &cfg, &err) != NB_OK) return 0;
    if (nb_cfg_validate(cfg, spec, "fuzz", &err) == NB_OK) {
        const char *items[8];
        /* Unsigned and double sinks: the values may be anything a file says. */
        volatile uint64_t sink = (uint64_t)nb_cfg_int(cfg, "batch_size", 0);
        sink += nb_cfg_duration_ms(cfg, "every", 0) + nb_cfg_size(cfg, "limit", 0);
        sink += nb_cfg_bool(cfg, "on", false) + nb_cfg_strings(cfg, "tables", items, 8);
        volatile double fsink = nb_cfg_float(cfg, "ratio", 0.0);
        (void)sink;
        (void)fsink;
        (void)nb_cfg_string(nb_cfg_child(cfg, "auth"), "user", NULL);
    }
    char where[256];
    nb_cfg_where(cfg, where, sizeof where);
    /* Building on a loaded tree: dotted set over whatever is there, take and put back. */
    nb_cfg_set(cfg, "auth.user", "u");
    struct nb_cfg *t = nb_cfg_take(cfg, "extra");
    if (t) nb_cfg_put(cfg, "extra2", t);
    struct nb_buf out;
    nb_buf_init(&out);
    nb_config_spec_print(&out, spec, size & 1, 0);
    nb_buf_cleanup(&out);
    nb_cfg_destroy(cfg);
    return 0;
}
