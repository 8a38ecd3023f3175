/* The JSON format reader: records of a top-level array or of NDJSON, one at a time, parsed with
 * nb_json_parse_prefix over a refillable buffer bounded by max_record_size; schema inference over
 * a sample; rows appended as TEXT columns (exact source text), with values that do not fit their
 * column flagged as mismatches; keys first seen after the sample follow on_new_key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/value.h"
#include "core/json.h"
#include "formats/json/json_format.h"

#define READ_CHUNK (256u * 1024)
#define RAW_SNIPPET 1024   /* bytes of an oversized record handed to the bad-record sink */

enum array_state { A_BEFORE_OPEN, A_FIRST, A_AFTER_ELEMENT, A_NEXT, A_CLOSED };

/* A record source: the buffer over the input and the layout's framing. */
struct recsrc {
    struct nb_istream *in;
    const char *name, *stream;
    enum nb_json_layout layout;
    enum array_state astate;
    size_t max_record;
    char *data;
    size_t cap, pos, len;
    bool eof;
    uint64_t offset;         /* source offset of data[pos] */
    uint64_t line;           /* 1-based line of data[pos] */
    uint64_t col;            /* characters between the start of that line and data[pos] */
    bool at_start;           /* nothing consumed yet: a BOM may follow */
    struct nb_arena *arena;  /* the record's DOM */
    struct nb_bad_record_sink *bad;
    bool quiet;              /* inference: skip bad records without reporting them */
    uint64_t bad_count;
};

static void src_init(struct recsrc *s, struct nb_istream *in, const struct nb_json_reader_options *opt,
                     struct nb_arena *arena)
{
    memset(s, 0, sizeof *s);
    s->in = in;
    s->name = opt->name ? opt->name : "<input>";
    s->stream = opt->stream;
    s->layout = opt->layout;
    s->max_record = opt->max_record_size ? opt->max_record_size : NB_JSON_DEFAULT_MAX_RECORD;
    s->line = 1;
    s->at_start = true;
    s->arena = arena;
    s->bad = opt->bad;
}

static void src_cleanup(struct recsrc *s) { free(s->data); }

static inline size_t avail(const struct recsrc *s) { return s->len - s->pos; }

/* Read more input after the unconsumed bytes (compacting or growing the buffer). */
static nb_status src_fill(struct recsrc *s, struct nb_error *err)
{
    if (s->eof) return NB_OK;
    if (s->pos > 0 && (s->pos == s->len || s->len == s->cap)) {
        memmove(s->data, s->data + s->pos, s->len - s->pos);
        s->len -= s->pos;
        s->pos = 0;
    }
    if (s->cap - s->len < READ_CHUNK / 4) {
        size_t want = s->cap ? s->cap * 2 : READ_CHUNK;
        size_t limit = s->max_record + 2 * READ_CHUNK;
        if (want > limit) want = limit;
        if (want < s->len + READ_CHUNK / 4) want = s->len + READ_CHUNK / 4;
        char *d = realloc(s->data, want);
        if (!d) return nb_error_set(err, NB_ERR_NOMEM, "out of memory reading %s", s->name);
        s->data = d;
        s->cap = want;
    }
    size_t got = 0;
    nb_status st = nb_istream_read(s->in, s->data + s->len, s->cap - s->len, &got, err);
    if (st == NB_DONE || (st == NB_OK && got == 0)) {
        s->eof = true;
        return NB_OK;
    }
    if (st != NB_OK) return nb_error_prefix(err, "reading %s: ", s->name);
    s->len += got;
    return NB_OK;
}

static size_t count_chars(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

/* Line and column (1-based) of data[pos + rel]. */
static void src_where(const struct recsrc *s, size_t rel, uint64_t *line, uint64_t *col)
{
    if (rel == 0) {
        *line = s->line;
        *col = s->col + 1;
        return;
    }
    const char *p = s->data + s->pos, *e = p + rel;
    uint64_t l = s->line;
    const char *ls = NULL;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(e - q))) != NULL; q++) { l++; ls = q + 1; }
    *line = l;
    *col = 1 + (ls ? count_chars(ls, (size_t)(e - ls)) : s->col + count_chars(p, rel));
}

static void src_advance(struct recsrc *s, size_t n)
{
    if (n == 0) return;
    const char *p = s->data + s->pos, *e = p + n;
    const char *ls = NULL;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(e - q))) != NULL; q++) { s->line++; ls = q + 1; }
    s->col = ls ? count_chars(ls, (size_t)(e - ls)) : s->col + count_chars(p, n);
    s->pos += n;
    s->offset += n;
    s->at_start = false;
}

/* Skip whitespace (and a UTF-8 BOM at the very start). NB_DONE: end of input reached. */
static nb_status src_skip_ws(struct recsrc *s, struct nb_error *err)
{
    for (;;) {
        if (s->at_start && s->offset == 0) {
            while (avail(s) < 3 && !s->eof) {
                nb_status st = src_fill(s, err);
                if (st != NB_OK) return st;
            }
            if (avail(s) >= 3 && memcmp(s->data + s->pos, "\xEF\xBB\xBF", 3) == 0) {
                s->pos += 3;
                s->offset += 3;
            }
            s->at_start = false;
        }
        size_t i = s->pos;
        while (i < s->len && (s->data[i] == ' ' || s->data[i] == '\t' || s->data[i] == '\n' || s->data[i] == '\r')) i++;
        src_advance(s, i - s->pos);
        if (s->pos < s->len) return NB_OK;
        if (s->eof) return NB_DONE;
        nb_status st = src_fill(s, err);
        if (st != NB_OK) return st;
    }
}

/* The parser's message without its own (record-relative) location. */
static const char *parse_reason(const struct nb_error *e)
{
    const char *p = strstr(e->message, "): ");
    return p ? p + 3 : e->message;
}

static nb_status report_bad(struct recsrc *s, uint64_t line, uint64_t col, const char *reason, const char *raw,
                            size_t raw_len, struct nb_error *err)
{
    s->bad_count++;
    if (s->quiet) return NB_OK;
    char where[4200];
    snprintf(where, sizeof where, "%s:%llu:%llu", s->name, (unsigned long long)line, (unsigned long long)col);
    struct nb_bad_record rec = {s->stream, where, reason, raw, raw_len};
    return nb_bad_record_report(s->bad, &rec, err);
}

/* Structural scan of one array element whatever its validity: brackets and strings only.
 * Scalars end before ',', ']' or whitespace at depth 0. */
struct skipper {
    int depth;
    bool in_str, esc, started, scalar;
};

/* Bytes of p[0..n) that belong to the element, or (size_t)-1 when it goes on past n. */
static size_t skip_feed(struct skipper *k, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!k->started) {
            k->started = true;
            if (c == '{' || c == '[') { k->depth = 1; continue; }
            if (c == '"') { k->in_str = true; k->scalar = true; continue; }
            k->scalar = true;
            continue;
        }
        if (k->in_str) {
            if (k->esc) k->esc = false;
            else if (c == '\\') k->esc = true;
            else if (c == '"') {
                k->in_str = false;
                if (k->depth == 0) return i + 1;
            }
            continue;
        }
        if (k->depth == 0) {   /* a bare scalar */
            if (c == ',' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r') return i;
            continue;
        }
        if (c == '"') k->in_str = true;
        else if (c == '{' || c == '[') k->depth++;
        else if (c == '}' || c == ']') {
            if (--k->depth == 0) return i + 1;
        }
    }
    return (size_t)-1;
}

/* An element too large to buffer: report it, then scan past it without keeping it. */
static nb_status skip_oversized(struct recsrc *s, struct skipper *k, size_t scanned, uint64_t line, uint64_t col,
                                struct nb_error *err)
{
    char reason[160];
    snprintf(reason, sizeof reason, "record larger than max_record_size (%zu bytes)", s->max_record);
    size_t snip = avail(s) < RAW_SNIPPET ? avail(s) : RAW_SNIPPET;
    nb_status st = report_bad(s, line, col, reason, s->data + s->pos, snip, err);
    if (st != NB_OK) return st;
    src_advance(s, scanned);
    for (;;) {
        size_t used = skip_feed(k, s->data + s->pos, avail(s));
        if (used != (size_t)-1) {
            src_advance(s, used);
            return NB_OK;
        }
        src_advance(s, avail(s));
        if (s->eof)
            return nb_error_set(err, NB_ERR_INVALID, "%s:%llu:%llu: unexpected end of input inside an oversized record",
                                s->name, (unsigned long long)s->line, (unsigned long long)s->col + 1);
        if ((st = src_fill(s, err)) != NB_OK) return st;
    }
}

static const char *kind_name(enum nb_json_kind k)
{
    switch (k) {
    case NB_JSON_NULL: return "null";
    case NB_JSON_BOOL: return "a boolean";
    case NB_JSON_NUMBER: return "a number";
    case NB_JSON_STRING: return "a string";
    case NB_JSON_ARRAY: return "an array";
    case NB_JSON_OBJECT: return "an object";
    }
    return "?";
}

/* One element of the top-level array. */
static nb_status next_array_element(struct recsrc *s, struct nb_json **out, struct nb_error *err)
{
    for (;;) {
        nb_arena_reset(s->arena);
        size_t used = 0, eoff = 0;
        struct nb_error perr = {0};
        struct nb_json *v = NULL;
        nb_status st = nb_json_parse_prefix_ex(s->data + s->pos, avail(s), s->eof, s->arena, &v, &used, &eoff, &perr);
        uint64_t line, col;
        if (st == NB_OK && used > s->max_record) {
            src_where(s, 0, &line, &col);
            char reason[160];
            snprintf(reason, sizeof reason, "record larger than max_record_size (%zu bytes)", s->max_record);
            st = report_bad(s, line, col, reason, s->data + s->pos, avail(s) < RAW_SNIPPET ? avail(s) : RAW_SNIPPET, err);
            if (st != NB_OK) return st;
            src_advance(s, used);
            s->astate = A_AFTER_ELEMENT;
            return NB_AGAIN;
        }
        if (st == NB_OK) {
            s->astate = A_AFTER_ELEMENT;
            if (v->kind == NB_JSON_OBJECT) {
                src_advance(s, used);
                *out = v;
                return NB_OK;
            }
            src_where(s, 0, &line, &col);
            char reason[96];
            snprintf(reason, sizeof reason, "array element is %s, expected an object", kind_name(v->kind));
            st = report_bad(s, line, col, reason, s->data + s->pos, used, err);
            if (st != NB_OK) return st;
            src_advance(s, used);
            return NB_AGAIN;    /* go on with the next element */
        }
        if (st == NB_AGAIN) {
            if (avail(s) >= s->max_record) {
                struct skipper k = {0};
                size_t scanned = avail(s);
                src_where(s, 0, &line, &col);
                if (skip_feed(&k, s->data + s->pos, scanned) != (size_t)-1) {
                    /* Its end is in the buffer after all: let skip_oversized find it from the start. */
                    scanned = 0;
                    k = (struct skipper){0};
                }
                st = skip_oversized(s, &k, scanned, line, col, err);
                if (st != NB_OK) return st;
                s->astate = A_AFTER_ELEMENT;
                return NB_AGAIN;
            }
            if ((st = src_fill(s, err)) != NB_OK) return st;
            continue;
        }
        if (st != NB_ERR_INVALID) return nb_error_set(err, st, "%s: %s", s->name, perr.message);
        /* Invalid: find where the element ends to report it and carry on; if even its structure is
         * lost, stop (the rest of the array cannot be framed). */
        src_where(s, eoff, &line, &col);
        char reason[NB_ERROR_MESSAGE_MAX];
        snprintf(reason, sizeof reason, "invalid JSON: %s", parse_reason(&perr));
        struct skipper k = {0};
        size_t scanned = 0;
        for (;;) {
            size_t end = skip_feed(&k, s->data + s->pos + scanned, avail(s) - scanned);
            if (end != (size_t)-1) {
                scanned += end;
                st = report_bad(s, line, col, reason, s->data + s->pos, scanned, err);
                if (st != NB_OK) return st;
                src_advance(s, scanned);
                s->astate = A_AFTER_ELEMENT;
                return NB_AGAIN;
            }
            scanned = avail(s);
            if (s->eof || avail(s) >= s->max_record) {
                st = report_bad(s, line, col, reason, s->data + s->pos, avail(s) < RAW_SNIPPET ? avail(s) : RAW_SNIPPET, err);
                if (st != NB_OK) return st;
                return nb_error_set(err, NB_ERR_INVALID,
                                    "%s:%llu:%llu: %s; the rest of the top-level array cannot be read past it", s->name,
                                    (unsigned long long)line, (unsigned long long)col, reason);
            }
            if ((st = src_fill(s, err)) != NB_OK) return st;
        }
    }
}

/* The next record as an object, with the place it starts. NB_DONE at the end. Bad records are
 * reported (and skipped when the sink says so) on the way. */
static nb_status src_next(struct recsrc *s, struct nb_json **out, uint64_t *rec_offset, uint64_t *rec_line,
                          struct nb_error *err)
{
    for (;;) {
        nb_status st = src_skip_ws(s, err);
        if (st == NB_DONE) {
            if (s->layout == NB_JSON_LAYOUT_ARRAY && s->astate != A_CLOSED && s->astate != A_BEFORE_OPEN)
                return nb_error_set(err, NB_ERR_INVALID, "%s:%llu:%llu: unexpected end of input: the top-level array is not closed",
                                    s->name, (unsigned long long)s->line, (unsigned long long)s->col + 1);
            return NB_DONE;
        }
        if (st != NB_OK) return st;
        char c = s->data[s->pos];
        if (s->layout == NB_JSON_LAYOUT_ARRAY) {
            const char *what = NULL;
            switch (s->astate) {
            case A_BEFORE_OPEN:
                if (c == '[') { src_advance(s, 1); s->astate = A_FIRST; continue; }
                what = "expected '[' to open the top-level array";
                break;
            case A_FIRST:
                if (c == ']') { src_advance(s, 1); s->astate = A_CLOSED; continue; }
                break;
            case A_AFTER_ELEMENT:
                if (c == ',') { src_advance(s, 1); s->astate = A_NEXT; continue; }
                if (c == ']') { src_advance(s, 1); s->astate = A_CLOSED; continue; }
                what = "expected ',' or ']' after an array element";
                break;
            case A_NEXT:
                if (c == ']') what = "trailing comma before ']'";
                break;
            case A_CLOSED:
                what = "unexpected data after the top-level array";
                break;
            }
            if (what) {
                return nb_error_set(err, NB_ERR_INVALID, "%s:%llu:%llu: invalid JSON: %s", s->name,
                                    (unsigned long long)s->line, (unsigned long long)s->col + 1, what);
            }
            *rec_offset = s->offset;
            *rec_line = s->line;
            struct nb_json *v = NULL;
            st = next_array_element(s, &v, err);
            if (st == NB_AGAIN) continue;
            if (st != NB_OK) return st;
            *out = v;
            return NB_OK;
        }

        /* NDJSON: one record per line. */
        const char *nl = memchr(s->data + s->pos, '\n', avail(s));
        if (!nl && !s->eof) {
            if (avail(s) > s->max_record) {
                uint64_t line = s->line, col = s->col + 1;
                char reason[160];
                snprintf(reason, sizeof reason, "record larger than max_record_size (%zu bytes)", s->max_record);
                st = report_bad(s, line, col, reason, s->data + s->pos, avail(s) < RAW_SNIPPET ? avail(s) : RAW_SNIPPET, err);
                if (st != NB_OK) return st;
                /* Discard up to the end of the line without buffering it. */
                for (;;) {
                    nl = memchr(s->data + s->pos, '\n', avail(s));
                    if (nl) { src_advance(s, (size_t)(nl - (s->data + s->pos)) + 1); break; }
                    src_advance(s, avail(s));
                    if (s->eof) break;
                    if ((st = src_fill(s, err)) != NB_OK) return st;
                }
                continue;
            }
            if ((st = src_fill(s, err)) != NB_OK) return st;
            continue;
        }
        size_t line_len = nl ? (size_t)(nl - (s->data + s->pos)) : avail(s);
        size_t total = nl ? line_len + 1 : line_len;
        if (line_len > s->max_record) {
            /* Whole in the buffer already, but over the limit all the same. */
            char reason[160];
            snprintf(reason, sizeof reason, "record larger than max_record_size (%zu bytes)", s->max_record);
            st = report_bad(s, s->line, s->col + 1, reason, s->data + s->pos, avail(s) < RAW_SNIPPET ? avail(s) : RAW_SNIPPET, err);
            if (st != NB_OK) return st;
            src_advance(s, total);
            continue;
        }
        *rec_offset = s->offset;
        *rec_line = s->line;
        nb_arena_reset(s->arena);
        struct nb_json *v = NULL;
        size_t used = 0, eoff = 0;
        struct nb_error perr = {0};
        const char *rec = s->data + s->pos;
        st = nb_json_parse_prefix_ex(rec, line_len, true, s->arena, &v, &used, &eoff, &perr);
        if (st == NB_OK) {
            size_t k = used;
            while (k < line_len && (rec[k] == ' ' || rec[k] == '\t' || rec[k] == '\r')) k++;
            if (k < line_len) {
                st = NB_ERR_INVALID;
                eoff = k;
                snprintf(perr.message, sizeof perr.message, "x): unexpected data after the record's JSON value");
            }
        }
        if (st == NB_OK && v->kind != NB_JSON_OBJECT) {
            char reason[96];
            snprintf(reason, sizeof reason, "record is %s, expected an object", kind_name(v->kind));
            st = report_bad(s, s->line, s->col + 1, reason, rec, line_len, err);
            if (st != NB_OK) return st;
            src_advance(s, total);
            continue;
        }
        if (st != NB_OK) {
            if (st != NB_ERR_INVALID) return nb_error_set(err, st, "%s: %s", s->name, perr.message);
            uint64_t line, col;
            src_where(s, eoff, &line, &col);
            char reason[NB_ERROR_MESSAGE_MAX];
            snprintf(reason, sizeof reason, "invalid JSON: %s", parse_reason(&perr));
            st = report_bad(s, line, col, reason, rec, line_len, err);
            if (st != NB_OK) return st;
            src_advance(s, total);
            continue;
        }
        src_advance(s, total);
        *out = v;
        return NB_OK;
    }
}

/* Layout from the first non-space byte (after a BOM). Leaves the source untouched otherwise. */
static nb_status detect_layout(struct recsrc *s, struct nb_error *err)
{
    if (s->layout != NB_JSON_LAYOUT_AUTO) return NB_OK;
    nb_status st = src_skip_ws(s, err);
    if (st == NB_DONE) { s->layout = NB_JSON_LAYOUT_LINES; return NB_OK; }
    if (st != NB_OK) return st;
    s->layout = s->data[s->pos] == '[' ? NB_JSON_LAYOUT_ARRAY : NB_JSON_LAYOUT_LINES;
    return NB_OK;
}

nb_status nb_json_detect_layout(struct nb_istream *in, enum nb_json_layout *layout, struct nb_error *err)
{
    struct nb_json_reader_options opt = {.name = "<input>"};
    struct recsrc s;
    src_init(&s, in, &opt, NULL);
    nb_status st = detect_layout(&s, err);
    if (st == NB_OK) *layout = s.layout;
    src_cleanup(&s);
    return st;
}

/* ---- field lookup ---------------------------------------------------------------------------- */

struct fields {
    size_t n;
    const char **names;
    size_t *lens;
    int32_t *table;        /* open addressing: field index or -1 */
    size_t mask;
};

static uint64_t hash_key(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void fields_cleanup(struct fields *f)
{
    free(f->names);
    free(f->lens);
    free(f->table);
    memset(f, 0, sizeof *f);
}

static bool fields_build(struct fields *f, const struct nb_schema *s)
{
    fields_cleanup(f);
    f->n = s->n_fields;
    size_t cap = 16;
    while (cap < 2 * f->n + 2) cap *= 2;
    f->names = calloc(f->n + 1, sizeof *f->names);
    f->lens = calloc(f->n + 1, sizeof *f->lens);
    f->table = malloc(cap * sizeof *f->table);
    if (!f->names || !f->lens || !f->table) return false;
    f->mask = cap - 1;
    for (size_t i = 0; i < cap; i++) f->table[i] = -1;
    for (size_t i = 0; i < f->n; i++) {
        f->names[i] = s->fields[i].name;
        f->lens[i] = strlen(s->fields[i].name);
        size_t h = hash_key(f->names[i], f->lens[i]) & f->mask;
        while (f->table[h] >= 0) {
            /* Duplicate names in a schema: the first wins. */
            if (f->lens[f->table[h]] == f->lens[i] && memcmp(f->names[f->table[h]], f->names[i], f->lens[i]) == 0) break;
            h = (h + 1) & f->mask;
        }
        if (f->table[h] < 0) f->table[h] = (int32_t)i;
    }
    return true;
}

/* Index of key, or -1. `hint` is the likely index (members usually come in schema order). */
static int fields_find(const struct fields *f, const char *key, size_t n, size_t hint)
{
    if (hint < f->n && f->lens[hint] == n && memcmp(f->names[hint], key, n) == 0) return (int)hint;
    size_t h = hash_key(key, n) & f->mask;
    while (f->table[h] >= 0) {
        int32_t i = f->table[h];
        if (f->lens[i] == n && memcmp(f->names[i], key, n) == 0) return i;
        h = (h + 1) & f->mask;
    }
    return -1;
}

/* Schema names stop at an embedded NUL (they are C strings), so such a key is looked up by its
 * truncated name; the rare case costs a strlen only after a miss. */
static int find_member(const struct fields *f, const struct nb_json_member *mem, size_t hint)
{
    int i = fields_find(f, mem->key, mem->key_len, hint);
    if (i < 0) {
        size_t kl = strlen(mem->key);
        if (kl != mem->key_len) i = fields_find(f, mem->key, kl, hint);
    }
    return i;
}

/* ---- inference ------------------------------------------------------------------------------ */

#define K_NULL 1u
#define K_BOOL 2u
#define K_NUMBER 4u
#define K_STRING 8u
#define K_NESTED 16u

struct keystat {
    char *name;
    size_t len;
    unsigned kinds;
    unsigned num_state, str_state;
    bool any_num, any_str, any_zoned;
};

static unsigned kind_bit(enum nb_json_kind k)
{
    switch (k) {
    case NB_JSON_NULL: return K_NULL;
    case NB_JSON_BOOL: return K_BOOL;
    case NB_JSON_NUMBER: return K_NUMBER;
    case NB_JSON_STRING: return K_STRING;
    default: return K_NESTED;
    }
}

/* The type one value suggests on its own (a key first seen after the sample). */
static struct nb_type type_of_value(const struct nb_json *v)
{
    switch (v->kind) {
    case NB_JSON_BOOL: return nb_type_make(NB_TYPE_BOOL);
    case NB_JSON_NUMBER:
        return nb_type_make((nb_value_classify(v->u.number.text, v->u.number.len) & NB_FITS_INT64) ? NB_TYPE_INT64
                                                                                                   : NB_TYPE_FLOAT64);
    case NB_JSON_ARRAY:
    case NB_JSON_OBJECT: return nb_type_make(NB_TYPE_JSON);
    default: return nb_type_make(NB_TYPE_STRING);
    }
}

static struct nb_type type_of_stat(const struct keystat *k)
{
    unsigned kinds = k->kinds & ~K_NULL;
    if (kinds == K_BOOL) return nb_type_make(NB_TYPE_BOOL);
    if (kinds == K_NESTED) return nb_type_make(NB_TYPE_JSON);
    if (kinds == K_NUMBER)
        return nb_type_make((k->num_state & NB_FITS_INT64) ? NB_TYPE_INT64 : NB_TYPE_FLOAT64);
    if (kinds == K_STRING) {
        unsigned st = k->str_state & (NB_FITS_DATE | NB_FITS_TIMESTAMP | NB_FITS_STRING);
        return nb_infer_result(st, k->any_str, k->any_zoned);
    }
    return nb_type_make(NB_TYPE_STRING);   /* mixed kinds, or only nulls */
}

nb_status nb_json_infer(struct nb_istream *in, const struct nb_json_reader_options *opt, struct nb_schema **schema,
                        enum nb_json_layout *layout, struct nb_error *err)
{
    struct nb_arena arena;
    nb_arena_init(&arena, 64 * 1024);
    struct recsrc s;
    src_init(&s, in, opt, &arena);
    s.quiet = true;
    struct keystat *stats = NULL;
    size_t n_stats = 0, cap_stats = 0;
    struct nb_schema *out = NULL;
    size_t limit = opt->infer_rows ? opt->infer_rows : NB_JSON_DEFAULT_INFER_ROWS;
    nb_status st = detect_layout(&s, err);
    if (st != NB_OK) goto fail;
    for (size_t rows = 0; rows < limit; rows++) {
        struct nb_json *v;
        uint64_t off, line;
        st = src_next(&s, &v, &off, &line, err);
        if (st == NB_DONE) break;
        if (st != NB_OK) {
            /* The data pass reports it with its place; the sample so far still gives a schema. */
            nb_error_clear(err);
            break;
        }
        for (size_t m = 0; m < v->u.object.count; m++) {
            const struct nb_json_member *mem = &v->u.object.members[m];
            size_t kl = strlen(mem->key);   /* names stop at an embedded NUL, as in the schema */
            struct keystat *k = NULL;
            if (m < n_stats && stats[m].len == kl && memcmp(stats[m].name, mem->key, kl) == 0) {
                k = &stats[m];
            } else {
                for (size_t i = 0; i < n_stats; i++)
                    if (stats[i].len == kl && memcmp(stats[i].name, mem->key, kl) == 0) { k = &stats[i]; break; }
            }
            if (!k) {
                if (n_stats == cap_stats) {
                    size_t nc = cap_stats ? cap_stats * 2 : 16;
                    struct keystat *ns = realloc(stats, nc * sizeof *ns);
                    if (!ns) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
                    stats = ns;
                    cap_stats = nc;
                }
                k = &stats[n_stats];
                memset(k, 0, sizeof *k);
                k->name = strndup(mem->key, kl);
                if (!k->name) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
                k->len = kl;
                n_stats++;
            }
            const struct nb_json *val = mem->value;
            k->kinds |= kind_bit(val->kind);
            if (val->kind == NB_JSON_NUMBER) {
                unsigned fits = nb_value_classify(val->u.number.text, val->u.number.len);
                k->num_state = nb_infer_fold(k->num_state, fits, !k->any_num);
                k->any_num = true;
            } else if (val->kind == NB_JSON_STRING) {
                unsigned fits = nb_value_classify(val->u.string.ptr, val->u.string.len);
                if (fits & NB_FITS_ZONED) k->any_zoned = true;
                k->str_state = nb_infer_fold(k->str_state, fits & ~NB_FITS_ZONED, !k->any_str);
                k->any_str = true;
            }
        }
    }
    out = nb_schema_create();
    if (!out) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
    for (size_t i = 0; i < n_stats; i++) {
        if (nb_schema_add(out, stats[i].name, type_of_stat(&stats[i]), true) < 0) {
            st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    *schema = out;
    out = NULL;
    *layout = s.layout;
    st = NB_OK;
fail:
    for (size_t i = 0; i < n_stats; i++) free(stats[i].name);
    free(stats);
    nb_schema_release(out);
    src_cleanup(&s);
    nb_arena_cleanup(&arena);
    return st;
}

/* ---- the reader ------------------------------------------------------------------------------ */

struct nb_json_reader {
    struct recsrc src;
    struct nb_arena arena;
    struct nb_schema *schema;
    struct fields fields;
    enum nb_json_new_key on_new_key;
    size_t batch_size;
    /* Per row: the member index of each field (last one wins on duplicate keys). */
    int32_t *slot;
    uint64_t *stamp, row_stamp;
    size_t slot_cap;
    struct nb_buf scratch;
    /* A record read but not yet placed (it brought new keys and the batch had to end first). */
    struct nb_json *stash;
    uint64_t stash_offset, stash_line;
    /* The place after the last row handed out. */
    uint64_t pos_offset, pos_line, row;
    bool done, eos_sent;
};

static bool reader_fit_slots(struct nb_json_reader *r)
{
    size_t n = r->schema->n_fields;
    if (n <= r->slot_cap) return true;
    size_t cap = n * 2;
    int32_t *sl = realloc(r->slot, cap * sizeof *sl);
    if (!sl) return false;
    r->slot = sl;
    uint64_t *stp = realloc(r->stamp, cap * sizeof *stp);
    if (!stp) return false;
    memset(stp + r->slot_cap, 0, (cap - r->slot_cap) * sizeof *stp);
    r->stamp = stp;
    r->slot_cap = cap;
    return true;
}

nb_status nb_json_reader_create(struct nb_json_reader **out, struct nb_istream *in, struct nb_schema *schema,
                                enum nb_json_layout layout, const struct nb_json_reader_options *opt,
                                struct nb_error *err)
{
    struct nb_json_reader *r = calloc(1, sizeof *r);
    if (!r) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    nb_arena_init(&r->arena, 64 * 1024);
    src_init(&r->src, in, opt, &r->arena);
    r->src.layout = layout;
    r->on_new_key = opt->on_new_key;
    r->batch_size = opt->batch_size ? opt->batch_size : 10000;
    nb_buf_init(&r->scratch);
    r->schema = nb_schema_retain(schema);
    if (opt->offset > 0) {
        /* A resume position is always just after a record: in an array, before ',' or ']'. */
        r->src.offset = opt->offset;
        r->src.line = opt->line ? opt->line : 1;
        r->src.at_start = false;
        r->src.astate = A_AFTER_ELEMENT;
    }
    r->pos_offset = r->src.offset;
    r->pos_line = r->src.line;
    r->row = opt->row;
    nb_status st = NB_OK;
    if (layout == NB_JSON_LAYOUT_AUTO && opt->offset > 0)
        st = nb_error_set(err, NB_ERR_INTERNAL, "%s: resuming inside a file needs its layout (see nb_json_detect_layout)",
                          r->src.name);
    if (st == NB_OK && (!fields_build(&r->fields, schema) || !reader_fit_slots(r)))
        st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    if (st == NB_OK && layout == NB_JSON_LAYOUT_AUTO) st = detect_layout(&r->src, err);
    if (st != NB_OK) {
        nb_json_reader_destroy(r);
        return st;
    }
    *out = r;
    return NB_OK;
}

void nb_json_reader_destroy(struct nb_json_reader *r)
{
    if (!r) return;
    src_cleanup(&r->src);
    nb_arena_cleanup(&r->arena);
    nb_schema_release(r->schema);
    fields_cleanup(&r->fields);
    free(r->slot);
    free(r->stamp);
    nb_buf_cleanup(&r->scratch);
    free(r);
}

struct nb_schema *nb_json_reader_schema(struct nb_json_reader *r) { return r->schema; }
uint64_t nb_json_reader_bad_count(const struct nb_json_reader *r) { return r->src.bad_count; }

/* A JSON number with at most 15 digits and no exponent: a double holds it exactly enough to
 * give the same text back, so it fits float64 without the full check (the common case). */
static bool short_plain_number(const char *s, size_t n)
{
    if (n > 17) return false;
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch >= '0' && ch <= '9') digits++;
        else if (ch != '-' && ch != '.') return false;
    }
    return digits <= 15;
}

static void append_value(struct nb_json_reader *r, struct nb_column *c, const struct nb_json *v)
{
    enum nb_type_id t = c->type.id;
    switch (v->kind) {
    case NB_JSON_NULL:
        nb_column_append_null(c);
        return;
    case NB_JSON_BOOL:
        if (v->u.boolean) nb_column_append_text(c, "true", 4);
        else nb_column_append_text(c, "false", 5);
        if (t != NB_TYPE_BOOL && t != NB_TYPE_STRING && t != NB_TYPE_JSON) nb_column_mark_mismatch(c);
        return;
    case NB_JSON_NUMBER:
        nb_column_append_text(c, v->u.number.text, v->u.number.len);
        if (t == NB_TYPE_STRING || t == NB_TYPE_JSON) return;
        if (t == NB_TYPE_FLOAT64 && short_plain_number(v->u.number.text, v->u.number.len)) return;
        if ((t != NB_TYPE_INT64 && t != NB_TYPE_FLOAT64 && t != NB_TYPE_INT32) ||
            !nb_value_fits(c->type, v->u.number.text, v->u.number.len))
            nb_column_mark_mismatch(c);
        return;
    case NB_JSON_STRING:
        if (t == NB_TYPE_JSON) {
            nb_buf_reset(&r->scratch);
            nb_buf_json_string(&r->scratch, v->u.string.ptr, v->u.string.len);
            nb_column_append_text(c, r->scratch.data, r->scratch.len);
            return;
        }
        nb_column_append_text(c, v->u.string.ptr, v->u.string.len);
        if (t == NB_TYPE_STRING) return;
        /* A string where a number or bool is expected stays a string (never turned into one). */
        if ((t != NB_TYPE_DATE && t != NB_TYPE_TIMESTAMP && t != NB_TYPE_TIME && t != NB_TYPE_DECIMAL) ||
            !nb_value_fits(c->type, v->u.string.ptr, v->u.string.len))
            nb_column_mark_mismatch(c);
        return;
    case NB_JSON_ARRAY:
    case NB_JSON_OBJECT:
        nb_buf_reset(&r->scratch);
        nb_json_write(&r->scratch, v);
        nb_column_append_text(c, r->scratch.data ? r->scratch.data : "", r->scratch.len);
        if (t != NB_TYPE_JSON && t != NB_TYPE_STRING) nb_column_mark_mismatch(c);
        return;
    }
}

/* Extend the schema with the record's unknown keys (policy add). */
static nb_status add_keys(struct nb_json_reader *r, const struct nb_json *v, struct nb_error *err)
{
    struct nb_schema *ns = nb_schema_copy(r->schema);
    if (!ns) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t m = 0; m < v->u.object.count; m++) {
        const struct nb_json_member *mem = &v->u.object.members[m];
        if (find_member(&r->fields, mem, m) >= 0) continue;
        if (nb_schema_find(ns, mem->key) >= 0) continue;   /* twice in this record */
        if (nb_schema_add(ns, mem->key, type_of_value(mem->value), true) < 0) {
            nb_schema_release(ns);
            return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        }
    }
    nb_schema_release(r->schema);
    r->schema = ns;
    if (!fields_build(&r->fields, ns) || !reader_fit_slots(r)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    return NB_OK;
}

static nb_status set_position(struct nb_json_reader *r, struct nb_batch *b, struct nb_error *err)
{
    nb_buf_reset(&r->scratch);
    nb_buf_puts(&r->scratch, "{\"file\":");
    nb_buf_json_string(&r->scratch, r->src.name, strlen(r->src.name));
    nb_buf_printf(&r->scratch, ",\"offset\":%llu,\"line\":%llu,\"row\":%llu}", (unsigned long long)r->pos_offset,
                  (unsigned long long)r->pos_line, (unsigned long long)r->row);
    if (r->scratch.oom) return nb_buf_status(&r->scratch, err);
    b->position = nb_arena_strndup(&b->arena, r->scratch.data, r->scratch.len);
    if (!b->position) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    return NB_OK;
}

static nb_status new_batch(struct nb_json_reader *r, struct nb_batch **out, struct nb_error *err)
{
    struct nb_batch *b = nb_batch_create(r->schema, r->batch_size < 1024 ? r->batch_size : 1024);
    if (!b) return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a batch");
    b->stream = r->src.stream ? nb_arena_strdup(&b->arena, r->src.stream) : NULL;
    b->source_name = nb_arena_strdup(&b->arena, r->src.name);
    b->locs = nb_arena_alloc(&b->arena, r->batch_size * sizeof *b->locs);
    if (!b->locs) {
        nb_batch_destroy(b);
        return nb_error_set(err, NB_ERR_NOMEM, "out of memory creating a batch");
    }
    *out = b;
    return NB_OK;
}

nb_status nb_json_reader_next(struct nb_json_reader *r, struct nb_batch **out, struct nb_error *err)
{
    if (r->done && r->eos_sent) return NB_DONE;
    uint64_t bad_before = r->src.bad_count;
    struct nb_batch *b = NULL;
    nb_status st = NB_OK;
    while (!r->done) {
        struct nb_json *v;
        uint64_t rec_off, rec_line;
        if (r->stash) {
            v = r->stash;
            rec_off = r->stash_offset;
            rec_line = r->stash_line;
            r->stash = NULL;
        } else {
            st = src_next(&r->src, &v, &rec_off, &rec_line, err);
            if (st == NB_DONE) {
                /* The position stays after the last record (not after a closing ']'), so a resume
                 * from it still sees the array's end. */
                r->done = true;
                break;
            }
            if (st != NB_OK) goto fail;
        }
        /* Which field each member goes to; unknown keys per policy. */
        r->row_stamp++;
        bool unknown = false;
        const char *first_unknown = NULL;
        for (size_t m = 0; m < v->u.object.count; m++) {
            const struct nb_json_member *mem = &v->u.object.members[m];
            int f = find_member(&r->fields, mem, m);
            if (f < 0) {
                unknown = true;
                if (!first_unknown) first_unknown = mem->key;
                continue;
            }
            r->slot[f] = (int32_t)m;
            r->stamp[f] = r->row_stamp;
        }
        if (unknown && r->on_new_key == NB_JSON_NEW_KEY_FAIL) {
            st = nb_error_set(err, NB_ERR_INVALID,
                              "%s:%llu: new key '%s' not in the schema inferred from the first records, and "
                              "schema.on_new_column is 'fail' (set it to 'add' or 'ignore', or raise infer_rows)",
                              r->src.name, (unsigned long long)rec_line, first_unknown);
            goto fail;
        }
        if (unknown && r->on_new_key == NB_JSON_NEW_KEY_ADD) {
            if (b && b->n_rows > 0) {
                /* End this batch here; the record starts the next one with the wider schema. */
                r->stash = v;
                r->stash_offset = rec_off;
                r->stash_line = rec_line;
                break;
            }
            if ((st = add_keys(r, v, err)) != NB_OK) goto fail;
            nb_batch_destroy(b);
            b = NULL;
            /* Redo the mapping against the new schema. */
            r->row_stamp++;
            for (size_t m = 0; m < v->u.object.count; m++) {
                const struct nb_json_member *mem = &v->u.object.members[m];
                int f = find_member(&r->fields, mem, m);
                if (f < 0) continue;
                r->slot[f] = (int32_t)m;
                r->stamp[f] = r->row_stamp;
            }
        }
        if (!b && (st = new_batch(r, &b, err)) != NB_OK) goto fail;
        size_t nf = r->schema->n_fields;
        for (size_t f = 0; f < nf; f++) {
            struct nb_column *c = &b->cols[f];
            if (r->stamp[f] == r->row_stamp) append_value(r, c, v->u.object.members[r->slot[f]].value);
            else nb_column_append_null(c);
        }
        b->locs[b->n_rows].line = rec_line;
        b->locs[b->n_rows].offset = rec_off;
        b->n_rows++;
        r->row++;
        r->pos_offset = r->src.offset;
        r->pos_line = r->src.line;
        if (b->n_rows >= r->batch_size) break;
    }
    if (!b) {
        if ((st = new_batch(r, &b, err)) != NB_OK) goto fail;
    }
    if ((st = nb_batch_check(b, err)) != NB_OK) goto fail;
    b->bad_records = (size_t)(r->src.bad_count - bad_before);
    if (r->done) {
        b->end_of_stream = true;
        r->eos_sent = true;
    }
    if ((st = set_position(r, b, err)) != NB_OK) goto fail;
    *out = b;
    return NB_OK;
fail:
    nb_batch_destroy(b);
    return st;
}
