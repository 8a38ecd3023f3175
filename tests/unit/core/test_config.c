/* Unit tests of core/config: YAML and JSON loading with locations, interpolation, validation
 * against spec tables (unknown keys, types, enums, lists, required, includes, defaults, secrets),
 * getters, building trees in code, and the spec printer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"

static struct nb_cfg *load(const char *text, struct nb_error *err)
{
    struct nb_cfg *cfg = NULL;
    nb_status st = nb_cfg_load_string(text, strlen(text), "pipeline.yaml", &cfg, err);
    if (st != NB_OK) {
        assert_null(cfg);
        return NULL;
    }
    return cfg;
}

static void load_fails(const char *text, const char *want_in_message)
{
    struct nb_error err = {0};
    struct nb_cfg *cfg = NULL;
    assert_int_equal(nb_cfg_load_string(text, strlen(text), "pipeline.yaml", &cfg, &err), NB_ERR_CONFIG);
    assert_null(cfg);
    if (!strstr(err.message, want_in_message)) fail_msg("message '%s' lacks '%s'", err.message, want_in_message);
}

static const struct nb_config_key perf_keys[] = {
    {"batch_size", NB_KEY_INT, "10000", NULL, 0, "rows per batch"},
    {"workers", NB_KEY_INT, "2", NULL, 0, "worker threads"},
    {"flush_interval", NB_KEY_DURATION, "10s", NULL, 0, "flush at least this often"},
    {"memory_limit", NB_KEY_SIZE, "256MiB", NULL, 0, "bytes in flight"},
    {"ratio", NB_KEY_FLOAT, NULL, NULL, 0, "a float"},
    {NULL},
};
static const struct nb_config_key auth_keys[] = {
    {"user", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED, "user name"},
    {"password", NB_KEY_STRING, NULL, NULL, NB_KEY_SECRET, "password"},
    {"pin", NB_KEY_INT, NULL, NULL, NB_KEY_SECRET, "a numeric secret"},
    {NULL},
};
static const struct nb_config_key shared_keys[] = {
    {"compression", NB_KEY_ENUM, "none", "none|gzip|zstd", 0, "codec"},
    {NULL},
};
static const struct nb_config_key source_keys[] = {
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED, "file path or glob"},
    {"tables", NB_KEY_LIST, NULL, NULL, 0, "include patterns"},
    {"header", NB_KEY_BOOL, "true", NULL, 0, "first line is a header"},
    {"auth", NB_KEY_MAP, NULL, NULL, 0, "credentials", auth_keys},
    {"extra", NB_KEY_MAP, NULL, NULL, 0, "free-form options", NULL},
    {NULL, NB_KEY_INCLUDE, NULL, NULL, 0, NULL, shared_keys},
    {NULL},
};
static const struct nb_config_key root_keys[] = {
    {"name", NB_KEY_STRING, "nebula", NULL, 0, "pipeline name"},
    {"source", NB_KEY_MAP, NULL, NULL, NB_KEY_REQUIRED, "the source", source_keys},
    {"performance", NB_KEY_MAP, NULL, NULL, 0, "throughput", perf_keys},
    {"mode", NB_KEY_ENUM, "full_refresh", "full_refresh|incremental|cdc", 0, "how to read"},
    {NULL},
};

static void test_yaml_basic(void **state)
{
    struct nb_error err = {0};
    struct nb_cfg *cfg = load("# a pipeline\n"
                              "name: users\n"
                              "source:\n"
                              "  type: csv\n"
                              "  path: \"data/users.csv\"\n"
                              "  tables: [public.a, 'public.b']\n"
                              "performance:\n"
                              "  batch_size: 500\n"
                              "  flush_interval: 1m30s\n"
                              "  memory_limit: 64MiB\n"
                              "  ratio: 0.25\n"
                              "empty:\n"
                              "multi: |\n"
                              "  line one\n"
                              "  line two\n",
                              &err);
    assert_non_null(cfg);
    assert_int_equal(cfg->kind, NB_CFG_MAP);
    assert_string_equal(nb_cfg_string(cfg, "name", NULL), "users");
    const struct nb_cfg *src = nb_cfg_child(cfg, "source");
    assert_non_null(src);
    assert_int_equal(src->kind, NB_CFG_MAP);
    assert_int_equal(src->line, 3);
    assert_int_equal(src->column, 1);
    const struct nb_cfg *path = nb_cfg_child(src, "path");
    assert_int_equal(path->line, 5);
    assert_int_equal(path->column, 3);
    assert_true(path->quoted);
    assert_false(nb_cfg_child(src, "type")->quoted);
    char where[128];
    nb_cfg_where(path, where, sizeof where);
    assert_string_equal(where, "pipeline.yaml:5:3");
    const char *items[4];
    assert_int_equal(nb_cfg_strings(src, "tables", items, 4), 2);
    assert_string_equal(items[0], "public.a");
    assert_string_equal(items[1], "public.b");
    assert_int_equal(nb_cfg_strings(src, "tables", NULL, 0), 2);
    assert_int_equal(nb_cfg_strings(src, "tables", items, 1), 1);
    assert_int_equal(nb_cfg_strings(src, "path", items, 4), 1);   /* a scalar is a one-item list */
    assert_int_equal(nb_cfg_strings(src, "nope", items, 4), 0);

    const struct nb_cfg *perf = nb_cfg_child(cfg, "performance");
    assert_int_equal(nb_cfg_int(perf, "batch_size", 1), 500);
    assert_int_equal(nb_cfg_duration_ms(perf, "flush_interval", 1), 90000);
    assert_int_equal(nb_cfg_size(perf, "memory_limit", 1), 64u << 20);
    assert_true(nb_cfg_float(perf, "ratio", 1.0) == 0.25);
    assert_int_equal(nb_cfg_int(perf, "workers", 7), 7);           /* absent: fallback */
    assert_int_equal(nb_cfg_int(src, "path", 9), 9);               /* not an int: fallback */
    assert_int_equal(nb_cfg_int(NULL, "x", 3), 3);                 /* no map: fallback */
    assert_int_equal(nb_cfg_child(cfg, "empty")->kind, NB_CFG_NULL);
    assert_null(nb_cfg_string(cfg, "empty", NULL));
    assert_string_equal(nb_cfg_string(cfg, "multi", NULL), "line one\nline two\n");
    nb_cfg_destroy(cfg);
}

static void test_json_input(void **state)
{
    struct nb_error err = {0};
    struct nb_cfg *cfg = load("{\n\t\"name\": \"j\",\n\t\"source\": {\"type\": \"csv\", \"path\": \"a.csv\", \"header\": false},\n"
                              "\t\"performance\": {\"batch_size\": 42, \"workers\": \"3\"},\n"
                              "\t\"list\": [1, 2, {\"x\": null}]\n}\n",
                              &err);
    if (!cfg) fail_msg("%s", err.message);
    assert_string_equal(nb_cfg_string(cfg, "name", NULL), "j");
    const struct nb_cfg *src = nb_cfg_child(cfg, "source");
    assert_false(nb_cfg_bool(src, "header", true));
    const struct nb_cfg *perf = nb_cfg_child(cfg, "performance");
    assert_int_equal(nb_cfg_int(perf, "batch_size", 0), 42);
    assert_false(nb_cfg_child(perf, "batch_size")->quoted);
    assert_true(nb_cfg_child(perf, "workers")->quoted);
    const struct nb_cfg *list = nb_cfg_child(cfg, "list");
    assert_int_equal(list->kind, NB_CFG_LIST);
    assert_int_equal(list->n_children, 3);
    assert_int_equal(list->children[2]->kind, NB_CFG_MAP);
    assert_null(list->children[0]->key);
    assert_int_equal(nb_cfg_child(cfg, "source")->line, 3);
    nb_cfg_destroy(cfg);
}

static void test_load_errors(void **state)
{
    load_fails("a: 1\na: 2\n", "pipeline.yaml:2:1: duplicate key 'a' (first at line 1)");
    load_fails("x:\n  y: 1\n  y: 2\n", "pipeline.yaml:3:3: duplicate key 'y'");
    load_fails("a: &anchor 1\nb: *anchor\n", "aliases (*anchor) are not supported");
    load_fails("a: [1, 2\n", "pipeline.yaml:");
    load_fails("a: b: c\n", "YAML error");
    load_fails("a: 1\n---\nb: 2\n", "second YAML document");
    load_fails("? [a, b]\n: 1\n", "used as a key");
    load_fails("a: \xff\xfe\n", "pipeline.yaml:1:");   /* invalid UTF-8: reported with its place */
    char deep[400];
    size_t n = 0;
    for (int i = 0; i < 100; i++) deep[n++] = '[';
    for (int i = 0; i < 100; i++) deep[n++] = ']';
    deep[n] = '\0';
    load_fails(deep, "nested more than 64 levels");
    load_fails("a: \"x\\0y\"\n", "NUL byte");

    /* an empty file is an empty map; a missing file names the file */
    struct nb_error err = {0};
    struct nb_cfg *cfg = load("", &err);
    assert_non_null(cfg);
    assert_int_equal(cfg->kind, NB_CFG_MAP);
    assert_int_equal(cfg->n_children, 0);
    nb_cfg_destroy(cfg);
    cfg = load("# only a comment\n", &err);
    assert_int_equal(cfg->kind, NB_CFG_MAP);
    nb_cfg_destroy(cfg);
    assert_int_equal(nb_cfg_load_file("/nonexistent/pipeline.yaml", &cfg, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "/nonexistent/pipeline.yaml"));
}

static void test_interpolation(void **state)
{
    struct nb_error err = {0};
    setenv("NB_TEST_HOST", "db.example", 1);
    setenv("NB_TEST_EMPTY", "", 1);
    unsetenv("NB_TEST_UNSET");
    struct nb_cfg *cfg = load("url: \"postgres://${NB_TEST_HOST}:5432/x\"\n"
                              "lit: $${NB_TEST_HOST} and $$ and $5 and ${NB_TEST_EMPTY}end\n"
                              "keys_untouched: 1\n",
                              &err);
    if (!cfg) fail_msg("%s", err.message);
    assert_string_equal(nb_cfg_string(cfg, "url", NULL), "postgres://db.example:5432/x");
    assert_string_equal(nb_cfg_string(cfg, "lit", NULL), "${NB_TEST_HOST} and $$ and $5 and end");
    nb_cfg_destroy(cfg);

    /* unset variable: named, with its place */
    load_fails("a: 1\nb: \"x${NB_TEST_UNSET}\"\n", "pipeline.yaml:2:4: environment variable 'NB_TEST_UNSET' is not set");
    load_fails("b: ${NB_TEST_HOST\n", "unterminated '${'");
    load_fails("b: ${}\n", "not a valid reference");
    load_fails("b: ${A B}\n", "not a valid reference");

    /* ${file:}: trailing newline stripped; missing file named, never its content */
    char path[] = "/tmp/nb_cfg_secret_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cr3t-value\n", 13), 13);
    close(fd);
    char text[256];
    snprintf(text, sizeof text, "password: ${file:%s}\nother: \"[${file:%s}]\"\n", path, path);
    cfg = load(text, &err);
    if (!cfg) fail_msg("%s", err.message);
    assert_string_equal(nb_cfg_string(cfg, "password", NULL), "s3cr3t-value");
    assert_string_equal(nb_cfg_string(cfg, "other", NULL), "[s3cr3t-value]");
    nb_cfg_destroy(cfg);
    /* what a file held is redacted from logs and messages */
    char msg[64] = "pw=s3cr3t-value";
    nb_redact(msg, sizeof msg);
    assert_string_equal(msg, "pw=***");
    unlink(path);
    snprintf(text, sizeof text, "password: ${file:%s}\n", path);
    load_fails(text, "cannot read file '/tmp/nb_cfg_secret_");
    load_fails("a: ${file:}\n", "needs a path");
}

static struct nb_cfg *load_ok(const char *text)
{
    struct nb_error err = {0};
    struct nb_cfg *cfg = load(text, &err);
    if (!cfg) fail_msg("%s", err.message);
    return cfg;
}

static void validate_fails(const char *text, const char *want)
{
    struct nb_error err = {0};
    struct nb_cfg *cfg = load_ok(text);
    assert_int_equal(nb_cfg_validate(cfg, root_keys, "pipeline", &err), NB_ERR_CONFIG);
    if (!strstr(err.message, want)) fail_msg("message '%s' lacks '%s'", err.message, want);
    nb_cfg_destroy(cfg);
}

static void test_validate_ok_and_defaults(void **state)
{
    struct nb_error err = {0};
    struct nb_cfg *cfg = load_ok("source:\n"
                                 "  type: csv\n"
                                 "  path: a.csv\n"
                                 "  compression: zstd\n"     /* from the included table */
                                 "  tables: one\n"
                                 "  header: off\n"
                                 "  extra: {anything: [1, 2], goes: here}\n"
                                 "  auth:\n"
                                 "    user: bob\n"
                                 "performance:\n"
                                 "  batch_size: 5\n"
                                 "mode: cdc\n");
    assert_int_equal(nb_cfg_validate(cfg, root_keys, "pipeline", &err), NB_OK);
    const struct nb_cfg *src = nb_cfg_child(cfg, "source");
    const struct nb_cfg *perf = nb_cfg_child(cfg, "performance");
    assert_false(nb_cfg_bool(src, "header", true));
    assert_string_equal(nb_cfg_string(src, "compression", NULL), "zstd");
    assert_string_equal(nb_cfg_string(cfg, "mode", NULL), "cdc");
    /* defaults were inserted, so getters see them whatever their fallback */
    assert_string_equal(nb_cfg_string(cfg, "name", NULL), "nebula");
    assert_int_equal(nb_cfg_int(perf, "batch_size", 0), 5);
    assert_int_equal(nb_cfg_int(perf, "workers", 0), 2);
    assert_int_equal(nb_cfg_duration_ms(perf, "flush_interval", 0), 10000);
    assert_int_equal(nb_cfg_size(perf, "memory_limit", 0), 256u << 20);
    assert_null(nb_cfg_child(perf, "ratio"));   /* no default: stays absent */
    char where[64];
    nb_cfg_where(nb_cfg_child(perf, "workers"), where, sizeof where);
    assert_string_equal(where, "");
    /* validating twice is harmless (defaults are not duplicated) */
    size_t n = perf->n_children;
    assert_int_equal(nb_cfg_validate(cfg, root_keys, "pipeline", &err), NB_OK);
    assert_int_equal(perf->n_children, n);
    nb_cfg_destroy(cfg);

    /* an empty section gets its defaults; a key with no value counts as absent */
    cfg = load_ok("source: {path: x}\nperformance:\nname:\n");
    assert_int_equal(nb_cfg_validate(cfg, root_keys, NULL, &err), NB_OK);
    assert_int_equal(nb_cfg_int(nb_cfg_child(cfg, "performance"), "batch_size", 0), 10000);
    assert_string_equal(nb_cfg_string(cfg, "name", NULL), "nebula");
    assert_int_equal(nb_cfg_child(cfg, "name")->line, 3);   /* the default sits where the user wrote the key */
    nb_cfg_destroy(cfg);
}

static void test_validate_errors(void **state)
{
    validate_fails("source: {path: x}\n"
                   "performance:\n"
                   "  workers: 2\n"
                   "  batch_sise: 10\n",
                   "pipeline.yaml:4:3: unknown key 'batch_sise' in performance; did you mean 'batch_size'?");
    validate_fails("source: {path: x}\nsorce: {}\n", "pipeline.yaml:2:1: unknown key 'sorce' in pipeline; did you mean 'source'?");
    validate_fails("source: {path: x}\nzzzzzzzzzzzz: 1\n", "unknown key 'zzzzzzzzzzzz' in pipeline (see `nebula spec`");
    validate_fails("source: {path: x, typ: csv}\n", "unknown key 'typ' in source; did you mean 'type'?");
    validate_fails("source: {path: x}\nperformance: {batch_size: ten}\n",
                   "pipeline.yaml:2:15: performance.batch_size: 'ten' is not a whole number");
    validate_fails("source: {path: x}\nperformance: {batch_size: 99999999999999999999}\n", "is not a whole number");
    validate_fails("source: {path: x}\nperformance: {flush_interval: soon}\n",
                   "performance.flush_interval: 'soon' is not a duration");
    validate_fails("source: {path: x}\nperformance: {memory_limit: lots}\n", "performance.memory_limit: 'lots' is not a size");
    validate_fails("source: {path: x}\nperformance: {ratio: 1.5x}\n", "performance.ratio: '1.5x' is not a number");
    validate_fails("source: {path: x}\nperformance: {ratio: nan}\n", "is not a number");
    validate_fails("source: {path: x, header: maybe}\n", "source.header: 'maybe' is not a boolean");
    validate_fails("source: {path: x}\nmode: cdcc\n", "mode: 'cdcc' is not one of full_refresh|incremental|cdc; did you mean 'cdc'?");
    validate_fails("source: {path: x}\nmode: zzzzzzzzzzzz\n", "is not one of full_refresh|incremental|cdc");
    validate_fails("source: {path: x, compression: lz5}\n", "source.compression: 'lz5' is not one of none|gzip|zstd");
    validate_fails("name: x\n", "pipeline.yaml:1:1: pipeline: missing required key 'source' (the source)");
    validate_fails("source: {type: csv}\n", "pipeline.yaml:1:1: source: missing required key 'path'");
    validate_fails("source:\n  path:\n", "pipeline.yaml:2:3: source: missing required key 'path'");
    validate_fails("source: {path: x, auth: {password: p}}\n", "source.auth: missing required key 'user'");
    validate_fails("source: [1, 2]\n", "source must be a map of keys");
    validate_fails("source: {path: [a, b]}\n", "source.path must be a single string value, not a list");
    validate_fails("source: {path: x, tables: [a, [b]]}\n", "source.tables: item 2 must be a single value, not a list");
    validate_fails("source: {path: x, tables: {a: 1}}\n", "source.tables must be a list");
    validate_fails("source: {path: x, extra: 5}\n", "source.extra must be a map");

    struct nb_error err = {0};
    struct nb_cfg *cfg = load_ok("- a\n- b\n");
    assert_int_equal(nb_cfg_validate(cfg, root_keys, NULL, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "the configuration must be a map"));
    nb_cfg_destroy(cfg);
    assert_int_equal(nb_cfg_validate(NULL, root_keys, "source", &err), NB_ERR_CONFIG);
}

static void test_secrets(void **state)
{
    struct nb_error err = {0};
    /* a secret is marked and registered */
    struct nb_cfg *cfg = load_ok("source:\n  path: x\n  auth:\n    user: bob\n    password: hunter2-pw\n");
    assert_int_equal(nb_cfg_validate(cfg, root_keys, "pipeline", &err), NB_OK);
    const struct nb_cfg *auth = nb_cfg_child(nb_cfg_child(cfg, "source"), "auth");
    assert_true(nb_cfg_child(auth, "password")->secret);
    assert_false(nb_cfg_child(auth, "user")->secret);
    char msg[128] = "connecting with hunter2-pw failed";
    nb_redact(msg, sizeof msg);
    assert_string_equal(msg, "connecting with *** failed");
    nb_cfg_destroy(cfg);

    /* a type error about a secret key never shows the value */
    cfg = load_ok("source:\n  path: x\n  auth: {user: bob, pin: not-a-number-secret}\n");
    assert_int_equal(nb_cfg_validate(cfg, root_keys, "pipeline", &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "source.auth.pin"));
    assert_non_null(strstr(err.message, "hidden: secret"));
    assert_null(strstr(err.message, "not-a-number-secret"));
    nb_cfg_destroy(cfg);
}

static void test_build_in_code(void **state)
{
    struct nb_cfg *m = nb_cfg_new_map();
    assert_non_null(nb_cfg_set(m, "performance.batch_size", "100"));
    assert_non_null(nb_cfg_set(m, "performance.workers", "4"));
    assert_non_null(nb_cfg_set(m, "source.path", "a.csv"));
    assert_non_null(nb_cfg_set(m, "source.path", "b.csv"));   /* replaces */
    assert_non_null(nb_cfg_set(m, "name", "n"));
    assert_null(nb_cfg_set(m, "a..b", "x"));
    assert_null(nb_cfg_set(m, "", "x"));
    const struct nb_cfg *perf = nb_cfg_child(m, "performance");
    assert_int_equal(perf->n_children, 2);
    assert_int_equal(nb_cfg_int(perf, "batch_size", 0), 100);
    assert_string_equal(nb_cfg_string(nb_cfg_child(m, "source"), "path", NULL), "b.csv");
    assert_int_equal(nb_cfg_child(m, "source")->n_children, 1);
    /* a scalar in the way of a dotted path becomes a map */
    assert_non_null(nb_cfg_set(m, "name.first", "x"));
    assert_string_equal(nb_cfg_string(nb_cfg_child(m, "name"), "first", NULL), "x");

    /* take and put: move a section between trees */
    struct nb_cfg *src = nb_cfg_take(m, "source");
    assert_non_null(src);
    assert_null(nb_cfg_child(m, "source"));
    assert_null(nb_cfg_take(m, "source"));
    struct nb_cfg *other = nb_cfg_new_map();
    nb_cfg_put(other, "source", src);
    assert_string_equal(nb_cfg_string(nb_cfg_child(other, "source"), "path", NULL), "b.csv");
    struct nb_cfg *repl = nb_cfg_new_map();
    nb_cfg_put(other, "source", repl);   /* replaces (and frees) the old one */
    assert_ptr_equal(nb_cfg_child(other, "source"), repl);
    assert_int_equal(other->n_children, 1);
    /* many children: growth and removal keep the array consistent */
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        nb_cfg_set(other, k, k);
    }
    for (int i = 0; i < 100; i += 3) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        nb_cfg_destroy(nb_cfg_take(other, k));
    }
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof k, "z%d", i);
        nb_cfg_set(other, k, k);
    }
    assert_int_equal(other->n_children, 1 + 100 - 34 + 50);
    assert_string_equal(nb_cfg_string(other, "k98", NULL), "k98");
    assert_null(nb_cfg_string(other, "k99", NULL));

    /* flags set in code are validated like the file */
    struct nb_error err = {0};
    assert_non_null(nb_cfg_set(m, "source.path", "x"));
    nb_cfg_destroy(nb_cfg_take(m, "name"));
    if (nb_cfg_validate(m, root_keys, "pipeline", &err) != NB_OK) fail_msg("%s", err.message);
    nb_cfg_set(m, "performance.batch_size", "lots");
    assert_int_equal(nb_cfg_validate(m, root_keys, "pipeline", &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "performance.batch_size: 'lots'"));
    nb_cfg_destroy(m);
    nb_cfg_destroy(other);
    nb_cfg_destroy(NULL);
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/nb_cfg_file_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "source:\n  path: x\n  bogus: 1\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct nb_cfg *cfg = NULL;
    struct nb_error err = {0};
    assert_int_equal(nb_cfg_load_file(path, &cfg, &err), NB_OK);
    assert_int_equal(nb_cfg_validate(cfg, root_keys, "pipeline", &err), NB_ERR_CONFIG);
    char want[128];
    snprintf(want, sizeof want, "%s:3:3: unknown key 'bogus' in source", path);
    if (!strstr(err.message, want)) fail_msg("%s", err.message);
    nb_cfg_destroy(cfg);
    unlink(path);
}

static void test_spec_print(void **state)
{
    struct nb_buf out;
    nb_buf_init(&out);
    nb_config_spec_print(&out, source_keys, false, 0);
    const char *t = out.data;
    assert_non_null(strstr(t, "  path "));
    assert_non_null(strstr(t, "(required)"));
    assert_non_null(strstr(t, "file path or glob"));
    assert_non_null(strstr(t, "none|gzip|zstd"));   /* included keys are listed */
    assert_non_null(strstr(t, "\n    user "));       /* children indented */
    const char *pw = strstr(t, "    password ");
    assert_non_null(pw);
    const char *eol = strchr(pw, '\n');
    assert_non_null(strstr(pw, "(secret)"));
    assert_true(strstr(pw, "(secret)") < eol);
    /* one line per key, in order */
    size_t lines = 0;
    for (const char *p = t; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 9);

    nb_buf_reset(&out);
    nb_config_spec_print(&out, perf_keys, true, 0);
    assert_non_null(strstr(out.data, "{\"name\":\"batch_size\",\"type\":\"int\",\"default\":\"10000\",\"required\":false,"
                                     "\"secret\":false,\"help\":\"rows per batch\"}"));
    assert_int_equal(out.data[0], '[');
    nb_buf_reset(&out);
    nb_config_spec_print(&out, source_keys, true, 0);
    assert_non_null(strstr(out.data, "\"choices\":[\"none\",\"gzip\",\"zstd\"]"));
    assert_non_null(strstr(out.data, "\"children\":[{\"name\":\"user\""));
    assert_non_null(strstr(out.data, "\"name\":\"password\",\"type\":\"string\",\"default\":null,\"required\":false,\"secret\":true"));
    nb_buf_cleanup(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_basic),       cmocka_unit_test(test_json_input),
        cmocka_unit_test(test_load_errors),      cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_validate_ok_and_defaults), cmocka_unit_test(test_validate_errors),
        cmocka_unit_test(test_secrets),          cmocka_unit_test(test_build_in_code),
        cmocka_unit_test(test_load_file),        cmocka_unit_test(test_spec_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
