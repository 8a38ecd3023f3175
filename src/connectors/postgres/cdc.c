/* Change data capture: create the slot first and read the snapshot it exports (no gap, no overlap),
 * then stream pgoutput changes. The flush LSN sent to the server only ever moves to what the engine
 * has acknowledged as durable (or, with nothing outstanding, to the server's idle WAL end). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "connectors/postgres/src_internal.h"
#include "core/clock.h"
#include "core/log.h"

#define COMP "postgres-cdc"

static bool has_state(const struct pg_source *s, const struct pg_table *t)
{
    const struct nb_stream_state *st = nb_context_state(s->ctx, t->stream);
    return st && st->source_position && *st->source_position;
}

static nb_status one_value(struct pg_source *s, const char *sql, int np, const char *const *params, char *out, size_t cap,
                           bool *found, const char *what, struct nb_error *err)
{
    PGresult *r;
    nb_status st = pg_query(s->conn, sql, np, params, &r, what, err);
    if (st != NB_OK) return st;
    *found = PQntuples(r) > 0;
    if (*found && out) snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return NB_OK;
}

static nb_status check_prereq(struct pg_source *s, struct nb_error *err)
{
    char v[64];
    bool found;
    nb_status st = one_value(s, "SELECT current_setting('wal_level')", 0, NULL, v, sizeof v, &found, "reading wal_level", err);
    if (st != NB_OK) return st;
    if (strcmp(v, "logical") != 0)
        return nb_error_set(err, NB_ERR_UNSUPPORTED,
                            "postgres %s:%s/%s: wal_level is '%s', cdc needs 'logical'; run ALTER SYSTEM SET wal_level = logical "
                            "and restart the server", PQhost(s->conn), PQport(s->conn), PQdb(s->conn), v);
    const char *p[1] = {s->publication};
    st = one_value(s, "SELECT pubname FROM pg_catalog.pg_publication WHERE pubname = $1", 1, p, NULL, 0, &found,
                   "looking up the publication", err);
    if (st != NB_OK) return st;
    if (!found)
        return nb_error_set(err, NB_ERR_NOT_FOUND,
                            "postgres %s:%s/%s: publication \"%s\" does not exist; create it with CREATE PUBLICATION %s FOR TABLE "
                            "<tables> (or FOR ALL TABLES), or set cdc.publication", PQhost(s->conn), PQport(s->conn),
                            PQdb(s->conn), s->publication, s->publication);
    return NB_OK;
}

nb_status pg_check_cdc(struct pg_source *s, struct nb_buf *report, struct nb_error *err)
{
    nb_status st = check_prereq(s, err);
    if (st != NB_OK) return st;
    char v[64];
    bool found;
    const char *p[1] = {s->slot};
    st = one_value(s, "SELECT confirmed_flush_lsn::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, p, v,
                   sizeof v, &found, "looking up the slot", err);
    if (st != NB_OK) return st;
    nb_buf_printf(report, "cdc: wal_level=logical, publication \"%s\" exists, slot \"%s\" %s%s", s->publication, s->slot,
                  found ? "exists, confirmed_flush_lsn " : "does not exist yet (created by the first run)", found ? v : "");
    return NB_OK;
}

static nb_status tables_in_publication(struct pg_source *s, struct nb_error *err)
{
    for (size_t i = 0; i < s->ntables; i++) {
        struct pg_table *t = &s->tables[i];
        const char *p[3] = {s->publication, t->nsp, t->name};
        bool found;
        nb_status st = one_value(s, "SELECT 1 FROM pg_catalog.pg_publication_tables WHERE pubname = $1 AND schemaname = $2 "
                                    "AND tablename = $3", 3, p, NULL, 0, &found, "reading the publication's tables", err);
        if (st != NB_OK) return st;
        if (!found)
            return nb_error_set(err, NB_ERR_NOT_FOUND,
                                "postgres %s: table %s is not in publication \"%s\"; ALTER PUBLICATION %s ADD TABLE %s "
                                "(or exclude the table)", PQdb(s->conn), t->stream, s->publication, s->publication, t->stream);
        t->in_publication = true;
    }
    return NB_OK;
}

static nb_status repl_exec(struct pg_source *s, const char *cmd, PGresult **out, const char *what, struct nb_error *err)
{
    PGresult *r = PQexec(s->repl, cmd);
    ExecStatusType rs = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK && rs != PGRES_COPY_BOTH) {
        nb_status st = pg_result_error(s->repl, r, what, err);
        PQclear(r);
        return st;
    }
    if (out) *out = r;
    else PQclear(r);
    return NB_OK;
}

static nb_status create_slot(struct pg_source *s, struct nb_error *err)
{
    struct nb_buf q;
    nb_buf_init(&q);
    nb_buf_puts(&q, "CREATE_REPLICATION_SLOT ");
    pg_quote_ident(&q, s->slot);
    nb_buf_puts(&q, " LOGICAL pgoutput (SNAPSHOT 'export')");
    PGresult *r = NULL;
    nb_status st = repl_exec(s, q.data ? q.data : "", &r, "creating the replication slot", err);
    nb_buf_cleanup(&q);
    if (st != NB_OK) return st;
    if (PQntuples(r) != 1 || PQnfields(r) < 3 || !pg_lsn_parse(PQgetvalue(r, 0, 1), &s->consistent_lsn)) {
        PQclear(r);
        return nb_error_set(err, NB_ERR_PROTOCOL, "postgres: unexpected answer to CREATE_REPLICATION_SLOT");
    }
    snprintf(s->snapshot_name, sizeof s->snapshot_name, "%s", PQgetvalue(r, 0, 2));
    NB_INFO(COMP, "created slot \"%s\" at %s, snapshot %s", s->slot, PQgetvalue(r, 0, 1), s->snapshot_name);
    PQclear(r);
    return NB_OK;
}

nb_status pg_cdc_open(struct pg_source *s, struct nb_error *err)
{
    nb_status st = check_prereq(s, err);
    if (st != NB_OK) return st;
    st = pg_src_load_tables(s, err);
    if (st != NB_OK) return st;
    st = tables_in_publication(s, err);
    if (st != NB_OK) return st;
    s->dec = calloc(1, sizeof *s->dec);
    if (!s->dec) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
    pthread_mutex_init(&s->repl_mu, NULL);
    s->repl_mu_init = true;
    return NB_OK;
}

/* On the first read (never in check/discover): find or create the slot and open the snapshot. */
static nb_status cdc_begin(struct pg_source *s, struct nb_error *err)
{
    nb_status st;
    char v[64] = "";
    bool slot_exists;
    const char *p[1] = {s->slot};
    st = one_value(s, "SELECT confirmed_flush_lsn::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 "
                      "AND plugin = 'pgoutput' AND database = current_database()", 1, p, v, sizeof v, &slot_exists,
                   "looking up the slot", err);
    if (st != NB_OK) return st;
    bool any_state = false;
    for (size_t i = 0; i < s->ntables; i++) any_state |= has_state(s, &s->tables[i]);

    st = pg_connect(&s->ci, true, &s->repl, err);
    if (st != NB_OK) return st;

    if (slot_exists && any_state) {
        /* Resume: streams whose snapshot finished continue from their LSN; the others re-read
         * (the rest of) their snapshot in a new transaction. Changes between the slot's start and
         * that newer snapshot are delivered again (at-least-once; merge applies them idempotently). */
        if (!pg_lsn_parse(v, &s->consistent_lsn)) s->consistent_lsn = 0;
        s->committed_lsn = s->consistent_lsn;
        NB_INFO(COMP, "resuming from slot \"%s\" (confirmed_flush_lsn %s)", s->slot, v);
        st = pg_exec(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "starting the snapshot transaction", err);
        if (st != NB_OK) return st;
        s->in_txn = true;
        return NB_OK;
    }
    if (!slot_exists && any_state) {
        bool found_other;
        st = one_value(s, "SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, p, NULL, 0, &found_other,
                       "looking up the slot", err);
        if (st != NB_OK) return st;
        return nb_error_set(err, NB_ERR_NOT_FOUND,
                            "postgres %s: replication slot \"%s\" %s but the state file has saved positions: changes since "
                            "then cannot be recovered; remove the state (and the slot) to start over with a new snapshot",
                            PQdb(s->conn), s->slot, found_other ? "belongs to another plugin or database" : "no longer exists");
    }
    if (slot_exists) {
        NB_WARN(COMP, "slot \"%s\" exists but there is no saved state: dropping it and starting with a new snapshot", s->slot);
        struct nb_buf q;
        nb_buf_init(&q);
        nb_buf_puts(&q, "DROP_REPLICATION_SLOT ");
        pg_quote_ident(&q, s->slot);
        nb_buf_puts(&q, " WAIT");
        st = repl_exec(s, q.data ? q.data : "", NULL, "dropping the old replication slot", err);
        nb_buf_cleanup(&q);
        if (st != NB_OK) return st;
    }
    st = create_slot(s, err);
    if (st != NB_OK) return st;
    s->committed_lsn = s->consistent_lsn;
    for (size_t i = 0; i < s->ntables; i++) {
        struct pg_table *t = &s->tables[i];
        t->snapshot_done = false;
        t->skip_before = 0;
        t->page = 0;
        if (t->key) {
            for (size_t k = 0; k < t->norder; k++) free(t->key[k]);
            free(t->key);
            t->key = NULL;
        }
    }
    st = pg_exec(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "starting the snapshot transaction", err);
    if (st != NB_OK) return st;
    s->in_txn = true;
    struct nb_buf q;
    nb_buf_init(&q);
    nb_buf_puts(&q, "SET TRANSACTION SNAPSHOT ");
    pg_quote_literal(&q, s->snapshot_name);
    st = pg_exec(s->conn, q.data ? q.data : "", "importing the slot's snapshot", err);
    nb_buf_cleanup(&q);
    return st;
}

/* ---- flush bookkeeping -------------------------------------------------------------------------- */
static uint64_t flush_candidate(struct pg_source *s)
{
    uint64_t min_hold = UINT64_MAX;
    for (size_t i = 0; i < s->ntables; i++) {
        struct pg_table *t = &s->tables[i];
        if (t->n_out && t->out[0].hold < min_hold) min_hold = t->out[0].hold;
        if (t->pending && t->pending->n_rows && t->pending_hold < min_hold) min_hold = t->pending_hold;
    }
    if (min_hold != UINT64_MAX) return min_hold;
    uint64_t c = s->committed_lsn;
    /* An open (or streamed, still uncommitted) transaction is not durable anywhere yet. */
    if (!s->txn_open && !s->nspills && !s->replay && s->server_wal_end > c) c = s->server_wal_end;
    return c;
}

static nb_status send_status(struct pg_source *s, bool reply, struct nb_error *err)
{
    if (!s->repl || !s->streaming) return NB_OK;
    uint64_t cand = flush_candidate(s);
    if (cand > s->flushed_lsn) s->flushed_lsn = cand;
    uint8_t msg[34];
    uint64_t write = s->received_lsn > s->flushed_lsn ? s->received_lsn : s->flushed_lsn;
    size_t n = pg_build_status(msg, write, s->flushed_lsn, s->flushed_lsn, pg_now_us(), reply);
    if (PQputCopyData(s->repl, (const char *)msg, (int)n) != 1 || PQflush(s->repl) != 0)
        return pg_result_error(s->repl, NULL, "sending a standby status update", err);
    s->last_status_ms = nb_mono_ms();
    return NB_OK;
}

static void log_lag(struct pg_source *s, enum nb_log_level level)
{
    char f[32], w[32];
    pg_lsn_format(s->flushed_lsn, f, sizeof f);
    pg_lsn_format(s->server_wal_end > s->received_lsn ? s->server_wal_end : s->received_lsn, w, sizeof w);
    uint64_t srv = s->server_wal_end > s->received_lsn ? s->server_wal_end : s->received_lsn;
    nb_log(level, COMP, "slot \"%s\": %" PRIu64 " changes, confirmed flush %s, server WAL %s, lag %" PRIu64 " bytes",
           s->slot, s->changes, f, w, srv > s->flushed_lsn ? srv - s->flushed_lsn : 0);
}

/* ---- batches ------------------------------------------------------------------------------------ */
static nb_status push_ready(struct pg_source *s, struct nb_batch *b, struct nb_error *err)
{
    if (s->nready == s->capready) {
        size_t nc = s->capready ? s->capready * 2 : 16;
        struct nb_batch **nr = realloc(s->ready, nc * sizeof *nr);
        if (!nr) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
        s->ready = nr;
        s->capready = nc;
    }
    s->ready[s->nready++] = b;
    return NB_OK;
}

static uint64_t stream_lsn(const struct pg_source *s, const struct pg_table *t)
{
    return t->skip_before > s->committed_lsn ? t->skip_before : s->committed_lsn;
}

static nb_status cut(struct pg_source *s, struct pg_table *t, bool end, struct nb_error *err)
{
    struct nb_batch *b = t->pending;
    if (!b) {
        if (!end) return NB_OK;
        b = pg_src_new_batch(s, t);
        if (!b) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
    }
    t->pending = NULL;
    nb_status st = nb_batch_check(b, err);
    if (st != NB_OK) {
        nb_batch_destroy(b);
        return st;
    }
    uint64_t seq = ++t->next_seq;
    char lsn[32];
    pg_lsn_format(stream_lsn(s, t), lsn, sizeof lsn);
    b->position = nb_arena_printf(&b->arena, "{\"phase\":\"cdc\",\"lsn\":\"%s\",\"seq\":%" PRIu64 "}", lsn, seq);
    b->end_of_stream = end;
    if (b->n_rows) {
        if (t->n_out == t->cap_out) {
            size_t nc = t->cap_out ? t->cap_out * 2 : 16;
            struct pg_outstanding *no = realloc(t->out, nc * sizeof *no);
            if (!no) {
                nb_batch_destroy(b);
                return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
            }
            t->out = no;
            t->cap_out = nc;
        }
        t->out[t->n_out].seq = seq;
        t->out[t->n_out].hold = t->pending_hold;
        t->out[t->n_out].commit_time = t->pending_time;
        t->n_out++;
    }
    st = push_ready(s, b, err);
    if (st != NB_OK) nb_batch_destroy(b);
    return st;
}

static nb_status cut_all(struct pg_source *s, struct nb_error *err)
{
    for (size_t i = 0; i < s->ntables; i++)
        if (s->tables[i].pending && s->tables[i].pending->n_rows) {
            nb_status st = cut(s, &s->tables[i], false, err);
            if (st != NB_OK) return st;
        }
    return NB_OK;
}

static struct pg_relmap *find_rel(struct pg_source *s, uint32_t oid)
{
    for (size_t i = 0; i < s->nrels; i++)
        if (s->rels[i].oid == oid) return &s->rels[i];
    return NULL;
}

static void relmap_cleanup(struct pg_relmap *m)
{
    pg_relation_cleanup(&m->rel);
    free(m->types);
    free(m->map);
}

/* A Relation message: (re)map its columns to the stream's schema; a changed column list changes
 * the stream's schema by the schema policy (on_new_column) after cutting the pending batch. */
static nb_status on_relation(struct pg_source *s, struct pg_msg *m, struct nb_error *err)
{
    struct pg_relmap *rm = find_rel(s, m->rel.oid);
    if (!rm) {
        if (s->nrels == s->caprels) {
            size_t nc = s->caprels ? s->caprels * 2 : 8;
            struct pg_relmap *nr = realloc(s->rels, nc * sizeof *nr);
            if (!nr) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
            s->rels = nr;
            s->caprels = nc;
        }
        rm = &s->rels[s->nrels++];
        memset(rm, 0, sizeof *rm);
    } else {
        relmap_cleanup(rm);
    }
    rm->oid = m->rel.oid;
    rm->rel = m->rel;
    memset(&m->rel, 0, sizeof m->rel);
    rm->table = -1;
    rm->types = calloc(rm->rel.ncols + 1, sizeof *rm->types);
    rm->map = calloc(rm->rel.ncols + 1, sizeof *rm->map);
    if (!rm->types || !rm->map) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
    for (size_t i = 0; i < s->ntables; i++)
        if (!strcmp(s->tables[i].nsp, rm->rel.nspname) && !strcmp(s->tables[i].name, rm->rel.relname)) rm->table = (int)i;
    for (uint32_t c = 0; c < rm->rel.ncols; c++) {
        nb_status st = pg_typecache_resolve(s->types, s->conn, rm->rel.cols[c].type_oid, rm->rel.cols[c].typmod,
                                            &rm->types[c], err);
        if (st != NB_OK) return st;
        rm->map[c] = -1;
    }
    if (rm->table < 0) return NB_OK;
    struct pg_table *t = &s->tables[rm->table];
    /* Same columns (names and types) as the stream's schema? */
    bool same = rm->rel.ncols == t->ncols;
    for (uint32_t c = 0; same && c < rm->rel.ncols; c++)
        same = !strcmp(rm->rel.cols[c].name, t->colnames[c]) && rm->types[c].kind == t->kinds[c] &&
               rm->types[c].type.id == t->schema->fields[c].type.id &&
               rm->types[c].type.precision == t->schema->fields[c].type.precision &&
               rm->types[c].type.scale == t->schema->fields[c].type.scale;
    if (same) {
        for (uint32_t c = 0; c < rm->rel.ncols; c++) rm->map[c] = (int)c;
        return NB_OK;
    }
    enum nb_new_column_policy pol = s->ctx->options ? s->ctx->options->on_new_column : NB_NEW_COLUMN_ADD;
    /* New column list: existing columns by name, new ones appended per policy. */
    size_t nnew = 0;
    for (uint32_t c = 0; c < rm->rel.ncols; c++) {
        bool known = false;
        for (size_t k = 0; k < t->ncols; k++) known |= !strcmp(t->colnames[k], rm->rel.cols[c].name);
        if (!known) nnew++;
    }
    if (nnew && pol == NB_NEW_COLUMN_FAIL)
        return nb_error_set(err, NB_ERR_INVALID, "postgres: table %s gained %zu column(s) and schema.on_new_column is fail",
                            t->stream, nnew);
    nb_status st = cut(s, t, false, err);
    if (st != NB_OK) return st;
    struct nb_schema *ns = nb_schema_create();
    size_t cap = rm->rel.ncols + 1;
    char **names = calloc(cap, sizeof *names);
    char **typn = calloc(cap, sizeof *typn);
    uint32_t *oids = calloc(cap, sizeof *oids);
    int32_t *mods = calloc(cap, sizeof *mods);
    enum pg_kind *kinds = calloc(cap, sizeof *kinds);
    bool *nn = calloc(cap, sizeof *nn);
    if (!ns || !names || !typn || !oids || !mods || !kinds || !nn) {
        nb_schema_release(ns);
        free(names); free(typn); free(oids); free(mods); free(kinds); free(nn);
        return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
    }
    size_t n = 0;
    for (uint32_t c = 0; c < rm->rel.ncols; c++) {
        bool known = false;
        for (size_t k = 0; k < t->ncols; k++) known |= !strcmp(t->colnames[k], rm->rel.cols[c].name);
        if (!known && pol == NB_NEW_COLUMN_IGNORE) continue;
        names[n] = strdup(rm->rel.cols[c].name);
        typn[n] = strdup("text");
        oids[n] = rm->rel.cols[c].type_oid;
        mods[n] = rm->rel.cols[c].typmod;
        kinds[n] = rm->types[c].kind;
        nb_schema_add(ns, names[n], rm->types[c].type, true);
        rm->map[c] = (int)n;
        n++;
    }
    for (size_t f = t->ncols; f < t->schema->n_fields; f++)
        nb_schema_add(ns, t->schema->fields[f].name, t->schema->fields[f].type, t->schema->fields[f].nullable);
    NB_INFO(COMP, "%s: columns changed (%zu -> %zu), new schema from the Relation message", t->stream, t->ncols, n);
    for (size_t c = 0; c < t->ncols; c++) {
        free(t->colnames[c]);
        free(t->typnames[c]);
    }
    free(t->colnames); free(t->typnames); free(t->oids); free(t->typmods); free(t->kinds); free(t->notnull);
    t->colnames = names;
    t->typnames = typn;
    t->oids = oids;
    t->typmods = mods;
    t->kinds = kinds;
    t->notnull = nn;
    t->ncols = n;
    nb_schema_release(t->schema);
    t->schema = ns;
    return NB_OK;
}

static nb_status append_change(struct pg_source *s, struct pg_msg *m, const char *op, struct nb_error *err)
{
    struct pg_relmap *rm = find_rel(s, m->rel_oid);
    if (!rm)
        return nb_error_set(err, NB_ERR_PROTOCOL, "pgoutput: change for relation %u before its Relation message", m->rel_oid);
    if (rm->table < 0) return NB_OK;
    struct pg_table *t = &s->tables[rm->table];
    if (s->txn_final_lsn < t->skip_before) return NB_OK;   /* delivered before a restart */
    const struct pg_tuple_col *tup = m->type == PG_MSG_DELETE ? m->old_cols : m->new_cols;
    uint32_t ntup = m->type == PG_MSG_DELETE ? m->n_old : m->n_new;
    if (!t->pending) {
        t->pending = pg_src_new_batch(s, t);
        if (!t->pending) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
        t->pending_hold = s->committed_lsn;
        t->pending_time = s->txn_time;
    }
    struct nb_batch *b = t->pending;
    /* Which table column gets which tuple column. */
    int src[PG_MAX_COLS];
    for (size_t c = 0; c < t->ncols && c < PG_MAX_COLS; c++) src[c] = -1;
    for (uint32_t c = 0; c < rm->rel.ncols && c < ntup; c++)
        if (rm->map[c] >= 0 && (size_t)rm->map[c] < t->ncols) src[rm->map[c]] = (int)c;
    struct nb_buf *unch = &s->sql;
    nb_buf_reset(unch);
    for (size_t c = 0; c < t->ncols; c++) {
        struct nb_column *col = &b->cols[c];
        if (src[c] < 0) {
            nb_column_append_null(col);
            continue;
        }
        const struct pg_tuple_col *tc = &tup[src[c]];
        if (tc->kind == 't' || tc->kind == 'b') {
            pg_append_value(col, t->kinds[c], tc->data, tc->len, &s->scratch);
        } else {
            nb_column_append_null(col);
            if (tc->kind == 'u') {
                /* Unchanged TOAST value: not sent by the server. Null here, named in _nb_unchanged_toast. */
                nb_buf_putc(unch, unch->len ? ',' : '[');
                nb_buf_json_string(unch, t->colnames[c], strlen(t->colnames[c]));
            }
        }
    }
    struct nb_column *meta = &b->cols[t->ncols];
    char lsn[32], ts[48], xid[16];
    pg_lsn_format(s->txn_final_lsn, lsn, sizeof lsn);
    pg_format_pgtime(s->txn_time, ts, sizeof ts);
    snprintf(xid, sizeof xid, "%u", s->txn_xid);
    nb_column_append_text(&meta[0], op, strlen(op));
    nb_column_append_text(&meta[1], lsn, strlen(lsn));
    nb_column_append_text(&meta[2], ts, strlen(ts));
    nb_column_append_text(&meta[3], xid, strlen(xid));
    if (unch->len) {
        nb_buf_putc(unch, ']');
        nb_column_append_text(&meta[4], unch->data, unch->len);
    } else {
        nb_column_append_null(&meta[4]);
    }
    b->n_rows++;
    s->changes++;
    if (b->n_rows >= s->batch_size) return cut(s, t, false, err);
    return NB_OK;
}

static nb_status append_truncate(struct pg_source *s, struct pg_msg *m, struct nb_error *err)
{
    for (uint32_t i = 0; i < m->n_rels; i++) {
        struct pg_relmap *rm = find_rel(s, m->rel_oids[i]);
        if (!rm || rm->table < 0) continue;
        struct pg_table *t = &s->tables[rm->table];
        if (s->txn_final_lsn < t->skip_before) continue;
        if (!t->pending) {
            t->pending = pg_src_new_batch(s, t);
            if (!t->pending) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
            t->pending_hold = s->committed_lsn;
            t->pending_time = s->txn_time;
        }
        struct nb_batch *b = t->pending;
        for (size_t c = 0; c < t->ncols; c++) nb_column_append_null(&b->cols[c]);
        struct nb_column *meta = &b->cols[t->ncols];
        char lsn[32], ts[48], xid[16];
        pg_lsn_format(s->txn_final_lsn, lsn, sizeof lsn);
        pg_format_pgtime(s->txn_time, ts, sizeof ts);
        snprintf(xid, sizeof xid, "%u", s->txn_xid);
        nb_column_append_text(&meta[0], "truncate", 8);
        nb_column_append_text(&meta[1], lsn, strlen(lsn));
        nb_column_append_text(&meta[2], ts, strlen(ts));
        nb_column_append_text(&meta[3], xid, strlen(xid));
        nb_column_append_null(&meta[4]);
        b->n_rows++;
        s->changes++;
    }
    return NB_OK;
}

/* ---- streamed transactions (protocol version 2) ------------------------------------------------ */
static struct pg_spill *find_spill(struct pg_source *s, uint32_t xid, size_t *idx)
{
    for (size_t i = 0; i < s->nspills; i++)
        if (pg_spill_xid(s->spills[i]) == xid) {
            if (idx) *idx = i;
            return s->spills[i];
        }
    return NULL;
}

static void drop_spill(struct pg_source *s, size_t i, bool destroy)
{
    if (destroy) pg_spill_destroy(s->spills[i]);
    s->spills[i] = s->spills[--s->nspills];
}

static nb_status on_stream_msg(struct pg_source *s, struct pg_msg *m, const struct pg_copy_msg *cm, struct nb_error *err)
{
    size_t i;
    struct pg_spill *sp;
    nb_status st = NB_OK;
    switch (m->type) {
    case PG_MSG_STREAM_START:
        sp = find_spill(s, m->xid, NULL);
        if (!sp) {
            if (s->nspills == s->capspills) {
                size_t nc = s->capspills ? s->capspills * 2 : 4;
                struct pg_spill **ns = realloc(s->spills, nc * sizeof *ns);
                if (!ns) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
                s->spills = ns;
                s->capspills = nc;
            }
            st = pg_spill_create(&sp, m->xid, s->spill_dir, err);
            if (st != NB_OK) return st;
            s->spills[s->nspills++] = sp;
            NB_DEBUG(COMP, "streamed transaction %u: first block, spilling to a temp file", m->xid);
        }
        s->cur_spill = sp;
        return NB_OK;
    case PG_MSG_STREAM_STOP:
        s->cur_spill = NULL;
        return NB_OK;
    case PG_MSG_STREAM_ABORT:
        if (!(sp = find_spill(s, m->xid, &i))) return NB_OK;
        if (m->subxid == m->xid) {
            NB_DEBUG(COMP, "streamed transaction %u aborted: its changes are dropped", m->xid);
            drop_spill(s, i, true);
            return NB_OK;
        }
        return pg_spill_abort_sub(sp, m->subxid, err);
    case PG_MSG_STREAM_COMMIT:
        if (!(sp = find_spill(s, m->xid, &i))) {
            if (m->end_lsn > s->committed_lsn) s->committed_lsn = m->end_lsn;
            return NB_OK;
        }
        drop_spill(s, i, false);
        st = pg_spill_rewind(sp, err);
        if (st != NB_OK) {
            pg_spill_destroy(sp);
            return st;
        }
        /* Emitted now, in commit order, as one transaction at its commit LSN and time (replay_step). */
        s->replay = sp;
        s->replay_commit_lsn = m->commit_lsn;
        s->replay_end_lsn = m->end_lsn;
        s->replay_time = m->commit_time;
        s->txn_open = true;
        s->txn_xid = m->xid;
        s->txn_time = m->commit_time;
        s->txn_final_lsn = m->commit_lsn;
        return NB_OK;
    default:
        break;
    }
    /* A message inside a stream block: kept (raw) for the commit. */
    if (m->type == PG_MSG_RELATION) pg_relation_cleanup(&m->rel);
    if (m->type == PG_MSG_TYPE || m->type == PG_MSG_MESSAGE) return NB_OK;
    if (!s->cur_spill) return nb_error_set(err, NB_ERR_PROTOCOL, "pgoutput: a streamed change outside a stream block");
    return pg_spill_add(s->cur_spill, m->xid, cm->data, cm->len, err);
}

static nb_status dispatch(struct pg_source *s, struct pg_msg *m, struct nb_error *err);

/* Emit a committed streamed transaction's changes until a batch is ready or all are out. */
static nb_status replay_step(struct pg_source *s, struct nb_error *err)
{
    if (!s->rdec) {
        s->rdec = calloc(1, sizeof *s->rdec);
        if (!s->rdec) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
    }
    s->rdec->in_stream = true;
    s->txn_xid = pg_spill_xid(s->replay);
    s->txn_time = s->replay_time;
    s->txn_final_lsn = s->replay_commit_lsn;
    nb_status st = NB_OK;
    while (!s->nready) {
        const uint8_t *msg;
        size_t n;
        st = pg_spill_next(s->replay, &msg, &n, err);
        if (st == NB_DONE) {
            st = NB_OK;
            pg_spill_destroy(s->replay);
            s->replay = NULL;
            s->txn_open = false;
            if (s->replay_end_lsn > s->committed_lsn) s->committed_lsn = s->replay_end_lsn;
            if (s->replay_end_lsn > s->received_lsn) s->received_lsn = s->replay_end_lsn;
            break;
        }
        if (st != NB_OK) break;
        struct pg_msg m;
        st = pg_decode(s->rdec, msg, n, &m, err);
        if (st == NB_OK) st = dispatch(s, &m, err);
        if (st != NB_OK) {
            nb_error_prefix(err, "postgres: replaying streamed transaction %u: ", s->txn_xid);
            break;
        }
    }
    return st;
}

static nb_status on_xlogdata(struct pg_source *s, const struct pg_copy_msg *cm, struct nb_error *err)
{
    struct pg_msg m;
    nb_status st = pg_decode(s->dec, cm->data, cm->len, &m, err);
    if (st != NB_OK) return st;
    if (m.streamed || m.type == PG_MSG_STREAM_START || m.type == PG_MSG_STREAM_STOP || m.type == PG_MSG_STREAM_COMMIT ||
        m.type == PG_MSG_STREAM_ABORT) {
        if (m.type == PG_MSG_STREAM_COMMIT && m.end_lsn > s->received_lsn) s->received_lsn = m.end_lsn;
        return on_stream_msg(s, &m, cm, err);
    }
    /* Relation/Type messages come with WAL position 0/0: never a checkpoint. */
    if (cm->wal_start > s->received_lsn) s->received_lsn = cm->wal_start;
    switch (m.type) {
    case PG_MSG_BEGIN:
        s->txn_open = true;
        s->txn_xid = m.xid;
        s->txn_time = m.commit_time;
        s->txn_final_lsn = m.final_lsn;
        return NB_OK;
    case PG_MSG_COMMIT:
        s->txn_open = false;
        if (m.end_lsn > s->committed_lsn) s->committed_lsn = m.end_lsn;
        if (m.end_lsn > s->received_lsn) s->received_lsn = m.end_lsn;
        return NB_OK;
    default:
        return dispatch(s, &m, err);
    }
}

/* Relation and change messages, live or replayed from a streamed transaction. */
static nb_status dispatch(struct pg_source *s, struct pg_msg *m, struct nb_error *err)
{
    nb_status st;
    switch (m->type) {
    case PG_MSG_RELATION:
        st = on_relation(s, m, err);
        pg_relation_cleanup(&m->rel);
        return st;
    case PG_MSG_INSERT: return append_change(s, m, "insert", err);
    case PG_MSG_UPDATE: return append_change(s, m, "update", err);
    case PG_MSG_DELETE: return append_change(s, m, "delete", err);
    case PG_MSG_TRUNCATE: return append_truncate(s, m, err);
    default: return NB_OK;   /* Origin, Type (domains are resolved via the catalog), Message */
    }
}

static nb_status start_streaming(struct pg_source *s, struct nb_error *err)
{
    if (s->in_txn) {
        nb_status st = pg_exec(s->conn, "COMMIT", "ending the snapshot transaction", err);
        if (st != NB_OK) return st;
        s->in_txn = false;
    }
    if (s->until_now) {
        char v[64];
        bool found;
        /* The insert position, not pg_current_wal_lsn(): with synchronous_commit=off a committed
         * transaction may not be written yet. A message after it makes the decoder pass it. */
        nb_status st = one_value(s, "SELECT pg_catalog.pg_current_wal_insert_lsn()::text", 0, NULL, v, sizeof v, &found,
                                 "reading the current WAL position", err);
        if (st != NB_OK) return st;
        pg_lsn_parse(v, &s->target_lsn);
        st = pg_exec(s->conn, "SELECT pg_catalog.pg_logical_emit_message(false, 'nebula_heartbeat', '')",
                     "emitting a heartbeat message", err);
        if (st != NB_OK) return st;
        NB_INFO(COMP, "cdc.until: now: streaming until %s", v);
    }
    char start[32];
    pg_lsn_format(s->snapshot_name[0] ? s->consistent_lsn : 0, start, sizeof start);
    struct nb_buf q;
    nb_buf_init(&q);
    nb_buf_puts(&q, "START_REPLICATION SLOT ");
    pg_quote_ident(&q, s->slot);
    /* Version 2 (PostgreSQL 14+) streams large transactions before they commit, so the server
     * does not spill them itself and the changes flow while the transaction runs. */
    int proto = s->proto > 0 ? s->proto : PQserverVersion(s->repl) >= 140000 ? 2 : 1;
    nb_buf_printf(&q, " LOGICAL %s (proto_version '%d', %spublication_names ", start, proto,
                  proto >= 2 ? "streaming 'on', " : "");
    struct nb_buf pub;
    nb_buf_init(&pub);
    pg_quote_ident(&pub, s->publication);
    pg_quote_literal(&q, pub.data ? pub.data : "");
    nb_buf_cleanup(&pub);
    nb_buf_puts(&q, ")");
    nb_status st = NB_OK;
    /* After a kill -9 the old walsender may hold the slot for a moment: retry while it is active. */
    uint64_t give_up = nb_mono_ms() + 20000;
    for (;;) {
        PGresult *r = PQexec(s->repl, q.data ? q.data : "");
        if (r && PQresultStatus(r) == PGRES_COPY_BOTH) {
            PQclear(r);
            break;
        }
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        bool busy = state && !strcmp(state, "55006");
        if (!busy || nb_mono_ms() > give_up || nb_context_cancelled(s->ctx)) {
            st = pg_result_error(s->repl, r, "starting replication", err);
            PQclear(r);
            break;
        }
        PQclear(r);
        usleep(250000);
    }
    nb_buf_cleanup(&q);
    if (st != NB_OK) return st;
    s->streaming = true;
    s->start_ms = s->last_status_ms = s->last_heartbeat_ms = s->last_data_ms = s->last_lag_log_ms = nb_mono_ms();
    if (s->consistent_lsn > s->flushed_lsn) s->flushed_lsn = s->consistent_lsn;
    NB_INFO(COMP, "streaming from slot \"%s\" publication \"%s\" (pgoutput proto_version %d)", s->slot, s->publication,
            proto);
    /* until: now asks for a keepalive right away: it tells how far the server has decoded. */
    return s->target_lsn ? send_status(s, true, err) : NB_OK;
}

static nb_status finish_until_now(struct pg_source *s, struct nb_error *err)
{
    /* No end_of_stream: a cdc stream continues in the next run (the engine would mark it done). */
    nb_status st = cut_all(s, err);
    if (st != NB_OK) return st;
    s->done = true;
    log_lag(s, NB_LOG_INFO);
    return NB_OK;
}

static nb_status heartbeat(struct pg_source *s, struct nb_error *err)
{
    if (!s->heartbeat_ms || nb_mono_ms() - s->last_heartbeat_ms < s->heartbeat_ms) return NB_OK;
    s->last_heartbeat_ms = nb_mono_ms();
    return pg_exec(s->conn, "SELECT pg_catalog.pg_logical_emit_message(false, 'nebula_heartbeat', '')",
                   "emitting a heartbeat message", err);
}

/* While the engine applies backpressure it does not call read: this thread keeps sending status
 * updates (the same flush LSN, never more) so the server's wal_sender_timeout does not end the
 * session. */
static void *keepalive_main(void *arg)
{
    struct pg_source *s = arg;
    while (!atomic_load(&s->ka_stop)) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        if (pthread_mutex_trylock(&s->repl_mu) != 0) continue;
        if (s->streaming && s->repl && PQstatus(s->repl) == CONNECTION_OK &&
            nb_mono_ms() - s->last_status_ms >= s->status_ms)
            send_status(s, false, NULL);
        pthread_mutex_unlock(&s->repl_mu);
    }
    return NULL;
}

static void start_keepalive(struct pg_source *s)
{
    atomic_store(&s->ka_stop, false);
    if (pthread_create(&s->ka_thread, NULL, keepalive_main, s) == 0) s->ka_started = true;
    else NB_WARN(COMP, "could not start the keepalive thread; long pauses may end the replication session");
}

static nb_status stream_read(struct pg_source *s, struct nb_batch **out, struct nb_error *err);

nb_status pg_cdc_read(struct pg_source *s, struct nb_batch **out, struct nb_error *err)
{
    nb_status st;
    if (s->nready) {
        *out = s->ready[0];
        memmove(s->ready, s->ready + 1, (s->nready - 1) * sizeof *s->ready);
        s->nready--;
        return NB_OK;
    }
    if (s->done) return NB_DONE;
    if (!s->repl) {
        st = cdc_begin(s, err);
        if (st != NB_OK) return st;
    }
    /* Phase 1: the snapshot, one table after another, inside the exported snapshot. */
    while (!s->streaming) {
        while (s->cur < s->ntables && s->tables[s->cur].snapshot_done) s->cur++;
        if (s->cur < s->ntables) {
            bool finished;
            st = pg_src_read_snapshot(s, out, &finished, err);
            if (st != NB_OK) return st;
            s->tables[s->cur].next_seq++;
            if (finished) {
                s->tables[s->cur].snapshot_done = true;
                NB_INFO(COMP, "%s: snapshot complete", s->tables[s->cur].stream);
            }
            return NB_OK;
        }
        st = start_streaming(s, err);
        if (st != NB_OK) return st;
        start_keepalive(s);
    }
    pthread_mutex_lock(&s->repl_mu);
    st = stream_read(s, out, err);
    pthread_mutex_unlock(&s->repl_mu);
    return st;
}

/* Phase 2: changes. Read for a short while, then hand back what is ready or NB_AGAIN. Called with
 * repl_mu held (the keepalive thread shares the replication connection). */
static nb_status stream_read(struct pg_source *s, struct nb_batch **out, struct nb_error *err)
{
    nb_status st;
    uint64_t flush_ms = s->ctx->options && s->ctx->options->flush_interval_ms ? s->ctx->options->flush_interval_ms : 1000;
    uint64_t until = nb_mono_ms() + 200;
    for (;;) {
        if (nb_context_cancelled(s->ctx)) return nb_error_set(err, NB_ERR_CANCELLED, "postgres: cancelled");
        if (s->replay) {
            /* A committed streamed transaction comes out a batch at a time, before anything later;
             * the socket waits meanwhile, so status updates keep the session alive. */
            st = replay_step(s, err);
            if (st == NB_OK && nb_mono_ms() - s->last_status_ms >= s->status_ms) st = send_status(s, false, err);
            if (st != NB_OK) return st;
            if (!s->replay && s->target_lsn && s->committed_lsn >= s->target_lsn) {
                st = finish_until_now(s, err);
                if (st != NB_OK) return st;
                break;
            }
            if (s->nready) break;
            continue;
        }
        char *buf = NULL;
        int len = PQgetCopyData(s->repl, &buf, 1);
        if (len > 0) {
            struct pg_copy_msg cm;
            st = pg_parse_copy_msg((const uint8_t *)buf, (size_t)len, &cm, err);
            if (st == NB_OK) {
                if (cm.server_time > s->server_time) s->server_time = cm.server_time;
                if (cm.type == 'w') {
                    s->bytes_read += cm.len;
                    st = on_xlogdata(s, &cm, err);
                } else {
                    NB_DEBUG(COMP, "keepalive wal_end %X/%X reply %d txn_open %d committed %X/%X", (unsigned)(cm.wal_end >> 32),
                             (unsigned)cm.wal_end, cm.reply_requested, s->txn_open, (unsigned)(s->committed_lsn >> 32),
                             (unsigned)s->committed_lsn);
                    if (cm.wal_end > s->server_wal_end) s->server_wal_end = cm.wal_end;
                    if (cm.reply_requested) st = send_status(s, false, err);
                }
            }
            PQfreemem(buf);
            if (st != NB_OK) return st;
            s->last_data_ms = nb_mono_ms();
            if (s->target_lsn && !s->txn_open && !s->dec->in_stream &&
                (s->committed_lsn >= s->target_lsn || (cm.type == 'k' && s->server_wal_end >= s->target_lsn))) {
                st = finish_until_now(s, err);
                if (st != NB_OK) return st;
                break;
            }
            if (nb_context_row_mode(s->ctx) && !s->txn_open && !s->dec->in_stream && !s->replay) {
                st = cut_all(s, err);   /* row mode: a committed transaction leaves at once */
                if (st != NB_OK) return st;
            }
            if (s->nready && (nb_mono_ms() >= until || nb_context_row_mode(s->ctx))) break;
            if (!s->txn_open && nb_mono_ms() >= until + flush_ms) break;
            continue;
        }
        if (len == -2) return pg_result_error(s->repl, NULL, "reading the replication stream", err);
        if (len == -1) {
            PGresult *r = PQgetResult(s->repl);
            st = pg_result_error(s->repl, r, "replication stream ended", err);
            PQclear(r);
            return st;
        }
        /* Nothing buffered: wait for the socket a little. */
        uint64_t now = nb_mono_ms();
        if (now - s->last_status_ms >= s->status_ms || (s->target_lsn && now - s->last_status_ms >= 200)) {
            st = send_status(s, s->target_lsn != 0, err);
            if (st != NB_OK) return st;
            if (now - s->last_lag_log_ms >= 30000) {
                s->last_lag_log_ms = now;
                log_lag(s, NB_LOG_INFO);
            }
        }
        st = heartbeat(s, err);
        if (st != NB_OK) return st;
        if (now >= until) {
            st = cut_all(s, err);   /* idle: hand over what we have (low latency for trickles) */
            if (st != NB_OK) return st;
            break;
        }
        int fd = PQsocket(s->repl);
        fd_set rf;
        FD_ZERO(&rf);
        FD_SET(fd, &rf);
        struct timeval tv = {0, (suseconds_t)((until - now) * 1000)};
        int sel = select(fd + 1, &rf, NULL, NULL, &tv);
        if (sel < 0 && errno != EINTR) return nb_error_set(err, NB_ERR_NET, "postgres: waiting for the replication socket failed");
        if (sel > 0 && PQconsumeInput(s->repl) == 0)
            return pg_result_error(s->repl, NULL, "reading the replication stream", err);
    }
    if (s->nready) {
        *out = s->ready[0];
        memmove(s->ready, s->ready + 1, (s->nready - 1) * sizeof *s->ready);
        s->nready--;
        return NB_OK;
    }
    return s->done ? NB_DONE : NB_AGAIN;
}

nb_status pg_cdc_ack(struct pg_source *s, const char *stream, const char *position, struct nb_error *err)
{
    struct pg_table *t = NULL;
    for (size_t i = 0; i < s->ntables; i++)
        if (!strcmp(s->tables[i].stream, stream)) t = &s->tables[i];
    if (!t) return NB_OK;
    char *seq_s = pg_pos_string(position, "seq");
    if (!seq_s) return NB_OK;
    uint64_t seq = strtoull(seq_s, NULL, 10);
    free(seq_s);
    if (s->repl_mu_init) pthread_mutex_lock(&s->repl_mu);
    size_t k = 0;
    while (k < t->n_out && t->out[k].seq <= seq) k++;
    if (k) {
        memmove(t->out, t->out + k, (t->n_out - k) * sizeof *t->out);
        t->n_out -= k;
    }
    if (seq > t->acked_seq) t->acked_seq = seq;
    nb_status st = NB_OK;
    if (s->streaming && flush_candidate(s) > s->flushed_lsn) st = send_status(s, false, err);
    if (s->repl_mu_init) pthread_mutex_unlock(&s->repl_mu);
    return st;
}

void pg_cdc_close(struct pg_source *s)
{
    if (s->ka_started) {
        atomic_store(&s->ka_stop, true);
        pthread_join(s->ka_thread, NULL);
        s->ka_started = false;
    }
    if (s->repl) {
        if (s->streaming && PQstatus(s->repl) == CONNECTION_OK) {
            send_status(s, false, NULL);
            log_lag(s, NB_LOG_INFO);
            PQputCopyEnd(s->repl, NULL);
            PQflush(s->repl);
        }
        PQfinish(s->repl);
        s->repl = NULL;
    }
    for (size_t i = 0; i < s->nready; i++) nb_batch_destroy(s->ready[i]);
    free(s->ready);
    s->ready = NULL;
    s->nready = 0;
    for (size_t i = 0; i < s->nrels; i++) relmap_cleanup(&s->rels[i]);
    free(s->rels);
    s->rels = NULL;
    if (s->dec) free(s->dec->rel_oids);
    free(s->dec);
    s->dec = NULL;
    if (s->rdec) free(s->rdec->rel_oids);
    free(s->rdec);
    s->rdec = NULL;
    for (size_t i = 0; i < s->nspills; i++) pg_spill_destroy(s->spills[i]);
    free(s->spills);
    s->spills = NULL;
    s->nspills = s->capspills = 0;
    s->cur_spill = NULL;
    pg_spill_destroy(s->replay);
    s->replay = NULL;
    if (s->repl_mu_init) {
        pthread_mutex_destroy(&s->repl_mu);
        s->repl_mu_init = false;
    }
}

bool pg_cdc_lag(struct pg_source *s, double *seconds)
{
    if (!s->streaming) return false;
    if (s->repl_mu_init) pthread_mutex_lock(&s->repl_mu);
    /* The oldest change the server has sent that is not durable yet: emitted batches not acked
     * (in order, so the first is the oldest) and the batches being filled. */
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < s->ntables; i++) {
        const struct pg_table *t = &s->tables[i];
        if (t->n_out && t->out[0].commit_time < oldest) oldest = t->out[0].commit_time;
        if (t->pending && t->pending->n_rows && t->pending_time < oldest) oldest = t->pending_time;
    }
    bool known = true;
    if (oldest == INT64_MAX) *seconds = 0;   /* everything received is durable: caught up */
    else if (s->server_time) *seconds = s->server_time > oldest ? (double)(s->server_time - oldest) / 1e6 : 0;
    else known = false;
    if (s->repl_mu_init) pthread_mutex_unlock(&s->repl_mu);
    return known;
}
