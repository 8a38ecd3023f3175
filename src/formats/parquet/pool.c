/* Page compression for the Parquet writer, on a small pool of threads: the committer makes pages
 * (column.c) and goes on filling the next ones while up to PQ_THREADS_MAX threads compress; pages
 * join their column chunks in the order they were made, so the file is the same with any timing.
 * Memory stays bounded: PQ_JOBS pages (or PQ_INFLIGHT_MIN bytes) in flight at most. */
#include <lz4.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "formats/parquet/column.h"
#include "io/snappy_lib.h"

void pq_comp_init(struct pq_comp *k, const struct nb_parquet_options *opt)
{
    memset(k, 0, sizeof *k);
    k->opt = opt;
}

void pq_comp_cleanup(struct pq_comp *k)
{
    if (k->zstd) ZSTD_freeCCtx(k->zstd);
    if (k->z_ready) deflateEnd(&k->z);
    k->zstd = NULL;
    k->z_ready = false;
}

nb_status pq_compress(struct pq_comp *x, const char *src, size_t n, struct nb_buf *d, const char **out,
                      size_t *out_len, struct nb_error *err)
{
    nb_buf_reset(d);
    switch (x->opt->codec) {
    case NB_PQ_UNCOMPRESSED:
        *out = src;
        *out_len = n;
        return NB_OK;
    case NB_PQ_SNAPPY: {
        if (nb_snappy_require(err) != NB_OK) return NB_ERR_UNSUPPORTED;
        size_t cap = snappy_max_compressed_length(n);
        if (!nb_buf_reserve(d, cap)) break;
        size_t len = cap;
        if (snappy_compress(src, n, d->data, &len) != SNAPPY_OK)
            return nb_error_set(err, NB_ERR_INTERNAL, "parquet: snappy compression of a %zu-byte page failed", n);
        d->len = len;
        goto done;
    }
    case NB_PQ_GZIP: {
        if (!x->z_ready) {
            memset(&x->z, 0, sizeof x->z);
            int level = x->opt->level ? x->opt->level : Z_DEFAULT_COMPRESSION;
            /* windowBits 15 + 16: a gzip member, which is what Parquet's GZIP codec means. */
            if (deflateInit2(&x->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return nb_error_set(err, NB_ERR_NOMEM, "parquet: cannot start a gzip compressor");
            x->z_ready = true;
        } else if (deflateReset(&x->z) != Z_OK) {
            return nb_error_set(err, NB_ERR_INTERNAL, "parquet: gzip compressor reset failed");
        }
        size_t cap = deflateBound(&x->z, (uLong)n) + 32;
        if (!nb_buf_reserve(d, cap)) break;
        x->z.next_in = (Bytef *)(uintptr_t)src;
        x->z.avail_in = (uInt)n;
        x->z.next_out = (Bytef *)d->data;
        x->z.avail_out = (uInt)cap;
        if (deflate(&x->z, Z_FINISH) != Z_STREAM_END)
            return nb_error_set(err, NB_ERR_INTERNAL, "parquet: gzip compression of a %zu-byte page failed", n);
        d->len = cap - x->z.avail_out;
        goto done;
    }
    case NB_PQ_ZSTD: {
        if (!x->zstd && !(x->zstd = ZSTD_createCCtx())) break;
        size_t cap = ZSTD_compressBound(n);
        if (!nb_buf_reserve(d, cap)) break;
        int level = x->opt->level ? x->opt->level : ZSTD_CLEVEL_DEFAULT;
        size_t r = ZSTD_compressCCtx(x->zstd, d->data, cap, src, n, level);
        if (ZSTD_isError(r))
            return nb_error_set(err, NB_ERR_INTERNAL, "parquet: zstd compression failed: %s", ZSTD_getErrorName(r));
        d->len = r;
        goto done;
    }
    case NB_PQ_LZ4_RAW: {
        if (n > (size_t)LZ4_MAX_INPUT_SIZE)
            return nb_error_set(err, NB_ERR_LIMIT, "parquet: a %zu-byte page is too large for lz4; lower page_size", n);
        int cap = LZ4_compressBound((int)n);
        if (!nb_buf_reserve(d, (size_t)cap)) break;
        int r = LZ4_compress_default(src, d->data, (int)n, cap);
        if (r <= 0) return nb_error_set(err, NB_ERR_INTERNAL, "parquet: lz4 compression of a %zu-byte page failed", n);
        d->len = (size_t)r;
        goto done;
    }
    }
    return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory compressing a %zu-byte page", n);
done:
    *out = d->data;
    *out_len = d->len;
    return NB_OK;
}

static void compress_job(struct pq_comp *k, struct pq_job *j)
{
    j->st = pq_compress(k, j->src, j->src_len, &j->cbuf, &j->out, &j->out_len, &j->err);
}

static void *thread_main(void *arg)
{
    struct pq_ctx *x = arg;
    pthread_mutex_lock(&x->mu);
    int me = x->started++;   /* which compressor is this thread's */
    for (;;) {
        while (!x->stop && x->next == x->tail) pthread_cond_wait(&x->cv_work, &x->mu);
        if (x->stop) break;
        struct pq_job *j = &x->jobs[x->next % PQ_JOBS];
        x->next++;
        pthread_mutex_unlock(&x->mu);
        compress_job(&x->tcomp[me], j);
        pthread_mutex_lock(&x->mu);
        j->done = true;
        pthread_cond_broadcast(&x->cv_done);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

void pq_ctx_init(struct pq_ctx *x, const struct nb_parquet_options *opt)
{
    memset(x, 0, sizeof *x);
    x->opt = opt;
    nb_buf_init(&x->hdr);
    pq_comp_init(&x->comp, opt);
    for (size_t i = 0; i < PQ_JOBS; i++) {
        nb_buf_init(&x->jobs[i].body);
        nb_buf_init(&x->jobs[i].cbuf);
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (opt->codec == NB_PQ_UNCOMPRESSED || cpus < 2) return;   /* nothing to gain from a thread */
    if (pthread_mutex_init(&x->mu, NULL) != 0) return;
    if (pthread_cond_init(&x->cv_work, NULL) != 0) {
        pthread_mutex_destroy(&x->mu);
        return;
    }
    if (pthread_cond_init(&x->cv_done, NULL) != 0) {
        pthread_cond_destroy(&x->cv_work);
        pthread_mutex_destroy(&x->mu);
        return;
    }
    x->sync_ready = true;
    int want = cpus < PQ_THREADS_MAX ? (int)cpus : PQ_THREADS_MAX;
    for (int i = 0; i < PQ_THREADS_MAX; i++) pq_comp_init(&x->tcomp[i], opt);
    for (int i = 0; i < want; i++) {
        if (pthread_create(&x->threads[i], NULL, thread_main, x) != 0) break;   /* fewer threads, or none */
        x->n_threads++;
    }
}

void pq_ctx_cleanup(struct pq_ctx *x)
{
    if (x->sync_ready) {
        pthread_mutex_lock(&x->mu);
        x->stop = true;
        pthread_cond_broadcast(&x->cv_work);
        pthread_mutex_unlock(&x->mu);
        for (int i = 0; i < x->n_threads; i++) pthread_join(x->threads[i], NULL);
        for (int i = 0; i < PQ_THREADS_MAX; i++) pq_comp_cleanup(&x->tcomp[i]);
        pthread_cond_destroy(&x->cv_done);
        pthread_cond_destroy(&x->cv_work);
        pthread_mutex_destroy(&x->mu);
        x->sync_ready = false;
        x->n_threads = 0;
    }
    for (size_t i = 0; i < PQ_JOBS; i++) {
        nb_buf_cleanup(&x->jobs[i].body);
        nb_buf_cleanup(&x->jobs[i].cbuf);
    }
    nb_buf_cleanup(&x->hdr);
    pq_comp_cleanup(&x->comp);
}

/* The oldest page in flight into its chunk; with wait = false only when it is already compressed.
 * *did tells whether it was. */
static nb_status finish_oldest(struct pq_ctx *x, bool wait, bool *did, struct nb_error *err)
{
    *did = false;
    if (x->head == x->tail) return NB_OK;
    struct pq_job *j = &x->jobs[x->head % PQ_JOBS];
    if (x->n_threads) {
        pthread_mutex_lock(&x->mu);
        while (!j->done && wait) pthread_cond_wait(&x->cv_done, &x->mu);
        bool done = j->done;
        pthread_mutex_unlock(&x->mu);
        if (!done) return NB_OK;
    }
    x->head++;
    x->inflight -= j->src_len;
    *did = true;
    if (j->st != NB_OK) {
        if (err) *err = j->err;
        return j->st;
    }
    return pq_col_page_done(x, j, err);
}

nb_status pq_ctx_job(struct pq_ctx *x, struct pq_job **out, struct nb_error *err)
{
    size_t limit = x->opt->page_size * 4 > PQ_INFLIGHT_MIN ? x->opt->page_size * 4 : PQ_INFLIGHT_MIN;
    bool did = true;
    nb_status st;
    /* what is already compressed joins its chunk now: frees slots and keeps the chunks current */
    while (did)
        if ((st = finish_oldest(x, false, &did, err)) != NB_OK) return st;
    while (x->tail - x->head == PQ_JOBS || (x->tail > x->head && x->inflight > limit))
        if ((st = finish_oldest(x, true, &did, err)) != NB_OK) return st;
    struct pq_job *j = &x->jobs[x->tail % PQ_JOBS];
    j->done = false;
    j->st = NB_OK;
    *out = j;
    return NB_OK;
}

void pq_ctx_submit(struct pq_ctx *x, struct pq_job *j)
{
    x->inflight += j->src_len;
    if (!x->n_threads) {
        compress_job(&x->comp, j);
        j->done = true;
        x->tail++;
        return;
    }
    pthread_mutex_lock(&x->mu);
    x->tail++;
    pthread_cond_signal(&x->cv_work);
    pthread_mutex_unlock(&x->mu);
}

nb_status pq_ctx_drain(struct pq_ctx *x, struct nb_error *err)
{
    bool did = true;
    while (x->head != x->tail) {
        nb_status st = finish_oldest(x, true, &did, err);
        if (st != NB_OK) return st;
    }
    return NB_OK;
}
