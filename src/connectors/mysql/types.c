/* MySQL/MariaDB values to exact text, and column types to ours. Binlog row values follow the
 * documented storage formats (integers little-endian; DECIMAL, TIME2, DATETIME2, TIMESTAMP2
 * big-endian packed forms); the text matches what the server's text protocol prints for the same
 * value, so a snapshot row and a streamed row read the same. */
#include <iconv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/mysql/mysql_int.h"

/* ---- charsets ---------------------------------------------------------------------------- */
const char *my_collation_charset(unsigned id)
{
    /* The collation ids a server reports in TABLE_MAP metadata, for the charsets that are not
     * UTF-8 already. Unknown ids are treated as UTF-8 (the server default). */
    switch (id) {
    case 5: case 8: case 15: case 31: case 47: case 48: case 49: case 94:
        return "latin1";
    case 2: case 9: case 21: case 27: case 77:
        return "latin2";
    case 14: case 23: case 50: case 51: case 52:
        return "cp1251";
    case 1: case 84: return "big5";
    case 13: case 88: return "sjis";
    case 19: case 85: return "euckr";
    case 24: case 86: return "gb2312";
    case 28: case 87: return "gbk";
    case 35: case 90: case 91: case 92: case 93: return "ucs2";
    case 54: case 55: return "utf16";
    case 60: case 61: return "utf32";
    case 11: case 65: return NULL; /* ascii */
    default: return NULL;
    }
}

static const char *iconv_name(const char *cs)
{
    if (!strcmp(cs, "latin1")) return "CP1252"; /* MySQL's latin1 is cp1252 */
    if (!strcmp(cs, "latin2")) return "ISO-8859-2";
    if (!strcmp(cs, "cp1251")) return "CP1251";
    if (!strcmp(cs, "big5")) return "BIG5";
    if (!strcmp(cs, "sjis")) return "SHIFT_JIS";
    if (!strcmp(cs, "euckr")) return "EUC-KR";
    if (!strcmp(cs, "gb2312")) return "GB2312";
    if (!strcmp(cs, "gbk")) return "GBK";
    if (!strcmp(cs, "ucs2")) return "UCS-2BE";
    if (!strcmp(cs, "utf16")) return "UTF-16BE";
    if (!strcmp(cs, "utf32")) return "UTF-32BE";
    return NULL;
}

nb_status my_to_utf8(const char *cs, const char *p, size_t n, struct nb_buf *out, struct nb_error *err)
{
    const char *name = cs ? iconv_name(cs) : NULL;
    if (!name) { nb_buf_append(out, p, n); return NB_OK; }
    if (!strcmp(name, "CP1252")) {
        /* Fast path: ASCII and Latin-1 range; 0x80-0x9f through iconv below. */
        bool simple = true;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] >= 0x80 && (unsigned char)p[i] < 0xa0) { simple = false; break; }
        if (simple) {
            for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)p[i];
                if (ch < 0x80) nb_buf_putc(out, (char)ch);
                else { nb_buf_putc(out, (char)(0xc0 | ch >> 6)); nb_buf_putc(out, (char)(0x80 | (ch & 0x3f))); }
            }
            return NB_OK;
        }
    }
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1) return nb_error_set(err, NB_ERR_UNSUPPORTED, "character set %s cannot be converted to UTF-8", cs);
    char *in = (char *)p;
    size_t inleft = n;
    nb_status st = NB_OK;
    while (inleft > 0) {
        if (!nb_buf_reserve(out, inleft * 4 + 16)) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); break; }
        char *o = out->data + out->len;
        size_t oleft = out->cap - out->len - 1;
        size_t rc = iconv(cd, &in, &inleft, &o, &oleft);
        out->len = (size_t)(o - out->data);
        out->data[out->len] = '\0';
        if (rc == (size_t)-1 && inleft > 0) {
            /* A byte with no mapping (cp1252 0x81 and friends): keep it as U+FFFD? No: map the
             * undefined cp1252 bytes to the same code points, as MySQL does. */
            unsigned char ch = (unsigned char)*in;
            if (!strcmp(name, "CP1252") && ch >= 0x80 && ch < 0xa0) {
                nb_buf_putc(out, (char)0xc2);
                nb_buf_putc(out, (char)ch);
                in++;
                inleft--;
                continue;
            }
            st = nb_error_set(err, NB_ERR_INVALID, "bytes that are not valid %s at offset %zu of a value", cs, n - inleft);
            break;
        }
    }
    iconv_close(cd);
    return st;
}

/* ---- types ------------------------------------------------------------------------------- */
static struct nb_type tmake(enum nb_type_id id) { return nb_type_make(id); }
static struct nb_type tdec(unsigned p, unsigned s)
{
    struct nb_type t = nb_type_make(NB_TYPE_DECIMAL);
    if (p > 76) p = 76;
    if (s > p) s = p;
    t.precision = (uint8_t)p;
    t.scale = (uint8_t)s;
    return t;
}

struct nb_type my_type_from_wire(const struct my_column *c)
{
    switch (c->type) {
    case MY_T_TINY: case MY_T_SHORT: case MY_T_INT24: return tmake(NB_TYPE_INT32);
    case MY_T_LONG: return c->is_unsigned ? tmake(NB_TYPE_INT64) : tmake(NB_TYPE_INT32);
    case MY_T_LONGLONG: return c->is_unsigned ? tdec(20, 0) : tmake(NB_TYPE_INT64);
    case MY_T_YEAR: return tmake(NB_TYPE_INT32);
    case MY_T_FLOAT: case MY_T_DOUBLE: return tmake(NB_TYPE_FLOAT64);
    case MY_T_NEWDECIMAL: return tdec(c->meta >> 8, c->meta & 0xff);
    case MY_T_DATE: case MY_T_NEWDATE: return tmake(NB_TYPE_DATE);
    case MY_T_TIME: case MY_T_TIME2: return tmake(NB_TYPE_STRING); /* MySQL TIME spans -838..838 h */
    case MY_T_DATETIME: case MY_T_DATETIME2: return tmake(NB_TYPE_TIMESTAMP);
    case MY_T_TIMESTAMP: case MY_T_TIMESTAMP2: { struct nb_type t = tmake(NB_TYPE_TIMESTAMP); t.utc = true; return t; }
    case MY_T_BIT: {
        unsigned bits = (c->meta >> 8) * 8 + (c->meta & 0xff);
        if (bits == 1) return tmake(NB_TYPE_BOOL);
        return bits < 64 ? tmake(NB_TYPE_INT64) : tdec(20, 0);
    }
    case MY_T_JSON: return tmake(NB_TYPE_JSON);
    case MY_T_GEOMETRY: return tmake(NB_TYPE_BINARY);
    case MY_T_ENUM: case MY_T_SET: return tmake(NB_TYPE_STRING);
    case MY_T_BLOB: case MY_T_TINY_BLOB: case MY_T_MEDIUM_BLOB: case MY_T_LONG_BLOB:
    case MY_T_VARCHAR: case MY_T_VAR_STRING: case MY_T_STRING:
        return c->binary ? tmake(NB_TYPE_BINARY) : tmake(NB_TYPE_STRING);
    default: return tmake(NB_TYPE_STRING);
    }
}

/* Parse "'a','b\'c'" labels out of enum(...)/set(...). */
static void parse_catalog_labels(struct my_column *c, const char *ct, struct nb_arena *a)
{
    const char *p = strchr(ct, '(');
    if (!p) return;
    size_t cap = 8, n = 0;
    char **labels = nb_arena_alloc(a, cap * sizeof(char *));
    if (!labels) return;
    p++;
    while (*p == '\'') {
        p++;
        struct nb_buf b;
        nb_buf_init(&b);
        while (*p && !(*p == '\'' && p[1] != '\'')) {
            if (*p == '\'' && p[1] == '\'') { nb_buf_putc(&b, '\''); p += 2; continue; }
            if (*p == '\\' && p[1]) { nb_buf_putc(&b, p[1]); p += 2; continue; }
            nb_buf_putc(&b, *p++);
        }
        if (n == cap) {
            char **nl = nb_arena_alloc(a, cap * 2 * sizeof(char *));
            if (!nl) { nb_buf_cleanup(&b); return; }
            memcpy(nl, labels, cap * sizeof(char *));
            labels = nl;
            cap *= 2;
        }
        labels[n++] = nb_arena_strndup(a, b.data ? b.data : "", b.len);
        nb_buf_cleanup(&b);
        if (*p == '\'') p++;
        if (*p == ',') p++;
    }
    c->labels = labels;
    c->n_labels = n;
}

void my_column_from_catalog(struct my_column *c, const char *dt, const char *ct, const char *charset,
                            struct nb_arena *a)
{
    c->is_unsigned = strstr(ct, "unsigned") != NULL;
    c->binary = charset == NULL || !*charset || !strcmp(charset, "binary");
    c->charset = NULL;
    unsigned p = 0, s = 0;
    const char *paren = strchr(ct, '(');
    if (paren) sscanf(paren, "(%u,%u)", &p, &s);
    struct nb_type t = tmake(NB_TYPE_STRING);
    if (!strcmp(dt, "tinyint") || !strcmp(dt, "smallint") || !strcmp(dt, "mediumint")) {
        t = tmake(NB_TYPE_INT32);
        c->type = !strcmp(dt, "tinyint") ? MY_T_TINY : !strcmp(dt, "smallint") ? MY_T_SHORT : MY_T_INT24;
    } else if (!strcmp(dt, "int")) {
        t = c->is_unsigned ? tmake(NB_TYPE_INT64) : tmake(NB_TYPE_INT32);
        c->type = MY_T_LONG;
    } else if (!strcmp(dt, "bigint")) {
        t = c->is_unsigned ? tdec(20, 0) : tmake(NB_TYPE_INT64);
        c->type = MY_T_LONGLONG;
    } else if (!strcmp(dt, "decimal") || !strcmp(dt, "numeric")) {
        t = tdec(p ? p : 10, s);
        c->type = MY_T_NEWDECIMAL;
        c->meta = (uint16_t)((p ? p : 10) << 8 | s);
    } else if (!strcmp(dt, "float") || !strcmp(dt, "double") || !strcmp(dt, "real")) {
        t = tmake(NB_TYPE_FLOAT64);
        c->type = !strcmp(dt, "float") ? MY_T_FLOAT : MY_T_DOUBLE;
    } else if (!strcmp(dt, "bit")) {
        unsigned bits = p ? p : 1;
        t = bits == 1 ? tmake(NB_TYPE_BOOL) : bits < 64 ? tmake(NB_TYPE_INT64) : tdec(20, 0);
        c->type = MY_T_BIT;
        c->meta = (uint16_t)((bits / 8) << 8 | (bits % 8));
    } else if (!strcmp(dt, "year")) {
        t = tmake(NB_TYPE_INT32);
        c->type = MY_T_YEAR;
    } else if (!strcmp(dt, "date")) {
        t = tmake(NB_TYPE_DATE);
        c->type = MY_T_DATE;
    } else if (!strcmp(dt, "time")) {
        c->type = MY_T_TIME2;
    } else if (!strcmp(dt, "datetime")) {
        t = tmake(NB_TYPE_TIMESTAMP);
        c->type = MY_T_DATETIME2;
    } else if (!strcmp(dt, "timestamp")) {
        t = tmake(NB_TYPE_TIMESTAMP);
        t.utc = true;
        c->type = MY_T_TIMESTAMP2;
    } else if (!strcmp(dt, "json")) {
        t = tmake(NB_TYPE_JSON);
        c->type = MY_T_JSON;
        c->binary = false;
    } else if (!strcmp(dt, "enum") || !strcmp(dt, "set")) {
        c->type = !strcmp(dt, "enum") ? MY_T_ENUM : MY_T_SET;
        c->binary = false;
        parse_catalog_labels(c, ct, a);
    } else if (!strcmp(dt, "geometry") || !strcmp(dt, "point") || !strcmp(dt, "linestring") ||
               !strcmp(dt, "polygon") || !strcmp(dt, "multipoint") || !strcmp(dt, "multilinestring") ||
               !strcmp(dt, "multipolygon") || !strcmp(dt, "geometrycollection")) {
        t = tmake(NB_TYPE_BINARY);
        c->type = MY_T_GEOMETRY;
        c->binary = true;
    } else if (strstr(dt, "blob") || strstr(dt, "binary")) {
        t = tmake(NB_TYPE_BINARY);
        c->type = strstr(dt, "blob") ? MY_T_BLOB : MY_T_STRING;
        c->binary = true;
    } else {
        /* char, varchar, text, and anything unknown: text */
        c->type = strstr(dt, "text") ? MY_T_BLOB : MY_T_VARCHAR;
        if (c->binary) t = tmake(NB_TYPE_BINARY);
        else if (charset && strcmp(charset, "utf8mb4") && strcmp(charset, "utf8mb3") && strcmp(charset, "utf8") &&
                 strcmp(charset, "ascii"))
            c->charset = nb_arena_strdup(a, charset);
    }
    c->nb = t;
}

/* ---- values ------------------------------------------------------------------------------ */
/* Civil date from days since 1970-01-01 (proleptic Gregorian, era arithmetic). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    uint64_t doe = (uint64_t)(z - era * 146097);
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static nb_status short_value(struct nb_error *err, const char *what)
{
    return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: row image ends inside a %s value", what);
}

static void put_frac(struct nb_buf *out, uint32_t usec, unsigned fsp)
{
    if (fsp == 0) return;
    if (fsp > 6) fsp = 6;
    char f[8];
    snprintf(f, sizeof f, "%06u", usec % 1000000u);
    nb_buf_putc(out, '.');
    nb_buf_append(out, f, fsp);
}

static uint32_t read_frac(struct my_rd *r, unsigned fsp)
{
    /* 1-2 digits: 1 byte (x10000 us), 3-4: 2 bytes (x100), 5-6: 3 bytes; big-endian */
    switch (fsp) {
    case 1: case 2: return (uint32_t)my_rd_be(r, 1) * 10000u;
    case 3: case 4: return (uint32_t)my_rd_be(r, 2) * 100u;
    case 5: case 6: return (uint32_t)my_rd_be(r, 3);
    default: return 0;
    }
}

static void put_float(struct nb_buf *out, double v, bool single)
{
    char tmp[48];
    if (!isfinite(v)) { nb_buf_puts(out, isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity"); return; }
    /* Shortest text that reads back to the same float/double. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (single ? (strtof(tmp, NULL) == (float)v) : (strtod(tmp, NULL) == v)) break;
    }
    nb_buf_puts(out, tmp);
}

static const int dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

static nb_status decimal_text(struct my_rd *r, unsigned prec, unsigned scale, struct nb_buf *out, struct nb_error *err)
{
    if (prec == 0 || prec > 65 || scale > 30 || scale > prec)
        return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: bad DECIMAL(%u,%u) metadata", prec, scale);
    unsigned intg = prec - scale;
    unsigned intg0 = intg / 9, intg0x = intg % 9, frac0 = scale / 9, frac0x = scale % 9;
    size_t size = intg0 * 4 + (size_t)dig2bytes[intg0x] + frac0 * 4 + (size_t)dig2bytes[frac0x];
    const uint8_t *src = my_rd_take(r, size);
    if (!src) return short_value(err, "DECIMAL");
    uint8_t b[40];
    memcpy(b, src, size);
    bool neg = !(b[0] & 0x80);
    b[0] ^= 0x80;
    if (neg) for (size_t i = 0; i < size; i++) b[i] ^= 0xff;
    char digits[100];
    size_t nd = 0, o = 0;
    struct my_rd d;
    my_rd_init(&d, b, size);
    if (intg0x) {
        uint64_t v = my_rd_be(&d, (size_t)dig2bytes[intg0x]);
        nd += (size_t)snprintf(digits + nd, sizeof digits - nd, "%0*llu", (int)intg0x, (unsigned long long)v);
    }
    for (unsigned i = 0; i < intg0; i++)
        nd += (size_t)snprintf(digits + nd, sizeof digits - nd, "%09llu", (unsigned long long)my_rd_be(&d, 4));
    while (o + 1 < nd && digits[o] == '0') o++;
    if (neg) nb_buf_putc(out, '-');
    if (nd == 0) nb_buf_putc(out, '0');
    else nb_buf_append(out, digits + o, nd - o);
    if (scale) {
        nb_buf_putc(out, '.');
        char f[16];
        for (unsigned i = 0; i < frac0; i++) {
            snprintf(f, sizeof f, "%09llu", (unsigned long long)my_rd_be(&d, 4));
            nb_buf_append(out, f, 9);
        }
        if (frac0x) {
            uint64_t v = my_rd_be(&d, (size_t)dig2bytes[frac0x]);
            snprintf(f, sizeof f, "%0*llu", (int)frac0x, (unsigned long long)v);
            nb_buf_append(out, f, frac0x);
        }
    }
    return NB_OK;
}

static nb_status put_text(const struct my_column *c, const uint8_t *p, size_t n, struct nb_buf *out, struct nb_error *err)
{
    if (c->binary || !c->charset) { nb_buf_append(out, p, n); return NB_OK; }
    return my_to_utf8(c->charset, (const char *)p, n, out, err);
}

nb_status my_value_text(const struct my_column *c, struct my_rd *r, struct nb_buf *out, bool *mismatch,
                        struct nb_error *err)
{
    char tmp[64];
    *mismatch = false;
    switch (c->type) {
    case MY_T_TINY: case MY_T_SHORT: case MY_T_INT24: case MY_T_LONG: case MY_T_LONGLONG: {
        size_t w = c->type == MY_T_TINY ? 1 : c->type == MY_T_SHORT ? 2 : c->type == MY_T_INT24 ? 3
                 : c->type == MY_T_LONG ? 4 : 8;
        uint64_t v = my_rd_le(r, w);
        if (r->bad) return short_value(err, "integer");
        if (c->is_unsigned) snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
        else {
            int64_t sv = w == 8 ? (int64_t)v : (int64_t)(v << (64 - 8 * w)) >> (64 - 8 * w);
            snprintf(tmp, sizeof tmp, "%lld", (long long)sv);
        }
        nb_buf_puts(out, tmp);
        return NB_OK;
    }
    case MY_T_YEAR: {
        uint64_t v = my_rd_le(r, 1);
        if (r->bad) return short_value(err, "YEAR");
        snprintf(tmp, sizeof tmp, "%04u", v ? (unsigned)(1900 + v) : 0u);
        nb_buf_puts(out, tmp);
        return NB_OK;
    }
    case MY_T_FLOAT: {
        uint32_t bits = (uint32_t)my_rd_le(r, 4);
        if (r->bad) return short_value(err, "FLOAT");
        float f;
        memcpy(&f, &bits, 4);
        put_float(out, f, true);
        return NB_OK;
    }
    case MY_T_DOUBLE: {
        uint64_t bits = my_rd_le(r, 8);
        if (r->bad) return short_value(err, "DOUBLE");
        double d;
        memcpy(&d, &bits, 8);
        put_float(out, d, false);
        return NB_OK;
    }
    case MY_T_NEWDECIMAL:
        return decimal_text(r, c->meta >> 8, c->meta & 0xff, out, err);
    case MY_T_DATE: case MY_T_NEWDATE: {
        uint32_t v = (uint32_t)my_rd_le(r, 3);
        if (r->bad) return short_value(err, "DATE");
        snprintf(tmp, sizeof tmp, "%04u-%02u-%02u", v >> 9, (v >> 5) & 15, v & 31);
        nb_buf_puts(out, tmp);
        *mismatch = (v >> 9) == 0 || ((v >> 5) & 15) == 0 || (v & 31) == 0;
        return NB_OK;
    }
    case MY_T_TIME: {
        uint32_t v = (uint32_t)my_rd_le(r, 3);
        if (r->bad) return short_value(err, "TIME");
        int32_t sv = (int32_t)(v << 8) >> 8;
        unsigned a = (unsigned)(sv < 0 ? -sv : sv);
        snprintf(tmp, sizeof tmp, "%s%02u:%02u:%02u", sv < 0 ? "-" : "", a / 10000, a / 100 % 100, a % 100);
        nb_buf_puts(out, tmp);
        return NB_OK;
    }
    case MY_T_TIME2: {
        unsigned fsp = c->meta;
        if (fsp > 6) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: TIME(%u) metadata is out of range", fsp);
        int64_t packed;
        if (fsp >= 5) {
            packed = (int64_t)my_rd_be(r, 6) - 0x800000000000LL;
        } else {
            int64_t intpart = (int64_t)my_rd_be(r, 3) - 0x800000LL;
            int64_t frac = 0;
            if (fsp >= 3) {
                frac = (int64_t)my_rd_be(r, 2);
                if (intpart < 0 && frac) { intpart++; frac -= 0x10000; }
                frac *= 100;
            } else if (fsp >= 1) {
                frac = (int64_t)my_rd_be(r, 1);
                if (intpart < 0 && frac) { intpart++; frac -= 0x100; }
                frac *= 10000;
            }
            packed = intpart * (1LL << 24) + frac;
        }
        if (r->bad) return short_value(err, "TIME");
        bool neg = packed < 0;
        uint64_t a = (uint64_t)(neg ? -packed : packed);
        uint64_t hms = a >> 24;
        uint32_t usec = (uint32_t)(a & 0xffffff);
        snprintf(tmp, sizeof tmp, "%s%02u:%02u:%02u", neg ? "-" : "", (unsigned)((hms >> 12) % 1024),
                 (unsigned)((hms >> 6) % 64), (unsigned)(hms % 64));
        nb_buf_puts(out, tmp);
        put_frac(out, usec, fsp);
        return NB_OK;
    }
    case MY_T_DATETIME: {
        uint64_t v = my_rd_le(r, 8);
        if (r->bad) return short_value(err, "DATETIME");
        uint64_t d = v / 1000000, t = v % 1000000;
        snprintf(tmp, sizeof tmp, "%04u-%02u-%02u %02u:%02u:%02u", (unsigned)(d / 10000), (unsigned)(d / 100 % 100),
                 (unsigned)(d % 100), (unsigned)(t / 10000), (unsigned)(t / 100 % 100), (unsigned)(t % 100));
        nb_buf_puts(out, tmp);
        *mismatch = d / 100 % 100 == 0 || d % 100 == 0;
        return NB_OK;
    }
    case MY_T_DATETIME2: {
        unsigned fsp = c->meta;
        if (fsp > 6) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: DATETIME(%u) metadata is out of range", fsp);
        int64_t intpart = (int64_t)my_rd_be(r, 5) - 0x8000000000LL;
        uint32_t usec = read_frac(r, fsp);
        if (r->bad) return short_value(err, "DATETIME");
        if (intpart < 0) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: negative DATETIME value");
        uint64_t ymd = (uint64_t)intpart >> 17, hms = (uint64_t)intpart % (1 << 17);
        uint64_t ym = ymd >> 5;
        unsigned day = (unsigned)(ymd % 32), month = (unsigned)(ym % 13), year = (unsigned)(ym / 13);
        snprintf(tmp, sizeof tmp, "%04u-%02u-%02u %02u:%02u:%02u", year, month, day, (unsigned)(hms >> 12),
                 (unsigned)((hms >> 6) % 64), (unsigned)(hms % 64));
        nb_buf_puts(out, tmp);
        put_frac(out, usec, fsp);
        *mismatch = month == 0 || day == 0;
        return NB_OK;
    }
    case MY_T_TIMESTAMP: case MY_T_TIMESTAMP2: {
        unsigned fsp = c->type == MY_T_TIMESTAMP2 ? c->meta : 0;
        if (fsp > 6) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: TIMESTAMP(%u) metadata is out of range", fsp);
        uint64_t secs = c->type == MY_T_TIMESTAMP2 ? my_rd_be(r, 4) : my_rd_le(r, 4);
        uint32_t usec = read_frac(r, fsp);
        if (r->bad) return short_value(err, "TIMESTAMP");
        if (secs == 0 && usec == 0) {
            /* The zero timestamp: kept as text, marked as not fitting a timestamp. */
            nb_buf_puts(out, "0000-00-00 00:00:00");
            put_frac(out, 0, fsp);
            *mismatch = true;
            return NB_OK;
        }
        int64_t days = (int64_t)(secs / 86400);
        uint64_t sod = secs % 86400;
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        snprintf(tmp, sizeof tmp, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, m, d, (unsigned)(sod / 3600),
                 (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
        nb_buf_puts(out, tmp);
        put_frac(out, usec, fsp);
        nb_buf_putc(out, 'Z');
        return NB_OK;
    }
    case MY_T_BIT: {
        unsigned nbytes = (c->meta >> 8) + ((c->meta & 0xff) ? 1 : 0);
        if (nbytes == 0 || nbytes > 8) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: bad BIT metadata");
        uint64_t v = my_rd_be(r, nbytes);
        if (r->bad) return short_value(err, "BIT");
        if (c->nb.id == NB_TYPE_BOOL) nb_buf_puts(out, v ? "true" : "false");
        else { snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v); nb_buf_puts(out, tmp); }
        return NB_OK;
    }
    case MY_T_VARCHAR: case MY_T_VAR_STRING: case MY_T_STRING: {
        size_t maxlen = c->type == MY_T_STRING ? (c->meta & 0xff) | ((size_t)((((c->meta >> 8) & 0x30) ^ 0x30)) << 4) : c->meta;
        size_t n = (size_t)my_rd_le(r, maxlen > 255 ? 2 : 1);
        const uint8_t *p = my_rd_take(r, n);
        if (!p) return short_value(err, "string");
        return put_text(c, p, n, out, err);
    }
    case MY_T_ENUM: {
        size_t w = c->meta & 0xff;
        if (w != 1 && w != 2) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: bad ENUM metadata");
        uint64_t v = my_rd_le(r, w);
        if (r->bad) return short_value(err, "ENUM");
        if (v == 0) return NB_OK; /* the empty "error" value */
        if (v > c->n_labels) {
            if (c->n_labels == 0) {
                snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
                nb_buf_puts(out, tmp);
                return NB_OK;
            }
            return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: ENUM value %llu beyond its %zu labels", (unsigned long long)v, c->n_labels);
        }
        nb_buf_puts(out, c->labels[v - 1]);
        return NB_OK;
    }
    case MY_T_SET: {
        size_t w = c->meta & 0xff;
        if (w < 1 || w > 8) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: bad SET metadata");
        uint64_t v = my_rd_le(r, w);
        if (r->bad) return short_value(err, "SET");
        bool first = true;
        for (size_t i = 0; i < 64; i++) {
            if (!((v >> i) & 1)) continue;
            if (!first) nb_buf_putc(out, ',');
            first = false;
            if (i < c->n_labels) nb_buf_puts(out, c->labels[i]);
            else { snprintf(tmp, sizeof tmp, "%zu", i + 1); nb_buf_puts(out, tmp); }
        }
        return NB_OK;
    }
    case MY_T_BLOB: case MY_T_TINY_BLOB: case MY_T_MEDIUM_BLOB: case MY_T_LONG_BLOB: case MY_T_GEOMETRY:
    case MY_T_JSON: {
        size_t lb = c->meta;
        if (lb < 1 || lb > 4) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: bad BLOB length size %zu", lb);
        size_t n = (size_t)my_rd_le(r, lb);
        const uint8_t *p = my_rd_take(r, n);
        if (!p) return short_value(err, "BLOB");
        if (c->type == MY_T_GEOMETRY) {
            /* 4-byte SRID, then WKB */
            if (n < 4) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: GEOMETRY value shorter than its SRID");
            nb_buf_append(out, p + 4, n - 4);
            return NB_OK;
        }
        if (c->type == MY_T_JSON) {
            /* MySQL stores binary JSON; MariaDB's JSON is LONGTEXT and arrives as a BLOB. */
            if (n == 0) { nb_buf_puts(out, "null"); return NB_OK; }
            return my_json_binary_to_text(p, n, out, err);
        }
        return put_text(c, p, n, out, err);
    }
    case MY_T_NULL:
        return NB_OK;
    default:
        return nb_error_set(err, NB_ERR_UNSUPPORTED, "binlog: column type %u is not supported", c->type);
    }
}

/* ---- MySQL binary JSON ------------------------------------------------------------------- */
/* Layout (MySQL json_binary): a type byte then the value. Objects/arrays: count, size, then
 * key entries (offset, length) and value entries (type, offset-or-inlined value), in small (2-byte)
 * or large (4-byte) form; offsets are relative to the start of the object. */
enum { JB_SOBJ = 0, JB_LOBJ = 1, JB_SARR = 2, JB_LARR = 3, JB_LITERAL = 4, JB_I16 = 5, JB_U16 = 6, JB_I32 = 7,
       JB_U32 = 8, JB_I64 = 9, JB_U64 = 10, JB_DOUBLE = 11, JB_STRING = 12, JB_OPAQUE = 15 };

/* Values left to visit: every value has its own entry in a container, so a document has fewer
 * values than bytes; entries that share a target (never written by MySQL) cannot blow up. */
struct jb_ctx { size_t budget; };
static nb_status jb_value(struct jb_ctx *cx, uint8_t type, const uint8_t *p, size_t n, int depth, struct nb_buf *out,
                          struct nb_error *err);

static bool jb_varlen(const uint8_t *p, size_t n, uint64_t *len, size_t *used)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 5 && i < n; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) { *len = v; *used = i + 1; return true; }
    }
    return false;
}

static bool jb_inlined(uint8_t t, bool large)
{
    return t == JB_LITERAL || t == JB_I16 || t == JB_U16 || (large && (t == JB_I32 || t == JB_U32));
}

static nb_status jb_container(struct jb_ctx *cx, const uint8_t *p, size_t n, bool large, bool object, int depth,
                              struct nb_buf *out, struct nb_error *err)
{
    size_t w = large ? 4 : 2;
    if (depth > 100) return nb_error_set(err, NB_ERR_LIMIT, "binary JSON nested too deeply");
    if (n < 2 * w) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: truncated container");
    struct my_rd r;
    my_rd_init(&r, p, n);
    uint64_t count = my_rd_le(&r, w), size = my_rd_le(&r, w);
    if (size > n) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: container size %llu beyond %zu bytes", (unsigned long long)size, n);
    size_t key_entry = w + 2, val_entry = 1 + w;
    if (count > n / (object ? key_entry + val_entry : val_entry))
        return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: %llu elements cannot fit", (unsigned long long)count);
    nb_buf_putc(out, object ? '{' : '[');
    size_t keys_at = 2 * w, vals_at = keys_at + (object ? (size_t)count * key_entry : 0);
    for (uint64_t i = 0; i < count; i++) {
        if (i) nb_buf_putc(out, ',');
        if (object) {
            struct my_rd k;
            my_rd_init(&k, p + keys_at + i * key_entry, key_entry);
            uint64_t ko = my_rd_le(&k, w), kl = my_rd_le(&k, 2);
            if (ko > size || kl > size - ko) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: key beyond its object");
            nb_buf_json_string(out, (const char *)p + ko, (size_t)kl);
            nb_buf_putc(out, ':');
        }
        const uint8_t *e = p + vals_at + i * val_entry;
        if (vals_at + (i + 1) * val_entry > size) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: truncated value entry");
        uint8_t t = e[0];
        nb_status s;
        if (jb_inlined(t, large)) s = jb_value(cx, t, e + 1, w, depth + 1, out, err);
        else {
            struct my_rd v;
            my_rd_init(&v, e + 1, w);
            uint64_t off = my_rd_le(&v, w);
            if (off >= size) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: value offset beyond its container");
            s = jb_value(cx, t, p + off, (size_t)(size - off), depth + 1, out, err);
        }
        if (s != NB_OK) return s;
    }
    nb_buf_putc(out, object ? '}' : ']');
    return NB_OK;
}

static nb_status jb_value(struct jb_ctx *cx, uint8_t type, const uint8_t *p, size_t n, int depth, struct nb_buf *out,
                          struct nb_error *err)
{
    char tmp[48];
    if (cx->budget == 0) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: more values than its bytes can hold");
    cx->budget--;
    struct my_rd r;
    my_rd_init(&r, p, n);
    switch (type) {
    case JB_SOBJ: case JB_LOBJ: return jb_container(cx, p, n, type == JB_LOBJ, true, depth, out, err);
    case JB_SARR: case JB_LARR: return jb_container(cx, p, n, type == JB_LARR, false, depth, out, err);
    case JB_LITERAL: {
        uint64_t v = my_rd_le(&r, 1);
        if (r.bad || v > 2) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: bad literal");
        nb_buf_puts(out, v == 0 ? "null" : v == 1 ? "true" : "false");
        return NB_OK;
    }
    case JB_I16: case JB_U16: case JB_I32: case JB_U32: case JB_I64: case JB_U64: {
        size_t w = type <= JB_U16 ? 2 : type <= JB_U32 ? 4 : 8;
        uint64_t v = my_rd_le(&r, w);
        if (r.bad) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: truncated integer");
        bool sgn = type == JB_I16 || type == JB_I32 || type == JB_I64;
        if (sgn) snprintf(tmp, sizeof tmp, "%lld", (long long)(w == 8 ? (int64_t)v : (int64_t)(v << (64 - 8 * w)) >> (64 - 8 * w)));
        else snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
        nb_buf_puts(out, tmp);
        return NB_OK;
    }
    case JB_DOUBLE: {
        uint64_t bits = my_rd_le(&r, 8);
        if (r.bad) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: truncated double");
        double d;
        memcpy(&d, &bits, 8);
        if (!isfinite(d)) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: non-finite double");
        put_float(out, d, false);
        return NB_OK;
    }
    case JB_STRING: {
        uint64_t len;
        size_t used;
        if (!jb_varlen(p, n, &len, &used) || len > n - used) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: bad string length");
        nb_buf_json_string(out, (const char *)p + used, (size_t)len);
        return NB_OK;
    }
    case JB_OPAQUE: {
        /* a MySQL type byte, a length, the value: decimals, dates, times as their text */
        if (n < 1) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: truncated opaque value");
        uint8_t ft = p[0];
        uint64_t len;
        size_t used;
        if (!jb_varlen(p + 1, n - 1, &len, &used) || len > n - 1 - used) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: bad opaque length");
        const uint8_t *v = p + 1 + used;
        struct nb_buf t;
        nb_buf_init(&t);
        nb_status s = NB_OK;
        if (ft == MY_T_NEWDECIMAL && len >= 2) {
            struct my_rd dr;
            my_rd_init(&dr, v + 2, (size_t)len - 2);
            s = decimal_text(&dr, v[0], v[1], &t, err);
            if (s == NB_OK) nb_buf_append(out, t.data, t.len);
        } else if ((ft == MY_T_DATE || ft == MY_T_DATETIME || ft == MY_T_TIMESTAMP || ft == MY_T_TIME) && len == 8) {
            /* packed 8-byte little-endian "longlong" time representation */
            uint64_t u = 0;
            for (int i = 0; i < 8; i++) u |= (uint64_t)v[i] << (8 * i);
            int64_t packed = (int64_t)u;
            bool neg = packed < 0;
            uint64_t a = (uint64_t)(neg ? -packed : packed);
            uint32_t usec = (uint32_t)(a % (1 << 24));
            uint64_t ymdhms = a >> 24;
            if (ft == MY_T_TIME) {
                snprintf(tmp, sizeof tmp, "%s%02u:%02u:%02u.%06u", neg ? "-" : "", (unsigned)((ymdhms >> 12) % 1024),
                         (unsigned)((ymdhms >> 6) % 64), (unsigned)(ymdhms % 64), usec);
            } else {
                uint64_t ymd = ymdhms >> 17, hms = ymdhms % (1 << 17), ym = ymd >> 5;
                if (ft == MY_T_DATE) snprintf(tmp, sizeof tmp, "%04u-%02u-%02u", (unsigned)(ym / 13), (unsigned)(ym % 13), (unsigned)(ymd % 32));
                else snprintf(tmp, sizeof tmp, "%04u-%02u-%02u %02u:%02u:%02u.%06u", (unsigned)(ym / 13), (unsigned)(ym % 13),
                              (unsigned)(ymd % 32), (unsigned)(hms >> 12), (unsigned)((hms >> 6) % 64), (unsigned)(hms % 64), usec);
            }
            nb_buf_json_string(out, tmp, strlen(tmp));
        } else {
            /* other opaque values (bit, blob, geometry): base64 like MySQL's JSON output */
            static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            nb_buf_puts(&t, "base64:type");
            nb_buf_printf(&t, "%u:", ft);
            for (size_t i = 0; i < len; i += 3) {
                uint32_t x = (uint32_t)v[i] << 16 | (i + 1 < len ? (uint32_t)v[i + 1] << 8 : 0) | (i + 2 < len ? v[i + 2] : 0);
                nb_buf_putc(&t, b64[x >> 18 & 63]);
                nb_buf_putc(&t, b64[x >> 12 & 63]);
                nb_buf_putc(&t, i + 1 < len ? b64[x >> 6 & 63] : '=');
                nb_buf_putc(&t, i + 2 < len ? b64[x & 63] : '=');
            }
            nb_buf_json_string(out, t.data, t.len);
        }
        nb_buf_cleanup(&t);
        return s;
    }
    default:
        return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: unknown value type %u", type);
    }
}

nb_status my_json_binary_to_text(const uint8_t *p, size_t n, struct nb_buf *out, struct nb_error *err)
{
    /* MariaDB sends JSON columns as text; text starts with a printable character, while binary
     * JSON starts with a type byte 0..15. */
    if (n > 0 && p[0] > 15) { nb_buf_append(out, p, n); return NB_OK; }
    if (n < 1) return nb_error_set(err, NB_ERR_PROTOCOL, "binary JSON: empty value");
    struct jb_ctx cx = {n};
    return jb_value(&cx, p[0], p + 1, n - 1, 0, out, err);
}
