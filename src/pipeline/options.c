/* Spec tables of the pipeline file and their conversion to run options. */
#include "pipeline/options.h"

#include <string.h>

#include "core/str.h"

static const struct nb_config_key performance_keys[] = {
    {"batch_size", NB_KEY_INT, "10000", NULL, 0, "rows per batch"},
    {"workers", NB_KEY_INT, "2", NULL, 0, "worker threads that parse, convert and encode"},
    {"max_concurrency", NB_KEY_INT, "4", NULL, 0, "parallel requests or uploads per connector"},
    {"flush_interval", NB_KEY_DURATION, "10s", NULL, 0, "a partial batch and a checkpoint happen at least this often"},
    {"memory_limit", NB_KEY_SIZE, "256MiB", NULL, 0, "bytes of batches in flight; a faster source waits"},
    {NULL},
};
static const struct nb_config_key timeout_keys[] = {
    {"run", NB_KEY_DURATION, "0", NULL, 0, "stop the run after this long (0 = no limit); state is saved"},
    {"connect", NB_KEY_DURATION, "30s", NULL, 0, "connection timeout"},
    {"request", NB_KEY_DURATION, "60s", NULL, 0, "per-request timeout"},
    {"idle", NB_KEY_DURATION, "300s", NULL, 0, "give up when nothing moves for this long"},
    {NULL},
};
static const struct nb_config_key storage_keys[] = {
    {"mode", NB_KEY_ENUM, "auto", "auto|row|columnar", 0, "batch layout: columnar for throughput, row for low latency"},
    {NULL},
};
static const struct nb_config_key error_keys[] = {
    {"on_bad_record", NB_KEY_ENUM, "fail", "fail|skip|dead_letter", 0, "what to do with a record that cannot be taken as it is"},
    {"dead_letter_path", NB_KEY_STRING, NULL, NULL, 0, "NDJSON file for dead_letter (raw record, location, reason)"},
    {"max_bad_records", NB_KEY_INT, "0", NULL, 0, "fail once more than this many records were bad (0 = no limit)"},
    {NULL},
};
static const struct nb_config_key schema_keys[] = {
    {"on_new_column", NB_KEY_ENUM, "add", "add|ignore|fail", 0, "a column appears in the source"},
    {"on_type_change", NB_KEY_ENUM, "widen", "widen|fail", 0, "a column's type changes at the source"},
    {NULL},
};
static const struct nb_config_key state_keys[] = {
    {"path", NB_KEY_STRING, NULL, NULL, 0, "state file (JSON): resume position of every stream"},
    {NULL},
};
static const struct nb_config_key observability_keys[] = {
    {"log_level", NB_KEY_ENUM, "info", "debug|info|warn|error", 0, "log verbosity"},
    {"log_format", NB_KEY_ENUM, "text", "text|json", 0, "log line format"},
    {"metrics_addr", NB_KEY_STRING, NULL, NULL, 0, "serve Prometheus metrics on host:port"},
    {"progress", NB_KEY_ENUM, "auto", "auto|always|never", 0, "progress line on stderr (auto: when it is a terminal)"},
    {NULL},
};

const struct nb_config_key nb_pipeline_spec[] = {
    {"name", NB_KEY_STRING, "pipeline", NULL, 0, "pipeline name (logs, state, metrics)"},
    {"source", NB_KEY_MAP, NULL, NULL, NB_KEY_REQUIRED, "the source connector: type plus its keys (nebula spec <type>)"},
    {"destination", NB_KEY_MAP, NULL, NULL, NB_KEY_REQUIRED, "the destination connector: type plus its keys"},
    {"performance", NB_KEY_MAP, NULL, NULL, 0, "throughput and memory", performance_keys},
    {"timeouts", NB_KEY_MAP, NULL, NULL, 0, "time limits", timeout_keys},
    {"storage", NB_KEY_MAP, NULL, NULL, 0, "batch layout", storage_keys},
    {"errors", NB_KEY_MAP, NULL, NULL, 0, "bad-record policy", error_keys},
    {"schema", NB_KEY_MAP, NULL, NULL, 0, "schema evolution policy", schema_keys},
    {"state", NB_KEY_MAP, NULL, NULL, 0, "checkpoint state", state_keys},
    {"observability", NB_KEY_MAP, NULL, NULL, 0, "logs, metrics, progress", observability_keys},
    {NULL},
};

static int pick(const char *value, const char *const *choices, int n)
{
    for (int i = 0; i < n; i++)
        if (value && strcmp(value, choices[i]) == 0) return i;
    return 0;
}

/* Make sure every optional section exists so validation fills its defaults. */
static void ensure_sections(struct nb_cfg *root)
{
    static const char *sections[] = {"performance", "timeouts", "storage", "errors", "schema", "state", "observability"};
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (!nb_cfg_child(root, sections[i])) nb_cfg_put(root, sections[i], nb_cfg_new_map());
}

nb_status nb_pipeline_options(struct nb_cfg *root, struct nb_run_options *o, struct nb_observability *obs,
                              struct nb_error *err)
{
    if (!root || root->kind != NB_CFG_MAP)
        return nb_error_set(err, NB_ERR_CONFIG, "the pipeline file must be a map with source and destination");
    ensure_sections(root);
    nb_status rc = nb_cfg_validate(root, nb_pipeline_spec, "pipeline", err);
    if (rc != NB_OK) return rc;

    const struct nb_cfg *perf = nb_cfg_child(root, "performance"), *to = nb_cfg_child(root, "timeouts"),
                        *st = nb_cfg_child(root, "storage"), *er = nb_cfg_child(root, "errors"),
                        *sc = nb_cfg_child(root, "schema"), *state = nb_cfg_child(root, "state"),
                        *ob = nb_cfg_child(root, "observability");
    memset(o, 0, sizeof *o);
    o->pipeline_name = nb_cfg_string(root, "name", "pipeline");
    int64_t batch = nb_cfg_int(perf, "batch_size", 10000), workers = nb_cfg_int(perf, "workers", 2),
            conc = nb_cfg_int(perf, "max_concurrency", 4), maxbad = nb_cfg_int(er, "max_bad_records", 0);
    if (batch < 1 || batch > 10000000)
        return nb_error_set(err, NB_ERR_CONFIG, "performance.batch_size must be between 1 and 10000000 (got %lld)", (long long)batch);
    if (workers < 1 || workers > 256)
        return nb_error_set(err, NB_ERR_CONFIG, "performance.workers must be between 1 and 256 (got %lld)", (long long)workers);
    if (conc < 1 || conc > 1024)
        return nb_error_set(err, NB_ERR_CONFIG, "performance.max_concurrency must be between 1 and 1024 (got %lld)", (long long)conc);
    if (maxbad < 0) return nb_error_set(err, NB_ERR_CONFIG, "errors.max_bad_records must be >= 0");
    o->batch_size = (size_t)batch;
    o->workers = (unsigned)workers;
    o->max_concurrency = (unsigned)conc;
    o->flush_interval_ms = nb_cfg_duration_ms(perf, "flush_interval", 10000);
    o->memory_limit = nb_cfg_size(perf, "memory_limit", 256u << 20);
    if (o->memory_limit < (1u << 20)) return nb_error_set(err, NB_ERR_CONFIG, "performance.memory_limit must be at least 1MiB");
    o->timeout_ms = nb_cfg_duration_ms(to, "run", 0);
    o->connect_timeout_ms = nb_cfg_duration_ms(to, "connect", 30000);
    o->request_timeout_ms = nb_cfg_duration_ms(to, "request", 60000);
    o->idle_timeout_ms = nb_cfg_duration_ms(to, "idle", 300000);
    static const char *storage[] = {"auto", "row", "columnar"};
    o->storage = (enum nb_storage_mode)pick(nb_cfg_string(st, "mode", "auto"), storage, 3);
    static const char *bad[] = {"fail", "skip", "dead_letter"};
    o->on_bad_record = (enum nb_bad_policy)pick(nb_cfg_string(er, "on_bad_record", "fail"), bad, 3);
    o->dead_letter_path = nb_cfg_string(er, "dead_letter_path", NULL);
    if (o->on_bad_record == NB_BAD_DEAD_LETTER && !o->dead_letter_path)
        return nb_error_set(err, NB_ERR_CONFIG, "errors.on_bad_record is dead_letter: set errors.dead_letter_path too");
    o->max_bad_records = (uint64_t)maxbad;
    static const char *newcol[] = {"add", "ignore", "fail"};
    o->on_new_column = (enum nb_new_column_policy)pick(nb_cfg_string(sc, "on_new_column", "add"), newcol, 3);
    static const char *change[] = {"widen", "fail"};
    o->on_type_change = (enum nb_type_change_policy)pick(nb_cfg_string(sc, "on_type_change", "widen"), change, 2);
    o->state_path = nb_cfg_string(state, "path", NULL);
    if (o->state_path && !*o->state_path) o->state_path = NULL;

    if (obs) {
        if (!nb_log_level_parse(nb_cfg_string(ob, "log_level", "info"), &obs->log_level)) obs->log_level = NB_LOG_INFO;
        obs->log_format = strcmp(nb_cfg_string(ob, "log_format", "text"), "json") == 0 ? NB_LOG_JSON : NB_LOG_TEXT;
        obs->progress = nb_cfg_string(ob, "progress", "auto");
        obs->metrics_addr = nb_cfg_string(ob, "metrics_addr", NULL);
    }
    return NB_OK;
}

static nb_status validate_section(struct nb_cfg *root, const char *section, bool source, struct nb_error *err)
{
    struct nb_cfg *sec = (struct nb_cfg *)nb_cfg_child(root, section);
    char where[256];
    if (!sec || sec->kind != NB_CFG_MAP)
        return nb_error_set(err, NB_ERR_CONFIG, "the pipeline needs a '%s' section with a type", section);
    const char *type = nb_cfg_string(sec, "type", NULL);
    nb_cfg_where(sec, where, sizeof where);
    if (!type)
        return nb_error_set(err, NB_ERR_CONFIG, "%s%s%s: 'type' is missing (see nebula list)", where, *where ? ": " : "", section);
    const struct nb_connector_ops *c = nb_connector_find(type);
    if (!c) {
        const char *names[64];
        size_t n = 0;
        for (const struct nb_connector_ops *const *r = nb_connectors(); *r && n < 64; r++) names[n++] = (*r)->name;
        const char *near = nb_nearest(type, names, n);
        return nb_error_set(err, NB_ERR_CONFIG, "%s%s%s: unknown connector '%s'%s%s%s (see nebula list)", where,
                            *where ? ": " : "", section, type, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    }
    if (source ? !c->source : !c->destination)
        return nb_error_set(err, NB_ERR_CONFIG, "%s%s%s: connector '%s' cannot be a %s", where, *where ? ": " : "",
                            section, type, section);
    return nb_cfg_validate(sec, source ? c->source->spec : c->destination->spec, section, err);
}

nb_status nb_pipeline_validate_connectors(struct nb_cfg *root, struct nb_error *err)
{
    nb_status rc = validate_section(root, "source", true, err);
    if (rc == NB_OK) rc = validate_section(root, "destination", false, err);
    return rc;
}
