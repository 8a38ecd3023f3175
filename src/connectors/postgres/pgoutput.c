/* pgoutput (logical replication protocol versions 1 and 2: v2 adds the Stream Start/Stop/Commit/
 * Abort messages of large in-progress transactions and an xid in the messages of a stream block) and
 * the CopyBoth framing around it: XLogData
 * 'w', keepalive 'k' and the standby status update 'r' we send back. Every read is bounds-checked:
 * hostile or truncated bytes give NB_ERR_PROTOCOL naming the offset, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/postgres/pg.h"

struct rd {
    const uint8_t *p;
    size_t n, off;
    bool bad;
};

static bool need(struct rd *r, size_t k)
{
    if (r->bad || r->n - r->off < k) {
        r->bad = true;
        return false;
    }
    return true;
}
static uint8_t u8(struct rd *r)
{
    if (!need(r, 1)) return 0;
    return r->p[r->off++];
}
static uint16_t u16(struct rd *r)
{
    if (!need(r, 2)) return 0;
    uint16_t v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
    r->off += 2;
    return v;
}
static uint32_t u32(struct rd *r)
{
    if (!need(r, 4)) return 0;
    const uint8_t *p = r->p + r->off;
    r->off += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t u64(struct rd *r)
{
    uint64_t hi = u32(r);
    return hi << 32 | u32(r);
}
/* A NUL-terminated string inside the message; returns a pointer into it. */
static const char *cstr(struct rd *r)
{
    if (r->bad) return "";
    const uint8_t *z = memchr(r->p + r->off, 0, r->n - r->off);
    if (!z) {
        r->bad = true;
        return "";
    }
    const char *s = (const char *)(r->p + r->off);
    r->off = (size_t)(z - r->p) + 1;
    return s;
}

static nb_status tuple(struct rd *r, struct pg_tuple_col *cols, uint32_t *ncols)
{
    uint16_t n = u16(r);
    if (r->bad) return NB_ERR_PROTOCOL;
    if (n > PG_MAX_COLS) return NB_ERR_PROTOCOL;
    for (uint16_t i = 0; i < n; i++) {
        char k = (char)u8(r);
        cols[i].kind = k;
        cols[i].data = NULL;
        cols[i].len = 0;
        if (k == 't' || k == 'b') {
            uint32_t len = u32(r);
            if (!need(r, len)) return NB_ERR_PROTOCOL;
            cols[i].data = (const char *)(r->p + r->off);
            cols[i].len = len;
            r->off += len;
        } else if (k != 'n' && k != 'u') {
            return NB_ERR_PROTOCOL;
        }
        if (r->bad) return NB_ERR_PROTOCOL;
    }
    *ncols = n;
    return NB_OK;
}

void pg_relation_cleanup(struct pg_relation *rel)
{
    if (!rel) return;
    for (uint32_t i = 0; i < rel->ncols && rel->cols; i++) free(rel->cols[i].name);
    free(rel->cols);
    free(rel->nspname);
    free(rel->relname);
    memset(rel, 0, sizeof *rel);
}

static nb_status bad(struct rd *r, char type, struct nb_error *err)
{
    return nb_error_set(err, NB_ERR_PROTOCOL, "pgoutput: malformed '%c' message (%zu bytes, stopped at offset %zu)",
                        type >= 32 && type < 127 ? type : '?', r->n, r->off);
}

nb_status pg_decode(struct pg_decoder *d, const uint8_t *buf, size_t n, struct pg_msg *m, struct nb_error *err)
{
    struct rd r = {buf, n, 0, false};
    memset(m, 0, sizeof *m);
    if (n < 1) return nb_error_set(err, NB_ERR_PROTOCOL, "pgoutput: empty message");
    char t = (char)u8(&r);
    m->type = (enum pg_msg_type)t;
    m->old_cols = d->old_cols;
    m->new_cols = d->new_cols;
    if (d->in_stream && (t == 'R' || t == 'Y' || t == 'I' || t == 'U' || t == 'D' || t == 'T' || t == 'M')) {
        m->streamed = true;
        m->xid = u32(&r);
    }
    switch (t) {
    case 'S':
        if (d->in_stream) return nb_error_set(err, NB_ERR_PROTOCOL, "pgoutput: Stream Start inside a stream block");
        m->xid = u32(&r);
        m->first_segment = u8(&r) == 1;
        if (!r.bad) d->in_stream = true;
        break;
    case 'E':
        if (!d->in_stream) return nb_error_set(err, NB_ERR_PROTOCOL, "pgoutput: Stream Stop outside a stream block");
        d->in_stream = false;
        break;
    case 'c':
        m->xid = u32(&r);
        (void)u8(&r);   /* flags, unused */
        m->commit_lsn = u64(&r);
        m->end_lsn = u64(&r);
        m->commit_time = (int64_t)u64(&r);
        break;
    case 'A':
        /* proto_version 4 with streaming 'parallel' adds an abort LSN and time: not requested. */
        m->xid = u32(&r);
        m->subxid = u32(&r);
        break;
    case 'B':
        m->final_lsn = u64(&r);
        m->commit_time = (int64_t)u64(&r);
        m->xid = u32(&r);
        break;
    case 'C':
        (void)u8(&r);   /* flags, unused */
        m->commit_lsn = u64(&r);
        m->end_lsn = u64(&r);
        m->commit_time = (int64_t)u64(&r);
        break;
    case 'O':
        m->commit_lsn = u64(&r);
        (void)cstr(&r);
        break;
    case 'R': {
        m->rel.oid = u32(&r);
        const char *nsp = cstr(&r), *rel = cstr(&r);
        m->rel.replident = (char)u8(&r);
        uint16_t nc = u16(&r);
        if (r.bad || nc > PG_MAX_COLS) return bad(&r, t, err);
        m->rel.nspname = strdup(nsp);
        m->rel.relname = strdup(rel);
        m->rel.cols = calloc(nc ? nc : 1, sizeof *m->rel.cols);
        if (!m->rel.nspname || !m->rel.relname || !m->rel.cols) {
            pg_relation_cleanup(&m->rel);
            return nb_error_set(err, NB_ERR_NOMEM, "pgoutput: out of memory");
        }
        for (uint16_t i = 0; i < nc; i++) {
            uint8_t flags = u8(&r);
            const char *name = cstr(&r);
            uint32_t typ = u32(&r);
            int32_t mod = (int32_t)u32(&r);
            if (r.bad) {
                pg_relation_cleanup(&m->rel);
                return bad(&r, t, err);
            }
            m->rel.cols[i].name = strdup(name);
            m->rel.cols[i].type_oid = typ;
            m->rel.cols[i].typmod = mod;
            m->rel.cols[i].key = flags & 1;
            m->rel.ncols = i + 1u;
            if (!m->rel.cols[i].name) {
                pg_relation_cleanup(&m->rel);
                return nb_error_set(err, NB_ERR_NOMEM, "pgoutput: out of memory");
            }
        }
        m->rel.ncols = nc;
        break;
    }
    case 'Y':
        m->type_oid = u32(&r);
        m->type_nsp = cstr(&r);
        m->type_name = cstr(&r);
        break;
    case 'I':
        m->rel_oid = u32(&r);
        if (u8(&r) != 'N' || r.bad) return bad(&r, t, err);
        if (tuple(&r, d->new_cols, &m->n_new) != NB_OK) return bad(&r, t, err);
        break;
    case 'U': {
        m->rel_oid = u32(&r);
        char k = (char)u8(&r);
        if (k == 'K' || k == 'O') {
            m->old_kind = k;
            if (tuple(&r, d->old_cols, &m->n_old) != NB_OK) return bad(&r, t, err);
            k = (char)u8(&r);
        }
        if (k != 'N' || r.bad) return bad(&r, t, err);
        if (tuple(&r, d->new_cols, &m->n_new) != NB_OK) return bad(&r, t, err);
        break;
    }
    case 'D': {
        m->rel_oid = u32(&r);
        char k = (char)u8(&r);
        if ((k != 'K' && k != 'O') || r.bad) return bad(&r, t, err);
        m->old_kind = k;
        if (tuple(&r, d->old_cols, &m->n_old) != NB_OK) return bad(&r, t, err);
        break;
    }
    case 'T': {
        uint32_t nr = u32(&r);
        m->truncate_flags = u8(&r);
        if (r.bad || nr > (r.n - r.off) / 4) return bad(&r, t, err);
        if (nr > d->rel_oids_cap) {
            uint32_t *no = realloc(d->rel_oids, nr * sizeof *no);
            if (!no) return nb_error_set(err, NB_ERR_NOMEM, "pgoutput: out of memory");
            d->rel_oids = no;
            d->rel_oids_cap = nr;
        }
        for (uint32_t i = 0; i < nr; i++) d->rel_oids[i] = u32(&r);
        m->n_rels = nr;
        m->rel_oids = d->rel_oids;
        break;
    }
    case 'M': {
        uint8_t flags = u8(&r);
        (void)flags;
        (void)u64(&r);
        m->prefix = cstr(&r);
        m->content_len = u32(&r);
        if (!need(&r, m->content_len)) return bad(&r, t, err);
        r.off += m->content_len;
        break;
    }
    default:
        return nb_error_set(err, NB_ERR_PROTOCOL,
                            "pgoutput: unknown message type 0x%02x (protocol versions 1 and 2 are understood)", (unsigned)(uint8_t)t);
    }
    if (r.bad) {
        if (t == 'R') pg_relation_cleanup(&m->rel);
        return bad(&r, t, err);
    }
    return NB_OK;
}

nb_status pg_parse_copy_msg(const uint8_t *buf, size_t n, struct pg_copy_msg *m, struct nb_error *err)
{
    struct rd r = {buf, n, 0, false};
    memset(m, 0, sizeof *m);
    if (n < 1) return nb_error_set(err, NB_ERR_PROTOCOL, "replication stream: empty CopyData");
    m->type = (char)u8(&r);
    if (m->type == 'w') {
        m->wal_start = u64(&r);
        m->wal_end = u64(&r);
        m->server_time = (int64_t)u64(&r);
        if (r.bad) return nb_error_set(err, NB_ERR_PROTOCOL, "replication stream: XLogData shorter than its 25-byte header");
        m->data = buf + r.off;
        m->len = n - r.off;
        return NB_OK;
    }
    if (m->type == 'k') {
        m->wal_end = u64(&r);
        m->server_time = (int64_t)u64(&r);
        m->reply_requested = u8(&r) != 0;
        if (r.bad) return nb_error_set(err, NB_ERR_PROTOCOL, "replication stream: keepalive shorter than 18 bytes");
        return NB_OK;
    }
    return nb_error_set(err, NB_ERR_PROTOCOL, "replication stream: unexpected CopyData type 0x%02x",
                        (unsigned)(uint8_t)m->type);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

size_t pg_build_status(uint8_t out[34], uint64_t write_lsn, uint64_t flush_lsn, uint64_t apply_lsn, int64_t now_pg_us,
                       bool reply)
{
    out[0] = 'r';
    put64(out + 1, write_lsn);
    put64(out + 9, flush_lsn);
    put64(out + 17, apply_lsn);
    put64(out + 25, (uint64_t)now_pg_us);
    out[33] = reply ? 1 : 0;
    return 34;
}

/* 2000-01-01T00:00:00Z - 1970-01-01T00:00:00Z in microseconds. */
#define PG_EPOCH_OFFSET_US 946684800000000LL

int64_t pg_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - PG_EPOCH_OFFSET_US;
}

void pg_format_pgtime(int64_t pg_us, char *out, size_t cap)
{
    int64_t us = pg_us + PG_EPOCH_OFFSET_US;
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    time_t tt = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(out, cap, "%lld", (long long)pg_us);
        return;
    }
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
}
