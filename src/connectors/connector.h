/* The connector interface (DESIGN.md §6): one const struct nb_connector_ops per connector, listed in
 * connectors/registry.c. A connector is a source, a destination or both; its spec tables validate
 * its config section and are what `nebula spec` prints.
 *
 * Threads: the engine calls a source's functions from one thread (the reader) and a destination's
 * write/commit/end_stream from one thread (the committer); encode may run on several workers. */
#ifndef NB_CONNECTORS_CONNECTOR_H
#define NB_CONNECTORS_CONNECTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "batch/bad_record.h"
#include "batch/batch.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/error.h"

/* Run options every connector may honour (DESIGN.md §1), after flags/file/defaults are merged. */
enum nb_bad_policy { NB_BAD_FAIL = 0, NB_BAD_SKIP, NB_BAD_DEAD_LETTER };
enum nb_new_column_policy { NB_NEW_COLUMN_ADD = 0, NB_NEW_COLUMN_IGNORE, NB_NEW_COLUMN_FAIL };
enum nb_type_change_policy { NB_TYPE_CHANGE_WIDEN = 0, NB_TYPE_CHANGE_FAIL };
enum nb_storage_mode { NB_STORAGE_AUTO = 0, NB_STORAGE_ROW, NB_STORAGE_COLUMNAR };

struct nb_run_options {
    const char *pipeline_name;
    size_t batch_size;                /* rows per batch */
    unsigned workers;                 /* worker threads (parse/convert/encode) */
    unsigned max_concurrency;         /* parallel requests/uploads a connector may run */
    uint64_t flush_interval_ms;       /* a partial batch is emitted after this long */
    uint64_t timeout_ms;              /* whole run; 0 = none */
    uint64_t memory_limit;            /* bytes of batches in flight */
    uint64_t connect_timeout_ms, request_timeout_ms, idle_timeout_ms;
    enum nb_storage_mode storage;
    enum nb_bad_policy on_bad_record;
    const char *dead_letter_path;
    uint64_t max_bad_records;         /* 0 = unlimited for skip/dead_letter */
    enum nb_new_column_policy on_new_column;
    enum nb_type_change_policy on_type_change;
    const char *state_path;           /* NULL: no state, no resume */
};

/* The saved state of one stream, as the engine hands it to a connector when resuming. */
struct nb_stream_state {
    const char *stream;
    const char *source_position;     /* JSON text saved from nb_batch.position, or NULL */
    const char *destination_state;   /* JSON text a destination returned from commit, or NULL */
    bool done;                       /* an earlier run finished this stream's output */
};

struct nb_file_access;
struct nb_context {
    const struct nb_cfg *config;          /* this connector's section (validated against its spec) */
    const struct nb_run_options *options;
    struct nb_bad_record_sink *bad;       /* the bad-record policy */
    const struct nb_stream_state *state;  /* saved stream states (resume), n_state of them */
    size_t n_state;
    atomic_bool *cancel;                  /* set on SIGINT/SIGTERM/timeout: return NB_ERR_CANCELLED soon */
    /* Where file sources list and open their files (connectors/common/file_source.h); NULL = the
     * local file system. An object-store source composes a file source with its own. */
    const struct nb_file_access *files;
};
/* The saved state of `stream`, or NULL. */
const struct nb_stream_state *nb_context_state(const struct nb_context *ctx, const char *stream);
static inline bool nb_context_cancelled(const struct nb_context *ctx)
{
    return ctx->cancel && atomic_load_explicit(ctx->cancel, memory_order_relaxed);
}
/* storage.mode row (DESIGN.md §3): a streaming source hands over each committed transaction at
 * once instead of filling batches, and the engine commits it at once: the lowest latency per
 * record, at the cost of small batches. (Batches keep their columnar layout; they are just short.) */
static inline bool nb_context_row_mode(const struct nb_context *ctx)
{
    return ctx->options && ctx->options->storage == NB_STORAGE_ROW;
}

#define NB_SOURCE      0x1u
#define NB_DESTINATION 0x2u

/* Capabilities, shown by `nebula list`. */
#define NB_CAP_FULL_REFRESH 0x01u
#define NB_CAP_INCREMENTAL  0x02u
#define NB_CAP_CDC          0x04u
#define NB_CAP_RESUME       0x08u   /* resumes from a saved position */
#define NB_CAP_EXACTLY_ONCE 0x10u   /* idempotent commits (destination) */
#define NB_CAP_SCHEMA_EVOLUTION 0x20u

struct nb_source_ops {
    const struct nb_config_key *spec;
    nb_status (*open)(void **self, const struct nb_context *ctx, struct nb_error *err);
    /* Can we connect and read? Nothing is moved. NULL: a successful open is the check. */
    nb_status (*check)(void *self, struct nb_error *err);
    /* Streams and their schemas as JSON: {"streams":[{"name":..,"schema":[..],...}]}. */
    nb_status (*discover)(void *self, struct nb_buf *json, struct nb_error *err);
    /* The next batch of any stream, rows in source order per stream. NB_OK with *out set;
     * NB_AGAIN when nothing arrived for a while (lets the engine flush and check for cancel);
     * NB_DONE when every stream is finished. Each batch has stream, schema (or raw + decode),
     * and position (JSON, the place after its last row). A stream's last batch has end_of_stream. */
    nb_status (*read)(void *self, struct nb_batch **out, struct nb_error *err);
    /* The engine has saved `position` of `stream` after the destination made it durable: a
     * CDC source confirms it to the server now (never earlier). May be NULL. */
    nb_status (*ack)(void *self, const char *stream, const char *position, struct nb_error *err);
    /* Optional: how far the source has got, for the progress line (bytes or rows; total 0 =
     * unknown). Called from the reader thread between reads. */
    bool (*progress)(void *self, uint64_t *done, uint64_t *total);
    /* Optional (change data capture): seconds between the newest change the server has and the
     * last one this source has delivered; false while unknown. Called from the reader thread. */
    bool (*lag)(void *self, double *seconds);
    void (*close)(void *self);
};

struct nb_destination_ops {
    const struct nb_config_key *spec;
    /* true: values that do not fit their type are bad records (typed formats, databases). */
    bool typed;
    nb_status (*open)(void **self, const struct nb_context *ctx, struct nb_error *err);
    nb_status (*check)(void *self, struct nb_error *err);
    /* Optional, thread-safe: encode a batch on a worker (bytes handed to write). */
    nb_status (*encode)(void *self, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err);
    /* In order per stream. The first batch of a stream opens it (resuming from
     * nb_context_state(...)->destination_state when there is one). */
    nb_status (*write)(void *self, const struct nb_batch *b, const struct nb_buf *encoded, struct nb_error *err);
    /* Make everything written to `stream` durable, and describe it as JSON in dest_state (e.g.
     * {"partial":"out.json.nebula-partial","length":1234,"rows":10}) for a later resume. */
    nb_status (*commit)(void *self, const char *stream, struct nb_buf *dest_state, struct nb_error *err);
    /* Optional: after a write, true when the destination wants `stream` committed now rather than
     * at the next flush_interval (a file reached its rotation limit). */
    bool (*wants_commit)(void *self, const char *stream);
    /* Optional: bytes that reached the destination so far (after compression), for the summary;
     * without it the engine counts the bytes encode() produced. Called by the committer. */
    uint64_t (*bytes_written)(void *self);
    /* The stream is complete: finalise (footer, rename, complete the upload). */
    nb_status (*end_stream)(void *self, const char *stream, struct nb_error *err);
    /* Close. success=false: a failed or interrupted run; keep_partial says whether a later run
     * will resume (state is kept): then partial outputs stay under their partial names, else
     * they are removed. Never leaves an output that looks complete. */
    void (*close)(void *self, bool success, bool keep_partial);
};

struct nb_connector_ops {
    const char *name;
    const char *description;
    unsigned kinds;                  /* NB_SOURCE | NB_DESTINATION */
    unsigned source_caps, destination_caps;
    const struct nb_source_ops *source;          /* NULL if not a source */
    const struct nb_destination_ops *destination;/* NULL if not a destination */
};

const struct nb_connector_ops *nb_connector_find(const char *name);
/* The registry, NULL-terminated. */
const struct nb_connector_ops *const *nb_connectors(void);

#endif
