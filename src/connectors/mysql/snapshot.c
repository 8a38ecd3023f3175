/* Table copies: full refresh, incremental (cursor column) and the CDC snapshot. A table with a
 * primary key is a list of key ranges still to copy; one reader takes a whole range in one
 * ordered query, several readers (`workers`) cut it into chunks of chunk_size rows and read them
 * at once on their own connections. What is left of every range travels with each batch as its
 * position, so a crash resumes each range after the last key the destination committed. The CDC
 * snapshot is a START TRANSACTION WITH CONSISTENT SNAPSHOT whose binlog position is known exactly:
 * shared by all readers (taken under a brief FLUSH TABLES WITH READ LOCK) or, when that lock is
 * not allowed, one per table. */
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

/* The binlog position of the consistent snapshot just started on db. MariaDB reports it per
 * transaction (Binlog_snapshot_*); MySQL only has SHOW MASTER STATUS, exact while writes are
 * blocked by FLUSH TABLES WITH READ LOCK. */
static nb_status read_position(struct my_src *src, MYSQL *db, struct my_pos *out, struct nb_error *err)
{
    char v[512];
    bool found;
    memset(out, 0, sizeof *out);
    if (src->mariadb) {
        if (mysql_query(db, "SHOW STATUS LIKE 'binlog_snapshot_%'") != 0)
            return my_db_error(db, NB_ERR_IO, err, "reading the snapshot's binlog position");
        MYSQL_RES *r = mysql_store_result(db);
        MYSQL_ROW row;
        while (r && (row = mysql_fetch_row(r))) {
            if (!row[0] || !row[1]) continue;
            if (!strcasecmp(row[0], "Binlog_snapshot_file")) snprintf(out->file, sizeof out->file, "%s", row[1]);
            if (!strcasecmp(row[0], "Binlog_snapshot_position")) out->pos = strtoull(row[1], NULL, 10);
        }
        if (r) mysql_free_result(r);
        if (!out->file[0])
            return nb_error_set(err, NB_ERR_CONFIG, "mysql: the server has no binary log: start it with --log-bin to use mode cdc");
        struct nb_buf q;
        nb_buf_init(&q);
        nb_buf_puts(&q, "SELECT BINLOG_GTID_POS(");
        my_quote_string(db, &q, out->file, strlen(out->file));
        nb_buf_printf(&q, ", %llu)", (unsigned long long)out->pos);
        nb_status st = nb_buf_status(&q, err);
        if (st == NB_OK) st = my_query_value(db, q.data, v, sizeof v, &found, err);
        nb_buf_cleanup(&q);
        if (st != NB_OK) return st;
        if (found) snprintf(out->gtid, sizeof out->gtid, "%s", v);
    } else {
        /* MySQL 8.4 renamed it SHOW BINARY LOG STATUS */
        if (mysql_query(db, "SHOW MASTER STATUS") != 0 && mysql_query(db, "SHOW BINARY LOG STATUS") != 0)
            return my_db_error(db, NB_ERR_IO, err, "reading the binlog position (SHOW BINARY LOG STATUS)");
        MYSQL_RES *r = mysql_store_result(db);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (row && row[0]) snprintf(out->file, sizeof out->file, "%s", row[0]);
        if (row && row[1]) out->pos = strtoull(row[1], NULL, 10);
        if (row && mysql_num_fields(r) >= 5 && row[4]) snprintf(out->gtid, sizeof out->gtid, "%s", row[4]);
        if (r) mysql_free_result(r);
        if (!out->file[0])
            return nb_error_set(err, NB_ERR_CONFIG, "mysql: the server has no binary log: start it with --log-bin to use mode cdc");
    }
    NB_INFO("mysql", "consistent snapshot at %s:%llu (gtid %s)", out->file, (unsigned long long)out->pos,
            out->gtid[0] ? out->gtid : "-");
    return NB_OK;
}

/* Start a consistent snapshot on db alone and read its position. MariaDB needs no lock; MySQL a
 * brief FLUSH TABLES WITH READ LOCK (the RELOAD privilege). */
static nb_status snapshot_position(struct my_src *src, MYSQL *db, struct my_pos *out, struct nb_error *err)
{
    nb_status st;
    my_query(db, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", NULL);
    if (src->mariadb) {
        if ((st = my_query(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT", err)) != NB_OK) return st;
        return read_position(src, db, out, err);
    }
    if ((st = my_query(db, "FLUSH TABLES WITH READ LOCK", err)) != NB_OK)
        return nb_error_prefix(err, "a consistent snapshot on MySQL needs the RELOAD privilege: ");
    st = my_query(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT", err);
    if (st == NB_OK) st = read_position(src, db, out, err);
    my_query(db, "UNLOCK TABLES", NULL);
    return st;
}

static bool keyed(const struct my_src *src, const struct my_tinfo *t)
{
    return t->n_pk && t->n_pk <= 16 && src->set.mode != MY_INCREMENTAL;
}

struct my_range *my_range_add(struct my_tinfo *t, char **after, char **upto)
{
    if (t->n_ranges == t->cap_ranges) {
        size_t cap = t->cap_ranges ? t->cap_ranges * 2 : 8;
        struct my_range **r = nb_arena_alloc(&t->arena, cap * sizeof *r);
        if (!r) return NULL;
        if (t->n_ranges) memcpy(r, t->ranges, t->n_ranges * sizeof *r);
        t->ranges = r;
        t->cap_ranges = cap;
    }
    struct my_range *r = nb_arena_alloc(&t->arena, sizeof *r);
    if (!r) return NULL;
    *r = (struct my_range){after, upto, false};
    t->ranges[t->n_ranges++] = r;
    return r;
}

static char **key_dup(struct nb_arena *a, char *const *k, size_t n)
{
    char **c = nb_arena_alloc(a, n * sizeof *c);
    for (size_t i = 0; c && i < n; i++)
        if (!(c[i] = nb_arena_strdup(a, k[i]))) return NULL;
    return c;
}

nb_status my_snapshot_begin(struct my_src *src, struct nb_error *err)
{
    bool need_position = false;
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        const struct nb_stream_state *ss = nb_context_state(src->ctx, t->stream);
        struct my_pos p;
        char *cursor = NULL;
        bool done = false;
        if (src->force_snapshot) ss = NULL;
        t->n_ranges = 0;
        t->owner = NULL;
        t->splitting = false;
        bool have = ss && ss->source_position && my_pos_parse(ss->source_position, &p, &cursor, &done, &t->arena);
        if (ss && ss->source_position && !have)
            return nb_error_set(err, NB_ERR_INVALID, "mysql: the saved position of %s is not valid JSON: %.200s", t->stream,
                                ss->source_position);
        switch (src->set.mode) {
        case MY_FULL_REFRESH:
            t->snapshot_needed = true;
            if (have && !done && keyed(src, t) && my_pos_ranges(ss->source_position, t) > 0)
                NB_INFO("mysql", "%s: resuming the copy (%zu key ranges left)", t->stream, t->n_ranges);
            break;
        case MY_INCREMENTAL:
            t->snapshot_needed = true;
            if (have && cursor) t->cursor_value = cursor;
            break;
        case MY_CDC:
            if (have && (p.gtid[0] || p.file[0])) {
                /* a snapshot that was interrupted continues with the ranges it had left; its
                 * saved position (that of the first snapshot) stays, so streaming replays what
                 * changed in between */
                t->saved = p;
                t->has_saved = true;
                int r = my_pos_ranges(ss->source_position, t);
                if (r != 0) t->snapshot_needed = true;   /* -1: ranges that no longer fit: copy it all */
                if (r > 0) NB_INFO("mysql", "%s: resuming the snapshot (%zu key ranges left)", t->stream, t->n_ranges);
            } else if (src->set.snapshot != MY_SNAP_NEVER) {
                t->snapshot_needed = true;     /* its position comes with its snapshot */
            } else {
                need_position = true;          /* stream from now on */
            }
            break;
        }
        if (t->snapshot_needed && !t->n_ranges && !my_range_add(t, NULL, NULL))
            return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
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

/* One reader: its own connection (or the source's when it is the only one), the range it reads
 * and, in cdc mode, the consistent snapshot it reads in. */
struct my_snap_worker {
    struct my_src *src;
    MYSQL *db;
    bool own_db;
    bool in_txn;
    MYSQL_RES *res;
    struct my_tinfo *table;     /* per-table snapshots: the table whose snapshot db holds */
    struct my_tinfo *cur_t;
    struct my_range *cur;       /* the range being read; NULL between ranges */
    char **q_after, **q_upto;   /* its bounds when claimed */
    struct nb_buf keybuf, cursorbuf;
    pthread_t thread;
    bool started;
};

/* A batch on its way to the engine, with what it tells about its range. */
struct my_snap_item {
    struct nb_batch *b;
    struct my_tinfo *t;
    struct my_range *r;
    char **last;                /* key of its last row (b->arena); NULL: none */
    const char *cursor;         /* incremental: the cursor after it (b->arena) */
    bool range_done;
};

struct my_snap_pool {
    pthread_mutex_t mu;         /* guards the queue and every table's range list */
    pthread_cond_t changed;
    struct my_snap_item queue[16];
    size_t head, n, cap;
    unsigned running;
    bool stop, threaded;
    bool shared;                /* one snapshot (or none needed) for all readers: chunks in parallel */
    nb_status status;
    struct nb_error err;
    struct my_snap_worker *workers;
    unsigned n_workers;
};

/* "(a,b) op ('x','y')", or "a op 'x'" for a one-column key */
static void key_cond(struct nb_buf *q, MYSQL *db, const struct my_tinfo *t, const char *op, char *const *k)
{
    bool row = t->n_pk > 1;
    if (row) nb_buf_putc(q, '(');
    for (size_t i = 0; i < t->n_pk; i++) {
        if (i) nb_buf_putc(q, ',');
        my_quote_ident(q, t->cols[t->pk[i]].name);
    }
    nb_buf_puts(q, row ? ") " : " ");
    nb_buf_puts(q, op);
    nb_buf_puts(q, row ? " (" : " ");
    for (size_t i = 0; i < t->n_pk; i++) {
        if (i) nb_buf_putc(q, ',');
        my_quote_string(db, q, k[i], strlen(k[i]));
    }
    if (row) nb_buf_putc(q, ')');
}

static void key_order(struct nb_buf *q, const struct my_tinfo *t)
{
    nb_buf_puts(q, " ORDER BY ");
    for (size_t i = 0; i < t->n_pk; i++) {
        if (i) nb_buf_putc(q, ',');
        my_quote_ident(q, t->cols[t->pk[i]].name);
    }
}

static void table_name(struct nb_buf *q, const struct my_tinfo *t)
{
    my_quote_ident(q, t->db);
    nb_buf_putc(q, '.');
    my_quote_ident(q, t->name);
}

static nb_status run_query(MYSQL *db, struct nb_buf *q, const struct my_tinfo *t, bool store, MYSQL_RES **res,
                           struct nb_error *err)
{
    nb_status st = nb_buf_status(q, err);
    char what[300];
    snprintf(what, sizeof what, "reading table %s", t->stream);
    if (st == NB_OK && mysql_real_query(db, q->data, q->len) != 0) st = my_db_error(db, NB_ERR_IO, err, what);
    if (st == NB_OK && !(*res = store ? mysql_store_result(db) : mysql_use_result(db)))
        st = my_db_error(db, NB_ERR_IO, err, what);
    nb_buf_cleanup(q);
    return st;
}

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
    table_name(&q, t);
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
    } else if (keyed(src, t)) {
        if (w->q_after || w->q_upto) nb_buf_puts(&q, " WHERE ");
        if (w->q_after) key_cond(&q, w->db, t, ">", w->q_after);
        if (w->q_after && w->q_upto) nb_buf_puts(&q, " AND ");
        if (w->q_upto) key_cond(&q, w->db, t, "<=", w->q_upto);
        key_order(&q, t);
    }
    return run_query(w->db, &q, t, false, &w->res, err);
}

/* The key chunk_size rows after `after`: the end of the next chunk (no row: less is left). */
static nb_status chunk_end(struct my_src *src, struct my_snap_worker *w, struct my_tinfo *t, char **after,
                           MYSQL_RES **res, struct nb_error *err)
{
    struct nb_buf q;
    nb_buf_init(&q);
    nb_buf_puts(&q, "SELECT ");
    for (size_t i = 0; i < t->n_pk; i++) {
        if (i) nb_buf_putc(&q, ',');
        my_quote_ident(&q, t->cols[t->pk[i]].name);
    }
    nb_buf_puts(&q, " FROM ");
    table_name(&q, t);
    if (after) {
        nb_buf_puts(&q, " WHERE ");
        key_cond(&q, w->db, t, ">", after);
    }
    key_order(&q, t);
    nb_buf_printf(&q, " LIMIT 1 OFFSET %zu", src->set.chunk_size - 1);
    return run_query(w->db, &q, t, true, res, err);
}

/* Claim the next range to read (pool->mu held; dropped around queries). In shared mode any
 * reader takes any range, and the open rest of a table is cut into chunks; with one snapshot per
 * table, a reader takes a table of its own, opens its snapshot and reads its ranges whole. */
static nb_status claim(struct my_snap_worker *w, struct nb_error *err)
{
    struct my_src *src = w->src;
    struct my_snap_pool *pool = src->pool;
    for (;;) {
        if (pool->stop) return NB_DONE;
        struct my_tinfo *pick = NULL;
        struct my_range *r = NULL;
        bool busy = false;
        for (size_t i = 0; i < src->n_tables && !r; i++) {
            struct my_tinfo *t = &src->tables[i];
            if (!t->snapshot_needed || t->snapshot_done) continue;
            if (!pool->shared && (w->table ? t != w->table : t->owner != NULL)) continue;
            for (size_t k = 0; k < t->n_ranges; k++) {
                struct my_range *c = t->ranges[k];
                if (c->claimed) continue;
                if (!c->upto && t->splitting) { busy = true; continue; }
                pick = t;
                r = c;
                break;
            }
        }
        if (!r) {
            if (!pool->shared && w->table) { w->table = NULL; continue; }   /* all handed out: take another */
            if (!busy) return NB_DONE;
            pthread_cond_wait(&pool->changed, &pool->mu);
            continue;
        }
        if (!pool->shared && !w->table) {
            pick->owner = w;
            w->table = pick;
            if (src->set.mode == MY_CDC) {
                pthread_mutex_unlock(&pool->mu);
                if (w->in_txn) { my_query(w->db, "COMMIT", NULL); w->in_txn = false; }
                struct my_pos p;
                nb_status st = snapshot_position(src, w->db, &p, err);
                pthread_mutex_lock(&pool->mu);
                if (st != NB_OK) return st;
                w->in_txn = true;
                if (!pick->has_saved) { pick->saved = p; pick->has_saved = true; }
            }
            continue;
        }
        if (!r->upto && keyed(src, pick) && pool->shared && pool->n_workers > 1) {
            pick->splitting = true;
            char **after = r->after;
            MYSQL_RES *res = NULL;
            pthread_mutex_unlock(&pool->mu);
            nb_status st = chunk_end(src, w, pick, after, &res, err);
            pthread_mutex_lock(&pool->mu);
            pick->splitting = false;
            pthread_cond_broadcast(&pool->changed);
            MYSQL_ROW row = st == NB_OK ? mysql_fetch_row(res) : NULL;
            if (row) {
                unsigned long *len = mysql_fetch_lengths(res);
                char **hi = nb_arena_alloc(&pick->arena, pick->n_pk * sizeof *hi);
                for (size_t k = 0; hi && k < pick->n_pk; k++)
                    if (!(hi[k] = nb_arena_strndup(&pick->arena, row[k] ? row[k] : "", row[k] ? len[k] : 0))) hi = NULL;
                struct my_range *c = hi ? my_range_add(pick, after, hi) : NULL;
                if (!c) st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
                else {
                    r->after = hi;
                    r = c;
                }
            }
            if (res) mysql_free_result(res);
            if (st != NB_OK) return st;
        }
        r->claimed = true;
        w->cur_t = pick;
        w->cur = r;
        w->q_after = r->after;
        w->q_upto = r->upto;
        return NB_OK;
    }
}

/* The next batch of the worker's ranges; NB_DONE when there is nothing left to claim. */
static nb_status worker_step(struct my_snap_worker *w, struct my_snap_item *it, struct nb_error *err)
{
    struct my_src *src = w->src;
    nb_status st;
    memset(it, 0, sizeof *it);
    for (;;) {
        if (!w->cur) {
            pthread_mutex_lock(&src->pool->mu);
            st = claim(w, err);
            pthread_mutex_unlock(&src->pool->mu);
            if (st != NB_OK) {
                if (w->in_txn) { my_query(w->db, "COMMIT", NULL); w->in_txn = false; }
                return st;
            }
        }
        struct my_tinfo *t = w->cur_t;
        if (!w->res && (st = start_query(src, w, t, err)) != NB_OK) return st;
        struct nb_batch *b = nb_batch_create(t->schema, src->batch_size < 4096 ? src->batch_size : 4096);
        if (!b) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        b->stream = nb_arena_strdup(&b->arena, t->stream);
        b->source_name = b->stream;
        char ptext[600];
        pos_text(&t->saved, ptext, sizeof ptext);
        size_t ptext_len = strlen(ptext);
        size_t rows = 0;
        bool exhausted = false, has_cursor = false;
        size_t key_off[16] = {0}, key_len[16] = {0};
        bool is_keyed = keyed(src, t);
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
                nb_column_append_text(&b->cols[t->n_cols + 1], ptext, ptext_len);
                nb_column_append_null(&b->cols[t->n_cols + 2]);
            }
            rows++;
            /* the last row's key, copied: the row buffer does not outlive the next fetch */
            if (is_keyed) {
                nb_buf_reset(&w->keybuf);
                for (size_t k = 0; k < t->n_pk; k++) {
                    key_off[k] = w->keybuf.len;
                    key_len[k] = row[t->pk[k]] ? len[t->pk[k]] : 0;
                    if (key_len[k]) nb_buf_append(&w->keybuf, row[t->pk[k]], key_len[k]);
                }
            }
            if (src->set.mode == MY_INCREMENTAL && row[t->cursor]) {
                nb_buf_reset(&w->cursorbuf);
                nb_buf_append(&w->cursorbuf, row[t->cursor], len[t->cursor]);
                has_cursor = true;
            }
        }
        b->n_rows = rows;
        if (rows && is_keyed) {
            char **k = nb_arena_alloc(&b->arena, t->n_pk * sizeof *k);
            for (size_t i = 0; k && i < t->n_pk; i++)
                if (!(k[i] = nb_arena_strndup(&b->arena, w->keybuf.data ? w->keybuf.data + key_off[i] : "", key_len[i]))) k = NULL;
            if (!k) { nb_batch_destroy(b); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
            it->last = k;
        }
        if (has_cursor && !(it->cursor = nb_arena_strndup(&b->arena, w->cursorbuf.data, w->cursorbuf.len))) {
            nb_batch_destroy(b);
            return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        }
        if ((st = nb_batch_check(b, err)) != NB_OK) { nb_batch_destroy(b); return st; }
        it->b = b;
        it->t = t;
        it->r = w->cur;
        if (exhausted) {
            mysql_free_result(w->res);
            w->res = NULL;
            w->cur = NULL;
            it->range_done = true;
        }
        return NB_OK;
    }
}

static void put_bound(struct nb_buf *pj, char *const *k, size_t n)
{
    if (!k) { nb_buf_puts(pj, "null"); return; }
    nb_buf_putc(pj, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) nb_buf_putc(pj, ',');
        nb_buf_json_string(pj, k[i], strlen(k[i]));
    }
    nb_buf_putc(pj, ']');
}

/* Hand a batch to the engine (pool->mu held): move its range on, and give it the position that
 * says what every range of its table has left after it. */
static nb_status deliver(struct my_src *src, struct my_snap_item *it, struct nb_error *err)
{
    struct my_tinfo *t = it->t;
    struct nb_batch *b = it->b;
    if (it->last && !(it->r->after = key_dup(&t->arena, it->last, t->n_pk)))
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    if (it->cursor && !(t->cursor_value = nb_arena_strdup(&t->arena, it->cursor)))
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    if (it->range_done) {
        for (size_t k = 0; k < t->n_ranges; k++)
            if (t->ranges[k] == it->r) {
                memmove(&t->ranges[k], &t->ranges[k + 1], (t->n_ranges - k - 1) * sizeof *t->ranges);
                t->n_ranges--;
                break;
            }
    }
    bool table_done = it->range_done && t->n_ranges == 0;
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
    if (!table_done && (keyed(src, t) || src->set.mode == MY_CDC)) {
        nb_buf_printf(&pj, "%s\"ranges\":[", pj.len > 1 ? "," : "");
        for (size_t k = 0; k < t->n_ranges; k++) {
            nb_buf_puts(&pj, k ? ",[" : "[");
            put_bound(&pj, t->ranges[k]->after, t->n_pk);
            nb_buf_putc(&pj, ',');
            put_bound(&pj, t->ranges[k]->upto, t->n_pk);
            nb_buf_putc(&pj, ']');
        }
        nb_buf_putc(&pj, ']');
    }
    nb_buf_putc(&pj, '}');
    nb_status st = nb_buf_status(&pj, err);
    if (st == NB_OK && !(b->position = nb_arena_strndup(&b->arena, pj.data, pj.len)))
        st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    nb_buf_cleanup(&pj);
    if (st != NB_OK) return st;
    if (table_done) {
        t->snapshot_done = true;
        b->end_of_stream = src->set.mode != MY_CDC;
        NB_INFO("mysql", "copied %s", t->stream);
    }
    src->rows_done += b->n_rows;
    return NB_OK;
}

static void worker_cleanup(struct my_snap_worker *w)
{
    if (w->res) { mysql_free_result(w->res); w->res = NULL; }
    if (w->in_txn && w->db) { my_query(w->db, "COMMIT", NULL); w->in_txn = false; }
    if (w->own_db && w->db) mysql_close(w->db);
    w->db = NULL;
    nb_buf_cleanup(&w->keybuf);
    nb_buf_cleanup(&w->cursorbuf);
}

static void *worker_main(void *arg)
{
    struct my_snap_worker *w = arg;
    struct my_snap_pool *pool = w->src->pool;
    mysql_thread_init();
    for (;;) {
        struct my_snap_item it;
        struct nb_error err;
        nb_error_clear(&err);
        nb_status st = worker_step(w, &it, &err);
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
            nb_batch_destroy(it.b);
            break;
        }
        pool->queue[(pool->head + pool->n++) % pool->cap] = it;
        pthread_cond_broadcast(&pool->changed);
        pthread_mutex_unlock(&pool->mu);
    }
    mysql_thread_end();
    return NULL;
}

void my_snapshot_stop(struct my_src *src)
{
    struct my_snap_pool *pool = src->pool;
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = true;
    pthread_cond_broadcast(&pool->changed);
    pthread_mutex_unlock(&pool->mu);
    for (unsigned i = 0; i < pool->n_workers; i++)
        if (pool->workers[i].started) pthread_join(pool->workers[i].thread, NULL);
    for (unsigned i = 0; i < pool->n_workers; i++) worker_cleanup(&pool->workers[i]);
    while (pool->n) { nb_batch_destroy(pool->queue[pool->head].b); pool->head = (pool->head + 1) % pool->cap; pool->n--; }
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->changed);
    free(pool->workers);
    free(pool);
    src->pool = NULL;
}

/* One consistent snapshot for every connection: while FLUSH TABLES WITH READ LOCK holds back all
 * commits, each starts its transaction and the binlog position is read; then the lock goes. When
 * the lock is not allowed (no RELOAD privilege) or not had in time, *shared stays false and
 * nothing has changed. */
static nb_status shared_snapshot(struct my_src *src, bool *shared, struct nb_error *err)
{
    struct my_snap_pool *pool = src->pool;
    MYSQL *lead = pool->workers[0].db;
    *shared = false;
    /* waiting long for the lock would hold back every writer of the server meanwhile */
    my_query(lead, "SET SESSION lock_wait_timeout = 10", NULL);
    struct nb_error lerr;
    nb_error_clear(&lerr);
    if (my_query(lead, "FLUSH TABLES WITH READ LOCK", &lerr) != NB_OK) {
        NB_WARN("mysql", "each table gets its own snapshot, read by one connection: %s (reading chunks of a table in "
                "parallel in cdc mode takes FLUSH TABLES WITH READ LOCK for a moment: the RELOAD privilege)", lerr.message);
        return NB_OK;
    }
    nb_status st = NB_OK;
    for (unsigned i = 0; i < pool->n_workers && st == NB_OK; i++) {
        struct my_snap_worker *w = &pool->workers[i];
        my_query(w->db, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", NULL);
        if ((st = my_query(w->db, "START TRANSACTION WITH CONSISTENT SNAPSHOT", err)) == NB_OK) w->in_txn = true;
    }
    struct my_pos p;
    if (st == NB_OK) st = read_position(src, lead, &p, err);
    my_query(lead, "UNLOCK TABLES", NULL);
    if (st != NB_OK) return st;
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        if (t->snapshot_needed && !t->has_saved) { t->saved = p; t->has_saved = true; }
    }
    *shared = true;
    return NB_OK;
}

/* Is there a table to copy that is more than one chunk? Only then do chunks in parallel pay for
 * the global read lock a shared snapshot takes; otherwise tables get their own snapshots (on
 * MariaDB without any lock). Exact and cheap: one skip of chunk_size keys. */
static bool has_big_table(struct my_src *src, MYSQL *db)
{
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        if (!t->snapshot_needed || !keyed(src, t)) continue;
        struct nb_buf q;
        nb_buf_init(&q);
        nb_buf_puts(&q, "SELECT 1 FROM ");
        table_name(&q, t);
        nb_buf_printf(&q, " LIMIT 1 OFFSET %zu", src->set.chunk_size);
        MYSQL_RES *res = NULL;
        bool big = run_query(db, &q, t, true, &res, NULL) == NB_OK && mysql_num_rows(res) > 0;
        if (res) mysql_free_result(res);
        if (big) return true;
    }
    return false;
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
    for (unsigned i = 0; i < n; i++) {
        pool->workers[i].src = src;
        nb_buf_init(&pool->workers[i].keybuf);
        nb_buf_init(&pool->workers[i].cursorbuf);
    }
    if (n == 1) {
        /* one reader, inline on the source's connection; one snapshot per table in cdc mode */
        pool->workers[0].db = src->db;
        return NB_OK;
    }
    /* connections first, from this thread (connecting updates the source's host choice) */
    for (unsigned i = 0; i < n; i++) {
        nb_status st = my_connect(src, &pool->workers[i].db, err);
        if (st != NB_OK) { my_snapshot_stop(src); return st; }
        pool->workers[i].own_db = true;
    }
    pool->shared = true;
    if (src->set.mode == MY_CDC) {
        pool->shared = false;
        nb_status st = has_big_table(src, pool->workers[0].db) ? shared_snapshot(src, &pool->shared, err) : NB_OK;
        if (st != NB_OK) { my_snapshot_stop(src); return st; }
    }
    pool->threaded = true;
    for (unsigned i = 0; i < n; i++) {
        pool->running++;
        if (pthread_create(&pool->workers[i].thread, NULL, worker_main, &pool->workers[i]) != 0) {
            pool->running--;
            my_snapshot_stop(src);
            return nb_error_set(err, NB_ERR_INTERNAL, "mysql: cannot start a snapshot thread");
        }
        pool->workers[i].started = true;
    }
    NB_INFO("mysql", "copying with %u connections (%s)", n,
            pool->shared ? "chunks of a table in parallel" : "one snapshot per table");
    return NB_OK;
}

nb_status my_snapshot_read(struct my_src *src, struct nb_batch **out, struct nb_error *err)
{
    nb_status st;
    *out = NULL;
    if (!src->snapshot_begun) {
        if ((st = my_snapshot_begin(src, err)) != NB_OK) return st;
        src->snapshot_begun = true;
        size_t todo = 0;
        bool any_keyed = false;
        for (size_t i = 0; i < src->n_tables; i++) {
            todo += src->tables[i].snapshot_needed;
            any_keyed |= src->tables[i].snapshot_needed && keyed(src, &src->tables[i]);
        }
        unsigned n = src->ctx->options && src->ctx->options->workers ? src->ctx->options->workers : 1;
        if (n > 8) n = 8;
        if (!any_keyed && n > todo) n = (unsigned)todo;
        if (n == 0) n = 1;
        if ((st = start_pool(src, n, err)) != NB_OK) return st;
    }
    struct my_snap_pool *pool = src->pool;
    if (!pool) return NB_DONE;
    if (!pool->threaded) {
        struct my_snap_item it;
        st = worker_step(&pool->workers[0], &it, err);
        if (st == NB_OK && (st = deliver(src, &it, err)) != NB_OK) nb_batch_destroy(it.b);
        if (st == NB_OK) *out = it.b;
        if (st == NB_DONE) my_snapshot_stop(src);
        return st;
    }
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
        struct my_snap_item it = pool->queue[pool->head];
        pool->head = (pool->head + 1) % pool->cap;
        pool->n--;
        pthread_cond_broadcast(&pool->changed);
        st = deliver(src, &it, err);
        pthread_mutex_unlock(&pool->mu);
        if (st != NB_OK) { nb_batch_destroy(it.b); return st; }
        *out = it.b;
        return NB_OK;
    }
    bool finished = pool->running == 0;
    pthread_mutex_unlock(&pool->mu);
    if (!finished) return NB_AGAIN;
    my_snapshot_stop(src);
    return NB_DONE;
}
