/* Table copies: full refresh, incremental (cursor column) and the CDC snapshot. Tables with a
 * primary key are read in keyset chunks (WHERE (pk) > (last) ORDER BY pk LIMIT chunk_size), so a
 * crash resumes after the last key the destination committed. The CDC snapshot runs in one
 * START TRANSACTION WITH CONSISTENT SNAPSHOT whose binlog position is known exactly. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/mysql/source.h"
#include "core/log.h"

static void pos_text(const struct my_pos *p, char *out, size_t cap)
{
    if (p->gtid[0]) snprintf(out, cap, "%s", p->gtid);
    else if (p->file[0]) snprintf(out, cap, "%s:%llu", p->file, (unsigned long long)p->pos);
    else out[0] = '\0';
}

static nb_status snapshot_position(struct my_src *src, MYSQL *db, struct my_pos *out, struct nb_error *err)
{
    /* MariaDB reports the binlog position of a consistent snapshot without any lock. MySQL needs a
     * brief FLUSH TABLES WITH READ LOCK around START TRANSACTION. */
    nb_status st;
    char v[512];
    bool found;
    memset(out, 0, sizeof *out);
    my_query(db, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", NULL);
    if (src->mariadb) {
        if ((st = my_query(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT", err)) != NB_OK) return st;
        if (mysql_query(db, "SHOW STATUS LIKE 'binlog_snapshot_%'") != 0)
            return my_db_error(db, NB_ERR_IO, err, "reading the snapshot's binlog position");
        MYSQL_RES *r = mysql_store_result(db);
        MYSQL_ROW row;
        while (r && (row = mysql_fetch_row(r))) {
            if (!row[0] || !row[1]) continue;
            if (!strcasecmp(row[0], "Binlog_snapshot_file")) snprintf((*out).file, sizeof (*out).file, "%s", row[1]);
            if (!strcasecmp(row[0], "Binlog_snapshot_position")) (*out).pos = strtoull(row[1], NULL, 10);
        }
        if (r) mysql_free_result(r);
        if (!(*out).file[0])
            return nb_error_set(err, NB_ERR_CONFIG, "mysql: the server has no binary log: start it with --log-bin to use mode cdc");
        struct nb_buf q;
        nb_buf_init(&q);
        nb_buf_puts(&q, "SELECT BINLOG_GTID_POS(");
        my_quote_string(db, &q, (*out).file, strlen((*out).file));
        nb_buf_printf(&q, ", %llu)", (unsigned long long)(*out).pos);
        st = my_query_value(db, q.data, v, sizeof v, &found, err);
        nb_buf_cleanup(&q);
        if (st != NB_OK) return st;
        if (found) snprintf((*out).gtid, sizeof (*out).gtid, "%s", v);
    } else {
        if ((st = my_query(db, "FLUSH TABLES WITH READ LOCK", err)) != NB_OK)
            return nb_error_prefix(err, "a consistent snapshot on MySQL needs the RELOAD privilege: ");
        st = my_query(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT", err);
        if (st == NB_OK && mysql_query(db, "SHOW MASTER STATUS") == 0) {
            MYSQL_RES *r = mysql_store_result(db);
            MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
            if (row && row[0]) snprintf((*out).file, sizeof (*out).file, "%s", row[0]);
            if (row && row[1]) (*out).pos = strtoull(row[1], NULL, 10);
            if (row && mysql_num_fields(r) >= 5 && row[4]) snprintf((*out).gtid, sizeof (*out).gtid, "%s", row[4]);
            if (r) mysql_free_result(r);
        }
        my_query(db, "UNLOCK TABLES", NULL);
        if (st != NB_OK) return st;
    }
    NB_INFO("mysql", "consistent snapshot at %s:%llu (gtid %s)", out->file, (unsigned long long)out->pos,
            (*out).gtid[0] ? (*out).gtid : "-");
    return NB_OK;
}

nb_status my_snapshot_begin(struct my_src *src, struct nb_error *err)
{
    bool need_position = false;
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        const struct nb_stream_state *ss = nb_context_state(src->ctx, t->stream);
        struct my_pos p;
        char **pk = NULL, *cursor = NULL;
        size_t n_pk = 0;
        bool done = false;
        if (src->force_snapshot) ss = NULL;
        bool have = ss && ss->source_position && my_pos_parse(ss->source_position, &p, &pk, &n_pk, &cursor, &done, &t->arena);
        if (ss && ss->source_position && !have)
            return nb_error_set(err, NB_ERR_INVALID, "mysql: the saved position of %s is not valid JSON: %.200s", t->stream,
                                ss->source_position);
        switch (src->set.mode) {
        case MY_FULL_REFRESH:
            t->snapshot_needed = true;
            if (have && !done && n_pk == t->n_pk && n_pk) t->after_pk = pk;
            break;
        case MY_INCREMENTAL:
            t->snapshot_needed = true;
            if (have && cursor) t->cursor_value = cursor;
            break;
        case MY_CDC:
            if (have && (p.gtid[0] || p.file[0])) {
                /* a snapshot that was interrupted continues after the last committed key; its
                 * saved position (that of the first snapshot) stays, so streaming replays what
                 * changed in between */
                t->saved = p;
                t->has_saved = true;
                if (n_pk && n_pk == t->n_pk) { t->snapshot_needed = true; t->after_pk = pk; }
            } else if (src->set.snapshot != MY_SNAP_NEVER) {
                t->snapshot_needed = true;     /* its position comes with its snapshot */
            } else {
                need_position = true;          /* stream from now on */
            }
            break;
        }
    }
    if (need_position) {
        struct my_pos now;
        nb_status st = snapshot_position(src, src->db, &now, err);
        my_query(src->db, "COMMIT", NULL);
        if (st != NB_OK) return st;
        for (size_t i = 0; i < src->n_tables; i++) {
            struct my_tinfo *t = &src->tables[i];
            if (!t->has_saved && !t->snapshot_needed) { t->saved = now; t->has_saved = true; }
        }
    }
    return NB_OK;
}

static void append_bit(struct nb_column *col, const struct my_column *c, const char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 8; i++) v = (v << 8) | (unsigned char)p[i];
    if (c->nb.id == NB_TYPE_BOOL) { nb_column_append_text(col, v ? "true" : "false", v ? 4 : 5); return; }
    char tmp[24];
    int k = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    nb_column_append_text(col, tmp, (size_t)k);
}

void my_snapshot_value(const struct my_column *c, const char *p, size_t n, struct nb_column *col)
{
    switch (c->type) {
    case MY_T_BIT:
        append_bit(col, c, p, n);
        return;
    case MY_T_GEOMETRY:
        nb_column_append_text(col, n >= 4 ? p + 4 : p, n >= 4 ? n - 4 : n);
        return;
    case MY_T_TIMESTAMP: case MY_T_TIMESTAMP2: {
        if (n >= 10 && !memcmp(p, "0000-00-00", 10)) {
            nb_column_append_text(col, p, n);
            nb_column_mark_mismatch(col);
            return;
        }
        char tmp[48];
        if (n + 2 > sizeof tmp) { nb_column_append_text(col, p, n); return; }
        memcpy(tmp, p, n);
        if (n > 10 && tmp[10] == ' ') tmp[10] = 'T';
        tmp[n] = 'Z';
        nb_column_append_text(col, tmp, n + 1);
        return;
    }
    case MY_T_DATE: case MY_T_DATETIME: case MY_T_DATETIME2: case MY_T_NEWDATE:
        nb_column_append_text(col, p, n);
        if (n >= 10 && (!memcmp(p, "0000", 4) || !memcmp(p + 5, "00", 2) || !memcmp(p + 8, "00", 2)))
            nb_column_mark_mismatch(col);
        return;
    default:
        nb_column_append_text(col, p, n);
        return;
    }
}

/* One reader of tables: its own connection (or the source's), the open keyset chunk, and the
 * consistent snapshot of the table it copies. Several run in parallel, one table each. */
struct my_snap_worker {
    struct my_src *src;
    MYSQL *db;
    bool own_db;
    MYSQL_RES *res;
    size_t chunk_rows;
    bool in_txn;
    struct my_tinfo *table;
    struct nb_buf keybuf;
    pthread_t thread;
    bool started;
};

struct my_snap_pool {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    struct nb_batch *queue[16];
    size_t head, n, cap;
    size_t next_table;
    unsigned running;
    bool stop;
    nb_status status;
    struct nb_error err;
    struct my_snap_worker *workers;
    unsigned n_workers;
};

static nb_status start_query(struct my_src *src, struct my_snap_worker *w, struct my_tinfo *t, struct nb_error *err)
{
    struct nb_buf q;
    nb_buf_init(&q);
    nb_buf_puts(&q, "SELECT ");
    for (size_t i = 0; i < t->n_cols; i++) {
        if (i) nb_buf_putc(&q, ',');
        my_quote_ident(&q, t->cols[i].name);
    }
    nb_buf_puts(&q, " FROM ");
    my_quote_ident(&q, t->db);
    nb_buf_putc(&q, '.');
    my_quote_ident(&q, t->name);
    if (src->set.mode == MY_INCREMENTAL) {
        const char *cn = t->cols[t->cursor].name;
        if (t->cursor_value) {
            nb_buf_puts(&q, " WHERE ");
            my_quote_ident(&q, cn);
            nb_buf_puts(&q, " > ");
            my_quote_string(w->db, &q, t->cursor_value, strlen(t->cursor_value));
        }
        nb_buf_puts(&q, " ORDER BY ");
        my_quote_ident(&q, cn);
    } else if (t->n_pk) {
        if (t->after_pk) {
            nb_buf_puts(&q, " WHERE (");
            for (size_t k = 0; k < t->n_pk; k++) {
                if (k) nb_buf_putc(&q, ',');
                my_quote_ident(&q, t->cols[t->pk[k]].name);
            }
            nb_buf_puts(&q, ") > (");
            for (size_t k = 0; k < t->n_pk; k++) {
                if (k) nb_buf_putc(&q, ',');
                my_quote_string(w->db, &q, t->after_pk[k], strlen(t->after_pk[k]));
            }
            nb_buf_putc(&q, ')');
        }
        nb_buf_puts(&q, " ORDER BY ");
        for (size_t k = 0; k < t->n_pk; k++) {
            if (k) nb_buf_putc(&q, ',');
            my_quote_ident(&q, t->cols[t->pk[k]].name);
        }
        nb_buf_printf(&q, " LIMIT %zu", src->set.chunk_size);
    }
    nb_status st = nb_buf_status(&q, err);
    char what[300];
    snprintf(what, sizeof what, "reading table %s", t->stream);
    if (st == NB_OK && mysql_real_query(w->db, q.data, q.len) != 0) st = my_db_error(w->db, NB_ERR_IO, err, what);
    if (st == NB_OK && !(w->res = mysql_use_result(w->db))) st = my_db_error(w->db, NB_ERR_IO, err, what);
    nb_buf_cleanup(&q);
    return st;
}

/* Take the next table that needs copying; in cdc mode open its consistent snapshot. */
static nb_status claim_table(struct my_src *src, struct my_snap_worker *w, size_t *next, pthread_mutex_t *mu,
                             struct nb_error *err)
{
    w->table = NULL;
    if (mu) pthread_mutex_lock(mu);
    while (*next < src->n_tables) {
        struct my_tinfo *t = &src->tables[(*next)++];
        if (t->snapshot_needed && !t->snapshot_done) { w->table = t; break; }
    }
    if (mu) pthread_mutex_unlock(mu);
    if (!w->table) return NB_DONE;
    w->table->started = true;
    w->chunk_rows = 0;
    if (src->set.mode == MY_CDC) {
        if (w->in_txn) { my_query(w->db, "COMMIT", NULL); w->in_txn = false; }
        struct my_pos p;
        nb_status st = snapshot_position(src, w->db, &p, err);
        if (st != NB_OK) return st;
        w->in_txn = true;
        if (!w->table->has_saved) { w->table->saved = p; w->table->has_saved = true; }
    }
    return NB_OK;
}

/* The next batch of the worker's tables; NB_DONE when there is no table left. */
static nb_status worker_step(struct my_snap_worker *w, size_t *next, pthread_mutex_t *mu, struct nb_batch **out,
                             struct nb_error *err)
{
    struct my_src *src = w->src;
    nb_status st;
    *out = NULL;
    for (;;) {
        if (!w->table) {
            st = claim_table(src, w, next, mu, err);
            if (st != NB_OK) {
                if (w->in_txn) { my_query(w->db, "COMMIT", NULL); w->in_txn = false; }
                return st;
            }
        }
        struct my_tinfo *t = w->table;
        if (!w->res) {
            if ((st = start_query(src, w, t, err)) != NB_OK) return st;
            w->chunk_rows = 0;
        }
        struct nb_batch *b = nb_batch_create(t->schema, src->batch_size < 4096 ? src->batch_size : 4096);
        if (!b) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        b->stream = nb_arena_strdup(&b->arena, t->stream);
        b->source_name = b->stream;
        char ptext[600];
        pos_text(&t->saved, ptext, sizeof ptext);
        size_t rows = 0;
        bool exhausted = false, any = false;
        size_t key_off[16] = {0}, key_len[16] = {0};
        bool keyed = t->n_pk && t->n_pk <= 16 && src->set.mode != MY_INCREMENTAL;
        while (rows < src->batch_size) {
            MYSQL_ROW row = mysql_fetch_row(w->res);
            if (!row) {
                if (mysql_errno(w->db)) {
                    char what[300];
                    snprintf(what, sizeof what, "reading table %s", t->stream);
                    nb_batch_destroy(b);
                    return my_db_error(w->db, NB_ERR_IO, err, what);
                }
                exhausted = true;
                break;
            }
            unsigned long *len = mysql_fetch_lengths(w->res);
            for (size_t i = 0; i < t->n_cols; i++) {
                if (!row[i]) nb_column_append_null(&b->cols[i]);
                else my_snapshot_value(&t->cols[i], row[i], len[i], &b->cols[i]);
            }
            if (src->set.mode == MY_CDC) {
                nb_column_append_text(&b->cols[t->n_cols], "r", 1);
                nb_column_append_text(&b->cols[t->n_cols + 1], ptext, strlen(ptext));
                nb_column_append_null(&b->cols[t->n_cols + 2]);
            }
            rows++;
            any = true;
            /* the last row's key, copied: the row buffer does not outlive the next fetch */
            if (keyed) {
                nb_buf_reset(&w->keybuf);
                for (size_t k = 0; k < t->n_pk; k++) {
                    key_off[k] = w->keybuf.len;
                    key_len[k] = row[t->pk[k]] ? len[t->pk[k]] : 0;
                    if (key_len[k]) nb_buf_append(&w->keybuf, row[t->pk[k]], key_len[k]);
                }
            }
            if (src->set.mode == MY_INCREMENTAL && row[t->cursor])
                t->cursor_value = nb_arena_strndup(&t->arena, row[t->cursor], len[t->cursor]);
        }
        b->n_rows = rows;
        w->chunk_rows += rows;
        if (any && keyed) {
            char **pk = nb_arena_alloc(&t->arena, t->n_pk * sizeof(char *));
            if (!pk) { nb_batch_destroy(b); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
            for (size_t k = 0; k < t->n_pk; k++)
                pk[k] = nb_arena_strndup(&t->arena, w->keybuf.data ? w->keybuf.data + key_off[k] : "", key_len[k]);
            t->after_pk = pk;
        }
        bool table_done = false;
        if (exhausted) {
            mysql_free_result(w->res);
            w->res = NULL;
            if (!t->n_pk || src->set.mode == MY_INCREMENTAL || w->chunk_rows < src->set.chunk_size) table_done = true;
        }
        if ((st = nb_batch_check(b, err)) != NB_OK) { nb_batch_destroy(b); return st; }
        struct nb_buf pj;
        nb_buf_init(&pj);
        nb_buf_putc(&pj, '{');
        if (src->set.mode == MY_CDC) {
            my_pos_json(&t->saved, &pj);
        } else if (src->set.mode == MY_INCREMENTAL) {
            if (t->cursor_value) {
                nb_buf_puts(&pj, "\"cursor\":");
                nb_buf_json_string(&pj, t->cursor_value, strlen(t->cursor_value));
            }
        } else if (table_done) {
            nb_buf_puts(&pj, "\"done\":true");
        }
        if (!table_done && t->after_pk && src->set.mode != MY_INCREMENTAL) {
            nb_buf_printf(&pj, "%s\"pk\":[", pj.len > 1 ? "," : "");
            for (size_t k = 0; k < t->n_pk; k++) {
                if (k) nb_buf_putc(&pj, ',');
                nb_buf_json_string(&pj, t->after_pk[k], strlen(t->after_pk[k]));
            }
            nb_buf_putc(&pj, ']');
        }
        nb_buf_putc(&pj, '}');
        st = nb_buf_status(&pj, err);
        if (st == NB_OK) b->position = nb_arena_strndup(&b->arena, pj.data, pj.len);
        nb_buf_cleanup(&pj);
        if (st != NB_OK) { nb_batch_destroy(b); return st; }
        if (table_done) {
            t->snapshot_done = true;
            b->end_of_stream = src->set.mode != MY_CDC;
            t->ended = b->end_of_stream;
            w->table = NULL;
            NB_INFO("mysql", "copied %s", t->stream);
        }
        if (rows == 0 && !table_done) { nb_batch_destroy(b); continue; }
        *out = b;
        return NB_OK;
    }
}

static void worker_cleanup(struct my_snap_worker *w)
{
    if (w->res) { mysql_free_result(w->res); w->res = NULL; }
    if (w->in_txn && w->db) { my_query(w->db, "COMMIT", NULL); w->in_txn = false; }
    if (w->own_db && w->db) mysql_close(w->db);
    w->db = NULL;
    nb_buf_cleanup(&w->keybuf);
}

static void *worker_main(void *arg)
{
    struct my_snap_worker *w = arg;
    struct my_src *src = w->src;
    struct my_snap_pool *pool = src->pool;
    mysql_thread_init();
    for (;;) {
        struct nb_batch *b = NULL;
        struct nb_error err;
        nb_error_clear(&err);
        nb_status st = worker_step(w, &pool->next_table, &pool->mu, &b, &err);
        pthread_mutex_lock(&pool->mu);
        if (st != NB_OK) {
            if (st != NB_DONE && pool->status == NB_OK) { pool->status = st; pool->err = err; }
            pool->running--;
            pthread_cond_broadcast(&pool->changed);
            pthread_mutex_unlock(&pool->mu);
            break;
        }
        while (pool->n == pool->cap && !pool->stop) pthread_cond_wait(&pool->changed, &pool->mu);
        if (pool->stop) {
            pool->running--;
            pthread_cond_broadcast(&pool->changed);
            pthread_mutex_unlock(&pool->mu);
            nb_batch_destroy(b);
            break;
        }
        pool->queue[(pool->head + pool->n++) % pool->cap] = b;
        pthread_cond_broadcast(&pool->changed);
        pthread_mutex_unlock(&pool->mu);
    }
    mysql_thread_end();
    return NULL;
}

void my_snapshot_stop(struct my_src *src)
{
    struct my_snap_pool *pool = src->pool;
    if (!pool) {
        if (src->serial) { worker_cleanup(src->serial); free(src->serial); src->serial = NULL; }
        return;
    }
    pthread_mutex_lock(&pool->mu);
    pool->stop = true;
    pthread_cond_broadcast(&pool->changed);
    pthread_mutex_unlock(&pool->mu);
    for (unsigned i = 0; i < pool->n_workers; i++)
        if (pool->workers[i].started) pthread_join(pool->workers[i].thread, NULL);
    for (unsigned i = 0; i < pool->n_workers; i++) worker_cleanup(&pool->workers[i]);
    while (pool->n) { nb_batch_destroy(pool->queue[pool->head]); pool->head = (pool->head + 1) % pool->cap; pool->n--; }
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->changed);
    free(pool->workers);
    free(pool);
    src->pool = NULL;
}

static nb_status start_pool(struct my_src *src, unsigned n, struct nb_error *err)
{
    struct my_snap_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    pool->workers = calloc(n, sizeof *pool->workers);
    if (!pool->workers) { free(pool); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->changed, NULL);
    pool->cap = n * 2 < 16 ? n * 2 : 16;
    pool->n_workers = n;
    src->pool = pool;
    /* connections first, from this thread (connecting updates the source's host choice) */
    for (unsigned i = 0; i < n; i++) {
        struct my_snap_worker *w = &pool->workers[i];
        w->src = src;
        nb_buf_init(&w->keybuf);
        nb_status st = my_connect(src, &w->db, err);
        if (st != NB_OK) { my_snapshot_stop(src); return st; }
        w->own_db = true;
    }
    for (unsigned i = 0; i < n; i++) {
        pool->running++;
        if (pthread_create(&pool->workers[i].thread, NULL, worker_main, &pool->workers[i]) != 0) {
            pool->running--;
            my_snapshot_stop(src);
            return nb_error_set(err, NB_ERR_INTERNAL, "mysql: cannot start a snapshot thread");
        }
        pool->workers[i].started = true;
    }
    NB_INFO("mysql", "copying tables with %u connections", n);
    return NB_OK;
}

nb_status my_snapshot_read(struct my_src *src, struct nb_batch **out, struct nb_error *err)
{
    nb_status st;
    *out = NULL;
    if (!src->snapshot_begun) {
        if ((st = my_snapshot_begin(src, err)) != NB_OK) return st;
        src->snapshot_begun = true;
        src->snap_table = 0;
        size_t todo = 0;
        for (size_t i = 0; i < src->n_tables; i++) todo += src->tables[i].snapshot_needed;
        unsigned n = src->ctx->options && src->ctx->options->workers ? src->ctx->options->workers : 1;
        if (n > 8) n = 8;
        if (n > todo) n = (unsigned)todo;
        if (n > 1) {
            if ((st = start_pool(src, n, err)) != NB_OK) return st;
        } else {
            src->serial = calloc(1, sizeof *src->serial);
            if (!src->serial) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            src->serial->src = src;
            src->serial->db = src->db;
            nb_buf_init(&src->serial->keybuf);
        }
    }
    if (src->serial) {
        st = worker_step(src->serial, &src->snap_table, NULL, out, err);
        if (st == NB_OK) src->rows_done += (*out)->n_rows;
        if (st == NB_DONE) my_snapshot_stop(src);
        return st;
    }
    struct my_snap_pool *pool = src->pool;
    if (!pool) return NB_DONE;
    pthread_mutex_lock(&pool->mu);
    if (pool->n == 0 && pool->running > 0 && pool->status == NB_OK) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&pool->changed, &pool->mu, &ts);
    }
    if (pool->status != NB_OK) {
        st = pool->status;
        if (err) *err = pool->err;
        pthread_mutex_unlock(&pool->mu);
        return st;
    }
    if (pool->n) {
        *out = pool->queue[pool->head];
        pool->head = (pool->head + 1) % pool->cap;
        pool->n--;
        pthread_cond_broadcast(&pool->changed);
        pthread_mutex_unlock(&pool->mu);
        src->rows_done += (*out)->n_rows;
        return NB_OK;
    }
    bool finished = pool->running == 0;
    pthread_mutex_unlock(&pool->mu);
    if (!finished) return NB_AGAIN;
    my_snapshot_stop(src);
    return NB_DONE;
}
