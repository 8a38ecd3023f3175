/* Drives the mysql source the way the engine does (open, read until done, positions saved per
 * stream after each batch) against a real server named by NB_MY_PORT, collecting rows as text. */
#include "helper_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

extern const struct nb_connector_ops nb_connector_mysql;

unsigned live_workers;
size_t live_batch_size;
double live_max_lag = -1, live_last_lag = -1;

int live_port(void)
{
    const char *p = getenv("NB_MY_PORT");
    return p ? atoi(p) : 0;
}

void live_sql(const char *sql)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "mariadb --no-defaults -h127.0.0.1 -P%d -uroot -e \"%s\"", live_port(), sql);
    if (system(cmd) != 0) fprintf(stderr, "live_sql failed: %s\n", sql);
}

void live_state_set(struct live_state *st, const char *stream, const char *pos)
{
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->s[i].stream, stream)) {
            free((char *)st->s[i].source_position);
            st->s[i].source_position = strdup(pos);
            return;
        }
    if (st->n == LIVE_MAX_STREAMS) return;
    st->s[st->n].stream = strdup(stream);
    st->s[st->n].source_position = strdup(pos);
    st->n++;
}

void live_state_free(struct live_state *st)
{
    for (size_t i = 0; i < st->n; i++) {
        free((char *)st->s[i].stream);
        free((char *)st->s[i].source_position);
    }
    st->n = 0;
}

const char *live_state_get(const struct live_state *st, const char *stream)
{
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->s[i].stream, stream)) return st->s[i].source_position;
    return NULL;
}

static void append_batch(struct nb_buf *rows, const struct nb_batch *b)
{
    for (size_t r = 0; r < b->n_rows; r++) {
        nb_buf_puts(rows, b->stream);
        for (size_t c = 0; c < b->schema->n_fields; c++) {
            const char *name = b->schema->fields[c].name;
            if (!strcmp(name, "_nb_position") || !strcmp(name, "_nb_commit_ts")) continue;
            nb_buf_putc(rows, '|');
            if (nb_column_is_null(&b->cols[c], r)) { nb_buf_puts(rows, "NULL"); continue; }
            size_t n;
            const char *t = nb_column_text(&b->cols[c], r, &n);
            for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)t[i];
                if (ch < 0x20 || ch == '|' || ch == '\\' || ch >= 0x7f) nb_buf_printf(rows, "\\x%02x", ch);
                else nb_buf_putc(rows, (char)ch);
            }
        }
        nb_buf_putc(rows, '\n');
    }
}

nb_status live_run(const char *yaml, struct live_state *st, struct nb_buf *rows, size_t max_batches, size_t *n_batches,
                   struct nb_buf *schema_log, struct nb_error *err)
{
    struct nb_cfg *cfg = NULL;
    nb_status s = nb_cfg_load_string(yaml, strlen(yaml), "test.yaml", &cfg, err);
    if (s != NB_OK) return s;
    s = nb_cfg_validate(cfg, nb_connector_mysql.source->spec, "source", err);
    if (s != NB_OK) { nb_cfg_destroy(cfg); return s; }
    struct nb_run_options opt = {0};
    opt.batch_size = live_batch_size ? live_batch_size : 1000;
    opt.workers = live_workers;
    opt.flush_interval_ms = 200;
    struct nb_stream_state states[LIVE_MAX_STREAMS];
    for (size_t i = 0; i < st->n; i++) states[i] = st->s[i];
    struct nb_context ctx = {.config = cfg, .options = &opt, .state = states, .n_state = st->n};
    void *src = NULL;
    s = nb_connector_mysql.source->open(&src, &ctx, err);
    if (s != NB_OK) { nb_cfg_destroy(cfg); return s; }
    size_t batches = 0;
    int agains = 0;
    struct nb_schema *last = NULL;
    for (;;) {
        if (max_batches && batches >= max_batches) { s = NB_OK; break; }
        struct nb_batch *b = NULL;
        s = nb_connector_mysql.source->read(src, &b, err);
        if (s == NB_AGAIN) { if (++agains > 60) { s = nb_error_set(err, NB_ERR_TIMEOUT, "live: no end"); break; } continue; }
        if (s != NB_OK) break;
        batches++;
        if (schema_log && (!last || !nb_schema_equal(last, b->schema))) {
            nb_buf_printf(schema_log, "%s:", b->stream);
            nb_schema_to_json(b->schema, schema_log);
            nb_buf_putc(schema_log, '\n');
            nb_schema_release(last);
            last = nb_schema_retain(b->schema);
        }
        append_batch(rows, b);
        double lag;
        if (nb_connector_mysql.source->lag && nb_connector_mysql.source->lag(src, &lag) && lag > live_max_lag)
            live_max_lag = lag;
        if (b->position) live_state_set(st, b->stream, b->position);
        nb_batch_destroy(b);
    }
    nb_schema_release(last);
    if (n_batches) *n_batches = batches;
    double lag;
    live_last_lag = nb_connector_mysql.source->lag && nb_connector_mysql.source->lag(src, &lag) ? lag : -1;
    nb_connector_mysql.source->close(src);
    nb_cfg_destroy(cfg);
    return s == NB_DONE ? NB_OK : s;
}
