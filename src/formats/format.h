/* Format writers: batches -> bytes on an nb_ostream, with no I/O policy of their own
 * (DESIGN.md §2). One ops struct per format, found by name in formats/registry.c. */
#ifndef NB_FORMATS_FORMAT_H
#define NB_FORMATS_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

#include "batch/bad_record.h"
#include "batch/batch.h"
#include "core/buf.h"
#include "core/config.h"
#include "io/stream.h"

struct nb_format_resume {
    bool resuming;            /* continuing a partial file: no header / opening bracket again */
    uint64_t rows_written;    /* rows already in the file */
};

struct nb_format_ops {
    const char *name;                       /* "csv", "json", "parquet", "avro" */
    const char *extension;                  /* ".csv" ... */
    const struct nb_config_key *spec;       /* the format's option keys (part of the connector spec) */
    /* true: a value that does not fit its type is written as text (CSV, JSON);
     * false: typed format, such rows are bad records the engine handles before write. */
    bool keeps_mismatches_as_text;
    /* true: a partial file can be truncated to a checkpoint and appended to (see stream.h). */
    bool resumable;
    /* true: the format compresses its pages/blocks inside the file (Parquet, Avro), so no codec is
     * put around the whole file; its `compression`/`codec` keys are its own. */
    bool compresses_itself;

    nb_status (*options_create)(const struct nb_cfg *cfg, void **options, struct nb_error *err);
    void (*options_destroy)(void *options);

    /* Optional and thread-safe: encode a batch into bytes on a worker thread, from options and the
     * batch alone. Then write() receives the bytes (`encoded`) in order and only frames them. */
    nb_status (*encode)(const void *options, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err);

    nb_status (*writer_open)(void **writer, const void *options, struct nb_ostream *os, struct nb_schema *schema,
                             const struct nb_format_resume *resume, struct nb_error *err);
    /* In order. `encoded` is the output of encode() for this batch, or NULL. A batch whose schema
     * differs from the writer's (a new column) is handled here: accepted (JSON) or an error that
     * names the column and the policy to choose. */
    nb_status (*writer_write)(void *writer, const struct nb_batch *b, const struct nb_buf *encoded,
                              struct nb_error *err);
    /* Push buffered rows to the ostream (row-group/block boundary where the format has one). */
    nb_status (*writer_flush)(void *writer, struct nb_error *err);
    /* Write the trailer/footer. The ostream is finished by the caller. */
    nb_status (*writer_finish)(void *writer, struct nb_error *err);
    void (*writer_destroy)(void *writer);
};

const struct nb_format_ops *nb_format_find(const char *name);
/* By the path's extension after stripping a compression extension (".csv.gz" -> csv). */
const struct nb_format_ops *nb_format_for_path(const char *path);

extern const struct nb_format_ops nb_format_csv;
extern const struct nb_format_ops nb_format_json;
extern const struct nb_format_ops nb_format_parquet;
extern const struct nb_format_ops nb_format_avro;

#endif
