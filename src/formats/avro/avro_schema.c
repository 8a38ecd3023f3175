/* The Avro schema derived from a Nebula schema (docs/connectors/avro.md): names sanitised to
 * Avro's [A-Za-z_][A-Za-z0-9_]* (the original kept in "nebula.original_name"), nullable columns as
 * ["null", T] unions with default null, logical types for dates, times, timestamps and decimals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "formats/avro/avro_internal.h"

static bool name_char(unsigned char c, bool first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') return true;
    return !first && c >= '0' && c <= '9';
}

/* Invalid characters become '_' (one per UTF-8 character, not per byte); a leading digit gets a
 * '_' in front; "" becomes "_". */
static char *sanitize(const char *name)
{
    size_t n = strlen(name);
    char *out = malloc(n + 2);
    if (!out) return NULL;
    size_t j = 0;
    if (n == 0 || (name[0] >= '0' && name[0] <= '9')) out[j++] = '_';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x80 && c < 0xC0 && i > 0 && (unsigned char)name[i - 1] >= 0x80) continue;
        out[j++] = name_char(c, false) ? (char)c : '_';
    }
    out[j] = '\0';
    return out;
}

static bool taken(char **names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0) return true;
    return false;
}

void nb_avro_names_free(char **names, size_t n)
{
    if (!names) return;
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

nb_status nb_avro_field_names(const struct nb_schema *s, char ***out, struct nb_error *err)
{
    size_t n = s->n_fields;
    char **names = calloc(n ? n : 1, sizeof *names);
    if (!names) goto fail;
    /* Names that are already valid keep their spelling; only renamed fields get suffixes, so a
     * column called "a_b" is never renamed because another column "a b" sanitises to it. */
    for (size_t i = 0; i < n; i++) {
        char *c = sanitize(s->fields[i].name);
        if (!c) goto fail;
        if (strcmp(c, s->fields[i].name) == 0 && !taken(names, n, c)) names[i] = c;
        else free(c);
    }
    for (size_t i = 0; i < n; i++) {
        if (names[i]) continue;
        char *c = sanitize(s->fields[i].name);
        if (!c) goto fail;
        if (!taken(names, n, c)) { names[i] = c; continue; }
        size_t len = strlen(c);
        char *d = malloc(len + 24);
        if (!d) { free(c); goto fail; }
        for (unsigned k = 2;; k++) {
            snprintf(d, len + 24, "%s_%u", c, k);
            if (!taken(names, n, d)) break;
        }
        free(c);
        names[i] = d;
    }
    *out = names;
    return NB_OK;
fail:
    nb_avro_names_free(names, n);
    return nb_error_set(err, NB_ERR_NOMEM, "avro: out of memory building field names");
}

static void put_type(struct nb_buf *b, struct nb_type t)
{
    switch (t.id) {
    case NB_TYPE_NULL: nb_buf_puts(b, "\"null\""); break;
    case NB_TYPE_BOOL: nb_buf_puts(b, "\"boolean\""); break;
    case NB_TYPE_INT32: nb_buf_puts(b, "\"int\""); break;
    case NB_TYPE_INT64: nb_buf_puts(b, "\"long\""); break;
    case NB_TYPE_FLOAT64: nb_buf_puts(b, "\"double\""); break;
    case NB_TYPE_DECIMAL:
        nb_buf_printf(b, "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":%u,\"scale\":%u}",
                      (unsigned)t.precision, (unsigned)t.scale);
        break;
    case NB_TYPE_STRING: nb_buf_puts(b, "\"string\""); break;
    case NB_TYPE_BINARY: nb_buf_puts(b, "\"bytes\""); break;
    case NB_TYPE_DATE: nb_buf_puts(b, "{\"type\":\"int\",\"logicalType\":\"date\"}"); break;
    case NB_TYPE_TIME: nb_buf_puts(b, "{\"type\":\"long\",\"logicalType\":\"time-micros\"}"); break;
    case NB_TYPE_TIMESTAMP:
        nb_buf_printf(b, "{\"type\":\"long\",\"logicalType\":\"%s\"}",
                      t.utc ? "timestamp-micros" : "local-timestamp-micros");
        break;
    /* JSON travels as its text; sqlType is the property BigQuery reads to load it as JSON. */
    case NB_TYPE_JSON: nb_buf_puts(b, "{\"type\":\"string\",\"sqlType\":\"JSON\"}"); break;
    default: nb_buf_puts(b, "\"string\""); break;
    }
}

nb_status nb_avro_schema_json(const struct nb_schema *s, const char *record_name, struct nb_buf *out,
                              struct nb_error *err)
{
    char **names = NULL;
    char *rec = sanitize(record_name && *record_name ? record_name : "nebula_record");
    nb_status st = NB_OK;
    if (!rec) { st = nb_error_set(err, NB_ERR_NOMEM, "avro: out of memory"); goto fail; }
    if ((st = nb_avro_field_names(s, &names, err)) != NB_OK) goto fail;
    nb_buf_puts(out, "{\"type\":\"record\",\"name\":");
    nb_buf_json_string(out, rec, strlen(rec));
    /* A type may not take a primitive type's name (a stream called "string"). */
    static const char *const primitive[] = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"};
    for (size_t i = 0; i < sizeof primitive / sizeof primitive[0]; i++)
        if (strcmp(rec, primitive[i]) == 0) { out->len--; nb_buf_puts(out, "_record\""); break; }
    nb_buf_puts(out, ",\"fields\":[");
    for (size_t i = 0; i < s->n_fields; i++) {
        const struct nb_field *f = &s->fields[i];
        if (i) nb_buf_putc(out, ',');
        nb_buf_puts(out, "{\"name\":");
        nb_buf_json_string(out, names[i], strlen(names[i]));
        nb_buf_puts(out, ",\"type\":");
        if (f->nullable && f->type.id != NB_TYPE_NULL) {
            nb_buf_puts(out, "[\"null\",");
            put_type(out, f->type);
            nb_buf_puts(out, "],\"default\":null");
        } else {
            put_type(out, f->type);
        }
        size_t len = strlen(f->name);
        /* An original name that is not UTF-8 cannot be put in JSON text: the Avro name stands alone. */
        if (strcmp(names[i], f->name) != 0 && nb_utf8_valid(f->name, len)) {
            nb_buf_puts(out, ",\"nebula.original_name\":");
            nb_buf_json_string(out, f->name, len);
        }
        nb_buf_putc(out, '}');
    }
    nb_buf_puts(out, "]}");
    st = nb_buf_status(out, err);
fail:
    if (names) nb_avro_names_free(names, s->n_fields);
    free(rec);
    return st;
}
