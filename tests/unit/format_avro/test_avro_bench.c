/* Encoder throughput on a 7-column users-like table: our encoder (text columns parsed with
 * batch/value.h, encoded and framed) against libavro's generic-value writer fed the same parsed
 * values. Correctness is checked (both files read back by libavro); the numbers are printed, never
 * asserted. Rows: NB_AVRO_BENCH_ROWS (default 20000 so the suite stays fast; the report used 1M). */
#include <avro.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch/value.h"
#include "core/clock.h"
#include "formats/format.h"
#include "helper_avro.h"

static const struct tcol cols[] = {
    {"id", {NB_TYPE_INT64, 0, 0, false}, false},
    {"name", {NB_TYPE_STRING, 0, 0, false}, true},
    {"email", {NB_TYPE_STRING, 0, 0, false}, true},
    {"age", {NB_TYPE_INT32, 0, 0, false}, true},
    {"score", {NB_TYPE_FLOAT64, 0, 0, false}, true},
    {"created_at", {NB_TYPE_TIMESTAMP, 0, 0, true}, true},
    {"active", {NB_TYPE_BOOL, 0, 0, false}, true},
};
#define NCOL 7
#define BATCH 10000

static size_t bench_rows(void)
{
    const char *e = getenv("NB_AVRO_BENCH_ROWS");
    long n = e ? atol(e) : 0;
    return n > 0 ? (size_t)n : 20000;
}

/* Batches of text, as a CSV source would hand them over. */
static struct nb_batch **make_batches(struct nb_schema *s, size_t rows, size_t *nb, size_t *text_bytes)
{
    static const char *first[] = {"Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances"};
    static const char *last[] = {"Lovelace", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen"};
    *nb = (rows + BATCH - 1) / BATCH;
    struct nb_batch **b = calloc(*nb, sizeof *b);
    *text_bytes = 0;
    uint64_t x = 88172645463325252ull;
    for (size_t k = 0; k < *nb; k++) {
        size_t n = rows - k * BATCH < BATCH ? rows - k * BATCH : BATCH;
        b[k] = nb_batch_create(s, n);
        b[k]->stream = "users";
        for (size_t i = 0; i < n; i++) {
            size_t r = k * BATCH + i;
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            char v[NCOL][96];
            size_t len[NCOL];
            const char *f = first[x % 8], *l = last[(x >> 8) % 8];
            len[0] = (size_t)snprintf(v[0], 96, "%zu", r + 1);
            len[1] = (size_t)snprintf(v[1], 96, "%s %s", f, l);
            len[2] = (size_t)snprintf(v[2], 96, "%s.%s%zu@example.com", f, l, r);
            len[3] = (size_t)snprintf(v[3], 96, "%u", (unsigned)(18 + (x >> 16) % 70));
            len[4] = (size_t)snprintf(v[4], 96, "%u.%02u", (unsigned)((x >> 24) % 1000), (unsigned)((x >> 34) % 100));
            len[5] = (size_t)snprintf(v[5], 96, "2024-%02u-%02uT%02u:%02u:%02u.%06uZ", (unsigned)(1 + (x >> 40) % 12),
                                      (unsigned)(1 + (x >> 44) % 28), (unsigned)((x >> 49) % 24), (unsigned)((x >> 54) % 60),
                                      (unsigned)(r % 60), (unsigned)(r % 1000000));
            len[6] = (size_t)snprintf(v[6], 96, "%s", (x >> 60) & 1 ? "true" : "false");
            for (int c = 0; c < NCOL; c++) {
                if (c != 0 && (x >> (c * 3)) % 17 == 0) nb_column_append_null(&b[k]->cols[c]);
                else nb_column_append_text(&b[k]->cols[c], v[c], len[c]);
                *text_bytes += len[c] + 1;
            }
        }
        b[k]->n_rows = n;
    }
    return b;
}

/* An ostream onto a stdio file: what the file destination does, minus fsync and rename. */
struct file_os { struct nb_ostream base; FILE *fp; };
static nb_status fos_write(struct nb_ostream *s, const void *p, size_t n, struct nb_error *err)
{
    struct file_os *f = (struct file_os *)s;
    s->bytes_in += n;
    s->bytes_out += n;
    return fwrite(p, 1, n, f->fp) == n ? NB_OK : nb_error_set(err, NB_ERR_IO, "short write");
}
static const struct nb_ostream_ops fos_ops = {.write = fos_write};

/* Encode (the workers' part) and frame (the committer's part) timed apart. */
static nb_status ours(const char *path, enum nb_avro_codec codec, struct nb_schema *s, struct nb_batch **b, size_t nb,
                      size_t *out_bytes, double *enc_sec, struct nb_error *err)
{
    struct nb_avro_options o = {codec, 0, NB_AVRO_DEFAULT_BLOCK_SIZE, 0};
    struct file_os fos = {{&fos_ops, 0, 0}, fopen(path, "wb")};
    if (!fos.fp) return nb_error_set(err, NB_ERR_IO, "cannot open %s", path);
    struct nb_buf enc;
    nb_buf_init(&enc);
    void *w = NULL;
    uint64_t te = 0;
    nb_status st = nb_format_avro.writer_open(&w, &o, &fos.base, s, NULL, err);
    for (size_t i = 0; st == NB_OK && i < nb; i++) {
        uint64_t t0 = nb_mono_ns();
        st = nb_format_avro.encode(&o, b[i], &enc, err);
        te += nb_mono_ns() - t0;
        if (st == NB_OK) st = nb_format_avro.writer_write(w, b[i], &enc, err);
    }
    if (st == NB_OK) st = nb_format_avro.writer_finish(w, err);
    nb_format_avro.writer_destroy(w);
    nb_buf_cleanup(&enc);
    fclose(fos.fp);
    *out_bytes = fos.base.bytes_out;
    *enc_sec = (double)te / 1e9;
    return st;
}

static const char *libavro_schema =
    "{\"type\":\"record\",\"name\":\"users\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"email\",\"type\":[\"null\",\"string\"]},{\"name\":\"age\",\"type\":[\"null\",\"int\"]},"
    "{\"name\":\"score\",\"type\":[\"null\",\"double\"]},"
    "{\"name\":\"created_at\",\"type\":[\"null\",{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}]},"
    "{\"name\":\"active\",\"type\":[\"null\",\"boolean\"]}]}";

/* libavro's writer fed the same values: text parsed by the same functions, or native values. */
static int theirs(const char *path, const char *codec, struct nb_batch **b, size_t nb)
{
    avro_schema_t schema;
    if (avro_schema_from_json_length(libavro_schema, strlen(libavro_schema), &schema) != 0) return -1;
    remove(path);
    avro_file_writer_t w;
    if (avro_file_writer_create_with_codec(path, schema, &w, codec, 256 * 1024) != 0) { avro_schema_decref(schema); return -1; }
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t rec;
    avro_generic_value_new(iface, &rec);
    int rc = 0;
    for (size_t k = 0; k < nb && rc == 0; k++) {
        for (size_t i = 0; i < b[k]->n_rows && rc == 0; i++) {
            for (size_t c = 0; c < NCOL; c++) {
                const struct nb_column *col = &b[k]->cols[c];
                avro_value_t field, branch;
                avro_value_get_by_index(&rec, c, &field, NULL);
                if (c > 0) {
                    if (nb_column_is_null(col, i)) {
                        avro_value_set_branch(&field, 0, &branch);
                        avro_value_set_null(&branch);
                        continue;
                    }
                    avro_value_set_branch(&field, 1, &branch);
                } else {
                    branch = field;
                }
                size_t n = 0;
                const char *t = col->repr == NB_REPR_TEXT ? nb_column_text(col, i, &n) : NULL;
                int64_t i64 = 0;
                int32_t i32 = 0;
                double d = 0;
                bool bo = false, z;
                switch (c) {
                case 0:
                    if (t) nb_value_parse_i64(t, n, &i64); else i64 = nb_column_i64(col, i);
                    avro_value_set_long(&branch, i64);
                    break;
                case 1: case 2: avro_value_set_string_len(&branch, t, n + 1); break; /* wants the NUL counted */
                case 3:
                    if (t) nb_value_parse_i32(t, n, &i32); else i32 = nb_column_i32(col, i);
                    avro_value_set_int(&branch, i32);
                    break;
                case 4:
                    if (t) nb_value_parse_f64(t, n, &d); else d = nb_column_f64(col, i);
                    avro_value_set_double(&branch, d);
                    break;
                case 5:
                    if (t) nb_value_parse_timestamp(t, n, &i64, &z); else i64 = nb_column_i64(col, i);
                    avro_value_set_long(&branch, i64);
                    break;
                case 6:
                    if (t) nb_value_parse_bool(t, n, &bo); else bo = nb_column_bool(col, i);
                    avro_value_set_boolean(&branch, bo);
                    break;
                }
            }
            rc = avro_file_writer_append_value(w, &rec);
        }
    }
    avro_file_writer_close(w);
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    return rc;
}

/* The same rows with the fixed-width columns native, as a typed source (a database) sends them. */
static struct nb_batch *to_native(struct nb_schema *s, const struct nb_batch *t)
{
    struct nb_batch *b = nb_batch_create(s, t->n_rows);
    for (size_t c = 0; c < NCOL; c++)
        if (c != 1 && c != 2) nb_batch_set_repr(b, c, NB_REPR_NATIVE);
    for (size_t i = 0; i < t->n_rows; i++) {
        for (size_t c = 0; c < NCOL; c++) {
            const struct nb_column *tc = &t->cols[c];
            struct nb_column *nc = &b->cols[c];
            if (nb_column_is_null(tc, i)) { nb_column_append_null(nc); continue; }
            size_t n;
            const char *x = nb_column_text(tc, i, &n);
            int64_t i64 = 0;
            int32_t i32 = 0;
            double d = 0;
            bool bo = false, z;
            switch (c) {
            case 0: nb_value_parse_i64(x, n, &i64); nb_column_append_i64(nc, i64); break;
            case 1: case 2: nb_column_append_text(nc, x, n); break;
            case 3: nb_value_parse_i32(x, n, &i32); nb_column_append_i32(nc, i32); break;
            case 4: nb_value_parse_f64(x, n, &d); nb_column_append_f64(nc, d); break;
            case 5: nb_value_parse_timestamp(x, n, &i64, &z); nb_column_append_i64(nc, i64); break;
            case 6: nb_value_parse_bool(x, n, &bo); nb_column_append_bool(nc, bo); break;
            }
        }
    }
    b->n_rows = t->n_rows;
    b->stream = "users";
    return b;
}

static void file_size(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return;
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fclose(fp);
}

static void test_bench(void **state)
{
    (void)state;
    size_t rows = bench_rows(), nb, text_bytes;
    const char *rep = getenv("NB_AVRO_BENCH_REPEAT");
    int repeat = rep && atoi(rep) > 0 ? atoi(rep) : 1;
    /* NB_AVRO_BENCH_ONLY=ours: skip libavro (for profiling the encoder alone). */
    const char *only = getenv("NB_AVRO_BENCH_ONLY");
    bool only_ours = only && strcmp(only, "ours") == 0;
    struct nb_schema *s = h_schema(cols, NCOL);
    struct nb_batch **bt = make_batches(s, rows, &nb, &text_bytes);
    struct nb_batch **bn = calloc(nb, sizeof *bn);
    for (size_t k = 0; k < nb; k++) bn[k] = to_native(s, bt[k]);
    const enum nb_avro_codec codecs[] = {NB_AVRO_NULL, NB_AVRO_SNAPPY, NB_AVRO_DEFLATE, NB_AVRO_ZSTD};
    const char *lib_codec[] = {"null", "snappy", "deflate", NULL};
    printf("avro bench: %zu rows x %d columns, %.1f MB as CSV-like text; best of %d; MB/s = text MB per second\n", rows,
           NCOL, text_bytes / 1e6, repeat);
    for (int input = 0; input < 2; input++) {
        struct nb_batch **b = input ? bn : bt;
        printf(" input: %s\n", input ? "native columns (typed source)" : "text columns (CSV source, parsed by batch/value.h)");
        for (size_t i = 0; i < 4; i++) {
            char name[64], msg[256];
            snprintf(name, sizeof name, "bench_ours_%d_%s.avro", input, nb_avro_codec_name(codecs[i]));
            const char *path = h_path(name);
            double best = 1e30, best_enc = 0;
            size_t out_bytes = 0;
            for (int r = 0; r < repeat; r++) {
                struct nb_error err = {0};
                double enc_sec = 0;
                uint64_t t0 = nb_mono_ns();
                if (ours(path, codecs[i], s, b, nb, &out_bytes, &enc_sec, &err) != NB_OK) fail_msg("%s", err.message);
                double sec = (double)(nb_mono_ns() - t0) / 1e9;
                if (sec < best) { best = sec; best_enc = enc_sec; }
            }
            long blocks, nrows;
            if (!h_walk(path, NULL, 0, &blocks, &nrows, NULL, msg, sizeof msg)) fail_msg("%s", msg);
            assert_int_equal(nrows, (long)rows);
            printf("  nebula  %-9s %6.2f Mrows/s %7.1f MB/s  %5.1f MB file  %.3f s (encode on the worker %.3f s)\n",
                   nb_avro_codec_name(codecs[i]), rows / best / 1e6, text_bytes / best / 1e6, out_bytes / 1e6, best, best_enc);
            if (only_ours) continue;
            if (!lib_codec[i]) { printf("  libavro %-9s (codec not in Debian's libavro)\n", "zstandard"); continue; }
            snprintf(name, sizeof name, "bench_libavro_%d_%s.avro", input, lib_codec[i]);
            path = h_path(name);
            best = 1e30;
            for (int r = 0; r < repeat; r++) {
                uint64_t t0 = nb_mono_ns();
                if (theirs(path, lib_codec[i], b, nb) != 0) fail_msg("libavro writer: %s", avro_strerror());
                double sec = (double)(nb_mono_ns() - t0) / 1e9;
                if (sec < best) best = sec;
            }
            if (!h_walk(path, NULL, 0, &blocks, &nrows, NULL, msg, sizeof msg)) fail_msg("%s", msg);
            assert_int_equal(nrows, (long)rows);
            file_size(path, &out_bytes);
            printf("  libavro %-9s %6.2f Mrows/s %7.1f MB/s  %5.1f MB file  %.3f s\n", lib_codec[i], rows / best / 1e6,
                   text_bytes / best / 1e6, out_bytes / 1e6, best);
        }
    }
    /* The same records from every writer and input (null codec), read back by libavro. */
    if (!only_ours) {
        const char *files[] = {"bench_ours_0_null.avro", "bench_ours_1_null.avro", "bench_libavro_0_null.avro",
                               "bench_libavro_1_null.avro"};
        struct nb_buf first, other;
        nb_buf_init(&first);
        nb_buf_init(&other);
        char msg[256];
        if (h_read_libavro(h_path(files[0]), cols, NCOL, &first, msg, sizeof msg) != (long)rows) fail_msg("%s", msg);
        for (size_t f = 1; f < 4; f++) {
            nb_buf_reset(&other);
            if (h_read_libavro(h_path(files[f]), cols, NCOL, &other, msg, sizeof msg) != (long)rows) fail_msg("%s", msg);
            assert_int_equal(first.len, other.len);
            assert_memory_equal(first.data, other.data, first.len);
        }
        nb_buf_cleanup(&first);
        nb_buf_cleanup(&other);
    }
    for (size_t k = 0; k < nb; k++) {
        nb_batch_destroy(bt[k]);
        nb_batch_destroy(bn[k]);
    }
    free(bt);
    free(bn);
    nb_schema_release(s);
}

static int teardown(void **state)
{
    (void)state;
    h_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bench)};
    return cmocka_run_group_tests(tests, NULL, teardown);
}
