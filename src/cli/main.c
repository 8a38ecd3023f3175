/* nebula: command dispatch and the top-level help. */
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__   /* defined by the headers above */
#include <malloc.h>
#endif

#include "cli/cli.h"

static void usage(FILE *out)
{
    fputs("nebula " NB_VERSION ": fast, exact Extract & Load\n\n"
          "usage:\n"
          "  nebula version\n"
          "  nebula list                               connectors and their capabilities\n"
          "  nebula spec <connector> [--json]          a connector's config keys\n"
          "  nebula check    -c pipeline.yaml          can we connect? nothing is moved\n"
          "  nebula discover -c pipeline.yaml          the source's streams and schemas (JSON)\n"
          "  nebula run      -c pipeline.yaml [flags]  run a pipeline\n"
          "  nebula run --source src.yaml --destination dst.yaml [flags]\n"
          "  nebula pipeline <source> <destination> --source-path P --dest-path Q [--format array|lines] [flags]\n\n"
          "run flags: --batch-size N --workers N --max-concurrency N --flush-interval 10s --timeout 30m\n"
          "           --memory-limit 256MiB --log-level debug|info|warn|error --log-format text|json\n"
          "           --progress auto|always|never --state PATH --on-bad-record fail|skip|dead_letter\n"
          "           --dead-letter PATH --set key.path=value\n"
          "`nebula <command> --help` for more. Exit status: 0 ok, 1 run failed, 2 usage/config error,\n"
          "130/143 stopped by SIGINT/SIGTERM (state saved).\n",
          out);
}

/* The engine's buffers are few and large (read blocks, column buffers, encoded output), made on
 * one thread and freed on another. glibc's per-thread arenas and its sliding mmap threshold let
 * them fragment the heap, so peak RSS crept up with input size (measured +30% from 1M to 10M
 * CSV rows). One arena (a lock taken per buffer, not per value) and a fixed threshold (buffers of
 * 1 MiB and more are mapped and unmapped whole) keep it flat; fixing the threshold also fixes the
 * trim threshold at 128 KiB, which would give the heap top back and fault it in again for every
 * batch, so that one is raised. Process-wide: the binary's choice, not the library's (a program
 * embedding libnebula keeps its own allocator settings). */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
}

int main(int argc, char **argv)
{
    tune_malloc();
    if (argc < 2) {
        usage(stderr);
        return NB_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("nebula %s\n", NB_VERSION);
        return NB_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return NB_EXIT_OK;
    }
    static const struct { const char *name; int (*fn)(int, char **); } commands[] = {
        {"run", nb_cli_run},     {"pipeline", nb_cli_pipeline}, {"check", nb_cli_check},
        {"discover", nb_cli_discover}, {"list", nb_cli_list},   {"spec", nb_cli_spec},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0) return commands[i].fn(argc, argv);
    fprintf(stderr, "nebula: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return NB_EXIT_USAGE;
}
