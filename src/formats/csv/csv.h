/* CSV reading and writing (RFC 4180 plus the usual dialect options, DESIGN.md §5). The reader is
 * split so that a file source can run it in pieces: scan (find record boundaries, reader thread),
 * decode (a chunk of whole records -> TEXT columns, any worker thread), infer (schema from a sample).
 * The block classifier has a portable C path and SSE2/AVX2 paths chosen at run time. */
#ifndef NB_FORMATS_CSV_CSV_H
#define NB_FORMATS_CSV_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/bad_record.h"
#include "batch/batch.h"
#include "core/config.h"
#include "core/error.h"

#define NB_CSV_MAX_NULL_VALUES 32
#define NB_CSV_DEFAULT_MAX_RECORD (64u * 1024u * 1024u)

struct nb_csv_dialect {
    char delimiter;            /* ',' */
    char quote;                /* '"'; '\0' = quoting off */
    char escape;               /* == quote: doubled quotes (RFC 4180); else escape char inside quotes */
    bool header;               /* first record (after skip_rows) names the columns */
    size_t skip_rows;          /* physical lines skipped before the header/data */
    char comment[8];           /* lines starting with this are skipped ("" = none) */
    size_t n_null_values;      /* unquoted fields equal to one of these are null */
    char *null_values[NB_CSV_MAX_NULL_VALUES];
    size_t max_record_size;    /* a record longer than this is an error naming its line */
};

/* Defaults: ',' '"' '"' header=true, no comment, 64 MiB records. */
void nb_csv_dialect_init(struct nb_csv_dialect *d);
/* Fill from config keys (delimiter, quote, escape, header, skip_rows, comment, null_values,
 * max_record_size); errors name the key. Strings are copied (free with nb_csv_dialect_cleanup). */
nb_status nb_csv_dialect_from_cfg(struct nb_csv_dialect *d, const struct nb_cfg *cfg, struct nb_error *err);
void nb_csv_dialect_cleanup(struct nb_csv_dialect *d);

/* ---- the block classifier (exposed for tests and the fuzzer) ----------------------------- */
enum nb_csv_isa { NB_CSV_ISA_PLAIN = 0, NB_CSV_ISA_SSE2, NB_CSV_ISA_AVX2 };
/* The best path this CPU has, unless NB_CSV_FORCE_PLAIN is set in the environment or forced. */
enum nb_csv_isa nb_csv_isa_active(void);
/* Force a path (tests); NB_CSV_ISA_AVX2 falls back when the CPU lacks it. Returns the one in use. */
enum nb_csv_isa nb_csv_isa_force(enum nb_csv_isa isa);
const char *nb_csv_isa_name(enum nb_csv_isa isa);

/* Bits for 64 bytes at p (all readable): quote, delimiter, LF and CR positions. */
struct nb_csv_masks { uint64_t quote, delim, lf, cr; };
void nb_csv_classify(enum nb_csv_isa isa, const char *p, char quote, char delim, struct nb_csv_masks *m);
/* Inclusive prefix XOR of bits (bit i = parity of bits 0..i), by carry-less multiply when possible. */
uint64_t nb_csv_prefix_xor(enum nb_csv_isa isa, uint64_t bits);
/* Both for one full block: classify 64 bytes, return the in-quotes mask (bit i set for a byte
 * inside quotes, quote bytes that open a field included) and carry the quote state to the next
 * block (*carry: all ones when the block ends inside quotes). */
uint64_t nb_csv_block(enum nb_csv_isa isa, const char *p, char quote, char delim, struct nb_csv_masks *m,
                      uint64_t *carry);
/* nb_csv_block for nblocks consecutive full blocks at p: masks in m[i], in-quotes masks in inq[i]. */
void nb_csv_blocks(enum nb_csv_isa isa, const char *p, size_t nblocks, char quote, char delim, struct nb_csv_masks *m,
                   uint64_t *inq, uint64_t *carry);
/* The same with only the LF mask (*lf), for the record-boundary scan. */
uint64_t nb_csv_block_lf(enum nb_csv_isa isa, const char *p, char quote, uint64_t *lf, uint64_t *carry);
void nb_csv_blocks_lf(enum nb_csv_isa isa, const char *p, size_t nblocks, char quote, uint64_t *lf, uint64_t *inq,
                      uint64_t *carry);

/* ---- scanning: record boundaries ------------------------------------------------------- */
struct nb_csv_scan {
    size_t consumed;     /* bytes of complete records (ends just after an LF, or at n when eof) */
    size_t records;      /* records in them (comment lines and blank lines count as records) */
    uint64_t lines;      /* LF bytes in them */
};
/* buf[0..n) starts at a record boundary. Stops after max_records records. eof: the bytes end the
 * input, so a last record without newline counts. Errors (NB_ERR_INVALID): an unterminated quote at
 * eof; `where` + first_line name the place ("data.csv" and the line of buf[0]). */
nb_status nb_csv_scan_records(const struct nb_csv_dialect *d, const char *buf, size_t n, bool eof,
                              size_t max_records, struct nb_csv_scan *out, const char *where,
                              uint64_t first_line, struct nb_error *err);
/* At the start of a file: BOM, skip_rows lines, then (header true) comment lines and the header
 * record. *skip: bytes to skip (header included), *lines: LFs in them, *header_at: offset of the
 * header record (SIZE_MAX: none). NB_AGAIN: more input needed (only when !eof). */
nb_status nb_csv_preamble(const struct nb_csv_dialect *d, const char *buf, size_t n, bool eof, size_t *skip,
                          uint64_t *lines, size_t *header_at, struct nb_error *err);

/* ---- decoding ---------------------------------------------------------------------------- */
struct nb_csv_chunk {
    const char *data;          /* whole records */
    size_t len;
    const char *where;         /* file name for messages */
    const char *stream;
    uint64_t first_line;       /* 1-based line of data[0] */
    uint64_t first_offset;     /* byte offset of data[0] in its file */
    size_t expected_rows;      /* hint for reservation (0 = unknown) */
};
/* Decode into b, whose schema is already set (column count fixed). Values go to TEXT columns;
 * a value that does not fit a non-string column's type is kept and marked as a mismatch.
 * A bad record (ragged, bad quoting, invalid UTF-8) is reported to sink (NULL = fail) and dropped. */
nb_status nb_csv_decode(const struct nb_csv_dialect *d, const struct nb_csv_chunk *c, struct nb_batch *b,
                        struct nb_bad_record_sink *sink, struct nb_error *err);
/* Turn the decoder's column-at-a-time path for regular chunks on or off (on by default; tests
 * and nb-bench-csv compare it with the record walk); returns the previous setting. */
bool nb_csv_columnar(bool on);
/* The decoder's type check: nb_value_fits with fast paths for plain integers and decimals
 * (exposed so the tests can hold the two to the same answers). */
bool nb_csv_value_fits(struct nb_type t, const char *s, size_t n);
/* The decoder's full answer for tests: 0 does not fit, 1 fits, 2 fits as a plain JSON number.
 * vector: take the SIMD shortcuts as the decoder does (16 bytes at s must be readable); else
 * the scalar reference only. */
int nb_csv_fit_kind(struct nb_type t, const char *s, size_t n, bool vector);
/* Split the first record of buf (header) into column names. Empty names become columnN, duplicates
 * get a suffix _2, _3... Without a header (d->header false) the names are column1..N. */
nb_status nb_csv_header(const struct nb_csv_dialect *d, const char *buf, size_t n, const char *where,
                        uint64_t line, struct nb_schema **out, struct nb_error *err);

/* Type inference over a sample of whole records (DESIGN.md §5): returns a schema of `names`
 * with inferred types (STRING for every column when infer is false). `explicit_types` (may be
 * NULL) gives a type per column name. Bad records in the sample are ignored for inference. */
struct nb_csv_type_override { const char *name; struct nb_type type; };
nb_status nb_csv_infer(const struct nb_csv_dialect *d, const struct nb_schema *names, const char *buf, size_t n,
                       bool infer, const struct nb_csv_type_override *explicit_types, size_t n_explicit,
                       struct nb_schema **out, struct nb_error *err);

/* ---- writing ------------------------------------------------------------------------------ */
/* The writer's option keys (delimiter, quote, header, quote_all, null_string, newline,
 * on_new_column): nb_format_csv.spec, for connector spec tables. */
extern const struct nb_config_key nb_csv_format_keys[];
struct nb_csv_write_options {
    char delimiter, quote;
    bool header, quote_all, crlf;
    bool ignore_new_columns;   /* a batch with a column the file lacks: drop it (else error) */
    char *null_string;         /* written for null ("" default; an empty string value is "") */
};

#endif
