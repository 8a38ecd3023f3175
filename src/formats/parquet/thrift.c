/* Thrift compact protocol, the writing half (thrift's compact protocol spec): field headers with
 * id deltas, zigzag varints, list headers. Only what Parquet metadata needs. */
#include <string.h>

#include "formats/parquet/parquet.h"

void pq_thrift_init(struct pq_thrift *t, struct nb_buf *out)
{
    t->out = out;
    t->depth = -1;
}

void pq_varint(struct nb_buf *out, uint64_t v)
{
    char tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (char)((v & 0x7f) | 0x80);
        v >>= 7;
    }
    tmp[n++] = (char)v;
    pq_buf_add(out, tmp, n);
}

static uint64_t zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static uint32_t zigzag32(int32_t v) { return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31); }

void pq_thrift_begin(struct pq_thrift *t)
{
    /* Deeper nesting than Parquet's metadata needs would be a bug here, not bad input. */
    if (t->depth + 1 >= PQ_THRIFT_MAX_DEPTH) { t->out->oom = true; return; }
    t->last[++t->depth] = 0;
}

void pq_thrift_end(struct pq_thrift *t)
{
    nb_buf_putc(t->out, 0);
    if (t->depth >= 0) t->depth--;
}

static void field_header(struct pq_thrift *t, int16_t id, unsigned type)
{
    int16_t *last = &t->last[t->depth < 0 ? 0 : t->depth];
    int delta = (int)id - (int)*last;
    if (delta > 0 && delta <= 15) {
        nb_buf_putc(t->out, (char)((delta << 4) | (int)type));
    } else {
        nb_buf_putc(t->out, (char)type);
        pq_varint(t->out, zigzag32(id));
    }
    *last = id;
}

void pq_thrift_i32(struct pq_thrift *t, int16_t id, int32_t v)
{
    field_header(t, id, PQ_T_I32);
    pq_varint(t->out, zigzag32(v));
}

void pq_thrift_i64(struct pq_thrift *t, int16_t id, int64_t v)
{
    field_header(t, id, PQ_T_I64);
    pq_varint(t->out, zigzag64(v));
}

void pq_thrift_bool(struct pq_thrift *t, int16_t id, bool v)
{
    field_header(t, id, v ? PQ_T_BOOL_TRUE : PQ_T_BOOL_FALSE);
}

void pq_thrift_double(struct pq_thrift *t, int16_t id, double v)
{
    field_header(t, id, PQ_T_DOUBLE);
    uint64_t bits;
    memcpy(&bits, &v, 8);
    char le[8];
    for (int i = 0; i < 8; i++) le[i] = (char)(bits >> (8 * i));
    pq_buf_add(t->out, le, 8);
}

void pq_thrift_binary(struct pq_thrift *t, int16_t id, const void *p, size_t n)
{
    field_header(t, id, PQ_T_BINARY);
    pq_thrift_elem_binary(t, p, n);
}

void pq_thrift_struct(struct pq_thrift *t, int16_t id)
{
    field_header(t, id, PQ_T_STRUCT);
    pq_thrift_begin(t);
}

void pq_thrift_list(struct pq_thrift *t, int16_t id, enum pq_ttype etype, size_t n)
{
    field_header(t, id, PQ_T_LIST);
    if (n < 15) {
        nb_buf_putc(t->out, (char)((n << 4) | (unsigned)etype));
    } else {
        nb_buf_putc(t->out, (char)(0xf0 | (unsigned)etype));
        pq_varint(t->out, n);
    }
}

void pq_thrift_elem_i32(struct pq_thrift *t, int32_t v) { pq_varint(t->out, zigzag32(v)); }
void pq_thrift_elem_i64(struct pq_thrift *t, int64_t v) { pq_varint(t->out, zigzag64(v)); }
/* Booleans inside containers are one byte: 1 true, 0 false (readers take anything but 1 as false). */
void pq_thrift_elem_bool(struct pq_thrift *t, bool v) { nb_buf_putc(t->out, v ? 1 : 0); }

void pq_thrift_elem_binary(struct pq_thrift *t, const void *p, size_t n)
{
    pq_varint(t->out, n);
    pq_buf_add(t->out, p, n);
}
