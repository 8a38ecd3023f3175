/* The Parquet writer's pieces (Parquet format spec, Thrift compact protocol spec): a Thrift compact
 * encoder for the metadata, the RLE/bit-packed hybrid for levels and dictionary indices, and the
 * streaming writer. The writer API here is what the format ops (format.c) and the tests use. */
#ifndef NB_FORMATS_PARQUET_PARQUET_H
#define NB_FORMATS_PARQUET_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "batch/batch.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/error.h"
#include "io/stream.h"

/* nb_buf_append that takes (NULL, 0): an empty nb_buf has no data pointer, and memcpy may not see NULL. */
static inline void pq_buf_add(struct nb_buf *b, const void *p, size_t n)
{
    if (n) nb_buf_append(b, p, n);
}

/* ---- Thrift compact protocol (writing only) ------------------------------------------------ */
enum pq_ttype {
    PQ_T_BOOL_TRUE = 1, PQ_T_BOOL_FALSE = 2, PQ_T_BYTE = 3, PQ_T_I16 = 4, PQ_T_I32 = 5, PQ_T_I64 = 6,
    PQ_T_DOUBLE = 7, PQ_T_BINARY = 8, PQ_T_LIST = 9, PQ_T_SET = 10, PQ_T_MAP = 11, PQ_T_STRUCT = 12,
};
#define PQ_THRIFT_MAX_DEPTH 16

struct pq_thrift {
    struct nb_buf *out;
    int depth;
    int16_t last[PQ_THRIFT_MAX_DEPTH];   /* last field id written per open struct */
};

void pq_thrift_init(struct pq_thrift *t, struct nb_buf *out);
void pq_varint(struct nb_buf *out, uint64_t v);
/* Open a struct: the top-level one, or one that is a list element (no field header). */
void pq_thrift_begin(struct pq_thrift *t);
/* Close the innermost struct (writes the stop byte). */
void pq_thrift_end(struct pq_thrift *t);
void pq_thrift_i32(struct pq_thrift *t, int16_t id, int32_t v);
void pq_thrift_i64(struct pq_thrift *t, int16_t id, int64_t v);
void pq_thrift_bool(struct pq_thrift *t, int16_t id, bool v);
void pq_thrift_double(struct pq_thrift *t, int16_t id, double v);
void pq_thrift_binary(struct pq_thrift *t, int16_t id, const void *p, size_t n);
static inline void pq_thrift_string(struct pq_thrift *t, int16_t id, const char *s)
{
    pq_thrift_binary(t, id, s, strlen(s));
}
/* A struct-valued field: writes the header and opens the struct (close with pq_thrift_end). */
void pq_thrift_struct(struct pq_thrift *t, int16_t id);
/* A list-valued field of n elements of type etype; write the elements right after. */
void pq_thrift_list(struct pq_thrift *t, int16_t id, enum pq_ttype etype, size_t n);
void pq_thrift_elem_i32(struct pq_thrift *t, int32_t v);
void pq_thrift_elem_i64(struct pq_thrift *t, int64_t v);
void pq_thrift_elem_bool(struct pq_thrift *t, bool v);
void pq_thrift_elem_binary(struct pq_thrift *t, const void *p, size_t n);

/* ---- RLE / bit-packed hybrid ----------------------------------------------------------------- */
/* Bits needed for values up to max (0 for 0). */
int pq_bit_width(uint32_t max);
/* Encode n values (elem_size 1: uint8_t, 4: uint32_t) of bit_width bits (0..32) as the hybrid
 * (no length prefix, no bit-width byte: callers add what the page layout wants). */
void pq_rle_encode(struct nb_buf *out, const void *values, size_t elem_size, size_t n, int bit_width);

/* ---- the writer ------------------------------------------------------------------------------ */
/* Parquet CompressionCodec values. */
enum nb_parquet_codec {
    NB_PQ_UNCOMPRESSED = 0, NB_PQ_SNAPPY = 1, NB_PQ_GZIP = 2, NB_PQ_ZSTD = 6, NB_PQ_LZ4_RAW = 7,
};

struct nb_parquet_options {
    enum nb_parquet_codec codec;
    int level;                     /* 0: the codec's default */
    uint64_t row_group_rows;       /* a row group ends at this many rows ... */
    uint64_t row_group_bytes;      /* ... or when its buffered pages reach this many bytes */
    uint64_t page_size;            /* a data page ends past this many value bytes ... */
    uint32_t page_rows;            /* ... or this many rows (bounds all-null/tiny-value pages) */
    bool dictionary;               /* try dictionary encoding first (not for bool) */
    uint64_t dictionary_page_size; /* past this the column chunk falls back to PLAIN */
    bool page_index;               /* write ColumnIndex + OffsetIndex */
};

/* The format option keys (part of a connector spec through NB_KEY_INCLUDE). */

extern const struct nb_config_key nb_parquet_format_keys[];

void nb_parquet_options_default(struct nb_parquet_options *o);
/* "none|uncompressed|snappy|gzip|zstd|lz4_raw" */
bool nb_parquet_codec_parse(const char *name, enum nb_parquet_codec *out);

struct nb_parquet_writer;
/* Writes the leading magic; schema is retained. */
nb_status nb_parquet_writer_open(struct nb_parquet_writer **out, const struct nb_parquet_options *opt,
                                 struct nb_ostream *os, struct nb_schema *schema, struct nb_error *err);
/* Append a batch (same schema). Row groups are written to the ostream as they fill. */
nb_status nb_parquet_writer_write(struct nb_parquet_writer *w, const struct nb_batch *b, struct nb_error *err);
/* The same, with `encoded` from nb_parquet_encode for this batch (on any thread), or NULL. */
nb_status nb_parquet_writer_write_encoded(struct nb_parquet_writer *w, const struct nb_batch *b,
                                          const struct nb_buf *encoded, struct nb_error *err);
/* Thread-safe, from the options and the batch alone: the per-value work of a write (parsing, null
 * checks, UTF-8 validation, dictionary hashes) into out. NB_DONE when the batch has a value that does
 * not fit: then the writer finds it again and names its row. */
nb_status nb_parquet_encode(const struct nb_parquet_options *opt, const struct nb_batch *b, struct nb_buf *out);
/* End the current row group now (if it has rows). */
nb_status nb_parquet_writer_flush(struct nb_parquet_writer *w, struct nb_error *err);
/* Last row group, page indexes and footer. The ostream is finished by the caller. */
nb_status nb_parquet_writer_finish(struct nb_parquet_writer *w, struct nb_error *err);
void nb_parquet_writer_destroy(struct nb_parquet_writer *w);   /* accepts NULL */
/* Rows accepted so far and row groups written so far. */
uint64_t nb_parquet_writer_rows(const struct nb_parquet_writer *w);
size_t nb_parquet_writer_row_groups(const struct nb_parquet_writer *w);

#endif
