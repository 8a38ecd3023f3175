/* Fuzz the pgoutput decoder, the replication framing and the COPY text row parser: any bytes give
 * a status, never a crash, a read out of bounds or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/postgres/pg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pg_decoder *dec;
    if (!dec) dec = calloc(1, sizeof *dec);
    if (!dec) return 0;
    struct pg_msg m;
    /* Each input decoded both outside and inside a stream block (protocol version 2 puts an xid
     * after the type byte there), from a known state so a replayed corpus is deterministic. */
    for (int in_stream = 0; in_stream < 2; in_stream++) {
        dec->in_stream = in_stream;
        if (pg_decode(dec, data, size, &m, NULL) == NB_OK && m.type == PG_MSG_RELATION) pg_relation_cleanup(&m.rel);
    }
    dec->in_stream = false;
    struct pg_copy_msg cm;
    if (pg_parse_copy_msg(data, size, &cm, NULL) == NB_OK && cm.type == 'w') {
        if (pg_decode(dec, cm.data, cm.len, &m, NULL) == NB_OK && m.type == PG_MSG_RELATION) pg_relation_cleanup(&m.rel);
    }
    /* COPY text rows into a 3-column batch of mixed kinds. */
    struct nb_schema *s = nb_schema_create();
    if (!s) return 0;
    nb_schema_add(s, "a", nb_type_make(NB_TYPE_STRING), true);
    nb_schema_add(s, "b", nb_type_make(NB_TYPE_BINARY), true);
    struct nb_type ts = nb_type_make(NB_TYPE_TIMESTAMP);
    ts.utc = true;
    nb_schema_add(s, "c", ts, true);
    struct nb_batch *b = nb_batch_create(s, 4);
    enum pg_kind kinds[3] = {PG_K_TEXT, PG_K_BYTEA, PG_K_TIMESTAMPTZ};
    struct nb_buf scratch;
    nb_buf_init(&scratch);
    if (b && pg_copy_text_row((const char *)data, size, b->cols, kinds, 3, &scratch, NULL) == NB_OK) b->n_rows = 1;
    nb_buf_cleanup(&scratch);
    nb_batch_destroy(b);
    nb_schema_release(s);
    return 0;
}
