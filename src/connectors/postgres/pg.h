/* Internal interface of the PostgreSQL connector: connection settings, the type map, the value
 * appender shared by COPY text and pgoutput, the pgoutput decoder and the source/destination state.
 * Nothing here is public: the connector is `nb_connector_postgres` in registry.c. */
#ifndef NB_CONNECTORS_POSTGRES_PG_H
#define NB_CONNECTORS_POSTGRES_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/batch.h"
#include "connectors/connector.h"
#include "core/buf.h"
#include "core/error.h"

/* ---- config access (walks the validated tree; absent keys give the fallback) ---------------- */
const char *pg_cfg_str(const struct nb_cfg *map, const char *key, const char *fallback);
int64_t pg_cfg_int(const struct nb_cfg *map, const char *key, int64_t fallback);
bool pg_cfg_bool(const struct nb_cfg *map, const char *key, bool fallback);
uint64_t pg_cfg_duration_ms(const struct nb_cfg *map, const char *key, uint64_t fallback);
size_t pg_cfg_list(const struct nb_cfg *map, const char *key, const char **out, size_t max);
const struct nb_cfg *pg_cfg_child(const struct nb_cfg *map, const char *key);

/* ---- connections (conn.c) ---------------------------------------------------------------- */
struct pg_conninfo {
    const char *url, *host, *port, *user, *password, *dbname, *sslmode, *sslrootcert;
    char port_buf[16];
    uint64_t connect_timeout_ms;
};
void pg_conninfo_from_cfg(struct pg_conninfo *ci, const struct nb_cfg *cfg, const struct nb_run_options *opt);
/* A connection with DateStyle ISO, TimeZone UTC, IntervalStyle iso_8601, extra_float_digits 3, so
 * every value's text is exact and stable. replication: a replication=database walsender session. */
nb_status pg_connect(const struct pg_conninfo *ci, bool replication, PGconn **out, struct nb_error *err);
/* libpq is loaded on first use (pq_lib.c): why it could not be, or NULL. */
const char *nb_pq_load_error(void);
/* Run a command that returns no rows (or any rows, discarded). */
nb_status pg_exec(PGconn *c, const char *sql, const char *what, struct nb_error *err);
/* Run a query; *out is a PGRES_TUPLES_OK result the caller PQclear()s. */
nb_status pg_query(PGconn *c, const char *sql, int nparams, const char *const *params, PGresult **out,
                   const char *what, struct nb_error *err);
/* Fill err from a failed result/connection: message, SQL state, and what to do. */
nb_status pg_result_error(PGconn *c, const PGresult *r, const char *what, struct nb_error *err);
/* "schema"."table" quoted for SQL, into b. */
void pg_quote_ident(struct nb_buf *b, const char *ident);
void pg_quote_qualified(struct nb_buf *b, const char *schema, const char *table);
void pg_quote_literal(struct nb_buf *b, const char *s);

/* ---- LSNs -------------------------------------------------------------------------------- */
bool pg_lsn_parse(const char *s, uint64_t *out);
void pg_lsn_format(uint64_t lsn, char *out, size_t cap);   /* "16/B374D848" */

/* ---- type map (types.c) ------------------------------------------------------------------ */
enum pg_kind {
    PG_K_TEXT = 0,       /* kept as its text */
    PG_K_BOOL,           /* t/f -> true/false */
    PG_K_INT,
    PG_K_FLOAT,          /* exact text; NaN/Infinity do not fit float64 */
    PG_K_NUMERIC,        /* exact text; NaN/Infinity do not fit decimal */
    PG_K_BYTEA,          /* \x hex -> raw bytes */
    PG_K_DATE,           /* BC / infinity do not fit */
    PG_K_TIME,
    PG_K_TIMESTAMP,
    PG_K_TIMESTAMPTZ,    /* "+00" -> "+00:00" (RFC 3339) */
    PG_K_JSON,
};

/* Built-in type OIDs we map (from pg_type.dat). */
enum {
    PG_OID_BOOL = 16, PG_OID_BYTEA = 17, PG_OID_CHAR = 18, PG_OID_NAME = 19, PG_OID_INT8 = 20,
    PG_OID_INT2 = 21, PG_OID_INT4 = 23, PG_OID_TEXT = 25, PG_OID_OID = 26, PG_OID_JSON = 114,
    PG_OID_XML = 142, PG_OID_CIDR = 650, PG_OID_FLOAT4 = 700, PG_OID_FLOAT8 = 701, PG_OID_MONEY = 790,
    PG_OID_MACADDR = 829, PG_OID_INET = 869, PG_OID_BPCHAR = 1042, PG_OID_VARCHAR = 1043,
    PG_OID_DATE = 1082, PG_OID_TIME = 1083, PG_OID_TIMESTAMP = 1114, PG_OID_TIMESTAMPTZ = 1184,
    PG_OID_INTERVAL = 1186, PG_OID_TIMETZ = 1266, PG_OID_NUMERIC = 1700, PG_OID_UUID = 2950,
    PG_OID_JSONB = 3802,
};

struct pg_coltype {
    struct nb_type type;
    enum pg_kind kind;
};
/* Map a built-in (or domain-resolved base) type OID and typmod. Unknown OIDs map to string. */
struct pg_coltype pg_type_map(uint32_t oid, int32_t typmod);
/* SQL type for a destination column of our type. */
const char *pg_sql_type(struct nb_type t, char *buf, size_t cap);

/* Resolve domains to their base type through the catalog (cached). conn may be NULL (no lookup). */
struct pg_typecache;
struct pg_typecache *pg_typecache_create(void);
void pg_typecache_destroy(struct pg_typecache *tc);
nb_status pg_typecache_resolve(struct pg_typecache *tc, PGconn *conn, uint32_t oid, int32_t typmod,
                               struct pg_coltype *out, struct nb_error *err);

/* Append one value's text (as PostgreSQL's output function wrote it, unescaped) to column c. */
void pg_append_value(struct nb_column *c, enum pg_kind kind, const char *s, size_t n, struct nb_buf *scratch);

/* Parse one COPY text-format row (data[0..n), trailing newline optional) into the next row of
 * columns cols[0..ncols). Values are unescaped. Returns NB_ERR_PROTOCOL on a malformed row. */
nb_status pg_copy_text_row(const char *data, size_t n, struct nb_column *cols, const enum pg_kind *kinds,
                           size_t ncols, struct nb_buf *scratch, struct nb_error *err);

/* The CDC metadata of a snapshot row (cols[0..5) after the table's columns): operation "read" at the
 * snapshot's LSN; commit time, transaction and unchanged-TOAST columns null. */
void pg_append_snapshot_metadata(struct nb_column *meta, const char *lsn_text);

/* ---- pgoutput (pgoutput.c) --------------------------------------------------------------- */
struct pg_tuple_col {
    char kind;                 /* 'n' null, 'u' unchanged TOAST, 't' text, 'b' binary */
    const char *data;          /* points into the message */
    uint32_t len;
};

struct pg_rel_col {
    char *name;
    uint32_t type_oid;
    int32_t typmod;
    bool key;
};

struct pg_relation {
    uint32_t oid;
    char *nspname, *relname;
    char replident;
    uint32_t ncols;
    struct pg_rel_col *cols;
};

enum pg_msg_type {
    PG_MSG_BEGIN = 'B', PG_MSG_COMMIT = 'C', PG_MSG_ORIGIN = 'O', PG_MSG_RELATION = 'R', PG_MSG_TYPE = 'Y',
    PG_MSG_INSERT = 'I', PG_MSG_UPDATE = 'U', PG_MSG_DELETE = 'D', PG_MSG_TRUNCATE = 'T', PG_MSG_MESSAGE = 'M',
    /* protocol version 2: large in-progress transactions streamed in blocks */
    PG_MSG_STREAM_START = 'S', PG_MSG_STREAM_STOP = 'E', PG_MSG_STREAM_COMMIT = 'c', PG_MSG_STREAM_ABORT = 'A',
};

#define PG_MAX_COLS 1664   /* MaxTupleAttributeNumber */

struct pg_msg {
    enum pg_msg_type type;
    /* Begin */
    uint64_t final_lsn;
    int64_t commit_time;       /* microseconds since 2000-01-01 */
    uint32_t xid;              /* Begin, Stream Start/Commit/Abort; inside a stream block the
                                * (sub)transaction of a Relation/Type/change/Message */
    bool streamed;             /* decoded inside a stream block (xid above is set) */
    /* Stream Start */
    bool first_segment;
    /* Stream Abort */
    uint32_t subxid;
    /* Commit */
    uint64_t commit_lsn, end_lsn;
    /* Relation (owned by the decoder's caller after pg_relation_take) */
    struct pg_relation rel;
    /* Type */
    uint32_t type_oid;
    const char *type_nsp, *type_name;
    /* Insert/Update/Delete */
    uint32_t rel_oid;
    char old_kind;             /* 0, 'K' (key) or 'O' (old tuple) */
    uint32_t n_old, n_new;
    struct pg_tuple_col *old_cols, *new_cols;   /* arrays of PG_MAX_COLS owned by the decoder */
    /* Truncate */
    uint32_t n_rels;
    const uint32_t *rel_oids;  /* decoded into a decoder-owned array */
    uint8_t truncate_flags;
    /* Message */
    const char *prefix;
    uint32_t content_len;
};

struct pg_decoder {
    /* Between Stream Start and Stream Stop every Relation/Type/change/Message carries an xid after
     * its type byte (protocol version 2+). pg_decode keeps this up to date itself. */
    bool in_stream;
    struct pg_tuple_col old_cols[PG_MAX_COLS], new_cols[PG_MAX_COLS];
    uint32_t *rel_oids;
    size_t rel_oids_cap;
};

/* Decode one pgoutput message (protocol version 1 or 2) from buf[0..n). Pointers in *m refer into buf
 * or the decoder. A Relation's names are malloc'ed into m->rel (free with pg_relation_cleanup
 * unless kept). Malformed input: NB_ERR_PROTOCOL naming the offset; never reads past n. */
nb_status pg_decode(struct pg_decoder *d, const uint8_t *buf, size_t n, struct pg_msg *m, struct nb_error *err);
void pg_relation_cleanup(struct pg_relation *r);

/* A streamed transaction's changes spilled to an unlinked temp file (spill.c). dir NULL: TMPDIR
 * or /tmp. add stores one raw in-stream message; abort_sub drops a subtransaction's changes (from
 * its first one on; the top-level xid drops all); rewind then next replays them in order (NB_DONE at
 * the end; *msg valid until the next call). */
struct pg_spill;
nb_status pg_spill_create(struct pg_spill **out, uint32_t xid, const char *dir, struct nb_error *err);
uint32_t pg_spill_xid(const struct pg_spill *sp);
nb_status pg_spill_add(struct pg_spill *sp, uint32_t subxid, const uint8_t *msg, size_t n, struct nb_error *err);
nb_status pg_spill_abort_sub(struct pg_spill *sp, uint32_t subxid, struct nb_error *err);
nb_status pg_spill_rewind(struct pg_spill *sp, struct nb_error *err);
nb_status pg_spill_next(struct pg_spill *sp, const uint8_t **msg, size_t *n, struct nb_error *err);
void pg_spill_destroy(struct pg_spill *sp);

/* Replication stream framing: 'w' XLogData and 'k' keepalive. */
struct pg_copy_msg {
    char type;                 /* 'w' or 'k' */
    uint64_t wal_start, wal_end;
    int64_t server_time;
    bool reply_requested;
    const uint8_t *data;       /* 'w' payload */
    size_t len;
};
nb_status pg_parse_copy_msg(const uint8_t *buf, size_t n, struct pg_copy_msg *m, struct nb_error *err);
/* Build the 34-byte standby status update ('r'). */
size_t pg_build_status(uint8_t out[34], uint64_t write_lsn, uint64_t flush_lsn, uint64_t apply_lsn,
                       int64_t now_pg_us, bool reply);
/* Microseconds since 2000-01-01 (the PostgreSQL epoch) <-> RFC 3339 text. */
int64_t pg_now_us(void);
void pg_format_pgtime(int64_t pg_us, char *out, size_t cap);

/* ---- the source and destination ------------------------------------------------------------ */
extern const struct nb_source_ops pg_source_ops;
extern const struct nb_destination_ops pg_destination_ops;

#endif
