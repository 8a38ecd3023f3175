/* Metrics registry: a mutex-guarded list for creation, atomics for updates. */
#include "core/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nb_metric *g_head, *g_tail;

struct nb_metric *nb_metric_get(const char *name, const char *help, enum nb_metric_kind kind, const char *stream)
{
    pthread_mutex_lock(&g_lock);
    struct nb_metric *m;
    for (m = g_head; m; m = m->next)
        if (strcmp(m->name, name) == 0 && ((!m->stream && !stream) || (m->stream && stream && strcmp(m->stream, stream) == 0)))
            break;
    if (!m && (m = calloc(1, sizeof *m)) != NULL) {
        m->name = name;
        m->help = help;
        m->kind = kind;
        m->stream = stream ? strdup(stream) : NULL;
        if (stream && !m->stream) {
            free(m);
            m = NULL;
        } else {
            /* Appended so that metrics of one name stay together in the output. */
            if (g_tail) g_tail->next = m; else g_head = m;
            g_tail = m;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return m;
}

static void label_value(struct nb_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') nb_buf_putc(out, '\\');
        if (*s == '\n') { nb_buf_puts(out, "\\n"); continue; }
        nb_buf_putc(out, *s);
    }
}

void nb_metrics_render(struct nb_buf *out)
{
    pthread_mutex_lock(&g_lock);
    for (struct nb_metric *m = g_head; m; m = m->next) {
        bool first = true;
        for (struct nb_metric *p = g_head; p != m; p = p->next)
            if (strcmp(p->name, m->name) == 0) { first = false; break; }
        if (first)
            nb_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                          m->kind == NB_METRIC_COUNTER ? "counter" : "gauge");
        nb_buf_puts(out, m->name);
        if (m->stream) {
            nb_buf_puts(out, "{stream=\"");
            label_value(out, m->stream);
            nb_buf_puts(out, "\"}");
        }
        nb_buf_printf(out, " %llu\n", (unsigned long long)atomic_load_explicit(&m->value, memory_order_relaxed));
    }
    pthread_mutex_unlock(&g_lock);
}
