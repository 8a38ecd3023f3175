/* The csv connector: a source over the shared file source (globs, streams, compression, resume)
 * with the CSV reader as its format, and a destination over the shared file destination with the
 * CSV writer. */
#include <stdlib.h>
#include <string.h>

#include "connectors/common/file_dest.h"
#include "connectors/common/file_source.h"
#include "connectors/connector.h"
#include "formats/csv/csv.h"

static const struct nb_config_key csv_source_keys[] = {
    {"", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_file_source_keys},
    {"delimiter", NB_KEY_STRING, ",", NULL, 0, "field separator (one character; \\t for tab)", NULL},
    {"quote", NB_KEY_STRING, "\"", NULL, 0, "quote character (\"\" turns quoting off)", NULL},
    {"escape", NB_KEY_STRING, NULL, NULL, 0,
     "escape character inside quotes (default: the quote itself, i.e. doubled quotes as in RFC 4180)", NULL},
    {"header", NB_KEY_BOOL, "true", NULL, 0, "the first record names the columns (false: column1, column2, ...)", NULL},
    {"skip_rows", NB_KEY_INT, "0", NULL, 0, "lines skipped at the start of every file, before the header", NULL},
    {"comment", NB_KEY_STRING, NULL, NULL, 0, "lines starting with this prefix are skipped", NULL},
    {"null_values", NB_KEY_LIST, NULL, NULL, 0,
     "unquoted values read as null (an empty unquoted field is always null; \"\" is the empty string)", NULL},
    {"infer_types", NB_KEY_BOOL, "true", NULL, 0,
     "infer bool/int64/float64/date/timestamp from a sample (false: every column is a string)", NULL},
    {"infer_rows", NB_KEY_INT, "10000", NULL, 0, "rows sampled from the first file for type inference", NULL},
    {"columns", NB_KEY_MAP, NULL, NULL, 0, "explicit types by column name, e.g. {id: int64, price: decimal(10,2)}", NULL},
    {"max_record_size", NB_KEY_SIZE, "64MiB", NULL, 0,
     "a longer record is an error naming its line (protects memory from a missing quote)", NULL},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static const struct nb_config_key csv_dest_keys[] = {
    {"", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_file_dest_keys},
    {"", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_csv_format_keys},
    {NULL, 0, NULL, NULL, 0, NULL, NULL},
};

/* ---- the format callbacks for the file source ------------------------------------------------ */

struct csv_src {
    struct nb_csv_dialect d;
    bool infer;
    struct nb_csv_type_override *over;
    size_t n_over;
};

static void csv_src_free(void *ctx)
{
    struct csv_src *c = ctx;
    if (!c) return;
    nb_csv_dialect_cleanup(&c->d);
    for (size_t i = 0; i < c->n_over; i++) free((char *)c->over[i].name);
    free(c->over);
    free(c);
}

static nb_status cb_preamble(void *ctx, const char *buf, size_t n, bool eof, size_t *skip, uint64_t *lines,
                             size_t *header_at, struct nb_error *err)
{
    return nb_csv_preamble(&((struct csv_src *)ctx)->d, buf, n, eof, skip, lines, header_at, err);
}

static nb_status cb_scan(void *ctx, const char *buf, size_t n, bool eof, size_t max_records, struct nb_file_scan *out,
                         const char *path, uint64_t first_line, struct nb_error *err)
{
    struct nb_csv_scan sc;
    nb_status st = nb_csv_scan_records(&((struct csv_src *)ctx)->d, buf, n, eof, max_records, &sc, path, first_line, err);
    out->consumed = sc.consumed;
    out->records = sc.records;
    out->lines = sc.lines;
    return st;
}

static nb_status cb_schema(void *ctx, const char *path, const char *header, size_t header_len, const char *sample,
                           size_t sample_len, struct nb_schema **out, struct nb_error *err)
{
    struct csv_src *c = ctx;
    struct nb_schema *names = NULL;
    nb_status st;
    if (header) st = nb_csv_header(&c->d, header, header_len, path, 1, &names, err);
    else if (c->d.header) { names = nb_schema_create(); st = names ? NB_OK : nb_error_set(err, NB_ERR_NOMEM, "out of memory"); }
    else st = nb_csv_header(&c->d, sample, sample_len, path, 1, &names, err);
    if (st != NB_OK) return st;
    for (size_t i = 0; i < c->n_over; i++)
        if (names->n_fields && nb_schema_find(names, c->over[i].name) < 0) {
            st = nb_error_set(err, NB_ERR_CONFIG, "columns: '%s' is not a column of %s (it has %zu columns, the first '%s')",
                              c->over[i].name, path, names->n_fields, names->fields[0].name);
            nb_schema_release(names);
            return st;
        }
    st = nb_csv_infer(&c->d, names, sample, sample_len, c->infer, c->over, c->n_over, out, err);
    nb_schema_release(names);
    return st;
}

static nb_status cb_check_header(void *ctx, const struct nb_schema *schema, const char *path, const char *header,
                                 size_t header_len, struct nb_error *err)
{
    struct csv_src *c = ctx;
    struct nb_schema *names = NULL;
    nb_status st = nb_csv_header(&c->d, header, header_len, path, 1, &names, err);
    if (st != NB_OK) return st;
    size_t n = names->n_fields > schema->n_fields ? names->n_fields : schema->n_fields;
    for (size_t i = 0; i < n; i++) {
        const char *got = i < names->n_fields ? names->fields[i].name : "(none)";
        const char *want = i < schema->n_fields ? schema->fields[i].name : "(none)";
        if (strcmp(got, want) != 0) {
            st = nb_error_set(err, NB_ERR_INVALID,
                              "%s: its header differs from the stream's first file (column %zu is '%s', expected '%s'); "
                              "set stream_per_file: true to read files with different columns as separate streams",
                              path, i + 1, got, want);
            break;
        }
    }
    nb_schema_release(names);
    return st;
}

static nb_status cb_decode(void *ctx, const struct nb_file_chunk *ch, struct nb_batch *b, struct nb_bad_record_sink *sink,
                           struct nb_error *err)
{
    struct nb_csv_chunk cc = {ch->data, ch->len, ch->path, ch->stream, ch->first_line, ch->first_offset, ch->records};
    return nb_csv_decode(&((struct csv_src *)ctx)->d, &cc, b, sink, err);
}

/* ---- source ops ------------------------------------------------------------------------------------ */

static nb_status parse_columns(struct csv_src *c, const struct nb_cfg *cfg, struct nb_error *err)
{
    const struct nb_cfg *cols = nb_cfg_child(cfg, "columns");
    if (!cols || cols->kind != NB_CFG_MAP || cols->n_children == 0) return NB_OK;
    c->over = calloc(cols->n_children, sizeof *c->over);
    if (!c->over) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cols->n_children; i++) {
        const struct nb_cfg *k = cols->children[i];
        char where[512];
        nb_cfg_where(k, where, sizeof where);
        if (k->kind != NB_CFG_SCALAR || !k->value)
            return nb_error_set(err, NB_ERR_CONFIG, "%s: columns.%s: give a type name (int64, string, date, ...)", where,
                                k->key ? k->key : "?");
        if (nb_type_parse(k->value, &c->over[i].type, err) != NB_OK)
            return nb_error_prefix(err, "%s: columns.%s: ", where, k->key ? k->key : "?");
        c->over[i].name = strdup(k->key ? k->key : "");
        if (!c->over[i].name) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
        c->n_over = i + 1;
    }
    return NB_OK;
}

static nb_status csv_source_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    *self = NULL;
    struct nb_file_source_args args;
    nb_status st = nb_file_source_args_from_cfg(&args, ctx->config, err);
    if (st != NB_OK) return st;
    struct csv_src *c = calloc(1, sizeof *c);
    if (!c) return nb_error_set(err, NB_ERR_NOMEM, "out of memory");
    if ((st = nb_csv_dialect_from_cfg(&c->d, ctx->config, err)) != NB_OK ||
        (st = parse_columns(c, ctx->config, err)) != NB_OK) {
        csv_src_free(c);
        return st;
    }
    c->infer = nb_cfg_bool(ctx->config, "infer_types", true);
    int64_t infer_rows = nb_cfg_int(ctx->config, "infer_rows", 10000);
    if (infer_rows < 1) {
        csv_src_free(c);
        return nb_error_set(err, NB_ERR_CONFIG, "infer_rows: must be at least 1, got %lld", (long long)infer_rows);
    }
    args.max_record_size = c->d.max_record_size;
    args.format.ctx = c;
    args.format.ctx_free = csv_src_free;
    args.format.sample_records = c->infer ? (size_t)infer_rows : 1;
    args.format.preamble = cb_preamble;
    args.format.scan = cb_scan;
    args.format.schema = cb_schema;
    args.format.check_header = cb_check_header;
    args.format.decode = cb_decode;
    struct nb_file_source *fs = NULL;
    if ((st = nb_file_source_open(&fs, ctx, &args, err)) != NB_OK) return st;   /* frees c */
    *self = fs;
    return NB_OK;
}

static nb_status csv_source_check(void *self, struct nb_error *err) { return nb_file_source_check(self, err); }
static nb_status csv_source_discover(void *self, struct nb_buf *json, struct nb_error *err)
{
    return nb_file_source_discover(self, json, err);
}
static nb_status csv_source_read(void *self, struct nb_batch **out, struct nb_error *err)
{
    return nb_file_source_read(self, out, err);
}
static void csv_source_close(void *self) { nb_file_source_close(self); }
static bool csv_source_progress(void *self, uint64_t *done, uint64_t *total)
{
    nb_file_source_progress(self, done, total);
    return true;
}

static const struct nb_source_ops csv_source_ops = {
    .spec = csv_source_keys,
    .open = csv_source_open,
    .check = csv_source_check,
    .discover = csv_source_discover,
    .read = csv_source_read,
    .ack = NULL,
    .progress = csv_source_progress,
    .close = csv_source_close,
};

/* ---- destination ------------------------------------------------------------------------------------ */

static nb_status csv_dest_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    struct nb_file_dest_args a = {&nb_format_csv, NULL, NULL};
    return nb_file_dest_open(self, ctx, &a, err);
}

static const struct nb_destination_ops csv_dest_ops = NB_FILE_DESTINATION_OPS(csv_dest_keys, csv_dest_open, false);

const struct nb_connector_ops nb_connector_csv = {
    .name = "csv",
    .description = "CSV files: RFC 4180 plus dialect options, globs, compression, type inference, resume",
    .kinds = NB_SOURCE | NB_DESTINATION,
    .source_caps = NB_CAP_FULL_REFRESH | NB_CAP_RESUME,
    .destination_caps = NB_CAP_FULL_REFRESH | NB_CAP_RESUME,
    .source = &csv_source_ops,
    .destination = &csv_dest_ops,
};
