/* A growable byte buffer: the workspace for encoders and messages. Reuse one across batches
 * (nb_buf_reset keeps the capacity) so steady state allocates nothing. */
#ifndef NB_CORE_BUF_H
#define NB_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/error.h"

struct nb_buf {
    char *data;      /* always NUL-terminated when non-NULL (not counted in len) */
    size_t len, cap;
    bool oom;        /* sticky: an append failed; check once at the end with nb_buf_status */
};

void nb_buf_init(struct nb_buf *b);
void nb_buf_cleanup(struct nb_buf *b);
static inline void nb_buf_reset(struct nb_buf *b) { b->len = 0; if (b->data) b->data[0] = '\0'; b->oom = false; }
/* Ensure room for `extra` more bytes (+1 for the terminator). Returns false on OOM (and sets oom). */
bool nb_buf_reserve(struct nb_buf *b, size_t extra);
static inline void nb_buf_append(struct nb_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len <= n && !nb_buf_reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, p, n);   /* p may be NULL when n is 0: memcpy(NULL) is undefined */
    b->len += n;
    b->data[b->len] = '\0';
}
static inline void nb_buf_putc(struct nb_buf *b, char c)
{
    if (b->cap - b->len <= 1 && !nb_buf_reserve(b, 1)) return;
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}
static inline void nb_buf_puts(struct nb_buf *b, const char *s) { nb_buf_append(b, s, strlen(s)); }
void nb_buf_printf(struct nb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (quotes included), escaping as RFC 8259 requires. */
void nb_buf_json_string(struct nb_buf *b, const char *s, size_t n);
/* Take ownership of the bytes; the buffer is left empty. Caller frees. */
char *nb_buf_detach(struct nb_buf *b, size_t *len);
static inline nb_status nb_buf_status(const struct nb_buf *b, struct nb_error *err)
{
    return b->oom ? nb_error_set(err, NB_ERR_NOMEM, "out of memory growing a buffer") : NB_OK;
}

#endif
