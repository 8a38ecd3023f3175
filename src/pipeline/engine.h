/* The engine (DESIGN.md §4): a reader thread pulls batches from the source into a bounded window,
 * N workers decode/convert/encode them in parallel, and the committer writes them to the destination
 * in read order, checkpoints (destination commit -> state saved -> source ack) and finishes streams. */
#ifndef NB_PIPELINE_ENGINE_H
#define NB_PIPELINE_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "core/config.h"

struct nb_run_stats {
    uint64_t rows_in;          /* rows the source produced (including bad ones) */
    uint64_t rows_out;         /* rows the destination received */
    uint64_t bytes_in;         /* source bytes (raw input) */
    uint64_t bytes_out;        /* encoded bytes handed to the destination (0 if it encodes itself) */
    uint64_t batches;
    uint64_t bad_records;
    uint64_t checkpoints;
    uint64_t source_done, source_total;   /* source progress (bytes), total 0 = unknown */
    uint64_t streams_skipped;  /* streams a previous run already finished */
    double lag_seconds;        /* CDC sources: how far behind the server's newest change; < 0 unknown */
    double dest_wait_seconds;  /* progress only: time in the destination's current call (0: none) */
    double seconds;
    bool timed_out;
};

typedef void (*nb_progress_fn)(void *user, const struct nb_run_stats *stats);

struct nb_run_request {
    struct nb_cfg *root;                  /* validated pipeline tree (nb_pipeline_options + connectors) */
    const struct nb_run_options *options;
    atomic_bool *cancel;                  /* set by the caller (signals); the engine also sets it on timeout */
    nb_progress_fn progress;              /* optional, called about every progress_interval_ms */
    void *progress_user;
    uint64_t progress_interval_ms;
    /* Optional: connectors to use instead of looking up the sections' `type` in the registry
     * (a program embedding libnebula with its own connector; the engine's tests). */
    const struct nb_connector_ops *source_ops, *destination_ops;
};

/* Run the pipeline to completion, failure or cancellation (NB_ERR_CANCELLED; stats->timed_out
 * tells a --timeout apart from a signal). State is saved and partial outputs kept for a resume. */
nb_status nb_pipeline_run(const struct nb_run_request *req, struct nb_run_stats *stats, struct nb_error *err);

/* `nebula check` and `nebula discover`: open one side and ask it. */
nb_status nb_pipeline_check(struct nb_cfg *root, const struct nb_run_options *opts, bool source, struct nb_error *err);
nb_status nb_pipeline_discover(struct nb_cfg *root, const struct nb_run_options *opts, struct nb_buf *json,
                               struct nb_error *err);

#endif
