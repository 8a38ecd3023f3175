/* CSV parser micro-benchmark (not part of `make test`): decode throughput in MB/s of the scanner,
 * the decoder (typed and all-string), the plain C path, and the writer, on users-shaped rows
 * (~77-93 bytes, like `nb-gen users`) generated in memory, or on a file given as argument.
 * Single-thread figures are per CPU second (thread CPU time), so a busy machine does not skew them.
 *   nb-bench-csv [FILE] [MB]      (default: 64 MB generated)
 *   nb-bench-csv FILE 0 typed|strings [walk]   one phase only (for perf/callgrind), walk: the record
 *                                               walk without the column-at-a-time path */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "formats/csv/csv.h"
#include "formats/format.h"

static const char *first[] = {"Ada", "Alan", "Grace", "Linus", "Barbara", "Edsger", "Donald", "Frances"};
static const char *last[] = {"Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Dijkstra", "Knuth", "Allen"};

static char *generate(size_t target, size_t *len, size_t *rows)
{
    struct nb_buf b;
    nb_buf_init(&b);
    nb_buf_puts(&b, "id,name,email,age,score,active,created_at\n");
    uint64_t x = 88172645463325252ull;
    size_t r = 0;
    while (b.len < target) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        r++;
        const char *f = first[x % 8], *l = last[(x >> 8) % 8];
        nb_buf_printf(&b, "%zu,%s %s,%s.%s%zu@mail.example.io,%u,%u.%02u,%s,2024-%02u-%02uT%02u:%02u:%02uZ\n", r, f, l,
                      f, l, r, (unsigned)(18 + (x >> 16) % 60), (unsigned)((x >> 24) % 1000), (unsigned)((x >> 34) % 100),
                      (x >> 40) & 1 ? "true" : "false", (unsigned)(1 + (x >> 41) % 12), (unsigned)(1 + (x >> 45) % 28),
                      (unsigned)((x >> 50) % 24), (unsigned)((x >> 52) % 60), (unsigned)((x >> 56) % 60));
    }
    *rows = r;
    return nb_buf_detach(&b, len);
}

struct job {
    const struct nb_csv_dialect *d;
    const char *data;
    size_t len;
    struct nb_schema *schema;
    size_t rows;
    int part, parts;
    double secs;
};

static size_t chunk_ends[1 << 16];

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static size_t n_chunks;

static void *decode_part(void *arg)
{
    struct job *j = arg;
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    struct nb_error err;
    for (size_t c = (size_t)j->part; c < n_chunks; c += (size_t)j->parts) {
        size_t start = c ? chunk_ends[c - 1] : 0;
        struct nb_batch *b = nb_batch_create(j->schema, 0);
        struct nb_csv_chunk ch = {j->data + start, chunk_ends[c] - start, "bench", "bench", 1, start, 10000};
        if (nb_csv_decode(j->d, &ch, b, NULL, &err) != NB_OK) { fprintf(stderr, "%s\n", err.message); exit(1); }
        j->rows += b->n_rows;
        nb_batch_destroy(b);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    j->secs = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    return NULL;
}

static double run_decode(const struct nb_csv_dialect *d, const char *data, size_t len, struct nb_schema *s, int threads,
                         size_t *rows)
{
    struct job jobs[8];
    pthread_t th[8];
    uint64_t t0 = nb_mono_ns();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct job){d, data, len, s, 0, i, threads, 0};
        pthread_create(&th[i], NULL, decode_part, &jobs[i]);
    }
    *rows = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        *rows += jobs[i].rows;
    }
    /* One thread: its CPU time (the machine may be shared); several: wall time. */
    return threads == 1 ? jobs[0].secs : (double)(nb_mono_ns() - t0) / 1e9;
}

int main(int argc, char **argv)
{
    size_t len = 0, rows = 0, mb = argc > 2 ? (size_t)atoi(argv[2]) : 64;
    char *text = NULL;
    if (argc > 1 && strcmp(argv[1], "-") != 0) {
        FILE *f = fopen(argv[1], "rb");
        if (!f) { perror(argv[1]); return 1; }
        struct nb_buf b;
        nb_buf_init(&b);
        char tmp[1 << 16];
        size_t n;
        while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) nb_buf_append(&b, tmp, n);
        fclose(f);
        text = nb_buf_detach(&b, &len);
    } else {
        text = generate(mb << 20, &len, &rows);
    }
    struct nb_csv_dialect d;
    nb_csv_dialect_init(&d);
    struct nb_error err;
    size_t skip, hat;
    uint64_t lines;
    nb_csv_preamble(&d, text, len, true, &skip, &lines, &hat, &err);
    struct nb_schema *names = NULL, *typed = NULL, *strs = NULL;
    nb_csv_header(&d, text + hat, skip - hat, "bench", 1, &names, &err);
    const char *body = text + skip;
    size_t blen = len - skip;

    /* Scan: boundaries of 10000-record chunks (the file source's job, on the reader thread). */
    uint64_t t0 = cpu_ns();
    size_t pos = 0;
    n_chunks = 0;
    while (pos < blen && n_chunks < (1 << 16)) {
        struct nb_csv_scan sc;
        nb_csv_scan_records(&d, body + pos, blen - pos, true, 10000, &sc, "bench", 1, &err);
        if (!sc.consumed) break;
        pos += sc.consumed;
        chunk_ends[n_chunks++] = pos;
    }
    double scan_s = (double)(cpu_ns() - t0) / 1e9;
    struct nb_csv_scan sc;
    nb_csv_scan_records(&d, body, blen, true, 10000, &sc, "bench", 1, &err);
    nb_csv_infer(&d, names, body, sc.consumed, true, NULL, 0, &typed, &err);
    nb_csv_infer(&d, names, body, sc.consumed, false, NULL, 0, &strs, &err);
    double mbytes = (double)blen / 1e6;
    if (!rows) rows = (size_t)sc.records;   /* a file: rows of the first chunk stand for the average */
    printf("input: %.1f MB, %zu chunks, %.1f bytes/row, classifier %s\n", mbytes, n_chunks,
           rows == (size_t)sc.records ? (double)sc.consumed / (double)rows : (double)blen / (double)rows,
           nb_csv_isa_name(nb_csv_isa_active()));
    printf("scan (record boundaries)          %8.0f MB/s\n", mbytes / scan_s);
    size_t got;
    double s;
    if (argc > 3) {   /* profiling: one phase only, several times */
        struct nb_schema *which = strcmp(argv[3], "typed") == 0 ? typed : strs;
        if (argc > 4 && strcmp(argv[4], "walk") == 0) nb_csv_columnar(false);
        for (int k = 0; k < 5; k++) {
            s = run_decode(&d, body, blen, which, 1, &got);
            printf("decode %s: %.0f MB/s\n", argv[3], mbytes / s);
        }
        return 0;
    }
    s = run_decode(&d, body, blen, typed, 1, &got);
    printf("decode, inferred types, 1 thread  %8.0f MB/s  %6.2f M rows/s\n", mbytes / s, (double)got / s / 1e6);
    s = run_decode(&d, body, blen, strs, 1, &got);
    printf("decode, all strings,    1 thread  %8.0f MB/s\n", mbytes / s);
    bool was = nb_csv_columnar(false);
    s = run_decode(&d, body, blen, typed, 1, &got);
    printf("  record walk only, inferred types %7.0f MB/s\n", mbytes / s);
    s = run_decode(&d, body, blen, strs, 1, &got);
    printf("  record walk only, all strings    %7.0f MB/s\n", mbytes / s);
    nb_csv_columnar(was);
    s = run_decode(&d, body, blen, typed, 2, &got);
    printf("decode, inferred types, 2 threads %8.0f MB/s\n", mbytes / s);
    enum nb_csv_isa best = nb_csv_isa_active();
    nb_csv_isa_force(NB_CSV_ISA_PLAIN);
    s = run_decode(&d, body, blen, typed, 1, &got);
    printf("decode, plain C path,   1 thread  %8.0f MB/s\n", mbytes / s);
    nb_csv_isa_force(best);

    /* Writer: encode the decoded batches back to CSV. */
    void *opts = NULL;
    nb_format_csv.options_create(NULL, &opts, &err);
    struct nb_buf out;
    nb_buf_init(&out);
    double enc_s = 0;
    size_t out_bytes = 0;
    for (size_t c = 0; c < n_chunks; c++) {
        size_t start = c ? chunk_ends[c - 1] : 0;
        struct nb_batch *b = nb_batch_create(typed, 0);
        struct nb_csv_chunk ch = {body + start, chunk_ends[c] - start, "bench", "bench", 1, start, 10000};
        nb_csv_decode(&d, &ch, b, NULL, &err);
        uint64_t e0 = cpu_ns();
        nb_buf_reset(&out);
        nb_format_csv.encode(opts, b, &out, &err);
        enc_s += (double)(cpu_ns() - e0) / 1e9;
        out_bytes += out.len;
        nb_batch_destroy(b);
    }
    printf("encode CSV (writer), 1 thread     %8.0f MB/s  (%s)\n", (double)out_bytes / 1e6 / enc_s,
           out_bytes == blen ? "byte-identical size" : "size differs");
    nb_buf_cleanup(&out);
    nb_format_csv.options_destroy(opts);
    nb_schema_release(names);
    nb_schema_release(typed);
    nb_schema_release(strs);
    free(text);
    return 0;
}
