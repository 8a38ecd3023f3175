/* Fuzz the CSV reader: the first byte picks dialect options, the rest is a file. The whole read
 * (preamble, header, inference, scan, decode) must never crash or hang, reading in small
 * chunks must give exactly what one big chunk gives, and the decoder's column-at-a-time path
 * exactly what its record walk gives (rows and bad records). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "formats/csv/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t bad_seen;

static nb_status skip_bad(struct nb_bad_record_sink *s, const struct nb_bad_record *r, struct nb_error *e)
{
    (void)s; (void)e;
    if (!r->location || !r->reason) __builtin_trap();
    bad_seen++;
    return NB_OK;
}

static void render(const struct nb_batch *b, struct nb_buf *out)
{
    for (size_t r = 0; r < b->n_rows; r++)
        for (size_t c = 0; c < b->schema->n_fields; c++) {
            const struct nb_column *col = &b->cols[c];
            if (nb_column_is_null(col, r)) { nb_buf_puts(out, "\x01N"); continue; }
            size_t len;
            const char *t = nb_column_text(col, r, &len);
            nb_buf_printf(out, "\x01%c%zu:", nb_column_is_mismatch(col, r) ? 'M' : 'V', len);
            nb_buf_append(out, t, len);
        }
}

/* Read all of text in scans of at most `recs` records and windows of `win` bytes; rows into out. */
static nb_status read_all(const struct nb_csv_dialect *d, const char *text, size_t n, size_t recs, size_t win,
                          struct nb_buf *out)
{
    struct nb_bad_record_sink sink = {skip_bad};
    struct nb_error err;
    size_t skip, hat;
    uint64_t lines;
    nb_status st = nb_csv_preamble(d, text, n, true, &skip, &lines, &hat, &err);
    if (st != NB_OK) return st;
    struct nb_schema *names = NULL, *schema = NULL;
    st = hat != SIZE_MAX ? nb_csv_header(d, text + hat, skip - hat, "f", 1, &names, &err)
                         : nb_csv_header(d, text + skip, n - skip, "f", 1, &names, &err);
    if (st != NB_OK) return st;
    struct nb_csv_scan sc;
    st = nb_csv_scan_records(d, text + skip, n - skip, true, 100, &sc, "f", lines + 1, &err);
    if (st == NB_OK) st = nb_csv_infer(d, names, text + skip, sc.consumed, true, NULL, 0, &schema, &err);
    nb_schema_release(names);
    if (st != NB_OK) return st;
    size_t pos = skip;
    uint64_t line = lines + 1;
    while (pos < n && st == NB_OK) {
        size_t w = n - pos;
        bool eof = true;
        if (w > win) { w = win; eof = false; }
        st = nb_csv_scan_records(d, text + pos, w, eof, recs, &sc, "f", line, &err);
        if (st != NB_OK) break;
        if (sc.consumed == 0) {
            if (eof) break;
            win *= 2;
            continue;
        }
        struct nb_batch *b = nb_batch_create(schema, 0);
        struct nb_csv_chunk ch = {text + pos, sc.consumed, "f", "s", line, pos, sc.records};
        st = nb_csv_decode(d, &ch, b, &sink, &err);
        if (st == NB_OK) render(b, out);
        nb_batch_destroy(b);
        pos += sc.consumed;
        line += sc.lines;
    }
    nb_schema_release(schema);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20)) return 0;
    uint8_t opt = data[0];
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    struct nb_csv_dialect d;
    nb_csv_dialect_init(&d);
    d.delimiter = (opt & 1) ? ';' : ',';
    if (opt & 2) d.quote = d.escape = '\'';
    if (opt & 4) d.escape = '\\';
    if (opt & 8) strcpy(d.comment, "#");
    d.header = !(opt & 16);
    if (opt & 32) d.skip_rows = 1;
    if (opt & 64) { d.null_values[0] = strdup("NA"); d.n_null_values = 1; }
    if (opt & 128) d.quote = d.escape = '\0';
    struct nb_buf a, b;
    nb_buf_init(&a);
    nb_buf_init(&b);
    bad_seen = 0;
    nb_status s1 = read_all(&d, text, n, SIZE_MAX, SIZE_MAX, &a);
    size_t bad1 = bad_seen;
    nb_status s2 = read_all(&d, text, n, 3, 37, &b);
    if (s1 != s2) __builtin_trap();
    if (s1 == NB_OK && (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))) __builtin_trap();
    nb_buf_reset(&b);
    bool was = nb_csv_columnar(false);
    bad_seen = 0;
    nb_status s3 = read_all(&d, text, n, SIZE_MAX, SIZE_MAX, &b);
    nb_csv_columnar(was);
    if (s3 != s1 || bad_seen != bad1) __builtin_trap();
    if (s1 == NB_OK && (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))) __builtin_trap();
    nb_buf_cleanup(&a);
    nb_buf_cleanup(&b);
    nb_csv_dialect_cleanup(&d);
    return 0;
}
