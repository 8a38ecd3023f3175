/* Tables and columns from information_schema (include/exclude patterns), primary keys, our
 * schema for each stream, and `discover`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/mysql/source.h"
#include "core/str.h"

static bool system_schema(const char *db)
{
    return !strcmp(db, "mysql") || !strcmp(db, "information_schema") || !strcmp(db, "performance_schema") ||
           !strcmp(db, "sys");
}

static bool match_one(const char *pat, const char *def_db, const char *db, const char *table)
{
    const char *dot = strchr(pat, '.');
    char full[600];
    if (dot) return nb_glob_match(pat, (snprintf(full, sizeof full, "%s.%s", db, table), full), false);
    if (!def_db || strcmp(def_db, db) != 0) return false;
    return nb_glob_match(pat, table, false);
}

bool my_table_selected(const struct my_settings *s, const char *db, const char *table)
{
    if (system_schema(db)) return false;
    bool in = false;
    if (s->n_tables == 0) in = s->database && !strcmp(s->database, db);
    for (size_t i = 0; i < s->n_tables && !in; i++) in = match_one(s->tables[i], s->database, db, table);
    for (size_t i = 0; i < s->n_exclude && in; i++)
        if (match_one(s->exclude[i], s->database, db, table)) in = false;
    return in;
}

void my_tables_free(struct my_src *src)
{
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        nb_schema_release(t->schema);
        nb_batch_destroy(t->pending);
        my_hist_free(&t->hist);
        free(t->pk);
        nb_arena_cleanup(&t->arena);
    }
    free(src->tables);
    src->tables = NULL;
    src->n_tables = 0;
}

nb_status my_build_schema(struct my_src *src, struct my_tinfo *t, struct nb_error *err)
{
    struct nb_schema *s = nb_schema_create();
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->n_cols; i++)
        if (nb_schema_add(s, t->cols[i].name, t->cols[i].nb, t->cols[i].nullable) < 0) goto oom;
    if (src->set.mode == MY_CDC) {
        struct nb_type ts = nb_type_make(NB_TYPE_TIMESTAMP);
        ts.utc = true;
        if (nb_schema_add(s, "_nb_op", nb_type_make(NB_TYPE_STRING), false) < 0 ||
            nb_schema_add(s, "_nb_position", nb_type_make(NB_TYPE_STRING), true) < 0 ||
            nb_schema_add(s, "_nb_commit_ts", ts, true) < 0)
            goto oom;
    }
    if (t->schema && nb_schema_equal(t->schema, s)) {
        nb_schema_release(s);
        return NB_OK;
    }
    nb_schema_release(t->schema);
    t->schema = s;
    return NB_OK;
oom:
    nb_schema_release(s);
    return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
}

static struct my_tinfo *table_add(struct my_src *src, const char *db, const char *name, size_t *cap)
{
    if (src->n_tables == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct my_tinfo *n = realloc(src->tables, nc * sizeof *n);
        if (!n) return NULL;
        src->tables = n;
        *cap = nc;
    }
    struct my_tinfo *t = &src->tables[src->n_tables++];
    memset(t, 0, sizeof *t);
    nb_arena_init(&t->arena, 4096);
    t->db = nb_arena_strdup(&t->arena, db);
    t->name = nb_arena_strdup(&t->arena, name);
    t->stream = nb_arena_printf(&t->arena, "%s.%s", db, name);
    t->cursor = -1;
    return t;
}

nb_status my_catalog_load(struct my_src *src, struct nb_error *err)
{
    struct nb_buf q;
    nb_buf_init(&q);
    nb_buf_puts(&q, "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE, "
                    "c.CHARACTER_SET_NAME FROM information_schema.COLUMNS c JOIN information_schema.TABLES t "
                    "ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
                    "WHERE t.TABLE_TYPE = 'BASE TABLE' AND c.TABLE_SCHEMA NOT IN "
                    "('mysql','information_schema','performance_schema','sys')");
    if (src->set.n_tables == 0 && src->set.database) {
        nb_buf_puts(&q, " AND c.TABLE_SCHEMA = ");
        my_quote_string(src->db, &q, src->set.database, strlen(src->set.database));
    }
    nb_buf_puts(&q, " ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION");
    nb_status st = nb_buf_status(&q, err);
    if (st != NB_OK) goto done;
    if (mysql_real_query(src->db, q.data, q.len) != 0) { st = my_db_error(src->db, NB_ERR_IO, err, "reading information_schema.COLUMNS"); goto done; }
    MYSQL_RES *r = mysql_store_result(src->db);
    if (!r) { st = my_db_error(src->db, NB_ERR_IO, err, "reading information_schema.COLUMNS"); goto done; }
    my_tables_free(src);
    size_t cap = 0, colcap = 0;
    struct my_tinfo *cur = NULL;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        const char *db = row[0], *tn = row[1];
        if (!db || !tn || !row[2] || !row[3] || !row[4]) continue;
        if (!my_table_selected(&src->set, db, tn)) continue;
        if (!cur || strcmp(cur->db, db) != 0 || strcmp(cur->name, tn) != 0) {
            cur = table_add(src, db, tn, &cap);
            if (!cur) { mysql_free_result(r); st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto done; }
            colcap = 0;
        }
        if (cur->n_cols == colcap) {
            size_t nc = colcap ? colcap * 2 : 16;
            struct my_column *n = nb_arena_alloc(&cur->arena, nc * sizeof *n);
            if (!n) { mysql_free_result(r); st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto done; }
            if (cur->n_cols) memcpy(n, cur->cols, cur->n_cols * sizeof *n);
            cur->cols = n;
            colcap = nc;
        }
        struct my_column *c = &cur->cols[cur->n_cols++];
        memset(c, 0, sizeof *c);
        c->name = nb_arena_strdup(&cur->arena, row[2]);
        c->nullable = row[5] && !strcmp(row[5], "YES");
        my_column_from_catalog(c, row[3], row[4], row[6], &cur->arena);
    }
    mysql_free_result(r);
    /* primary keys, in key order */
    if (mysql_query(src->db, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                             "WHERE INDEX_NAME = 'PRIMARY' ORDER BY TABLE_SCHEMA, TABLE_NAME, SEQ_IN_INDEX") != 0) {
        st = my_db_error(src->db, NB_ERR_IO, err, "reading primary keys from information_schema.STATISTICS");
        goto done;
    }
    r = mysql_store_result(src->db);
    while (r && (row = mysql_fetch_row(r))) {
        for (size_t i = 0; i < src->n_tables; i++) {
            struct my_tinfo *t = &src->tables[i];
            if (!row[0] || !row[1] || !row[2] || strcmp(t->db, row[0]) || strcmp(t->name, row[1])) continue;
            for (size_t k = 0; k < t->n_cols; k++) {
                if (strcmp(t->cols[k].name, row[2]) != 0) continue;
                size_t *np = realloc(t->pk, (t->n_pk + 1) * sizeof *np);
                if (!np) break;
                t->pk = np;
                t->pk[t->n_pk++] = k;
                t->cols[k].is_pk = true;
            }
        }
    }
    if (r) mysql_free_result(r);
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        if (src->set.cursor_field) {
            for (size_t k = 0; k < t->n_cols; k++)
                if (!strcmp(t->cols[k].name, src->set.cursor_field)) t->cursor = (int)k;
            if (src->set.mode == MY_INCREMENTAL && t->cursor < 0) {
                st = nb_error_set(err, NB_ERR_CONFIG, "mysql: table %s has no column '%s' (cursor_field)", t->stream,
                                  src->set.cursor_field);
                goto done;
            }
        }
        if ((st = my_build_schema(src, t, err)) != NB_OK) goto done;
    }
    if (src->n_tables == 0 && (src->set.n_tables || src->set.database)) {
        st = nb_error_set(err, NB_ERR_NOT_FOUND,
                          "mysql: no table matches %s%s%s (check `tables`/`database` and that the user may SELECT them)",
                          src->set.n_tables ? "the `tables` patterns" : "database '",
                          src->set.n_tables ? "" : src->set.database, src->set.n_tables ? "" : "'");
        goto done;
    }
    st = NB_OK;
done:
    nb_buf_cleanup(&q);
    return st;
}

nb_status my_discover(void *self, struct nb_buf *json, struct nb_error *err)
{
    struct my_src *src = self;
    nb_buf_puts(json, "{\"streams\":[");
    for (size_t i = 0; i < src->n_tables; i++) {
        struct my_tinfo *t = &src->tables[i];
        if (i) nb_buf_putc(json, ',');
        nb_buf_puts(json, "{\"name\":");
        nb_buf_json_string(json, t->stream, strlen(t->stream));
        nb_buf_puts(json, ",\"namespace\":");   /* the database; PostgreSQL says the schema here */
        nb_buf_json_string(json, t->db, strlen(t->db));
        nb_buf_puts(json, ",\"table\":");
        nb_buf_json_string(json, t->name, strlen(t->name));
        nb_buf_puts(json, ",\"schema\":");
        nb_schema_to_json(t->schema, json);
        nb_buf_puts(json, ",\"primary_key\":[");
        for (size_t k = 0; k < t->n_pk; k++) {
            if (k) nb_buf_putc(json, ',');
            nb_buf_json_string(json, t->cols[t->pk[k]].name, strlen(t->cols[t->pk[k]].name));
        }
        nb_buf_puts(json, "],\"modes\":[\"full_refresh\",\"incremental\",\"cdc\"]}");
    }
    nb_buf_puts(json, "]}");
    return nb_buf_status(json, err);
}
