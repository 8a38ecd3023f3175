/* The one JSON parser (RFC 8259, strict) and a small DOM allocated in an arena. Used for state
 * files, positions, API responses and, one value at a time, by the JSON format reader.
 * Numbers keep their exact source text (no double rounding): read them with nb_json_i64 /
 * nb_json_f64 or copy the text. Object members keep their order; duplicate keys are kept. */
#ifndef NB_CORE_JSON_H
#define NB_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"

enum nb_json_kind { NB_JSON_NULL, NB_JSON_BOOL, NB_JSON_NUMBER, NB_JSON_STRING, NB_JSON_ARRAY, NB_JSON_OBJECT };

struct nb_json_member;

struct nb_json {
    enum nb_json_kind kind;
    union {
        bool boolean;
        struct { const char *text; size_t len; } number;   /* exact source text */
        struct { const char *ptr; size_t len; } string;    /* unescaped UTF-8, NUL-terminated */
        struct { struct nb_json **items; size_t count; } array;
        struct { struct nb_json_member *members; size_t count; } object;
    } u;
};

struct nb_json_member {
    const char *key;    /* unescaped, NUL-terminated */
    size_t key_len;
    struct nb_json *value;
};

/* Limits that keep hostile input from exhausting the stack or memory. */
#define NB_JSON_MAX_DEPTH 512

/* Parse exactly one JSON text from s[0..n) (whitespace around it allowed, nothing else).
 * All nodes and strings are allocated in `arena`. On error, err names the byte offset, line and
 * column and what was expected. */
nb_status nb_json_parse(const char *s, size_t n, struct nb_arena *arena, struct nb_json **out,
                        struct nb_error *err);
/* Parse one value from the start of s[0..n) (leading whitespace skipped) and report how many bytes
 * it used in *consumed; trailing bytes are left alone. Returns NB_AGAIN when s ends in the middle
 * of the value and more input could complete it (the caller reads more and calls again). */
nb_status nb_json_parse_prefix(const char *s, size_t n, struct nb_arena *arena, struct nb_json **out,
                               size_t *consumed, struct nb_error *err);

/* The same with two extras for incremental readers: at_eof=true says the buffer end is the end
 * of the input (a cut-off value is an error, never NB_AGAIN), and on an error *err_offset (if
 * not NULL) is the byte offset in s where it was found, so a caller can name its own file:line. */
nb_status nb_json_parse_prefix_ex(const char *s, size_t n, bool at_eof, struct nb_arena *arena, struct nb_json **out,
                                  size_t *consumed, size_t *err_offset, struct nb_error *err);

/* Accessors: NULL / false when missing or of another kind. */
const struct nb_json *nb_json_get(const struct nb_json *obj, const char *key);
const char *nb_json_get_string(const struct nb_json *obj, const char *key);  /* NUL-terminated */
bool nb_json_get_i64(const struct nb_json *obj, const char *key, int64_t *out);
bool nb_json_get_bool(const struct nb_json *obj, const char *key, bool *out);
bool nb_json_i64(const struct nb_json *v, int64_t *out);   /* number that is an exact integer in range */
bool nb_json_u64(const struct nb_json *v, uint64_t *out);
bool nb_json_f64(const struct nb_json *v, double *out);

/* Serialise v as compact JSON (numbers written with their original text). */
void nb_json_write(struct nb_buf *out, const struct nb_json *v);

#endif
