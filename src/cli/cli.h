/* The command-line interface: commands, flags, progress and the run summary. Only this layer
 * prints and chooses exit codes (DESIGN.md §1). */
#ifndef NB_CLI_CLI_H
#define NB_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "pipeline/engine.h"

enum { NB_EXIT_OK = 0, NB_EXIT_FAILED = 1, NB_EXIT_USAGE = 2, NB_EXIT_SIGINT = 130, NB_EXIT_SIGTERM = 143 };

/* Flags shared by run/pipeline/check/discover, applied on top of the file. */
struct nb_cli_flags {
    const char *config_path;
    const char *source_path_file, *destination_file;   /* run --source F --destination F */
    struct nb_cfg *overrides;                           /* dotted keys -> values, applied to the tree */
    bool help;
};

int nb_cli_run(int argc, char **argv);
int nb_cli_pipeline(int argc, char **argv);
int nb_cli_check(int argc, char **argv);
int nb_cli_discover(int argc, char **argv);
int nb_cli_list(int argc, char **argv);
int nb_cli_spec(int argc, char **argv);

/* Parse the shared flags from argv[first..]; unknown flags are a usage error naming the nearest.
 * `extra` sees each flag first (name, its =value or NULL, the next argument): returns 1 when it
 * took the flag (setting *took_next if it used the next argument as the value), 0 when the flag is
 * not its own, -1 on error. Positional arguments are collected into positionals. */
typedef int (*nb_cli_extra_fn)(void *user, const char *name, const char *value, const char *next, bool *took_next,
                               struct nb_error *err);
nb_status nb_cli_parse_flags(int argc, char **argv, int first, struct nb_cli_flags *flags, nb_cli_extra_fn extra,
                             void *user, const char **positionals, int *n_positionals, int max_positionals,
                             struct nb_error *err);
void nb_cli_flags_cleanup(struct nb_cli_flags *flags);
/* Load the pipeline tree from -c or --source/--destination, then apply overrides. */
nb_status nb_cli_load_config(struct nb_cli_flags *flags, struct nb_cfg **root, struct nb_error *err);
/* Print an error (redacted) as "nebula: <message>" and return the exit code for its status. */
int nb_cli_fail(const char *command, nb_status status, const struct nb_error *err);
int nb_cli_exit_code(nb_status status);

/* Progress and summary (progress.c). */
struct nb_cli_progress {
    bool enabled;
    bool forced;       /* --progress always: draw even short runs */
    bool printed;
    uint64_t last_rows;
    double last_seconds;
};
void nb_cli_progress_init(struct nb_cli_progress *p, const char *mode);
void nb_cli_progress_update(void *user, const struct nb_run_stats *stats);
void nb_cli_progress_clear(struct nb_cli_progress *p);
void nb_cli_print_summary(const char *name, const struct nb_run_stats *stats, nb_status status);
uint64_t nb_cli_peak_rss_bytes(void);

/* Prometheus /metrics on host:port for the life of a run (metrics_http.c); NULL + err on failure. */
void *nb_cli_metrics_start(const char *addr, struct nb_error *err);
void nb_cli_metrics_stop(void *server);
/* libmicrohttpd is loaded on first use (mhd_lib.c): why it could not be, or NULL. */
const char *nb_mhd_load_error(void);

/* Signals: SIGINT/SIGTERM set the cancel flag (a second one exits at once). */
void nb_cli_signals_install(atomic_bool *cancel);
int nb_cli_signal_received(void);

#endif
