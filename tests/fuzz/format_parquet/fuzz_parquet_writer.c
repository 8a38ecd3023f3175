/* Fuzz the Parquet writer with arbitrary text values: the first bytes choose a schema (types,
 * nullability) and writer options, the rest are cells separated by '\n' ("\x01" alone is null).
 * Any input must give NB_OK (a file that ends with its magic) or an error with a message, and the
 * same through the worker-side encoding (nb_parquet_encode) as through the writer alone. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "core/buf.h"
#include "formats/parquet/parquet.h"
#include "io/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6) return 0;
    static const struct nb_type types[] = {
        {NB_TYPE_BOOL, 0, 0, false},    {NB_TYPE_INT32, 0, 0, false},     {NB_TYPE_INT64, 0, 0, false},
        {NB_TYPE_FLOAT64, 0, 0, false}, {NB_TYPE_DECIMAL, 9, 2, false},   {NB_TYPE_DECIMAL, 18, 0, false},
        {NB_TYPE_DECIMAL, 38, 10, false}, {NB_TYPE_DECIMAL, 60, 5, false}, {NB_TYPE_STRING, 0, 0, false},
        {NB_TYPE_BINARY, 0, 0, false},  {NB_TYPE_DATE, 0, 0, false},      {NB_TYPE_TIME, 0, 0, false},
        {NB_TYPE_TIMESTAMP, 0, 0, true}, {NB_TYPE_JSON, 0, 0, false},      {NB_TYPE_NULL, 0, 0, false},
    };
    size_t ncols = 1 + data[0] % 4;
    struct nb_schema *s = nb_schema_create();
    for (size_t c = 0; c < ncols; c++) {
        char name[8] = {'c', (char)('0' + c), 0};
        nb_schema_add(s, name, types[data[1 + c] % (sizeof types / sizeof types[0])], (data[1 + c] & 0x80) != 0);
    }
    struct nb_parquet_options o;
    nb_parquet_options_default(&o);
    o.codec = (enum nb_parquet_codec[]){NB_PQ_UNCOMPRESSED, NB_PQ_SNAPPY, NB_PQ_GZIP, NB_PQ_ZSTD, NB_PQ_LZ4_RAW}[data[5] % 5];
    o.row_group_rows = 1 + data[5] / 5 % 7;
    o.page_rows = 1 + data[5] % 3;
    o.dictionary_page_size = data[5] & 1 ? 16 : 1 << 20;
    struct nb_batch *b = nb_batch_create(s, 16);
    const char *p = (const char *)data + 6, *end = (const char *)data + size;
    size_t col = 0;
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n == 1 && p[0] == '\x01') nb_column_append_null(&b->cols[col]);
        else nb_column_append_text(&b->cols[col], p, n);
        if (++col == ncols) {
            col = 0;
            b->n_rows++;
        }
        if (!nl) break;
        p = nl + 1;
    }
    if (col) nb_batch_truncate(b, b->n_rows);
    /* Once as the writer encodes batches itself, once from a worker's encoding (nb_parquet_encode)
     * with numeric columns flagged as plain numbers: the same bytes, or the same error. */
    struct nb_buf out[2], enc;
    nb_buf_init(&enc);
    nb_status sts[2];
    struct nb_error errs[2] = {{0}, {0}};
    for (int k = 0; k < 2; k++) {
        nb_buf_init(&out[k]);
        if (k == 1)
            for (size_t c = 0; c < ncols; c++)
                b->cols[c].plain_numbers = b->cols[c].type.id == NB_TYPE_INT64 || b->cols[c].type.id == NB_TYPE_FLOAT64;
        struct nb_ostream *os = nb_buf_ostream_create(&out[k]);
        struct nb_parquet_writer *w = NULL;
        struct nb_error *err = &errs[k];
        nb_status st = nb_parquet_writer_open(&w, &o, os, s, err);
        for (int rep = 0; rep < 2 && st == NB_OK; rep++) {
            if (k == 0) {
                st = nb_parquet_writer_write(w, b, err);
            } else {
                nb_status es = nb_parquet_encode(&o, b, &enc);
                if (es != NB_OK && es != NB_DONE) abort();
                st = nb_parquet_writer_write_encoded(w, b, es == NB_OK ? &enc : NULL, err);
            }
        }
        if (st == NB_OK) st = nb_parquet_writer_finish(w, err);
        if (st == NB_OK ? (out[k].len < 12 || memcmp(out[k].data + out[k].len - 4, "PAR1", 4) != 0) : err->message[0] == '\0')
            abort();
        sts[k] = st;
        nb_parquet_writer_destroy(w);
        nb_ostream_destroy(os);
    }
    if (sts[0] != sts[1] || strcmp(errs[0].message, errs[1].message) != 0) abort();
    if (sts[0] == NB_OK && (out[0].len != out[1].len || memcmp(out[0].data, out[1].data, out[0].len) != 0)) abort();
    nb_buf_cleanup(&out[0]);
    nb_buf_cleanup(&out[1]);
    nb_buf_cleanup(&enc);
    nb_batch_destroy(b);
    nb_schema_release(s);
    return 0;
}
