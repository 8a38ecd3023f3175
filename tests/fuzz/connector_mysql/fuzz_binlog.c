/* Fuzz target for the binlog decoder: the input is a sequence of events, each preceded by its
 * length (2 bytes, little-endian). Table maps are kept and row events decoded against them, as
 * the stream does; MySQL payloads, binary JSON and GTID set text go through their decoders too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/mysql/mysql_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nb_status ignore_row(void *ud, char kind, const struct my_image *b, const struct my_image *a, struct nb_error *err)
{
    (void)ud; (void)kind; (void)b; (void)a; (void)err;
    return NB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct my_decoder d;
    my_decoder_init(&d);
    struct my_table t;
    memset(&t, 0, sizeof t);
    nb_arena_init(&t.arena, 1024);
    bool have_map = false;
    struct my_image bi, ai;
    my_image_init(&bi);
    my_image_init(&ai);
    struct nb_buf scratch;
    nb_buf_init(&scratch);
    size_t off = 0;
    while (off + 2 <= size) {
        size_t n = (size_t)data[off] | (size_t)data[off + 1] << 8;
        off += 2;
        if (n > size - off) n = size - off;
        uint8_t *ev = malloc(n ? n : 1);
        memcpy(ev, data + off, n);
        off += n;
        struct my_event e;
        struct nb_error err;
        if (my_event_parse(&d, ev, n, &e, &err) == NB_OK) {
            struct my_rotate r;
            struct my_query q;
            struct my_gtid g;
            nb_buf_reset(&scratch);
            switch (e.type) {
            case MY_EV_ROTATE: my_parse_rotate(&e, &r, &err); break;
            case MY_EV_QUERY: my_parse_query(&e, &q, &err); break;
            case MY_EV_MARIA_GTID: case MY_EV_GTID: my_parse_gtid(&e, 1, &g, &err); break;
            case MY_EV_MARIA_GTID_LIST: case MY_EV_PREVIOUS_GTIDS: my_parse_gtid_list(&e, &scratch, &err); break;
            case MY_EV_TABLE_MAP: have_map = my_parse_table_map(&e, &t, &err) == NB_OK; break;
            case MY_EV_TRANSACTION_PAYLOAD: my_parse_payload(&e, &scratch, &err); break;
            case MY_EV_WRITE_ROWS_V1: case MY_EV_UPDATE_ROWS_V1: case MY_EV_DELETE_ROWS_V1:
            case MY_EV_WRITE_ROWS: case MY_EV_UPDATE_ROWS: case MY_EV_DELETE_ROWS: case MY_EV_PARTIAL_UPDATE_ROWS:
                if (have_map) my_parse_rows(&e, &t, &bi, &ai, ignore_row, NULL, &err);
                break;
            case 0xff: my_json_binary_to_text(e.body, e.body_len, &scratch, &err); break;
            case 0xfe: {
                /* a MySQL GTID set as text (a saved position) */
                struct my_gtid_set gs;
                my_gtid_set_init(&gs);
                nb_buf_append(&scratch, e.body, e.body_len);
                if (scratch.data && my_gtid_set_parse(&gs, scratch.data, &err) == NB_OK) {
                    nb_buf_reset(&scratch);
                    my_gtid_set_encode(&gs, &scratch);
                }
                my_gtid_set_cleanup(&gs);
                break;
            }
            default: break;
            }
        }
        free(ev);
    }
    nb_buf_cleanup(&scratch);
    my_image_cleanup(&bi);
    my_image_cleanup(&ai);
    nb_arena_cleanup(&t.arena);
    return 0;
}
