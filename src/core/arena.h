/* A bump allocator for values that live as long as a batch (or a parse): one malloc per block,
 * never per value; reset keeps the first block for reuse, so a steady stream allocates nothing. */
#ifndef NB_CORE_ARENA_H
#define NB_CORE_ARENA_H

#include <stddef.h>

struct nb_arena_block;

struct nb_arena {
    struct nb_arena_block *head;   /* current block; older blocks chained behind it */
    size_t block_size;             /* default size of new blocks */
    size_t allocated;              /* bytes handed out since the last reset (for memory accounting) */
    size_t reserved;               /* bytes held in blocks */
};

void nb_arena_init(struct nb_arena *a, size_t block_size);
void nb_arena_cleanup(struct nb_arena *a);
/* Returns NULL only when out of memory. Alignment is 16 bytes. */
void *nb_arena_alloc(struct nb_arena *a, size_t size);
void *nb_arena_memdup(struct nb_arena *a, const void *p, size_t size);
/* NUL-terminated copy of the first len bytes of s. */
char *nb_arena_strndup(struct nb_arena *a, const char *s, size_t len);
char *nb_arena_strdup(struct nb_arena *a, const char *s);
char *nb_arena_printf(struct nb_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees all but the largest block and makes it empty again. */
void nb_arena_reset(struct nb_arena *a);

#endif
