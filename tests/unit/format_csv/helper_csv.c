/* Test helpers for the CSV format (see helper_csv.h). */
#include "helper_csv.h"

#include <stdlib.h>
#include <string.h>

static nb_status collect_report(struct nb_bad_record_sink *sink, const struct nb_bad_record *rec, struct nb_error *err)
{
    (void)err;
    struct collect_sink *s = (struct collect_sink *)sink;
    s->count++;
    nb_buf_printf(&s->log, "%s: %s\n", rec->location, rec->reason);
    return NB_OK;
}

void collect_sink_init(struct collect_sink *s)
{
    memset(s, 0, sizeof *s);
    s->base.report = collect_report;
    nb_buf_init(&s->log);
}

void collect_sink_cleanup(struct collect_sink *s) { nb_buf_cleanup(&s->log); }

void render_batch(const struct nb_batch *b, struct nb_buf *out)
{
    for (size_t r = 0; r < b->n_rows; r++) {
        for (size_t c = 0; c < b->schema->n_fields; c++) {
            if (c) nb_buf_putc(out, '|');
            const struct nb_column *col = &b->cols[c];
            if (nb_column_is_null(col, r)) { nb_buf_puts(out, "<N>"); continue; }
            if (nb_column_is_mismatch(col, r)) nb_buf_putc(out, '!');
            size_t len;
            const char *t = nb_column_text(col, r, &len);
            nb_buf_append(out, t, len);
        }
        nb_buf_putc(out, '\n');
    }
}

void read_result_cleanup(struct read_result *r)
{
    nb_schema_release(r->schema);
    nb_buf_cleanup(&r->rows);
    memset(r, 0, sizeof *r);
}

nb_status read_csv(const struct nb_csv_dialect *d, const char *text, size_t len, bool infer, size_t chunk_records,
                   size_t chunk_bytes, struct nb_bad_record_sink *sink, struct read_result *out, struct nb_error *err)
{
    memset(out, 0, sizeof *out);
    nb_buf_init(&out->rows);
    size_t skip, header_at;
    uint64_t lines;
    nb_status st = nb_csv_preamble(d, text, len, true, &skip, &lines, &header_at, err);
    if (st != NB_OK) return st;
    struct nb_schema *names = NULL;
    if (header_at != SIZE_MAX) st = nb_csv_header(d, text + header_at, skip - header_at, "t.csv", 1, &names, err);
    else st = nb_csv_header(d, text + skip, len - skip, "t.csv", lines + 1, &names, err);
    if (st != NB_OK) return st;
    /* The inference sample: the first 10000 records. */
    struct nb_csv_scan sc;
    st = nb_csv_scan_records(d, text + skip, len - skip, true, 10000, &sc, "t.csv", lines + 1, err);
    if (st != NB_OK) { nb_schema_release(names); return st; }
    st = nb_csv_infer(d, names, text + skip, sc.consumed, infer, NULL, 0, &out->schema, err);
    nb_schema_release(names);
    if (st != NB_OK) return st;
    size_t pos = skip;
    uint64_t line = lines + 1;
    while (pos < len) {
        /* Scan within windows of chunk_bytes, as a source reading blocks would. */
        size_t win = len - pos;
        bool eof = true;
        if (chunk_bytes && win > chunk_bytes) { win = chunk_bytes; eof = false; }
        st = nb_csv_scan_records(d, text + pos, win, eof, chunk_records, &sc, "t.csv", line, err);
        if (st != NB_OK) return st;
        if (sc.consumed == 0) {
            if (eof) break;
            /* No whole record in the window: widen it. */
            chunk_bytes *= 2;
            continue;
        }
        struct nb_batch *b = nb_batch_create(out->schema, 0);
        struct nb_csv_chunk ch = {text + pos, sc.consumed, "t.csv", "t", line, pos, sc.records};
        st = nb_csv_decode(d, &ch, b, sink, err);
        if (st != NB_OK) { nb_batch_destroy(b); return st; }
        render_batch(b, &out->rows);
        out->n_rows += b->n_rows;
        out->n_batches++;
        nb_batch_destroy(b);
        pos += sc.consumed;
        line += sc.lines;
    }
    return NB_OK;
}
