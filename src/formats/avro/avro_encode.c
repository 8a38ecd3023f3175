/* The Avro binary encoder (spec 1.11 "Binary Encoding"): rows of a columnar batch as records,
 * zig-zag varints written straight into one buffer, no allocation per value. Runs on workers:
 * full blocks are compressed here too, so the committer thread only frames them. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "batch/value.h"
#include "core/str.h"
#include "formats/avro/avro_internal.h"
#include "io/snappy_lib.h"

const char *nb_avro_codec_name(enum nb_avro_codec c)
{
    switch (c) {
    case NB_AVRO_DEFLATE: return "deflate";
    case NB_AVRO_SNAPPY: return "snappy";
    case NB_AVRO_ZSTD: return "zstandard";
    default: return "null";
    }
}

/* ---- primitives ------------------------------------------------------------------------ */
static inline size_t put_varint_raw(uint8_t *p, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        p[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[i++] = (uint8_t)v;
    return i;
}

static inline void put_long(struct nb_buf *b, int64_t v)
{
    if (b->cap - b->len <= 10 && !nb_buf_reserve(b, 10)) return;
    uint64_t zz = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    b->len += put_varint_raw((uint8_t *)b->data + b->len, zz);
}

static inline void put_bytes(struct nb_buf *b, const char *p, size_t n)
{
    if (b->cap - b->len <= n + 10 && !nb_buf_reserve(b, n + 10)) return;
    b->len += put_varint_raw((uint8_t *)b->data + b->len, (uint64_t)n << 1);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void put_double(struct nb_buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(u >> (8 * i));
    nb_buf_append(b, le, 8);
}

static inline void put_byte(struct nb_buf *b, uint8_t c)
{
    if (b->cap - b->len <= 1 && !nb_buf_reserve(b, 1)) return;
    b->data[b->len++] = (char)c;
}

/* ---- decimals -------------------------------------------------------------------------- */
/* Two's-complement big-endian, shortest form (the Avro decimal logical type). be[0..n) in. */
static void put_twos(struct nb_buf *b, const uint8_t *be, size_t n)
{
    size_t i = 0;
    while (i + 1 < n && ((be[i] == 0x00 && !(be[i + 1] & 0x80)) || (be[i] == 0xFF && (be[i + 1] & 0x80)))) i++;
    put_bytes(b, (const char *)be + i, n - i);
}

/* Decimals wider than 38 digits (to 76): [-+]?digits[.digits] to a 256-bit two's complement,
 * with the same rules as nb_value_parse_decimal (no rounding, digits within precision/scale). */
static bool wide_decimal(const char *s, size_t n, unsigned precision, unsigned scale, uint8_t be[32])
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    size_t int_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    size_t int_digits = i - int_start;
    size_t frac_start = i, frac_digits = 0;
    if (i < n && s[i] == '.') {
        frac_start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        frac_digits = i - frac_start;
        if (frac_digits == 0) return false;
    }
    if (i != n || int_digits == 0 || frac_digits > scale) return false;
    /* Leading zeros of the integer part do not count against the precision. */
    size_t lead = 0;
    while (lead + 1 < int_digits && s[int_start + lead] == '0') lead++;
    size_t sig_int = int_digits - lead;
    if (sig_int == 1 && s[int_start + lead] == '0') sig_int = 0;
    if (sig_int + scale > precision) return false;
    uint32_t limb[8] = {0}; /* little-endian 32-bit limbs */
    size_t total = int_digits + scale;
    for (size_t k = 0; k < total; k++) {
        unsigned d = 0;
        if (k < int_digits) d = (unsigned)(s[int_start + k] - '0');
        else if (k - int_digits < frac_digits) d = (unsigned)(s[frac_start + (k - int_digits)] - '0');
        uint64_t carry = d;
        for (int l = 0; l < 8; l++) {
            uint64_t v = (uint64_t)limb[l] * 10u + carry;
            limb[l] = (uint32_t)v;
            carry = v >> 32;
        }
    }
    if (neg) {
        uint64_t carry = 1;
        for (int l = 0; l < 8; l++) {
            uint64_t v = (uint64_t)(uint32_t)~limb[l] + carry;
            limb[l] = (uint32_t)v;
            carry = v >> 32;
        }
    }
    for (int l = 0; l < 8; l++)
        for (int k = 0; k < 4; k++) be[31 - (l * 4 + k)] = (uint8_t)(limb[l] >> (8 * k));
    return true;
}

/* ---- errors ---------------------------------------------------------------------------- */
static nb_status value_error(const struct nb_batch *b, size_t col, size_t row, const char *what,
                             const char *s, size_t n, struct nb_error *err)
{
    const struct nb_field *f = &b->schema->fields[col];
    char tname[48], where[160] = "", shown[96];
    nb_type_format(f->type, tname, sizeof tname);
    if (b->locs) snprintf(where, sizeof where, " (%s line %" PRIu64 ")", b->source_name ? b->source_name : "source",
                          b->locs[row].line);
    else if (b->source_name) snprintf(where, sizeof where, " (%s)", b->source_name);
    size_t m = n < 64 ? n : 64;
    /* Show printable ASCII only: the value may be binary. */
    size_t j = 0;
    for (size_t i = 0; i < m && j + 5 < sizeof shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'') shown[j++] = (char)c;
        else j += (size_t)snprintf(shown + j, sizeof shown - j, "\\x%02x", c);
    }
    shown[j] = '\0';
    return nb_error_set(err, NB_ERR_INVALID,
                        "avro: stream %s, column '%s' (%s), row %" PRIu64 " of batch %" PRIu64 "%s: value '%s%s' %s; "
                        "route such rows to errors.on_bad_record (skip or dead_letter) or fix the column type",
                        b->stream ? b->stream : "?", f->name, tname, (uint64_t)row + 1, b->seq, where, shown,
                        n > m ? "..." : "", what);
}

/* ---- one value ------------------------------------------------------------------------- */
static nb_status put_value(struct nb_buf *o, const struct nb_batch *b, size_t col, size_t row, struct nb_error *err)
{
    const struct nb_column *c = &b->cols[col];
    const struct nb_field *f = &b->schema->fields[col];
    enum nb_type_id id = f->type.id;
    if (id == NB_TYPE_NULL) {
        /* Avro's null type holds nothing: a value here would be lost, so refuse it. */
        if (nb_column_is_null(c, row)) return NB_OK;
        size_t n = 0;
        const char *s = c->repr == NB_REPR_TEXT ? nb_column_text(c, row, &n) : "";
        return value_error(b, col, row, "is not null but the column's type is null (no value seen when it was typed)",
                           s, n, err);
    }
    if (f->nullable) {
        if (nb_column_is_null(c, row)) { put_byte(o, 0); return NB_OK; }
        put_byte(o, 2); /* union branch 1, zig-zag */
    } else if (nb_column_is_null(c, row)) {
        return value_error(b, col, row, "is null but the column is not nullable", "", 0, err);
    }
    if (c->repr == NB_REPR_NATIVE) {
        switch (id) {
        case NB_TYPE_BOOL: put_byte(o, nb_column_bool(c, row) ? 1 : 0); return NB_OK;
        case NB_TYPE_INT32: case NB_TYPE_DATE: put_long(o, nb_column_i32(c, row)); return NB_OK;
        case NB_TYPE_INT64: case NB_TYPE_TIME: case NB_TYPE_TIMESTAMP: put_long(o, nb_column_i64(c, row)); return NB_OK;
        case NB_TYPE_FLOAT64: put_double(o, nb_column_f64(c, row)); return NB_OK;
        default: return nb_error_set(err, NB_ERR_INTERNAL, "avro: column '%s' has a native representation its type has not", f->name);
        }
    }
    size_t n;
    const char *s = nb_column_text(c, row, &n);
    switch (id) {
    case NB_TYPE_STRING:
    case NB_TYPE_JSON:
        if (!nb_utf8_valid(s, n)) return value_error(b, col, row, "is not valid UTF-8", s, n, err);
        put_bytes(o, s, n);
        return NB_OK;
    case NB_TYPE_BINARY: put_bytes(o, s, n); return NB_OK;
    case NB_TYPE_BOOL: {
        bool v;
        if (!nb_value_parse_bool(s, n, &v)) return value_error(b, col, row, "is not a bool", s, n, err);
        put_byte(o, v ? 1 : 0);
        return NB_OK;
    }
    case NB_TYPE_INT32: {
        int32_t v;
        if (!nb_value_parse_i32(s, n, &v)) return value_error(b, col, row, "is not an int32", s, n, err);
        put_long(o, v);
        return NB_OK;
    }
    case NB_TYPE_INT64: {
        int64_t v;
        if (!nb_value_parse_i64(s, n, &v)) return value_error(b, col, row, "is not an int64", s, n, err);
        put_long(o, v);
        return NB_OK;
    }
    case NB_TYPE_FLOAT64: {
        double v;
        if (!nb_value_parse_f64(s, n, &v)) return value_error(b, col, row, "is not a float64", s, n, err);
        put_double(o, v);
        return NB_OK;
    }
    case NB_TYPE_DATE: {
        int32_t v;
        if (!nb_value_parse_date(s, n, &v)) return value_error(b, col, row, "is not a date (YYYY-MM-DD)", s, n, err);
        put_long(o, v);
        return NB_OK;
    }
    case NB_TYPE_TIME: {
        int64_t v;
        if (!nb_value_parse_time(s, n, &v)) return value_error(b, col, row, "is not a time (hh:mm:ss[.ffffff])", s, n, err);
        put_long(o, v);
        return NB_OK;
    }
    case NB_TYPE_TIMESTAMP: {
        int64_t v;
        bool zoned;
        if (!nb_value_parse_timestamp(s, n, &v, &zoned))
            return value_error(b, col, row, "is not a timestamp (RFC 3339, at most microseconds)", s, n, err);
        put_long(o, v);
        return NB_OK;
    }
    case NB_TYPE_DECIMAL: {
        uint8_t be[32];
        if (f->type.precision <= 38) {
            __int128 u;
            if (!nb_value_parse_decimal(s, n, f->type.precision, f->type.scale, &u))
                return value_error(b, col, row, "does not fit the decimal's precision and scale", s, n, err);
            unsigned __int128 w = (unsigned __int128)u;
            for (int i = 15; i >= 0; i--) { be[i] = (uint8_t)w; w >>= 8; }
            put_twos(o, be, 16);
        } else {
            if (!wide_decimal(s, n, f->type.precision, f->type.scale, be))
                return value_error(b, col, row, "does not fit the decimal's precision and scale", s, n, err);
            put_twos(o, be, 32);
        }
        return NB_OK;
    }
    default: return nb_error_set(err, NB_ERR_INTERNAL, "avro: column '%s' has an unknown type", f->name);
    }
}

/* ---- codecs ---------------------------------------------------------------------------- */
nb_status nb_avro_compress(const struct nb_avro_options *o, const char *raw, size_t n, struct nb_buf *out,
                           struct nb_error *err)
{
    switch (o->codec) {
    case NB_AVRO_NULL: nb_buf_append(out, raw, n); return nb_buf_status(out, err);
    case NB_AVRO_DEFLATE: {
        /* Raw deflate (RFC 1951, no zlib header), as the spec asks. */
        z_stream z;
        memset(&z, 0, sizeof z);
        int level = o->level ? o->level : Z_DEFAULT_COMPRESSION;
        if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return nb_error_set(err, NB_ERR_NOMEM, "avro: deflate init failed");
        size_t bound = deflateBound(&z, (uLong)n);
        if (!nb_buf_reserve(out, bound)) { deflateEnd(&z); return nb_buf_status(out, err); }
        z.next_in = (Bytef *)(uintptr_t)raw;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)bound;
        int rc = deflate(&z, Z_FINISH);
        size_t produced = bound - z.avail_out;
        deflateEnd(&z);
        if (rc != Z_STREAM_END) return nb_error_set(err, NB_ERR_INTERNAL, "avro: deflate failed (%d)", rc);
        out->len += produced;
        return NB_OK;
    }
    case NB_AVRO_SNAPPY: {
        if (nb_snappy_require(err) != NB_OK) return NB_ERR_UNSUPPORTED;
        size_t bound = snappy_max_compressed_length(n);
        if (!nb_buf_reserve(out, bound + 4)) return nb_buf_status(out, err);
        size_t clen = bound;
        if (snappy_compress(raw, n, out->data + out->len, &clen) != SNAPPY_OK)
            return nb_error_set(err, NB_ERR_INTERNAL, "avro: snappy compression failed");
        out->len += clen;
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)raw, (uInt)n);
        uint8_t be[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
        nb_buf_append(out, be, 4);
        return nb_buf_status(out, err);
    }
    case NB_AVRO_ZSTD: {
        size_t bound = ZSTD_compressBound(n);
        if (!nb_buf_reserve(out, bound)) return nb_buf_status(out, err);
        size_t r = ZSTD_compress(out->data + out->len, bound, raw, n, o->level ? o->level : 3);
        if (ZSTD_isError(r)) return nb_error_set(err, NB_ERR_INTERNAL, "avro: zstd failed: %s", ZSTD_getErrorName(r));
        out->len += r;
        return NB_OK;
    }
    }
    return nb_error_set(err, NB_ERR_INTERNAL, "avro: unknown codec");
}

static void put_segment_header(struct nb_buf *out, char kind, uint64_t rows, uint64_t bytes)
{
    nb_buf_putc(out, kind);
    nb_buf_append(out, &rows, 8);
    nb_buf_append(out, &bytes, 8);
}

static nb_status emit_block(const struct nb_avro_options *o, struct nb_buf *raw, uint64_t rows, struct nb_buf *out,
                            struct nb_error *err)
{
    size_t hdr = out->len;
    put_segment_header(out, NB_AVRO_SEG_BLOCK, rows, 0);
    size_t start = out->len;
    nb_status st = nb_avro_compress(o, raw->data, raw->len, out, err);
    if (st != NB_OK) return st;
    if (out->oom) return nb_buf_status(out, err);
    uint64_t bytes = out->len - start;
    memcpy(out->data + hdr + 9, &bytes, 8);
    nb_buf_reset(raw);
    return NB_OK;
}

nb_status nb_avro_encode_batch(const struct nb_avro_options *o, const struct nb_batch *b, struct nb_buf *out,
                               struct nb_error *err)
{
    nb_buf_reset(out);
    struct nb_buf raw;
    nb_buf_init(&raw);
    nb_status st = NB_OK;
    size_t ncols = b->schema ? b->schema->n_fields : 0;
    for (size_t j = 0; j < ncols; j++) {
        if (b->cols[j].len < b->n_rows) {
            st = nb_error_set(err, NB_ERR_INTERNAL, "avro: column '%s' has %zu values for %zu rows",
                              b->schema->fields[j].name, b->cols[j].len, b->n_rows);
            goto fail;
        }
    }
    uint64_t rows = 0;
    size_t limit = o->block_size ? o->block_size : NB_AVRO_DEFAULT_BLOCK_SIZE;
    if (!nb_buf_reserve(&raw, limit < 65536 ? limit + 256 : 65536)) { st = nb_buf_status(&raw, err); goto fail; }
    for (size_t i = 0; i < b->n_rows; i++) {
        for (size_t j = 0; j < ncols; j++)
            if ((st = put_value(&raw, b, j, i, err)) != NB_OK) goto fail;
        rows++;
        if (raw.len >= limit || (o->sync_interval && rows >= o->sync_interval)) {
            if (raw.oom) { st = nb_buf_status(&raw, err); goto fail; }
            if ((st = emit_block(o, &raw, rows, out, err)) != NB_OK) goto fail;
            rows = 0;
        }
    }
    if ((st = nb_buf_status(&raw, err)) != NB_OK) goto fail;
    /* A tail of half a block or more is a fine block of its own: compress it here, on the worker.
     * Only smaller ones (trickling streams, small batches) go to the writer to be merged. */
    if (rows && raw.len >= limit / 2) {
        if ((st = emit_block(o, &raw, rows, out, err)) != NB_OK) goto fail;
        rows = 0;
    }
    if (rows) {
        put_segment_header(out, NB_AVRO_SEG_TAIL, rows, raw.len);
        nb_buf_append(out, raw.data, raw.len);
    }
    st = nb_buf_status(out, err);
fail:
    nb_buf_cleanup(&raw);
    return st;
}
