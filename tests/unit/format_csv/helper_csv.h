/* Test helpers for the CSV format: read a whole text the way a file source does (preamble, header,
 * inference, chunks of records) and render batches as comparable text. */
#ifndef NB_TEST_HELPER_CSV_H
#define NB_TEST_HELPER_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "formats/csv/csv.h"

/* Bad records collected by a sink. */
struct collect_sink {
    struct nb_bad_record_sink base;
    size_t count;
    struct nb_buf log;     /* "location: reason\n" per record */
};
void collect_sink_init(struct collect_sink *s);
void collect_sink_cleanup(struct collect_sink *s);

struct read_result {
    struct nb_schema *schema;
    struct nb_buf rows;     /* one line per row: values joined by '|', null as <N>, mismatch as !v */
    size_t n_rows, n_batches;
};
/* Read `text` as a whole file. chunk_records: records per decode call; chunk_bytes: the source's
 * read size (scan windows). sink may be NULL (fail). */
nb_status read_csv(const struct nb_csv_dialect *d, const char *text, size_t len, bool infer, size_t chunk_records,
                   size_t chunk_bytes, struct nb_bad_record_sink *sink, struct read_result *out, struct nb_error *err);
void read_result_cleanup(struct read_result *r);
/* Render the rows of one batch into out (appended). */
void render_batch(const struct nb_batch *b, struct nb_buf *out);

#endif
