/* The S3 upload stream (see s3_ostream.h). The writer thread fills `cur`; a full part is handed to
 * the worker pool through a small queue; workers PUT parts and record ETags by part number. The
 * first error stops everything: later writes fail fast and finish() aborts the upload. */
#include "connectors/s3/s3_ostream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct job {
    struct job *next;
    unsigned number;
    char *data;
    size_t len;
};

struct s3_ostream {
    struct nb_ostream base;
    struct nb_s3_client *c;
    char *key;
    struct nb_s3_upload_options o;
    struct nb_buf cur;
    char *upload_id;        /* URI-encoded, as it goes into queries */
    unsigned next_part;
    char **etags;           /* by part number - 1 */
    size_t etags_cap;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_room;
    struct job *head, *tail;
    unsigned pending;       /* queued + in flight */
    pthread_t *threads;
    unsigned n_threads;
    bool stop;
    nb_status failed;
    struct nb_error first_err;
    bool done;              /* finished or aborted */
};

static nb_status upload_part(struct s3_ostream *s, struct job *j, struct nb_error *err)
{
    char q[512];
    snprintf(q, sizeof q, "partNumber=%u&uploadId=%s", j->number, s->upload_id);
    struct nb_s3_call call = {"PUT", s->key, q, NULL, 0, j->data, j->len, true, NULL};
    struct nb_http_response r;
    nb_http_response_init(&r);
    nb_status st = nb_s3_call(s->c, &call, &r, err);
    if (st == NB_OK && (r.status < 200 || r.status > 299)) st = nb_s3_error(s->c, "PUT part", s->key, &r, err);
    char etag[256] = "";
    if (st == NB_OK && !nb_http_response_header(&r, "ETag", etag, sizeof etag))
        st = nb_error_set(err, NB_ERR_PROTOCOL, "s3 PUT part %u of s3://%s/%s: no ETag in the response", j->number,
                          nb_s3_bucket(s->c), s->key);
    nb_http_response_cleanup(&r);
    if (st != NB_OK) return st;
    pthread_mutex_lock(&s->mu);
    if (j->number > s->etags_cap) {
        size_t cap = s->etags_cap ? s->etags_cap : 16;
        while (cap < j->number) cap *= 2;
        char **n = realloc(s->etags, cap * sizeof *n);
        if (n) {
            memset(n + s->etags_cap, 0, (cap - s->etags_cap) * sizeof *n);
            s->etags = n;
            s->etags_cap = cap;
        }
    }
    if (j->number <= s->etags_cap) s->etags[j->number - 1] = strdup(etag);
    bool ok = j->number <= s->etags_cap && s->etags[j->number - 1];
    pthread_mutex_unlock(&s->mu);
    return ok ? NB_OK : nb_error_set(err, NB_ERR_NOMEM, "out of memory");
}

static void *worker(void *arg)
{
    struct s3_ostream *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->stop) pthread_cond_wait(&s->cv_work, &s->mu);
        if (!s->head) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        struct job *j = s->head;
        s->head = j->next;
        if (!s->head) s->tail = NULL;
        bool skip = s->failed != NB_OK;
        pthread_mutex_unlock(&s->mu);
        struct nb_error e;
        nb_error_clear(&e);
        nb_status st = skip ? NB_OK : upload_part(s, j, &e);
        free(j->data);
        free(j);
        pthread_mutex_lock(&s->mu);
        if (st != NB_OK && s->failed == NB_OK) {
            s->failed = st;
            s->first_err = e;
        }
        s->pending--;
        pthread_cond_broadcast(&s->cv_room);
        pthread_mutex_unlock(&s->mu);
    }
}

static nb_status start_upload(struct s3_ostream *s, struct nb_error *err)
{
    const char *hdrs[1] = {"Content-Type: application/octet-stream"};
    struct nb_s3_call call = {"POST", s->key, "uploads", hdrs, 1, NULL, 0, false, NULL};
    struct nb_http_response r;
    nb_http_response_init(&r);
    nb_status st = nb_s3_call(s->c, &call, &r, err);
    if (st == NB_OK && (r.status < 200 || r.status > 299)) st = nb_s3_error(s->c, "POST (create multipart upload)", s->key, &r, err);
    char id[1024];
    if (st == NB_OK && !nb_s3_xml_tag(r.body.data, "UploadId", id, sizeof id))
        st = nb_error_set(err, NB_ERR_PROTOCOL, "s3 create multipart upload of s3://%s/%s: no UploadId in the response",
                          nb_s3_bucket(s->c), s->key);
    nb_http_response_cleanup(&r);
    if (st != NB_OK) return st;
    struct nb_buf enc;
    nb_buf_init(&enc);
    nb_uri_encode(&enc, id, strlen(id), false);
    if (enc.oom) { nb_buf_cleanup(&enc); return nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    s->upload_id = nb_buf_detach(&enc, NULL);
    s->threads = calloc(s->o.concurrency, sizeof *s->threads);
    if (!s->threads) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (unsigned i = 0; i < s->o.concurrency; i++) {
        if (pthread_create(&s->threads[i], NULL, worker, s) != 0) break;
        s->n_threads++;
    }
    if (!s->n_threads) return nb_error_set(err, NB_ERR_INTERNAL, "could not start upload threads");
    NB_DEBUG("s3", "multipart upload of s3://%s/%s started (%u threads)", nb_s3_bucket(s->c), s->key, s->n_threads);
    return NB_OK;
}

static nb_status failure(struct s3_ostream *s, struct nb_error *err)
{
    pthread_mutex_lock(&s->mu);
    nb_status st = s->failed;
    if (err && st != NB_OK) *err = s->first_err;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* Hand the current buffer to the workers as the next part (waits while the pool is full). */
static nb_status submit(struct s3_ostream *s, struct nb_error *err)
{
    nb_status st;
    if (!s->upload_id && (st = start_upload(s, err)) != NB_OK) return st;
    if (s->next_part >= 10000)
        return nb_error_set(err, NB_ERR_LIMIT, "s3://%s/%s: more than 10000 parts; raise part_size", nb_s3_bucket(s->c), s->key);
    struct job *j = calloc(1, sizeof *j);
    if (!j) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    j->number = ++s->next_part;
    j->data = nb_buf_detach(&s->cur, &j->len);
    pthread_mutex_lock(&s->mu);
    while (s->pending >= s->n_threads && s->failed == NB_OK) pthread_cond_wait(&s->cv_room, &s->mu);
    if (s->failed != NB_OK) {
        pthread_mutex_unlock(&s->mu);
        free(j->data);
        free(j);
        return failure(s, err);
    }
    if (s->tail) s->tail->next = j;
    else s->head = j;
    s->tail = j;
    s->pending++;
    pthread_cond_signal(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    return NB_OK;
}

static nb_status s3_write(struct nb_ostream *os, const void *p, size_t n, struct nb_error *err)
{
    struct s3_ostream *s = (struct s3_ostream *)os;
    if (s->done) return nb_error_set(err, NB_ERR_INTERNAL, "s3: write after finish");
    nb_status st = failure(s, err);
    if (st != NB_OK) return st;
    const char *b = p;
    while (n) {
        size_t room = s->o.part_size - s->cur.len;
        size_t k = n < room ? n : room;
        if (!s->cur.data && !nb_buf_reserve(&s->cur, s->o.part_size)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        nb_buf_append(&s->cur, b, k);
        if (s->cur.oom) return nb_error_set(err, NB_ERR_NOMEM, "out of memory buffering an S3 part");
        b += k;
        n -= k;
        os->bytes_in += k;
        os->bytes_out += k;
        if (s->cur.len >= s->o.part_size && (st = submit(s, err)) != NB_OK) return st;
    }
    return NB_OK;
}

static nb_status s3_checkpoint(struct nb_ostream *os, uint64_t *len, struct nb_error *err)
{
    (void)os;
    (void)len;
    return nb_error_set(err, NB_ERR_UNSUPPORTED, "s3 objects are not resumable mid-object");
}

static void drain(struct s3_ostream *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 0; i < s->n_threads; i++) pthread_join(s->threads[i], NULL);
    s->n_threads = 0;
}

static void abort_upload(struct s3_ostream *s)
{
    if (!s->upload_id) return;
    char q[512];
    snprintf(q, sizeof q, "uploadId=%s", s->upload_id);
    struct nb_s3_call call = {"DELETE", s->key, q, NULL, 0, NULL, 0, true, NULL};
    struct nb_http_response r;
    nb_http_response_init(&r);
    struct nb_error e;
    nb_error_clear(&e);
    nb_status st = nb_s3_call(s->c, &call, &r, &e);
    if (st != NB_OK || r.status < 200 || r.status > 299)
        NB_WARN("s3", "could not abort the multipart upload of s3://%s/%s (HTTP %ld%s%s): the bucket's lifecycle "
                      "rule for incomplete uploads will remove its parts", nb_s3_bucket(s->c), s->key, r.status,
                st != NB_OK ? ": " : "", st != NB_OK ? e.message : "");
    nb_http_response_cleanup(&r);
    free(s->upload_id);
    s->upload_id = NULL;
}

static nb_status put_single(struct s3_ostream *s, struct nb_error *err)
{
    const char *hdrs[2] = {"Content-Type: application/octet-stream", "If-None-Match: *"};
    struct nb_s3_call call = {"PUT", s->key, NULL, hdrs, s->o.overwrite ? 1 : 2, s->cur.data ? s->cur.data : "",
                              s->cur.len, true, NULL};
    struct nb_http_response r;
    nb_http_response_init(&r);
    nb_status st = nb_s3_call(s->c, &call, &r, err);
    if (st == NB_OK && (r.status < 200 || r.status > 299)) st = nb_s3_error(s->c, "PUT", s->key, &r, err);
    nb_http_response_cleanup(&r);
    return st;
}

static nb_status complete(struct s3_ostream *s, struct nb_error *err)
{
    struct nb_buf x;
    nb_buf_init(&x);
    nb_buf_puts(&x, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (unsigned i = 0; i < s->next_part; i++) {
        if (i >= s->etags_cap || !s->etags[i]) {
            nb_buf_cleanup(&x);
            return nb_error_set(err, NB_ERR_INTERNAL, "s3://%s/%s: part %u has no ETag", nb_s3_bucket(s->c), s->key, i + 1);
        }
        nb_buf_printf(&x, "<Part><PartNumber>%u</PartNumber><ETag>", i + 1);
        for (const char *p = s->etags[i]; *p; p++) {
            if (*p == '"') nb_buf_puts(&x, "&quot;");
            else if (*p == '&') nb_buf_puts(&x, "&amp;");
            else if (*p == '<') nb_buf_puts(&x, "&lt;");
            else nb_buf_putc(&x, *p);
        }
        nb_buf_puts(&x, "</ETag></Part>");
    }
    nb_buf_puts(&x, "</CompleteMultipartUpload>");
    nb_status st = nb_buf_status(&x, err);
    if (st != NB_OK) { nb_buf_cleanup(&x); return st; }
    char q[512];
    snprintf(q, sizeof q, "uploadId=%s", s->upload_id);
    const char *hdrs[2] = {"Content-Type: application/xml", "If-None-Match: *"};
    /* Completing twice is harmless (same parts): idempotent. */
    struct nb_s3_call call = {"POST", s->key, q, hdrs, s->o.overwrite ? 1 : 2, x.data, x.len, true, NULL};
    struct nb_http_response r;
    nb_http_response_init(&r);
    st = nb_s3_call(s->c, &call, &r, err);
    if (st == NB_OK && (r.status < 200 || r.status > 299)) st = nb_s3_error(s->c, "POST (complete multipart upload)", s->key, &r, err);
    /* S3 may answer 200 with an <Error> body when completion fails late. */
    if (st == NB_OK && r.body.data && strstr(r.body.data, "<Error>")) {
        r.status = 500;
        st = nb_s3_error(s->c, "POST (complete multipart upload)", s->key, &r, err);
    }
    nb_http_response_cleanup(&r);
    nb_buf_cleanup(&x);
    return st;
}

static nb_status s3_finish(struct nb_ostream *os, struct nb_error *err)
{
    struct s3_ostream *s = (struct s3_ostream *)os;
    if (s->done) return nb_error_set(err, NB_ERR_INTERNAL, "s3: finish twice");
    nb_status st = failure(s, err);
    if (st == NB_OK) {
        if (!s->upload_id) {
            st = put_single(s, err);
        } else {
            if (s->cur.len) st = submit(s, err);
            drain(s);
            if (st == NB_OK) st = failure(s, err);
            if (st == NB_OK) st = complete(s, err);
        }
    }
    drain(s);
    if (st != NB_OK) {
        abort_upload(s);
        s->done = true;
        return st;
    }
    NB_DEBUG("s3", "wrote s3://%s/%s (%llu bytes, %u parts)", nb_s3_bucket(s->c), s->key,
             (unsigned long long)os->bytes_out, s->next_part);
    free(s->upload_id);
    s->upload_id = NULL;
    s->done = true;
    return NB_OK;
}

static void s3_abort(struct nb_ostream *os, bool keep_partial)
{
    (void)keep_partial;
    struct s3_ostream *s = (struct s3_ostream *)os;
    if (s->done) return;
    pthread_mutex_lock(&s->mu);
    if (s->failed == NB_OK) s->failed = NB_ERR_CANCELLED;   /* workers skip what is still queued */
    pthread_mutex_unlock(&s->mu);
    drain(s);
    abort_upload(s);
    s->done = true;
}

static void s3_destroy(struct nb_ostream *os)
{
    struct s3_ostream *s = (struct s3_ostream *)os;
    if (!s->done) s3_abort(os, false);
    for (struct job *j = s->head, *n; j; j = n) {
        n = j->next;
        free(j->data);
        free(j);
    }
    for (size_t i = 0; i < s->etags_cap; i++) free(s->etags[i]);
    free(s->etags);
    free(s->threads);
    free(s->upload_id);
    nb_buf_cleanup(&s->cur);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv_work);
    pthread_cond_destroy(&s->cv_room);
    free(s->key);
    free(s);
}

static const struct nb_ostream_ops s3_ops = {s3_write, s3_checkpoint, s3_finish, s3_abort, s3_destroy};

nb_status nb_s3_ostream_open(struct nb_s3_client *c, const char *key, const struct nb_s3_upload_options *o,
                             struct nb_ostream **out, struct nb_error *err)
{
    if (o->part_size < NB_S3_MIN_PART)
        return nb_error_set(err, NB_ERR_CONFIG, "s3: part_size must be at least 5MiB (got %zu bytes)", o->part_size);
    if (!o->overwrite) {
        /* Servers that ignore If-None-Match would overwrite silently: refuse early instead. */
        struct nb_s3_call call = {"HEAD", key, NULL, NULL, 0, NULL, 0, true, NULL};
        struct nb_http_response r;
        nb_http_response_init(&r);
        nb_status st = nb_s3_call(c, &call, &r, err);
        long status = r.status;
        if (st == NB_OK && status >= 200 && status <= 299) {
            st = nb_error_set(err, NB_ERR_INVALID,
                              "s3 PUT s3://%s/%s: the object already exists and is not overwritten; remove it or "
                              "set overwrite: true", nb_s3_bucket(c), key);
        } else if (st == NB_OK && status != 404) {
            st = nb_s3_error(c, "HEAD", key, &r, err);
        }
        nb_http_response_cleanup(&r);
        if (st != NB_OK) return st;
    }
    struct s3_ostream *s = calloc(1, sizeof *s);
    if (!s) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    s->base.ops = &s3_ops;
    s->c = c;
    s->o = *o;
    if (s->o.concurrency < 1) s->o.concurrency = 1;
    s->key = strdup(key);
    nb_buf_init(&s->cur);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_work, NULL);
    pthread_cond_init(&s->cv_room, NULL);
    if (!s->key) {
        s3_destroy(&s->base);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    }
    *out = &s->base;
    return NB_OK;
}
