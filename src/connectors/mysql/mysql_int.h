/* Internals of the MySQL/MariaDB connector shared by its files: the binlog event decoder (pure
 * functions over bytes, unit-tested from the documented layouts), value decoding to exact text,
 * and the column descriptions that catalog, snapshot and stream agree on. */
#ifndef NB_CONNECTORS_MYSQL_INT_H
#define NB_CONNECTORS_MYSQL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/schema.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"

/* Column types as they appear on the wire (enum_field_types). */
enum {
    MY_T_DECIMAL = 0, MY_T_TINY = 1, MY_T_SHORT = 2, MY_T_LONG = 3, MY_T_FLOAT = 4, MY_T_DOUBLE = 5,
    MY_T_NULL = 6, MY_T_TIMESTAMP = 7, MY_T_LONGLONG = 8, MY_T_INT24 = 9, MY_T_DATE = 10, MY_T_TIME = 11,
    MY_T_DATETIME = 12, MY_T_YEAR = 13, MY_T_NEWDATE = 14, MY_T_VARCHAR = 15, MY_T_BIT = 16,
    MY_T_TIMESTAMP2 = 17, MY_T_DATETIME2 = 18, MY_T_TIME2 = 19, MY_T_TYPED_ARRAY = 20,
    MY_T_JSON = 245, MY_T_NEWDECIMAL = 246, MY_T_ENUM = 247, MY_T_SET = 248, MY_T_TINY_BLOB = 249,
    MY_T_MEDIUM_BLOB = 250, MY_T_LONG_BLOB = 251, MY_T_BLOB = 252, MY_T_VAR_STRING = 253,
    MY_T_STRING = 254, MY_T_GEOMETRY = 255,
};

/* Binlog event types. */
enum {
    MY_EV_QUERY = 2, MY_EV_STOP = 3, MY_EV_ROTATE = 4, MY_EV_FORMAT_DESCRIPTION = 15, MY_EV_XID = 16,
    MY_EV_TABLE_MAP = 19, MY_EV_WRITE_ROWS_V1 = 23, MY_EV_UPDATE_ROWS_V1 = 24, MY_EV_DELETE_ROWS_V1 = 25,
    MY_EV_HEARTBEAT = 27, MY_EV_ROWS_QUERY = 29, MY_EV_WRITE_ROWS = 30, MY_EV_UPDATE_ROWS = 31,
    MY_EV_DELETE_ROWS = 32, MY_EV_GTID = 33, MY_EV_ANONYMOUS_GTID = 34, MY_EV_PREVIOUS_GTIDS = 35,
    MY_EV_PARTIAL_UPDATE_ROWS = 39, MY_EV_TRANSACTION_PAYLOAD = 40, MY_EV_HEARTBEAT_V2 = 41,
    MY_EV_ANNOTATE_ROWS = 160, MY_EV_BINLOG_CHECKPOINT = 161, MY_EV_MARIA_GTID = 162,
    MY_EV_MARIA_GTID_LIST = 163,
};

#define MY_HEADER_LEN 19

/* A column as the decoder and the batch builder see it. Names, signedness, charsets and labels
 * come from TABLE_MAP metadata (binlog_row_metadata=FULL) or from the catalog (schema history). */
struct my_column {
    char *name;
    uint8_t type;           /* wire type (real type for STRING-encoded ENUM/SET) */
    uint16_t meta;          /* TABLE_MAP metadata */
    bool is_unsigned;
    bool nullable;
    bool binary;            /* binary charset: bytes, not text */
    const char *charset;    /* character set name for conversion to UTF-8 (NULL: utf8/ascii) */
    char **labels;          /* ENUM / SET labels, 1-based values */
    size_t n_labels;
    bool is_pk;
    struct nb_type nb;      /* our type */
};

struct my_table {
    uint64_t table_id;
    char *db, *name;
    size_t n_cols;
    struct my_column *cols;
    bool has_names;         /* names came from the binlog */
    struct nb_arena arena;  /* everything above lives here */
};

/* ---- binary reader ---------------------------------------------------------------------- */
struct my_rd {
    const uint8_t *p;
    size_t n, off;
    bool bad;               /* sticky: a read went past the end */
};
static inline void my_rd_init(struct my_rd *r, const void *p, size_t n) { r->p = p; r->n = n; r->off = 0; r->bad = false; }
static inline size_t my_rd_left(const struct my_rd *r) { return r->bad ? 0 : r->n - r->off; }
const uint8_t *my_rd_take(struct my_rd *r, size_t n);
uint64_t my_rd_le(struct my_rd *r, size_t n);     /* little-endian unsigned of n bytes (n <= 8) */
uint64_t my_rd_be(struct my_rd *r, size_t n);     /* big-endian */
uint64_t my_rd_lenenc(struct my_rd *r);           /* length-encoded integer (0xfb = NULL reads as 0) */

/* ---- events ----------------------------------------------------------------------------- */
struct my_event {
    uint32_t timestamp;
    uint8_t type;
    uint32_t server_id;
    uint32_t size;
    uint32_t next_pos;
    uint16_t flags;
    const uint8_t *body;    /* after the common header, checksum removed */
    size_t body_len;
};

/* Decoder state across events of one connection: checksum use, and post-header lengths from the
 * FORMAT_DESCRIPTION event. */
struct my_decoder {
    bool checksum;          /* events end with a CRC32 */
    bool have_fde;
    char server_version[51];
    uint8_t post_header[256];
};

void my_decoder_init(struct my_decoder *d);
/* Split an event: header, body; verify and strip the CRC32 when checksums are on. A
 * FORMAT_DESCRIPTION event updates the decoder (its own checksum setting is read from it). */
nb_status my_event_parse(struct my_decoder *d, const uint8_t *buf, size_t len, struct my_event *ev,
                         struct nb_error *err);

struct my_rotate { uint64_t pos; char file[256]; };
nb_status my_parse_rotate(const struct my_event *ev, struct my_rotate *out, struct nb_error *err);

struct my_query { char db[256]; const char *sql; size_t sql_len; };
nb_status my_parse_query(const struct my_event *ev, struct my_query *out, struct nb_error *err);

/* A GTID of either flavour, formatted as its usual text: MariaDB "domain-server-seq", MySQL
 * "uuid:gno". */
struct my_gtid {
    bool mysql;
    uint32_t domain, server;
    uint64_t seq;
    bool standalone;        /* MariaDB FL_STANDALONE: no BEGIN/COMMIT follow (DDL) */
    uint8_t sid[16];
    int64_t commit_ts_us;   /* MySQL 8 immediate commit timestamp, or 0 */
    char text[64];
};
nb_status my_parse_gtid(const struct my_event *ev, uint32_t server_id, struct my_gtid *out, struct nb_error *err);
/* MariaDB GTID_LIST / MySQL PREVIOUS_GTIDS as text ("0-1-5,1-2-7" / "uuid:1-5:7-9,..."). */
nb_status my_parse_gtid_list(const struct my_event *ev, struct nb_buf *out, struct nb_error *err);

/* A MySQL GTID set: per source UUID (SID), sorted disjoint intervals [start, end). */
struct my_gtid_iv { uint64_t start, end; };
struct my_gtid_sid {
    uint8_t sid[16];
    struct my_gtid_iv *iv;
    size_t n, cap;
};
struct my_gtid_set {
    struct my_gtid_sid *sids;
    size_t n, cap;
};
void my_gtid_set_init(struct my_gtid_set *s);
void my_gtid_set_cleanup(struct my_gtid_set *s);
/* Add the text form ("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7, ...") to s. */
nb_status my_gtid_set_parse(struct my_gtid_set *s, const char *text, struct nb_error *err);
nb_status my_gtid_set_add(struct my_gtid_set *s, const uint8_t sid[16], uint64_t gno, struct nb_error *err);
void my_gtid_set_text(const struct my_gtid_set *s, struct nb_buf *out);
/* The binary form of PREVIOUS_GTIDS events and COM_BINLOG_DUMP_GTID. */
void my_gtid_set_encode(const struct my_gtid_set *s, struct nb_buf *out);
nb_status my_gtid_set_decode(struct my_gtid_set *s, const uint8_t *p, size_t n, struct nb_error *err);
/* COM_BINLOG_DUMP_GTID (0x1e) arguments after the command byte: flags (BINLOG_THROUGH_GTID),
 * server_id, binlog name length + name, position, GTID data length + encoded set. */
#define MY_COM_BINLOG_DUMP_GTID 0x1e
#define MY_DUMP_THROUGH_GTID 0x04
void my_dump_gtid_request(uint32_t server_id, const char *file, uint64_t pos, const struct my_gtid_set *s,
                          struct nb_buf *out);

/* TABLE_MAP into t (t->arena must be initialised; it is reset). */
nb_status my_parse_table_map(const struct my_event *ev, struct my_table *t, struct nb_error *err);
uint64_t my_rows_table_id(const struct my_event *ev);

/* MySQL TRANSACTION_PAYLOAD: the inner events, decompressed (zstd) into out (a sequence of
 * events without checksums). */
nb_status my_parse_payload(const struct my_event *ev, struct nb_buf *out, struct nb_error *err);

/* One decoded row image: per column, NULL / absent / text (offsets into text). */
struct my_image {
    size_t n;
    uint8_t *state;         /* 0 absent, 1 null, 2 value */
    uint32_t *off, *len;
    uint8_t *mismatch;      /* text does not fit the column's type (zero dates) */
    struct nb_buf text;
    struct nb_arena scratch; /* partial JSON updates: the documents being patched */
};
void my_image_init(struct my_image *im);
void my_image_cleanup(struct my_image *im);

/* Called per row: kind 'c' insert (after), 'u' update (before, after), 'd' delete (before). */
typedef nb_status (*my_row_fn)(void *ud, char kind, const struct my_image *before, const struct my_image *after,
                               struct nb_error *err);
/* Decode WRITE/UPDATE/DELETE_ROWS v1/v2 and MySQL PARTIAL_UPDATE_ROWS (JSON diffs applied to the
 * before value, so `after` holds full values) for table t. before/after are scratch images owned
 * by the caller. */
nb_status my_parse_rows(const struct my_event *ev, const struct my_table *t, struct my_image *before,
                        struct my_image *after, my_row_fn fn, void *ud, struct nb_error *err);

/* ---- values ----------------------------------------------------------------------------- */
/* Decode one binlog value of column c at r into exact text appended to out. *mismatch is set when
 * the text is kept but does not fit c->nb (zero dates). */
nb_status my_value_text(const struct my_column *c, struct my_rd *r, struct nb_buf *out, bool *mismatch,
                        struct nb_error *err);
/* Apply a MySQL JSON diff vector (PARTIAL_UPDATE_ROWS) to the JSON text `before`; the full
 * after value is appended to out as JSON text. Documents are built in arena a. */
nb_status my_json_apply_diff(const char *before, size_t before_len, const uint8_t *diff, size_t diff_len,
                             struct nb_arena *a, struct nb_buf *out, struct nb_error *err);
/* MySQL binary JSON to JSON text. */
nb_status my_json_binary_to_text(const uint8_t *p, size_t n, struct nb_buf *out, struct nb_error *err);
/* Our type for a column from the catalog's DATA_TYPE / COLUMN_TYPE ("int", "int(10) unsigned",
 * "decimal(10,2)", "enum('a','b')", ...). Fills c->nb, is_unsigned, binary, labels (arena). */
void my_column_from_catalog(struct my_column *c, const char *data_type, const char *column_type,
                            const char *charset, struct nb_arena *a);
/* Our type for a column known only from the binlog (wire type + meta + signedness). */
struct nb_type my_type_from_wire(const struct my_column *c);
/* Bytes of a value of this wire type in a row image (for skipping), -1 when variable. */
/* Convert text in charset `cs` to UTF-8 (appends to out). Unknown charsets are an error. */
nb_status my_to_utf8(const char *cs, const char *p, size_t n, struct nb_buf *out, struct nb_error *err);
/* Charset name for a collation id (the common ones; NULL when unknown). */
const char *my_collation_charset(unsigned id);

#endif
