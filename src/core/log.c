/* Logging with secret redaction. One mutex guards the secret list and the write so lines from
 * several threads never interleave. */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"

static enum nb_log_level g_level = NB_LOG_INFO;
static enum nb_log_format g_format = NB_LOG_TEXT;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char **g_secrets;
static size_t g_n_secrets;

void nb_log_configure(enum nb_log_level level, enum nb_log_format format)
{
    g_level = level;
    g_format = format;
}

enum nb_log_level nb_log_get_level(void) { return g_level; }
bool nb_log_enabled(enum nb_log_level level) { return level >= g_level; }

bool nb_log_level_parse(const char *s, enum nb_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) { *out = (enum nb_log_level)i; return true; }
    if (strcmp(s, "warning") == 0) { *out = NB_LOG_WARN; return true; }
    return false;
}

void nb_log_add_secret(const char *secret)
{
    /* Very short values would redact ordinary words ("a", "no"); they are not secrets worth the noise. */
    if (!secret || strlen(secret) < 4) return;
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_n_secrets; i++)
        if (strcmp(g_secrets[i], secret) == 0) { pthread_mutex_unlock(&g_lock); return; }
    char **grown = realloc(g_secrets, (g_n_secrets + 1) * sizeof *grown);
    if (grown) {
        g_secrets = grown;
        g_secrets[g_n_secrets] = strdup(secret);
        if (g_secrets[g_n_secrets]) g_n_secrets++;
    }
    pthread_mutex_unlock(&g_lock);
}

static void redact_locked(char *s, size_t cap)
{
    for (size_t i = 0; i < g_n_secrets; i++) {
        const char *sec = g_secrets[i];
        size_t sl = strlen(sec);
        char *hit;
        while ((hit = strstr(s, sec)) != NULL) {
            size_t tail = strlen(hit + sl);
            memcpy(hit, "***", 3);
            memmove(hit + 3, hit + sl, tail + 1);
        }
    }
    (void)cap; /* "***" is never longer than a secret (>= 4 bytes), so the string only shrinks */
}

void nb_redact(char *s, size_t cap)
{
    pthread_mutex_lock(&g_lock);
    redact_locked(s, cap);
    pthread_mutex_unlock(&g_lock);
}

void nb_log(enum nb_log_level level, const char *component, const char *fmt, ...)
{
    if (level < g_level || level >= NB_LOG_OFF) return;
    static const char *names[] = {"debug", "info", "warn", "error"};
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    pthread_mutex_lock(&g_lock);
    redact_locked(msg, sizeof msg);
    if (g_format == NB_LOG_JSON) {
        struct nb_buf b;
        nb_buf_init(&b);
        nb_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":", when, names[level]);
        nb_buf_json_string(&b, component ? component : "", component ? strlen(component) : 0);
        nb_buf_puts(&b, ",\"msg\":");
        nb_buf_json_string(&b, msg, strlen(msg));
        nb_buf_puts(&b, "}\n");
        if (b.data) fwrite(b.data, 1, b.len, stderr);
        nb_buf_cleanup(&b);
    } else {
        fprintf(stderr, "%s %-5s %s: %s\n", when, names[level], component ? component : "nebula", msg);
    }
    pthread_mutex_unlock(&g_lock);
}
