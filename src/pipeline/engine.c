/* The engine: reader thread -> bounded window of slots -> worker threads -> in-order committer.
 *
 * Ordering: every batch gets a global sequence number when it is read; workers may finish in any
 * order, the committer writes strictly by sequence number, so rows leave in the order they came,
 * whatever `workers` is. Backpressure: the reader waits while the window is full (batches) or the
 * bytes in flight exceed memory_limit. Checkpoints: destination commit, then the state file, then
 * the ack to the source (handed to the reader thread, which owns the source). */
#include "pipeline/engine.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "pipeline/bad_records.h"
#include "pipeline/state.h"

/* A slot's encoded buffer is reused by its next batch up to this size. */
#define ENCODED_KEEP_MAX ((size_t)16 << 20)

struct slot {
    struct nb_batch *batch;
    struct nb_buf encoded;
    bool has_encoded;
    bool taken;           /* a worker has it */
    bool ready;           /* processed, waiting for the committer */
    nb_status status;
    struct nb_error err;
    size_t bytes;
};

struct stream_track {
    char *name;
    uint64_t seq;                 /* next per-stream sequence number (reader) */
    char *last_position;          /* position of the last batch written (committer) */
    uint64_t rows_uncommitted;
    uint64_t last_commit_ms;      /* when it was last checkpointed (or first seen) */
    bool dirty;                   /* written since the last checkpoint */
    bool skip;                    /* finished by an earlier run */
    bool opened, ended;           /* the destination has seen it / finished it */
    struct nb_metric *m_rows_in, *m_rows_out, *m_bytes_out, *m_batches, *m_checkpoints;
};

struct ack {
    struct ack *next;
    char *stream;
    char *position;
};

struct engine {
    const struct nb_run_request *req;
    const struct nb_run_options *opt;
    const struct nb_connector_ops *src_conn, *dst_conn;
    void *src, *dst;
    struct nb_context src_ctx, dst_ctx;
    struct nb_bad_records bad;
    struct nb_state_store *store;
    struct nb_state state;
    struct nb_stream_state *saved;     /* the state as handed to connectors */
    size_t n_saved;

    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_space, cv_ready, cv_ack;
    struct slot *slots;
    size_t cap;
    uint64_t next_read, next_work, next_commit;
    size_t bytes_inflight;
    bool reader_done, stop, committer_done;
    nb_status reader_status;
    struct nb_error reader_err;
    struct ack *acks;

    struct stream_track *streams;      /* committer's view and reader's seq (both under mu for seq) */
    size_t n_streams, cap_streams;

    struct nb_run_stats stats;         /* the committer's own (no lock) */
    struct nb_run_stats shown;         /* a copy the committer publishes under mu for the reporter */
    bool reporter_stop;
    pthread_cond_t cv_report;
    _Atomic uint64_t dest_since_ms;    /* when the committer entered a destination call, 0 = not in one */
    uint64_t src_done, src_total;      /* reader-updated progress */
    double src_lag;                    /* reader-updated CDC lag, < 0 unknown */
    uint64_t started_ms;
    _Atomic uint64_t read_since_ms;    /* when the reader entered source read(), 0 = not in it */
};

/* ---- streams -------------------------------------------------------------------------------- */
static struct stream_track *track(struct engine *e, const char *name)
{
    for (size_t i = 0; i < e->n_streams; i++)
        if (strcmp(e->streams[i].name, name) == 0) return &e->streams[i];
    if (e->n_streams == e->cap_streams) {
        size_t cap = e->cap_streams ? e->cap_streams * 2 : 8;
        struct stream_track *grown = realloc(e->streams, cap * sizeof *grown);
        if (!grown) return NULL;
        e->streams = grown;
        e->cap_streams = cap;
    }
    struct stream_track *t = &e->streams[e->n_streams];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) return NULL;
    t->last_commit_ms = nb_mono_ms();
    struct nb_state_entry *se = nb_state_find(&e->state, name);
    /* A finished stream of a finite source (files) has nothing more to give: skip it so a rerun
     * leaves its output alone. Sources that keep producing (incremental, CDC) always continue. */
    unsigned continuous = NB_CAP_INCREMENTAL | NB_CAP_CDC;
    t->skip = se && se->done && !(e->src_conn->source_caps & continuous);
    t->m_rows_in = nb_metric_get("nebula_rows_in_total", "Rows read from the source", NB_METRIC_COUNTER, name);
    t->m_rows_out = nb_metric_get("nebula_rows_out_total", "Rows written to the destination", NB_METRIC_COUNTER, name);
    t->m_bytes_out = nb_metric_get("nebula_bytes_out_total", "Bytes written to the destination (after compression)", NB_METRIC_COUNTER, name);
    t->m_batches = nb_metric_get("nebula_batches_total", "Batches committed to the destination", NB_METRIC_COUNTER, name);
    t->m_checkpoints = nb_metric_get("nebula_checkpoints_total", "Checkpoints saved (destination durable, state written)", NB_METRIC_COUNTER, name);
    e->n_streams++;
    return t;
}

/* ---- reader --------------------------------------------------------------------------------- */
static void deliver_acks(struct engine *e)
{
    pthread_mutex_lock(&e->mu);
    struct ack *list = e->acks;
    e->acks = NULL;
    pthread_mutex_unlock(&e->mu);
    /* Oldest first: the list was built newest first. */
    struct ack *rev = NULL;
    while (list) { struct ack *n = list->next; list->next = rev; rev = list; list = n; }
    while (rev) {
        struct ack *n = rev->next;
        if (e->src_conn->source->ack) {
            struct nb_error err = {0};
            if (e->src_conn->source->ack(e->src, rev->stream, rev->position, &err) != NB_OK)
                NB_WARN("engine", "source did not take the checkpoint of %s: %s", rev->stream, err.message);
        }
        free(rev->stream);
        free(rev->position);
        free(rev);
        rev = n;
    }
}

static void reader_fail(struct engine *e, nb_status rc, const struct nb_error *err)
{
    pthread_mutex_lock(&e->mu);
    e->reader_status = rc;
    if (err) e->reader_err = *err;
    e->reader_done = true;
    pthread_cond_broadcast(&e->cv_work);
    pthread_cond_broadcast(&e->cv_ready);
    pthread_mutex_unlock(&e->mu);
}

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(cv, mu, &ts);
}

static void *reader_main(void *arg)
{
    struct engine *e = arg;
    const struct nb_source_ops *so = e->src_conn->source;
    for (;;) {
        deliver_acks(e);
        if (nb_context_cancelled(&e->src_ctx)) { reader_fail(e, NB_ERR_CANCELLED, NULL); break; }
        if (so->progress) {
            uint64_t done = 0, total = 0;
            if (so->progress(e->src, &done, &total)) {
                pthread_mutex_lock(&e->mu);
                e->src_done = done;
                e->src_total = total;
                pthread_mutex_unlock(&e->mu);
            }
        }
        if (so->lag) {
            double lag = 0;
            if (so->lag(e->src, &lag)) {
                pthread_mutex_lock(&e->mu);
                e->src_lag = lag;
                pthread_mutex_unlock(&e->mu);
            }
        }
        pthread_mutex_lock(&e->mu);
        while (!e->stop && (e->next_read - e->next_commit >= e->cap ||
                            (e->bytes_inflight >= e->opt->memory_limit && e->next_read > e->next_commit))) {
            timed_wait(&e->cv_space, &e->mu, 50);
            if (e->acks) break;   /* go deliver them: a CDC source may be waiting for them */
        }
        bool full = e->next_read - e->next_commit >= e->cap ||
                    (e->bytes_inflight >= e->opt->memory_limit && e->next_read > e->next_commit);
        bool stop = e->stop;
        pthread_mutex_unlock(&e->mu);
        if (stop) break;
        if (full) continue;

        struct nb_batch *b = NULL;
        struct nb_error err = {0};
        atomic_store(&e->read_since_ms, nb_mono_ms());
        nb_status rc = so->read(e->src, &b, &err);
        atomic_store(&e->read_since_ms, 0);
        if (rc == NB_AGAIN) continue;
        if (rc == NB_DONE) {
            pthread_mutex_lock(&e->mu);
            e->reader_done = true;
            pthread_cond_broadcast(&e->cv_work);
            pthread_cond_broadcast(&e->cv_ready);
            pthread_mutex_unlock(&e->mu);
            break;
        }
        if (rc != NB_OK || !b) {
            if (rc == NB_OK) nb_error_set(&err, rc = NB_ERR_INTERNAL, "source returned no batch");
            nb_batch_destroy(b);
            reader_fail(e, rc, &err);
            break;
        }
        pthread_mutex_lock(&e->mu);
        struct stream_track *t = track(e, b->stream ? b->stream : "default");
        if (!t) {
            pthread_mutex_unlock(&e->mu);
            nb_batch_destroy(b);
            reader_fail(e, NB_ERR_NOMEM, NULL);
            break;
        }
        b->seq = t->seq++;
        struct slot *s = &e->slots[e->next_read % e->cap];
        memset(&s->err, 0, sizeof s->err);
        s->batch = b;
        s->bytes = nb_batch_bytes(b);
        s->taken = s->ready = s->has_encoded = false;
        e->bytes_inflight += s->bytes;
        e->stats.bytes_in += b->raw_len;
        e->next_read++;
        pthread_cond_signal(&e->cv_work);
        pthread_mutex_unlock(&e->mu);
    }
    /* Keep serving acks until the committer is done: the final checkpoints must reach the source. */
    for (;;) {
        deliver_acks(e);
        pthread_mutex_lock(&e->mu);
        bool done = e->committer_done && !e->acks;
        if (!done && !e->acks) timed_wait(&e->cv_ack, &e->mu, 100);
        pthread_mutex_unlock(&e->mu);
        if (done) break;
    }
    return NULL;
}

/* ---- workers -------------------------------------------------------------------------------- */
static nb_status reject_mismatches(struct engine *e, struct nb_batch *b, struct nb_error *err)
{
    size_t ncols = b->schema ? b->schema->n_fields : 0;
    bool any = false;
    for (size_t c = 0; c < ncols; c++) any |= b->cols[c].mismatch_count > 0;
    if (!any) return NB_OK;
    uint8_t *keep = malloc((b->n_rows + 7) / 8 + 1);
    if (!keep) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    memset(keep, 0xff, (b->n_rows + 7) / 8 + 1);
    nb_status rc = NB_OK;
    for (size_t r = 0; r < b->n_rows && rc == NB_OK; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const struct nb_column *col = &b->cols[c];
            if (!nb_column_is_mismatch(col, r)) continue;
            size_t len;
            const char *v = nb_column_text(col, r, &len);
            char tname[48], loc[512], reason[512];
            nb_type_format(col->type, tname, sizeof tname);
            if (b->locs) snprintf(loc, sizeof loc, "%s:%llu", b->source_name ? b->source_name : b->stream, (unsigned long long)b->locs[r].line);
            else snprintf(loc, sizeof loc, "%s, batch %llu row %zu", b->source_name ? b->source_name : b->stream, (unsigned long long)b->seq, r + 1);
            snprintf(reason, sizeof reason, "column '%s': value '%.*s' is not a valid %s", b->schema->fields[c].name,
                     (int)(len > 200 ? 200 : len), v, tname);
            struct nb_bad_record rec = {b->stream, loc, reason, v, len};
            rc = nb_bad_record_report(&e->bad.sink, &rec, err);
            nb_bit_clear(keep, r);
            b->bad_records++;
            break;
        }
    }
    if (rc == NB_OK) nb_batch_filter(b, keep);
    free(keep);
    return rc;
}

static void *worker_main(void *arg)
{
    struct engine *e = arg;
    const struct nb_destination_ops *dops = e->dst_conn->destination;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (!e->stop && e->next_work == e->next_read && !e->reader_done) pthread_cond_wait(&e->cv_work, &e->mu);
        if (e->stop || e->next_work == e->next_read) {
            pthread_mutex_unlock(&e->mu);
            break;
        }
        struct slot *s = &e->slots[e->next_work % e->cap];
        e->next_work++;
        s->taken = true;
        pthread_mutex_unlock(&e->mu);

        struct nb_batch *b = s->batch;
        nb_status rc = NB_OK;
        if (b->decode) {
            rc = b->decode(b, &s->err);
            b->decode = NULL;
        }
        if (rc == NB_OK && b->schema) rc = nb_batch_check(b, &s->err);
        if (rc == NB_OK && dops->typed) rc = reject_mismatches(e, b, &s->err);
        if (rc == NB_OK && dops->encode && b->schema) {
            /* The slot keeps its buffer from the batch before (see commit_loop): no regrowth, no
             * fresh pages to fault in for every batch. */
            s->encoded.len = 0;
            s->encoded.oom = false;
            nb_status er = dops->encode(e->dst, b, &s->encoded, &s->err);
            if (er == NB_OK) s->has_encoded = true;
            else if (er != NB_DONE) rc = er;
        }
        size_t bytes = nb_batch_bytes(b) + (s->has_encoded ? s->encoded.cap : 0);
        pthread_mutex_lock(&e->mu);
        e->bytes_inflight += bytes - (bytes >= s->bytes ? s->bytes : bytes);
        if (bytes >= s->bytes) s->bytes = bytes;
        s->status = rc;
        s->ready = true;
        pthread_cond_broadcast(&e->cv_ready);
        pthread_mutex_unlock(&e->mu);
    }
    return NULL;
}

/* ---- committer ------------------------------------------------------------------------------ */
static void post_ack(struct engine *e, const char *stream, const char *position)
{
    struct ack *a = calloc(1, sizeof *a);
    if (!a) return;
    a->stream = strdup(stream);
    a->position = strdup(position);
    if (!a->stream || !a->position) { free(a->stream); free(a->position); free(a); return; }
    pthread_mutex_lock(&e->mu);
    a->next = e->acks;
    e->acks = a;
    pthread_cond_broadcast(&e->cv_ack);
    pthread_cond_broadcast(&e->cv_space);
    pthread_mutex_unlock(&e->mu);
}

/* The reporter shows how long the destination has been in its current call. */
static void dest_enter(struct engine *e) { atomic_store(&e->dest_since_ms, nb_mono_ms()); }
static void dest_leave(struct engine *e) { atomic_store(&e->dest_since_ms, 0); }

/* Destination commit -> state saved -> ack. `finished`: the stream is complete. */
static nb_status checkpoint_stream(struct engine *e, struct stream_track *t, bool finished, struct nb_error *err)
{
    const struct nb_destination_ops *dops = e->dst_conn->destination;
    struct nb_buf dstate;
    nb_buf_init(&dstate);
    nb_status rc = NB_OK;
    dest_enter(e);
    rc = finished ? dops->end_stream(e->dst, t->name, err) : dops->commit(e->dst, t->name, &dstate, err);
    dest_leave(e);
    if (!finished && rc == NB_AGAIN) {   /* durable only when finished (e.g. Parquet): nothing to save yet */
        nb_buf_cleanup(&dstate);
        return NB_OK;
    }
    if (rc == NB_OK) rc = nb_bad_records_flush(&e->bad, err);
    if (rc != NB_OK) { nb_buf_cleanup(&dstate); return rc; }
    if (e->store) {
        struct nb_state_entry *se = nb_state_upsert(&e->state, t->name);
        if (!se || (t->last_position && !nb_state_set_text(&se->source_position, t->last_position)) ||
            !nb_state_set_text(&se->destination_state, finished ? NULL : dstate.data)) {
            nb_buf_cleanup(&dstate);
            return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        }
        se->rows += t->rows_uncommitted;
        se->done = finished;
        rc = e->store->ops->save(e->store, &e->state, err);
        if (rc != NB_OK) { nb_buf_cleanup(&dstate); return rc; }
    }
    nb_buf_cleanup(&dstate);
    e->stats.checkpoints++;
    nb_metric_add(t->m_checkpoints, 1);
    t->rows_uncommitted = 0;
    t->last_commit_ms = nb_mono_ms();
    t->dirty = false;
    if (t->last_position) post_ack(e, t->name, t->last_position);
    return NB_OK;
}

/* Bytes out since the last call: what the destination says reached its outputs, or else the
 * encoded bytes of the batch just written (a Parquet encode() is not the file's bytes). */
static uint64_t bytes_out_since(struct engine *e, uint64_t encoded)
{
    const struct nb_destination_ops *dops = e->dst_conn->destination;
    if (!dops->bytes_written) return encoded;
    uint64_t now = dops->bytes_written(e->dst);
    return now > e->stats.bytes_out ? now - e->stats.bytes_out : 0;
}

/* Commit a stream right after this batch instead of at the next flush_interval? Yes when the
 * destination asks (a rotation limit), in storage.mode row (every batch), and in auto when the
 * stream trickles: the source handed over a short batch (it ran dry) and rows arrive slower than
 * a batch a second, so waiting would only add latency (DESIGN.md §3). */
static bool commit_now(struct engine *e, struct stream_track *t, const struct nb_batch *b)
{
    const struct nb_destination_ops *dops = e->dst_conn->destination;
    if (dops->wants_commit && dops->wants_commit(e->dst, t->name)) return true;
    if (e->opt->storage == NB_STORAGE_ROW) return true;
    if (e->opt->storage != NB_STORAGE_AUTO || b->n_rows >= e->opt->batch_size) return false;
    uint64_t elapsed_ms = nb_mono_ms() - t->last_commit_ms;
    return t->rows_uncommitted * 1000 < (uint64_t)e->opt->batch_size * (elapsed_ms ? elapsed_ms : 1);
}

static nb_status checkpoint_all(struct engine *e, struct nb_error *err)
{
    for (size_t i = 0; i < e->n_streams; i++) {
        if (!e->streams[i].dirty) continue;
        nb_status rc = checkpoint_stream(e, &e->streams[i], false, err);
        if (rc != NB_OK) return rc;
    }
    return NB_OK;
}

/* The progress line is drawn by a thread of its own, from the copy the committer publishes after
 * each batch, so it keeps moving (elapsed time, "waiting on the destination") while a destination
 * call stalls on a slow upload or a retry back-off. */
static void *reporter_main(void *arg)
{
    struct engine *e = arg;
    uint64_t interval = e->req->progress_interval_ms ? e->req->progress_interval_ms : 250;
    pthread_mutex_lock(&e->mu);
    for (bool last = false; !last;) {   /* the last drawing shows the final figures */
        if (!e->reporter_stop) timed_wait(&e->cv_report, &e->mu, interval);
        last = e->reporter_stop;
        struct nb_run_stats s = e->shown;
        s.source_done = e->src_done;
        s.source_total = e->src_total;
        s.lag_seconds = e->src_lag;
        pthread_mutex_unlock(&e->mu);
        uint64_t now = nb_mono_ms(), since = atomic_load(&e->dest_since_ms);
        s.dest_wait_seconds = since && now > since ? (double)(now - since) / 1000.0 : 0;
        s.bad_records = nb_bad_records_count(&e->bad);
        s.seconds = (double)(now - e->started_ms) / 1000.0;
        e->req->progress(e->req->progress_user, &s);
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* Returns NB_OK when everything was committed, else the first error; dest_failed tells whether
 * the destination itself failed (then nothing more is committed). */
static nb_status commit_loop(struct engine *e, bool *dest_failed, struct nb_error *err)
{
    const struct nb_destination_ops *dops = e->dst_conn->destination;
    uint64_t last_checkpoint = nb_mono_ms();
    for (;;) {
        uint64_t now = nb_mono_ms();
        if (e->opt->timeout_ms && now - e->started_ms >= e->opt->timeout_ms && !e->stats.timed_out) {
            e->stats.timed_out = true;
            if (e->req->cancel) atomic_store(e->req->cancel, true);
        }
        uint64_t in_read = atomic_load(&e->read_since_ms);
        if (e->opt->idle_timeout_ms && in_read && now > in_read && now - in_read >= e->opt->idle_timeout_ms) {
            nb_status rc = checkpoint_all(e, err);
            if (rc != NB_OK) return rc;
            return nb_error_set(err, NB_ERR_TIMEOUT, "the source has not answered for %llus (timeouts.idle)%s",
                                (unsigned long long)(e->opt->idle_timeout_ms / 1000),
                                e->opt->state_path ? "; progress is saved, run again to continue" : "");
        }
        if (e->req->cancel && atomic_load(e->req->cancel)) {
            nb_status rc = checkpoint_all(e, err);
            if (rc != NB_OK) return rc;
            if (e->stats.timed_out)
                return nb_error_set(err, NB_ERR_CANCELLED, "the run reached timeouts.run (%llus)%s",
                                    (unsigned long long)(e->opt->timeout_ms / 1000),
                                    e->opt->state_path ? "; progress is saved, run again to continue" : "");
            return nb_error_set(err, NB_ERR_CANCELLED, "stopped by a signal%s",
                                e->opt->state_path ? "; progress is saved, run again to continue" : "; nothing was kept");
        }
        if (now - last_checkpoint >= e->opt->flush_interval_ms) {
            nb_status rc = checkpoint_all(e, err);
            if (rc != NB_OK) { *dest_failed = true; return rc; }
            last_checkpoint = now;
        }

        pthread_mutex_lock(&e->mu);
        struct slot *s = &e->slots[e->next_commit % e->cap];
        bool have = e->next_commit < e->next_read && s->ready;
        bool finished = e->reader_done && e->next_commit == e->next_read;
        if (!have && !finished) {
            timed_wait(&e->cv_ready, &e->mu, 50);
            pthread_mutex_unlock(&e->mu);
            continue;
        }
        pthread_mutex_unlock(&e->mu);
        if (finished) {
            if (e->reader_status != NB_OK) {
                nb_status rc = checkpoint_all(e, err);
                if (rc != NB_OK) return rc;
                if (err) *err = e->reader_err;
                return e->reader_status;
            }
            /* The source is done: every stream it wrote is complete now, including those of
             * sources that never mark an end of stream (incremental, CDC until: now). */
            for (size_t i = 0; i < e->n_streams; i++) {
                struct stream_track *st = &e->streams[i];
                if (!st->opened || st->ended) continue;
                nb_status rc = checkpoint_stream(e, st, true, err);
                if (rc != NB_OK) { *dest_failed = true; return rc; }
                st->ended = true;
            }
            return NB_OK;
        }

        struct nb_batch *b = s->batch;
        nb_status rc = s->status;
        if (rc != NB_OK) {
            if (err) *err = s->err;
            nb_status crc = checkpoint_all(e, err ? &(struct nb_error){0} : NULL);
            (void)crc;
            return rc;
        }
        struct stream_track *t = track(e, b->stream ? b->stream : "default");
        if (!t) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        e->stats.rows_in += b->n_rows + b->bad_records;
        e->stats.batches++;
        nb_metric_add(t->m_rows_in, b->n_rows + b->bad_records);
        nb_metric_add(t->m_batches, 1);
        if (!t->skip && b->schema) {
            dest_enter(e);
            rc = dops->write(e->dst, b, s->has_encoded ? &s->encoded : NULL, err);
            dest_leave(e);
            if (rc != NB_OK) { *dest_failed = true; return rc; }
            e->stats.rows_out += b->n_rows;
            nb_metric_add(t->m_rows_out, b->n_rows);
            uint64_t out = bytes_out_since(e, s->has_encoded ? s->encoded.len : 0);
            e->stats.bytes_out += out;
            nb_metric_add(t->m_bytes_out, out);
            t->rows_uncommitted += b->n_rows;
            t->dirty = true;
            t->opened = true;
            if (b->position) {
                free(t->last_position);
                t->last_position = strdup(b->position);
            }
            if (b->end_of_stream) {
                rc = checkpoint_stream(e, t, true, err);
                if (rc != NB_OK) { *dest_failed = true; return rc; }
                t->ended = true;
            } else if (commit_now(e, t, b)) {
                rc = checkpoint_stream(e, t, false, err);
                if (rc != NB_OK) { *dest_failed = true; return rc; }
            }
        } else if (t->skip && b->end_of_stream) {
            NB_INFO("engine", "stream %s was finished by an earlier run (state %s); nothing to do for it",
                    t->name, e->opt->state_path ? e->opt->state_path : "");
            e->stats.streams_skipped++;
        }
        pthread_mutex_lock(&e->mu);
        e->bytes_inflight -= s->bytes <= e->bytes_inflight ? s->bytes : e->bytes_inflight;
        /* Keep the encoded buffer for the slot's next batch unless it is unusually large. */
        if (s->encoded.cap > ENCODED_KEEP_MAX) nb_buf_cleanup(&s->encoded);
        s->encoded.len = 0;
        s->batch = NULL;
        s->ready = s->taken = s->has_encoded = false;
        e->next_commit++;
        e->shown = e->stats;
        pthread_cond_broadcast(&e->cv_space);
        pthread_mutex_unlock(&e->mu);
        nb_batch_destroy(b);
    }
}

/* ---- setup ---------------------------------------------------------------------------------- */

static nb_status load_state(struct engine *e, struct nb_error *err)
{
    nb_state_init(&e->state);
    if (!e->opt->state_path) return NB_OK;
    nb_status rc = nb_state_file_store_create(e->opt->state_path, e->opt->pipeline_name, &e->store, err);
    if (rc == NB_OK) rc = e->store->ops->load(e->store, &e->state, err);
    if (rc != NB_OK) return rc;
    if (e->state.count) {
        e->saved = calloc(e->state.count, sizeof *e->saved);
        if (!e->saved) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < e->state.count; i++) {
            e->saved[i].stream = e->state.entries[i].stream;
            e->saved[i].source_position = e->state.entries[i].source_position;
            e->saved[i].destination_state = e->state.entries[i].destination_state;
            e->saved[i].done = e->state.entries[i].done;
        }
        e->n_saved = e->state.count;
        NB_INFO("engine", "resuming from state %s (%zu streams)", e->opt->state_path, e->state.count);
    }
    return NB_OK;
}

static nb_status find_connector(struct nb_cfg *root, const char *section, const struct nb_connector_ops **out,
                                const struct nb_cfg **cfg, struct nb_error *err)
{
    *cfg = nb_cfg_child(root, section);
    const char *type = nb_cfg_string(*cfg, "type", NULL);
    *out = type ? nb_connector_find(type) : NULL;
    if (!*out) return nb_error_set(err, NB_ERR_CONFIG, "%s: unknown connector type '%s'", section, type ? type : "");
    return NB_OK;
}

nb_status nb_pipeline_run(const struct nb_run_request *req, struct nb_run_stats *stats, struct nb_error *err)
{
    struct engine *e = calloc(1, sizeof *e);
    if (!e) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    e->req = req;
    e->opt = req->options;
    e->started_ms = nb_mono_ms();
    e->src_lag = -1;
    e->stats.lag_seconds = -1;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv_work, NULL);
    pthread_cond_init(&e->cv_space, NULL);
    pthread_cond_init(&e->cv_ready, NULL);
    pthread_cond_init(&e->cv_ack, NULL);
    pthread_cond_init(&e->cv_report, NULL);
    pthread_t reader, reporter, *workers = NULL;
    unsigned n_workers = 0;
    bool reporter_started = false, reader_started = false, dest_failed = false, success = false;
    const struct nb_cfg *src_cfg, *dst_cfg;
    nb_status rc = find_connector(req->root, "source", &e->src_conn, &src_cfg, err);
    if (req->source_ops) { e->src_conn = req->source_ops; rc = NB_OK; }
    if (rc == NB_OK) rc = find_connector(req->root, "destination", &e->dst_conn, &dst_cfg, err);
    if (req->destination_ops) { e->dst_conn = req->destination_ops; rc = NB_OK; }
    if (rc == NB_OK) rc = nb_bad_records_init(&e->bad, e->opt, err);
    if (rc == NB_OK) rc = load_state(e, err);
    if (rc != NB_OK) goto out;

    e->src_ctx = (struct nb_context){src_cfg, e->opt, &e->bad.sink, e->saved, e->n_saved, req->cancel};
    e->dst_ctx = (struct nb_context){dst_cfg, e->opt, &e->bad.sink, e->saved, e->n_saved, req->cancel};
    rc = e->src_conn->source->open(&e->src, &e->src_ctx, err);
    if (rc != NB_OK) { e->src = NULL; nb_error_prefix(err, "source %s: ", e->src_conn->name); goto out; }
    rc = e->dst_conn->destination->open(&e->dst, &e->dst_ctx, err);
    if (rc != NB_OK) { e->dst = NULL; nb_error_prefix(err, "destination %s: ", e->dst_conn->name); goto out; }

    NB_INFO("engine", "%s: %s -> %s, %u workers, batch size %zu, memory limit %llu MiB, flush every %llu ms",
            e->opt->pipeline_name, e->src_conn->name, e->dst_conn->name, e->opt->workers, e->opt->batch_size,
            (unsigned long long)(e->opt->memory_limit >> 20), (unsigned long long)e->opt->flush_interval_ms);
    /* The window: enough batches for every worker to have one in hand and one queued. */
    e->cap = 2 * (size_t)e->opt->workers + 2;
    e->slots = calloc(e->cap, sizeof *e->slots);
    workers = calloc(e->opt->workers, sizeof *workers);
    if (!e->slots || !workers) { rc = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto out; }
    if (pthread_create(&reader, NULL, reader_main, e) != 0) { rc = nb_error_set(err, NB_ERR_INTERNAL, "cannot start the reader thread"); goto out; }
    reader_started = true;
    for (; n_workers < e->opt->workers; n_workers++)
        if (pthread_create(&workers[n_workers], NULL, worker_main, e) != 0) break;
    if (n_workers == 0) { rc = nb_error_set(err, NB_ERR_INTERNAL, "cannot start worker threads"); goto out; }
    if (req->progress) reporter_started = pthread_create(&reporter, NULL, reporter_main, e) == 0;

    rc = commit_loop(e, &dest_failed, err);
    success = rc == NB_OK;
    if (e->dst) e->stats.bytes_out += bytes_out_since(e, 0);   /* footers and trailers */
out:
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    e->committer_done = true;
    pthread_cond_broadcast(&e->cv_work);
    pthread_cond_broadcast(&e->cv_space);
    pthread_cond_broadcast(&e->cv_ready);
    pthread_cond_broadcast(&e->cv_ack);
    pthread_mutex_unlock(&e->mu);
    /* A reader stuck inside a source read (a stalled pipe, a dead server) is not waited for
     * forever: after a grace period it is left behind (the process is about to exit). */
    bool reader_stuck = false;
    if (reader_started) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 5;
        if (pthread_timedjoin_np(reader, NULL, &deadline) != 0) {
            NB_WARN("engine", "the source did not return from a read; leaving it behind");
            pthread_detach(reader);
            reader_stuck = true;
        }
    }
    for (unsigned i = 0; i < n_workers; i++) pthread_join(workers[i], NULL);
    free(workers);
    (void)dest_failed;
    bool keep_partial = e->opt->state_path != NULL;
    if (e->dst) {
        dest_enter(e);   /* the last upload or footer: the progress line keeps moving through it */
        e->dst_conn->destination->close(e->dst, success, keep_partial);
        dest_leave(e);
    }
    if (reporter_started) {
        pthread_mutex_lock(&e->mu);
        e->reporter_stop = true;
        pthread_cond_broadcast(&e->cv_report);
        pthread_mutex_unlock(&e->mu);
        pthread_join(reporter, NULL);
    }
    if (reader_stuck) {
        /* The reader may still wake up and touch the engine: leave all of it allocated. */
        e->stats.seconds = (double)(nb_mono_ms() - e->started_ms) / 1000.0;
        if (stats) *stats = e->stats;
        return rc;
    }
    if (e->src && e->src_conn->source->lag) {
        double lag = 0;   /* the reader is joined: ask once more for the final figure */
        if (e->src_conn->source->lag(e->src, &lag)) e->src_lag = lag;
    }
    if (e->src) e->src_conn->source->close(e->src);
    for (size_t i = 0; e->slots && i < e->cap; i++) {
        nb_batch_destroy(e->slots[i].batch);
        nb_buf_cleanup(&e->slots[i].encoded);
    }
    free(e->slots);
    while (e->acks) { struct ack *n = e->acks->next; free(e->acks->stream); free(e->acks->position); free(e->acks); e->acks = n; }
    e->stats.bad_records = nb_bad_records_count(&e->bad);
    e->stats.seconds = (double)(nb_mono_ms() - e->started_ms) / 1000.0;
    e->stats.source_done = e->src_done;
    e->stats.source_total = e->src_total;
    e->stats.lag_seconds = e->src_lag;
    if (stats) *stats = e->stats;
    if (e->store) e->store->ops->destroy(e->store);
    nb_bad_records_cleanup(&e->bad);
    nb_state_cleanup(&e->state);
    free(e->saved);
    for (size_t i = 0; i < e->n_streams; i++) { free(e->streams[i].name); free(e->streams[i].last_position); }
    free(e->streams);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv_work);
    pthread_cond_destroy(&e->cv_space);
    pthread_cond_destroy(&e->cv_ready);
    pthread_cond_destroy(&e->cv_ack);
    pthread_cond_destroy(&e->cv_report);
    free(e);
    return rc;
}

nb_status nb_pipeline_check(struct nb_cfg *root, const struct nb_run_options *opts, bool source, struct nb_error *err)
{
    const struct nb_connector_ops *c;
    const struct nb_cfg *cfg;
    nb_status rc = find_connector(root, source ? "source" : "destination", &c, &cfg, err);
    if (rc != NB_OK) return rc;
    struct nb_context ctx = {cfg, opts, NULL, NULL, 0, NULL};
    void *self = NULL;
    if (source) {
        rc = c->source->open(&self, &ctx, err);
        if (rc == NB_OK && c->source->check) rc = c->source->check(self, err);
        if (self) c->source->close(self);
    } else {
        rc = c->destination->open(&self, &ctx, err);
        if (rc == NB_OK && c->destination->check) rc = c->destination->check(self, err);
        if (self) c->destination->close(self, false, false);
    }
    if (rc != NB_OK) nb_error_prefix(err, "%s %s: ", source ? "source" : "destination", c->name);
    return rc;
}

nb_status nb_pipeline_discover(struct nb_cfg *root, const struct nb_run_options *opts, struct nb_buf *json,
                               struct nb_error *err)
{
    const struct nb_connector_ops *c;
    const struct nb_cfg *cfg;
    nb_status rc = find_connector(root, "source", &c, &cfg, err);
    if (rc != NB_OK) return rc;
    if (!c->source->discover) return nb_error_set(err, NB_ERR_UNSUPPORTED, "source %s cannot discover streams", c->name);
    struct nb_context ctx = {cfg, opts, NULL, NULL, 0, NULL};
    void *self = NULL;
    rc = c->source->open(&self, &ctx, err);
    if (rc == NB_OK) rc = c->source->discover(self, json, err);
    if (self) c->source->close(self);
    if (rc != NB_OK) nb_error_prefix(err, "source %s: ", c->name);
    return rc;
}
