/* The Parquet writer's per-batch work that needs no writer state: text values parsed to their
 * physical form, nulls checked, strings validated as UTF-8 and every value hashed for the
 * dictionary. It runs as the format's thread-safe `encode` op on the engine's workers, so the
 * committer (column.c) only merges values into pages; the writer runs it itself when it has none. */
#include <stdio.h>
#include <string.h>

#include "batch/value.h"
#include "core/str.h"
#include "formats/parquet/column.h"

#define PQ_ENC_MAGIC 0x31455150u   /* "PQE1" */

struct enc_head {
    uint32_t magic, ncols;
    uint64_t rows;
};
struct enc_ref {
    uint64_t vals, hash;   /* offsets into the buffer; 0 = none */
    uint64_t print;        /* the column's fingerprint (below): an encoding is only used for its batch */
    uint64_t width;        /* bytes per value in vals */
};

/* Cheap to take, and different for another batch of the same shape in all but contrived cases:
 * nulls and text bytes. */
static uint64_t fingerprint(const struct nb_column *bc, size_t rows)
{
    if (bc->len < rows) return UINT64_MAX;   /* a short column: the encoder refuses it anyway */
    uint64_t text = bc->repr == NB_REPR_NATIVE || !bc->offsets ? 0 : bc->offsets[rows] - bc->offsets[0];
    return (uint64_t)bc->null_count << 40 ^ text;
}

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

static void mul10_add(uint8_t *be, int len, unsigned digit)
{
    unsigned carry = digit;
    for (int i = len - 1; i >= 0; i--) {
        unsigned v = be[i] * 10u + carry;
        be[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

/* Decimal text ([-+]?digits[.digits]) to big-endian two's complement of len bytes at `scale`.
 * For precisions beyond the 128-bit parser of batch/value.h. */
static bool parse_decimal_wide(const char *s, size_t n, int precision, int scale, uint8_t *be, int len)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    memset(be, 0, (size_t)len);
    int sig = 0, fd = 0;
    bool any = false, dot = false;
    for (; i < n; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (dot || !any) return false;
            dot = true;
            continue;
        }
        if (ch < '0' || ch > '9') return false;
        any = true;
        if (dot && ++fd > scale) {
            if (ch != '0') return false;   /* zeros beyond the scale change nothing (as batch/value.h) */
            continue;
        }
        if (sig == 0 && ch == '0') continue;
        if (++sig > precision) return false;
        mul10_add(be, len, (unsigned)(ch - '0'));
    }
    if (!any || (dot && fd == 0)) return false;
    int used = fd > scale ? scale : fd;
    if (sig && sig + (scale - used) > precision) return false;
    for (int k = used; k < scale; k++) mul10_add(be, len, 0);
    if (neg) {
        unsigned carry = 1;
        for (int k = len - 1; k >= 0; k--) {
            unsigned v = (uint8_t)~be[k] + carry;
            be[k] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    return true;
}

static nb_status bad_value(const struct nb_field *f, const struct nb_batch *b, size_t row, uint64_t row_base,
                           const char *p, size_t n, const char *what, struct nb_error *err)
{
    if (!err) return NB_ERR_INVALID;   /* the worker side: the writer encodes again and says where */
    char tname[48];
    nb_type_format(f->type, tname, sizeof tname);
    char where[160] = "";
    if (b->locs && b->source_name)
        snprintf(where, sizeof where, " (%s:%llu)", b->source_name, (unsigned long long)b->locs[row].line);
    else if (b->locs)
        snprintf(where, sizeof where, " (line %llu)", (unsigned long long)b->locs[row].line);
    int shown = n > 64 ? 64 : (int)n;
    return nb_error_set(err, NB_ERR_INVALID, "parquet: column '%s', row %llu%s: value '%.*s%s' %s %s", f->name,
                        (unsigned long long)(row_base + row + 1), where, shown, p ? p : "", n > 64 ? "..." : "",
                        what, tname);
}

/* Text the CSV decoder vouched for (nb_column.plain_numbers): -?digits(.digits)?, at most 18 digits
 * for int64 and 15 for float64, so no grammar is left to check. A float64 of at most 15 digits is
 * m / 10^k with m < 2^53 and k <= 22, both exact doubles: one IEEE division gives the correctly
 * rounded value, the same double strtod gives (Clinger's fast path). The general parsers of
 * batch/value.h (scan, then strtod) cost several times more, and these columns are the common case. */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline bool plain_digits(const char *s, size_t n, bool *neg, uint64_t *m, size_t *frac)
{
    size_t i = 0;
    *neg = n && s[0] == '-';
    i = *neg;
    uint64_t v = 0;
    size_t digits = 0, point = 0;
    /* the grammar again, cheaply, so a wrong flag cannot make this accept more than the general
     * parser: no leading zero before another digit, a digit on both sides of the point */
    if (i + 1 < n && s[i] == '0' && s[i + 1] != '.') return false;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d < 10) {
            v = v * 10 + d;
            digits++;
        } else if (s[i] == '.' && !point && digits) {
            point = i + 1;
        } else {
            return false;
        }
    }
    if (digits == 0 || digits > 18 || point == n) return false;
    *m = v;
    *frac = point ? n - point : 0;
    return true;
}

static inline bool plain_i64(const char *s, size_t n, int64_t *out)
{
    bool neg;
    uint64_t m;
    size_t frac;
    if (!plain_digits(s, n, &neg, &m, &frac) || frac) return false;
    *out = neg ? -(int64_t)m : (int64_t)m;
    return true;
}

static inline bool plain_f64(const char *s, size_t n, double *out)
{
    bool neg;
    uint64_t m;
    size_t frac;
    if (!plain_digits(s, n, &neg, &m, &frac) || m >= (1ull << 53) || frac > 22) return false;
    double v = (double)m / pow10_exact[frac];
    *out = neg ? -v : v;
    return true;
}

/* Whether every value of rows [0, rows) of a text column is valid UTF-8, checked in one pass over
 * the bytes: the values tile data[offsets[0], offsets[rows]), so when that is valid and no value
 * starts with a continuation byte, no character straddles two values. false: check value by value. */
static bool column_utf8_valid(const struct nb_column *bc, size_t rows)
{
    if (!bc->data) return true;
    size_t a = bc->offsets[0], z = bc->offsets[rows];
    if (!nb_utf8_valid(bc->data + a, z - a)) return false;
    for (size_t r = 1; r < rows; r++) {
        uint32_t o = bc->offsets[r];
        if (o < z && ((unsigned char)bc->data[o] & 0xC0) == 0x80) return false;
    }
    return true;
}

/* One column's values into vals (w bytes a row) and their hashes (when hash is not NULL). */
static nb_status enc_column(const struct nb_field *f, enum pq_kind kind, int tlen, const struct nb_batch *b,
                            size_t col, uint64_t row_base, uint8_t *vals, uint32_t *hash, struct nb_error *err)
{
    const struct nb_column *bc = &b->cols[col];
    const size_t rows = b->n_rows, w = pq_kind_width(kind, tlen);
    const bool optional = f->nullable || kind == PK_NULL;
    const bool native = bc->repr == NB_REPR_NATIVE;
    if (bc->len < rows)
        return nb_error_set(err, NB_ERR_INTERNAL, "parquet: column '%s' has %zu values for %zu rows", f->name,
                            bc->len, rows);
    if (native) {
        size_t want = 0;
        switch (kind) {
        case PK_BOOL: want = 1; break;
        case PK_I32: case PK_DATE: want = 4; break;
        case PK_I64: case PK_F64: case PK_TIME: case PK_TS: want = 8; break;
        default: break;
        }
        if (want == 0 || bc->width != want)
            return nb_error_set(err, NB_ERR_INTERNAL, "parquet: column '%s' arrived in a native layout of width %zu "
                                "this writer does not expect", f->name, bc->width);
    }
    const int prec = f->type.precision, scale = f->type.scale;
    const bool plain = !native && bc->plain_numbers;
    const bool utf8_known = kind == PK_STRING && !native && column_utf8_valid(bc, rows);
    for (size_t r = 0; r < rows; r++) {
        if (nb_column_is_null(bc, r)) {
            if (!optional)
                return nb_error_set(err, NB_ERR_INVALID, "parquet: column '%s', row %llu: null in a column declared "
                                    "not nullable", f->name, (unsigned long long)(row_base + r + 1));
            continue;
        }
        size_t n = 0;
        const char *p = NULL;
        if (!native) {
            /* not nb_column_text: a column of only empty strings has no data buffer (NULL + 0) */
            n = bc->offsets[r + 1] - bc->offsets[r];
            p = bc->data ? bc->data + bc->offsets[r] : "";
        }
        uint8_t *v = vals ? vals + r * w : NULL;
        bool ok = true;
        switch (kind) {
        case PK_NULL:
            return bad_value(f, b, r, row_base, p, n, "is not null in a column of type", err);
        case PK_BOOL: {
            bool x;
            if (native) x = nb_column_bool(bc, r);
            else ok = nb_value_parse_bool(p, n, &x);
            if (ok) *v = x;
            break;
        }
        case PK_I32:
        case PK_DATE: {
            int32_t x;
            if (native) x = nb_column_i32(bc, r);
            else ok = kind == PK_I32 ? nb_value_parse_i32(p, n, &x) : nb_value_parse_date(p, n, &x);
            if (ok) memcpy(v, &x, 4);
            break;
        }
        case PK_I64:
        case PK_TIME:
        case PK_TS: {
            int64_t x;
            bool zoned;
            if (native) x = nb_column_i64(bc, r);
            else if (plain && kind == PK_I64 && plain_i64(p, n, &x)) ok = true;
            else ok = kind == PK_I64 ? nb_value_parse_i64(p, n, &x)
                      : kind == PK_TIME ? nb_value_parse_time(p, n, &x)
                                        : nb_value_parse_timestamp(p, n, &x, &zoned);
            if (ok) memcpy(v, &x, 8);
            break;
        }
        case PK_F64: {
            double x;
            if (native) x = nb_column_f64(bc, r);
            else if (plain && plain_f64(p, n, &x)) ok = true;
            else ok = nb_value_parse_f64(p, n, &x);
            if (ok) memcpy(v, &x, 8);
            break;
        }
        case PK_DEC32:
        case PK_DEC64: {
            __int128 u;
            if (!(ok = nb_value_parse_decimal(p, n, prec, scale, &u))) break;
            if (kind == PK_DEC32) {
                int32_t x = (int32_t)u;
                memcpy(v, &x, 4);
            } else {
                int64_t x = (int64_t)u;
                memcpy(v, &x, 8);
            }
            break;
        }
        case PK_DECFIX:
            if (prec <= 38) {
                __int128 u;
                if (!(ok = nb_value_parse_decimal(p, n, prec, scale, &u))) break;
                for (int i = 0; i < tlen; i++)
                    v[tlen - 1 - i] = i < 16 ? (uint8_t)((unsigned __int128)u >> (8 * i)) : (u < 0 ? 0xff : 0);
            } else {
                ok = parse_decimal_wide(p, n, prec, scale, v, tlen);
            }
            break;
        case PK_STRING:
            if (!utf8_known && !nb_utf8_valid(p, n))
                return err ? nb_error_set(err, NB_ERR_INVALID, "parquet: column '%s', row %llu: value is not valid "
                                          "UTF-8 (at byte %zu) and cannot be a Parquet STRING; declare the column "
                                          "binary", f->name, (unsigned long long)(row_base + r + 1),
                                          nb_utf8_valid_prefix(p, n))
                           : NB_ERR_INVALID;
            break;
        case PK_BYTES:
            break;
        }
        if (!ok) return bad_value(f, b, r, row_base, p, n, "does not fit", err);
        if (hash) hash[r] = w ? pq_hash_bytes((const char *)v, w) : pq_hash_bytes(p, n);
    }
    return NB_OK;
}

nb_status pq_encode_batch(const struct nb_parquet_options *opt, const struct nb_batch *b, uint64_t row_base,
                          struct nb_buf *out, struct nb_error *err)
{
    nb_buf_reset(out);
    const struct nb_schema *s = b->schema;
    const size_t ncols = s->n_fields, rows = b->n_rows;
    size_t total = align8(sizeof(struct enc_head) + ncols * sizeof(struct enc_ref));
    for (size_t i = 0; i < ncols; i++) {
        enum pq_kind kind;
        enum pq_phys phys;
        int tlen;
        nb_status st = pq_kind_of(&s->fields[i], &kind, &phys, &tlen, err);
        if (st != NB_OK) return st;
        total += align8(rows * pq_kind_width(kind, tlen));
        if (pq_kind_dict_ok(opt, kind, phys)) total += align8(rows * sizeof(uint32_t));
    }
    if (!nb_buf_reserve(out, total)) return nb_error_set(err, NB_ERR_NOMEM, "parquet: out of memory encoding a batch");
    uint8_t *base = (uint8_t *)out->data;
    struct enc_head head = {PQ_ENC_MAGIC, (uint32_t)ncols, rows};
    memcpy(base, &head, sizeof head);
    struct enc_ref *refs = (struct enc_ref *)(base + sizeof head);
    size_t at = align8(sizeof(struct enc_head) + ncols * sizeof(struct enc_ref));
    for (size_t i = 0; i < ncols; i++) {
        enum pq_kind kind;
        enum pq_phys phys;
        int tlen;
        pq_kind_of(&s->fields[i], &kind, &phys, &tlen, NULL);
        size_t w = pq_kind_width(kind, tlen);
        refs[i].vals = w ? at : 0;
        refs[i].width = w;
        at += align8(rows * w);
        refs[i].hash = 0;
        refs[i].print = fingerprint(&b->cols[i], rows);
        if (pq_kind_dict_ok(opt, kind, phys)) {
            refs[i].hash = at;
            at += align8(rows * sizeof(uint32_t));
        }
        nb_status st = enc_column(&s->fields[i], kind, tlen, b, i, row_base, refs[i].vals ? base + refs[i].vals : NULL,
                                  refs[i].hash ? (uint32_t *)(void *)(base + refs[i].hash) : NULL, err);
        if (st != NB_OK) return st;
    }
    out->len = total;
    out->data[total] = '\0';
    return NB_OK;
}

bool pq_enc_view(const struct nb_buf *enc, const struct nb_batch *b, size_t ncols, struct pq_enc_col *cols)
{
    struct enc_head head;
    if (!enc || enc->len < sizeof head) return false;
    memcpy(&head, enc->data, sizeof head);
    if (head.magic != PQ_ENC_MAGIC || head.ncols != ncols || head.rows != b->n_rows) return false;
    if (enc->len < sizeof head + ncols * sizeof(struct enc_ref)) return false;
    const uint8_t *base = (const uint8_t *)enc->data;
    const struct enc_ref *refs = (const struct enc_ref *)(const void *)(base + sizeof head);
    const uint64_t rows = b->n_rows;
    for (size_t i = 0; i < ncols; i++) {
        /* every array inside the buffer (a buffer from elsewhere must not make us read past it) */
        if (refs[i].width > 64 || refs[i].vals > enc->len || refs[i].hash > enc->len ||
            (refs[i].vals && enc->len - refs[i].vals < rows * refs[i].width) ||
            (refs[i].hash && enc->len - refs[i].hash < rows * sizeof(uint32_t)))
            return false;
        cols[i].width = (size_t)refs[i].width;
        if (refs[i].print != fingerprint(&b->cols[i], b->n_rows)) return false;
        cols[i].vals = refs[i].vals ? base + refs[i].vals : NULL;
        cols[i].hash = refs[i].hash ? (const uint32_t *)(const void *)(base + refs[i].hash) : NULL;
    }
    return true;
}
