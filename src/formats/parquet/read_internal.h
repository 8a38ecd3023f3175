/* Internals of the Parquet reader shared by its files and the unit tests: the Thrift compact
 * decoder (thrift_read.c), the decoded metadata (meta_read.c), and page decoding (page_read.c).
 * Every decoder works on a bounded byte range and reports errors with the absolute file offset. */
#ifndef NB_FORMATS_PARQUET_READ_INTERNAL_H
#define NB_FORMATS_PARQUET_READ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/schema.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "formats/parquet/parquet.h"

/* ---- Thrift compact protocol (reading) --------------------------------------------------- */
/* Deeper nesting than this is bad input (Parquet's metadata nests about 6 deep). */
#define PQ_TREAD_MAX_DEPTH 24

struct pq_tread {
    const uint8_t *p, *end, *start;
    uint64_t base;              /* file offset of start, for messages */
    const char *name;           /* file name, for messages */
    int depth;
    int16_t last[PQ_TREAD_MAX_DEPTH];
    bool bool_pending;          /* a bool field's value is in its header type */
    bool bool_value;
};

void pq_tread_init(struct pq_tread *t, const void *p, size_t n, uint64_t base, const char *name);
uint64_t pq_tread_offset(const struct pq_tread *t);
/* "name: what at offset N" as NB_ERR_INVALID. */
nb_status pq_tread_fail(const struct pq_tread *t, struct nb_error *err, const char *what);
nb_status pq_tread_varint(struct pq_tread *t, uint64_t *v, struct nb_error *err);
/* Enter a struct (top level or a struct element / field just announced). */
nb_status pq_tread_struct_begin(struct pq_tread *t, struct nb_error *err);
/* Next field of the current struct: NB_DONE at its stop byte (the struct is then left). */
nb_status pq_tread_field(struct pq_tread *t, int16_t *id, uint8_t *type, struct nb_error *err);
nb_status pq_tread_i32(struct pq_tread *t, uint8_t type, int32_t *v, struct nb_error *err);
nb_status pq_tread_i64(struct pq_tread *t, uint8_t type, int64_t *v, struct nb_error *err);
nb_status pq_tread_bool(struct pq_tread *t, uint8_t type, bool *v, struct nb_error *err);
/* Bytes inside the input (no copy), length checked against what is left. */
nb_status pq_tread_binary(struct pq_tread *t, uint8_t type, const uint8_t **p, size_t *n, struct nb_error *err);
/* A list or set header: element type and count (count checked: each element takes >= 1 byte,
 * except bools and empty structs, which take at least 1 byte too in this encoding). */
nb_status pq_tread_list(struct pq_tread *t, uint8_t type, uint8_t *etype, size_t *count, struct nb_error *err);
/* Skip a value of any type, nested structs/lists/maps included (depth-limited). */
nb_status pq_tread_skip(struct pq_tread *t, uint8_t type, struct nb_error *err);
/* Walk a struct: fn gets each field (id, wire type) and reads or skips it. */
typedef nb_status (*pq_tread_field_fn)(struct pq_tread *t, void *ctx, int16_t id, uint8_t type, struct nb_error *err);
nb_status pq_tread_struct(struct pq_tread *t, pq_tread_field_fn fn, void *ctx, struct nb_error *err);

/* ---- metadata ------------------------------------------------------------------------------ */
enum pq_rphys {
    PQR_BOOLEAN = 0, PQR_INT32 = 1, PQR_INT64 = 2, PQR_INT96 = 3, PQR_FLOAT = 4, PQR_DOUBLE = 5,
    PQR_BYTE_ARRAY = 6, PQR_FLBA = 7,
};

/* How a leaf column becomes a batch column. */
enum pq_rkind {
    RK_BOOL, RK_I32, RK_I64, RK_U32, RK_U64, RK_F32, RK_F64, RK_DEC_INT, RK_DEC_BYTES, RK_DATE,
    RK_TIME_MS, RK_TIME_US, RK_TIME_NS, RK_TS_MS, RK_TS_US, RK_TS_NS, RK_INT96, RK_TEXT, RK_BINARY,
    RK_UUID,
};

struct pq_leaf {
    const char *name;           /* arena of the metadata */
    enum pq_rphys phys;
    int32_t type_length;        /* FLBA */
    bool optional;
    enum pq_rkind kind;
    struct nb_type type;        /* ours */
};

struct pq_chunk_meta {
    enum pq_rphys phys;
    int32_t codec;
    int64_t num_values;
    int64_t total_compressed;
    int64_t data_page_offset;
    int64_t dict_page_offset;   /* 0 when absent */
};

struct pq_row_group {
    int64_t num_rows;
    struct pq_chunk_meta *cols;  /* n_leaves of them */
};

struct pq_meta {
    size_t n_leaves;
    struct pq_leaf *leaves;
    int64_t num_rows;
    size_t n_row_groups;
    struct pq_row_group *row_groups;
    size_t n_kv;
    const char **kv_keys, **kv_values;
    struct nb_arena arena;       /* everything above */
};

/* Decode FileMetaData from buf[0..n) (file offset base). Checks every count and offset against
 * file_size. A nested or repeated column is NB_ERR_UNSUPPORTED naming it. */
nb_status pq_meta_decode(struct pq_meta *m, const uint8_t *buf, size_t n, uint64_t base, uint64_t file_size,
                         const char *name, struct nb_error *err);
void pq_meta_cleanup(struct pq_meta *m);

/* ---- pages ------------------------------------------------------------------------------- */
/* Values per page above this are refused (a page header could claim billions of RLE-encoded
 * nulls in a few bytes; honest writers stay far below). */
#define PQ_MAX_PAGE_VALUES (1u << 24)

enum pq_rpage { PQR_DATA_PAGE = 0, PQR_INDEX_PAGE = 1, PQR_DICTIONARY_PAGE = 2, PQR_DATA_PAGE_V2 = 3 };

struct pq_page_header {
    int32_t type;
    int32_t uncompressed_size, compressed_size;
    int32_t num_values;          /* data / dictionary */
    int32_t encoding;
    int32_t def_encoding;        /* v1 */
    int32_t num_nulls, num_rows; /* v2 */
    int32_t def_len, rep_len;    /* v2 */
    bool is_compressed;          /* v2 (default true) */
    size_t header_len;
};

nb_status pq_page_header_decode(struct pq_page_header *h, const uint8_t *p, size_t n, uint64_t base,
                                const char *name, struct nb_error *err);

/* A byte-array value: bytes [off, off + len) of its page's (or dictionary's) base. */
struct pq_bv {
    uint32_t off, len;
};

/* RLE / bit-packed hybrid: decode exactly count values of bit_width (0..32) bits from p[0..n).
 * *used: bytes consumed. NB_ERR_INVALID (message without a place: the caller adds it) when the
 * data ends early or a width is out of range. */
nb_status pq_rle_decode(const uint8_t *p, size_t n, int bit_width, uint32_t *out, size_t count, size_t *used,
                        struct nb_error *err);
/* DELTA_BINARY_PACKED: decode exactly count values (int32 columns: values wrap to 32 bits). */
nb_status pq_delta_decode(const uint8_t *p, size_t n, int64_t *out, size_t count, bool is32, size_t *used,
                          struct nb_error *err);
/* Its header's total value count (for DELTA_LENGTH_BYTE_ARRAY / DELTA_BYTE_ARRAY lengths). */
nb_status pq_delta_count(const uint8_t *p, size_t n, uint64_t *count, struct nb_error *err);

/* Raw block decompression per Parquet codec (raw snappy, gzip member, zstd frame, raw LZ4 block):
 * exactly out_len bytes must come out. */
struct pq_dctx;
/* Before allocating out_len: could in_len bytes of this codec expand to it at all? */
nb_status pq_decompress_check(int32_t codec, const uint8_t *in, size_t in_len, size_t out_len, struct nb_error *err);
struct pq_dctx *pq_dctx_create(void);
void pq_dctx_destroy(struct pq_dctx *d);
nb_status pq_decompress(struct pq_dctx *d, int32_t codec, const uint8_t *in, size_t in_len, uint8_t *out,
                        size_t out_len, struct nb_error *err);

/* Parquet encodings (parquet.thrift). */
enum pq_renc {
    PQR_ENC_PLAIN = 0, PQR_ENC_PLAIN_DICTIONARY = 2, PQR_ENC_RLE = 3, PQR_ENC_BIT_PACKED = 4,
    PQR_ENC_DELTA_BINARY_PACKED = 5, PQR_ENC_DELTA_LENGTH_BYTE_ARRAY = 6, PQR_ENC_DELTA_BYTE_ARRAY = 7,
    PQR_ENC_RLE_DICTIONARY = 8, PQR_ENC_BYTE_STREAM_SPLIT = 9,
};

static inline uint32_t pq_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t pq_le64(const uint8_t *p) { return (uint64_t)pq_le32(p) | (uint64_t)pq_le32(p + 4) << 32; }
static inline bool pq_is_bytes(const struct pq_leaf *l) { return l->phys == PQR_BYTE_ARRAY || l->phys == PQR_FLBA; }

/* One column of the reader: its chunk of the current row group, the dictionary, and the current
 * data page decoded into plain arrays (reader.c moves through them, values_read.c fills them). */
struct pq_col {
    const struct pq_leaf *leaf;
    size_t index;
    const struct pq_chunk_meta *cm;
    struct nb_buf chunk;         /* the column chunk's bytes */
    uint64_t chunk_off;          /* file offset of chunk.data[0] */
    size_t pos;                  /* next page header in chunk */
    /* dictionary */
    bool has_dict;
    struct nb_buf dict;          /* decompressed dictionary page (byte array values point here) */
    uint32_t dict_n;
    int64_t *dict_slots;
    struct pq_bv *dict_bv;
    /* the current data page */
    struct nb_buf page;          /* decompressed */
    struct nb_buf mat;           /* values rebuilt by DELTA_BYTE_ARRAY */
    uint32_t n, at;              /* rows in the page, next row */
    uint32_t nvals, vat;         /* non-null values, next one */
    bool all_valid;
    uint8_t *defs;
    int64_t *slots, *scratch;
    struct pq_bv *bvs;
    uint32_t *idx;
    const char *base;            /* what bvs point into */
    size_t cap;                  /* capacity of defs/slots/scratch/bvs/idx */
};

/* Bytes of a fixed-width physical type (0 for BOOLEAN and BYTE_ARRAY). */
size_t pq_phys_width(const struct pq_leaf *l);
/* n PLAIN values from p[0..len) into slots (8-byte values: integers sign-extended, FLOAT as the
 * double it is, INT96 as nanoseconds since the epoch) or byte ranges relative to base. */
nb_status pq_decode_plain(const struct pq_leaf *l, const uint8_t *p, size_t len, const uint8_t *base, size_t n,
                          int64_t *slots, struct pq_bv *bvs, size_t *used, struct nb_error *err);
/* The values section of a data page: c->nvals non-null values in encoding enc into c's arrays. */
nb_status pq_decode_values(struct pq_col *c, int32_t enc, const uint8_t *p, size_t len, struct nb_error *err);
/* Definition levels of a flat optional column (0 null, 1 present) into c->defs; sets c->nvals. */
nb_status pq_decode_defs(struct pq_col *c, const uint8_t *p, size_t len, size_t n, struct nb_error *err);

#endif
