/* A data page's values and definition levels -> the column's plain arrays (Parquet format spec,
 * "Encodings"): PLAIN, dictionary indices, RLE booleans, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 * DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT, every length checked against the page's bytes. */
#include <stdlib.h>
#include <string.h>

#include "formats/parquet/read_internal.h"

/* Days between the Julian day number epoch and 1970-01-01 (INT96 timestamps count Julian days). */
#define JULIAN_UNIX_EPOCH 2440588

size_t pq_phys_width(const struct pq_leaf *l)
{
    switch (l->phys) {
    case PQR_INT32:
    case PQR_FLOAT: return 4;
    case PQR_INT64:
    case PQR_DOUBLE: return 8;
    case PQR_INT96: return 12;
    case PQR_FLBA: return (size_t)l->type_length;
    default: return 0;
    }
}

/* A fixed-width PLAIN value of w bytes -> the 8-byte slot (INT96 -> nanoseconds since the epoch). */
static bool fixed_slot(const struct pq_leaf *l, const uint8_t *p, int64_t *out)
{
    switch (l->phys) {
    case PQR_INT32: *out = (int32_t)pq_le32(p); return true;
    case PQR_INT64: *out = (int64_t)pq_le64(p); return true;
    case PQR_FLOAT: {
        uint32_t u = pq_le32(p);
        float f;
        memcpy(&f, &u, 4);
        double d = f;
        memcpy(out, &d, 8);
        return true;
    }
    case PQR_DOUBLE: *out = (int64_t)pq_le64(p); return true;
    case PQR_INT96: {
        int64_t nanos = (int64_t)pq_le64(p);
        int64_t day = (int64_t)(int32_t)pq_le32(p + 8) - JULIAN_UNIX_EPOCH, t;
        if (__builtin_mul_overflow(day, (int64_t)86400000000000, &t) || __builtin_add_overflow(t, nanos, out)) return false;
        return true;
    }
    default: return false;
    }
}

/* n PLAIN values from p[0..len) into slots or byte ranges (relative to base). *used: bytes taken. */
nb_status pq_decode_plain(const struct pq_leaf *l, const uint8_t *p, size_t len, const uint8_t *base, size_t n,
                              int64_t *slots, struct pq_bv *bvs, size_t *used, struct nb_error *err)
{
    if (l->phys == PQR_BOOLEAN) {
        if (len < (n + 7) / 8) return nb_error_set(err, NB_ERR_INVALID, "PLAIN booleans beyond the page");
        for (size_t i = 0; i < n; i++) slots[i] = (p[i >> 3] >> (i & 7)) & 1;
        *used = (n + 7) / 8;
        return NB_OK;
    }
    if (l->phys == PQR_BYTE_ARRAY) {
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            if (len - pos < 4) return nb_error_set(err, NB_ERR_INVALID, "PLAIN byte array length beyond the page");
            uint32_t vl = pq_le32(p + pos);
            pos += 4;
            if (vl > len - pos) return nb_error_set(err, NB_ERR_INVALID, "PLAIN byte array of %u bytes beyond the page", vl);
            bvs[i].off = (uint32_t)(p + pos - base);
            bvs[i].len = vl;
            pos += vl;
        }
        *used = pos;
        return NB_OK;
    }
    size_t w = pq_phys_width(l);
    if (w == 0 || n > len / w) return nb_error_set(err, NB_ERR_INVALID, "PLAIN values beyond the page");
    if (l->phys == PQR_FLBA) {
        for (size_t i = 0; i < n; i++) {
            bvs[i].off = (uint32_t)(p + i * w - base);
            bvs[i].len = (uint32_t)w;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if (!fixed_slot(l, p + i * w, &slots[i]))
                return nb_error_set(err, NB_ERR_INVALID, "INT96 timestamp out of range");
    }
    *used = n * w;
    return NB_OK;
}

/* DELTA_BYTE_ARRAY: prefix lengths, suffix lengths, suffixes; values are rebuilt into c->mat. */
static nb_status decode_delta_strings(struct pq_col *c, const uint8_t *p, size_t len, size_t n, size_t *used,
                                      struct nb_error *err)
{
    size_t u1, u2;
    nb_status rc = pq_delta_decode(p, len, c->scratch, n, false, &u1, err);
    if (rc != NB_OK) return rc;
    rc = pq_delta_decode(p + u1, len - u1, c->slots, n, false, &u2, err);
    if (rc != NB_OK) return rc;
    size_t pos = u1 + u2;
    nb_buf_reset(&c->mat);
    /* Prefixes can make the values far larger than the page: bound the expansion. */
    size_t limit = ((size_t)64 << 20) + 8 * len;
    size_t prev_off = 0, prev_len = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t pl = c->scratch[i], sl = c->slots[i];
        if (pl < 0 || (uint64_t)pl > prev_len || sl < 0 || (uint64_t)sl > len - pos)
            return nb_error_set(err, NB_ERR_INVALID, "DELTA_BYTE_ARRAY lengths do not fit the page");
        size_t vlen = (size_t)pl + (size_t)sl;
        if (c->mat.len + vlen > limit) return nb_error_set(err, NB_ERR_UNSUPPORTED, "DELTA_BYTE_ARRAY page expands too much");
        if (!nb_buf_reserve(&c->mat, vlen + 1)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        size_t off = c->mat.len;
        if (pl) memmove(c->mat.data + off, c->mat.data + prev_off, (size_t)pl);
        if (sl) memcpy(c->mat.data + off + pl, p + pos, (size_t)sl);
        c->mat.len += vlen;
        pos += (size_t)sl;
        c->bvs[i].off = (uint32_t)off;
        c->bvs[i].len = (uint32_t)vlen;
        prev_off = off;
        prev_len = vlen;
    }
    if (c->leaf->phys == PQR_FLBA)
        for (size_t i = 0; i < n; i++)
            if (c->bvs[i].len != (uint32_t)c->leaf->type_length)
                return nb_error_set(err, NB_ERR_INVALID, "DELTA_BYTE_ARRAY value has another length than the column's");
    c->base = c->mat.data;
    *used = pos;
    return NB_OK;
}

/* The values section of a data page: nvals non-null values in encoding enc. */
nb_status pq_decode_values(struct pq_col *c, int32_t enc, const uint8_t *p, size_t len, struct nb_error *err)
{
    const struct pq_leaf *l = c->leaf;
    size_t n = c->nvals, used = 0;
    nb_status rc;
    c->base = c->page.data;
    switch (enc) {
    case PQR_ENC_PLAIN:
        return pq_decode_plain(l, p, len, (const uint8_t *)c->page.data, n, c->slots, c->bvs, &used, err);
    case PQR_ENC_PLAIN_DICTIONARY:
    case PQR_ENC_RLE_DICTIONARY: {
        if (!c->has_dict) return nb_error_set(err, NB_ERR_INVALID, "dictionary-encoded page without a dictionary");
        if (n == 0) return NB_OK;
        if (len < 1) return nb_error_set(err, NB_ERR_INVALID, "dictionary indices missing");
        if ((rc = pq_rle_decode(p + 1, len - 1, p[0], c->idx, n, &used, err)) != NB_OK) return rc;
        for (size_t i = 0; i < n; i++)
            if (c->idx[i] >= c->dict_n)
                return nb_error_set(err, NB_ERR_INVALID, "dictionary index %u beyond the %u entries", c->idx[i], c->dict_n);
        if (pq_is_bytes(l)) {
            for (size_t i = 0; i < n; i++) c->bvs[i] = c->dict_bv[c->idx[i]];
            c->base = c->dict.data;
        } else {
            for (size_t i = 0; i < n; i++) c->slots[i] = c->dict_slots[c->idx[i]];
        }
        return NB_OK;
    }
    case PQR_ENC_RLE:
        if (l->phys != PQR_BOOLEAN) return nb_error_set(err, NB_ERR_UNSUPPORTED, "RLE values for a non-boolean column");
        if (len < 4 || pq_le32(p) > len - 4) return nb_error_set(err, NB_ERR_INVALID, "RLE booleans' length beyond the page");
        if ((rc = pq_rle_decode(p + 4, pq_le32(p), 1, c->idx, n, &used, err)) != NB_OK) return rc;
        for (size_t i = 0; i < n; i++) c->slots[i] = c->idx[i];
        return NB_OK;
    case PQR_ENC_DELTA_BINARY_PACKED:
        if (l->phys != PQR_INT32 && l->phys != PQR_INT64)
            return nb_error_set(err, NB_ERR_INVALID, "DELTA_BINARY_PACKED for a column that is not INT32/INT64");
        return pq_delta_decode(p, len, c->slots, n, l->phys == PQR_INT32, &used, err);
    case PQR_ENC_DELTA_LENGTH_BYTE_ARRAY: {
        if (l->phys != PQR_BYTE_ARRAY) return nb_error_set(err, NB_ERR_INVALID, "DELTA_LENGTH_BYTE_ARRAY for a non byte array");
        if ((rc = pq_delta_decode(p, len, c->scratch, n, false, &used, err)) != NB_OK) return rc;
        size_t pos = used;
        for (size_t i = 0; i < n; i++) {
            int64_t vl = c->scratch[i];
            if (vl < 0 || (uint64_t)vl > len - pos)
                return nb_error_set(err, NB_ERR_INVALID, "DELTA_LENGTH_BYTE_ARRAY length beyond the page");
            c->bvs[i].off = (uint32_t)(p + pos - (const uint8_t *)c->page.data);
            c->bvs[i].len = (uint32_t)vl;
            pos += (size_t)vl;
        }
        return NB_OK;
    }
    case PQR_ENC_DELTA_BYTE_ARRAY:
        if (!pq_is_bytes(l)) return nb_error_set(err, NB_ERR_INVALID, "DELTA_BYTE_ARRAY for a column that is not a byte array");
        return decode_delta_strings(c, p, len, n, &used, err);
    case PQR_ENC_BYTE_STREAM_SPLIT: {
        size_t w = pq_phys_width(l);
        if (w == 0 || l->phys == PQR_INT96) return nb_error_set(err, NB_ERR_INVALID, "BYTE_STREAM_SPLIT for this type");
        if (n && (len / w < n)) return nb_error_set(err, NB_ERR_INVALID, "BYTE_STREAM_SPLIT values beyond the page");
        if (l->phys == PQR_FLBA) {
            /* Re-interleave into the page's scratch so values are contiguous. */
            nb_buf_reset(&c->mat);
            if (!nb_buf_reserve(&c->mat, n * w + 1)) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < w; j++) c->mat.data[i * w + j] = (char)p[j * n + i];
            for (size_t i = 0; i < n; i++) c->bvs[i] = (struct pq_bv){(uint32_t)(i * w), (uint32_t)w};
            c->base = c->mat.data;
            return NB_OK;
        }
        for (size_t i = 0; i < n; i++) {
            uint8_t v[8];
            for (size_t j = 0; j < w; j++) v[j] = p[j * n + i];
            fixed_slot(l, v, &c->slots[i]);
        }
        return NB_OK;
    }
    default:
        return nb_error_set(err, NB_ERR_UNSUPPORTED, "encoding %d is not supported", (int)enc);
    }
}

/* Definition levels of a flat optional column: 0 null, 1 present. */
nb_status pq_decode_defs(struct pq_col *c, const uint8_t *p, size_t len, size_t n, struct nb_error *err)
{
    size_t used;
    nb_status rc = pq_rle_decode(p, len, 1, c->idx, n, &used, err);
    if (rc != NB_OK) return rc;
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        c->defs[i] = (uint8_t)c->idx[i];
        nv += c->idx[i];
    }
    c->nvals = (uint32_t)nv;
    c->all_valid = nv == n;
    return NB_OK;
}

