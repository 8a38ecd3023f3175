/* Schemas and type names. */
#include "batch/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct nb_schema *nb_schema_create(void)
{
    struct nb_schema *s = calloc(1, sizeof *s);
    if (s) s->refcount = 1;
    return s;
}

int nb_schema_add(struct nb_schema *s, const char *name, struct nb_type type, bool nullable)
{
    if (s->n_fields == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct nb_field *f = realloc(s->fields, cap * sizeof *f);
        if (!f) return -1;
        s->fields = f;
        s->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) return -1;
    s->fields[s->n_fields] = (struct nb_field){copy, type, nullable};
    return (int)s->n_fields++;
}

struct nb_schema *nb_schema_retain(struct nb_schema *s)
{
    if (s) __atomic_add_fetch(&s->refcount, 1, __ATOMIC_RELAXED);
    return s;
}

void nb_schema_release(struct nb_schema *s)
{
    if (!s || __atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
    for (size_t i = 0; i < s->n_fields; i++) free(s->fields[i].name);
    free(s->fields);
    free(s);
}

struct nb_schema *nb_schema_copy(const struct nb_schema *s)
{
    struct nb_schema *c = nb_schema_create();
    if (!c) return NULL;
    for (size_t i = 0; i < s->n_fields; i++) {
        if (nb_schema_add(c, s->fields[i].name, s->fields[i].type, s->fields[i].nullable) < 0) {
            nb_schema_release(c);
            return NULL;
        }
    }
    return c;
}

int nb_schema_find(const struct nb_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i].name, name) == 0) return (int)i;
    return -1;
}

static bool type_equal(struct nb_type a, struct nb_type b)
{
    return a.id == b.id && a.precision == b.precision && a.scale == b.scale && a.utc == b.utc;
}

bool nb_schema_equal(const struct nb_schema *a, const struct nb_schema *b)
{
    if (a == b) return true;
    if (!a || !b || a->n_fields != b->n_fields) return false;
    for (size_t i = 0; i < a->n_fields; i++) {
        if (strcmp(a->fields[i].name, b->fields[i].name) != 0 || !type_equal(a->fields[i].type, b->fields[i].type) ||
            a->fields[i].nullable != b->fields[i].nullable)
            return false;
    }
    return true;
}

static const char *const type_names[NB_TYPE_COUNT_] = {
    "null", "bool", "int32", "int64", "float64", "decimal", "string",
    "binary", "date", "time", "timestamp", "json",
};

const char *nb_type_name(enum nb_type_id id)
{
    return id < NB_TYPE_COUNT_ ? type_names[id] : "unknown";
}

void nb_type_format(struct nb_type t, char *out, size_t cap)
{
    if (t.id == NB_TYPE_DECIMAL) snprintf(out, cap, "decimal(%u,%u)", t.precision, t.scale);
    else if (t.id == NB_TYPE_TIMESTAMP && t.utc) snprintf(out, cap, "timestamptz");
    else snprintf(out, cap, "%s", nb_type_name(t.id));
}

nb_status nb_type_parse(const char *s, struct nb_type *out, struct nb_error *err)
{
    static const struct { const char *name; enum nb_type_id id; bool utc; } names[] = {
        {"null", NB_TYPE_NULL, false},        {"bool", NB_TYPE_BOOL, false},
        {"boolean", NB_TYPE_BOOL, false},     {"int32", NB_TYPE_INT32, false},
        {"int", NB_TYPE_INT64, false},        {"integer", NB_TYPE_INT64, false},
        {"int64", NB_TYPE_INT64, false},      {"bigint", NB_TYPE_INT64, false},
        {"float64", NB_TYPE_FLOAT64, false},  {"double", NB_TYPE_FLOAT64, false},
        {"float", NB_TYPE_FLOAT64, false},    {"string", NB_TYPE_STRING, false},
        {"text", NB_TYPE_STRING, false},      {"varchar", NB_TYPE_STRING, false},
        {"binary", NB_TYPE_BINARY, false},    {"bytes", NB_TYPE_BINARY, false},
        {"date", NB_TYPE_DATE, false},        {"time", NB_TYPE_TIME, false},
        {"timestamp", NB_TYPE_TIMESTAMP, false}, {"datetime", NB_TYPE_TIMESTAMP, false},
        {"timestamptz", NB_TYPE_TIMESTAMP, true}, {"timestamp_tz", NB_TYPE_TIMESTAMP, true},
        {"json", NB_TYPE_JSON, false},
    };
    unsigned p = 0, sc = 0;
    int used = -1;
    /* Type names are case-insensitive (SQL habits: DECIMAL(10,2), BIGINT). %n proves the ')' matched. */
    if ((strncasecmp(s, "decimal(", 8) == 0 || strncasecmp(s, "numeric(", 8) == 0) &&
        sscanf(s + 8, "%u,%u)%n", &p, &sc, &used) == 2 && used > 0 && s[8 + used] == '\0') {
        if (p < 1 || p > 76 || sc > p || strchr(s, '-'))
            return nb_error_set(err, NB_ERR_CONFIG, "type '%s': precision must be 1..76 and scale 0..precision", s);
        *out = (struct nb_type){NB_TYPE_DECIMAL, (uint8_t)p, (uint8_t)sc, false};
        return NB_OK;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = (struct nb_type){names[i].id, 0, 0, names[i].utc};
            return NB_OK;
        }
    }
    return nb_error_set(err, NB_ERR_CONFIG,
                        "unknown type '%s': use bool, int32, int64, float64, decimal(p,s), string, binary, "
                        "date, time, timestamp, timestamptz or json", s);
}

size_t nb_type_native_width(enum nb_type_id id)
{
    switch (id) {
    case NB_TYPE_BOOL: return 1;
    case NB_TYPE_INT32: case NB_TYPE_DATE: return 4;
    case NB_TYPE_INT64: case NB_TYPE_FLOAT64: case NB_TYPE_TIME: case NB_TYPE_TIMESTAMP: return 8;
    default: return 0;
    }
}

void nb_schema_to_json(const struct nb_schema *s, struct nb_buf *out)
{
    nb_buf_putc(out, '[');
    for (size_t i = 0; i < s->n_fields; i++) {
        char tname[48];
        nb_type_format(s->fields[i].type, tname, sizeof tname);
        if (i) nb_buf_putc(out, ',');
        nb_buf_puts(out, "{\"name\":");
        nb_buf_json_string(out, s->fields[i].name, strlen(s->fields[i].name));
        nb_buf_printf(out, ",\"type\":\"%s\",\"nullable\":%s}", tname, s->fields[i].nullable ? "true" : "false");
    }
    nb_buf_putc(out, ']');
}
