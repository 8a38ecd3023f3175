/* The bad-record policy seen from a decoder or writer (DESIGN.md §4): report a record that cannot
 * be taken as it is; the sink answers NB_OK (skipped or dead-lettered: drop the row and go on) or
 * an error that stops the run (policy `fail`, or max_bad_records exceeded). Thread-safe. */
#ifndef NB_BATCH_BAD_RECORD_H
#define NB_BATCH_BAD_RECORD_H

#include <stddef.h>

#include "core/error.h"

struct nb_bad_record {
    const char *stream;
    const char *location;   /* "data/users.csv:12:5" or "table public.users, row 12" */
    const char *reason;     /* "value 'N/A' does not fit int64 (column age)" */
    const char *raw;        /* the record's raw bytes or text, may be NULL */
    size_t raw_len;
};

struct nb_bad_record_sink {
    nb_status (*report)(struct nb_bad_record_sink *sink, const struct nb_bad_record *rec, struct nb_error *err);
};

/* Convenience: sink NULL means policy `fail`. On `fail` the error message is
 * "<location>: <reason>" and the code NB_ERR_INVALID. */
nb_status nb_bad_record_report(struct nb_bad_record_sink *sink, const struct nb_bad_record *rec,
                               struct nb_error *err);

#endif
