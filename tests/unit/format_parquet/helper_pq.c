/* Helpers of the Parquet writer tests (see helper_pq.h). */
#include "helper_pq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include <stdint.h>
#include "io/stream.h"

struct nb_schema *pqt_schema(const char *const *cols, size_t n)
{
    struct nb_schema *s = nb_schema_create();
    for (size_t i = 0; i < n; i++) {
        char name[256], type[128];
        const char *colon = strchr(cols[i], ':');
        snprintf(name, sizeof name, "%.*s", (int)(colon - cols[i]), cols[i]);
        snprintf(type, sizeof type, "%s", colon + 1);
        size_t tl = strlen(type);
        bool nullable = tl && type[tl - 1] == '?';
        if (nullable) type[tl - 1] = '\0';
        struct nb_type t;
        if (nb_type_parse(type, &t, NULL) != NB_OK) {
            fprintf(stderr, "bad test type %s\n", type);
            abort();
        }
        nb_schema_add(s, name, t, nullable);
    }
    return s;
}

struct nb_batch *pqt_batch(struct nb_schema *s, const char *const *cells, size_t rows)
{
    struct nb_batch *b = nb_batch_create(s, rows ? rows : 1);
    size_t nc = s->n_fields;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < nc; c++) {
            const char *v = cells[r * nc + c];
            if (v) nb_column_append_text(&b->cols[c], v, strlen(v));
            else nb_column_append_null(&b->cols[c]);
        }
    b->n_rows = rows;
    b->stream = "test";
    return b;
}

nb_status pqt_write(const char *path, const struct nb_parquet_options *opt, struct nb_schema *s,
                    struct nb_batch *const *batches, size_t n, struct nb_error *err)
{
    struct nb_parquet_options def;
    if (!opt) {
        nb_parquet_options_default(&def);
        opt = &def;
    }
    struct nb_ostream *os = NULL;
    struct nb_parquet_writer *w = NULL;
    nb_status st = nb_output_open(path, NB_CODEC_NONE, 0, 0, &os, err);
    if (st != NB_OK) return st;
    if ((st = nb_parquet_writer_open(&w, opt, os, s, err)) != NB_OK) goto fail;
    for (size_t i = 0; i < n; i++)
        if ((st = nb_parquet_writer_write(w, batches[i], err)) != NB_OK) goto fail;
    if ((st = nb_parquet_writer_finish(w, err)) != NB_OK) goto fail;
    st = os->ops->finish(os, err);
fail:
    nb_parquet_writer_destroy(w);
    if (st != NB_OK) os->ops->abort(os, false);
    nb_ostream_destroy(os);
    return st;
}

static const char *root(void)
{
    const char *r = getenv("NB_ROOT");
    return r ? r : "..";
}

bool pqt_have_reader(void)
{
    static int have = -1;
    if (have < 0) {
        char p[4096];
        snprintf(p, sizeof p, "%s/tests/node_modules/@duckdb/node-api/package.json", root());
        have = access(p, R_OK) == 0 && system("node --version >/dev/null 2>&1") == 0;
        snprintf(p, sizeof p, "%s/tests/node_modules/hyparquet-compressors/package.json", root());
        have = have && access(p, R_OK) == 0;
        if (!have) printf("NOTICE: node or tests/node_modules missing: reading back with DuckDB/hyparquet skipped\n");
    }
    return have == 1;
}

static void shell_quote(struct nb_buf *b, const char *s)
{
    nb_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') nb_buf_puts(b, "'\\''");
        else nb_buf_putc(b, *s);
    }
    nb_buf_putc(b, '\'');
}

static char *run_reader(struct nb_buf *cmd)
{
    FILE *f = popen(cmd->data, "r");
    if (!f) return NULL;
    struct nb_buf out;
    nb_buf_init(&out);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) nb_buf_append(&out, chunk, n);
    int rc = pclose(f);
    if (rc != 0) {
        fprintf(stderr, "reader failed (%d): %s\noutput: %s\n", rc, cmd->data, out.data ? out.data : "");
        nb_buf_cleanup(&out);
        return NULL;
    }
    if (!out.data) nb_buf_reserve(&out, 1);   /* an empty result is "", not a failure */
    return nb_buf_detach(&out, NULL);
}

char *pqt_read(const char *mode, const char *sql, const char *path)
{
    struct nb_buf cmd;
    nb_buf_init(&cmd);
    nb_buf_printf(&cmd, "node %s/tests/tools/parquet_read.mjs ", root());
    if (mode && *mode) nb_buf_printf(&cmd, "%s ", mode);
    if (sql) {
        nb_buf_puts(&cmd, "--sql ");
        shell_quote(&cmd, sql);
        nb_buf_putc(&cmd, ' ');
    }
    shell_quote(&cmd, path);
    char *r = run_reader(&cmd);
    nb_buf_cleanup(&cmd);
    return r;
}

char *pqt_read_many(const char *mode, char *const *paths, size_t n)
{
    struct nb_buf cmd;
    nb_buf_init(&cmd);
    nb_buf_printf(&cmd, "node %s/tests/tools/parquet_read.mjs %s", root(), mode ? mode : "");
    for (size_t i = 0; i < n; i++) {
        nb_buf_putc(&cmd, ' ');
        shell_quote(&cmd, paths[i]);
    }
    char *r = run_reader(&cmd);
    nb_buf_cleanup(&cmd);
    return r;
}

char *pqt_path(const char *name)
{
    mkdir("pq_test_out", 0755);
    char *p = malloc(strlen(name) + 32);
    sprintf(p, "pq_test_out/%s", name);
    return p;
}

bool pqt_same(const char *got, const char *expected)
{
    if (got && strcmp(got, expected) == 0) return true;
    fprintf(stderr, "--- expected:\n%s--- got:\n%s---\n", expected, got ? got : "(reader failed)\n");
    return false;
}

/* id int64 = row, name string from 7 values, amount decimal(12,2) "<row>.50", note string unique. */
struct nb_batch *pqt_sample_batch(struct nb_schema *s, size_t first, size_t rows)
{
    static const char *names[] = {"ann", "bob", "cy", "dee", "eve", "fay", "gus"};
    struct nb_batch *b = nb_batch_create(s, rows ? rows : 1);
    char tmp[64];
    for (size_t r = first; r < first + rows; r++) {
        int n = snprintf(tmp, sizeof tmp, "%zu", r);
        nb_column_append_text(&b->cols[0], tmp, (size_t)n);
        nb_column_append_text(&b->cols[1], names[r % 7], strlen(names[r % 7]));
        if (r % 10 == 3) nb_column_append_null(&b->cols[2]);
        else {
            n = snprintf(tmp, sizeof tmp, "%zu.50", r);
            nb_column_append_text(&b->cols[2], tmp, (size_t)n);
        }
        n = snprintf(tmp, sizeof tmp, "note-%zu-%zu", r, r * 7919 % 10007);
        nb_column_append_text(&b->cols[3], tmp, (size_t)n);
    }
    b->n_rows = rows;
    return b;
}

const char *const pqt_sample_cols[4] = {"id:int64", "name:string", "amount:decimal(12,2)?", "note:string"};

char *pqt_write_sample(const char *name, const struct nb_parquet_options *opt, size_t rows, size_t batch_rows)
{
    struct nb_schema *s = pqt_schema(pqt_sample_cols, 4);
    size_t nb = (rows + batch_rows - 1) / batch_rows;
    struct nb_batch **bs = calloc(nb ? nb : 1, sizeof *bs);
    for (size_t i = 0; i < nb; i++) {
        size_t first = i * batch_rows;
        bs[i] = pqt_sample_batch(s, first, first + batch_rows > rows ? rows - first : batch_rows);
    }
    char *path = pqt_path(name);
    struct nb_error err = {0};
    nb_status st = pqt_write(path, opt, s, bs, nb, &err);
    if (st != NB_OK) fprintf(stderr, "%s\n", err.message);
    if (st != NB_OK) abort();
    for (size_t i = 0; i < nb; i++) nb_batch_destroy(bs[i]);
    free(bs);
    nb_schema_release(s);
    return path;
}

/* What hyparquet prints for sample rows [0, rows). */
char *pqt_sample_hyparquet(size_t rows)
{
    static const char *names[] = {"ann", "bob", "cy", "dee", "eve", "fay", "gus"};
    struct nb_buf b;
    nb_buf_init(&b);
    for (size_t r = 0; r < rows; r++) {
        if (r % 10 == 3)
            nb_buf_printf(&b, "[\"%zu\",\"%s\",null,\"note-%zu-%zu\"]\n", r, names[r % 7], r, r * 7919 % 10007);
        else
            nb_buf_printf(&b, "[\"%zu\",\"%s\",\"%zu.5\",\"note-%zu-%zu\"]\n", r, names[r % 7], r, r, r * 7919 % 10007);
    }
    return nb_buf_detach(&b, NULL);
}

