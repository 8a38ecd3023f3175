/* Types and schemas (DESIGN.md §3). A schema is an ordered list of fields; it is reference
 * counted because every batch of a stream points at the same one. */
#ifndef NB_BATCH_SCHEMA_H
#define NB_BATCH_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

enum nb_type_id {
    NB_TYPE_NULL = 0,  /* a column with no non-null value seen yet */
    NB_TYPE_BOOL,
    NB_TYPE_INT32,
    NB_TYPE_INT64,
    NB_TYPE_FLOAT64,
    NB_TYPE_DECIMAL,   /* precision 1..76, scale 0..precision; values travel as exact text */
    NB_TYPE_STRING,    /* UTF-8 */
    NB_TYPE_BINARY,
    NB_TYPE_DATE,      /* days since 1970-01-01 */
    NB_TYPE_TIME,      /* microseconds since midnight */
    NB_TYPE_TIMESTAMP, /* microseconds since the epoch; utc=true: an instant (with zone) */
    NB_TYPE_JSON,      /* a nested JSON value, as its JSON text */
    NB_TYPE_COUNT_
};

struct nb_type {
    enum nb_type_id id;
    uint8_t precision;  /* DECIMAL */
    uint8_t scale;      /* DECIMAL */
    bool utc;           /* TIMESTAMP: with time zone (instant) vs local/naive */
};

struct nb_field {
    char *name;
    struct nb_type type;
    bool nullable;
};

struct nb_schema {
    int refcount;          /* atomic */
    size_t n_fields, cap;
    struct nb_field *fields;
};

struct nb_schema *nb_schema_create(void);
/* Copies name. Returns the new field's index, or -1 on OOM. */
int nb_schema_add(struct nb_schema *s, const char *name, struct nb_type type, bool nullable);
struct nb_schema *nb_schema_retain(struct nb_schema *s);
void nb_schema_release(struct nb_schema *s);          /* accepts NULL */
struct nb_schema *nb_schema_copy(const struct nb_schema *s);
int nb_schema_find(const struct nb_schema *s, const char *name);   /* index or -1 */
bool nb_schema_equal(const struct nb_schema *a, const struct nb_schema *b);
/* [{"name":..,"type":"decimal(10,2)","nullable":true},...] */
void nb_schema_to_json(const struct nb_schema *s, struct nb_buf *out);

static inline struct nb_type nb_type_make(enum nb_type_id id)
{
    struct nb_type t = {id, 0, 0, false};
    return t;
}
/* "int64", "decimal(10,2)", "timestamp", "timestamptz", ... */
void nb_type_format(struct nb_type t, char *out, size_t cap);
/* Parse the names nb_type_format prints, plus aliases (int, integer, bigint, double, float, text,
 * varchar, boolean, datetime, timestamp_tz). */
nb_status nb_type_parse(const char *s, struct nb_type *out, struct nb_error *err);
const char *nb_type_name(enum nb_type_id id);
/* Fixed width of the native representation, 0 for variable width types. */
size_t nb_type_native_width(enum nb_type_id id);

#endif
