/* The progress line (a terminal only, redrawn in place) and the one-line run summary. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/log.h"
#include "core/str.h"

void nb_cli_progress_init(struct nb_cli_progress *p, const char *mode)
{
    memset(p, 0, sizeof *p);
    if (mode && strcmp(mode, "always") == 0) p->enabled = p->forced = true;
    else if (mode && strcmp(mode, "never") == 0) p->enabled = false;
    else p->enabled = isatty(STDERR_FILENO);
}

static void human_count(uint64_t n, char *out, size_t cap)
{
    if (n >= 1000000000ull) snprintf(out, cap, "%.2fG", (double)n / 1e9);
    else if (n >= 1000000ull) snprintf(out, cap, "%.2fM", (double)n / 1e6);
    else if (n >= 10000ull) snprintf(out, cap, "%.1fk", (double)n / 1e3);
    else snprintf(out, cap, "%llu", (unsigned long long)n);
}

void nb_cli_progress_update(void *user, const struct nb_run_stats *s)
{
    struct nb_cli_progress *p = user;
    if (!p->enabled || (s->seconds < 0.2 && !p->forced)) return;
    char rows[32], rate[32], bytes[32], eta[48] = "", wait[48] = "";
    human_count(s->rows_out, rows, sizeof rows);
    human_count(s->seconds > 0 ? (uint64_t)((double)s->rows_out / s->seconds) : 0, rate, sizeof rate);
    nb_format_bytes(s->source_done ? s->source_done : s->bytes_in, bytes, sizeof bytes);
    if (s->source_total && s->source_done <= s->source_total && s->source_done > 0) {
        double frac = (double)s->source_done / (double)s->source_total;
        double left = s->seconds * (1.0 - frac) / frac;
        snprintf(eta, sizeof eta, "  %3.0f%%  ETA %.0fs", frac * 100.0, left);
    } else if (s->lag_seconds >= 0) {
        snprintf(eta, sizeof eta, "  lag %.1fs", s->lag_seconds);
    }
    /* A destination call that takes long (an upload retrying, a slow commit) says so, so a
     * stalled line is not mistaken for a hung run. */
    if (s->dest_wait_seconds >= 2.0) snprintf(wait, sizeof wait, "  waiting on the destination %.0fs", s->dest_wait_seconds);
    fprintf(stderr, "\r\033[K%s rows  %s  %s rows/s%s%s", rows, bytes, rate, eta, wait);
    fflush(stderr);
    p->printed = true;
}

void nb_cli_progress_clear(struct nb_cli_progress *p)
{
    if (p->printed) fputs("\r\033[K", stderr);
    p->printed = false;
}

uint64_t nb_cli_peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}

void nb_cli_print_summary(const char *name, const struct nb_run_stats *s, nb_status status)
{
    char in[32], out[32], peak[32];
    nb_format_bytes(s->source_done ? s->source_done : s->bytes_in, in, sizeof in);
    nb_format_bytes(s->bytes_out, out, sizeof out);
    nb_format_bytes(nb_cli_peak_rss_bytes(), peak, sizeof peak);
    const char *how = status == NB_OK ? "done" : status == NB_ERR_CANCELLED ? (s->timed_out ? "timed out" : "stopped") : "failed";
    double rate = s->seconds > 0 ? (double)s->rows_out / s->seconds : 0;
    char line[1024], lag[48] = "";
    if (s->lag_seconds >= 0) snprintf(lag, sizeof lag, ", lag %.3f s", s->lag_seconds);
    snprintf(line, sizeof line,
             "nebula: %s %s: %llu rows in, %llu rows out, %s in, %s out, %llu batches, %.3f s, %.0f rows/s, "
             "peak memory %s, %llu bad records%s\n",
             name ? name : "pipeline", how, (unsigned long long)s->rows_in, (unsigned long long)s->rows_out, in, out,
             (unsigned long long)s->batches, s->seconds, rate, peak, (unsigned long long)s->bad_records, lag);
    nb_redact(line, sizeof line);   /* the name may come from a secret file */
    fputs(line, stderr);
}
