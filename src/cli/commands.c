/* The commands: run, pipeline, check, discover, list, spec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "connectors/connector.h"
#include "core/log.h"
#include "pipeline/options.h"

int nb_cli_exit_code(nb_status status)
{
    switch (status) {
    case NB_OK: case NB_DONE: return NB_EXIT_OK;
    case NB_ERR_CONFIG: return NB_EXIT_USAGE;
    case NB_ERR_CANCELLED: {
        int sig = nb_cli_signal_received();
        return sig ? 128 + sig : NB_EXIT_FAILED;
    }
    default: return NB_EXIT_FAILED;
    }
}

int nb_cli_fail(const char *command, nb_status status, const struct nb_error *err)
{
    char msg[NB_ERROR_MESSAGE_MAX + 64];
    snprintf(msg, sizeof msg, "%s", err && err->message[0] ? err->message : nb_status_name(status));
    nb_redact(msg, sizeof msg);
    fprintf(stderr, "nebula %s: %s\n", command, msg);
    return nb_cli_exit_code(status);
}

/* ---- run / pipeline ------------------------------------------------------------------------- */
static const char run_help[] =
    "usage: nebula run -c pipeline.yaml [flags]\n"
    "       nebula run --source src.yaml --destination dst.yaml [flags]\n\n"
    "flags (each overrides the same key of the file):\n"
    "  --batch-size N         performance.batch_size     rows per batch (10000)\n"
    "  --workers N            performance.workers        worker threads (2)\n"
    "  --max-concurrency N    performance.max_concurrency parallel requests per connector (4)\n"
    "  --flush-interval D     performance.flush_interval partial batch / checkpoint period (10s)\n"
    "  --memory-limit S       performance.memory_limit   bytes of batches in flight (256MiB)\n"
    "  --timeout D            timeouts.run               stop after D, state saved (none)\n"
    "  --log-level L          observability.log_level    debug|info|warn|error (info)\n"
    "  --log-format F         observability.log_format   text|json (text)\n"
    "  --progress P           observability.progress     auto|always|never (auto)\n"
    "  --state PATH           state.path                 resume file (none)\n"
    "  --on-bad-record P      errors.on_bad_record       fail|skip|dead_letter (fail)\n"
    "  --dead-letter PATH     errors.dead_letter_path\n"
    "  --max-bad-records N    errors.max_bad_records     (0 = no limit)\n"
    "  --set key.path=value   any other key, e.g. --set source.delimiter=';'\n";

static int execute(const char *command, struct nb_cfg *root)
{
    struct nb_error err = {0};
    struct nb_run_options opts;
    struct nb_observability obs;
    nb_status rc = nb_pipeline_options(root, &opts, &obs, &err);
    if (rc == NB_OK) rc = nb_pipeline_validate_connectors(root, &err);
    if (rc != NB_OK) return nb_cli_fail(command, rc, &err);
    nb_log_configure(obs.log_level, obs.log_format);

    void *metrics = NULL;
    if (obs.metrics_addr && !(metrics = nb_cli_metrics_start(obs.metrics_addr, &err)))
        return nb_cli_fail(command, NB_ERR_CONFIG, &err);
    static atomic_bool cancel;
    atomic_store(&cancel, false);
    nb_cli_signals_install(&cancel);
    struct nb_cli_progress progress;
    nb_cli_progress_init(&progress, obs.progress);
    struct nb_run_request req = {root, &opts, &cancel, nb_cli_progress_update, &progress, 250};
    struct nb_run_stats stats = {.lag_seconds = -1};
    rc = nb_pipeline_run(&req, &stats, &err);
    nb_cli_progress_clear(&progress);
    nb_cli_metrics_stop(metrics);
    int code = NB_EXIT_OK;
    if (rc != NB_OK) code = nb_cli_fail(command, rc, &err);
    nb_cli_print_summary(opts.pipeline_name, &stats, rc);
    return code;
}

int nb_cli_run(int argc, char **argv)
{
    struct nb_cli_flags flags = {0};
    struct nb_error err = {0};
    const char *pos[1];
    int npos = 0;
    nb_status rc = nb_cli_parse_flags(argc, argv, 2, &flags, NULL, NULL, pos, &npos, 0, &err);
    if (flags.help) { fputs(run_help, stdout); nb_cli_flags_cleanup(&flags); return NB_EXIT_OK; }
    if (rc == NB_OK && !flags.config_path && !flags.source_path_file)
        rc = nb_error_set(&err, NB_ERR_CONFIG, "run needs -c pipeline.yaml or --source F --destination F (see nebula run --help)");
    struct nb_cfg *root = NULL;
    if (rc == NB_OK) rc = nb_cli_load_config(&flags, &root, &err);
    nb_cli_flags_cleanup(&flags);
    if (rc != NB_OK) return nb_cli_fail("run", rc, &err);
    int code = execute("run", root);
    nb_cfg_destroy(root);
    return code;
}

struct pipeline_args {
    struct nb_cli_flags *flags;
};

static int pipeline_flag(void *user, const char *name, const char *value, const char *next, bool *took_next,
                         struct nb_error *err)
{
    struct pipeline_args *pa = user;
    static const struct { const char *flag; const char *key; } own[] = {
        {"--source-path", "source.path"}, {"--dest-path", "destination.path"},
        {"--destination-path", "destination.path"}, {"--format", "destination.format"},
    };
    const char *key = NULL;
    char dyn[256];
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (strcmp(name, own[i].flag) == 0) key = own[i].key;
    bool kv = strcmp(name, "--source-opt") == 0 || strcmp(name, "--dest-opt") == 0;
    if (!key && !kv) return 0;
    if (!value) {
        if (!next) { nb_error_set(err, NB_ERR_CONFIG, "flag %s needs a value", name); return -1; }
        value = next;
        *took_next = true;
    }
    if (kv) {
        const char *eq = strchr(value, '=');
        if (!eq || eq == value) { nb_error_set(err, NB_ERR_CONFIG, "%s needs key=value (got '%s')", name, value); return -1; }
        snprintf(dyn, sizeof dyn, "%s.%.*s", name[2] == 's' ? "source" : "destination", (int)(eq - value), value);
        key = dyn;
        value = eq + 1;
    }
    if (!pa->flags->overrides) pa->flags->overrides = nb_cfg_new_map();
    if (!pa->flags->overrides || !nb_cfg_set(pa->flags->overrides, key, value)) {
        nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        return -1;
    }
    return 1;
}

static const char pipeline_help[] =
    "usage: nebula pipeline <source> <destination> --source-path P --dest-path Q [--format array|lines] [flags]\n\n"
    "  A pipeline without a file: nebula pipeline csv json --source-path users.csv --dest-path users.json --format array\n"
    "  --source-opt key=value   any source key (nebula spec <source>)\n"
    "  --dest-opt key=value     any destination key\n"
    "  and every run flag (nebula run --help).\n";

int nb_cli_pipeline(int argc, char **argv)
{
    struct nb_cli_flags flags = {0};
    struct nb_error err = {0};
    struct pipeline_args pa = {&flags};
    const char *pos[2];
    int npos = 0;
    nb_status rc = nb_cli_parse_flags(argc, argv, 2, &flags, pipeline_flag, &pa, pos, &npos, 2, &err);
    if (flags.help) { fputs(pipeline_help, stdout); nb_cli_flags_cleanup(&flags); return NB_EXIT_OK; }
    if (rc == NB_OK && npos != 2)
        rc = nb_error_set(&err, NB_ERR_CONFIG, "pipeline needs <source> and <destination> connector names (see nebula list)");
    if (rc == NB_OK && (flags.config_path || flags.source_path_file))
        rc = nb_error_set(&err, NB_ERR_CONFIG, "pipeline takes no -c/--source/--destination files: use nebula run for those");
    struct nb_cfg *root = NULL;
    if (rc == NB_OK) {
        if (!flags.overrides) flags.overrides = nb_cfg_new_map();
        char name[128];
        snprintf(name, sizeof name, "%s-to-%s", pos[0], pos[1]);
        if (!flags.overrides || !nb_cfg_set(flags.overrides, "source.type", pos[0]) ||
            !nb_cfg_set(flags.overrides, "destination.type", pos[1]) ||
            (!nb_cfg_child(flags.overrides, "name") && !nb_cfg_set(flags.overrides, "name", name)))
            rc = nb_error_set(&err, NB_ERR_NOMEM, "out of memory");
    }
    if (rc == NB_OK) rc = nb_cli_load_config(&flags, &root, &err);
    nb_cli_flags_cleanup(&flags);
    if (rc != NB_OK) return nb_cli_fail("pipeline", rc, &err);
    int code = execute("pipeline", root);
    nb_cfg_destroy(root);
    return code;
}

/* ---- check / discover ----------------------------------------------------------------------- */
static nb_status load_validated(int argc, char **argv, const char *usage, struct nb_cfg **root,
                                struct nb_run_options *opts, bool *help, struct nb_error *err)
{
    struct nb_cli_flags flags = {0};
    const char *pos[1];
    int npos = 0;
    nb_status rc = nb_cli_parse_flags(argc, argv, 2, &flags, NULL, NULL, pos, &npos, 0, err);
    *help = flags.help;
    if (flags.help) { fputs(usage, stdout); nb_cli_flags_cleanup(&flags); return NB_OK; }
    if (rc == NB_OK && !flags.config_path && !flags.source_path_file)
        rc = nb_error_set(err, NB_ERR_CONFIG, "needs -c pipeline.yaml or --source F --destination F");
    if (rc == NB_OK) rc = nb_cli_load_config(&flags, root, err);
    nb_cli_flags_cleanup(&flags);
    struct nb_observability obs;
    if (rc == NB_OK) rc = nb_pipeline_options(*root, opts, &obs, err);
    if (rc == NB_OK) rc = nb_pipeline_validate_connectors(*root, err);
    if (rc == NB_OK) nb_log_configure(obs.log_level, obs.log_format);
    return rc;
}

int nb_cli_check(int argc, char **argv)
{
    struct nb_cfg *root = NULL;
    struct nb_run_options opts;
    struct nb_error err = {0};
    bool help = false;
    nb_status rc = load_validated(argc, argv, "usage: nebula check -c pipeline.yaml\n  connects to the source and the destination and "
                                  "reports what is wrong; nothing is moved\n", &root, &opts, &help, &err);
    if (help) return NB_EXIT_OK;
    if (rc != NB_OK) { nb_cfg_destroy(root); return nb_cli_fail("check", rc, &err); }
    int code = NB_EXIT_OK;
    for (int side = 0; side < 2; side++) {
        const char *section = side == 0 ? "source" : "destination";
        const char *type = nb_cfg_string(nb_cfg_child(root, section), "type", "?");
        nb_error_clear(&err);
        rc = nb_pipeline_check(root, &opts, side == 0, &err);
        if (rc == NB_OK) printf("%s %s: ok\n", section, type);
        else code = nb_cli_fail("check", rc, &err);
    }
    nb_cfg_destroy(root);
    return code;
}

int nb_cli_discover(int argc, char **argv)
{
    struct nb_cfg *root = NULL;
    struct nb_run_options opts;
    struct nb_error err = {0};
    bool help = false;
    nb_status rc = load_validated(argc, argv, "usage: nebula discover -c pipeline.yaml\n  prints the source's streams and "
                                  "their schemas as JSON\n", &root, &opts, &help, &err);
    if (help) return NB_EXIT_OK;
    struct nb_buf out;
    nb_buf_init(&out);
    if (rc == NB_OK) rc = nb_pipeline_discover(root, &opts, &out, &err);
    nb_cfg_destroy(root);
    if (rc != NB_OK) { nb_buf_cleanup(&out); return nb_cli_fail("discover", rc, &err); }
    if (out.data) printf("%s\n", out.data);
    nb_buf_cleanup(&out);
    return NB_EXIT_OK;
}

/* ---- list / spec ---------------------------------------------------------------------------- */
static void caps(unsigned c, char *out, size_t cap)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {NB_CAP_FULL_REFRESH, "full_refresh"}, {NB_CAP_INCREMENTAL, "incremental"}, {NB_CAP_CDC, "cdc"},
        {NB_CAP_RESUME, "resume"}, {NB_CAP_EXACTLY_ONCE, "exactly_once"}, {NB_CAP_SCHEMA_EVOLUTION, "schema_evolution"},
    };
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(c & names[i].bit)) continue;
        if (out[0]) strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, names[i].name, cap - strlen(out) - 1);
    }
    if (!out[0]) snprintf(out, cap, "-");
}

int nb_cli_list(int argc, char **argv)
{
    bool json = argc > 2 && strcmp(argv[2], "--json") == 0;
    if (argc > 2 && !json) {
        fputs("usage: nebula list [--json]\n", strcmp(argv[2], "--help") == 0 ? stdout : stderr);
        return strcmp(argv[2], "--help") == 0 ? NB_EXIT_OK : NB_EXIT_USAGE;
    }
    if (json) fputs("[", stdout);
    else printf("%-12s %-20s %-44s %s\n", "CONNECTOR", "KIND", "CAPABILITIES (source / destination)", "DESCRIPTION");
    int i = 0;
    for (const struct nb_connector_ops *const *r = nb_connectors(); *r; r++, i++) {
        const struct nb_connector_ops *c = *r;
        char sc[128], dc[128], kind[32];
        caps(c->source_caps, sc, sizeof sc);
        caps(c->destination_caps, dc, sizeof dc);
        snprintf(kind, sizeof kind, "%s%s%s", c->source ? "source" : "", c->source && c->destination ? "+" : "",
                 c->destination ? "destination" : "");
        if (json) {
            printf("%s{\"name\":\"%s\",\"source\":%s,\"destination\":%s,\"source_capabilities\":\"%s\","
                   "\"destination_capabilities\":\"%s\"}", i ? "," : "", c->name, c->source ? "true" : "false",
                   c->destination ? "true" : "false", c->source ? sc : "", c->destination ? dc : "");
        } else {
            char both[96];
            snprintf(both, sizeof both, "%s / %s", c->source ? sc : "-", c->destination ? dc : "-");
            printf("%-12s %-20s %-44s %s\n", c->name, kind, both, c->description ? c->description : "");
        }
    }
    if (json) puts("]");
    return NB_EXIT_OK;
}

int nb_cli_spec(int argc, char **argv)
{
    const char *name = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (strcmp(argv[i], "--help") == 0) { puts("usage: nebula spec <connector> [--json]\n       nebula spec pipeline [--json]"); return NB_EXIT_OK; }
        else if (!name) name = argv[i];
        else { fprintf(stderr, "nebula spec: unexpected argument '%s'\n", argv[i]); return NB_EXIT_USAGE; }
    }
    if (!name) { fputs("nebula spec: which connector? (see nebula list)\n", stderr); return NB_EXIT_USAGE; }
    struct nb_buf out;
    nb_buf_init(&out);
    if (strcmp(name, "pipeline") == 0) {
        if (!json) nb_buf_puts(&out, "pipeline file keys:\n");
        nb_config_spec_print(&out, nb_pipeline_spec, json, 2);
    } else {
        const struct nb_connector_ops *c = nb_connector_find(name);
        if (!c) {
            fprintf(stderr, "nebula spec: unknown connector '%s' (see nebula list)\n", name);
            nb_buf_cleanup(&out);
            return NB_EXIT_USAGE;
        }
        if (json) nb_buf_printf(&out, "{\"name\":\"%s\"", c->name);
        else nb_buf_printf(&out, "%s: %s\n", c->name, c->description ? c->description : "");
        if (c->source) {
            nb_buf_puts(&out, json ? ",\"source\":" : "\nsource keys (type: ");
            if (!json) nb_buf_printf(&out, "%s):\n", c->name);
            nb_config_spec_print(&out, c->source->spec, json, 2);
        }
        if (c->destination) {
            nb_buf_puts(&out, json ? ",\"destination\":" : "\ndestination keys (type: ");
            if (!json) nb_buf_printf(&out, "%s):\n", c->name);
            nb_config_spec_print(&out, c->destination->spec, json, 2);
        }
        if (json) nb_buf_puts(&out, "}");
    }
    if (out.data) fputs(out.data, stdout);
    if (json || (out.len && out.data[out.len - 1] != '\n')) putchar('\n');
    nb_buf_cleanup(&out);
    return NB_EXIT_OK;
}
