/* The JSON format writer: batches -> a top-level array of objects or NDJSON (DESIGN.md §5 type
 * rules). encode() turns a batch into its rows' bytes on a worker thread (stateless); the writer
 * only frames them (opening bracket, separators between batches, closing bracket), so the
 * framing survives a resume from a truncated partial file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch/value.h"
#include "formats/json/json_format.h"
#include "io/stream.h"

const struct nb_config_key nb_json_format_keys[] = {
    {"format", NB_KEY_ENUM, "auto", "auto|array|lines", 0,
     "json layout: array = one top-level array of objects, lines = NDJSON (one object per line); "
     "auto = lines for .ndjson/.jsonl paths, else array (a source auto-detects by the first byte)"},
    {NULL},
};

struct json_options {
    enum nb_json_layout layout;
};

bool nb_json_path_is_lines(const char *path)
{
    if (!path) return false;
    char stripped[4096];
    nb_path_strip_codec(path, stripped, sizeof stripped);
    const char *dot = strrchr(stripped, '.');
    return dot && (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0);
}

static nb_status options_create(const struct nb_cfg *cfg, void **options, struct nb_error *err)
{
    struct json_options *o = calloc(1, sizeof *o);
    if (!o) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    const char *fmt = cfg ? nb_cfg_string(cfg, "format", "auto") : "auto";
    if (!fmt || strcmp(fmt, "auto") == 0 || *fmt == '\0') {
        o->layout = nb_json_path_is_lines(cfg ? nb_cfg_string(cfg, "path", NULL) : NULL) ? NB_JSON_LAYOUT_LINES : NB_JSON_LAYOUT_ARRAY;
    } else if (strcmp(fmt, "array") == 0) {
        o->layout = NB_JSON_LAYOUT_ARRAY;
    } else if (strcmp(fmt, "lines") == 0 || strcmp(fmt, "ndjson") == 0 || strcmp(fmt, "jsonl") == 0) {
        o->layout = NB_JSON_LAYOUT_LINES;
    } else {
        free(o);
        return nb_error_set(err, NB_ERR_CONFIG, "json format '%s' is not one of auto, array, lines", fmt);
    }
    *options = o;
    return NB_OK;
}

static void options_destroy(void *options) { free(options); }

/* ---- value encoding (the hot path) -------------------------------------------------------- */

/* 0: copy as is; otherwise the character after the backslash ('u' for \u00XX). */
static const char escape_table[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    ['"'] = '"', ['\\'] = '\\',
};

/* Short copies are most of the work (keys, numbers, short strings): a libc call per copy costs
 * more than the copy, so lengths up to 16 use two overlapping fixed-size moves (never reading
 * outside [s, s + n)). */
static inline void copy_small(char *o, const char *s, size_t n)
{
    if (n >= 8) {
        if (n > 16) { memcpy(o, s, n); return; }
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(o, &a, 8);
        memcpy(o + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(o, &a, 4);
        memcpy(o + n - 4, &b, 4);
    } else {
        for (size_t i = 0; i < n; i++) o[i] = s[i];
    }
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* Bit i set where byte i of v needs escaping: < 0x20 (unsigned), '"' or '\\'. SSE2 is part of
 * x86-64, so this needs no runtime dispatch. */
static inline unsigned escape_mask16(__m128i v)
{
    __m128i ctl = _mm_cmplt_epi8(_mm_xor_si128(v, _mm_set1_epi8((char)0x80)), _mm_set1_epi8((char)(0x20 ^ 0x80)));
    __m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i bs = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(q, bs)));
}

/* Index of the first byte at or after i that needs escaping, or n. Never reads outside [s, s + n). */
static inline size_t next_escape(const char *s, size_t i, size_t n)
{
    for (; i + 16 <= n; i += 16) {
        unsigned m = escape_mask16(_mm_loadu_si128((const __m128i *)(const void *)(s + i)));
        if (m) return i + (size_t)__builtin_ctz(m);
    }
    size_t left = n - i;
    if (left == 0) return n;
    unsigned m;
    if (n >= 16) {   /* the last 16 bytes, overlapping what was checked: drop the overlap */
        m = escape_mask16(_mm_loadu_si128((const __m128i *)(const void *)(s + n - 16))) >> (16 - left);
    } else {
        char tmp[16];
        _mm_storeu_si128((__m128i *)(void *)tmp, _mm_set1_epi8(' '));
        if (left >= 8) {   /* 8..15 bytes: two overlapping words */
            uint64_t a, b;
            memcpy(&a, s + i, 8);
            memcpy(&b, s + n - 8, 8);
            memcpy(tmp, &a, 8);
            memcpy(tmp + left - 8, &b, 8);
        } else {
            for (size_t k = 0; k < left; k++) tmp[k] = s[i + k];
        }
        m = escape_mask16(_mm_loadu_si128((const __m128i *)(const void *)tmp)) & ((1u << left) - 1);
    }
    return m ? i + (size_t)__builtin_ctz(m) : n;
}
#else
/* Eight bytes at a time: does the word hold a byte < 0x20, '"' or '\\'? */
static inline bool word_needs_escape(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t lt = (x - ones * 0x20) & ~x;
    uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
    return ((lt | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & high) != 0;
}

static inline size_t next_escape(const char *s, size_t i, size_t n)
{
    for (;;) {
        uint64_t w;
        if (i + 8 > n) break;
        memcpy(&w, s + i, 8);
        if (word_needs_escape(w)) break;
        i += 8;
    }
    while (i < n && !escape_table[(unsigned char)s[i]]) i++;
    return i;
}
#endif

/* Append s as a JSON string literal. The caller reserved 6 * n + 2 bytes at o. */
static char *put_string(char *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        size_t run = next_escape(s, i, n);
        if (run > i) {
            copy_small(o, s + i, run - i);
            o += run - i;
            i = run;
            if (i >= n) break;
        }
        unsigned char c = (unsigned char)s[i++];
        char e = escape_table[c];
        *o++ = '\\';
        *o++ = e;
        if (e == 'u') {
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    return o;
}

/* The fast paths below store whole 16-byte vectors: a value's bytes are loaded 16 at a time
 * (`readable16`: its column buffer holds 16 bytes from s, so a short value needs no byte loop)
 * and written 16 at a time into the output, whose reservation has NB_JSON_SLACK bytes to spare. */
#define NB_JSON_SLACK 64

#if defined(__SSE2__)
/* A string without anything to escape (nearly all of them): quotes around a straight copy.
 * NULL: some byte needs escaping, or the bytes cannot be loaded whole; put_string does it. */
static inline char *put_string_fast(char *o, const char *s, size_t n, bool readable16)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        if (escape_mask16(v)) return NULL;
        _mm_storeu_si128((__m128i *)(void *)(o + 1 + i), v);
    }
    size_t left = n - i;
    if (left) {
        __m128i v;
        if (n >= 16) {   /* the last 16 bytes, overlapping what was stored: same bytes again */
            v = _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16));
            if (escape_mask16(v) >> (16 - left)) return NULL;
            _mm_storeu_si128((__m128i *)(void *)(o + 1 + n - 16), v);
        } else {
            if (!readable16) return NULL;
            v = _mm_loadu_si128((const __m128i *)(const void *)s);
            if (escape_mask16(v) & ((1u << n) - 1)) return NULL;
            _mm_storeu_si128((__m128i *)(void *)(o + 1), v);
        }
    }
    o[0] = '"';
    o[n + 1] = '"';
    return o + n + 2;
}
#else
static inline char *put_string_fast(char *o, const char *s, size_t n, bool readable16)
{
    (void)o; (void)s; (void)n; (void)readable16;
    return NULL;
}
#endif

/* A value copied as it is (numbers): one 16-byte move when it fits and can be loaded whole. */
static inline char *put_raw(char *o, const char *s, size_t n, bool readable16)
{
    if (n <= 16 && readable16) memcpy(o, s, 16);
    else copy_small(o, s, n);
    return o + n;
}

static inline char *put_string_any(char *o, const char *s, size_t n, bool readable16)
{
    char *e = put_string_fast(o, s, n, readable16);
    return e ? e : put_string(o, s, n);
}

/* Is s[0..n) a JSON number literal? (The text columns of numbers follow JSON's grammar plus an
 * optional '+', which the caller has dropped; anything else goes out as a string, never as
 * invalid JSON.) */
static bool is_json_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return false;
    if (s[i] == '0') i++;
    else if (s[i] >= '1' && s[i] <= '9') while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    else return false;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !(s[i] >= '0' && s[i] <= '9')) return false;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !(s[i] >= '0' && s[i] <= '9')) return false;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    return i == n;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Binary values go out as base64 strings (RFC 4648, padded). Caller reserved 4*(n/3)+6 bytes. */
static char *put_base64(char *o, const unsigned char *s, size_t n)
{
    *o++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)s[i] << 16;
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = '=';
    }
    *o++ = '"';
    return o;
}

static inline bool is_word_ci(const char *s, const char *word4)
{
    uint32_t w, want;
    memcpy(&w, s, 4);
    memcpy(&want, word4, 4);
    return (w | 0x20202020u) == want;   /* exact for letters: only 'T'/'t' OR to 't', and so on */
}

static char *put_text_value(char *o, const struct nb_column *c, const char *s, size_t n, bool readable16)
{
    switch (c->type.id) {
    case NB_TYPE_BOOL:
        /* Text bools are true/false in any case (DESIGN.md §5); JSON wants lower case. */
        if (n == 4 && is_word_ci(s, "true")) {
            memcpy(o, "true", 4);
            return o + 4;
        }
        if (n == 5 && is_word_ci(s, "fals") && (s[4] | 0x20) == 'e') { memcpy(o, "false", 5); return o + 5; }
        return put_string_any(o, s, n, readable16);
    case NB_TYPE_INT32:
    case NB_TYPE_INT64:
    case NB_TYPE_FLOAT64:
        if (c->plain_numbers) return put_raw(o, s, n, readable16);   /* the decoder checked every value's shape */
        if (n > 1 && s[0] == '+') { s++; n--; }
        if (is_json_number(s, n)) {
            copy_small(o, s, n);
            return o + n;
        }
        return put_string(o, s, n);
    case NB_TYPE_JSON:
        if (n == 0) return put_string(o, s, n);
        memcpy(o, s, n);
        return o + n;
    case NB_TYPE_BINARY:
        return put_base64(o, (const unsigned char *)s, n);
    default:   /* string, date, time, timestamp, decimal (exact text), null */
        return put_string_any(o, s, n, readable16);
    }
}

static char *put_native_value(char *o, const struct nb_column *c, size_t i)
{
    char tmp[64];
    size_t n;
    switch (c->type.id) {
    case NB_TYPE_BOOL:
        if (nb_column_bool(c, i)) { memcpy(o, "true", 4); return o + 4; }
        memcpy(o, "false", 5);
        return o + 5;
    case NB_TYPE_INT32:
        return o + nb_value_format_i64(nb_column_i32(c, i), o);
    case NB_TYPE_INT64:
        return o + nb_value_format_i64(nb_column_i64(c, i), o);
    case NB_TYPE_FLOAT64:
        n = nb_value_format_f64(nb_column_f64(c, i), tmp, sizeof tmp);
        if (is_json_number(tmp, n)) {
            memcpy(o, tmp, n);
            return o + n;
        }
        return put_string(o, tmp, n);   /* NaN, Infinity: JSON has no literal for them */
    case NB_TYPE_DATE:
        n = nb_value_format_date(nb_column_i32(c, i), tmp);
        return put_string(o, tmp, n);
    case NB_TYPE_TIME:
        n = nb_value_format_time(nb_column_i64(c, i), tmp);
        return put_string(o, tmp, n);
    case NB_TYPE_TIMESTAMP:
        n = nb_value_format_timestamp(nb_column_i64(c, i), c->type.utc, tmp);
        return put_string(o, tmp, n);
    default:
        memcpy(o, "null", 4);
        return o + 4;
    }
}

/* What goes before each value of a batch, escaped once per batch: {"name": for the first
 * column, ,"name": for the others. The buffer has NB_JSON_SLACK spare bytes, so a short prefix
 * is copied with one fixed-size move. */
struct keys {
    struct nb_buf buf;
    size_t *off;       /* n_fields + 1 offsets into buf */
};

static nb_status keys_build(struct keys *k, const struct nb_schema *s, struct nb_error *err)
{
    nb_buf_init(&k->buf);
    k->off = malloc((s->n_fields + 1) * sizeof *k->off);
    if (!k->off) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t f = 0; f < s->n_fields; f++) {
        k->off[f] = k->buf.len;
        const char *name = s->fields[f].name;
        size_t n = strlen(name);
        if (!nb_buf_reserve(&k->buf, 6 * n + 4 + NB_JSON_SLACK)) break;
        char *o = k->buf.data + k->buf.len;
        *o++ = f ? ',' : '{';
        o = put_string(o, name, n);
        *o++ = ':';
        k->buf.len = (size_t)(o - k->buf.data);
    }
    k->off[s->n_fields] = k->buf.len;
    if (nb_buf_reserve(&k->buf, NB_JSON_SLACK)) memset(k->buf.data + k->buf.len, 0, NB_JSON_SLACK);
    return nb_buf_status(&k->buf, err);
}

static void keys_cleanup(struct keys *k)
{
    nb_buf_cleanup(&k->buf);
    free(k->off);
}

/* Rows are reserved for in groups: one look at the offsets per column per group, not per value. */
#define ROW_GROUP 64

/* Output room for rows [r, end): the prefixes and the worst case of every value. */
static size_t group_need(const struct nb_batch *b, const struct keys *k, size_t r, size_t end)
{
    size_t rows = end - r, need = rows * (k->buf.len + 4) + NB_JSON_SLACK;
    for (size_t f = 0; f < b->schema->n_fields; f++) {
        const struct nb_column *c = &b->cols[f];
        need += c->repr == NB_REPR_TEXT ? 6 * (size_t)(c->offsets[end] - c->offsets[r]) + 8 * rows : 72 * rows;
    }
    return need;
}

/* How a column's values go out, decided once per batch so the per-value work is one switch. */
enum col_kind {
    KIND_STRING,   /* text written as a JSON string (string, timestamp, date, decimal, ...) */
    KIND_RAW,      /* text of plain numbers, copied as is */
    KIND_TEXT,     /* other text: put_text_value decides per value */
    KIND_NATIVE,   /* fixed-width values */
};

static enum col_kind col_kind_of(const struct nb_column *c)
{
    if (c->repr != NB_REPR_TEXT) return KIND_NATIVE;
    switch (c->type.id) {
    case NB_TYPE_BOOL:
    case NB_TYPE_JSON:
    case NB_TYPE_BINARY:
        return KIND_TEXT;
    case NB_TYPE_INT32:
    case NB_TYPE_INT64:
    case NB_TYPE_FLOAT64:
        return c->plain_numbers && c->mismatch_count == 0 ? KIND_RAW : KIND_TEXT;
    default:
        return KIND_STRING;
    }
}

/* One column as the row loop needs it, gathered once per batch (a small array the loop walks in
 * order, instead of the column structs and the key table). */
struct col_plan {
    const uint32_t *offsets;
    const char *data;
    const uint8_t *validity;   /* NULL when the batch has no null in this column */
    const struct nb_column *col;
    const char *key;           /* {"name": or ,"name": (with NB_JSON_SLACK readable bytes after it) */
    size_t key_len, data_cap;
    enum col_kind kind;
    bool all_readable16;       /* 16 bytes can be loaded from every value's start (checked once) */
};

/* Rows of b as objects: array layout joins them with ",\n" (no trailing separator), lines
 * layout ends each with "\n". */
static nb_status encode_rows(enum nb_json_layout layout, const struct nb_batch *b, struct nb_buf *out,
                             struct nb_error *err)
{
    if (!b->schema || b->n_rows == 0) return NB_OK;
    const struct nb_schema *s = b->schema;
    size_t nf = s->n_fields;
    struct keys k;
    nb_status st = keys_build(&k, s, err);
    struct col_plan plan_stack[32], *plan = nf <= 32 ? plan_stack : malloc(nf * sizeof *plan);
    if (st == NB_OK && !plan) st = nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    if (st != NB_OK) {
        keys_cleanup(&k);
        if (plan != plan_stack) free(plan);
        return st;
    }
    for (size_t f = 0; f < nf; f++) {
        const struct nb_column *c = &b->cols[f];
        /* Every value starts at or before data_len: with 16 spare bytes after it (the CSV decoder
         * leaves 32), no value needs its own bounds check before a 16-byte load. */
        bool all16 = c->repr == NB_REPR_TEXT && c->data && c->data_len + 16 <= c->data_cap;
        plan[f] = (struct col_plan){c->offsets, c->data, c->null_count ? c->validity : NULL, c,
                                    k.buf.data + k.off[f], k.off[f + 1] - k.off[f], c->data_cap, col_kind_of(c), all16};
    }
    for (size_t g = 0; g < b->n_rows; g += ROW_GROUP) {
        size_t gend = g + ROW_GROUP < b->n_rows ? g + ROW_GROUP : b->n_rows;
        if (!nb_buf_reserve(out, group_need(b, &k, g, gend))) break;
        char *o = out->data + out->len;
        for (size_t r = g; r < gend; r++) {
            if (layout == NB_JSON_LAYOUT_ARRAY && r > 0) { *o++ = ','; *o++ = '\n'; }
            for (const struct col_plan *cp = plan; cp < plan + nf; cp++) {
                if (cp->key_len <= 16) memcpy(o, cp->key, 16);
                else if (cp->key_len <= 32) memcpy(o, cp->key, 32);
                else memcpy(o, cp->key, cp->key_len);
                o += cp->key_len;
                if (cp->validity && !nb_bit_get(cp->validity, r)) {
                    memcpy(o, "null", 4);
                    o += 4;
                    continue;
                }
                if (cp->kind == KIND_NATIVE) {
                    o = put_native_value(o, cp->col, r);
                    continue;
                }
                uint32_t at = cp->offsets[r];
                size_t n = cp->offsets[r + 1] - at;
                const char *t = cp->data + at;
                bool readable16 = cp->all_readable16 || at + 16 <= cp->data_cap;
                if (cp->kind == KIND_RAW) o = put_raw(o, t, n, readable16);
                else if (cp->kind == KIND_STRING || nb_column_is_mismatch(cp->col, r)) o = put_string_any(o, t, n, readable16);
                else o = put_text_value(o, cp->col, t, n, readable16);
            }
            if (nf == 0) *o++ = '{';
            *o++ = '}';
            if (layout == NB_JSON_LAYOUT_LINES) *o++ = '\n';
        }
        out->len = (size_t)(o - out->data);
    }
    if (out->data) out->data[out->len] = '\0';
    keys_cleanup(&k);
    if (plan != plan_stack) free(plan);
    return nb_buf_status(out, err);
}

static nb_status encode(const void *options, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err)
{
    const struct json_options *o = options;
    return encode_rows(o ? o->layout : NB_JSON_LAYOUT_ARRAY, b, out, err);
}

nb_status nb_json_encode_rows(enum nb_json_layout layout, const struct nb_batch *b, struct nb_buf *out,
                              struct nb_error *err)
{
    return encode_rows(layout, b, out, err);
}

/* ---- the writer: framing only --------------------------------------------------------------- */

struct json_writer {
    enum nb_json_layout layout;
    struct nb_ostream *os;
    bool opened;          /* the opening bracket is in the file */
    uint64_t rows;        /* rows in the file (including a resumed file's) */
    struct nb_buf scratch;/* encoding when write() gets no encoded bytes */
};

static nb_status writer_open(void **writer, const void *options, struct nb_ostream *os, struct nb_schema *schema,
                             const struct nb_format_resume *resume, struct nb_error *err)
{
    const struct json_options *o = options;
    struct json_writer *w = calloc(1, sizeof *w);
    if (!w) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    w->layout = o ? o->layout : NB_JSON_LAYOUT_ARRAY;
    w->os = os;
    nb_buf_init(&w->scratch);
    if (resume && resume->resuming) {
        /* The partial file holds "[\n" and rows_written rows (array) or whole lines. */
        w->opened = true;
        w->rows = resume->rows_written;
    }
    *writer = w;
    return NB_OK;
}

static nb_status writer_write(void *writer, const struct nb_batch *b, const struct nb_buf *encoded, struct nb_error *err)
{
    struct json_writer *w = writer;
    if (!encoded) {
        nb_buf_reset(&w->scratch);
        nb_status st = encode_rows(w->layout, b, &w->scratch, err);
        if (st != NB_OK) return st;
        encoded = &w->scratch;
    }
    if (encoded->len == 0) return NB_OK;
    nb_status st;
    if (w->layout == NB_JSON_LAYOUT_ARRAY) {
        if (!w->opened) {
            if ((st = nb_ostream_write(w->os, "[\n", 2, err)) != NB_OK) return st;
            w->opened = true;
        } else if (w->rows > 0) {
            if ((st = nb_ostream_write(w->os, ",\n", 2, err)) != NB_OK) return st;
        }
    }
    if ((st = nb_ostream_write(w->os, encoded->data, encoded->len, err)) != NB_OK) return st;
    w->rows += b ? b->n_rows : 1;
    return NB_OK;
}

static nb_status writer_flush(void *writer, struct nb_error *err)
{
    (void)writer;
    (void)err;
    return NB_OK;   /* nothing buffered here */
}

static nb_status writer_finish(void *writer, struct nb_error *err)
{
    struct json_writer *w = writer;
    if (w->layout != NB_JSON_LAYOUT_ARRAY) return NB_OK;
    if (!w->opened) return nb_ostream_write(w->os, "[]\n", 3, err);
    if (w->rows == 0) return nb_ostream_write(w->os, "]\n", 2, err);
    return nb_ostream_write(w->os, "\n]\n", 3, err);
}

static void writer_destroy(void *writer)
{
    struct json_writer *w = writer;
    if (!w) return;
    nb_buf_cleanup(&w->scratch);
    free(w);
}

const struct nb_format_ops nb_format_json = {
    .name = "json",
    .extension = ".json",
    .spec = nb_json_format_keys,
    .keeps_mismatches_as_text = true,
    .resumable = true,
    .options_create = options_create,
    .options_destroy = options_destroy,
    .encode = encode,
    .writer_open = writer_open,
    .writer_write = writer_write,
    .writer_flush = writer_flush,
    .writer_finish = writer_finish,
    .writer_destroy = writer_destroy,
};
