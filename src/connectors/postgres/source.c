/* The PostgreSQL source: config, discover, check, and the snapshot reader shared by full_refresh,
 * incremental and the first phase of cdc. Tables are read with COPY (SELECT ... ORDER BY key LIMIT
 * chunk) TO STDOUT in key order (keyset chunks), so every batch's last key is a resume point;
 * tables without a usable key are read in ctid page ranges. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/postgres/src_internal.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"

#define COMP "postgres"

static const struct nb_config_key cdc_keys[] = {
    {"slot", NB_KEY_STRING, "nebula", NULL, 0, "replication slot name (created when missing)", NULL},
    {"publication", NB_KEY_STRING, "nebula", NULL, 0, "publication to stream (CREATE PUBLICATION ... FOR TABLE ...)", NULL},
    {"until", NB_KEY_STRING, NULL, NULL, 0, "\"now\": stop once caught up with the WAL position at start; empty: run until stopped", NULL},
    {"heartbeat", NB_KEY_DURATION, "0", NULL, 0, "emit pg_logical_emit_message this often so an idle database still lets the slot advance (0 = off)", NULL},
    {"status_interval", NB_KEY_DURATION, "10s", NULL, 0, "send a standby status update at least this often", NULL},
    {"proto_version", NB_KEY_INT, "0", NULL, 0, "pgoutput protocol version: 0 = the highest understood that the server offers (2 with streaming of large transactions on PostgreSQL 14+, else 1)", NULL},
    {"spill_dir", NB_KEY_STRING, NULL, NULL, 0, "where a streamed transaction's changes wait for its commit (unlinked temp files; default TMPDIR or /tmp)", NULL},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

#define PG_CONN_KEYS                                                                                              \
    {"url", NB_KEY_STRING, NULL, NULL, NB_KEY_SECRET, "postgres://user:password@host:port/dbname?sslmode=... (or the keys below)", NULL}, \
    {"host", NB_KEY_STRING, NULL, NULL, 0, "server host", NULL},                                                    \
    {"port", NB_KEY_INT, NULL, NULL, 0, "server port (default 5432)", NULL},                                                     \
    {"user", NB_KEY_STRING, NULL, NULL, 0, "user name", NULL},                                                      \
    {"password", NB_KEY_STRING, NULL, NULL, NB_KEY_SECRET, "password", NULL},                                       \
    {"database", NB_KEY_STRING, NULL, NULL, 0, "database name", NULL},                                              \
    {"dbname", NB_KEY_STRING, NULL, NULL, 0, "alias of database", NULL},                                            \
    {"sslmode", NB_KEY_ENUM, NULL, "disable|allow|prefer|require|verify-ca|verify-full", 0, "TLS mode (libpq sslmode)", NULL}, \
    {"sslrootcert", NB_KEY_STRING, NULL, NULL, 0, "CA certificate file for verify-ca / verify-full", NULL}

static const struct nb_config_key source_spec[] = {
    PG_CONN_KEYS,
    {"tables", NB_KEY_LIST, NULL, NULL, 0, "include patterns schema.table (glob; no dot means schema public); default public.*, in cdc mode the publication's tables", NULL},
    {"exclude", NB_KEY_LIST, NULL, NULL, 0, "exclude patterns schema.table (glob)", NULL},
    {"mode", NB_KEY_ENUM, "full_refresh", "full_refresh|incremental|cdc", 0, "how to read", NULL},
    {"cursor_field", NB_KEY_STRING, NULL, NULL, 0, "incremental: the column that grows (ties broken by primary key)", NULL},
    {"chunk_rows", NB_KEY_INT, "100000", NULL, 0, "rows per snapshot chunk (one COPY per chunk)", NULL},
    {"snapshot_workers", NB_KEY_INT, NULL, NULL, 0, "connections reading snapshot chunks in parallel (default: performance.max_concurrency, at most 8; 1 = one connection)", NULL},
    {"cdc", NB_KEY_MAP, NULL, NULL, 0, "change data capture settings", cdc_keys},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

/* ---- positions (our own JSON, parsed with the core parser) ------------------------------------ */
/* Copy of n bytes that need not be NUL-terminated (strndup may read past them). */
static char *dup_bytes(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

char *pg_pos_string(const char *json, const char *key)
{
    if (!json) return NULL;
    struct nb_arena a;
    nb_arena_init(&a, 1024);
    struct nb_json *root;
    char *out = NULL;
    if (nb_json_parse(json, strlen(json), &a, &root, NULL) == NB_OK) {
        const struct nb_json *v = nb_json_get(root, key);
        if (v && v->kind == NB_JSON_STRING) out = strdup(v->u.string.ptr);
        else if (v && v->kind == NB_JSON_NUMBER) out = dup_bytes(v->u.number.text, v->u.number.len);
    }
    nb_arena_cleanup(&a);
    return out;
}

char **pg_pos_strings(const char *json, const char *key, size_t *n)
{
    *n = 0;
    if (!json) return NULL;
    struct nb_arena a;
    nb_arena_init(&a, 1024);
    struct nb_json *root;
    char **out = NULL;
    if (nb_json_parse(json, strlen(json), &a, &root, NULL) == NB_OK) {
        const struct nb_json *v = nb_json_get(root, key);
        if (v && v->kind == NB_JSON_ARRAY && v->u.array.count) {
            out = calloc(v->u.array.count, sizeof *out);
            for (size_t i = 0; out && i < v->u.array.count; i++) {
                const struct nb_json *it = v->u.array.items[i];
                out[i] = strdup(it->kind == NB_JSON_STRING ? it->u.string.ptr : "");
            }
            if (out) *n = v->u.array.count;
        }
    }
    nb_arena_cleanup(&a);
    return out;
}

static void free_key(struct pg_table *t)
{
    if (t->key)
        for (size_t i = 0; i < t->norder; i++) free(t->key[i]);
    free(t->key);
    t->key = NULL;
}

void pg_src_free_tables(struct pg_source *s)
{
    for (size_t i = 0; i < s->ntables; i++) {
        struct pg_table *t = &s->tables[i];
        for (size_t c = 0; c < t->ncols; c++) {
            free(t->colnames[c]);
            free(t->typnames[c]);
        }
        free_key(t);
        free(t->colnames);
        free(t->typnames);
        free(t->oids);
        free(t->typmods);
        free(t->kinds);
        free(t->notnull);
        free(t->pk);
        free(t->order);
        free(t->nsp);
        free(t->name);
        free(t->stream);
        free(t->out);
        pg_par_stop(t);
        nb_batch_destroy(t->pending);
        nb_schema_release(t->schema);
    }
    free(s->tables);
    s->tables = NULL;
    s->ntables = 0;
}

/* ---- catalog ---------------------------------------------------------------------------------- */
static bool matches(const char *const *pats, size_t n, const char *nsp, const char *rel, const char *qualified)
{
    for (size_t i = 0; i < n; i++) {
        if (strchr(pats[i], '.')) {
            if (nb_glob_match(pats[i], qualified, false)) return true;
        } else if (!strcmp(nsp, "public") && nb_glob_match(pats[i], rel, false)) {
            return true;
        }
    }
    return false;
}

static nb_status load_columns(struct pg_source *s, struct pg_table *t, struct nb_error *err)
{
    char oid_s[16];
    snprintf(oid_s, sizeof oid_s, "%u", t->relid);
    const char *params[1] = {oid_s};
    PGresult *r = NULL;
    nb_status st = pg_query(s->conn,
                            "SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull, "
                            "pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a "
                            "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                            1, params, &r, "reading table columns", err);
    if (st != NB_OK) return st;
    size_t n = (size_t)PQntuples(r);
    t->ncols = 0;
    t->colnames = calloc(n + 1, sizeof(char *));
    t->typnames = calloc(n + 1, sizeof(char *));
    t->oids = calloc(n + 1, sizeof(uint32_t));
    t->typmods = calloc(n + 1, sizeof(int32_t));
    t->kinds = calloc(n + 1, sizeof(enum pg_kind));
    t->notnull = calloc(n + 1, sizeof(bool));
    t->schema = nb_schema_create();
    if (!t->colnames || !t->typnames || !t->oids || !t->typmods || !t->kinds || !t->notnull || !t->schema) {
        PQclear(r);
        return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        t->colnames[i] = strdup(PQgetvalue(r, (int)i, 0));
        t->typnames[i] = strdup(PQgetvalue(r, (int)i, 4));
        t->oids[i] = (uint32_t)strtoul(PQgetvalue(r, (int)i, 1), NULL, 10);
        t->typmods[i] = (int32_t)strtol(PQgetvalue(r, (int)i, 2), NULL, 10);
        t->notnull[i] = PQgetvalue(r, (int)i, 3)[0] == 't';
        t->ncols = i + 1;
        struct pg_coltype ct;
        st = pg_typecache_resolve(s->types, s->conn, t->oids[i], t->typmods[i], &ct, err);
        if (st != NB_OK) {
            PQclear(r);
            return st;
        }
        t->kinds[i] = ct.kind;
        if (!t->colnames[i] || !t->typnames[i] || nb_schema_add(t->schema, t->colnames[i], ct.type, !t->notnull[i]) < 0) {
            PQclear(r);
            return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
        }
    }
    PQclear(r);
    if (s->mode == PG_MODE_CDC) {
        /* In cdc mode every column may be null: deletes carry only the key, unchanged TOAST is null. */
        for (size_t i = 0; i < t->schema->n_fields; i++) t->schema->fields[i].nullable = true;
        nb_schema_add(t->schema, PG_META_OP, nb_type_make(NB_TYPE_STRING), false);
        nb_schema_add(t->schema, PG_META_LSN, nb_type_make(NB_TYPE_STRING), true);
        struct nb_type ts = nb_type_make(NB_TYPE_TIMESTAMP);
        ts.utc = true;
        nb_schema_add(t->schema, PG_META_TS, ts, true);
        nb_schema_add(t->schema, PG_META_XID, nb_type_make(NB_TYPE_INT64), true);
        if (nb_schema_add(t->schema, PG_META_UNCHANGED, nb_type_make(NB_TYPE_JSON), true) < 0)
            return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
    }
    st = pg_query(s->conn,
                  "SELECT a.attname FROM pg_catalog.pg_index i, LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) "
                  "JOIN pg_catalog.pg_attribute a ON a.attnum = k.attnum WHERE i.indrelid = $1 AND i.indisprimary "
                  "AND a.attrelid = i.indrelid ORDER BY k.ord",
                  1, params, &r, "reading the primary key", err);
    if (st != NB_OK) return st;
    size_t nk = (size_t)PQntuples(r);
    t->pk = calloc(nk + 1, sizeof(int));
    t->order = calloc(nk + 2, sizeof(int));
    if (!t->pk || !t->order) {
        PQclear(r);
        return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
    }
    for (size_t i = 0; i < nk; i++) {
        const char *name = PQgetvalue(r, (int)i, 0);
        for (size_t c = 0; c < t->ncols; c++)
            if (!strcmp(t->colnames[c], name)) t->pk[t->npk++] = (int)c;
    }
    PQclear(r);
    return NB_OK;
}

static nb_status setup_order(struct pg_source *s, struct pg_table *t, struct nb_error *err)
{
    t->norder = 0;
    if (s->mode == PG_MODE_INCREMENTAL) {
        int ci = -1;
        for (size_t c = 0; c < t->ncols; c++)
            if (!strcmp(t->colnames[c], s->cursor_field)) ci = (int)c;
        if (ci < 0)
            return nb_error_set(err, NB_ERR_CONFIG, "postgres: table %s has no column \"%s\" (cursor_field); "
                                "choose a column that exists in every selected table", t->stream, s->cursor_field);
        t->order[t->norder++] = ci;
        for (size_t i = 0; i < t->npk; i++)
            if (t->pk[i] != ci) t->order[t->norder++] = t->pk[i];
        return NB_OK;
    }
    bool ok = t->npk > 0;
    for (size_t i = 0; i < t->npk; i++)
        if (t->kinds[t->pk[i]] == PG_K_BYTEA) ok = false;   /* raw bytes cannot travel in a JSON position */
    if (ok) {
        for (size_t i = 0; i < t->npk; i++) t->order[t->norder++] = t->pk[i];
    } else {
        t->use_ctid = true;
    }
    return NB_OK;
}

static void apply_resume(struct pg_source *s, struct pg_table *t)
{
    const struct nb_stream_state *st = nb_context_state(s->ctx, t->stream);
    if (!st || !st->source_position) return;
    const char *pos = st->source_position;
    char *phase = pg_pos_string(pos, "phase");
    if (!phase) return;
    if (!strcmp(phase, "done") && s->mode == PG_MODE_FULL) {
        t->ended = true;   /* finished by an earlier run: the engine skips it, so do not read it again */
    } else if (!strcmp(phase, "cdc") && s->mode == PG_MODE_CDC) {
        char *lsn = pg_pos_string(pos, "lsn");
        uint64_t v;
        if (lsn && pg_lsn_parse(lsn, &v)) {
            t->snapshot_done = true;
            t->skip_before = v;
        }
        free(lsn);
    } else if ((!strcmp(phase, "snapshot") && s->mode != PG_MODE_INCREMENTAL) ||
               (!strcmp(phase, "incremental") && s->mode == PG_MODE_INCREMENTAL)) {
        size_t n;
        char **key = pg_pos_strings(pos, "key", &n);
        if (key && n == t->norder && !t->use_ctid) {
            t->key = key;
        } else {
            for (size_t i = 0; key && i < n; i++) free(key[i]);
            free(key);
        }
        char *page = pg_pos_string(pos, "page");
        if (page && t->use_ctid) t->page = strtoull(page, NULL, 10);
        free(page);
        NB_INFO(COMP, "%s: resuming %s after the saved position %s", t->stream,
                s->mode == PG_MODE_INCREMENTAL ? "incremental read" : "snapshot", pos);
    }
    free(phase);
}

static bool in_result(const PGresult *r, const char *qualified)
{
    for (int i = 0; r && i < PQntuples(r); i++)
        if (!strcmp(PQgetvalue(r, i, 0), qualified)) return true;
    return false;
}

nb_status pg_src_load_tables(struct pg_source *s, struct nb_error *err)
{
    const char *inc[64], *exc[64];
    size_t ninc = pg_cfg_list(s->cfg, "tables", inc, 64);
    size_t nexc = pg_cfg_list(s->cfg, "exclude", exc, 64);
    PGresult *r = NULL, *pubr = NULL;
    nb_status st = NB_OK;
    if (ninc == 0 && s->mode == PG_MODE_CDC) {
        /* cdc without `tables`: exactly the publication's tables. */
        const char *p[1] = {s->publication};
        st = pg_query(s->conn, "SELECT schemaname || '.' || tablename FROM pg_catalog.pg_publication_tables WHERE pubname = $1",
                      1, p, &pubr, "reading the publication's tables", err);
        if (st != NB_OK) goto out;
        if (PQntuples(pubr) == 0) {
            st = nb_error_set(err, NB_ERR_NOT_FOUND, "postgres %s: publication \"%s\" has no tables; ALTER PUBLICATION %s ADD "
                              "TABLE <table>", PQdb(s->conn), s->publication, s->publication);
            goto out;
        }
    }
    if (ninc == 0) {
        inc[0] = "public.*";
        ninc = 1;
    }
    st = pg_query(s->conn,
                  "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c "
                  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                  "AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 2, 3",
                  0, NULL, &r, "listing tables", err);
    if (st != NB_OK) goto out;
    int n = PQntuples(r);
    s->tables = calloc((size_t)n + 1, sizeof *s->tables);
    if (!s->tables) {
        st = nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const char *nsp = PQgetvalue(r, i, 1), *rel = PQgetvalue(r, i, 2);
        char q[512];
        snprintf(q, sizeof q, "%s.%s", nsp, rel);
        if (pubr ? !in_result(pubr, q) : !matches(inc, ninc, nsp, rel, q)) continue;
        if (matches(exc, nexc, nsp, rel, q)) continue;
        struct pg_table *t = &s->tables[s->ntables++];
        t->relid = (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10);
        t->nsp = strdup(nsp);
        t->name = strdup(rel);
        t->stream = strdup(q);
        if (!t->nsp || !t->name || !t->stream) {
            st = nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
            goto out;
        }
    }
    if (s->ntables == 0) {
        char pats[512] = "";
        for (size_t i = 0; i < ninc; i++) {
            size_t l = strlen(pats);
            snprintf(pats + l, sizeof pats - l, "%s%s", i ? ", " : "", inc[i]);
        }
        st = nb_error_set(err, NB_ERR_NOT_FOUND, "postgres %s: no table matches tables: [%s]%s; check the patterns "
                          "(schema.table, globs) and that the user can see the tables",
                          PQdb(s->conn), pats, nexc ? " (after exclude)" : "");
        goto out;
    }
    for (size_t i = 0; i < s->ntables; i++) {
        st = load_columns(s, &s->tables[i], err);
        if (st == NB_OK) st = setup_order(s, &s->tables[i], err);
        if (st != NB_OK) goto out;
        apply_resume(s, &s->tables[i]);
    }
out:
    PQclear(r);
    PQclear(pubr);
    return st;
}

/* ---- snapshot reading ------------------------------------------------------------------------- */
struct nb_batch *pg_src_new_batch(struct pg_source *s, struct pg_table *t)
{
    struct nb_batch *b = nb_batch_create(t->schema, s->batch_size < 4096 ? s->batch_size : 4096);
    if (!b) return NULL;
    b->stream = nb_arena_strdup(&b->arena, t->stream);
    b->source_name = b->stream;
    return b;
}

void pg_src_append_cols(struct nb_buf *q, const struct pg_table *t)
{
    for (size_t c = 0; c < t->ncols; c++) {
        if (c) nb_buf_puts(q, ", ");
        pg_quote_ident(q, t->colnames[c]);
    }
}

static nb_status start_chunk(struct pg_source *s, struct pg_table *t, struct nb_error *err)
{
    struct nb_buf *q = &s->sql;
    nb_buf_reset(q);
    nb_buf_puts(q, "COPY (SELECT ");
    pg_src_append_cols(q, t);
    nb_buf_puts(q, " FROM ");
    pg_quote_qualified(q, t->nsp, t->name);
    if (t->use_ctid) {
        if (t->npages == 0) {
            /* Measured inside the snapshot transaction: every visible tuple lies below this page. */
            struct nb_buf sq;
            nb_buf_init(&sq);
            nb_buf_puts(&sq, "SELECT pg_catalog.pg_relation_size(");
            nb_buf_printf(&sq, "%u", t->relid);
            nb_buf_puts(&sq, ") / current_setting('block_size')::bigint, GREATEST(c.reltuples, 0)::bigint, GREATEST(c.relpages, 1) "
                             "FROM pg_catalog.pg_class c WHERE c.oid = ");
            nb_buf_printf(&sq, "%u", t->relid);
            PGresult *r;
            nb_status st = pg_query(s->conn, sq.data, 0, NULL, &r, "measuring a table", err);
            nb_buf_cleanup(&sq);
            if (st != NB_OK) return st;
            t->npages = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
            uint64_t tuples = strtoull(PQgetvalue(r, 0, 1), NULL, 10), relpages = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
            PQclear(r);
            uint64_t per_page = tuples / (relpages ? relpages : 1);
            if (per_page == 0) per_page = 50;
            s->chunk_end_page = (uint64_t)s->chunk_rows / per_page;
            if (s->chunk_end_page == 0) s->chunk_end_page = 1;
            if (t->npages == 0) t->npages = 1;   /* one (empty) chunk still runs */
        }
        uint64_t pages = s->chunk_end_page;
        nb_buf_printf(q, " WHERE ctid >= '(%" PRIu64 ",0)'::tid AND ctid < '(%" PRIu64 ",0)'::tid", t->page, t->page + pages);
    } else {
        bool where = false;
        if (s->mode == PG_MODE_INCREMENTAL) {
            nb_buf_puts(q, " WHERE ");
            pg_quote_ident(q, t->colnames[t->order[0]]);
            nb_buf_puts(q, " IS NOT NULL");
            where = true;
        }
        if (t->key) {
            nb_buf_puts(q, where ? " AND (" : " WHERE (");
            for (size_t i = 0; i < t->norder; i++) {
                if (i) nb_buf_puts(q, ", ");
                pg_quote_ident(q, t->colnames[t->order[i]]);
            }
            nb_buf_puts(q, ") > (");
            for (size_t i = 0; i < t->norder; i++) {
                if (i) nb_buf_puts(q, ", ");
                pg_quote_literal(q, t->key[i]);
                /* Typed literal: comparisons happen in the column's own type (exact timestamps). */
                nb_buf_puts(q, "::");
                nb_buf_puts(q, t->typnames[t->order[i]]);
            }
            nb_buf_puts(q, ")");
        }
        if (t->norder) {
            nb_buf_puts(q, " ORDER BY ");
            for (size_t i = 0; i < t->norder; i++) {
                if (i) nb_buf_puts(q, ", ");
                pg_quote_ident(q, t->colnames[t->order[i]]);
            }
        }
        nb_buf_printf(q, " LIMIT %" PRId64, s->chunk_rows);
    }
    nb_buf_puts(q, ") TO STDOUT");
    nb_status st = nb_buf_status(q, err);
    if (st != NB_OK) return st;
    PGresult *r = PQexec(s->conn, q->data);
    if (!r || PQresultStatus(r) != PGRES_COPY_OUT) {
        char what[600];
        snprintf(what, sizeof what, "reading table %s", t->stream);
        st = pg_result_error(s->conn, r, what, err);
        PQclear(r);
        return st;
    }
    PQclear(r);
    s->in_copy = true;
    s->chunk_count = 0;
    return NB_OK;
}

void pg_src_key_from_batch(struct pg_table *t, const struct nb_batch *b)
{
    if (b->n_rows == 0 || t->use_ctid) return;
    char **key = calloc(t->norder, sizeof *key);
    if (!key) return;
    for (size_t i = 0; i < t->norder; i++) {
        const struct nb_column *c = &b->cols[t->order[i]];
        size_t len;
        const char *v = nb_column_text(c, b->n_rows - 1, &len);
        key[i] = dup_bytes(v, len);
    }
    free_key(t);
    t->key = key;
}

void pg_src_write_position(struct pg_source *s, struct pg_table *t, struct nb_batch *b, bool table_done)
{
    struct nb_buf p;
    nb_buf_init(&p);
    if (s->mode == PG_MODE_CDC && table_done) {
        char lsn[32];
        pg_lsn_format(s->consistent_lsn, lsn, sizeof lsn);
        nb_buf_printf(&p, "{\"phase\":\"cdc\",\"lsn\":\"%s\",\"seq\":%" PRIu64 "}", lsn, t->next_seq);
    } else if (s->mode == PG_MODE_FULL && table_done) {
        nb_buf_puts(&p, "{\"phase\":\"done\"}");
    } else {
        nb_buf_puts(&p, s->mode == PG_MODE_INCREMENTAL ? "{\"phase\":\"incremental\"" : "{\"phase\":\"snapshot\"");
        if (t->use_ctid) {
            nb_buf_printf(&p, ",\"page\":%" PRIu64, t->page);
        } else if (t->key) {
            if (s->mode == PG_MODE_INCREMENTAL) {
                nb_buf_puts(&p, ",\"cursor\":");
                nb_buf_json_string(&p, t->key[0], strlen(t->key[0]));
            }
            nb_buf_puts(&p, ",\"key\":[");
            for (size_t i = 0; i < t->norder; i++) {
                if (i) nb_buf_putc(&p, ',');
                nb_buf_json_string(&p, t->key[i], strlen(t->key[i]));
            }
            nb_buf_putc(&p, ']');
        }
        if (s->mode == PG_MODE_CDC) nb_buf_printf(&p, ",\"seq\":%" PRIu64, t->next_seq);
        nb_buf_putc(&p, '}');
    }
    if (p.data) b->position = nb_arena_strndup(&b->arena, p.data, p.len);
    nb_buf_cleanup(&p);
}

/* Fill one batch of the current table. Returns NB_OK with *out (maybe 0 rows at a table's end). */
nb_status pg_src_read_snapshot(struct pg_source *s, struct nb_batch **out, bool *table_finished, struct nb_error *err)
{
    *out = NULL;
    *table_finished = false;
    struct pg_table *t = &s->tables[s->cur];
    if (!s->in_copy && !t->par_tried) {
        t->par_tried = true;
        nb_status pst = pg_par_start(s, t, err);   /* parallel chunks when the table is large enough */
        if (pst != NB_OK) return pst;
    }
    if (t->par) return pg_par_read(s, t, out, table_finished, err);
    struct nb_batch *b = pg_src_new_batch(s, t);
    if (!b) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory creating a batch");
    nb_status st = NB_OK;
    char lsn_text[32];
    pg_lsn_format(s->consistent_lsn, lsn_text, sizeof lsn_text);
    uint64_t deadline = nb_mono_ms() + (s->ctx->options && s->ctx->options->flush_interval_ms ? s->ctx->options->flush_interval_ms : 10000);
    while (b->n_rows < s->batch_size) {
        if (!s->in_copy) {
            st = start_chunk(s, t, err);
            if (st != NB_OK) goto fail;
        }
        char *row = NULL;
        int len = PQgetCopyData(s->conn, &row, 0);
        if (len >= 0) {
            s->bytes_read += (uint64_t)len;
            st = pg_copy_text_row(row, (size_t)len, b->cols, t->kinds, t->ncols, &s->scratch, err);
            PQfreemem(row);
            if (st != NB_OK) {
                nb_error_prefix(err, "postgres: table %s, row %" PRId64 " of chunk: ", t->stream, s->chunk_count + 1);
                goto fail;
            }
            if (s->mode == PG_MODE_CDC) pg_append_snapshot_metadata(&b->cols[t->ncols], lsn_text);
            b->n_rows++;
            s->chunk_count++;
            s->rows_read++;
            if ((b->n_rows & 1023) == 0 && nb_mono_ms() > deadline) break;
            continue;
        }
        if (len == -2) {
            st = pg_result_error(s->conn, NULL, "reading COPY data", err);
            goto fail;
        }
        /* The chunk's COPY is complete. */
        PGresult *r;
        bool failed = false;
        while ((r = PQgetResult(s->conn))) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && !failed) {
                char what[600];
                snprintf(what, sizeof what, "reading table %s", t->stream);
                st = pg_result_error(s->conn, r, what, err);
                failed = true;
            }
            PQclear(r);
        }
        s->in_copy = false;
        if (failed) goto fail;
        if (t->use_ctid) {
            t->page += s->chunk_end_page;
            if (t->page >= t->npages) {
                *table_finished = true;
                break;
            }
        } else {
            pg_src_key_from_batch(t, b);
            if (s->chunk_count < s->chunk_rows) {
                *table_finished = true;
                break;
            }
        }
        if (b->n_rows >= s->batch_size) break;
    }
    if (!*table_finished) pg_src_key_from_batch(t, b);
    st = nb_batch_check(b, err);
    if (st != NB_OK) goto fail;
    /* Mid-chunk ctid batches are positioned at the chunk start (a resume re-reads the chunk). */
    pg_src_write_position(s, t, b, *table_finished);
    *out = b;
    return NB_OK;
fail:
    nb_batch_destroy(b);
    return st;
}

/* ---- the ops ---------------------------------------------------------------------------------- */
static void src_close(void *self);

static nb_status src_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    struct pg_source *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
    s->ctx = ctx;
    s->cfg = ctx->config;
    nb_buf_init(&s->scratch);
    nb_buf_init(&s->sql);
    nb_status st;
    const char *mode = pg_cfg_str(s->cfg, "mode", "full_refresh");
    if (!strcmp(mode, "incremental")) s->mode = PG_MODE_INCREMENTAL;
    else if (!strcmp(mode, "cdc")) s->mode = PG_MODE_CDC;
    else if (!strcmp(mode, "full_refresh")) s->mode = PG_MODE_FULL;
    else {
        st = nb_error_set(err, NB_ERR_CONFIG, "postgres: mode \"%s\" is not one of full_refresh, incremental, cdc", mode);
        goto fail;
    }
    s->cursor_field = pg_cfg_str(s->cfg, "cursor_field", NULL);
    if (s->mode == PG_MODE_INCREMENTAL && (!s->cursor_field || !*s->cursor_field)) {
        st = nb_error_set(err, NB_ERR_CONFIG, "postgres: mode incremental needs cursor_field (the column that grows, "
                          "e.g. updated_at)");
        goto fail;
    }
    s->batch_size = ctx->options && ctx->options->batch_size ? ctx->options->batch_size : 10000;
    s->chunk_rows = pg_cfg_int(s->cfg, "chunk_rows", 100000);
    s->workers = (unsigned)pg_cfg_int(s->cfg, "snapshot_workers",
                                      ctx->options && ctx->options->max_concurrency ? ctx->options->max_concurrency : 2);
    if (s->workers < 1) s->workers = 1;
    if (s->workers > 8) s->workers = 8;
    if (s->chunk_rows < 1) s->chunk_rows = 100000;
    const struct nb_cfg *cdc = pg_cfg_child(s->cfg, "cdc");
    s->slot = pg_cfg_str(cdc, "slot", "nebula");
    s->publication = pg_cfg_str(cdc, "publication", "nebula");
    const char *until = pg_cfg_str(cdc, "until", NULL);
    s->until_now = until && !strcmp(until, "now");
    s->heartbeat_ms = pg_cfg_duration_ms(cdc, "heartbeat", 0);
    s->status_ms = pg_cfg_duration_ms(cdc, "status_interval", 10000);
    if (!s->status_ms) s->status_ms = 10000;
    s->proto = (int)pg_cfg_int(cdc, "proto_version", 0);
    if (s->proto < 0 || s->proto > 2) {
        st = nb_error_set(err, NB_ERR_CONFIG, "postgres: cdc.proto_version %d is not understood (0 = automatic, 1 or 2)", s->proto);
        goto fail;
    }
    s->spill_dir = pg_cfg_str(cdc, "spill_dir", NULL);
    pg_conninfo_from_cfg(&s->ci, s->cfg, ctx->options);
    s->types = pg_typecache_create();
    if (!s->types) {
        st = nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
        goto fail;
    }
    st = pg_connect(&s->ci, false, &s->conn, err);
    if (st != NB_OK) goto fail;
    if (s->mode == PG_MODE_CDC) {
        st = pg_cdc_open(s, err);   /* checks wal_level/publication, creates the slot, exports the snapshot */
        if (st != NB_OK) goto fail;
    } else {
        st = pg_src_load_tables(s, err);
        if (st != NB_OK) goto fail;
    }
    *self = s;
    return NB_OK;
fail:
    src_close(s);
    return st;
}

static nb_status src_check(void *self, struct nb_error *err)
{
    struct pg_source *s = self;
    PGresult *r;
    nb_status st = pg_query(s->conn,
                            "SELECT current_user, (SELECT rolreplication OR rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), "
                            "current_setting('wal_level'), version()",
                            0, NULL, &r, "checking the connection", err);
    if (st != NB_OK) return st;
    NB_INFO(COMP, "connected to %s:%s/%s as %s (%s); wal_level=%s, replication privilege: %s", PQhost(s->conn), PQport(s->conn),
            PQdb(s->conn), PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 2),
            PQgetvalue(r, 0, 1)[0] == 't' ? "yes" : "no");
    PQclear(r);
    for (size_t i = 0; i < s->ntables; i++) {
        char oid_s[16];
        snprintf(oid_s, sizeof oid_s, "%u", s->tables[i].relid);
        const char *params[1] = {oid_s};
        st = pg_query(s->conn, "SELECT has_table_privilege($1::oid, 'SELECT')", 1, params, &r, "checking privileges", err);
        if (st != NB_OK) return st;
        bool ok = PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (!ok)
            return nb_error_set(err, NB_ERR_AUTH, "postgres %s: user %s may not SELECT from %s; GRANT SELECT ON %s TO %s",
                                PQdb(s->conn), PQuser(s->conn), s->tables[i].stream, s->tables[i].stream, PQuser(s->conn));
    }
    if (s->mode == PG_MODE_CDC) {
        struct nb_buf rep;
        nb_buf_init(&rep);
        st = pg_check_cdc(s, &rep, err);
        if (st == NB_OK && rep.data) NB_INFO(COMP, "%s", rep.data);
        nb_buf_cleanup(&rep);
        if (st != NB_OK) return st;
    }
    NB_INFO(COMP, "%zu table(s) selected, mode %s", s->ntables,
            s->mode == PG_MODE_CDC ? "cdc" : s->mode == PG_MODE_INCREMENTAL ? "incremental" : "full_refresh");
    return NB_OK;
}

static nb_status src_discover(void *self, struct nb_buf *json, struct nb_error *err)
{
    struct pg_source *s = self;
    nb_buf_puts(json, "{\"streams\":[");
    for (size_t i = 0; i < s->ntables; i++) {
        const struct pg_table *t = &s->tables[i];
        if (i) nb_buf_putc(json, ',');
        nb_buf_puts(json, "{\"name\":");
        nb_buf_json_string(json, t->stream, strlen(t->stream));
        nb_buf_puts(json, ",\"namespace\":");
        nb_buf_json_string(json, t->nsp, strlen(t->nsp));
        nb_buf_puts(json, ",\"table\":");
        nb_buf_json_string(json, t->name, strlen(t->name));
        nb_buf_puts(json, ",\"schema\":");
        nb_schema_to_json(t->schema, json);
        nb_buf_puts(json, ",\"source_types\":[");
        for (size_t c = 0; c < t->ncols; c++) {
            if (c) nb_buf_putc(json, ',');
            nb_buf_puts(json, "{\"name\":");
            nb_buf_json_string(json, t->colnames[c], strlen(t->colnames[c]));
            nb_buf_puts(json, ",\"type\":");
            nb_buf_json_string(json, t->typnames[c], strlen(t->typnames[c]));
            nb_buf_puts(json, "}");
        }
        nb_buf_puts(json, "],\"primary_key\":[");
        for (size_t k = 0; k < t->npk; k++) {
            if (k) nb_buf_putc(json, ',');
            const char *n = t->colnames[t->pk[k]];
            nb_buf_json_string(json, n, strlen(n));
        }
        nb_buf_puts(json, "],\"modes\":[\"full_refresh\",\"incremental\",\"cdc\"]}");
    }
    nb_buf_puts(json, "]}");
    return nb_buf_status(json, err);
}

static nb_status begin_snapshot_txn(struct pg_source *s, struct nb_error *err)
{
    nb_status st = pg_exec(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "starting the snapshot transaction", err);
    if (st != NB_OK) return st;
    s->in_txn = true;
    return NB_OK;
}

static nb_status src_read(void *self, struct nb_batch **out, struct nb_error *err)
{
    struct pg_source *s = self;
    *out = NULL;
    if (nb_context_cancelled(s->ctx)) return nb_error_set(err, NB_ERR_CANCELLED, "postgres: cancelled");
    if (s->mode == PG_MODE_CDC) return pg_cdc_read(s, out, err);
    while (s->cur < s->ntables && s->tables[s->cur].ended) s->cur++;
    if (s->cur >= s->ntables) {
        if (s->in_txn) {
            pg_exec(s->conn, "COMMIT", "ending the snapshot transaction", NULL);
            s->in_txn = false;
        }
        return NB_DONE;
    }
    if (!s->in_txn) {
        nb_status st = begin_snapshot_txn(s, err);
        if (st != NB_OK) return st;
    }
    bool finished;
    nb_status st = pg_src_read_snapshot(s, out, &finished, err);
    if (st != NB_OK) return st;
    if (finished) {
        /* An incremental stream continues in the next run: only a full refresh ends (the engine
         * marks an ended stream done and skips it in later runs). */
        (*out)->end_of_stream = s->mode == PG_MODE_FULL;
        s->tables[s->cur].ended = true;
        NB_INFO(COMP, "%s: read complete", s->tables[s->cur].stream);
    }
    return NB_OK;
}

static nb_status src_ack(void *self, const char *stream, const char *position, struct nb_error *err)
{
    struct pg_source *s = self;
    if (s->mode != PG_MODE_CDC) return NB_OK;
    return pg_cdc_ack(s, stream, position, err);
}

static bool src_progress(void *self, uint64_t *done, uint64_t *total)
{
    struct pg_source *s = self;
    *done = s->bytes_read;   /* bytes, as the progress line shows them */
    *total = 0;
    return true;
}

static void src_close(void *self)
{
    struct pg_source *s = self;
    if (!s) return;
    if (s->mode == PG_MODE_CDC) pg_cdc_close(s);
    if (s->conn) PQfinish(s->conn);
    pg_src_free_tables(s);
    pg_typecache_destroy(s->types);
    nb_buf_cleanup(&s->scratch);
    nb_buf_cleanup(&s->sql);
    free(s);
}

static bool src_lag(void *self, double *seconds)
{
    struct pg_source *s = self;
    return s->mode == PG_MODE_CDC && pg_cdc_lag(s, seconds);
}

const struct nb_source_ops pg_source_ops = {
    .spec = source_spec,
    .open = src_open,
    .check = src_check,
    .discover = src_discover,
    .read = src_read,
    .ack = src_ack,
    .progress = src_progress,
    .lag = src_lag,
    .close = src_close,
};

/* The destination spec shares the connection keys. */
const struct nb_config_key pg_dest_conn_keys[] = {PG_CONN_KEYS, {NULL, 0, NULL, NULL, 0, NULL, NULL}};
