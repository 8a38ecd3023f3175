/* The PostgreSQL source's state, shared by source.c (open, discover, check, snapshot/incremental
 * reads by key ranges) and cdc.c (slot, exported snapshot, pgoutput stream, ack-driven flush LSN). */
#ifndef NB_CONNECTORS_POSTGRES_SRC_INTERNAL_H
#define NB_CONNECTORS_POSTGRES_SRC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "connectors/postgres/pg.h"

enum pg_mode { PG_MODE_FULL = 0, PG_MODE_INCREMENTAL, PG_MODE_CDC };

/* Metadata columns of cdc rows. */
#define PG_META_OP "_nb_op"
#define PG_META_LSN "_nb_lsn"
#define PG_META_TS "_nb_commit_ts"
#define PG_META_XID "_nb_xid"
#define PG_META_UNCHANGED "_nb_unchanged_toast"
#define PG_N_META 5

struct pg_outstanding {        /* an emitted cdc batch not yet acknowledged */
    uint64_t seq;
    uint64_t hold;             /* flush may not pass this until acked */
    int64_t commit_time;       /* of the oldest transaction in the batch (for the lag) */
};

struct pg_table {
    uint32_t relid;
    char *nsp, *name, *stream;          /* stream = "schema.table" */
    size_t ncols;                       /* source columns (metadata columns follow in cdc mode) */
    char **colnames;
    uint32_t *oids;
    int32_t *typmods;
    enum pg_kind *kinds;
    bool *notnull;
    char **typnames;                    /* format_type() text, for discover */
    int *pk;                            /* indexes into columns */
    size_t npk;
    struct nb_schema *schema;           /* retained */
    /* snapshot / incremental progress */
    int *order;                         /* key columns for keyset chunks (cursor, pk...) */
    size_t norder;
    bool use_ctid;                      /* no usable key: ctid page ranges */
    char **key;                         /* resume after this key (text values), NULL = from start */
    uint64_t page;                      /* ctid: next chunk starts at this page */
    uint64_t npages;
    bool snapshot_done;
    bool ended;                         /* end_of_stream emitted */
    /* cdc */
    uint64_t skip_before;               /* resume: skip transactions whose commit LSN < this */
    struct nb_batch *pending;
    uint64_t pending_hold;
    int64_t pending_time;               /* commit time of the pending batch's first change */
    uint64_t next_seq;
    struct pg_outstanding *out;
    size_t n_out, cap_out;
    uint64_t acked_seq;
    bool in_publication;
    /* parallel snapshot (snapshot.c) */
    struct pg_par *par;
    bool par_tried;
};

struct pg_relmap {                      /* pgoutput relation oid -> our table (or -1) */
    uint32_t oid;
    int table;
    struct pg_relation rel;
    struct pg_coltype *types;
    int *map;                           /* relation column -> table column, -1 when new/unknown */
};

struct pg_source {
    const struct nb_context *ctx;
    const struct nb_cfg *cfg;
    struct pg_conninfo ci;
    PGconn *conn;                       /* queries, snapshot */
    PGconn *repl;                       /* replication=database */
    struct pg_typecache *types;
    enum pg_mode mode;
    const char *cursor_field;
    size_t batch_size;
    int64_t chunk_rows;
    unsigned workers;                   /* snapshot connections */
    struct pg_table *tables;
    size_t ntables;
    size_t cur;                         /* table being read by the snapshot */
    bool in_txn;                        /* snapshot transaction open on conn */
    bool in_copy;                       /* a COPY is streaming on conn */
    int64_t chunk_count;                /* rows of the current chunk so far */
    uint64_t chunk_end_page;
    struct nb_buf scratch, sql;
    struct nb_error deferred;
    uint64_t rows_read;
    uint64_t bytes_read;                /* COPY rows and pgoutput messages, for progress */
    /* cdc */
    const char *slot, *publication;
    bool until_now;
    uint64_t heartbeat_ms, status_ms;
    char snapshot_name[128];
    uint64_t consistent_lsn;
    bool streaming;
    bool done;
    struct pg_decoder *dec;
    struct pg_relmap *rels;
    size_t nrels, caprels;
    bool txn_open;
    uint32_t txn_xid;
    int64_t txn_time;
    uint64_t txn_final_lsn;
    uint64_t committed_lsn;             /* end LSN of the last Commit processed */
    uint64_t received_lsn;              /* highest WAL position seen */
    uint64_t server_wal_end;
    uint64_t flushed_lsn;               /* last flush LSN sent */
    uint64_t target_lsn;                /* until: now */
    uint64_t last_status_ms, last_heartbeat_ms, last_data_ms, start_ms, last_lag_log_ms;
    uint64_t changes;
    /* protocol version 2: large transactions streamed before they commit (spill.c) */
    int proto;                          /* pgoutput proto_version requested (0 in config: the highest) */
    const char *spill_dir;              /* NULL: TMPDIR */
    struct pg_spill **spills;           /* in progress, one per top-level xid */
    size_t nspills, capspills;
    struct pg_spill *cur_spill;         /* the stream block being received */
    struct pg_spill *replay;            /* committed, being emitted */
    struct pg_decoder *rdec;            /* decodes the replayed (in-stream) messages */
    uint64_t replay_commit_lsn, replay_end_lsn;
    int64_t replay_time;
    /* lag: the server's clock (newest XLogData/keepalive) against the commit time of the oldest
     * change received and not yet durable */
    int64_t server_time;
    struct nb_batch **ready;            /* complete batches waiting to be returned */
    size_t nready, capready;
    /* keepalive thread: shares repl (and the flush bookkeeping) under repl_mu */
    pthread_mutex_t repl_mu;
    bool repl_mu_init;
    pthread_t ka_thread;
    bool ka_started;
    atomic_bool ka_stop;
};

/* source.c */
nb_status pg_src_load_tables(struct pg_source *s, struct nb_error *err);
nb_status pg_src_read_snapshot(struct pg_source *s, struct nb_batch **out, bool *table_finished, struct nb_error *err);
struct nb_batch *pg_src_new_batch(struct pg_source *s, struct pg_table *t);
void pg_src_free_tables(struct pg_source *s);
/* Extract string values from our own position JSON. */
char *pg_pos_string(const char *json, const char *key);
char **pg_pos_strings(const char *json, const char *key, size_t *n);

void pg_src_append_cols(struct nb_buf *q, const struct pg_table *t);
void pg_src_key_from_batch(struct pg_table *t, const struct nb_batch *b);
void pg_src_write_position(struct pg_source *s, struct pg_table *t, struct nb_batch *b, bool table_done);

/* snapshot.c: a large table's chunks read by several connections sharing one snapshot. */
struct pg_par;
nb_status pg_par_start(struct pg_source *s, struct pg_table *t, struct nb_error *err);   /* may leave t->par NULL */
nb_status pg_par_read(struct pg_source *s, struct pg_table *t, struct nb_batch **out, bool *table_finished,
                      struct nb_error *err);
void pg_par_stop(struct pg_table *t);

/* cdc.c */
nb_status pg_cdc_open(struct pg_source *s, struct nb_error *err);
nb_status pg_cdc_read(struct pg_source *s, struct nb_batch **out, struct nb_error *err);
nb_status pg_cdc_ack(struct pg_source *s, const char *stream, const char *position, struct nb_error *err);
void pg_cdc_close(struct pg_source *s);
bool pg_cdc_lag(struct pg_source *s, double *seconds);
nb_status pg_check_cdc(struct pg_source *s, struct nb_buf *report, struct nb_error *err);

#endif
