/* Fuzz target for the JSON parser: whole and prefix parsing must agree, never crash or hang, and
 * whatever parses must survive nb_json_write -> parse -> write unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct nb_arena a;
    nb_arena_init(&a, 4096);
    struct nb_json *v = NULL;
    struct nb_error err;
    nb_status whole = nb_json_parse(s, size, &a, &v, &err);
    if (whole != NB_OK && whole != NB_ERR_INVALID) abort();
    if (whole == NB_OK) {
        struct nb_buf b1, b2;
        nb_buf_init(&b1);
        nb_buf_init(&b2);
        nb_json_write(&b1, v);
        struct nb_json *w = NULL;
        if (nb_json_parse(b1.data, b1.len, &a, &w, &err) != NB_OK) abort();
        nb_json_write(&b2, w);
        if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) abort();
        nb_buf_cleanup(&b1);
        nb_buf_cleanup(&b2);
    }
    size_t used = 0, off = 0;
    nb_status pre = nb_json_parse_prefix(s, size, &a, &v, &used, &err);
    if (pre == NB_OK && used > size) abort();
    /* A whole-text success means the prefix parser (at EOF) succeeds too. */
    nb_status eof = nb_json_parse_prefix_ex(s, size, true, &a, &v, &used, &off, &err);
    if (whole == NB_OK && eof != NB_OK) abort();
    if (eof == NB_AGAIN) abort();
    if (eof == NB_ERR_INVALID && off > size) abort();
    nb_arena_cleanup(&a);
    return 0;
}
