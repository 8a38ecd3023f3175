/* Thrift compact protocol, the reading half (thrift's compact protocol spec): field headers with id
 * deltas, zigzag varints, lists, and a generic skip so unknown fields of any shape are passed over.
 * Every length is checked against the bytes that are left; nesting is depth-limited. */
#include <string.h>

#include "formats/parquet/read_internal.h"

void pq_tread_init(struct pq_tread *t, const void *p, size_t n, uint64_t base, const char *name)
{
    memset(t, 0, sizeof *t);
    t->p = t->start = p;
    t->end = t->p + n;
    t->base = base;
    t->name = name;
    t->depth = -1;
}

uint64_t pq_tread_offset(const struct pq_tread *t) { return t->base + (uint64_t)(t->p - t->start); }

nb_status pq_tread_fail(const struct pq_tread *t, struct nb_error *err, const char *what)
{
    return nb_error_set(err, NB_ERR_INVALID, "%s: %s at offset %llu", t->name, what,
                        (unsigned long long)pq_tread_offset(t));
}

nb_status pq_tread_varint(struct pq_tread *t, uint64_t *v, struct nb_error *err)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (t->p >= t->end) return pq_tread_fail(t, err, "metadata ends inside a varint");
        uint8_t b = *t->p++;
        if (shift == 63 && (b & 0x7e)) return pq_tread_fail(t, err, "varint longer than 64 bits");
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return NB_OK;
        }
    }
    return pq_tread_fail(t, err, "varint longer than 10 bytes");
}

static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

nb_status pq_tread_struct_begin(struct pq_tread *t, struct nb_error *err)
{
    if (t->depth + 1 >= PQ_TREAD_MAX_DEPTH) return pq_tread_fail(t, err, "metadata nested too deeply");
    t->last[++t->depth] = 0;
    return NB_OK;
}

nb_status pq_tread_field(struct pq_tread *t, int16_t *id, uint8_t *type, struct nb_error *err)
{
    if (t->depth < 0) return pq_tread_fail(t, err, "field outside a struct");
    if (t->p >= t->end) return pq_tread_fail(t, err, "metadata ends inside a struct");
    uint8_t b = *t->p++;
    if (b == 0) {
        t->depth--;
        return NB_DONE;
    }
    uint8_t ty = b & 0x0f;
    int delta = b >> 4;
    int32_t fid;
    if (delta) {
        fid = t->last[t->depth] + delta;
    } else {
        uint64_t v;
        nb_status rc = pq_tread_varint(t, &v, err);
        if (rc != NB_OK) return rc;
        int64_t z = unzigzag(v);
        if (z < INT16_MIN || z > INT16_MAX) return pq_tread_fail(t, err, "field id out of range");
        fid = (int32_t)z;
    }
    if (fid < INT16_MIN || fid > INT16_MAX) return pq_tread_fail(t, err, "field id out of range");
    if (ty < PQ_T_BOOL_TRUE || ty > PQ_T_STRUCT) return pq_tread_fail(t, err, "unknown thrift field type");
    t->last[t->depth] = (int16_t)fid;
    t->bool_pending = ty == PQ_T_BOOL_TRUE || ty == PQ_T_BOOL_FALSE;
    t->bool_value = ty == PQ_T_BOOL_TRUE;
    *id = (int16_t)fid;
    *type = ty;
    return NB_OK;
}

nb_status pq_tread_i64(struct pq_tread *t, uint8_t type, int64_t *v, struct nb_error *err)
{
    if (type != PQ_T_I64 && type != PQ_T_I32 && type != PQ_T_I16 && type != PQ_T_BYTE)
        return pq_tread_fail(t, err, "integer field has another type");
    if (type == PQ_T_BYTE) {
        if (t->p >= t->end) return pq_tread_fail(t, err, "metadata ends inside a byte");
        *v = (int8_t)*t->p++;
        return NB_OK;
    }
    uint64_t u;
    nb_status rc = pq_tread_varint(t, &u, err);
    if (rc != NB_OK) return rc;
    *v = unzigzag(u);
    return NB_OK;
}

nb_status pq_tread_i32(struct pq_tread *t, uint8_t type, int32_t *v, struct nb_error *err)
{
    int64_t w = 0;
    nb_status rc = pq_tread_i64(t, type, &w, err);
    if (rc != NB_OK) return rc;
    if (w < INT32_MIN || w > INT32_MAX) return pq_tread_fail(t, err, "32-bit integer out of range");
    *v = (int32_t)w;
    return NB_OK;
}

nb_status pq_tread_bool(struct pq_tread *t, uint8_t type, bool *v, struct nb_error *err)
{
    if (type != PQ_T_BOOL_TRUE && type != PQ_T_BOOL_FALSE) return pq_tread_fail(t, err, "bool field has another type");
    if (t->bool_pending) {
        *v = t->bool_value;
        t->bool_pending = false;
        return NB_OK;
    }
    /* A bool list element is one byte. */
    if (t->p >= t->end) return pq_tread_fail(t, err, "metadata ends inside a bool");
    *v = *t->p++ == PQ_T_BOOL_TRUE;
    return NB_OK;
}

nb_status pq_tread_binary(struct pq_tread *t, uint8_t type, const uint8_t **p, size_t *n, struct nb_error *err)
{
    if (type != PQ_T_BINARY) return pq_tread_fail(t, err, "string field has another type");
    uint64_t len;
    nb_status rc = pq_tread_varint(t, &len, err);
    if (rc != NB_OK) return rc;
    if (len > (uint64_t)(t->end - t->p)) return pq_tread_fail(t, err, "string longer than the metadata");
    *p = t->p;
    *n = (size_t)len;
    t->p += len;
    return NB_OK;
}

nb_status pq_tread_list(struct pq_tread *t, uint8_t type, uint8_t *etype, size_t *count, struct nb_error *err)
{
    if (type != PQ_T_LIST && type != PQ_T_SET) return pq_tread_fail(t, err, "list field has another type");
    if (t->p >= t->end) return pq_tread_fail(t, err, "metadata ends inside a list header");
    uint8_t b = *t->p++;
    uint64_t n = b >> 4;
    if (n == 15) {
        nb_status rc = pq_tread_varint(t, &n, err);
        if (rc != NB_OK) return rc;
    }
    uint8_t ty = b & 0x0f;
    if (ty < PQ_T_BOOL_TRUE || ty > PQ_T_STRUCT) return pq_tread_fail(t, err, "unknown thrift list element type");
    /* Every element takes at least one byte: a count beyond what is left is a lie, and sizing
     * an allocation by it would let a few bytes ask for gigabytes. */
    if (n > (uint64_t)(t->end - t->p)) return pq_tread_fail(t, err, "list longer than the metadata");
    *etype = ty;
    *count = (size_t)n;
    t->bool_pending = false;
    return NB_OK;
}

nb_status pq_tread_skip(struct pq_tread *t, uint8_t type, struct nb_error *err)
{
    nb_status rc;
    switch (type) {
    case PQ_T_BOOL_TRUE:
    case PQ_T_BOOL_FALSE: {
        bool b;
        return pq_tread_bool(t, type, &b, err);
    }
    case PQ_T_BYTE:
    case PQ_T_I16:
    case PQ_T_I32:
    case PQ_T_I64: {
        int64_t v;
        return pq_tread_i64(t, type, &v, err);
    }
    case PQ_T_DOUBLE:
        if (t->end - t->p < 8) return pq_tread_fail(t, err, "metadata ends inside a double");
        t->p += 8;
        return NB_OK;
    case PQ_T_BINARY: {
        const uint8_t *p;
        size_t n;
        return pq_tread_binary(t, type, &p, &n, err);
    }
    case PQ_T_LIST:
    case PQ_T_SET: {
        uint8_t et;
        size_t n;
        if ((rc = pq_tread_list(t, type, &et, &n, err)) != NB_OK) return rc;
        if (t->depth + 1 >= PQ_TREAD_MAX_DEPTH) return pq_tread_fail(t, err, "metadata nested too deeply");
        t->depth++;   /* lists count toward the depth too */
        for (size_t i = 0; i < n; i++)
            if ((rc = pq_tread_skip(t, et, err)) != NB_OK) return rc;
        t->depth--;
        return NB_OK;
    }
    case PQ_T_MAP: {
        uint64_t n;
        if ((rc = pq_tread_varint(t, &n, err)) != NB_OK) return rc;
        if (n == 0) return NB_OK;
        if (n > (uint64_t)(t->end - t->p)) return pq_tread_fail(t, err, "map longer than the metadata");
        if (t->p >= t->end) return pq_tread_fail(t, err, "metadata ends inside a map header");
        uint8_t kv = *t->p++;
        uint8_t kt = kv >> 4, vt = kv & 0x0f;
        if (kt < PQ_T_BOOL_TRUE || kt > PQ_T_STRUCT || vt < PQ_T_BOOL_TRUE || vt > PQ_T_STRUCT)
            return pq_tread_fail(t, err, "unknown thrift map element type");
        if (t->depth + 1 >= PQ_TREAD_MAX_DEPTH) return pq_tread_fail(t, err, "metadata nested too deeply");
        t->depth++;
        for (uint64_t i = 0; i < n; i++) {
            t->bool_pending = false;
            if ((rc = pq_tread_skip(t, kt, err)) != NB_OK) return rc;
            t->bool_pending = false;
            if ((rc = pq_tread_skip(t, vt, err)) != NB_OK) return rc;
        }
        t->depth--;
        return NB_OK;
    }
    case PQ_T_STRUCT: {
        if ((rc = pq_tread_struct_begin(t, err)) != NB_OK) return rc;
        for (;;) {
            int16_t id;
            uint8_t ft;
            rc = pq_tread_field(t, &id, &ft, err);
            if (rc == NB_DONE) return NB_OK;
            if (rc != NB_OK) return rc;
            if ((rc = pq_tread_skip(t, ft, err)) != NB_OK) return rc;
        }
    }
    default:
        return pq_tread_fail(t, err, "unknown thrift type");
    }
}

nb_status pq_tread_struct(struct pq_tread *t, pq_tread_field_fn fn, void *ctx, struct nb_error *err)
{
    nb_status rc = pq_tread_struct_begin(t, err);
    if (rc != NB_OK) return rc;
    for (;;) {
        int16_t id;
        uint8_t ty;
        rc = pq_tread_field(t, &id, &ty, err);
        if (rc == NB_DONE) return NB_OK;
        if (rc != NB_OK) return rc;
        if ((rc = fn(t, ctx, id, ty, err)) != NB_OK) return rc;
    }
}
