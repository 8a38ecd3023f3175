/* The PostgreSQL type map (docs/connectors/postgres.md) and the value appender shared by COPY text
 * and pgoutput: values stay the exact text PostgreSQL's output functions wrote, with the few
 * rewrites our schema types need (bool t/f, bytea hex -> bytes, "+00" -> "+00:00"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/postgres/pg.h"
#include "core/str.h"

static struct pg_coltype ct(enum nb_type_id id, enum pg_kind kind)
{
    struct pg_coltype c = {nb_type_make(id), kind};
    return c;
}

struct pg_coltype pg_type_map(uint32_t oid, int32_t typmod)
{
    switch (oid) {
    case PG_OID_BOOL: return ct(NB_TYPE_BOOL, PG_K_BOOL);
    case PG_OID_INT2:
    case PG_OID_INT4: return ct(NB_TYPE_INT32, PG_K_INT);
    case PG_OID_INT8:
    case PG_OID_OID: return ct(NB_TYPE_INT64, PG_K_INT);
    case PG_OID_FLOAT4:
    case PG_OID_FLOAT8: return ct(NB_TYPE_FLOAT64, PG_K_FLOAT);
    case PG_OID_NUMERIC: {
        /* typmod = ((precision << 16) | (scale & 0x7ff)) + VARHDRSZ; -1 = unconstrained. PG 15
         * allows a negative scale and scale > precision: those stay exact strings. */
        if (typmod >= 4) {
            int32_t t = typmod - 4;
            int p = (t >> 16) & 0xffff;
            int s = ((t & 0x7ff) ^ 1024) - 1024;
            if (p >= 1 && p <= 76 && s >= 0 && s <= p) {
                struct pg_coltype c = ct(NB_TYPE_DECIMAL, PG_K_NUMERIC);
                c.type.precision = (uint8_t)p;
                c.type.scale = (uint8_t)s;
                return c;
            }
        }
        return ct(NB_TYPE_STRING, PG_K_TEXT);
    }
    case PG_OID_BYTEA: return ct(NB_TYPE_BINARY, PG_K_BYTEA);
    case PG_OID_DATE: return ct(NB_TYPE_DATE, PG_K_DATE);
    case PG_OID_TIME: return ct(NB_TYPE_TIME, PG_K_TIME);
    case PG_OID_TIMESTAMP: return ct(NB_TYPE_TIMESTAMP, PG_K_TIMESTAMP);
    case PG_OID_TIMESTAMPTZ: {
        struct pg_coltype c = ct(NB_TYPE_TIMESTAMP, PG_K_TIMESTAMPTZ);
        c.type.utc = true;
        return c;
    }
    case PG_OID_JSON:
    case PG_OID_JSONB: return ct(NB_TYPE_JSON, PG_K_JSON);
    default: return ct(NB_TYPE_STRING, PG_K_TEXT);   /* text, varchar, uuid, interval, inet, arrays... */
    }
}

const char *pg_sql_type(struct nb_type t, char *buf, size_t cap)
{
    switch (t.id) {
    case NB_TYPE_BOOL: return "boolean";
    case NB_TYPE_INT32: return "integer";
    case NB_TYPE_INT64: return "bigint";
    case NB_TYPE_FLOAT64: return "double precision";
    case NB_TYPE_DECIMAL: snprintf(buf, cap, "numeric(%u,%u)", t.precision, t.scale); return buf;
    case NB_TYPE_BINARY: return "bytea";
    case NB_TYPE_DATE: return "date";
    case NB_TYPE_TIME: return "time";
    case NB_TYPE_TIMESTAMP: return t.utc ? "timestamptz" : "timestamp";
    case NB_TYPE_JSON: return "json";   /* json keeps the text exactly; jsonb would normalise it */
    default: return "text";
    }
}

/* ---- domain resolution ----------------------------------------------------------------------- */
struct pg_typecache_entry {
    uint32_t oid;
    int32_t typmod;
    struct pg_coltype ct;
};
struct pg_typecache {
    struct pg_typecache_entry *e;
    size_t n, cap;
};

struct pg_typecache *pg_typecache_create(void) { return calloc(1, sizeof(struct pg_typecache)); }
void pg_typecache_destroy(struct pg_typecache *tc)
{
    if (!tc) return;
    free(tc->e);
    free(tc);
}

static bool builtin(uint32_t oid) { return oid < 10000; }

nb_status pg_typecache_resolve(struct pg_typecache *tc, PGconn *conn, uint32_t oid, int32_t typmod,
                               struct pg_coltype *out, struct nb_error *err)
{
    if (builtin(oid) || !conn || !tc) {
        *out = pg_type_map(oid, typmod);
        return NB_OK;
    }
    for (size_t i = 0; i < tc->n; i++)
        if (tc->e[i].oid == oid && tc->e[i].typmod == typmod) {
            *out = tc->e[i].ct;
            return NB_OK;
        }
    /* Follow domains down to their base type (a domain's typmod is its base's). */
    uint32_t cur = oid;
    int32_t mod = typmod;
    for (int depth = 0; depth < 16 && !builtin(cur); depth++) {
        char oid_s[16];
        snprintf(oid_s, sizeof oid_s, "%u", cur);
        const char *params[1] = {oid_s};
        PGresult *r;
        nb_status s = pg_query(conn, "SELECT typtype, typbasetype, typtypmod FROM pg_catalog.pg_type WHERE oid = $1",
                               1, params, &r, "looking up a column type", err);
        if (s != NB_OK) return s;
        if (PQntuples(r) != 1 || PQgetvalue(r, 0, 0)[0] != 'd') {
            PQclear(r);
            break;
        }
        cur = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
        mod = (int32_t)strtol(PQgetvalue(r, 0, 2), NULL, 10);
        PQclear(r);
    }
    *out = pg_type_map(cur, mod);
    if (tc->n == tc->cap) {
        size_t nc = tc->cap ? tc->cap * 2 : 16;
        struct pg_typecache_entry *ne = realloc(tc->e, nc * sizeof *ne);
        if (!ne) return NB_OK;   /* only the cache is lost */
        tc->e = ne;
        tc->cap = nc;
    }
    tc->e[tc->n].oid = oid;
    tc->e[tc->n].typmod = typmod;
    tc->e[tc->n].ct = *out;
    tc->n++;
    return NB_OK;
}

/* ---- values ---------------------------------------------------------------------------------- */

static bool is_special_number(const char *s, size_t n)
{
    return (n == 3 && !memcmp(s, "NaN", 3)) || (n == 8 && !memcmp(s, "Infinity", 8)) ||
           (n == 9 && !memcmp(s, "-Infinity", 9));
}

static bool is_infinity_or_bc(const char *s, size_t n)
{
    if ((n == 8 && !memcmp(s, "infinity", 8)) || (n == 9 && !memcmp(s, "-infinity", 9))) return true;
    return n >= 3 && !memcmp(s + n - 3, " BC", 3);
}

void pg_append_value(struct nb_column *c, enum pg_kind kind, const char *s, size_t n, struct nb_buf *scratch)
{
    switch (kind) {
    case PG_K_BOOL:
        if (n == 1 && s[0] == 't') nb_column_append_text(c, "true", 4);
        else if (n == 1 && s[0] == 'f') nb_column_append_text(c, "false", 5);
        else {
            nb_column_append_text(c, s, n);
            nb_column_mark_mismatch(c);
        }
        return;
    case PG_K_FLOAT:
    case PG_K_NUMERIC:
        nb_column_append_text(c, s, n);
        if (is_special_number(s, n)) nb_column_mark_mismatch(c);
        return;
    case PG_K_BYTEA:
        if (n >= 2 && s[0] == '\\' && s[1] == 'x' && n % 2 == 0) {
            nb_buf_reset(scratch);
            if (!nb_buf_reserve(scratch, n / 2)) {
                c->oom = true;
                return;
            }
            size_t o = 0;
            for (size_t i = 2; i + 1 < n; i += 2) {
                int hi = nb_hex_value(s[i]), lo = nb_hex_value(s[i + 1]);
                if (hi < 0 || lo < 0) goto bad_bytea;
                scratch->data[o++] = (char)(hi << 4 | lo);
            }
            nb_column_append_text(c, scratch->data, o);
            return;
        }
    bad_bytea:
        nb_column_append_text(c, s, n);
        nb_column_mark_mismatch(c);
        return;
    case PG_K_DATE:
    case PG_K_TIMESTAMP:
        nb_column_append_text(c, s, n);
        if (is_infinity_or_bc(s, n)) nb_column_mark_mismatch(c);
        return;
    case PG_K_TIMESTAMPTZ:
        if (is_infinity_or_bc(s, n)) {
            nb_column_append_text(c, s, n);
            nb_column_mark_mismatch(c);
            return;
        }
        /* ISO output ends in "+HH", "+HH:MM" or "+HH:MM:SS"; RFC 3339 wants +HH:MM. */
        if (n >= 3 && (s[n - 3] == '+' || s[n - 3] == '-') && s[n - 2] >= '0' && s[n - 2] <= '9' &&
            s[n - 1] >= '0' && s[n - 1] <= '9') {
            nb_buf_reset(scratch);
            nb_buf_append(scratch, s, n);
            nb_buf_append(scratch, ":00", 3);
            if (scratch->oom) {
                c->oom = true;
                return;
            }
            nb_column_append_text(c, scratch->data, scratch->len);
            return;
        }
        nb_column_append_text(c, s, n);
        if (n >= 9 && s[n - 3] == ':' && s[n - 6] == ':' && (s[n - 9] == '+' || s[n - 9] == '-'))
            nb_column_mark_mismatch(c);   /* a seconds offset (historic zones) has no RFC 3339 form */
        return;
    case PG_K_TIME:
        nb_column_append_text(c, s, n);
        if (n >= 2 && s[0] == '2' && s[1] == '4') nb_column_mark_mismatch(c);   /* 24:00:00 */
        return;
    default:
        nb_column_append_text(c, s, n);
        return;
    }
}

/* COPY text format: columns separated by tab, \N is null, backslash escapes \b \f \n \r \t \v \\,
 * \digits (octal, 1-3) and \xhh (1-2 hex digits); any other escaped character stands for itself. */
nb_status pg_copy_text_row(const char *data, size_t n, struct nb_column *cols, const enum pg_kind *kinds,
                           size_t ncols, struct nb_buf *scratch, struct nb_error *err)
{
    if (n && data[n - 1] == '\n') n--;
    size_t pos = 0;
    struct nb_buf *val = scratch;
    char stack[4096];   /* unescaped values up to this size need no allocation */
    for (size_t col = 0; col < ncols; col++) {
        if (pos > n) return nb_error_set(err, NB_ERR_PROTOCOL, "COPY row has %zu columns, expected %zu", col, ncols);
        size_t start = pos;
        bool escaped = false;
        while (pos < n && data[pos] != '\t') {
            if (data[pos] == '\\') {
                escaped = true;
                pos++;
            }
            pos++;
        }
        if (pos > n) pos = n;
        size_t end = pos;
        if (col + 1 < ncols && (end >= n || data[end] != '\t'))
            return nb_error_set(err, NB_ERR_PROTOCOL, "COPY row has %zu columns, expected %zu", col + 1, ncols);
        if (col + 1 == ncols && end != n)
            return nb_error_set(err, NB_ERR_PROTOCOL, "COPY row has more than %zu columns", ncols);
        pos = end + 1;
        const char *f = data + start;
        size_t flen = end - start;
        if (flen == 2 && f[0] == '\\' && f[1] == 'N') {
            nb_column_append_null(&cols[col]);
            continue;
        }
        if (!escaped) {
            if (kinds[col] == PG_K_TEXT || kinds[col] == PG_K_JSON || kinds[col] == PG_K_INT)
                nb_column_append_text(&cols[col], f, flen);
            else
                pg_append_value(&cols[col], kinds[col], f, flen, val);
            continue;
        }
        /* Unescape into a second buffer: pg_append_value may use `val` as scratch itself. */
        char *out = flen <= sizeof stack ? stack : malloc(flen);
        if (!out) return nb_error_set(err, NB_ERR_NOMEM, "out of memory unescaping a COPY value");
        size_t o = 0;
        for (size_t i = 0; i < flen; i++) {
            char ch = f[i];
            if (ch != '\\' || i + 1 >= flen) {
                out[o++] = ch;
                continue;
            }
            char e = f[++i];
            switch (e) {
            case 'b': out[o++] = '\b'; break;
            case 'f': out[o++] = '\f'; break;
            case 'n': out[o++] = '\n'; break;
            case 'r': out[o++] = '\r'; break;
            case 't': out[o++] = '\t'; break;
            case 'v': out[o++] = '\v'; break;
            case 'x': {
                int v = 0, k = 0;
                while (k < 2 && i + 1 < flen && nb_hex_value(f[i + 1]) >= 0) v = v * 16 + nb_hex_value(f[++i]), k++;
                if (k == 0) out[o++] = 'x';
                else out[o++] = (char)v;
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    int v = e - '0', k = 1;
                    while (k < 3 && i + 1 < flen && f[i + 1] >= '0' && f[i + 1] <= '7') v = v * 8 + (f[++i] - '0'), k++;
                    out[o++] = (char)v;
                } else {
                    out[o++] = e;
                }
            }
        }
        pg_append_value(&cols[col], kinds[col], out, o, val);
        if (out != stack) free(out);
    }
    return NB_OK;
}

void pg_append_snapshot_metadata(struct nb_column *meta, const char *lsn_text)
{
    nb_column_append_text(&meta[0], "read", 4);
    nb_column_append_text(&meta[1], lsn_text, strlen(lsn_text));
    nb_column_append_null(&meta[2]);
    nb_column_append_null(&meta[3]);
    nb_column_append_null(&meta[4]);
}
