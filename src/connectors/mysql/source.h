/* The MySQL source's state shared by conn.c (settings, connecting, check), catalog.c (tables and
 * columns), snapshot.c (full refresh, incremental, CDC snapshot) and stream.c (the binlog). */
#ifndef NB_CONNECTORS_MYSQL_SOURCE_H
#define NB_CONNECTORS_MYSQL_SOURCE_H

#include <mysql.h>
#include <mariadb_rpl.h>

#include "connectors/connector.h"
#include "connectors/mysql/history.h"
#include "connectors/mysql/mysql_int.h"

enum my_mode { MY_FULL_REFRESH = 0, MY_INCREMENTAL, MY_CDC };
enum my_snapshot_policy { MY_SNAP_INITIAL = 0, MY_SNAP_NEVER, MY_SNAP_WHEN_NEEDED };

#define MY_MAX_HOSTS 8

struct my_settings {
    char *hosts[MY_MAX_HOSTS];
    unsigned ports[MY_MAX_HOSTS];
    size_t n_hosts;
    char *user, *password, *database;
    char *ssl_mode, *ssl_ca, *ssl_cert, *ssl_key;
    const char **tables, **exclude;     /* patterns db.table (glob) */
    size_t n_tables, n_exclude;
    enum my_mode mode;
    enum my_snapshot_policy snapshot;
    char *cursor_field;
    size_t chunk_size;
    uint32_t server_id;
    bool until_now;
    uint64_t heartbeat_ms;
    uint64_t connect_timeout_ms, read_timeout_ms;
};

/* A binlog position: the GTID state (MariaDB "d-s-n,..." or MySQL set) and/or file:pos. */
struct my_pos {
    char gtid[512];
    char file[256];
    uint64_t pos;
};

/* A primary-key range a snapshot still has to copy: keys > after and <= upto (NULL: unbounded).
 * `after` moves forward as batches are handed to the engine, so a saved position lists exactly
 * what is left. An unclaimed range without upper bound is the rest of the table: parallel readers
 * cut chunks of chunk_size rows off its front. */
struct my_range {
    char **after, **upto;               /* n_pk key values as text (tinfo arena), or NULL */
    bool claimed;                       /* a reader has it */
};

struct my_snap_worker;

struct my_tinfo {
    char *db, *name, *stream;           /* stream = "db.table" */
    struct my_column *cols;
    size_t n_cols;
    size_t *pk;                         /* indexes of primary key columns */
    size_t n_pk;
    int cursor;                         /* incremental: index of cursor column, -1 none */
    struct nb_schema *schema;           /* current output schema */
    struct nb_arena arena;
    /* progress */
    bool snapshot_needed, snapshot_done;
    struct my_range **ranges;           /* what the snapshot has left to copy (arena) */
    size_t n_ranges, cap_ranges;
    bool splitting;                     /* a reader is finding the end of the next chunk */
    struct my_snap_worker *owner;       /* per-table snapshots: the connection that reads it */
    char *cursor_value;                 /* incremental: rows with cursor > this */
    struct my_pos saved;                /* CDC: position saved for this stream (skip up to it) */
    bool has_saved;
    struct my_hist hist;                /* CDC: column names as of the stream position */
    /* CDC: batch being filled */
    struct nb_batch *pending;
    size_t committed_rows;
};

struct my_snap_pool;

struct my_src {
    const struct nb_context *ctx;
    struct my_settings set;
    MYSQL *db;
    size_t host_index;                  /* the host db is connected to */
    bool mariadb;
    char server_version[64];
    struct my_tinfo *tables;
    size_t n_tables;
    size_t batch_size;
    /* snapshot */
    bool snapshot_begun;
    struct my_snap_pool *pool;          /* the snapshot's readers (one runs inline) */
    uint64_t rows_done;
    /* stream */
    bool streaming;
    struct my_pos start_pos, cur_pos;   /* cur_pos: after the last committed transaction */
    struct my_pos until;
    bool have_until;
    void *stream;                       /* stream.c's state */
    bool done;
    bool position_lost;                 /* the server no longer has the position we need */
    bool force_snapshot;                /* ignore saved positions: copy everything again */
};

/* conn.c */
nb_status my_settings_load(struct my_settings *s, const struct nb_cfg *cfg, struct nb_error *err);
void my_settings_cleanup(struct my_settings *s);
/* Connect to the first host that answers, starting at src->host_index. */
nb_status my_connect(struct my_src *src, MYSQL **out, struct nb_error *err);
/* libmariadb is loaded on first use (mariadb_lib.c): why it could not be, or NULL. */
const char *nb_mariadb_load_error(void);
nb_status my_query(MYSQL *db, const char *sql, struct nb_error *err);
/* One row, one column as text into out (NULL -> empty, *found false). */
nb_status my_query_value(MYSQL *db, const char *sql, char *out, size_t cap, bool *found, struct nb_error *err);
nb_status my_check(void *self, struct nb_error *err);
/* Error text for a failed client call, with the server's code and SQL state. */
nb_status my_db_error(MYSQL *db, nb_status code, struct nb_error *err, const char *what);
void my_quote_ident(struct nb_buf *b, const char *name);
void my_quote_string(MYSQL *db, struct nb_buf *b, const char *s, size_t n);

/* catalog.c */
nb_status my_catalog_load(struct my_src *src, struct nb_error *err);
nb_status my_discover(void *self, struct nb_buf *json, struct nb_error *err);
/* Build t->schema from t->cols (+ CDC metadata columns). */
nb_status my_build_schema(struct my_src *src, struct my_tinfo *t, struct nb_error *err);
bool my_table_selected(const struct my_settings *s, const char *db, const char *table);
void my_tables_free(struct my_src *src);

/* snapshot.c */
nb_status my_snapshot_begin(struct my_src *src, struct nb_error *err);
/* Next batch of the snapshot; NB_DONE when every table is copied. */
nb_status my_snapshot_read(struct my_src *src, struct nb_batch **out, struct nb_error *err);
void my_snapshot_stop(struct my_src *src);
/* Text of a value from the text protocol, normalised like the binlog decoder's. */
void my_snapshot_value(const struct my_column *c, const char *p, size_t n, struct nb_column *col);

/* position.c */
void my_pos_json(const struct my_pos *p, struct nb_buf *out);
bool my_pos_parse(const char *json, struct my_pos *p, char **cursor, bool *snapshot_done, struct nb_arena *a);
/* The key ranges a snapshot still has to copy, from a saved position ("ranges":[[after,upto],..],
 * each bound a list of key values or null; or the older "pk":[..], one range after it), appended
 * to t's list: 1 loaded, 0 the position has none, -1 it has some that do not fit t's key. */
int my_pos_ranges(const char *json, struct my_tinfo *t);
/* Append a range to t's list (t->arena); NULL when out of memory. */
struct my_range *my_range_add(struct my_tinfo *t, char **after, char **upto);
/* The "columns" list of a saved position into h; false when it has none. */
bool my_pos_columns(const char *json, struct my_hist *h);
/* <0, 0, >0; GTIDs compared by sequence within a domain when both have them, else file:pos. */
int my_pos_cmp(const struct my_pos *a, const struct my_pos *b);

/* stream.c */
nb_status my_stream_start(struct my_src *src, struct nb_error *err);
nb_status my_stream_read(struct my_src *src, struct nb_batch **out, struct nb_error *err);
void my_stream_stop(struct my_src *src);
/* Seconds between now and the commit time of the last transaction read while the server has
 * more to send (0 once it has sent everything); false before the first commit. */
bool my_stream_lag(struct my_src *src, double *seconds);

#endif
