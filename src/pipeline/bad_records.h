/* The bad-record policy of a run (DESIGN.md §4): fail, skip (count) or dead_letter (append the raw
 * record, its location and the reason as one NDJSON line), with max_bad_records as a ceiling. */
#ifndef NB_PIPELINE_BAD_RECORDS_H
#define NB_PIPELINE_BAD_RECORDS_H

#include <pthread.h>
#include <stdio.h>

#include "batch/bad_record.h"
#include "connectors/connector.h"

struct nb_bad_records {
    struct nb_bad_record_sink sink;     /* first: handed to connectors as a sink */
    enum nb_bad_policy policy;
    uint64_t max;                       /* 0 = no ceiling */
    const char *dead_letter_path;
    FILE *dead_letter;
    pthread_mutex_t lock;
    uint64_t count;
};

nb_status nb_bad_records_init(struct nb_bad_records *b, const struct nb_run_options *opts, struct nb_error *err);
/* Flush the dead-letter file to disk (at checkpoints). */
nb_status nb_bad_records_flush(struct nb_bad_records *b, struct nb_error *err);
void nb_bad_records_cleanup(struct nb_bad_records *b);
uint64_t nb_bad_records_count(struct nb_bad_records *b);

#endif
