/* SIGINT/SIGTERM stop a run cleanly: the first sets the cancel flag (the engine commits what it has,
 * saves state and removes or keeps temp files); a second one exits at once. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static atomic_bool *g_cancel;
static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    if (g_signal) {
        static const char msg[] = "\nnebula: second signal, exiting now\n";
        ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)ignored;
        _exit(128 + sig);
    }
    g_signal = sig;
    if (g_cancel) atomic_store(g_cancel, true);
}

void nb_cli_signals_install(atomic_bool *cancel)
{
    g_cancel = cancel;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int nb_cli_signal_received(void) { return g_signal; }
