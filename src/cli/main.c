/* nebula: command dispatch and the top-level help. */
#include <stdio.h>
#include <string.h>

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

int main(int argc, char **argv)
{
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
