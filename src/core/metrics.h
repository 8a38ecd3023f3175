/* The one metrics registry (DESIGN.md §8): counters and gauges by name and stream, updated with
 * atomics from any thread, rendered in the Prometheus text format for /metrics. */
#ifndef NB_CORE_METRICS_H
#define NB_CORE_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/buf.h"

enum nb_metric_kind { NB_METRIC_COUNTER, NB_METRIC_GAUGE };

struct nb_metric {
    const char *name;        /* nebula_rows_out_total */
    const char *help;
    enum nb_metric_kind kind;
    char *stream;            /* label, may be NULL */
    _Atomic uint64_t value;
    struct nb_metric *next;
};

/* Find or create; the pointer stays valid for the life of the process. NULL only on OOM. */
struct nb_metric *nb_metric_get(const char *name, const char *help, enum nb_metric_kind kind, const char *stream);
static inline void nb_metric_add(struct nb_metric *m, uint64_t v)
{
    if (m) atomic_fetch_add_explicit(&m->value, v, memory_order_relaxed);
}
static inline void nb_metric_set(struct nb_metric *m, uint64_t v)
{
    if (m) atomic_store_explicit(&m->value, v, memory_order_relaxed);
}
/* Prometheus text exposition format 0.0.4. */
void nb_metrics_render(struct nb_buf *out);

#endif
