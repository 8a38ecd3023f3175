/* Streams over memory: an ostream appending to a caller's nb_buf (tests, formats that build a
 * whole object in memory) and an istream over a caller's bytes (not copied). */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "io/stream.h"

struct buf_ostream {
    struct nb_ostream base;
    struct nb_buf *buf;
};

static nb_status buf_write(struct nb_ostream *s, const void *p, size_t n, struct nb_error *err)
{
    struct buf_ostream *b = (struct buf_ostream *)s;
    if (n == 0) return NB_OK;
    nb_buf_append(b->buf, p, n);
    if (b->buf->oom) return nb_buf_status(b->buf, err);
    s->bytes_in += n;
    s->bytes_out += n;
    return NB_OK;
}

static nb_status buf_checkpoint(struct nb_ostream *s, uint64_t *durable_len, struct nb_error *err)
{
    struct buf_ostream *b = (struct buf_ostream *)s;
    if (durable_len) *durable_len = b->buf->len;
    return nb_buf_status(b->buf, err);
}

static nb_status buf_finish(struct nb_ostream *s, struct nb_error *err)
{
    return nb_buf_status(((struct buf_ostream *)s)->buf, err);
}

static void buf_abort(struct nb_ostream *s, bool keep_partial) {}

static void buf_destroy(struct nb_ostream *s) { free(s); }

static const struct nb_ostream_ops buf_ostream_ops = {
    .write = buf_write, .checkpoint = buf_checkpoint, .finish = buf_finish, .abort = buf_abort, .destroy = buf_destroy,
};

struct nb_ostream *nb_buf_ostream_create(struct nb_buf *buf)
{
    struct buf_ostream *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->base.ops = &buf_ostream_ops;
    b->buf = buf;
    return &b->base;
}

struct mem_istream {
    struct nb_istream base;
    const unsigned char *data;
    size_t len, pos;
};

static nb_status mem_read(struct nb_istream *s, void *buf, size_t cap, size_t *n, struct nb_error *err)
{
    struct mem_istream *m = (struct mem_istream *)s;
    size_t k = m->len - m->pos < cap ? m->len - m->pos : cap;
    if (k) memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    s->raw_read = m->pos;
    *n = k;
    return k == 0 && cap > 0 ? NB_DONE : NB_OK;
}

static void mem_destroy(struct nb_istream *s) { free(s); }

static const struct nb_istream_ops mem_istream_ops = {.read = mem_read, .destroy = mem_destroy};

struct nb_istream *nb_mem_istream_create(const void *data, size_t len)
{
    struct mem_istream *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->base.ops = &mem_istream_ops;
    m->base.raw_size = len;
    m->data = data;
    m->len = data ? len : 0;
    return &m->base;
}
