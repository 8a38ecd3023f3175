/* The csv connector through its ops: globs and streams, positions and resume, inference, null vs
 * "", compressed input, header checks, record size limit, and a round trip through the destination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>
#include <cmocka.h>

#include "connectors/common/file_source.h"
#include "connectors/connector.h"
#include "core/json.h"
#include "formats/csv/csv.h"

extern const struct nb_connector_ops nb_connector_csv;

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nb_csv_test_XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

static void write_gz(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    gzFile g = gzopen(p, "wb");
    assert_non_null(g);
    gzwrite(g, text, (unsigned)strlen(text));
    gzclose(g);
}

struct run {
    struct nb_cfg *cfg;
    struct nb_run_options opts;
    struct nb_context ctx;
    struct nb_stream_state state[4];
    void *self;
    /* results */
    struct nb_buf rows;         /* "stream: v|v|v" lines */
    size_t n_batches, n_rows, eos;
    char last_position[1024];
    char positions[16][512];
    size_t rows_at[16];
};

static nb_status run_open(struct run *r, const char *yaml, size_t batch_size, struct nb_error *err)
{
    memset(r, 0, sizeof *r);
    nb_buf_init(&r->rows);
    const struct nb_connector_ops *csv = (&nb_connector_csv);
    assert_non_null(csv);
    assert_int_equal(nb_cfg_load_string(yaml, strlen(yaml), "test.yaml", &r->cfg, err), NB_OK);
    nb_status st = nb_cfg_validate(r->cfg, csv->source->spec, "source", err);
    if (st != NB_OK) return st;
    r->opts.batch_size = batch_size;
    r->ctx.config = r->cfg;
    r->ctx.options = &r->opts;
    return csv->source->open(&r->self, &r->ctx, err);
}

static void render(struct run *r, const struct nb_batch *b)
{
    for (size_t i = 0; i < b->n_rows; i++) {
        nb_buf_printf(&r->rows, "%s:", b->stream);
        for (size_t c = 0; c < b->schema->n_fields; c++) {
            const struct nb_column *col = &b->cols[c];
            nb_buf_putc(&r->rows, c ? '|' : ' ');
            if (nb_column_is_null(col, i)) { nb_buf_puts(&r->rows, "<N>"); continue; }
            if (nb_column_is_mismatch(col, i)) nb_buf_putc(&r->rows, '!');
            size_t len;
            const char *t = nb_column_text(col, i, &len);
            nb_buf_append(&r->rows, t, len);
        }
        nb_buf_putc(&r->rows, '\n');
    }
}

static nb_status run_all(struct run *r, struct nb_error *err)
{
    const struct nb_connector_ops *csv = (&nb_connector_csv);
    for (;;) {
        struct nb_batch *b = NULL;
        nb_status st = csv->source->read(r->self, &b, err);
        if (st == NB_DONE) return NB_OK;
        if (st != NB_OK) return st;
        assert_non_null(b);
        assert_non_null(b->schema);
        if (b->decode && (st = b->decode(b, err)) != NB_OK) {
            nb_batch_destroy(b);
            return st;
        }
        assert_int_equal(nb_batch_check(b, err), NB_OK);
        assert_true(b->n_rows <= (r->opts.batch_size ? r->opts.batch_size : 10000));
        render(r, b);
        r->n_rows += b->n_rows;
        if (b->end_of_stream) r->eos++;
        assert_non_null(b->position);
        snprintf(r->last_position, sizeof r->last_position, "%s", b->position);
        if (r->n_batches < 16) {
            snprintf(r->positions[r->n_batches], sizeof r->positions[0], "%s", b->position);
            r->rows_at[r->n_batches] = r->n_rows;
        }
        r->n_batches++;
        nb_batch_destroy(b);
    }
}

static void run_close(struct run *r)
{
    const struct nb_connector_ops *csv = (&nb_connector_csv);
    if (r->self) csv->source->close(r->self);
    nb_cfg_destroy(r->cfg);
    nb_buf_cleanup(&r->rows);
}

__attribute__((format(printf, 1, 2))) static char *yaml(const char *fmt, ...)
{
    static char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

static void test_glob_one_stream(void **state)
{
    (void)state;
    write_file("users_1.csv", "id,name\n1,ann\n2,bob\n");
    write_file("users_2.csv", "id,name\r\n3,cy\r\n4,\"\"\r\n5,\r\n");
    write_file("other.txt", "not,csv\n");
    struct run r;
    struct nb_error err = {0};
    assert_int_equal(run_open(&r, yaml("path: %s/users_*.csv\n", dir), 0, &err), NB_OK);
    assert_int_equal(nb_file_source_stream_count(r.self), 1);
    assert_string_equal(nb_file_source_stream_name(r.self, 0), "users_1");
    assert_int_equal(run_all(&r, &err), NB_OK);
    assert_string_equal(r.rows.data, "users_1: 1|ann\nusers_1: 2|bob\nusers_1: 3|cy\nusers_1: 4|\nusers_1: 5|<N>\n");
    assert_int_equal(r.eos, 1);
    /* The last position: after the last row of the last file. */
    char want[600];
    snprintf(want, sizeof want, "{\"file\":\"%s/users_2.csv\",\"offset\":%zu,\"line\":4,\"row\":5}", dir,
             strlen("id,name\r\n3,cy\r\n4,\"\"\r\n5,\r\n"));
    assert_string_equal(r.last_position, want);
    uint64_t done, total;
    nb_file_source_progress(r.self, &done, &total);
    assert_int_equal(total, strlen("id,name\n1,ann\n2,bob\n") + strlen("id,name\r\n3,cy\r\n4,\"\"\r\n5,\r\n"));
    assert_int_equal(done, total);
    run_close(&r);

    assert_int_equal(run_open(&r, yaml("path: %s/users_*.csv\nstream: people\n", dir), 0, &err), NB_OK);
    assert_string_equal(nb_file_source_stream_name(r.self, 0), "people");
    run_close(&r);
}

static void test_stream_per_file(void **state)
{
    (void)state;
    write_file("a.csv", "x\n1\n");
    write_file("b.csv", "y,z\n2,3\n");
    struct run r;
    struct nb_error err = {0};
    assert_int_equal(run_open(&r, yaml("path: %s/*.csv\nstream_per_file: true\n", dir), 0, &err), NB_OK);
    assert_int_equal(nb_file_source_stream_count(r.self), 2);
    assert_int_equal(run_all(&r, &err), NB_OK);
    assert_string_equal(r.rows.data, "a: 1\nb: 2|3\n");
    assert_int_equal(r.eos, 2);
    struct nb_buf j;
    nb_buf_init(&j);
    assert_int_equal((&nb_connector_csv)->source->discover(r.self, &j, &err), NB_OK);
    assert_non_null(strstr(j.data, "\"name\":\"b\""));
    assert_non_null(strstr(j.data, "\"z\""));
    nb_buf_cleanup(&j);
    run_close(&r);
    /* Without stream_per_file, different headers are an error naming the file. */
    assert_int_equal(run_open(&r, yaml("path: %s/*.csv\n", dir), 0, &err), NB_OK);
    assert_int_equal(run_all(&r, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "b.csv"));
    assert_non_null(strstr(err.message, "stream_per_file"));
    run_close(&r);
}

static void make_big(const char *name, int rows)
{
    struct nb_buf t;
    nb_buf_init(&t);
    nb_buf_puts(&t, "id,code,amount,note\n");
    for (int i = 0; i < rows; i++)
        nb_buf_printf(&t, "%d,%03d,%d.%02d,\"line %d, with comma\"\n", i, i % 1000, i * 7, i % 100, i);
    write_file(name, t.data);
    nb_buf_cleanup(&t);
}

static void test_batches_positions_resume(void **state)
{
    (void)state;
    make_big("big.csv", 5000);
    struct run r, r2, ref;
    struct nb_error err = {0};
    assert_int_equal(run_open(&ref, yaml("path: %s/big.csv\n", dir), 0, &err), NB_OK);
    assert_int_equal(run_all(&ref, &err), NB_OK);
    assert_int_equal(ref.n_rows, 5000);
    assert_int_equal(ref.n_batches, 1);

    assert_int_equal(run_open(&r, yaml("path: %s/big.csv\n", dir), 700, &err), NB_OK);
    assert_int_equal(run_all(&r, &err), NB_OK);
    assert_int_equal(r.n_rows, 5000);
    assert_int_equal(r.n_batches, 8);
    assert_string_equal(r.rows.data, ref.rows.data);
    /* Inference: "code" has leading zeros, so it stays a string; amount is float64. */
    assert_non_null(strstr(r.rows.data, "big: 7|007|49.07|line 7, with comma\n"));

    /* Resume after the third batch: the rest comes out exactly once. */
    struct nb_arena a;
    nb_arena_init(&a, 1024);
    struct nb_json *pos = NULL;
    assert_int_equal(nb_json_parse(r.positions[2], strlen(r.positions[2]), &a, &pos, &err), NB_OK);
    int64_t row = 0, line = 0;
    assert_true(nb_json_get_i64(pos, "row", &row));
    assert_true(nb_json_get_i64(pos, "line", &line));
    assert_int_equal(row, 2100);
    assert_int_equal(line, 2101);
    nb_arena_cleanup(&a);
    assert_int_equal(nb_cfg_load_string("x: 1", 4, "t", &r2.cfg, &err), NB_OK);
    nb_cfg_destroy(r2.cfg);
    const char *y = yaml("path: %s/big.csv\n", dir);
    char ybuf[1024];
    snprintf(ybuf, sizeof ybuf, "%s", y);
    memset(&r2, 0, sizeof r2);
    nb_buf_init(&r2.rows);
    assert_int_equal(nb_cfg_load_string(ybuf, strlen(ybuf), "t", &r2.cfg, &err), NB_OK);
    assert_int_equal(nb_cfg_validate(r2.cfg, (&nb_connector_csv)->source->spec, "source", &err), NB_OK);
    r2.opts.batch_size = 1000;
    r2.state[0].stream = "big";
    r2.state[0].source_position = r.positions[2];
    r2.ctx.config = r2.cfg;
    r2.ctx.options = &r2.opts;
    r2.ctx.state = r2.state;
    r2.ctx.n_state = 1;
    assert_int_equal((&nb_connector_csv)->source->open(&r2.self, &r2.ctx, &err), NB_OK);
    assert_int_equal(run_all(&r2, &err), NB_OK);
    assert_int_equal(r2.n_rows, 2900);
    const char *tail = ref.rows.data;
    for (int i = 0; i < 2100; i++) tail = strchr(tail, '\n') + 1;
    assert_string_equal(r2.rows.data, tail);
    assert_string_equal(r2.last_position, r.last_position);
    run_close(&r2);
    run_close(&r);
    run_close(&ref);
}

static void test_inference_off_and_columns(void **state)
{
    (void)state;
    write_file("t.csv", "a,b,c\n1,2.5,x\n2,3,y\n");
    struct run r;
    struct nb_error err = {0};
    assert_int_equal(run_open(&r, yaml("path: %s/t.csv\ninfer_types: false\n", dir), 0, &err), NB_OK);
    struct nb_buf j;
    nb_buf_init(&j);
    assert_int_equal((&nb_connector_csv)->source->discover(r.self, &j, &err), NB_OK);
    assert_null(strstr(j.data, "int64"));
    run_close(&r);
    nb_buf_reset(&j);
    assert_int_equal(run_open(&r, yaml("path: %s/t.csv\ncolumns:\n  b: string\n  c: int64\n", dir), 0, &err), NB_OK);
    assert_int_equal((&nb_connector_csv)->source->discover(r.self, &j, &err), NB_OK);
    assert_non_null(strstr(j.data, "{\"name\":\"a\",\"type\":\"int64\""));
    assert_non_null(strstr(j.data, "{\"name\":\"b\",\"type\":\"string\""));
    assert_int_equal(run_all(&r, &err), NB_OK);
    assert_string_equal(r.rows.data, "t: 1|2.5|!x\nt: 2|3|!y\n");
    run_close(&r);
    assert_int_equal(run_open(&r, yaml("path: %s/t.csv\ncolumns:\n  nope: int64\n", dir), 0, &err), NB_OK);
    assert_int_equal(run_all(&r, &err), NB_ERR_CONFIG);
    assert_non_null(strstr(err.message, "nope"));
    run_close(&r);
    nb_buf_cleanup(&j);
}

static void test_compressed(void **state)
{
    (void)state;
    write_gz("z.csv.gz", "k,v\n1,\"a\nb\"\n2,c\n");
    struct run r;
    struct nb_error err = {0};
    assert_int_equal(run_open(&r, yaml("path: %s/z.csv.gz\n", dir), 0, &err), NB_OK);
    assert_string_equal(nb_file_source_stream_name(r.self, 0), "z");
    assert_int_equal(run_all(&r, &err), NB_OK);
    assert_string_equal(r.rows.data, "z: 1|a\nb\nz: 2|c\n");
    run_close(&r);
}

static void test_empty_and_header_only_files(void **state)
{
    (void)state;
    write_file("empty.csv", "");
    write_file("hdr.csv", "a,b\n");
    struct run r;
    struct nb_error err = {0};
    assert_int_equal(run_open(&r, yaml("path: %s/empty.csv\n", dir), 0, &err), NB_OK);
    assert_int_equal(run_all(&r, &err), NB_OK);
    assert_int_equal(r.n_rows, 0);
    assert_int_equal(r.eos, 1);
    run_close(&r);
    assert_int_equal(run_open(&r, yaml("path: %s/hdr.csv\n", dir), 0, &err), NB_OK);
    assert_int_equal(run_all(&r, &err), NB_OK);
    assert_int_equal(r.n_rows, 0);
    assert_int_equal(r.eos, 1);
    run_close(&r);
    /* The schema comes from the first file that is not empty. */
    write_file("g_1.csv", "");
    write_file("g_2.csv", "a,b\n1,2\n");
    write_file("g_3.csv", "a,b\n3,4\n");
    assert_int_equal(run_open(&r, yaml("path: %s/g_*.csv\n", dir), 0, &err), NB_OK);
    assert_int_equal(run_all(&r, &err), NB_OK);
    assert_string_equal(r.rows.data, "g_1: 1|2\ng_1: 3|4\n");
    assert_int_equal(r.eos, 1);
    run_close(&r);
    assert_int_equal(run_open(&r, yaml("path: %s/nothing*.csv\n", dir), 0, &err), NB_ERR_NOT_FOUND);
    run_close(&r);
}

static void test_record_too_long(void **state)
{
    (void)state;
    /* 3 MB in one line, limit 1 MiB: an error naming the line, not an unbounded read. */
    size_t n = 3u << 20;
    char *big = malloc(n + 32);
    strcpy(big, "a\nok\n\"");
    memset(big + 6, 'x', n);
    big[n + 6] = '\0';
    write_file("long.csv", big);
    free(big);
    struct run r;
    struct nb_error err = {0};
    assert_int_equal(run_open(&r, yaml("path: %s/long.csv\nmax_record_size: 1MiB\ninfer_rows: 1\n", dir), 0, &err), NB_OK);
    assert_int_equal(run_all(&r, &err), NB_ERR_LIMIT);
    assert_non_null(strstr(err.message, "long.csv:3"));
    assert_non_null(strstr(err.message, "max_record_size"));
    run_close(&r);
}

static void test_bad_records_policy(void **state)
{
    (void)state;
    write_file("bad.csv", "a,b\n1,2\n3\n4,\xff\n");
    struct run r;
    struct nb_error err = {0};
    assert_int_equal(run_open(&r, yaml("path: %s/bad.csv\n", dir), 0, &err), NB_OK);
    assert_int_equal(run_all(&r, &err), NB_ERR_INVALID);
    char want[400];
    snprintf(want, sizeof want, "%s/bad.csv:3:1", dir);
    assert_non_null(strstr(err.message, want));
    run_close(&r);
}

/* A pipe is read once (the schema sample and the rows share the open stream), and rows that have
 * arrived are handed over before the writer closes it. */
static void test_fifo(void **state)
{
    (void)state;
    char p[512];
    snprintf(p, sizeof p, "%s/pipe.csv", dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = fopen(p, "w");
        if (!f) _exit(1);
        fputs("a,b\n1,x\n2,y\n", f);
        fflush(f);
        usleep(400 * 1000);
        fputs("3,z\n", f);
        fclose(f);
        _exit(0);
    }
    struct run r;
    struct nb_error err = {0};
    assert_int_equal(run_open(&r, yaml("path: %s\n", p), 0, &err), NB_OK);
    struct nb_batch *b = NULL;
    assert_int_equal((&nb_connector_csv)->source->read(r.self, &b, &err), NB_OK);
    assert_non_null(b->decode);
    assert_int_equal(b->decode(b, &err), NB_OK);
    assert_int_equal(b->n_rows, 2);   /* before the writer's last line */
    assert_false(b->end_of_stream);
    nb_batch_destroy(b);
    assert_int_equal(run_all(&r, &err), NB_OK);
    assert_string_equal(r.rows.data, "pipe: 3|z\n");
    assert_int_equal(r.eos, 1);
    run_close(&r);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_int_equal(status, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_glob_one_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_per_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_positions_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inference_off_and_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_header_only_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_records_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
