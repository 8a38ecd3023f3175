/* Fuzz target for the JSON format reader: inference and reading of any bytes, with records split
 * across reads at fuzzer-chosen sizes, small record limits and every new-key policy; must never
 * crash, hang or leak, and every batch must be well formed. The first byte picks the options. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch.h"
#include "formats/json/json_format.h"
#include "io/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct chunked {
    struct nb_istream base;
    const uint8_t *data;
    size_t len, pos, chunk;
};

static nb_status chunked_read(struct nb_istream *s, void *buf, size_t cap, size_t *n, struct nb_error *err)
{
    (void)err;
    struct chunked *c = (struct chunked *)s;
    size_t k = c->len - c->pos;
    if (k > cap) k = cap;
    if (k > c->chunk) k = c->chunk;
    if (k) memcpy(buf, c->data + c->pos, k);
    c->pos += k;
    *n = k;
    return k ? NB_OK : NB_DONE;
}

static void chunked_destroy(struct nb_istream *s) { (void)s; }
static const struct nb_istream_ops chunked_ops = {chunked_read, chunked_destroy};

static nb_status skip_all(struct nb_bad_record_sink *s, const struct nb_bad_record *rec, struct nb_error *err)
{
    (void)s;
    (void)err;
    if (!rec->location || !rec->reason) abort();
    return NB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    struct nb_bad_record_sink sink = {skip_all};
    struct nb_json_reader_options opt = {
        .name = "fuzz.json",
        .stream = "fuzz",
        .layout = (enum nb_json_layout)(sel % 3),
        .infer_rows = (sel >> 2) & 1 ? 1 : 0,
        .max_record_size = (sel >> 3) & 1 ? 64 : 0,
        .batch_size = (sel >> 4) & 1 ? 1 : 3,
        .on_new_key = (enum nb_json_new_key)(((sel >> 5) & 3) % 3),
        .bad = (sel >> 7) & 1 ? NULL : &sink,
    };
    struct chunked in = {{&chunked_ops, 0, 0}, data, size, 0, 1 + (size_t)(sel % 7)};
    struct nb_schema *schema = NULL;
    enum nb_json_layout layout;
    struct nb_error err;
    if (nb_json_infer(&in.base, &opt, &schema, &layout, &err) != NB_OK) return 0;
    in.pos = 0;
    struct nb_json_reader *r = NULL;
    if (nb_json_reader_create(&r, &in.base, schema, layout, &opt, &err) == NB_OK) {
        for (int guard = 0; guard < 100000; guard++) {
            struct nb_batch *b = NULL;
            nb_status st = nb_json_reader_next(r, &b, &err);
            if (st != NB_OK) break;
            if (nb_batch_check(b, &err) != NB_OK || !b->position) abort();
            for (size_t c = 0; c < b->schema->n_fields; c++)
                if (b->cols[c].len != b->n_rows) abort();
            nb_batch_destroy(b);
        }
        nb_json_reader_destroy(r);
    }
    nb_schema_release(schema);
    return 0;
}
