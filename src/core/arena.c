/* Bump allocator: blocks chained newest first; reset keeps the largest block. */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nb_arena_block {
    struct nb_arena_block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

void nb_arena_init(struct nb_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->allocated = 0;
    a->reserved = 0;
}

void nb_arena_cleanup(struct nb_arena *a)
{
    if (!a) return;
    struct nb_arena_block *b = a->head;
    while (b) {
        struct nb_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->allocated = a->reserved = 0;
}

void *nb_arena_alloc(struct nb_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct nb_arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t want = size > a->block_size ? size : a->block_size;
        struct nb_arena_block *nb = malloc(sizeof *nb + want);
        if (!nb) return NULL;
        nb->size = want;
        nb->used = 0;
        /* A block made for one oversized request goes behind the current one so the
         * current block's free space is not wasted. */
        if (b && size > a->block_size && b->size - b->used > 0) {
            nb->next = b->next;
            b->next = nb;
            nb->used = size;
            a->allocated += size;
            a->reserved += want;
            return nb->data;
        }
        nb->next = b;
        a->head = b = nb;
        a->reserved += want;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->allocated += size;
    return p;
}

void *nb_arena_memdup(struct nb_arena *a, const void *p, size_t size)
{
    void *q = nb_arena_alloc(a, size ? size : 1);
    if (q && size) memcpy(q, p, size);
    return q;
}

char *nb_arena_strndup(struct nb_arena *a, const char *s, size_t len)
{
    char *q = nb_arena_alloc(a, len + 1);
    if (!q) return NULL;
    memcpy(q, s, len);
    q[len] = '\0';
    return q;
}

char *nb_arena_strdup(struct nb_arena *a, const char *s)
{
    return nb_arena_strndup(a, s, strlen(s));
}

char *nb_arena_printf(struct nb_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *q = nb_arena_alloc(a, (size_t)n + 1);
    if (!q) return NULL;
    va_start(ap, fmt);
    vsnprintf(q, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return q;
}

void nb_arena_reset(struct nb_arena *a)
{
    struct nb_arena_block *keep = NULL, *b = a->head;
    while (b) {
        struct nb_arena_block *next = b->next;
        if (!keep || b->size > keep->size) {
            if (keep) free(keep);
            keep = b;
        } else {
            free(b);
        }
        b = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->allocated = 0;
    a->reserved = keep ? keep->size : 0;
}
