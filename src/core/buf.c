/* Growable byte buffer. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void nb_buf_init(struct nb_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

void nb_buf_cleanup(struct nb_buf *b)
{
    if (!b) return;
    free(b->data);
    nb_buf_init(b);
}

bool nb_buf_reserve(struct nb_buf *b, size_t extra)
{
    if (b->oom) return false;
    if (b->cap - b->len > extra) return true;
    size_t want = b->cap ? b->cap : 256;
    while (want - b->len <= extra) {
        if (want > ((size_t)-1) / 2) { b->oom = true; return false; }
        want *= 2;
    }
    char *p = realloc(b->data, want);
    if (!p) { b->oom = true; return false; }
    if (!b->data) p[0] = '\0';
    b->data = p;
    b->cap = want;
    return true;
}

void nb_buf_printf(struct nb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !nb_buf_reserve(b, (size_t)n + 1)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void nb_buf_json_string(struct nb_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!nb_buf_reserve(b, n + 2)) return;
    nb_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        nb_buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': nb_buf_append(b, "\\\"", 2); break;
        case '\\': nb_buf_append(b, "\\\\", 2); break;
        case '\n': nb_buf_append(b, "\\n", 2); break;
        case '\r': nb_buf_append(b, "\\r", 2); break;
        case '\t': nb_buf_append(b, "\\t", 2); break;
        case '\b': nb_buf_append(b, "\\b", 2); break;
        case '\f': nb_buf_append(b, "\\f", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            nb_buf_append(b, u, 6);
        }
        }
    }
    nb_buf_append(b, s + run, n - run);
    nb_buf_putc(b, '"');
}

char *nb_buf_detach(struct nb_buf *b, size_t *len)
{
    char *p = b->data;
    if (len) *len = b->len;
    nb_buf_init(b);
    return p;
}
