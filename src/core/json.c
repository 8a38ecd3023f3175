/* The one JSON parser: strict RFC 8259, single pass, recursive descent with a depth limit, every
 * node and string in the caller's arena (children are gathered on a scratch stack and copied into
 * the arena once per container). Incremental use: a value cut off by the end of the buffer is
 * NB_AGAIN in prefix mode, so callers can refill and retry. */
#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

/* Scratch stack of children; starts in the parser struct, grows on the heap. */
#define NB_JSON_INLINE_SCRATCH 64

struct parser {
    const char *start, *p, *end;
    struct nb_arena *arena;
    bool partial;              /* the end of the buffer may not be the end of the input */
    unsigned depth;
    /* On failure: */
    nb_status status;          /* NB_AGAIN or NB_ERR_* */
    const char *err_at;
    const char *err_what;      /* static text */
    char err_detail[96];
    /* Scratch stacks (items for arrays, members for objects). */
    struct nb_json **items;
    size_t n_items, cap_items;
    struct nb_json_member *members;
    size_t n_members, cap_members;
    struct nb_json *inline_items[NB_JSON_INLINE_SCRATCH];
    struct nb_json_member inline_members[NB_JSON_INLINE_SCRATCH];
};

static const unsigned char ws_table[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};
/* In a string: 1 for bytes that stop the fast scan: '"', '\\' and control characters. */
static const unsigned char str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1,
};

static bool fail(struct parser *ps, const char *at, const char *what)
{
    if (ps->status == NB_OK) {
        ps->status = NB_ERR_INVALID;
        ps->err_at = at;
        ps->err_what = what;
    }
    return false;
}

/* End of buffer inside a value: more input may complete it. */
static bool need_more(struct parser *ps, const char *what)
{
    if (ps->partial) {
        if (ps->status == NB_OK) {
            ps->status = NB_AGAIN;
            ps->err_at = ps->end;
            ps->err_what = what;
        }
        return false;
    }
    return fail(ps, ps->end, what);
}

static bool oom(struct parser *ps)
{
    if (ps->status == NB_OK) {
        ps->status = NB_ERR_NOMEM;
        ps->err_at = ps->p;
        ps->err_what = "out of memory building the JSON tree";
    }
    return false;
}

static inline void skip_ws(struct parser *ps)
{
    const char *p = ps->p;
    while (p < ps->end && ws_table[(unsigned char)*p]) p++;
    ps->p = p;
}

static bool parse_value(struct parser *ps, struct nb_json **out);

static struct nb_json *new_node(struct parser *ps, enum nb_json_kind kind)
{
    struct nb_json *v = nb_arena_alloc(ps->arena, sizeof *v);
    if (!v) { oom(ps); return NULL; }
    v->kind = kind;
    return v;
}

static bool push_item(struct parser *ps, struct nb_json *v)
{
    if (ps->n_items == ps->cap_items) {
        size_t cap = ps->cap_items * 2;
        struct nb_json **n;
        if (ps->items == ps->inline_items) {
            n = malloc(cap * sizeof *n);
            if (n) memcpy(n, ps->items, ps->n_items * sizeof *n);
        } else {
            n = realloc(ps->items, cap * sizeof *n);
        }
        if (!n) return oom(ps);
        ps->items = n;
        ps->cap_items = cap;
    }
    ps->items[ps->n_items++] = v;
    return true;
}

static bool push_member(struct parser *ps, const char *key, size_t key_len, struct nb_json *v)
{
    if (ps->n_members == ps->cap_members) {
        size_t cap = ps->cap_members * 2;
        struct nb_json_member *n;
        if (ps->members == ps->inline_members) {
            n = malloc(cap * sizeof *n);
            if (n) memcpy(n, ps->members, ps->n_members * sizeof *n);
        } else {
            n = realloc(ps->members, cap * sizeof *n);
        }
        if (!n) return oom(ps);
        ps->members = n;
        ps->cap_members = cap;
    }
    ps->members[ps->n_members++] = (struct nb_json_member){key, key_len, v};
    return true;
}

static bool match_literal(struct parser *ps, const char *lit, size_t n)
{
    size_t avail = (size_t)(ps->end - ps->p);
    size_t k = avail < n ? avail : n;
    if (memcmp(ps->p, lit, k) != 0) return fail(ps, ps->p, "invalid literal (expected a JSON value)");
    if (avail < n) return need_more(ps, "truncated literal");
    ps->p += n;
    return true;
}

/* \uXXXX at s (s points at the 'u'); returns the code unit or -1. */
static long read_u4(const char *s, const char *end)
{
    if (end - s < 5) return -1;
    long v = 0;
    for (int i = 1; i <= 4; i++) {
        int d = nb_hex_value(s[i]);
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static char *put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* ps->p at the opening quote. On success *out and *out_len are the unescaped, NUL-terminated copy. */
static bool parse_string(struct parser *ps, const char **out, size_t *out_len)
{
    const char *s = ps->p + 1, *end = ps->end, *q = s;
    bool escapes = false;
    /* Pass 1: find the closing quote; reject raw control characters. Eight bytes at a time
     * while none of them is '"', '\\' or a control character. */
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    for (;;) {
        while (end - q >= 8) {
            uint64_t x;
            memcpy(&x, q, 8);
            uint64_t qt = x ^ (ones * '"'), bs = x ^ (ones * '\\');
            if (((((x - ones * 0x20) & ~x) | ((qt - ones) & ~qt) | ((bs - ones) & ~bs)) & high) != 0) break;
            q += 8;
        }
        while (q < end && !str_stop[(unsigned char)*q]) q++;
        if (q >= end) return need_more(ps, "unterminated string");
        unsigned char c = (unsigned char)*q;
        if (c == '"') break;
        if (c == '\\') {
            escapes = true;
            if (q + 1 >= end) return need_more(ps, "unterminated string");
            q += 2;
            continue;
        }
        snprintf(ps->err_detail, sizeof ps->err_detail, "unescaped control character U+%04X in string", c);
        return fail(ps, q, ps->err_detail);
    }
    size_t raw_len = (size_t)(q - s);
    size_t valid = nb_utf8_valid_prefix(s, raw_len);
    if (valid != raw_len) return fail(ps, s + valid, "invalid UTF-8 in string");
    char *dst = nb_arena_alloc(ps->arena, raw_len + 1);
    if (!dst) return oom(ps);
    if (!escapes) {
        memcpy(dst, s, raw_len);
        dst[raw_len] = '\0';
        *out = dst;
        *out_len = raw_len;
        ps->p = q + 1;
        return true;
    }
    /* Pass 2: unescape (output never longer than input). */
    char *o = dst;
    const char *r = s;
    while (r < q) {
        const char *bs = memchr(r, '\\', (size_t)(q - r));
        if (!bs) bs = q;
        memcpy(o, r, (size_t)(bs - r));
        o += bs - r;
        r = bs;
        if (r >= q) break;
        char e = r[1];
        switch (e) {
        case '"': *o++ = '"'; r += 2; break;
        case '\\': *o++ = '\\'; r += 2; break;
        case '/': *o++ = '/'; r += 2; break;
        case 'b': *o++ = '\b'; r += 2; break;
        case 'f': *o++ = '\f'; r += 2; break;
        case 'n': *o++ = '\n'; r += 2; break;
        case 'r': *o++ = '\r'; r += 2; break;
        case 't': *o++ = '\t'; r += 2; break;
        case 'u': {
            long u = read_u4(r + 1, q);
            if (u < 0) return fail(ps, r, "invalid \\u escape (expected 4 hex digits)");
            unsigned long cp = (unsigned long)u;
            if (u >= 0xDC00 && u <= 0xDFFF) return fail(ps, r, "lone low surrogate in \\u escape");
            if (u >= 0xD800 && u <= 0xDBFF) {
                long lo = (q - r >= 12 && r[6] == '\\' && r[7] == 'u') ? read_u4(r + 7, q) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail(ps, r, "lone high surrogate in \\u escape (expected a low surrogate \\uDC00-\\uDFFF next)");
                cp = 0x10000 + (((unsigned long)u - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
                r += 6;
            }
            o = put_utf8(o, cp);
            r += 6;
            break;
        }
        default:
            if ((unsigned char)e < 0x20 || (unsigned char)e >= 0x7F)
                snprintf(ps->err_detail, sizeof ps->err_detail, "invalid escape (byte 0x%02X after '\\')", (unsigned char)e);
            else
                snprintf(ps->err_detail, sizeof ps->err_detail, "invalid escape '\\%c'", e);
            return fail(ps, r, ps->err_detail);
        }
    }
    *o = '\0';
    *out = dst;
    *out_len = (size_t)(o - dst);
    ps->p = q + 1;
    return true;
}

static bool parse_number(struct parser *ps, struct nb_json **out)
{
    const char *s = ps->p, *p = s, *end = ps->end;
    if (*p == '-') {
        p++;
        if (p >= end) return need_more(ps, "truncated number");
    }
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') return fail(ps, p - 1, "leading zero in number");
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return fail(ps, p, "invalid number (expected a digit)");
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end) return need_more(ps, "truncated number");
        if (!(*p >= '0' && *p <= '9')) return fail(ps, p, "invalid number (expected a digit after '.')");
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end) return need_more(ps, "truncated number");
        if (!(*p >= '0' && *p <= '9')) return fail(ps, p, "invalid number (expected a digit in the exponent)");
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    /* A number that touches the end of a partial buffer may have more digits coming. */
    if (p >= end && ps->partial) return need_more(ps, "truncated number");
    struct nb_json *v = new_node(ps, NB_JSON_NUMBER);
    if (!v) return false;
    char *text = nb_arena_strndup(ps->arena, s, (size_t)(p - s));
    if (!text) return oom(ps);
    v->u.number.text = text;
    v->u.number.len = (size_t)(p - s);
    ps->p = p;
    *out = v;
    return true;
}

static bool parse_array(struct parser *ps, struct nb_json **out)
{
    ps->p++;   /* '[' */
    size_t base = ps->n_items;
    skip_ws(ps);
    if (ps->p >= ps->end) return need_more(ps, "unterminated array");
    if (*ps->p != ']') {
        for (;;) {
            struct nb_json *item;
            if (!parse_value(ps, &item)) return false;
            if (!push_item(ps, item)) return false;
            skip_ws(ps);
            if (ps->p >= ps->end) return need_more(ps, "unterminated array");
            if (*ps->p == ',') {
                ps->p++;
                skip_ws(ps);
                if (ps->p >= ps->end) return need_more(ps, "unterminated array");
                if (*ps->p == ']') return fail(ps, ps->p, "trailing comma in array");
                continue;
            }
            if (*ps->p == ']') break;
            return fail(ps, ps->p, "expected ',' or ']' in array");
        }
    }
    ps->p++;
    struct nb_json *v = new_node(ps, NB_JSON_ARRAY);
    if (!v) return false;
    size_t count = ps->n_items - base;
    v->u.array.count = count;
    v->u.array.items = NULL;
    if (count) {
        v->u.array.items = nb_arena_memdup(ps->arena, ps->items + base, count * sizeof *ps->items);
        if (!v->u.array.items) return oom(ps);
    }
    ps->n_items = base;
    *out = v;
    return true;
}

static bool parse_object(struct parser *ps, struct nb_json **out)
{
    ps->p++;   /* '{' */
    size_t base = ps->n_members;
    skip_ws(ps);
    if (ps->p >= ps->end) return need_more(ps, "unterminated object");
    if (*ps->p != '}') {
        for (;;) {
            if (*ps->p != '"') return fail(ps, ps->p, "expected a string key in object");
            const char *key;
            size_t key_len;
            if (!parse_string(ps, &key, &key_len)) return false;
            skip_ws(ps);
            if (ps->p >= ps->end) return need_more(ps, "unterminated object");
            if (*ps->p != ':') return fail(ps, ps->p, "expected ':' after object key");
            ps->p++;
            struct nb_json *value;
            if (!parse_value(ps, &value)) return false;
            if (!push_member(ps, key, key_len, value)) return false;
            skip_ws(ps);
            if (ps->p >= ps->end) return need_more(ps, "unterminated object");
            if (*ps->p == ',') {
                ps->p++;
                skip_ws(ps);
                if (ps->p >= ps->end) return need_more(ps, "unterminated object");
                if (*ps->p == '}') return fail(ps, ps->p, "trailing comma in object");
                continue;
            }
            if (*ps->p == '}') break;
            return fail(ps, ps->p, "expected ',' or '}' in object");
        }
    }
    ps->p++;
    struct nb_json *v = new_node(ps, NB_JSON_OBJECT);
    if (!v) return false;
    size_t count = ps->n_members - base;
    v->u.object.count = count;
    v->u.object.members = NULL;
    if (count) {
        v->u.object.members = nb_arena_memdup(ps->arena, ps->members + base, count * sizeof *ps->members);
        if (!v->u.object.members) return oom(ps);
    }
    ps->n_members = base;
    *out = v;
    return true;
}

static bool parse_value(struct parser *ps, struct nb_json **out)
{
    skip_ws(ps);
    if (ps->p >= ps->end) return need_more(ps, "expected a JSON value");
    struct nb_json *v;
    switch (*ps->p) {
    case '{':
    case '[': {
        if (++ps->depth > NB_JSON_MAX_DEPTH) {
            snprintf(ps->err_detail, sizeof ps->err_detail, "nesting deeper than %d levels", NB_JSON_MAX_DEPTH);
            return fail(ps, ps->p, ps->err_detail);
        }
        bool ok = *ps->p == '{' ? parse_object(ps, out) : parse_array(ps, out);
        ps->depth--;
        return ok;
    }
    case '"': {
        const char *s;
        size_t n;
        if (!parse_string(ps, &s, &n)) return false;
        if (!(v = new_node(ps, NB_JSON_STRING))) return false;
        v->u.string.ptr = s;
        v->u.string.len = n;
        *out = v;
        return true;
    }
    case 't':
        if (!match_literal(ps, "true", 4) || !(v = new_node(ps, NB_JSON_BOOL))) return false;
        v->u.boolean = true;
        *out = v;
        return true;
    case 'f':
        if (!match_literal(ps, "false", 5) || !(v = new_node(ps, NB_JSON_BOOL))) return false;
        v->u.boolean = false;
        *out = v;
        return true;
    case 'n':
        if (!match_literal(ps, "null", 4) || !(v = new_node(ps, NB_JSON_NULL))) return false;
        *out = v;
        return true;
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        return parse_number(ps, out);
    default: {
        unsigned char c = (unsigned char)*ps->p;
        if (c >= 0x20 && c < 0x7F)
            snprintf(ps->err_detail, sizeof ps->err_detail, "unexpected character '%c' (expected a JSON value)", c);
        else
            snprintf(ps->err_detail, sizeof ps->err_detail, "unexpected byte 0x%02X (expected a JSON value)", c);
        return fail(ps, ps->p, ps->err_detail);
    }
    }
}

/* 1-based line and column (in characters) of `at` within [start, at). */
static void line_col(const char *start, const char *at, size_t *line, size_t *col)
{
    size_t l = 1, c = 1;
    for (const char *p = start; p < at; p++) {
        if (*p == '\n') { l++; c = 1; }
        else if (((unsigned char)*p & 0xC0) != 0x80) c++;
    }
    *line = l;
    *col = c;
}

static nb_status run(const char *s, size_t n, bool partial, bool whole, struct nb_arena *arena,
                     struct nb_json **out, size_t *consumed, size_t *err_offset, struct nb_error *err)
{
    struct parser ps;
    ps.start = ps.p = s;
    ps.end = s + n;
    ps.arena = arena;
    ps.partial = partial;
    ps.depth = 0;
    ps.status = NB_OK;
    ps.err_at = NULL;
    ps.err_what = NULL;
    ps.items = ps.inline_items;
    ps.cap_items = NB_JSON_INLINE_SCRATCH;
    ps.n_items = 0;
    ps.members = ps.inline_members;
    ps.cap_members = NB_JSON_INLINE_SCRATCH;
    ps.n_members = 0;

    struct nb_json *v = NULL;
    bool ok = parse_value(&ps, &v);
    if (ok && whole) {
        skip_ws(&ps);
        if (ps.p < ps.end) ok = fail(&ps, ps.p, "unexpected data after the JSON value");
    }
    if (ps.items != ps.inline_items) free(ps.items);
    if (ps.members != ps.inline_members) free(ps.members);
    if (ok) {
        *out = v;
        if (consumed) *consumed = (size_t)(ps.p - s);
        return NB_OK;
    }
    *out = NULL;
    if (err_offset) *err_offset = (size_t)(ps.err_at - s);
    if (ps.status == NB_AGAIN) {
        nb_error_set(err, NB_AGAIN, "incomplete JSON value (%s)", ps.err_what);
        return NB_AGAIN;
    }
    if (ps.status == NB_ERR_NOMEM) return nb_error_set(err, NB_ERR_NOMEM, "%s", ps.err_what);
    size_t line, col;
    line_col(s, ps.err_at, &line, &col);
    if (ps.err_at >= ps.end)
        return nb_error_set(err, NB_ERR_INVALID, "invalid JSON at line %zu, column %zu (byte %zu): unexpected end of input (%s)",
                            line, col, (size_t)(ps.err_at - s), ps.err_what);
    return nb_error_set(err, NB_ERR_INVALID, "invalid JSON at line %zu, column %zu (byte %zu): %s", line, col,
                        (size_t)(ps.err_at - s), ps.err_what);
}

nb_status nb_json_parse(const char *s, size_t n, struct nb_arena *arena, struct nb_json **out, struct nb_error *err)
{
    return run(s, n, false, true, arena, out, NULL, NULL, err);
}

nb_status nb_json_parse_prefix(const char *s, size_t n, struct nb_arena *arena, struct nb_json **out,
                               size_t *consumed, struct nb_error *err)
{
    return run(s, n, true, false, arena, out, consumed, NULL, err);
}

nb_status nb_json_parse_prefix_ex(const char *s, size_t n, bool at_eof, struct nb_arena *arena, struct nb_json **out,
                                  size_t *consumed, size_t *err_offset, struct nb_error *err)
{
    return run(s, n, !at_eof, false, arena, out, consumed, err_offset, err);
}

/* ---- accessors -------------------------------------------------------------------------- */

const struct nb_json *nb_json_get(const struct nb_json *obj, const char *key)
{
    if (!obj || obj->kind != NB_JSON_OBJECT || !key) return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < obj->u.object.count; i++) {
        const struct nb_json_member *m = &obj->u.object.members[i];
        if (m->key_len == kl && memcmp(m->key, key, kl) == 0) return m->value;
    }
    return NULL;
}

const char *nb_json_get_string(const struct nb_json *obj, const char *key)
{
    const struct nb_json *v = nb_json_get(obj, key);
    return v && v->kind == NB_JSON_STRING ? v->u.string.ptr : NULL;
}

bool nb_json_get_i64(const struct nb_json *obj, const char *key, int64_t *out)
{
    return nb_json_i64(nb_json_get(obj, key), out);
}

bool nb_json_get_bool(const struct nb_json *obj, const char *key, bool *out)
{
    const struct nb_json *v = nb_json_get(obj, key);
    if (!v || v->kind != NB_JSON_BOOL) return false;
    *out = v->u.boolean;
    return true;
}

static bool is_integer_text(const struct nb_json *v)
{
    return v && v->kind == NB_JSON_NUMBER && !memchr(v->u.number.text, '.', v->u.number.len) &&
           !memchr(v->u.number.text, 'e', v->u.number.len) && !memchr(v->u.number.text, 'E', v->u.number.len);
}

bool nb_json_i64(const struct nb_json *v, int64_t *out)
{
    if (!is_integer_text(v)) return false;
    return nb_parse_i64(v->u.number.text, v->u.number.len, out);
}

bool nb_json_u64(const struct nb_json *v, uint64_t *out)
{
    if (!is_integer_text(v) || v->u.number.text[0] == '-') return false;
    uint64_t x = 0;
    for (size_t i = 0; i < v->u.number.len; i++) {
        unsigned d = (unsigned)(v->u.number.text[i] - '0');
        if (x > (UINT64_MAX - d) / 10) return false;
        x = x * 10 + d;
    }
    *out = x;
    return true;
}

bool nb_json_f64(const struct nb_json *v, double *out)
{
    if (!v || v->kind != NB_JSON_NUMBER) return false;
    /* The text is NUL-terminated in the arena (see parse_number). */
    errno = 0;
    char *endp;
    double d = strtod(v->u.number.text, &endp);
    if (endp != v->u.number.text + v->u.number.len || !isfinite(d)) return false;
    *out = d;
    return true;
}

/* ---- writing ---------------------------------------------------------------------------- */

static void write_value(struct nb_buf *out, const struct nb_json *v)
{
    switch (v->kind) {
    case NB_JSON_NULL: nb_buf_append(out, "null", 4); break;
    case NB_JSON_BOOL: v->u.boolean ? nb_buf_append(out, "true", 4) : nb_buf_append(out, "false", 5); break;
    case NB_JSON_NUMBER: nb_buf_append(out, v->u.number.text, v->u.number.len); break;
    case NB_JSON_STRING: nb_buf_json_string(out, v->u.string.ptr, v->u.string.len); break;
    case NB_JSON_ARRAY:
        nb_buf_putc(out, '[');
        for (size_t i = 0; i < v->u.array.count; i++) {
            if (i) nb_buf_putc(out, ',');
            write_value(out, v->u.array.items[i]);
        }
        nb_buf_putc(out, ']');
        break;
    case NB_JSON_OBJECT:
        nb_buf_putc(out, '{');
        for (size_t i = 0; i < v->u.object.count; i++) {
            const struct nb_json_member *m = &v->u.object.members[i];
            if (i) nb_buf_putc(out, ',');
            nb_buf_json_string(out, m->key, m->key_len);
            nb_buf_putc(out, ':');
            write_value(out, m->value);
        }
        nb_buf_putc(out, '}');
        break;
    }
}

void nb_json_write(struct nb_buf *out, const struct nb_json *v)
{
    if (!v) { nb_buf_append(out, "null", 4); return; }
    write_value(out, v);
}
