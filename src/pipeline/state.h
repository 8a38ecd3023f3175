/* The state store (DESIGN.md §4, §8): per stream, the last source position whose rows the
 * destination holds durably, the destination's resume data, and whether the stream finished.
 * An interface so a PostgreSQL-backed store can replace the JSON file for scale-out. */
#ifndef NB_PIPELINE_STATE_H
#define NB_PIPELINE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "core/error.h"

struct nb_state_entry {
    char *stream;
    char *source_position;     /* JSON text or NULL */
    char *destination_state;   /* JSON text or NULL */
    uint64_t rows;             /* rows committed for this stream, over all runs */
    bool done;                 /* the stream finished; a rerun has nothing to do for it */
};

struct nb_state {
    struct nb_state_entry *entries;
    size_t count, cap;
};

struct nb_state_store;
struct nb_state_store_ops {
    nb_status (*load)(struct nb_state_store *s, struct nb_state *out, struct nb_error *err);
    nb_status (*save)(struct nb_state_store *s, const struct nb_state *state, struct nb_error *err);
    void (*destroy)(struct nb_state_store *s);
};
struct nb_state_store {
    const struct nb_state_store_ops *ops;
};

/* JSON file store: written to a temp file, fsynced and renamed (a crash leaves the old or the new). */
nb_status nb_state_file_store_create(const char *path, const char *pipeline_name, struct nb_state_store **out,
                                     struct nb_error *err);

void nb_state_init(struct nb_state *st);
void nb_state_cleanup(struct nb_state *st);
struct nb_state_entry *nb_state_find(struct nb_state *st, const char *stream);
/* Find or add. NULL on OOM. */
struct nb_state_entry *nb_state_upsert(struct nb_state *st, const char *stream);
/* Replace a string field with a copy (NULL clears). false on OOM. */
bool nb_state_set_text(char **field, const char *value);

#endif
