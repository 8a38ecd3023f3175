/* The CSV writer (nb_format_csv): header, quoting only where needed (or always), a null string
 * distinct from the empty string (""), TEXT values written verbatim and NATIVE values formatted
 * with batch/value.h. encode() is thread-safe and does the per-row work on a worker. */
#include <stdlib.h>
#include <string.h>

#include "batch/value.h"
#include "formats/csv/csv.h"
#include "formats/format.h"

const struct nb_config_key nb_csv_format_keys[] = {
    {"delimiter", NB_KEY_STRING, ",", NULL, 0, "field separator (one character; \\t for tab)", NULL},
    {"quote", NB_KEY_STRING, "\"", NULL, 0, "quote character", NULL},
    {"header", NB_KEY_BOOL, "true", NULL, 0, "write a header line with the column names", NULL},
    {"quote_all", NB_KEY_BOOL, "false", NULL, 0, "quote every non-null value (default: only when needed)", NULL},
    {"null_string", NB_KEY_STRING, "", NULL, 0,
     "text written for null (an empty string value is written as \"\" so the two stay distinct)", NULL},
    {"newline", NB_KEY_ENUM, "lf", "lf|crlf", 0, "line terminator", NULL},
    {"on_new_column", NB_KEY_ENUM, "fail", "fail|ignore", 0,
     "a batch with a column the file lacks: fail (CSV cannot add a column mid-file) or ignore (drop it)", NULL},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static nb_status opt_char(const char *key, const char *v, bool allow_empty, char *out, struct nb_error *err)
{
    if (!v) return NB_OK;
    if (!*v && allow_empty) { *out = '\0'; return NB_OK; }
    if (strcmp(v, "\\t") == 0 || strcmp(v, "tab") == 0) { *out = '\t'; return NB_OK; }
    if (strlen(v) != 1 || *v == '\n' || *v == '\r')
        return nb_error_set(err, NB_ERR_CONFIG, "%s: must be a single character (or \\t), got '%s'", key, v);
    *out = *v;
    return NB_OK;
}

static void csv_options_destroy(void *options)
{
    struct nb_csv_write_options *o = options;
    if (!o) return;
    free(o->null_string);
    free(o);
}

static nb_status csv_options_create(const struct nb_cfg *cfg, void **options, struct nb_error *err)
{
    struct nb_csv_write_options *o = calloc(1, sizeof *o);
    if (!o) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    nb_status st;
    o->delimiter = ',';
    o->quote = '"';
    o->header = true;
    const char *ns = "";
    if (cfg) {
        if ((st = opt_char("delimiter", nb_cfg_string(cfg, "delimiter", NULL), false, &o->delimiter, err))) goto fail;
        if ((st = opt_char("quote", nb_cfg_string(cfg, "quote", NULL), false, &o->quote, err))) goto fail;
        o->header = nb_cfg_bool(cfg, "header", true);
        o->quote_all = nb_cfg_bool(cfg, "quote_all", false);
        ns = nb_cfg_string(cfg, "null_string", "");
        const char *nl = nb_cfg_string(cfg, "newline", "lf");
        o->crlf = nl && strcmp(nl, "crlf") == 0;
        const char *nc = nb_cfg_string(cfg, "on_new_column", "fail");
        o->ignore_new_columns = nc && strcmp(nc, "ignore") == 0;
    }
    if (o->quote == o->delimiter) {
        st = nb_error_set(err, NB_ERR_CONFIG, "quote and delimiter are both '%c': choose different characters", o->quote);
        goto fail;
    }
    if (strchr(ns, o->delimiter) || strchr(ns, o->quote) || strpbrk(ns, "\r\n")) {
        st = nb_error_set(err, NB_ERR_CONFIG, "null_string: must not contain the delimiter, the quote or a line break");
        goto fail;
    }
    o->null_string = strdup(ns);
    if (!o->null_string) { st = nb_error_set(err, NB_ERR_NOMEM, "out of memory"); goto fail; }
    *options = o;
    return NB_OK;
fail:
    csv_options_destroy(o);
    return st;
}

/* ---- encoding ---------------------------------------------------------------------------------- */

static inline bool needs_quote(const struct nb_csv_write_options *o, const char *p, size_t n)
{
    if (n == 0) return true;   /* the empty string (null is written elsewhere) */
    if (p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' || p[n - 1] == '\t') return true;
    char dl = o->delimiter, q = o->quote;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == dl || c == q || c == '\n' || c == '\r') return true;
    }
    size_t nsl = strlen(o->null_string);
    return nsl == n && memcmp(p, o->null_string, n) == 0;
}

static void put_value(const struct nb_csv_write_options *o, struct nb_buf *out, const char *p, size_t n)
{
    if (!o->quote_all && !needs_quote(o, p, n)) {
        nb_buf_append(out, p, n);
        return;
    }
    if (!nb_buf_reserve(out, 2 * n + 2)) return;
    char *w = out->data + out->len;
    *w++ = o->quote;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == o->quote) *w++ = o->quote;
        *w++ = p[i];
    }
    *w++ = o->quote;
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
}

static void put_native(const struct nb_csv_write_options *o, struct nb_buf *out, const struct nb_column *c, size_t r)
{
    char tmp[64];
    size_t n = 0;
    switch (c->type.id) {
    case NB_TYPE_BOOL: nb_buf_puts(out, nb_column_bool(c, r) ? "true" : "false"); return;
    case NB_TYPE_INT32: n = nb_value_format_i64(nb_column_i32(c, r), tmp); break;
    case NB_TYPE_INT64: n = nb_value_format_i64(nb_column_i64(c, r), tmp); break;
    case NB_TYPE_FLOAT64: n = nb_value_format_f64(nb_column_f64(c, r), tmp, sizeof tmp); break;
    case NB_TYPE_DATE: n = nb_value_format_date(nb_column_i32(c, r), tmp); break;
    case NB_TYPE_TIME: n = nb_value_format_time(nb_column_i64(c, r), tmp); break;
    case NB_TYPE_TIMESTAMP: n = nb_value_format_timestamp(nb_column_i64(c, r), c->type.utc, tmp); break;
    default: break;
    }
    put_value(o, out, tmp, n);
}

/* Rows of b in file column order: map[k] is the batch column for file column k, or -1 (null);
 * map NULL: the batch's own order. */
static nb_status encode_rows(const struct nb_csv_write_options *o, const struct nb_batch *b, const int *map,
                             size_t ncols, struct nb_buf *out, struct nb_error *err)
{
    size_t total = 0;
    for (size_t k = 0; k < ncols; k++)
        if (!map || map[k] >= 0) {
            const struct nb_column *c = &b->cols[map ? map[k] : (int)k];
            if (c->repr == NB_REPR_TEXT) total += c->data_len;
        }
    nb_buf_reserve(out, total + b->n_rows * (ncols * 3 + 2) + 16);
    const char *nl = o->crlf ? "\r\n" : "\n";
    size_t nll = o->crlf ? 2 : 1;
    size_t nsl = strlen(o->null_string);
    for (size_t r = 0; r < b->n_rows; r++) {
        for (size_t k = 0; k < ncols; k++) {
            if (k) nb_buf_putc(out, o->delimiter);
            int ci = map ? map[k] : (int)k;
            if (ci < 0) { nb_buf_append(out, o->null_string, nsl); continue; }
            const struct nb_column *c = &b->cols[ci];
            if (nb_column_is_null(c, r)) { nb_buf_append(out, o->null_string, nsl); continue; }
            if (c->repr == NB_REPR_NATIVE) { put_native(o, out, c, r); continue; }
            size_t len;
            const char *t = nb_column_text(c, r, &len);
            put_value(o, out, t, len);
        }
        /* One empty unquoted field would read back as a blank line: write it as "" (a null stays
         * an empty line, which the reader takes as null for a one-column file). */
        nb_buf_append(out, nl, nll);
    }
    return nb_buf_status(out, err);
}

static nb_status csv_encode(const void *options, const struct nb_batch *b, struct nb_buf *out, struct nb_error *err)
{
    return encode_rows(options, b, NULL, b->schema ? b->schema->n_fields : 0, out, err);
}

/* ---- the writer ------------------------------------------------------------------------------------ */

struct csv_writer {
    const struct nb_csv_write_options *o;
    struct nb_ostream *os;
    struct nb_schema *schema;
    struct nb_buf buf;
};

static nb_status csv_writer_open(void **writer, const void *options, struct nb_ostream *os, struct nb_schema *schema,
                                 const struct nb_format_resume *resume, struct nb_error *err)
{
    struct csv_writer *w = calloc(1, sizeof *w);
    if (!w) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    w->o = options;
    w->os = os;
    w->schema = schema ? nb_schema_retain(schema) : nb_schema_create();
    nb_buf_init(&w->buf);
    nb_status st = NB_OK;
    if (w->o->header && !(resume && resume->resuming) && w->schema->n_fields) {
        for (size_t i = 0; i < w->schema->n_fields; i++) {
            if (i) nb_buf_putc(&w->buf, w->o->delimiter);
            const char *nm = w->schema->fields[i].name;
            put_value(w->o, &w->buf, nm, strlen(nm));
        }
        nb_buf_puts(&w->buf, w->o->crlf ? "\r\n" : "\n");
        if ((st = nb_buf_status(&w->buf, err)) == NB_OK) st = nb_ostream_write(os, w->buf.data, w->buf.len, err);
        nb_buf_reset(&w->buf);
    }
    if (st != NB_OK) {
        nb_schema_release(w->schema);
        nb_buf_cleanup(&w->buf);
        free(w);
        return st;
    }
    *writer = w;
    return NB_OK;
}

static bool same_names(const struct nb_schema *a, const struct nb_schema *b)
{
    if (a == b) return true;
    if (a->n_fields != b->n_fields) return false;
    for (size_t i = 0; i < a->n_fields; i++)
        if (strcmp(a->fields[i].name, b->fields[i].name) != 0) return false;
    return true;
}

static nb_status csv_writer_write(void *writer, const struct nb_batch *b, const struct nb_buf *encoded,
                                  struct nb_error *err)
{
    struct csv_writer *w = writer;
    if (!b->schema || b->n_rows == 0) return NB_OK;
    if (same_names(w->schema, b->schema)) {
        if (encoded) return encoded->len ? nb_ostream_write(w->os, encoded->data, encoded->len, err) : NB_OK;
        nb_buf_reset(&w->buf);
        nb_status st = csv_encode(w->o, b, &w->buf, err);
        return st == NB_OK ? nb_ostream_write(w->os, w->buf.data, w->buf.len, err) : st;
    }
    /* Columns differ: map by name. A column the file lacks cannot be added mid-file. */
    for (size_t i = 0; i < b->schema->n_fields; i++)
        if (nb_schema_find(w->schema, b->schema->fields[i].name) < 0 && !w->o->ignore_new_columns)
            return nb_error_set(err, NB_ERR_INVALID,
                                "new column '%s' in stream '%s': a CSV file cannot add a column after its header; "
                                "set schema.on_new_column: ignore (or this destination's on_new_column: ignore) to drop it, "
                                "or write to a format that allows it (json)",
                                b->schema->fields[i].name, b->stream ? b->stream : "?");
    size_t n = w->schema->n_fields;
    int *map = malloc((n ? n : 1) * sizeof *map);
    if (!map) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) map[k] = nb_schema_find(b->schema, w->schema->fields[k].name);
    nb_buf_reset(&w->buf);
    nb_status st = encode_rows(w->o, b, map, n, &w->buf, err);
    free(map);
    return st == NB_OK ? nb_ostream_write(w->os, w->buf.data, w->buf.len, err) : st;
}

static nb_status csv_writer_flush(void *writer, struct nb_error *err)
{
    (void)writer;
    (void)err;
    return NB_OK;
}

static nb_status csv_writer_finish(void *writer, struct nb_error *err)
{
    (void)writer;
    (void)err;
    return NB_OK;
}

static void csv_writer_destroy(void *writer)
{
    struct csv_writer *w = writer;
    if (!w) return;
    nb_schema_release(w->schema);
    nb_buf_cleanup(&w->buf);
    free(w);
}

const struct nb_format_ops nb_format_csv = {
    .name = "csv",
    .extension = ".csv",
    .spec = nb_csv_format_keys,
    .keeps_mismatches_as_text = true,
    .resumable = true,
    .options_create = csv_options_create,
    .options_destroy = csv_options_destroy,
    .encode = csv_encode,
    .writer_open = csv_writer_open,
    .writer_write = csv_writer_write,
    .writer_flush = csv_writer_flush,
    .writer_finish = csv_writer_finish,
    .writer_destroy = csv_writer_destroy,
};
