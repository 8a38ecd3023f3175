/* One column chunk being built: the current page's values and levels, the dictionary, the encoded
 * pages of the row group so far and their statistics. Internal to the Parquet writer. */
#ifndef NB_FORMATS_PARQUET_COLUMN_H
#define NB_FORMATS_PARQUET_COLUMN_H

#include <pthread.h>
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
    /* open addressing; a slot is (hash << 32 | entry + 1), 0 = empty: a probe compares hashes
     * without touching the entries */
    uint64_t *slots;
    uint32_t mask;          /* slots - 1 (power of two) */
    uint32_t count, cap;
    uint64_t *ent;          /* per entry: offset of the key bytes in plain | length << 32 */
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

/* A compressor: codec state, one per thread that compresses. */
struct pq_comp {
    const struct nb_parquet_options *opt;
    void *zstd;             /* ZSTD_CCtx */
    z_stream z;
    bool z_ready;
};

struct pq_col;

/* One page on its way to the file: made by the committer, compressed by a pool thread (or right
 * away when there is none), then added to its column chunk in the order the pages were made
 * (pq_col_page_done), so the bytes never depend on which thread was faster. */
struct pq_job {
    struct pq_col *col;
    enum pq_page_type type;
    enum pq_encoding enc;
    size_t num_values;
    size_t page;            /* data page: its index in col->pages */
    struct nb_buf body;     /* a data page's body (the slot keeps the buffer for its next page) */
    const char *src;        /* what to compress: body, or the column's dictionary */
    size_t src_len;
    struct nb_buf cbuf;     /* the compressed bytes */
    const char *out;        /* the page's stored bytes: cbuf, or src when uncompressed */
    size_t out_len;
    nb_status st;
    struct nb_error err;
    bool done;
};

#define PQ_JOBS 8            /* pages in flight at most (and PQ_INFLIGHT_MIN bytes, or 4 pages) */
#define PQ_INFLIGHT_MIN (8u << 20)
#define PQ_THREADS_MAX 2

/* Shared by all columns of a writer: options, the header scratch buffer, and the pages being
 * compressed: a ring [head, tail) in order, of which [next, tail) no thread has taken yet. */
struct pq_ctx {
    const struct nb_parquet_options *opt;
    struct nb_buf hdr;
    struct pq_comp comp;    /* the committer's own, when no thread compresses */
    struct pq_job jobs[PQ_JOBS];
    size_t head, next, tail;
    size_t inflight;        /* source bytes of the pages in the ring */
    int n_threads, started;
    bool stop, sync_ready;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pthread_t threads[PQ_THREADS_MAX];
    struct pq_comp tcomp[PQ_THREADS_MAX];
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
    uint64_t made;          /* page bytes made so far, before compression: known when a page is
                             * made, so row groups are cut the same whatever the threads' timing */
    unsigned enc_mask;      /* 1 << encoding */
    struct pq_stats st;
    struct pq_page_loc *pages;
    size_t n_pages, cap_pages;
    struct pq_ci_entry *ci;
    size_t cap_ci;
    struct nb_buf ci_bytes;
    bool ci_valid;
};

/* How a field is carried: kind, physical type and (FLBA) length; an error for a type Parquet output
 * cannot carry. One place for pq_col_init and the batch encoder. */
nb_status pq_kind_of(const struct nb_field *f, enum pq_kind *kind, enum pq_phys *phys, int *type_length,
                     struct nb_error *err);
/* Bytes per value in the encoded batch's values array (0: taken from the batch as is). */
size_t pq_kind_width(enum pq_kind kind, int type_length);
/* Whether a column of this kind may use a dictionary (then the encoder hashes its values). */
bool pq_kind_dict_ok(const struct nb_parquet_options *opt, enum pq_kind kind, enum pq_phys phys);

/* The dictionary's hash of a value's bytes (fixed-width values: their PLAIN bytes). Computed by the
 * batch encoder, which may run on a worker thread, so the committer only probes. */
static inline uint32_t pq_hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t t = 0;
    if (n >= 8) {
        if (n > i) memcpy(&t, p + n - 8, 8);   /* the last 8 bytes, overlapping: no variable-length copy */
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        t = (uint64_t)hi << 32 | lo;
    } else if (n) {
        t = (uint64_t)(unsigned char)p[0] << 16 | (uint64_t)(unsigned char)p[n / 2] << 8 | (unsigned char)p[n - 1];
    }
    h = (h ^ t) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

/* ---- the encoded batch (encode.c) ----------------------------------------------------------------
 * A batch's values in their physical form, indexed by row (null rows' slots are unused), and the
 * dictionary hash of each value: the per-value work that needs no writer state, done by the format's
 * `encode` op on a worker thread (or by the writer itself when there is no such buffer). Byte-array
 * values stay in the batch, validated (UTF-8) and hashed. */
struct pq_enc_col {
    const uint8_t *vals;    /* NULL for byte arrays and the null type */
    const uint32_t *hash;   /* NULL when the column has no dictionary */
    size_t width;           /* bytes per value in vals */
};
/* Encode all of b into out (reset first). Errors name the column and the stream row
 * (row_base + row + 1); the worker side, which knows no row_base, passes err = NULL and gives up on
 * any error, so the writer encodes the batch again and reports the exact place. */
nb_status pq_encode_batch(const struct nb_parquet_options *opt, const struct nb_batch *b, uint64_t row_base,
                          struct nb_buf *out, struct nb_error *err);
/* Views of out's columns when it is an encoding of b with ncols columns; false when it is not. */
bool pq_enc_view(const struct nb_buf *enc, const struct nb_batch *b, size_t ncols, struct pq_enc_col *cols);

nb_status pq_col_init(struct pq_col *c, const struct nb_field *f, const struct nb_parquet_options *opt,
                      struct nb_error *err);
void pq_col_cleanup(struct pq_col *c);
/* Append rows [r0, r1) of batch column bc, encoded as ec (see pq_encode_batch: values parsed, nulls
 * checked against the column's nullability). */
nb_status pq_col_append(struct pq_ctx *x, struct pq_col *c, const struct nb_column *bc, const struct pq_enc_col *ec,
                        size_t r0, size_t r1, struct nb_error *err);
/* Finish the current page (if any values): hand it to the ctx for compression. */
nb_status pq_col_finish_page(struct pq_ctx *x, struct pq_col *c, struct nb_error *err);
/* Finish the chunk: last page and the dictionary page. After pq_ctx_drain, dictpage + chunk are the
 * bytes to write. */
nb_status pq_col_finish_chunk(struct pq_ctx *x, struct pq_col *c, struct nb_error *err);
/* Forget the chunk (after it was written) and start the next one. */
void pq_col_reset_chunk(struct pq_col *c);
/* Bytes buffered for this column (row-group memory accounting). */
size_t pq_col_buffered(const struct pq_col *c);
/* Statistics value bytes (PLAIN form, without length) of min or max into out; false when none. */
bool pq_stats_value(const struct pq_col *c, const struct pq_stats *s, bool max, struct nb_buf *out);

/* Starts the compressing threads when the codec compresses and there is more than one CPU (else,
 * or when a thread cannot start, pages are compressed by the caller as they are made). */
void pq_ctx_init(struct pq_ctx *x, const struct nb_parquet_options *opt);
void pq_ctx_cleanup(struct pq_ctx *x);   /* stops the threads; pages in flight are dropped */
/* A free slot for the next page: may wait for the oldest page and add it to its chunk. */
nb_status pq_ctx_job(struct pq_ctx *x, struct pq_job **out, struct nb_error *err);
/* Hand the filled slot over for compression. */
void pq_ctx_submit(struct pq_ctx *x, struct pq_job *j);
/* Wait for every page in flight and add each to its chunk, in order. */
nb_status pq_ctx_drain(struct pq_ctx *x, struct nb_error *err);
/* A compressed page's place in its chunk (column.c): header + bytes, offsets and sizes. */
nb_status pq_col_page_done(struct pq_ctx *x, struct pq_job *j, struct nb_error *err);

void pq_comp_init(struct pq_comp *k, const struct nb_parquet_options *opt);
void pq_comp_cleanup(struct pq_comp *k);
/* Compress src per the options' codec into dst; *out points at src itself when uncompressed. */
nb_status pq_compress(struct pq_comp *k, const char *src, size_t n, struct nb_buf *dst, const char **out,
                      size_t *out_len, struct nb_error *err);

#endif
