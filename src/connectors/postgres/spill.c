/* The changes of one streamed (large, still in progress) transaction, kept in an unlinked temp file
 * until its Stream Commit (replayed then, in order) or Stream Abort (dropped, whole or from a
 * subtransaction's first change on). RAM use stays one write buffer however large it grows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/postgres/pg.h"

struct pg_sub {
    uint32_t xid;
    long off;                  /* where its first change starts */
};

struct pg_spill {
    uint32_t xid;
    FILE *f;
    long end;                  /* bytes written (the logical end: later bytes were truncated away) */
    struct pg_sub *subs;
    size_t nsubs, capsubs;
    uint8_t *rec;              /* replay buffer */
    size_t reccap;
    bool replaying;
};

static nb_status io_error(struct pg_spill *sp, const char *what, struct nb_error *err)
{
    return nb_error_set(err, NB_ERR_IO, "postgres cdc: %s the spill file of streamed transaction %u failed: %s", what,
                        sp->xid, strerror(errno));
}

nb_status pg_spill_create(struct pg_spill **out, uint32_t xid, const char *dir, struct nb_error *err)
{
    *out = NULL;
    if (!dir || !*dir) dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/nebula-pgstream-%u-XXXXXX", dir, xid);
    if (n < 0 || (size_t)n >= sizeof path)
        return nb_error_set(err, NB_ERR_CONFIG, "postgres cdc: spill directory path is too long");
    struct pg_spill *sp = calloc(1, sizeof *sp);
    if (!sp) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
    sp->xid = xid;
    int fd = mkstemp(path);
    if (fd < 0) {
        nb_status st = nb_error_set(err, NB_ERR_IO, "postgres cdc: cannot create a spill file in %s for streamed transaction "
                                                    "%u: %s (set TMPDIR to a writable directory)", dir, xid, strerror(errno));
        free(sp);
        return st;
    }
    /* Unlinked at once: nothing is left behind by a crash or a kill -9. */
    unlink(path);
    sp->f = fdopen(fd, "w+b");
    if (!sp->f) {
        close(fd);
        free(sp);
        return nb_error_set(err, NB_ERR_IO, "postgres cdc: fdopen of a spill file failed: %s", strerror(errno));
    }
    *out = sp;
    return NB_OK;
}

uint32_t pg_spill_xid(const struct pg_spill *sp)
{
    return sp->xid;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static nb_status put_record(struct pg_spill *sp, uint32_t xid, const uint8_t *msg, size_t n, struct nb_error *err)
{
    uint8_t hdr[8];
    put32(hdr, (uint32_t)n);
    put32(hdr + 4, xid);
    if (fwrite(hdr, 1, 8, sp->f) != 8 || fwrite(msg, 1, n, sp->f) != n) return io_error(sp, "writing", err);
    sp->end += (long)(8 + n);
    return NB_OK;
}

nb_status pg_spill_add(struct pg_spill *sp, uint32_t subxid, const uint8_t *msg, size_t n, struct nb_error *err)
{
    if (sp->replaying) return nb_error_set(err, NB_ERR_INTERNAL, "postgres cdc: change added to a transaction being replayed");
    if (n > UINT32_MAX - 8)
        return nb_error_set(err, NB_ERR_PROTOCOL, "postgres cdc: a %zu-byte message is too large to spill", n);
    bool known = false;
    for (size_t i = 0; i < sp->nsubs && !known; i++) known = sp->subs[i].xid == subxid;
    if (!known) {
        if (sp->nsubs == sp->capsubs) {
            size_t nc = sp->capsubs ? sp->capsubs * 2 : 8;
            struct pg_sub *ns = realloc(sp->subs, nc * sizeof *ns);
            if (!ns) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
            sp->subs = ns;
            sp->capsubs = nc;
        }
        sp->subs[sp->nsubs].xid = subxid;
        sp->subs[sp->nsubs].off = sp->end;
        sp->nsubs++;
    }
    return put_record(sp, subxid, msg, n, err);
}

/* A subtransaction rolled back: drop its changes and those of every subtransaction that started
 * after it (they nest inside it or were recorded after its first change, as PostgreSQL's own apply
 * worker does). The top-level xid drops everything. A Relation message dropped with them is sent
 * again: pgoutput forgets what it sent in a streamed transaction at every Stream Abort. */
nb_status pg_spill_abort_sub(struct pg_spill *sp, uint32_t subxid, struct nb_error *err)
{
    long off = -1;
    size_t k = 0;
    for (; k < sp->nsubs; k++)
        if (sp->subs[k].xid == subxid) {
            off = sp->subs[k].off;
            break;
        }
    if (subxid == sp->xid) off = 0, k = 0;
    if (off < 0) return NB_OK;   /* it made no change we kept */
    if (fflush(sp->f) != 0 || ftruncate(fileno(sp->f), off) != 0 || fseek(sp->f, off, SEEK_SET) != 0)
        return io_error(sp, "truncating", err);
    sp->end = off;
    sp->nsubs = k;
    return NB_OK;
}

nb_status pg_spill_rewind(struct pg_spill *sp, struct nb_error *err)
{
    if (fflush(sp->f) != 0 || fseek(sp->f, 0, SEEK_SET) != 0) return io_error(sp, "rewinding", err);
    sp->replaying = true;
    return NB_OK;
}

nb_status pg_spill_next(struct pg_spill *sp, const uint8_t **msg, size_t *n, struct nb_error *err)
{
    if (ftell(sp->f) >= sp->end) return NB_DONE;
    uint8_t hdr[8];
    if (fread(hdr, 1, 8, sp->f) != 8) return io_error(sp, "reading", err);
    uint32_t len = get32(hdr);
    if (len > sp->reccap) {
        uint8_t *nr = realloc(sp->rec, len);
        if (!nr) return nb_error_set(err, NB_ERR_NOMEM, "postgres: out of memory");
        sp->rec = nr;
        sp->reccap = len;
    }
    if (len && fread(sp->rec, 1, len, sp->f) != len) return io_error(sp, "reading", err);
    *msg = sp->rec;
    *n = len;
    return NB_OK;
}

void pg_spill_destroy(struct pg_spill *sp)
{
    if (!sp) return;
    if (sp->f) fclose(sp->f);
    free(sp->subs);
    free(sp->rec);
    free(sp);
}
