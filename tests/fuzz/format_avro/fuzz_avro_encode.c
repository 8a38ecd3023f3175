/* Fuzz the Avro writer with hostile text values: the input's first byte picks codec, block size and
 * whether columns are nullable; the rest is split on '\n' into cells of a row-major table over every
 * type (an empty cell is null; the null-typed column is always null and takes no cell). Any value
 * must either encode into a well-formed container (magic, header, blocks whose counts add up, sync
 * markers) or fail with NB_ERR_INVALID and a message; never crash, hang or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/avro/avro_internal.h"
#include "formats/format.h"

static const struct nb_type types[] = {
    {NB_TYPE_INT64, 0, 0, false},   {NB_TYPE_BOOL, 0, 0, false},     {NB_TYPE_INT32, 0, 0, false},
    {NB_TYPE_FLOAT64, 0, 0, false}, {NB_TYPE_DECIMAL, 9, 3, false},  {NB_TYPE_DECIMAL, 70, 20, false},
    {NB_TYPE_STRING, 0, 0, false},  {NB_TYPE_BINARY, 0, 0, false},   {NB_TYPE_DATE, 0, 0, false},
    {NB_TYPE_TIME, 0, 0, false},    {NB_TYPE_TIMESTAMP, 0, 0, true}, {NB_TYPE_TIMESTAMP, 0, 0, false},
    {NB_TYPE_JSON, 0, 0, false},    {NB_TYPE_NULL, 0, 0, false},
};
#define NT (sizeof types / sizeof types[0])

static int64_t rd_long(const uint8_t *p, size_t n, size_t *i, int *bad)
{
    uint64_t v = 0;
    for (int sh = 0; sh < 70; sh += 7) {
        if (*i >= n) break;
        uint8_t c = p[(*i)++];
        v |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80)) return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    }
    *bad = 1;
    return 0;
}

static void check_container(const uint8_t *p, size_t n, uint64_t want_rows)
{
    size_t i = 4;
    int bad = 0;
    if (n < 4 || memcmp(p, "Obj\x01", 4) != 0) abort();
    for (;;) {
        int64_t cnt = rd_long(p, n, &i, &bad);
        if (bad || cnt < 0) abort();
        if (cnt == 0) break;
        for (int64_t k = 0; k < 2 * cnt; k++) {
            int64_t l = rd_long(p, n, &i, &bad);
            if (bad || l < 0 || (uint64_t)l > n - i) abort();
            i += (size_t)l;
        }
    }
    if (n - i < 16) abort();
    const uint8_t *sync = p + i;
    i += 16;
    uint64_t rows = 0;
    while (i < n) {
        int64_t cnt = rd_long(p, n, &i, &bad), size = rd_long(p, n, &i, &bad);
        if (bad || cnt <= 0 || size < 0 || (uint64_t)size > n - i || n - i - (size_t)size < 16) abort();
        i += (size_t)size;
        if (memcmp(p + i, sync, 16) != 0) abort();
        i += 16;
        rows += (uint64_t)cnt;
    }
    if (rows != want_rows) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    uint8_t ctl = data[0];
    struct nb_avro_options o = {(enum nb_avro_codec)(ctl & 3), 0, (size_t)1 << ((ctl >> 2) & 15), 0};
    bool nullable = (ctl & 0x40) != 0;
    struct nb_schema *s = nb_schema_create();
    for (size_t c = 0; c < NT; c++) {
        char name[16];
        name[0] = (char)('a' + c);
        name[1] = '\0';
        nb_schema_add(s, name, types[c], nullable || types[c].id == NB_TYPE_NULL);
    }
    struct nb_batch *b = nb_batch_create(s, 16);
    b->stream = "fuzz";
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    size_t cell = 0;
    while (p <= end && cell < NT * 64) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (types[cell % NT].id == NB_TYPE_NULL) { /* holds no value: always null, consumes no cell */
            nb_column_append_null(&b->cols[cell++ % NT]);
            continue;
        }
        struct nb_column *c = &b->cols[cell % NT];
        if (len == 0) nb_column_append_null(c);
        else nb_column_append_text(c, p, len);
        cell++;
        if (!nl) break;
        p = nl + 1;
    }
    /* Complete the last row with nulls. */
    while (cell % NT) nb_column_append_null(&b->cols[cell++ % NT]);
    b->n_rows = cell / NT;

    struct nb_buf out, enc;
    nb_buf_init(&out);
    nb_buf_init(&enc);
    struct nb_ostream *os = nb_buf_ostream_create(&out);
    void *w = NULL;
    struct nb_error err = {0};
    nb_status st = nb_format_avro.writer_open(&w, &o, os, s, NULL, &err);
    if (st == NB_OK) st = nb_format_avro.encode(&o, b, &enc, &err);
    if (st == NB_OK) st = nb_format_avro.writer_write(w, b, &enc, &err);
    if (st == NB_OK) st = nb_format_avro.writer_finish(w, &err);
    if (st == NB_OK) check_container((const uint8_t *)out.data, out.len, b->n_rows);
    else if (st != NB_ERR_INVALID || !err.message[0]) abort();
    nb_format_avro.writer_destroy(w);
    nb_ostream_destroy(os);
    nb_buf_cleanup(&out);
    nb_buf_cleanup(&enc);
    nb_batch_destroy(b);
    nb_schema_release(s);
    return 0;
}
