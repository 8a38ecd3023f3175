/* The engine with in-process fake connectors: order under many workers, checkpoint -> state ->
 * ack ordering (an ack never runs ahead of what the destination made durable), bad records of
 * typed destinations, cancellation, and resume from the saved state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "pipeline/engine.h"
#include "pipeline/options.h"

/* ---- fake source: two streams, interleaved, raw batches decoded on workers ---------------- */
struct fake_src {
    const struct nb_context *ctx;
    int next[2];          /* next batch index per stream */
    int batches;          /* per stream */
    int rows;             /* per batch */
    int turn;
    int acks;
    long acked[2];        /* last acked batch index per stream */
    int bad_row;          /* global row number to make a mismatch on, -1 none */
    int cancel_after;     /* set ctx cancel after this many reads, -1 never */
    int reads;
};
static struct fake_src *g_src;

static nb_status src_decode(struct nb_batch *b, struct nb_error *err)
{
    int base = atoi(b->raw);
    int rows = (int)(b->raw_len);
    usleep((unsigned)(rand() % 300));   /* shuffle completion order between workers */
    for (int r = 0; r < rows; r++) {
        char v[32];
        int n = snprintf(v, sizeof v, "%d", base + r);
        nb_column_append_text(&b->cols[0], v, (size_t)n);
        if (g_src->bad_row == base + r) {
            nb_column_append_text(&b->cols[1], "N/A", 3);
            nb_column_mark_mismatch(&b->cols[1]);
        } else {
            nb_column_append_text(&b->cols[1], v, (size_t)n);
        }
    }
    b->n_rows = (size_t)rows;
    return nb_batch_check(b, err);
}

static void raw_free(void *raw, void *opaque) { (void)opaque; free(raw); }

static nb_status src_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    g_src->ctx = ctx;
    /* Resume: start after the saved batch index of each stream. */
    for (int s = 0; s < 2; s++) {
        const struct nb_stream_state *st = nb_context_state(ctx, s ? "b" : "a");
        if (st && st->source_position) {
            struct nb_arena a;
            nb_arena_init(&a, 1024);
            struct nb_json *j;
            int64_t n = -1;
            if (nb_json_parse(st->source_position, strlen(st->source_position), &a, &j, NULL) == NB_OK)
                nb_json_get_i64(j, "batch", &n);
            g_src->next[s] = (int)n + 1;
            nb_arena_cleanup(&a);
        }
    }
    *self = g_src;
    return NB_OK;
}

static nb_status src_read(void *self, struct nb_batch **out, struct nb_error *err)
{
    struct fake_src *s = self;
    if (s->cancel_after >= 0 && s->reads++ == s->cancel_after) atomic_store(s->ctx->cancel, true);
    int st = s->turn++ % 2;
    if (s->next[st] >= s->batches) st = 1 - st;
    if (s->next[st] >= s->batches) return NB_DONE;
    int idx = s->next[st]++;
    struct nb_schema *schema = nb_schema_create();
    nb_schema_add(schema, "id", nb_type_make(NB_TYPE_INT64), false);
    nb_schema_add(schema, "v", nb_type_make(NB_TYPE_INT64), true);
    struct nb_batch *b = nb_batch_create(schema, (size_t)s->rows);
    nb_schema_release(schema);
    b->stream = st ? "b" : "a";
    b->position = nb_arena_printf(&b->arena, "{\"batch\":%d}", idx);
    b->raw = malloc(32);
    snprintf(b->raw, 32, "%d", (st * 1000000) + idx * s->rows);
    b->raw_len = (size_t)s->rows;     /* the fake keeps the row count here */
    b->raw_free = raw_free;
    b->decode = src_decode;
    b->end_of_stream = idx == s->batches - 1;
    *out = b;
    return NB_OK;
}

static long durable[2] = {-1, -1};     /* batch index the destination made durable, per stream */
static nb_status src_ack(void *self, const char *stream, const char *position, struct nb_error *err)
{
    struct fake_src *s = self;
    int st = strcmp(stream, "b") == 0;
    long n = atol(strchr(position, ':') + 1);
    assert_true(n <= durable[st]);      /* never ahead of the destination */
    assert_true(n >= s->acked[st]);     /* never backwards */
    s->acked[st] = n;
    s->acks++;
    return NB_OK;
}
static void src_close(void *self) { (void)self; }

static const struct nb_source_ops fake_source_ops = {
    .spec = NULL, .open = src_open, .read = src_read, .ack = src_ack, .close = src_close,
};
static const struct nb_connector_ops fake_source = {"fake", "test source", NB_SOURCE, 0, 0, &fake_source_ops, NULL};

/* ---- fake destination: records rows, commits, end of streams ------------------------------- */
struct fake_dst {
    long last_id[2];
    long rows;
    long written_batch[2];
    int commits, ends, closes;
    bool close_success, keep_partial;
    bool fail_commit;
};
static struct fake_dst g_dst;

static nb_status dst_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    *self = &g_dst;
    return NB_OK;
}
static nb_status dst_write(void *self, const struct nb_batch *b, const struct nb_buf *enc, struct nb_error *err)
{
    struct fake_dst *d = self;
    int st = strcmp(b->stream, "b") == 0;
    for (size_t r = 0; r < b->n_rows; r++) {
        size_t len;
        const char *t = nb_column_text(&b->cols[0], r, &len);
        char num[32];
        snprintf(num, sizeof num, "%.*s", (int)len, t);
        long id = strtol(num, NULL, 10);
        if (id <= d->last_id[st]) fprintf(stderr, "stream %d: id %ld after %ld (batch %s)\n", st, id, d->last_id[st], b->position);
        assert_true(id > d->last_id[st]);   /* in order within the stream */
        d->last_id[st] = id;
        d->rows++;
    }
    d->written_batch[st] = atol(strchr(b->position, ':') + 1);
    return NB_OK;
}
static nb_status dst_commit(void *self, const char *stream, struct nb_buf *state, struct nb_error *err)
{
    struct fake_dst *d = self;
    int st = strcmp(stream, "b") == 0;
    if (d->fail_commit) return nb_error_set(err, NB_ERR_IO, "disk full");
    durable[st] = d->written_batch[st];
    nb_buf_printf(state, "{\"durable\":%ld}", durable[st]);
    d->commits++;
    return NB_OK;
}
static nb_status dst_end(void *self, const char *stream, struct nb_error *err)
{
    struct fake_dst *d = self;
    if (d->fail_commit) return nb_error_set(err, NB_ERR_IO, "disk full");
    durable[strcmp(stream, "b") == 0] = d->written_batch[strcmp(stream, "b") == 0];
    d->ends++;
    return NB_OK;
}
static void dst_close(void *self, bool success, bool keep)
{
    struct fake_dst *d = self;
    d->closes++;
    d->close_success = success;
    d->keep_partial = keep;
}
static struct nb_destination_ops fake_dest_ops = {
    .spec = NULL, .typed = false, .open = dst_open, .write = dst_write, .commit = dst_commit,
    .end_stream = dst_end, .close = dst_close,
};
static const struct nb_connector_ops fake_dest = {"fakedst", "test destination", NB_DESTINATION, 0, 0, NULL, &fake_dest_ops};

/* ---- harness -------------------------------------------------------------------------------- */
static struct fake_src src_state;
static char state_path[256];

static nb_status run(const char *extra_yaml, struct nb_run_stats *stats, struct nb_error *err)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "source: {type: fake}\ndestination: {type: fakedst}\nperformance: {workers: 4, flush_interval: 1ms}\n"
             "state: {path: %s}\n%s", state_path, extra_yaml);
    struct nb_cfg *root = NULL;
    nb_status rc = nb_cfg_load_string(yaml, strlen(yaml), "test.yaml", &root, err);
    assert_int_equal(rc, NB_OK);
    struct nb_run_options opts;
    rc = nb_pipeline_options(root, &opts, NULL, err);
    assert_int_equal(rc, NB_OK);
    static atomic_bool cancel;
    atomic_store(&cancel, false);
    struct nb_run_request req = {root, &opts, &cancel, NULL, NULL, 0, &fake_source, &fake_dest};
    rc = nb_pipeline_run(&req, stats, err);
    nb_cfg_destroy(root);
    return rc;
}

static int setup(void **state)
{
    memset(&src_state, 0, sizeof src_state);
    src_state.batches = 50;
    src_state.rows = 37;
    src_state.bad_row = -1;
    src_state.cancel_after = -1;
    src_state.acked[0] = src_state.acked[1] = -1;
    g_src = &src_state;
    memset(&g_dst, 0, sizeof g_dst);
    g_dst.last_id[0] = g_dst.last_id[1] = -1;
    durable[0] = durable[1] = -1;
    snprintf(state_path, sizeof state_path, "/tmp/nb-engine-test-%d.json", (int)getpid());
    unlink(state_path);
    fake_dest_ops.typed = false;
    return 0;
}
static int teardown(void **state) { unlink(state_path); return 0; }

static void test_order_and_acks(void **state)
{
    struct nb_run_stats st;
    struct nb_error err = {0};
    assert_int_equal(run("", &st, &err), NB_OK);
    assert_int_equal(g_dst.rows, 2 * 50 * 37);
    assert_int_equal(st.rows_out, 2 * 50 * 37);
    assert_int_equal(g_dst.ends, 2);
    assert_true(g_dst.close_success);
    assert_int_equal(src_state.acked[0], 49);   /* the final position reached the source */
    assert_int_equal(src_state.acked[1], 49);
    /* The state says both streams are done, at their last position. */
    char *text = NULL;
    FILE *f = fopen(state_path, "r");
    assert_non_null(f);
    text = calloc(1, 65536);
    size_t n = fread(text, 1, 65535, f);
    fclose(f);
    assert_true(n > 0);
    assert_non_null(strstr(text, "\"done\": true"));
    assert_non_null(strstr(text, "{\"batch\":49}"));
    free(text);
}

static void test_resume_skips_done_and_continues(void **state)
{
    struct nb_run_stats st;
    struct nb_error err = {0};
    src_state.cancel_after = 30;       /* stop part-way */
    assert_int_equal(run("", &st, &err), NB_ERR_CANCELLED);
    assert_false(g_dst.close_success);
    assert_true(g_dst.keep_partial);   /* a state file exists: partial output is kept */
    long first_rows = g_dst.rows;
    assert_true(first_rows > 0 && first_rows < 2 * 50 * 37);
    /* Second run: the source resumes after the saved positions; together nothing is lost. */
    long acked_a = src_state.acked[0], acked_b = src_state.acked[1];
    src_state.next[0] = src_state.next[1] = 0;
    src_state.cancel_after = -1;
    src_state.reads = 0;
    g_dst.written_batch[0] = g_dst.written_batch[1] = 0;
    assert_int_equal(run("", &st, &err), NB_OK);
    /* Rows written in run 1 after the last checkpoint are written again (at-least-once), never fewer. */
    assert_true(g_dst.rows >= 2 * 50 * 37);
    assert_true(acked_a >= -1 && acked_b >= -1);
    assert_int_equal(src_state.acked[0], 49);
}

static void test_typed_destination_bad_records(void **state)
{
    struct nb_run_stats st;
    struct nb_error err = {0};
    fake_dest_ops.typed = true;
    src_state.bad_row = 1000 + 5;
    assert_int_equal(run("", &st, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "column 'v'"));
    assert_non_null(strstr(err.message, "'N/A'"));
    setup(NULL);
    fake_dest_ops.typed = true;
    src_state.bad_row = 1000 + 5;
    assert_int_equal(run("errors: {on_bad_record: skip}\n", &st, &err), NB_OK);
    assert_int_equal(st.bad_records, 1);
    assert_int_equal(g_dst.rows, 2 * 50 * 37 - 1);
}

static void test_destination_failure_stops_without_ack(void **state)
{
    struct nb_run_stats st;
    struct nb_error err = {0};
    g_dst.fail_commit = true;
    assert_int_equal(run("", &st, &err), NB_ERR_IO);
    assert_non_null(strstr(err.message, "disk full"));
    assert_int_equal(src_state.acks, 0);
    assert_false(g_dst.close_success);
}

int main(void)
{
    srand(7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_skips_done_and_continues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_destination_bad_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destination_failure_stops_without_ack, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
