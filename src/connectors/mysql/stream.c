/* The binlog stream: connects as a replica (Connector/C's mariadb_rpl for the dump protocol),
 * decodes every event itself (binlog.c), assembles rows per committed transaction into per-table
 * batches that carry the position after their last commit, follows schema changes through the
 * table maps, and fails over to the next host by GTID when the connected server dies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/mysql/source.h"
#include "core/clock.h"
#include "core/log.h"

#define MAX_DOMAINS 16
#define MAX_MAPS 64

struct gtid_dom { uint32_t domain, server; uint64_t seq; };

struct map_slot {
    bool used;
    uint64_t table_id;
    struct my_table t;
    struct my_tinfo *info;      /* NULL: not a selected table */
    struct nb_schema *schema;   /* output schema for rows decoded with this map */
};

struct my_stream {
    MYSQL *db;
    MARIADB_RPL *rpl;
    MARIADB_RPL_EVENT *ev;
    struct my_decoder dec;
    struct map_slot maps[MAX_MAPS];
    size_t next_slot;
    struct my_image before, after;
    struct nb_buf payload;
    char file[256];
    /* current transaction */
    bool in_txn;
    char txn_label[300];        /* GTID text, or file:pos of its start */
    char txn_ts[40];
    struct my_gtid txn_gtid;
    bool txn_has_gtid;
    struct my_pos txn_pos;      /* the position this transaction commits to (for skipping) */
    /* GTID state after the last commit */
    struct gtid_dom doms[MAX_DOMAINS];
    size_t n_doms;
    /* ready batches, FIFO */
    struct nb_batch **ready;
    size_t n_ready, ready_head, ready_cap;
    uint64_t last_flush_ms, last_refresh_ms;
    uint32_t outer_next_pos;    /* position of the TRANSACTION_PAYLOAD being unpacked */
    /* lag: commit time of the last transaction read, and whether the server has sent all it has
     * (a heartbeat outside a transaction, or the `until` position reached) */
    int64_t txn_ts_us, last_commit_us;
    bool caught_up;
    /* MySQL: the executed GTID set, kept up per transaction (the position to resume or fail
     * over from), and whether this connection runs its own COM_BINLOG_DUMP_GTID */
    struct my_gtid_set myset;
    struct nb_buf gtid_text;
    bool own_dump, failing_over;
    bool finishing;
    struct my_src *src;
};

static void gtid_state_parse(struct my_stream *s, const char *text)
{
    s->n_doms = 0;
    const char *p = text;
    while (p && *p && s->n_doms < MAX_DOMAINS) {
        unsigned d, sv;
        unsigned long long q;
        if (sscanf(p, "%u-%u-%llu", &d, &sv, &q) != 3) break;
        s->doms[s->n_doms++] = (struct gtid_dom){d, sv, q};
        p = strchr(p, ',');
        if (p) p++;
    }
}

static void gtid_state_text(const struct my_stream *s, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s->n_doms && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%u-%u-%llu", i ? "," : "", s->doms[i].domain, s->doms[i].server,
                              (unsigned long long)s->doms[i].seq);
}

static void gtid_state_apply(struct my_stream *s, const struct my_gtid *g)
{
    for (size_t i = 0; i < s->n_doms; i++)
        if (s->doms[i].domain == g->domain) { s->doms[i].server = g->server; s->doms[i].seq = g->seq; return; }
    if (s->n_doms < MAX_DOMAINS) s->doms[s->n_doms++] = (struct gtid_dom){g->domain, g->server, g->seq};
}

/* ---- batches ----------------------------------------------------------------------------- */
static nb_status push_ready(struct my_stream *s, struct nb_batch *b, struct nb_error *err)
{
    if (s->ready_head + s->n_ready == s->ready_cap) {
        if (s->ready_head) {
            memmove(s->ready, s->ready + s->ready_head, s->n_ready * sizeof *s->ready);
            s->ready_head = 0;
        } else {
            size_t nc = s->ready_cap ? s->ready_cap * 2 : 16;
            struct nb_batch **n = realloc(s->ready, nc * sizeof *n);
            if (!n) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            s->ready = n;
            s->ready_cap = nc;
        }
    }
    s->ready[s->ready_head + s->n_ready++] = b;
    return NB_OK;
}

static nb_status set_position(struct my_src *src, struct my_tinfo *t, struct nb_batch *b, struct nb_error *err)
{
    struct nb_buf pj;
    nb_buf_init(&pj);
    nb_buf_putc(&pj, '{');
    my_pos_json(&src->cur_pos, &pj);
    if (t->hist.n) {
        /* the schema history: names as of this position, for servers that do not log them */
        nb_buf_puts(&pj, ",\"columns\":[");
        for (size_t i = 0; i < t->hist.n; i++) {
            if (i) nb_buf_putc(&pj, ',');
            nb_buf_json_string(&pj, t->hist.names[i], strlen(t->hist.names[i]));
        }
        nb_buf_putc(&pj, ']');
    }
    nb_buf_putc(&pj, '}');
    nb_status st = nb_buf_status(&pj, err);
    if (st == NB_OK) b->position = nb_arena_strndup(&b->arena, pj.data, pj.len);
    nb_buf_cleanup(&pj);
    return st;
}

/* Move the committed rows of a table's pending batch to the ready queue. */
static nb_status flush_table(struct my_src *src, struct my_tinfo *t, bool end, struct nb_error *err)
{
    struct my_stream *s = src->stream;
    struct nb_batch *b = t->pending;
    if (!b && !end) return NB_OK;
    if (b && b->n_rows > t->committed_rows) {
        /* only complete transactions leave; the open one stays (only at shutdown) */
        nb_batch_truncate(b, t->committed_rows);
    }
    if (!b) {
        b = nb_batch_create(t->schema, 0);
        if (!b) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        b->stream = nb_arena_strdup(&b->arena, t->stream);
    }
    if (b->n_rows == 0 && !end) return NB_OK;
    nb_status st = nb_batch_check(b, err);
    if (st == NB_OK) st = set_position(src, t, b, err);
    if (st != NB_OK) return st;
    /* A cdc stream never ends (end_of_stream would make the engine mark it done and skip it in
     * the next run); `end` only forces out a last batch carrying the final position. */
    b->end_of_stream = false;
    t->pending = NULL;
    t->committed_rows = 0;
    (void)s;
    return push_ready(src->stream, b, err);
}

/* end: also a batch for streams with no rows (it carries the current position). */
static nb_status flush_all(struct my_src *src, bool end, struct nb_error *err)
{
    for (size_t i = 0; i < src->n_tables; i++) {
        nb_status st = flush_table(src, &src->tables[i], end, err);
        if (st != NB_OK) return st;
    }
    ((struct my_stream *)src->stream)->last_flush_ms = nb_mono_ms();
    return NB_OK;
}

/* ---- table maps -------------------------------------------------------------------------- */
static struct my_tinfo *find_table(struct my_src *src, const char *db, const char *name)
{
    for (size_t i = 0; i < src->n_tables; i++)
        if (!strcmp(src->tables[i].db, db) && !strcmp(src->tables[i].name, name)) return &src->tables[i];
    return NULL;
}

static struct map_slot *find_map(struct my_stream *s, uint64_t id)
{
    for (size_t i = 0; i < MAX_MAPS; i++)
        if (s->maps[i].used && s->maps[i].table_id == id) return &s->maps[i];
    return NULL;
}

/* Fill names and what the binlog lacks from the catalog (schema history). */
static nb_status resolve_map(struct my_src *src, struct map_slot *m, struct nb_error *err)
{
    struct my_table *t = &m->t;
    struct my_tinfo *info = m->info;
    if (!t->has_names) {
        /* names from the schema history (catalog at the snapshot, moved by the ALTERs since) */
        if (info->hist.n != t->n_cols)
            return nb_error_set(err, NB_ERR_UNSUPPORTED,
                                "mysql: the binlog has %zu columns for %s but its schema history has %zu, and the "
                                "server does not log column names: SET GLOBAL binlog_row_metadata=FULL (MySQL 8.0.1+, "
                                "MariaDB 10.5+) and copy the table again",
                                t->n_cols, info->stream, info->hist.n);
        for (size_t i = 0; i < t->n_cols; i++) t->cols[i].name = nb_arena_strdup(&t->arena, info->hist.names[i]);
    }
    for (size_t i = 0; i < t->n_cols; i++) {
        struct my_column *c = &t->cols[i];
        const struct my_column *k = NULL;
        for (size_t j = 0; j < info->n_cols; j++)
            if (c->name && !strcmp(info->cols[j].name, c->name)) { k = &info->cols[j]; break; }
        if (k && !t->has_names) {
            c->is_unsigned = c->is_unsigned || k->is_unsigned;
            if (!c->charset && !c->binary) { c->charset = k->charset; c->binary = k->binary; }
        }
        if (k && (c->type == MY_T_ENUM || c->type == MY_T_SET) && c->n_labels == 0) {
            c->labels = k->labels;
            c->n_labels = k->n_labels;
        }
        if (k && c->type == MY_T_BLOB && !c->charset && k->binary != c->binary && !t->has_names) c->binary = k->binary;
        if (!c->name) c->name = nb_arena_printf(&t->arena, "col%zu", i + 1);
        c->nb = my_type_from_wire(c);
    }
    /* the stream's schema follows the table map: a changed table (ALTER) changes it here */
    struct nb_schema *sch = nb_schema_create();
    if (!sch) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    struct nb_type ts = nb_type_make(NB_TYPE_TIMESTAMP);
    ts.utc = true;
    for (size_t i = 0; i < t->n_cols; i++) nb_schema_add(sch, t->cols[i].name, t->cols[i].nb, t->cols[i].nullable);
    nb_schema_add(sch, "_nb_op", nb_type_make(NB_TYPE_STRING), false);
    nb_schema_add(sch, "_nb_position", nb_type_make(NB_TYPE_STRING), true);
    nb_schema_add(sch, "_nb_commit_ts", ts, true);
    if (sch->n_fields != t->n_cols + 3) { nb_schema_release(sch); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    if (info->schema && nb_schema_equal(info->schema, sch)) {
        nb_schema_release(sch);
    } else {
        if (info->pending && info->pending->n_rows) {
            /* rows before the change keep the old schema */
            nb_status st = flush_table(src, info, false, err);
            if (st != NB_OK) { nb_schema_release(sch); return st; }
        }
        nb_batch_destroy(info->pending);
        info->pending = NULL;
        info->committed_rows = 0;
        nb_schema_release(info->schema);
        info->schema = sch;
        NB_INFO("mysql", "%s: schema now has %zu columns", info->stream, t->n_cols);
    }
    nb_schema_release(m->schema);
    m->schema = nb_schema_retain(info->schema);
    return NB_OK;
}

static nb_status on_table_map(struct my_src *src, struct my_stream *s, const struct my_event *ev, struct nb_error *err)
{
    uint64_t id = my_rows_table_id(ev);
    struct map_slot *m = find_map(s, id);
    if (!m) {
        m = &s->maps[s->next_slot];
        s->next_slot = (s->next_slot + 1) % MAX_MAPS;
        if (!m->used) nb_arena_init(&m->t.arena, 4096);
        nb_schema_release(m->schema);
        m->schema = NULL;
        m->used = true;
    }
    m->table_id = id;
    nb_status st = my_parse_table_map(ev, &m->t, err);
    if (st != NB_OK) { m->used = false; nb_arena_cleanup(&m->t.arena); return st; }
    m->info = find_table(src, m->t.db, m->t.name);
    if (!m->info) return NB_OK;
    return resolve_map(src, m, err);
}

/* ---- rows -------------------------------------------------------------------------------- */
struct row_ctx {
    struct my_src *src;
    struct my_stream *s;
    struct map_slot *m;
};

static nb_status on_row(void *ud, char kind, const struct my_image *before, const struct my_image *after,
                        struct nb_error *err)
{
    struct row_ctx *rc = ud;
    struct my_tinfo *t = rc->m->info;
    struct my_stream *s = rc->s;
    const struct my_image *im = kind == 'd' ? before : after;
    if (!t->pending) {
        t->pending = nb_batch_create(t->schema, 256);
        if (!t->pending) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        t->pending->stream = nb_arena_strdup(&t->pending->arena, t->stream);
        t->pending->source_name = t->pending->stream;
        t->committed_rows = 0;
    }
    struct nb_batch *b = t->pending;
    size_t n = rc->m->t.n_cols;
    for (size_t i = 0; i < n; i++) {
        struct nb_column *c = &b->cols[i];
        if (im->state[i] != 2) { nb_column_append_null(c); continue; }
        nb_column_append_text(c, im->text.data + im->off[i], im->len[i]);
        if (im->mismatch[i]) nb_column_mark_mismatch(c);
    }
    char op[2] = {kind, 0};
    nb_column_append_text(&b->cols[n], op, 1);
    nb_column_append_text(&b->cols[n + 1], s->txn_label, strlen(s->txn_label));
    if (s->txn_ts[0]) nb_column_append_text(&b->cols[n + 2], s->txn_ts, strlen(s->txn_ts));
    else nb_column_append_null(&b->cols[n + 2]);
    b->n_rows++;
    rc->src->rows_done++;
    if (b->n_rows >= rc->src->batch_size) {
        /* A large transaction leaves in batches too (memory stays bounded). They carry the
         * position before the transaction: a resume replays it (at-least-once, never a gap). */
        t->committed_rows = b->n_rows;
        nb_status st = flush_table(rc->src, t, false, err);
        return st;
    }
    return NB_OK;
}

static void format_ts(uint32_t secs, char *out, size_t cap)
{
    time_t tt = (time_t)secs;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void begin_txn(struct my_stream *s, const struct my_event *ev, const struct my_gtid *g)
{
    s->in_txn = true;
    s->txn_has_gtid = g != NULL;
    if (g) { s->txn_gtid = *g; snprintf(s->txn_label, sizeof s->txn_label, "%s", g->text); }
    else snprintf(s->txn_label, sizeof s->txn_label, "%s:%u", s->file, ev->next_pos - ev->size);
    if (g && g->commit_ts_us) {
        uint32_t secs = (uint32_t)(g->commit_ts_us / 1000000);
        format_ts(secs, s->txn_ts, sizeof s->txn_ts);
        s->txn_ts_us = g->commit_ts_us;
    } else {
        format_ts(ev->timestamp, s->txn_ts, sizeof s->txn_ts);
        s->txn_ts_us = (int64_t)ev->timestamp * 1000000;
    }
    /* the position this transaction commits to, for skipping what a stream already has */
    memset(&s->txn_pos, 0, sizeof s->txn_pos);
    if (g && !g->mysql) {
        struct gtid_dom saved[MAX_DOMAINS];
        size_t ns = s->n_doms;
        memcpy(saved, s->doms, sizeof saved);
        gtid_state_apply(s, g);
        gtid_state_text(s, s->txn_pos.gtid, sizeof s->txn_pos.gtid);
        memcpy(s->doms, saved, sizeof saved);
        s->n_doms = ns;
    }
}

static bool until_reached(struct my_src *src, const char *file, uint64_t pos)
{
    if (!src->have_until) return false;
    if (src->until.gtid[0] && src->cur_pos.gtid[0]) {
        /* by GTID: valid across servers (after a failover file names differ) */
        struct my_pos a = src->cur_pos, b = src->until;
        a.file[0] = b.file[0] = '\0';
        return my_pos_cmp(&a, &b) >= 0;
    }
    if (!file[0]) return false;
    int c = strcmp(file, src->until.file);
    return c > 0 || (c == 0 && pos >= src->until.pos);
}

static nb_status commit_txn(struct my_src *src, struct my_stream *s, const struct my_event *ev, struct nb_error *err)
{
    if (s->txn_has_gtid && !s->txn_gtid.mysql) gtid_state_apply(s, &s->txn_gtid);
    if (s->txn_has_gtid && s->txn_gtid.mysql) {
        nb_status st = my_gtid_set_add(&s->myset, s->txn_gtid.sid, s->txn_gtid.seq, err);
        if (st != NB_OK) return st;
    }
    s->in_txn = false;
    s->txn_has_gtid = false;
    if (s->myset.n) {
        /* a set too long for the position is left out: the resume goes by file:pos */
        nb_buf_reset(&s->gtid_text);
        my_gtid_set_text(&s->myset, &s->gtid_text);
        bool fits = nb_buf_status(&s->gtid_text, NULL) == NB_OK && s->gtid_text.len < sizeof src->cur_pos.gtid;
        snprintf(src->cur_pos.gtid, sizeof src->cur_pos.gtid, "%s", fits ? s->gtid_text.data : "");
    } else {
        char g[512];
        gtid_state_text(s, g, sizeof g);
        snprintf(src->cur_pos.gtid, sizeof src->cur_pos.gtid, "%s", g);
    }
    snprintf(src->cur_pos.file, sizeof src->cur_pos.file, "%s", s->file);
    src->cur_pos.pos = ev->next_pos;
    /* the commit event's own time (seconds) when it is later than the transaction's start */
    s->last_commit_us = s->txn_ts_us > (int64_t)ev->timestamp * 1000000 ? s->txn_ts_us : (int64_t)ev->timestamp * 1000000;
    bool full = false;
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        if (t->pending) {
            t->committed_rows = t->pending->n_rows;
            if (t->committed_rows >= src->batch_size) full = true;
        }
    }
    uint64_t flush_ms = src->ctx->options && src->ctx->options->flush_interval_ms ? src->ctx->options->flush_interval_ms : 1000;
    if (flush_ms > 500) flush_ms = 500;
    if (full || nb_context_row_mode(src->ctx) || nb_mono_ms() - s->last_flush_ms >= flush_ms) {
        nb_status st = flush_all(src, false, err);
        if (st != NB_OK) return st;
    }
    if (until_reached(src, s->file, ev->next_pos)) {
        s->finishing = true;
        s->caught_up = true;
        return flush_all(src, true, err);
    }
    return NB_OK;
}

static bool skip_txn(struct my_tinfo *t, struct my_stream *s, const struct my_event *ev)
{
    if (!t->has_saved) return false;
    struct my_pos here;
    memset(&here, 0, sizeof here);
    if (s->txn_pos.gtid[0] && t->saved.gtid[0]) snprintf(here.gtid, sizeof here.gtid, "%s", s->txn_pos.gtid);
    snprintf(here.file, sizeof here.file, "%s", s->file);
    here.pos = ev->next_pos;
    return my_pos_cmp(&here, &t->saved) <= 0;
}

static bool is_ddl(const char *sql, size_t n)
{
    while (n && (*sql == ' ' || *sql == '\n' || *sql == '\t')) { sql++; n--; }
    static const char *const kw[] = {"ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++) {
        size_t k = strlen(kw[i]);
        if (n >= k && !strncasecmp(sql, kw[i], k)) return true;
    }
    return false;
}

static nb_status process_event(struct my_src *src, struct my_stream *s, const uint8_t *raw, size_t len,
                               struct my_decoder *dec, bool *heartbeat, struct nb_error *err);

static nb_status on_payload(struct my_src *src, struct my_stream *s, const struct my_event *ev, struct nb_error *err)
{
    if (s->outer_next_pos)
        return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: a TRANSACTION_PAYLOAD inside another one at %s:%u", s->file,
                            ev->next_pos);
    nb_buf_reset(&s->payload);
    nb_status st = my_parse_payload(ev, &s->payload, err);
    if (st != NB_OK) return st;
    struct my_decoder inner = s->dec;
    inner.checksum = false;
    inner.have_fde = true;
    s->outer_next_pos = ev->next_pos;
    size_t off = 0;
    struct nb_buf copy;
    nb_buf_init(&copy);
    nb_buf_append(&copy, s->payload.data, s->payload.len);
    while (st == NB_OK && off + MY_HEADER_LEN <= copy.len) {
        const uint8_t *p = (const uint8_t *)copy.data + off;
        uint32_t size = (uint32_t)p[9] | (uint32_t)p[10] << 8 | (uint32_t)p[11] << 16 | (uint32_t)p[12] << 24;
        if (size < MY_HEADER_LEN || size > copy.len - off) {
            st = nb_error_set(err, NB_ERR_PROTOCOL, "binlog: bad event inside TRANSACTION_PAYLOAD");
            break;
        }
        bool hb = false;
        st = process_event(src, s, p, size, &inner, &hb, err);
        off += size;
    }
    nb_buf_cleanup(&copy);
    s->outer_next_pos = 0;
    return st;
}

static nb_status process_event(struct my_src *src, struct my_stream *s, const uint8_t *raw, size_t len,
                               struct my_decoder *dec, bool *heartbeat, struct nb_error *err)
{
    struct my_event ev;
    nb_status st = my_event_parse(dec, raw, len, &ev, err);
    if (st != NB_OK) return st;
    /* events inside a TRANSACTION_PAYLOAD may carry no position: they sit at the payload's */
    if (ev.next_pos == 0 && s->outer_next_pos) ev.next_pos = s->outer_next_pos;
    switch (ev.type) {
    case MY_EV_ROTATE: {
        struct my_rotate r;
        if ((st = my_parse_rotate(&ev, &r, err)) != NB_OK) return st;
        snprintf(s->file, sizeof s->file, "%s", r.file);
        return NB_OK;
    }
    case MY_EV_MARIA_GTID: case MY_EV_GTID: {
        struct my_gtid g;
        if ((st = my_parse_gtid(&ev, ev.server_id, &g, err)) != NB_OK) return st;
        begin_txn(s, &ev, &g);
        return NB_OK;
    }
    case MY_EV_QUERY: {
        struct my_query q;
        if ((st = my_parse_query(&ev, &q, err)) != NB_OK) return st;
        if (q.sql_len == 5 && !strncasecmp(q.sql, "BEGIN", 5)) {
            if (!s->in_txn) begin_txn(s, &ev, NULL);
            return NB_OK;
        }
        if (q.sql_len == 6 && !strncasecmp(q.sql, "COMMIT", 6)) return commit_txn(src, s, &ev, err);
        if (is_ddl(q.sql, q.sql_len)) {
            NB_INFO("mysql", "DDL at %s:%u: %.*s", s->file, ev.next_pos, (int)(q.sql_len > 200 ? 200 : q.sql_len), q.sql);
            for (size_t i = 0; i < src->n_tables; i++) {
                struct my_tinfo *t = &src->tables[i];
                if (skip_txn(t, s, &ev)) continue;   /* the table's history is already past it */
                enum my_ddl_result r = my_hist_apply_ddl(q.sql, q.sql_len, q.db, t->db, t->name, &t->hist);
                if (r == MY_DDL_UNKNOWN || r == MY_DDL_RENAMED)
                    NB_WARN("mysql", "%s: a schema change the connector cannot follow by name; rows after it need "
                            "binlog_row_metadata=FULL to be named correctly", t->stream);
            }
        }
        /* A DDL (or any statement outside BEGIN/COMMIT) commits by itself. The table maps that
         * follow carry the new columns. */
        if (!s->in_txn || (s->txn_has_gtid && s->txn_gtid.standalone)) {
            if (!s->in_txn) begin_txn(s, &ev, NULL);
            return commit_txn(src, s, &ev, err);
        }
        return NB_OK;
    }
    case MY_EV_XID:
        return commit_txn(src, s, &ev, err);
    case MY_EV_TABLE_MAP:
        return on_table_map(src, s, &ev, err);
    case MY_EV_WRITE_ROWS_V1: case MY_EV_UPDATE_ROWS_V1: case MY_EV_DELETE_ROWS_V1:
    case MY_EV_WRITE_ROWS: case MY_EV_UPDATE_ROWS: case MY_EV_DELETE_ROWS: case MY_EV_PARTIAL_UPDATE_ROWS: {
        struct map_slot *m = find_map(s, my_rows_table_id(&ev));
        if (!m) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: rows event at %s:%u for a table id with no TABLE_MAP",
                                    s->file, ev.next_pos);
        if (!m->info || skip_txn(m->info, s, &ev)) return NB_OK;
        if (!s->in_txn) begin_txn(s, &ev, NULL);
        struct row_ctx rc = {src, s, m};
        st = my_parse_rows(&ev, &m->t, &s->before, &s->after, on_row, &rc, err);
        if (st != NB_OK) return nb_error_prefix(err, "at %s:%u: ", s->file, ev.next_pos);
        return NB_OK;
    }
    case MY_EV_TRANSACTION_PAYLOAD:
        return on_payload(src, s, &ev, err);
    case MY_EV_HEARTBEAT: case MY_EV_HEARTBEAT_V2: {
        *heartbeat = true;
        if (ev.type == MY_EV_HEARTBEAT && ev.body_len && ev.body_len < sizeof s->file) {
            char f[256];
            memcpy(f, ev.body, ev.body_len);
            f[ev.body_len] = '\0';
            if (!s->in_txn && (until_reached(src, f, ev.next_pos) || until_reached(src, "", 0))) {
                s->finishing = true;
                s->caught_up = true;
                return flush_all(src, true, err);
            }
        }
        return NB_OK;
    }
    default:
        return NB_OK; /* FORMAT_DESCRIPTION (handled by the decoder), GTID lists, annotations, ... */
    }
}

/* ---- connecting -------------------------------------------------------------------------- */
static nb_status rpl_connect(struct my_src *src, struct my_stream *s, const struct my_pos *from, struct nb_error *err)
{
    /* a dead server shows as missing heartbeats: time reads out after a few of them */
    uint64_t saved_rt = src->set.read_timeout_ms;
    src->set.read_timeout_ms = src->set.heartbeat_ms * 5 > 5000 ? src->set.heartbeat_ms * 5 : 5000;
    nb_status st = my_connect(src, &s->db, err);
    src->set.read_timeout_ms = saved_rt;
    if (st != NB_OK) return st;
    char sql[700];
    my_query(s->db, "SET @master_binlog_checksum = @@global.binlog_checksum", NULL);
    my_query(s->db, "SET @source_binlog_checksum = @@global.binlog_checksum", NULL);
    my_query(s->db, "SET @mariadb_slave_capability = 4", NULL);
    snprintf(sql, sizeof sql, "SET @master_heartbeat_period = %llu", (unsigned long long)src->set.heartbeat_ms * 1000000ull);
    my_query(s->db, sql, NULL);
    snprintf(sql, sizeof sql, "SET @source_heartbeat_period = %llu", (unsigned long long)src->set.heartbeat_ms * 1000000ull);
    my_query(s->db, sql, NULL);
    bool by_gtid = src->mariadb && from->gtid[0];
    /* MySQL by GTID set where file:pos cannot serve: none saved, or another server (failover) */
    bool mysql_gtid = !src->mariadb && s->myset.n && (!from->file[0] || s->failing_over);
    if (!by_gtid && !mysql_gtid && !from->file[0] && from->gtid[0])
        return nb_error_set(err, NB_ERR_INVALID, "mysql: cannot resume from GTID %s on this server: save a file:pos position "
                            "or a MySQL GTID set", from->gtid);
    s->own_dump = false;
    if (mysql_gtid) {
        /* Connector/C has no call for COM_BINLOG_DUMP_GTID: send it through the client's own
         * command path and read the event packets with mysql_net_read_packet. */
        struct nb_buf req;
        nb_buf_init(&req);
        my_dump_gtid_request(src->set.server_id, "", 4, &s->myset, &req);
        st = nb_buf_status(&req, err);
        if (st == NB_OK && s->db->methods->db_command(s->db, (enum enum_server_command)MY_COM_BINLOG_DUMP_GTID, req.data,
                                                      req.len, 1, NULL) != 0)
            st = nb_error_set(err, NB_ERR_IO, "mysql: COM_BINLOG_DUMP_GTID to %s:%u failed: %s", src->set.hosts[src->host_index],
                              src->set.ports[src->host_index], mysql_error(s->db));
        nb_buf_cleanup(&req);
        if (st != NB_OK) return st;
        s->own_dump = true;
        s->file[0] = '\0';
        my_decoder_init(&s->dec);
        NB_INFO("mysql", "streaming the binlog of %s:%u from GTID set %s", src->set.hosts[src->host_index],
                src->set.ports[src->host_index], from->gtid);
        return NB_OK;
    }
    if (by_gtid) {
        struct nb_buf q;
        nb_buf_init(&q);
        nb_buf_puts(&q, "SET @slave_connect_state = ");
        my_quote_string(s->db, &q, from->gtid, strlen(from->gtid));
        st = my_query(s->db, q.data, err);
        nb_buf_cleanup(&q);
        if (st != NB_OK) return st;
        my_query(s->db, "SET @slave_gtid_strict_mode = 1", NULL);
    }
    s->rpl = mariadb_rpl_init(s->db);
    if (!s->rpl) return nb_error_set(err, NB_ERR_NOMEM, "mysql: cannot start replication (out of memory)");
    if (by_gtid) {
        mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_FILENAME, "", (size_t)0);
        mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_START, (unsigned long)4);
        s->file[0] = '\0';
    } else {
        mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_FILENAME, from->file, (size_t)0);
        mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_START, (unsigned long)(from->pos ? from->pos : 4));
        snprintf(s->file, sizeof s->file, "%s", from->file);
    }
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_SERVER_ID, (unsigned int)src->set.server_id);
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_FLAGS, (unsigned int)0);
    if (mariadb_rpl_open(s->rpl) != 0) {
        return nb_error_set(err, NB_ERR_IO, "mysql: binlog dump from %s:%u failed: %s", src->set.hosts[src->host_index],
                            src->set.ports[src->host_index], mysql_error(s->db));
    }
    my_decoder_init(&s->dec);
    NB_INFO("mysql", "streaming the binlog of %s:%u from %s", src->set.hosts[src->host_index], src->set.ports[src->host_index],
            by_gtid ? from->gtid : from->file);
    return NB_OK;
}

static void rpl_disconnect(struct my_stream *s)
{
    if (s->ev) { mariadb_free_rpl_event(s->ev); s->ev = NULL; }
    if (s->rpl) { mariadb_rpl_close(s->rpl); s->rpl = NULL; }
    if (s->db) { mysql_close(s->db); s->db = NULL; }
}

nb_status my_stream_start(struct my_src *src, struct nb_error *err)
{
    struct my_stream *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    src->stream = s;
    s->src = src;
    my_image_init(&s->before);
    my_image_init(&s->after);
    nb_buf_init(&s->payload);
    my_gtid_set_init(&s->myset);
    nb_buf_init(&s->gtid_text);
    /* start from the earliest position any stream still needs */
    struct my_pos from;
    memset(&from, 0, sizeof from);
    bool have = false;
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        if (!t->has_saved) continue;
        if (!have || my_pos_cmp(&t->saved, &from) < 0) from = t->saved;
        have = true;
    }
    if (!have) return nb_error_set(err, NB_ERR_INTERNAL, "mysql: no binlog position to stream from");
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        const struct nb_stream_state *ss = src->force_snapshot ? NULL : nb_context_state(src->ctx, t->stream);
        if (t->snapshot_needed || !ss || !my_pos_columns(ss->source_position, &t->hist)) {
            const char *names[4096];
            size_t n = t->n_cols < 4096 ? t->n_cols : 4096;
            for (size_t k = 0; k < n; k++) names[k] = t->cols[k].name;
            if (!my_hist_set(&t->hist, names, n)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        }
    }
    src->start_pos = from;
    src->cur_pos = from;
    gtid_state_parse(s, from.gtid);
    if (!src->mariadb && strchr(from.gtid, ':')) {
        nb_status st = my_gtid_set_parse(&s->myset, from.gtid, err);
        if (st != NB_OK) return nb_error_prefix(err, "the saved position: ");
    }
    if (src->set.until_now) {
        if (mysql_query(src->db, "SHOW MASTER STATUS") == 0) {
            MYSQL_RES *r = mysql_store_result(src->db);
            MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
            if (row && row[0] && row[1]) {
                snprintf(src->until.file, sizeof src->until.file, "%s", row[0]);
                src->until.pos = strtoull(row[1], NULL, 10);
                src->have_until = true;
            }
            if (r) mysql_free_result(r);
        }
        if (!src->have_until) return my_db_error(src->db, NB_ERR_IO, err, "reading SHOW MASTER STATUS for cdc.until");
        char g[512];
        bool found = false;
        if (src->mariadb && my_query_value(src->db, "SELECT @@gtid_binlog_pos", g, sizeof g, &found, NULL) == NB_OK && found)
            snprintf(src->until.gtid, sizeof src->until.gtid, "%s", g);
        if (until_reached(src, "", 0)) {
            /* nothing to stream: the saved position is already at the end */
            s->finishing = true;
            s->last_flush_ms = nb_mono_ms();
            return flush_all(src, true, err);
        }
    }
    s->last_flush_ms = s->last_refresh_ms = nb_mono_ms();
    return rpl_connect(src, s, &from, err);
}

void my_stream_stop(struct my_src *src)
{
    struct my_stream *s = src->stream;
    if (!s) return;
    rpl_disconnect(s);
    for (size_t i = 0; i < MAX_MAPS; i++) {
        if (s->maps[i].used) nb_arena_cleanup(&s->maps[i].t.arena);
        nb_schema_release(s->maps[i].schema);
    }
    for (size_t i = 0; i < s->n_ready; i++) nb_batch_destroy(s->ready[s->ready_head + i]);
    free(s->ready);
    my_image_cleanup(&s->before);
    my_image_cleanup(&s->after);
    nb_buf_cleanup(&s->payload);
    my_gtid_set_cleanup(&s->myset);
    nb_buf_cleanup(&s->gtid_text);
    free(s);
    src->stream = NULL;
}

static bool purged_error(unsigned e, const char *msg)
{
    return e == 1236 || (msg && (strstr(msg, "purged") || strstr(msg, "Could not find GTID") || strstr(msg, "could not find")));
}

/* The connected server is gone: continue from the next host by GTID. */
static nb_status failover(struct my_src *src, struct my_stream *s, struct nb_error *err)
{
    if (!src->cur_pos.gtid[0] || (!src->mariadb && !s->myset.n))
        return nb_error_set(err, NB_ERR_NET, "mysql: lost the binlog connection and cannot fail over without a GTID position");
    rpl_disconnect(s);
    /* forget rows of the transaction that did not complete */
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        if (t->pending) nb_batch_truncate(t->pending, t->committed_rows);
    }
    s->in_txn = false;
    gtid_state_parse(s, src->cur_pos.gtid);
    for (size_t i = 0; i < MAX_MAPS; i++) s->maps[i].used = s->maps[i].used; /* maps are re-sent */
    size_t start = src->host_index;
    for (size_t k = 1; k <= src->set.n_hosts * 3; k++) {
        src->host_index = (start + k) % src->set.n_hosts;
        struct nb_error e;
        nb_error_clear(&e);
        s->failing_over = true;
        nb_status cst = rpl_connect(src, s, &src->cur_pos, &e);
        s->failing_over = false;
        if (cst == NB_OK) {
            NB_WARN("mysql", "failed over to %s:%u at GTID %s", src->set.hosts[src->host_index],
                    src->set.ports[src->host_index], src->cur_pos.gtid);
            return NB_OK;
        }
        NB_WARN("mysql", "failover: %s", e.message);
        rpl_disconnect(s);
        if (nb_context_cancelled(src->ctx)) break;
        struct timespec ts = {0, 300 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return nb_error_set(err, NB_ERR_NET, "mysql: lost the binlog connection and no other host could continue from GTID %s",
                        src->cur_pos.gtid);
}

nb_status my_stream_read(struct my_src *src, struct nb_batch **out, struct nb_error *err)
{
    struct my_stream *s = src->stream;
    *out = NULL;
    uint64_t started = nb_mono_ms();
    for (;;) {
        if (s->n_ready) {
            *out = s->ready[s->ready_head++];
            s->n_ready--;
            if (s->n_ready == 0) s->ready_head = 0;
            return NB_OK;
        }
        if (s->finishing) return NB_DONE;
        if (nb_context_cancelled(src->ctx)) return nb_error_set(err, NB_ERR_CANCELLED, "mysql: cancelled");
        if (nb_mono_ms() - started > 2000) return NB_AGAIN;
        const uint8_t *raw = NULL;
        size_t len = 0;
        bool got;
        if (s->own_dump) {
            /* one packet: 0x00 then the event; 0xfe: the server ended the stream; errors come
             * back as packet_error with the server's message set on the connection */
            unsigned long n = mysql_net_read_packet(s->db);
            got = n != packet_error && n > 1 && s->db->net.read_pos[0] == 0x00;
            if (got) { raw = s->db->net.read_pos + 1; len = n - 1; }
        } else {
            s->ev = mariadb_rpl_fetch(s->rpl, s->ev);
            got = s->ev != NULL;
        }
        if (!got) {
            unsigned e = mysql_errno(s->db);
            const char *msg = mysql_error(s->db);
            if (purged_error(e, msg)) {
                src->position_lost = true;
                return nb_error_set(err, NB_ERR_NOT_FOUND,
                                    "mysql: the server no longer has the saved binlog position (%s%s%s:%llu): %s (error %u). "
                                    "Choices: run with `snapshot: when_needed` to copy the tables again, or delete the state "
                                    "file to start over; raise binlog retention to avoid this",
                                    src->cur_pos.gtid[0] ? "GTID " : "", src->cur_pos.gtid, src->cur_pos.file[0] ? " " : "",
                                    (unsigned long long)src->cur_pos.pos, msg, e);
            }
            if (e == 0 || e == 2013 || e == 2006 || e == 2026 || e == 2055 || e == 1053 || e == 2003) {
                if (src->set.n_hosts > 1 || e == 0) {
                    nb_status st = failover(src, s, err);
                    if (st != NB_OK) return st;
                    continue;
                }
            }
            return nb_error_set(err, NB_ERR_NET, "mysql: reading the binlog failed: %s (error %u)", msg, e);
        }
        if (!s->own_dump) {
            if (s->ev->event_type == 0 && s->ev->raw_data_size == 0) continue;
            raw = s->ev->raw_data;
            len = s->ev->raw_data_size;
            /* the packet's leading OK byte is not part of the event */
            if (len == (size_t)s->ev->event_length + 1) { raw++; len--; }
        }
        bool hb = false;
        nb_status st = process_event(src, s, raw, len, &s->dec, &hb, err);
        if (st != NB_OK) return st;
        if (!s->finishing) s->caught_up = hb && !s->in_txn;
        if (hb && !s->n_ready && !s->in_txn) {
            /* Now and then every stream gets a position-only batch, so the saved position of a
             * quiet table keeps up and a resume does not start from old (maybe purged) binlogs. */
            bool refresh = nb_mono_ms() - s->last_refresh_ms >= 10000;
            if (refresh) s->last_refresh_ms = nb_mono_ms();
            if ((st = flush_all(src, refresh, err)) != NB_OK) return st;
            if (!s->n_ready) return NB_AGAIN;
        }
    }
}

bool my_stream_lag(struct my_src *src, double *seconds)
{
    struct my_stream *s = src->stream;
    if (!src->streaming || !s) return false;
    if (s->caught_up) { *seconds = 0; return true; }
    if (!s->last_commit_us) return false;
    int64_t d = nb_wall_us() - s->last_commit_us;
    *seconds = d > 0 ? (double)d / 1e6 : 0;
    return true;
}
