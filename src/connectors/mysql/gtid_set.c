/* MySQL GTID sets ("uuid:1-5:7,uuid2:1-3"): parsed from text, grown one transaction at a time
 * while streaming, written back as text for the saved position, and encoded in the binary form
 * that PREVIOUS_GTIDS events carry and COM_BINLOG_DUMP_GTID sends (Connector/C has no call for
 * that command, so the request is built here from the documented layout). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/mysql/mysql_int.h"
#include "core/str.h"

void my_gtid_set_init(struct my_gtid_set *s) { memset(s, 0, sizeof *s); }

void my_gtid_set_cleanup(struct my_gtid_set *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->sids[i].iv);
    free(s->sids);
    memset(s, 0, sizeof *s);
}

static struct my_gtid_sid *find_sid(struct my_gtid_set *s, const uint8_t sid[16], bool add)
{
    for (size_t i = 0; i < s->n; i++)
        if (!memcmp(s->sids[i].sid, sid, 16)) return &s->sids[i];
    if (!add) return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        struct my_gtid_sid *p = realloc(s->sids, cap * sizeof *p);
        if (!p) return NULL;
        s->sids = p;
        s->cap = cap;
    }
    struct my_gtid_sid *e = &s->sids[s->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->sid, sid, 16);
    return e;
}

/* Add [start, end) to a SID's sorted, disjoint interval list, merging what touches it. */
static bool add_interval(struct my_gtid_sid *e, uint64_t start, uint64_t end)
{
    size_t i = 0;
    while (i < e->n && e->iv[i].end < start) i++;
    if (i < e->n && e->iv[i].start <= end) {
        /* overlaps or touches e->iv[i]: widen it, then swallow the ones it now reaches */
        if (start < e->iv[i].start) e->iv[i].start = start;
        if (end > e->iv[i].end) e->iv[i].end = end;
        size_t k = i + 1;
        while (k < e->n && e->iv[k].start <= e->iv[i].end) {
            if (e->iv[k].end > e->iv[i].end) e->iv[i].end = e->iv[k].end;
            k++;
        }
        memmove(&e->iv[i + 1], &e->iv[k], (e->n - k) * sizeof *e->iv);
        e->n -= k - i - 1;
        return true;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        struct my_gtid_iv *p = realloc(e->iv, cap * sizeof *p);
        if (!p) return false;
        e->iv = p;
        e->cap = cap;
    }
    memmove(&e->iv[i + 1], &e->iv[i], (e->n - i) * sizeof *e->iv);
    e->iv[i] = (struct my_gtid_iv){start, end};
    e->n++;
    return true;
}

nb_status my_gtid_set_add(struct my_gtid_set *s, const uint8_t sid[16], uint64_t gno, struct nb_error *err)
{
    struct my_gtid_sid *e = find_sid(s, sid, true);
    if (gno == 0 || gno == UINT64_MAX) return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: GTID number %llu is out of range",
                                                           (unsigned long long)gno);
    if (!e || !add_interval(e, gno, gno + 1)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    return NB_OK;
}


/* 32 hex digits with optional dashes. */
static const char *parse_uuid(const char *p, uint8_t sid[16])
{
    for (int i = 0; i < 16; i++) {
        while (*p == '-') p++;
        int a = nb_hex_value(p[0]), b = a < 0 ? -1 : nb_hex_value(p[1]);
        if (a < 0 || b < 0) return NULL;
        sid[i] = (uint8_t)(a << 4 | b);
        p += 2;
    }
    return p;
}

static const char *parse_u64(const char *p, uint64_t *v)
{
    if (*p < '0' || *p > '9') return NULL;
    uint64_t x = 0;
    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p++ - '0');
        if (x > (UINT64_MAX - d) / 10) return NULL;
        x = x * 10 + d;
    }
    *v = x;
    return p;
}

nb_status my_gtid_set_parse(struct my_gtid_set *s, const char *text, struct nb_error *err)
{
    const char *p = text;
    while (*p == ' ' || *p == '\n') p++;
    while (*p) {
        uint8_t sid[16];
        const char *q = parse_uuid(p, sid);
        if (!q || *q != ':') goto bad;
        p = q;
        struct my_gtid_sid *e = find_sid(s, sid, true);
        if (!e) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        while (*p == ':') {
            uint64_t a, b;
            if (!(p = parse_u64(p + 1, &a))) goto bad;
            b = a;
            if (*p == '-' && !(p = parse_u64(p + 1, &b))) goto bad;
            if (a == 0 || b < a || b == UINT64_MAX) goto bad;
            if (!add_interval(e, a, b + 1)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        }
        while (*p == ' ' || *p == '\n') p++;
        if (*p == ',') p++;
        else if (*p) goto bad;
        while (*p == ' ' || *p == '\n') p++;
    }
    return NB_OK;
bad:
    return nb_error_set(err, NB_ERR_INVALID, "mysql: not a MySQL GTID set at offset %zu: %.120s", (size_t)(p - text), text);
}

void my_gtid_set_text(const struct my_gtid_set *s, struct nb_buf *out)
{
    bool first = true;
    for (size_t i = 0; i < s->n; i++) {
        const struct my_gtid_sid *e = &s->sids[i];
        if (!e->n) continue;
        const uint8_t *u = e->sid;
        nb_buf_printf(out, "%s%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", first ? "" : ",", u[0],
                      u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
        first = false;
        for (size_t k = 0; k < e->n; k++) {
            if (e->iv[k].end - 1 == e->iv[k].start) nb_buf_printf(out, ":%llu", (unsigned long long)e->iv[k].start);
            else nb_buf_printf(out, ":%llu-%llu", (unsigned long long)e->iv[k].start, (unsigned long long)(e->iv[k].end - 1));
        }
    }
}

static void put_le(struct nb_buf *out, uint64_t v, int n)
{
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    nb_buf_append(out, b, (size_t)n);
}

/* n_sids (8), then per SID: the 16 bytes, n_intervals (8), each [start, end) as 8 + 8 bytes.
 * (Some copies of the protocol documentation show n_sids as 4 bytes; the server and the
 * PREVIOUS_GTIDS event use 8.) */
void my_gtid_set_encode(const struct my_gtid_set *s, struct nb_buf *out)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) n += s->sids[i].n != 0;
    put_le(out, n, 8);
    for (size_t i = 0; i < s->n; i++) {
        const struct my_gtid_sid *e = &s->sids[i];
        if (!e->n) continue;
        nb_buf_append(out, e->sid, 16);
        put_le(out, e->n, 8);
        for (size_t k = 0; k < e->n; k++) {
            put_le(out, e->iv[k].start, 8);
            put_le(out, e->iv[k].end, 8);
        }
    }
}

nb_status my_gtid_set_decode(struct my_gtid_set *s, const uint8_t *p, size_t n, struct nb_error *err)
{
    struct my_rd r;
    my_rd_init(&r, p, n);
    uint64_t n_sids = my_rd_le(&r, 8);
    if (r.bad || n_sids > my_rd_left(&r) / 24) goto bad;
    for (uint64_t i = 0; i < n_sids; i++) {
        const uint8_t *sid = my_rd_take(&r, 16);
        uint64_t n_iv = my_rd_le(&r, 8);
        if (!sid || r.bad || n_iv > my_rd_left(&r) / 16) goto bad;
        struct my_gtid_sid *e = find_sid(s, sid, true);
        if (!e) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        for (uint64_t k = 0; k < n_iv; k++) {
            uint64_t a = my_rd_le(&r, 8), b = my_rd_le(&r, 8);
            if (a == 0 || b <= a) goto bad;
            if (!add_interval(e, a, b)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        }
    }
    if (r.bad) goto bad;
    return NB_OK;
bad:
    return nb_error_set(err, NB_ERR_PROTOCOL, "binlog: bad encoded GTID set at byte %zu of %zu", r.off, n);
}

void my_dump_gtid_request(uint32_t server_id, const char *file, uint64_t pos, const struct my_gtid_set *s,
                          struct nb_buf *out)
{
    size_t flen = file ? strlen(file) : 0;
    put_le(out, MY_DUMP_THROUGH_GTID, 2);
    put_le(out, server_id, 4);
    put_le(out, flen, 4);
    if (flen) nb_buf_append(out, file, flen);
    put_le(out, pos, 8);
    size_t at = out->len;
    put_le(out, 0, 4);                  /* data size, filled below */
    my_gtid_set_encode(s, out);
    if (nb_buf_status(out, NULL) != NB_OK) return;
    uint64_t dlen = out->len - at - 4;
    for (int i = 0; i < 4; i++) ((uint8_t *)out->data)[at + (size_t)i] = (uint8_t)(dlen >> (8 * i));
}
