/* The JSON format module: the writer (nb_format_json in formats/format.h) and the reader the json
 * connector uses (a top-level array of objects or NDJSON, auto-detected, one record at a time over
 * a refillable buffer, with schema inference over a sample). No I/O policy here: the caller opens
 * the input (and reopens it to resume) and turns positions into state. */
#ifndef NB_FORMATS_JSON_FORMAT_H
#define NB_FORMATS_JSON_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch/bad_record.h"
#include "batch/batch.h"
#include "core/buf.h"
#include "core/config.h"
#include "formats/format.h"
#include "io/stream.h"

enum nb_json_layout { NB_JSON_LAYOUT_AUTO = 0, NB_JSON_LAYOUT_ARRAY, NB_JSON_LAYOUT_LINES };

/* The `format` key (auto|array|lines), shared by the json source and destination specs. */
extern const struct nb_config_key nb_json_format_keys[];
/* True for a path ending .ndjson or .jsonl (after a compression extension is stripped). */
bool nb_json_path_is_lines(const char *path);
/* What encode() produces for a layout: rows as objects, joined by ",\n" (array) or each ending
 * "\n" (lines). Exposed for tests and benchmarks. */
nb_status nb_json_encode_rows(enum nb_json_layout layout, const struct nb_batch *b, struct nb_buf *out,
                              struct nb_error *err);

/* ---- reader ------------------------------------------------------------------------------- */

/* What to do with a key first seen after the inference sample (mirrors schema.on_new_column). */
enum nb_json_new_key { NB_JSON_NEW_KEY_ADD = 0, NB_JSON_NEW_KEY_IGNORE, NB_JSON_NEW_KEY_FAIL };

#define NB_JSON_DEFAULT_INFER_ROWS 10000
#define NB_JSON_DEFAULT_MAX_RECORD (64u << 20)

struct nb_json_reader_options {
    const char *name;                 /* file name for messages and positions */
    const char *stream;               /* stream name put on batches */
    enum nb_json_layout layout;       /* AUTO: '[' as the first non-space byte means array */
    size_t infer_rows;                /* 0 = default */
    size_t max_record_size;           /* 0 = default (64 MiB) */
    size_t batch_size;                /* rows per batch; 0 = 10000 */
    enum nb_json_new_key on_new_key;
    struct nb_bad_record_sink *bad;   /* NULL: policy fail */
    /* Resume: the input is positioned at `offset` (a place a batch position named), with the
     * line and row counters of that place. offset 0 = the start of the file. */
    uint64_t offset, line, row;
};

struct nb_json_reader;

/* Infer the schema from the first infer_rows records of `in` (read from its start) and detect the
 * layout. An empty input gives an empty schema. Bad records in the sample are skipped here (they
 * are reported when the data is read). */
nb_status nb_json_infer(struct nb_istream *in, const struct nb_json_reader_options *opt, struct nb_schema **schema,
                        enum nb_json_layout *layout, struct nb_error *err);

/* The layout of a file from its first non-space byte ('[': array, else lines), reading from the
 * start of `in` (for resuming inside a file whose layout is auto). */
nb_status nb_json_detect_layout(struct nb_istream *in, enum nb_json_layout *layout, struct nb_error *err);

/* A reader over `in` (not owned), positioned as opt->offset says, producing batches of `schema`
 * (retained) in `layout` (not AUTO). */
nb_status nb_json_reader_create(struct nb_json_reader **out, struct nb_istream *in, struct nb_schema *schema,
                                enum nb_json_layout layout, const struct nb_json_reader_options *opt,
                                struct nb_error *err);
/* The next batch (NB_OK, with position and locs set), or NB_DONE at the end of the input. The
 * batch's schema is the reader's current one (it grows when new keys are added). */
nb_status nb_json_reader_next(struct nb_json_reader *r, struct nb_batch **out, struct nb_error *err);
/* Current schema (borrowed). */
struct nb_schema *nb_json_reader_schema(struct nb_json_reader *r);
/* Records read so far that were reported as bad. */
uint64_t nb_json_reader_bad_count(const struct nb_json_reader *r);
void nb_json_reader_destroy(struct nb_json_reader *r);

#endif
