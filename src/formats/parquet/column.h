/* One column chunk being built: the current page's values and levels, the dictionary, the encoded
 * pages of the row group so far and their statistics. Internal to the Parquet writer. */
#ifndef NB_FORMATS_PARQUET_COLUMN_H
#define NB_FORMATS_PARQUET_COLUMN_H

#include <zlib.h>

#include "formats/parquet/parquet.h"

/* Parquet physical types, encodings and page types (parquet.thrift). */
enum pq_phys { PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_DOUBLE = 5, PQ_BYTE_ARRAY = 6, PQ_FLBA = 7 };
enum pq_encoding { PQ_ENC_PLAIN = 0, PQ_ENC_RLE = 3, PQ_ENC_RLE_DICTIONARY = 8 };
enum pq_page_type { PQ_DATA_PAGE = 0, PQ_DICTIONARY_PAGE = 2 };

/* How a schema type is carried: physical type + conversion from the batch. */
enum pq_kind {
    PK_NULL, PK_BOOL, PK_I32, PK_I64, PK_F64, PK_DEC32, PK_DEC64, PK_DECFIX, PK_BYTES, PK_STRING,
    PK_DATE, PK_TIME, PK_TS,
};

/* Values larger than this are left out of min/max statistics (and the column index). */
#define PQ_STATS_MAX_BYTES 1024

struct pq_stats {
    bool has;               /* min/max hold a non-null, non-NaN value */
    bool too_long;          /* a byte array min/max candidate exceeded PQ_STATS_MAX_BYTES */
    int64_t imin, imax;     /* BOOLEAN, INT32, INT64 */
    double dmin, dmax;      /* DOUBLE */
    struct nb_buf bmin, bmax;   /* BYTE_ARRAY, FLBA */
    uint64_t nulls;
};

struct pq_dict {
    uint32_t *slots;        /* entry index + 1; 0 = empty */
    uint32_t mask;          /* slots - 1 (power of two) */
    uint32_t count, cap;
    uint32_t *hash, *off, *len;   /* per entry: hash, offset of the key bytes in plain, length */
    struct nb_buf plain;    /* the dictionary page body (PLAIN encoded) */
};

struct pq_page_loc {
    uint64_t offset;        /* within the column chunk's data pages (absolute once written) */
    uint32_t size;          /* header + compressed body */
    uint64_t first_row;
};

struct pq_ci_entry {        /* one page of the column index */
    bool null_page;
    uint32_t min_off, min_len, max_off, max_len;   /* into pq_col.ci_bytes */
    uint64_t nulls;
};

/* Shared by all columns of a writer (one thread): options, scratch buffers, compressors. */
struct pq_ctx {
    const struct nb_parquet_options *opt;
    struct nb_buf body, comp, hdr;
    void *zstd;             /* ZSTD_CCtx */
    z_stream z;
    bool z_ready;
};

struct pq_col {
    const char *name;
    struct nb_type type;
    bool optional;
    enum pq_kind kind;
    enum pq_phys phys;
    int type_length;        /* FLBA */
    bool dict_ok;           /* this column may use a dictionary */
    bool fallen;            /* this chunk fell back to PLAIN */
    bool page_dict;         /* the current page is dictionary encoded */

    /* current page */
    struct nb_buf vals;     /* PLAIN values */
    uint32_t *idx;          /* dictionary indices */
    uint8_t *defs;          /* definition levels */
    size_t cap_rows;
    size_t pv, pn;          /* values (with nulls) and non-null values in the page */
    uint64_t page_raw;      /* PLAIN size of the page's values (to judge the dictionary) */
    uint64_t bool_acc;
    int bool_bits;
    struct pq_stats pst;    /* the page's statistics */

    /* current chunk */
    struct pq_dict dict;
    struct nb_buf chunk;    /* data pages, headers included */
    struct nb_buf dictpage; /* the dictionary page (header + body) once the chunk is finished */
    uint64_t values;        /* values in the chunk so far */
    uint64_t uncompressed, compressed;   /* data pages (+ dictionary page when finished) */
    unsigned enc_mask;      /* 1 << encoding */
    struct pq_stats st;
    struct pq_page_loc *pages;
    size_t n_pages, cap_pages;
    struct pq_ci_entry *ci;
    size_t cap_ci;
    struct nb_buf ci_bytes;
    bool ci_valid;
};

nb_status pq_col_init(struct pq_col *c, const struct nb_field *f, const struct nb_parquet_options *opt,
                      struct nb_error *err);
void pq_col_cleanup(struct pq_col *c);
/* Append rows [r0, r1) of batch column `ci` of b. `row_base` is the stream row number of b's row 0. */
nb_status pq_col_write(struct pq_ctx *x, struct pq_col *c, const struct nb_batch *b, size_t col, size_t r0,
                       size_t r1, uint64_t row_base, struct nb_error *err);
/* Finish the current page (if any values). */
nb_status pq_col_finish_page(struct pq_ctx *x, struct pq_col *c, struct nb_error *err);
/* Finish the chunk: last page and the dictionary page. Then dictpage + chunk are the bytes to write. */
nb_status pq_col_finish_chunk(struct pq_ctx *x, struct pq_col *c, struct nb_error *err);
/* Forget the chunk (after it was written) and start the next one. */
void pq_col_reset_chunk(struct pq_col *c);
/* Bytes buffered for this column (row-group memory accounting). */
size_t pq_col_buffered(const struct pq_col *c);
/* Statistics value bytes (PLAIN form, without length) of min or max into out; false when none. */
bool pq_stats_value(const struct pq_col *c, const struct pq_stats *s, bool max, struct nb_buf *out);

void pq_ctx_init(struct pq_ctx *x, const struct nb_parquet_options *opt);
void pq_ctx_cleanup(struct pq_ctx *x);
/* Compress src per the options' codec; *out points at src itself when uncompressed. */
nb_status pq_compress(struct pq_ctx *x, const char *src, size_t n, const char **out, size_t *out_len,
                      struct nb_error *err);

#endif
