/* Test driver for the mysql source against a real server (see helper_live.c). */
#ifndef NB_TEST_MYSQL_HELPER_LIVE_H
#define NB_TEST_MYSQL_HELPER_LIVE_H

#include "connectors/connector.h"
#include "core/buf.h"

#define LIVE_MAX_STREAMS 32

struct live_state {
    struct nb_stream_state s[LIVE_MAX_STREAMS];
    size_t n;
};

/* Run options of live_run: snapshot connections (0: one) and rows per batch (0: 1000). */
extern unsigned live_workers;
extern size_t live_batch_size;
/* The source's lag (ops.lag) as live_run saw it after each batch: the largest, and the last
 * (asked once more after the end); -1 while it reported none. */
extern double live_max_lag, live_last_lag;

int live_port(void);
void live_sql(const char *sql);
void live_state_set(struct live_state *st, const char *stream, const char *pos);
const char *live_state_get(const struct live_state *st, const char *stream);
void live_state_free(struct live_state *st);
/* Open with yaml, read until NB_DONE (or max_batches), rows appended as "stream|v1|v2..." lines
 * (metadata columns except _nb_op skipped), positions saved in st. */
nb_status live_run(const char *yaml, struct live_state *st, struct nb_buf *rows, size_t max_batches, size_t *n_batches,
                   struct nb_buf *schema_log, struct nb_error *err);

#endif
