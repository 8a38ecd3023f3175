/* Files: atomic output (partial name, finish renames, abort/destroy remove), checkpoint + resume
 * for plain and compressed files checked by the system tools, inputs (errors naming the path,
 * offsets, stdin, auto codec), globbing and the small file helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "io/helper_io.h"
#include "io/stream.h"

static size_t file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (size_t)sb.st_size;
}

static void test_atomic_finish(void **state)
{
    char *dir = tmpdir_create();
    const char *path = tpath(dir, "a/b/c/out.csv");
    char partial[4096];
    nb_partial_path(path, partial, sizeof partial);
    struct nb_ostream *os = NULL;
    struct nb_error err;
    assert_int_equal(nb_file_ostream_open(path, 0, &os, &err), NB_OK);
    assert_true(file_exists(tpath(dir, "a/b/c")));   /* parents created */
    struct nb_buf data;
    nb_buf_init(&data);
    test_data(&data, 3 * 1024 * 1024, 1);
    /* Small pieces (buffered) mixed with writes larger than the buffer (straight through). */
    size_t off = 0, sizes[] = {1, 10, 4096, 2 << 20, 7, 100000};
    for (int i = 0; off < data.len; i++) {
        size_t k = sizes[i % 6] < data.len - off ? sizes[i % 6] : data.len - off;
        assert_int_equal(nb_ostream_write(os, data.data + off, k, &err), NB_OK);
        off += k;
        assert_false(file_exists(path));   /* no final file before finish */
    }
    assert_int_equal(os->bytes_in, data.len);
    /* Small writes wait in the buffer; a write bigger than the buffer goes straight to the file. */
    size_t before = file_size(partial);
    assert_int_equal(nb_ostream_write(os, "tail", 4, &err), NB_OK);
    assert_int_equal(file_size(partial), before);
    nb_buf_append(&data, "tail", 4);
    uint64_t durable = 0;
    assert_int_equal(os->ops->checkpoint(os, &durable, &err), NB_OK);
    assert_int_equal(durable, data.len);
    assert_int_equal(file_size(partial), data.len);
    assert_false(file_exists(path));
    assert_int_equal(os->ops->finish(os, &err), NB_OK);
    assert_true(file_exists(path));
    assert_false(file_exists(partial));
    /* Writing after finish is an error, not a crash. */
    assert_int_equal(nb_ostream_write(os, "x", 1, &err), NB_ERR_INTERNAL);
    nb_ostream_destroy(os);   /* after finish: the file stays */
    char *back;
    size_t len;
    assert_int_equal(nb_read_file(path, &back, &len, &err), NB_OK);
    assert_int_equal(len, data.len);
    assert_memory_equal(back, data.data, len);
    free(back);

    /* Writing again replaces the finished file only at finish. */
    assert_int_equal(nb_file_ostream_open(path, 0, &os, &err), NB_OK);
    assert_int_equal(nb_ostream_write(os, "new", 3, &err), NB_OK);
    assert_int_equal(file_size(path), data.len);
    assert_int_equal(os->ops->finish(os, &err), NB_OK);
    nb_ostream_destroy(os);
    assert_int_equal(file_size(path), 3);
    nb_buf_cleanup(&data);
    tmpdir_remove(dir);
}

/* A failing write (here: the file size limit) is an error naming the partial file, and the
 * failed stream cleans up after itself. */
static void test_write_error(void **state)
{
    char *dir = tmpdir_create();
    const char *path = tpath(dir, "big.csv");
    char partial[4096];
    nb_partial_path(path, partial, sizeof partial);
    struct rlimit old, small = {100000, 100000};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    struct nb_ostream *os = NULL;
    struct nb_error err;
    assert_int_equal(nb_output_open(path, NB_CODEC_NONE, 0, 0, &os, &err), NB_OK);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    static char block[2 << 20];
    nb_status st = nb_ostream_write(os, block, sizeof block, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, NB_ERR_IO);
    assert_non_null(strstr(err.message, partial));
    nb_ostream_destroy(os);
    assert_false(file_exists(partial));
    assert_false(file_exists(path));
    tmpdir_remove(dir);
}

static void test_abort_and_destroy(void **state)
{
    char *dir = tmpdir_create();
    const char *path = tpath(dir, "out.json");
    char partial[4096];
    nb_partial_path(path, partial, sizeof partial);
    struct nb_ostream *os = NULL;
    struct nb_error err;

    assert_int_equal(nb_file_ostream_open(path, 0, &os, &err), NB_OK);
    assert_int_equal(nb_ostream_write(os, "abc", 3, &err), NB_OK);
    assert_true(file_exists(partial));
    os->ops->abort(os, false);
    assert_false(file_exists(partial));
    assert_false(file_exists(path));
    nb_ostream_destroy(os);

    assert_int_equal(nb_file_ostream_open(path, 0, &os, &err), NB_OK);
    assert_int_equal(nb_ostream_write(os, "abc", 3, &err), NB_OK);
    nb_ostream_destroy(os);   /* neither finish nor abort: removed */
    assert_false(file_exists(partial));
    assert_false(file_exists(path));

    assert_int_equal(nb_file_ostream_open(path, 0, &os, &err), NB_OK);
    assert_int_equal(nb_ostream_write(os, "abc", 3, &err), NB_OK);
    os->ops->abort(os, true);
    nb_ostream_destroy(os);
    assert_true(file_exists(partial));   /* kept for a resume */
    assert_false(file_exists(path));

    /* Compressed: the same through the chain. */
    assert_int_equal(nb_output_open(path, NB_CODEC_GZIP, 0, 0, &os, &err), NB_OK);
    assert_int_equal(nb_ostream_write(os, "abc", 3, &err), NB_OK);
    nb_ostream_destroy(os);
    assert_false(file_exists(partial));
    assert_false(file_exists(path));

    /* An output path that is a directory is refused up front. */
    assert_int_equal(nb_file_ostream_open(dir, 0, &os, &err), NB_ERR_IO);
    assert_non_null(strstr(err.message, dir));
    assert_null(os);
    tmpdir_remove(dir);
}

static void test_resume_errors(void **state)
{
    char *dir = tmpdir_create();
    const char *path = tpath(dir, "r.csv");
    char partial[4096];
    nb_partial_path(path, partial, sizeof partial);
    struct nb_ostream *os = NULL;
    struct nb_error err;
    assert_int_equal(nb_file_ostream_open(path, 10, &os, &err), NB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, partial));
    write_file(partial, "12345", 5);
    assert_int_equal(nb_file_ostream_open(path, 10, &os, &err), NB_ERR_IO);
    assert_non_null(strstr(err.message, partial));
    assert_non_null(strstr(err.message, "5 bytes"));
    assert_true(file_exists(partial));   /* a failed resume leaves the partial file alone */
    /* A bad codec level on resume must not delete the partial file either. */
    assert_int_equal(nb_output_open(path, NB_CODEC_GZIP, 42, 3, &os, &err), NB_ERR_CONFIG);
    assert_true(file_exists(partial));
    assert_int_equal(file_size(partial), 5);
    /* Plain resume: truncate to the committed length and append. */
    assert_int_equal(nb_file_ostream_open(path, 3, &os, &err), NB_OK);
    assert_int_equal(nb_ostream_write(os, "xy", 2, &err), NB_OK);
    uint64_t durable;
    assert_int_equal(os->ops->checkpoint(os, &durable, &err), NB_OK);
    assert_int_equal(durable, 5);
    assert_int_equal(os->ops->finish(os, &err), NB_OK);
    nb_ostream_destroy(os);
    char *back;
    size_t len;
    assert_int_equal(nb_read_file(path, &back, &len, &err), NB_OK);
    assert_string_equal(back, "123xy");
    free(back);
    tmpdir_remove(dir);
}

/* checkpoint, a "crash" with more data written after it, resume at the committed length, more
 * data, finish: the system tool accepts the file and it decompresses to the committed data. */
static void resume_scenario(enum nb_codec c, const char *ext, const char *tool)
{
    char *dir = tmpdir_create();
    char name[64];
    snprintf(name, sizeof name, "out/data.csv%s", ext);
    const char *path = tpath(dir, name);
    char partial[4096];
    nb_partial_path(path, partial, sizeof partial);
    struct nb_buf a, b, cc, d, back;
    nb_buf_init(&a); nb_buf_init(&b); nb_buf_init(&cc); nb_buf_init(&d); nb_buf_init(&back);
    test_data(&a, 500000, 21);
    test_data(&b, 3 << 20, 22);   /* lost in the crash; big enough to reach the disk */
    test_data(&cc, 200000, 23);
    test_data(&d, 1000, 24);
    struct nb_error err;
    struct nb_ostream *os = NULL;
    uint64_t committed = 0, durable = 0;

    assert_int_equal(nb_output_open(path, c, 0, 0, &os, &err), NB_OK);
    for (size_t off = 0; off < a.len; off += 1000) assert_int_equal(nb_ostream_write(os, a.data + off, 1000, &err), NB_OK);
    assert_int_equal(os->ops->checkpoint(os, &committed, &err), NB_OK);
    assert_int_equal(file_size(partial), committed);
    if (tool) {
        /* The committed prefix alone is a valid compressed file. */
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "%s -t %s 2>/dev/null || %s -t < %s", tool, partial, tool, partial);
        assert_int_equal(system(cmd), 0);
    }
    assert_int_equal(nb_ostream_write(os, b.data, b.len, &err), NB_OK);
    os->ops->abort(os, true);
    nb_ostream_destroy(os);
    /* Whatever of b reached the disk, plus a torn write at the end. */
    FILE *torn = fopen(partial, "ab");
    assert_non_null(torn);
    fputs("torn write", torn);
    fclose(torn);
    assert_true(file_size(partial) > committed);

    assert_int_equal(nb_output_open(path, c, 0, committed, &os, &err), NB_OK);
    assert_int_equal(nb_ostream_write(os, cc.data, cc.len, &err), NB_OK);
    assert_int_equal(os->ops->checkpoint(os, &durable, &err), NB_OK);
    assert_true(durable > committed);
    assert_int_equal(file_size(partial), durable);
    assert_int_equal(nb_ostream_write(os, d.data, d.len, &err), NB_OK);
    assert_false(file_exists(path));
    assert_int_equal(os->ops->finish(os, &err), NB_OK);
    nb_ostream_destroy(os);
    assert_true(file_exists(path));
    assert_false(file_exists(partial));

    /* Our reader, with the codec from the extension. */
    struct nb_istream *in = NULL;
    assert_int_equal(nb_input_open(path, NB_CODEC_NONE, true, 0, &in, &err), NB_OK);
    assert_int_equal(read_all(in, &back, 65536, &err), NB_DONE);
    nb_istream_destroy(in);
    assert_int_equal(back.len, a.len + cc.len + d.len);
    assert_memory_equal(back.data, a.data, a.len);
    assert_memory_equal(back.data + a.len, cc.data, cc.len);
    assert_memory_equal(back.data + a.len + cc.len, d.data, d.len);

    if (tool && have_tool(tool)) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "%s -t %s", tool, path);
        if (strcmp(tool, "lz4") == 0 || strcmp(tool, "zstd") == 0) snprintf(cmd, sizeof cmd, "%s -q -t %s", tool, path);
        assert_int_equal(system(cmd), 0);
        /* And the tool's output is the concatenation. */
        snprintf(cmd, sizeof cmd, "%s -d -c < %s > %s", tool, path, tpath(dir, "tool.out"));
        assert_int_equal(system(cmd), 0);
        char *tb;
        size_t tl;
        assert_int_equal(nb_read_file(tpath(dir, "tool.out"), &tb, &tl, &err), NB_OK);
        assert_int_equal(tl, back.len);
        assert_memory_equal(tb, back.data, tl);
        free(tb);
    } else if (tool) {
        print_message("skipping the %s check: not installed\n", tool);
    }
    nb_buf_cleanup(&a); nb_buf_cleanup(&b); nb_buf_cleanup(&cc); nb_buf_cleanup(&d); nb_buf_cleanup(&back);
    tmpdir_remove(dir);
}

static void test_resume_plain(void **state) { resume_scenario(NB_CODEC_NONE, "", NULL); }
static void test_resume_gzip(void **state) { resume_scenario(NB_CODEC_GZIP, ".gz", have_tool("gzip") ? "gzip" : NULL); }
static void test_resume_zstd(void **state) { resume_scenario(NB_CODEC_ZSTD, ".zst", have_tool("zstd") ? "zstd" : NULL); }
static void test_resume_lz4(void **state) { resume_scenario(NB_CODEC_LZ4, ".lz4", have_tool("lz4") ? "lz4" : NULL); }
static void test_resume_bzip2(void **state) { resume_scenario(NB_CODEC_BZIP2, ".bz2", have_tool("bzip2") ? "bzip2" : NULL); }
static void test_resume_xz(void **state) { resume_scenario(NB_CODEC_XZ, ".xz", have_tool("xz") ? "xz" : NULL); }
static void test_resume_snappy(void **state) { resume_scenario(NB_CODEC_SNAPPY, ".sz", NULL); }

/* A finished file with nothing written is still a valid compressed (empty) file. */
static void test_empty_outputs_valid(void **state)
{
    static const struct { enum nb_codec c; const char *ext, *tool; } cases[] = {
        {NB_CODEC_GZIP, ".gz", "gzip"}, {NB_CODEC_ZSTD, ".zst", "zstd"}, {NB_CODEC_LZ4, ".lz4", "lz4"},
        {NB_CODEC_BZIP2, ".bz2", "bzip2"}, {NB_CODEC_XZ, ".xz", "xz"}, {NB_CODEC_SNAPPY, ".sz", NULL},
    };
    char *dir = tmpdir_create();
    struct nb_error err;
    for (size_t i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "empty%s", cases[i].ext);
        const char *path = tpath(dir, name);
        struct nb_ostream *os = NULL;
        assert_int_equal(nb_output_open(path, cases[i].c, 0, 0, &os, &err), NB_OK);
        assert_int_equal(os->ops->finish(os, &err), NB_OK);
        nb_ostream_destroy(os);
        assert_true(file_size(path) > 0);
        if (cases[i].tool && have_tool(cases[i].tool)) {
            char cmd[8192];
            snprintf(cmd, sizeof cmd, "%s -q -t %s", cases[i].tool, path);
            assert_int_equal(system(cmd), 0);
        }
        struct nb_istream *in = NULL;
        assert_int_equal(nb_input_open(path, NB_CODEC_NONE, true, 0, &in, &err), NB_OK);
        struct nb_buf back;
        nb_buf_init(&back);
        assert_int_equal(read_all(in, &back, 100, &err), NB_DONE);
        assert_int_equal(back.len, 0);
        nb_buf_cleanup(&back);
        nb_istream_destroy(in);
    }
    tmpdir_remove(dir);
}

static void test_input_errors(void **state)
{
    char *dir = tmpdir_create();
    struct nb_istream *in = NULL;
    struct nb_error err;
    const char *missing = tpath(dir, "missing.csv");
    assert_int_equal(nb_file_istream_open(missing, &in, &err), NB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, missing));
    assert_int_equal(nb_input_open(missing, NB_CODEC_NONE, true, 0, &in, &err), NB_ERR_NOT_FOUND);
    assert_int_equal(nb_file_istream_open(dir, &in, &err), NB_ERR_IO);
    assert_non_null(strstr(err.message, dir));
    assert_non_null(strstr(err.message, "directory"));
    const char *secret = tpath(dir, "secret.csv");
    write_file(secret, "x", 1);
    chmod(secret, 0);
    if (geteuid() != 0) {
        assert_int_equal(nb_file_istream_open(secret, &in, &err), NB_ERR_IO);
        assert_non_null(strstr(err.message, secret));
        assert_non_null(strstr(err.message, "permission denied"));
    } else {
        print_message("running as root: the permission-denied case cannot be produced\n");
    }
    assert_null(in);
    /* Not compressed although the name says so: an error naming the file, not garbage. */
    const char *fake = tpath(dir, "fake.csv.gz");
    write_file(fake, "a,b\n1,2\n", 8);
    assert_int_equal(nb_input_open(fake, NB_CODEC_NONE, true, 0, &in, &err), NB_OK);
    struct nb_buf back;
    nb_buf_init(&back);
    assert_int_equal(read_all(in, &back, 100, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, fake));
    assert_non_null(strstr(err.message, "gzip"));
    nb_istream_destroy(in);
    /* An empty .zst file is not an empty stream. */
    const char *empty = tpath(dir, "empty.zst");
    write_file(empty, "", 0);
    assert_int_equal(nb_input_open(empty, NB_CODEC_NONE, true, 0, &in, &err), NB_OK);
    assert_int_equal(read_all(in, &back, 100, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, "truncated zstd stream at compressed byte 0"));
    nb_istream_destroy(in);
    nb_buf_cleanup(&back);
    tmpdir_remove(dir);
}

static void test_input_offsets(void **state)
{
    char *dir = tmpdir_create();
    struct nb_buf data, back;
    struct nb_error err;
    nb_buf_init(&data); nb_buf_init(&back);
    test_data(&data, 300000, 31);
    const char *plain = tpath(dir, "p.csv"), *gz = tpath(dir, "p.csv.gz"), *raw = tpath(dir, "raw.bin");
    write_file(plain, data.data, data.len);
    struct nb_ostream *os = NULL;
    assert_int_equal(nb_output_open(gz, NB_CODEC_GZIP, 1, 0, &os, &err), NB_OK);
    assert_int_equal(nb_ostream_write(os, data.data, data.len, &err), NB_OK);
    assert_int_equal(os->ops->finish(os, &err), NB_OK);
    nb_ostream_destroy(os);
    /* Explicit codec, no extension. */
    assert_int_equal(rename(gz, raw), 0);
    uint64_t offsets[] = {0, 1, 65536, 123457, 300000};
    for (size_t i = 0; i < 5; i++) {
        struct nb_istream *in = NULL;
        assert_int_equal(nb_input_open(plain, NB_CODEC_NONE, true, offsets[i], &in, &err), NB_OK);
        assert_int_equal(in->raw_size, data.len);
        nb_buf_reset(&back);
        assert_int_equal(read_all(in, &back, 10000, &err), NB_DONE);
        assert_int_equal(back.len, data.len - offsets[i]);
        assert_memory_equal(back.data, data.data + offsets[i], back.len);
        assert_int_equal(in->raw_read, data.len);
        nb_istream_destroy(in);

        assert_int_equal(nb_input_open(raw, NB_CODEC_GZIP, false, offsets[i], &in, &err), NB_OK);
        nb_buf_reset(&back);
        assert_int_equal(read_all(in, &back, 10000, &err), NB_DONE);
        assert_int_equal(back.len, data.len - offsets[i]);
        assert_memory_equal(back.data, data.data + offsets[i], back.len);
        nb_istream_destroy(in);
    }
    struct nb_istream *in = NULL;
    assert_int_equal(nb_input_open(plain, NB_CODEC_NONE, true, data.len + 1, &in, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, plain));
    assert_int_equal(nb_input_open(raw, NB_CODEC_GZIP, false, data.len + 1, &in, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.message, raw));
    assert_null(in);
    nb_buf_cleanup(&data); nb_buf_cleanup(&back);
    tmpdir_remove(dir);
}

static void test_stdin(void **state)
{
    char *dir = tmpdir_create();
    struct nb_error err;
    const char *path = tpath(dir, "stdin.txt");
    write_file(path, "0123456789abcdef", 16);
    int saved = dup(0);
    int fd = open(path, O_RDONLY);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 0), 0);
    close(fd);
    struct nb_istream *in = NULL;
    assert_int_equal(nb_input_open("-", NB_CODEC_NONE, true, 10, &in, &err), NB_OK);
    struct nb_buf back;
    nb_buf_init(&back);
    assert_int_equal(read_all(in, &back, 3, &err), NB_DONE);
    assert_string_equal(back.data, "abcdef");
    nb_istream_destroy(in);
    assert_int_equal(fcntl(0, F_GETFD), 0);   /* stdin is not closed by destroy */
    dup2(saved, 0);
    close(saved);
    nb_buf_cleanup(&back);
    tmpdir_remove(dir);
}

static void expect_glob(const char *pattern, const char *const *want, size_t nwant)
{
    char **paths = NULL;
    size_t count = 0;
    struct nb_error err;
    nb_status st = nb_glob_files(pattern, &paths, &count, &err);
    if (st != NB_OK) fail_msg("%s: %s", pattern, err.message);
    for (size_t i = 0; i < count && i < nwant; i++)
        if (strcmp(paths[i], want[i]) != 0) fail_msg("%s: [%zu] = %s, wanted %s", pattern, i, paths[i], want[i]);
    if (count != nwant) fail_msg("%s: %zu matches, wanted %zu", pattern, count, nwant);
    nb_paths_free(paths, count);
}

static void test_glob(void **state)
{
    char *dir = tmpdir_create();
    static const char *files[] = {"d/a.csv", "d/b.csv", "d/c.txt", "d/sub/e.csv", "d/sub/deeper/f.csv",
                                  "d/.hidden.csv", "d/x[1].csv", "d/B.csv", "d/sub/deeper/g.txt"};
    struct nb_error err;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        assert_int_equal(nb_write_file_atomic(tpath(dir, files[i]), "x", 1, &err), NB_OK);
    }
    assert_int_equal(symlink(tpath(dir, "d/sub"), tpath(dir, "d/sub/deeper/loop")), 0);   /* a cycle for ** */
    char pat[4096];
#define P(s) (snprintf(pat, sizeof pat, "%s/%s", dir, s), pat)
    char w[8][4096];
#define W(i, s) snprintf(w[i], sizeof w[i], "%s/%s", dir, s)
    const char *wp[8] = {w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]};

    W(0, "d/B.csv"); W(1, "d/a.csv"); W(2, "d/b.csv"); W(3, "d/x[1].csv");
    expect_glob(P("d/*.csv"), wp, 4);   /* sorted bytewise: 'B' < 'a'; no hidden file */
    W(0, "d/B.csv"); W(1, "d/a.csv"); W(2, "d/b.csv");
    expect_glob(P("d/?.csv"), wp, 3);
    W(0, "d/a.csv"); W(1, "d/b.csv");
    expect_glob(P("d/[ab].csv"), wp, 2);
    W(0, "d/B.csv"); W(1, "d/a.csv"); W(2, "d/b.csv"); W(3, "d/sub/deeper/f.csv"); W(4, "d/sub/e.csv"); W(5, "d/x[1].csv");
    expect_glob(P("d/**/*.csv"), wp, 6);
    expect_glob(P("d/**/**/*.csv"), wp, 6);   /* no duplicates */
    W(0, "d/sub/deeper/f.csv"); W(1, "d/sub/deeper/g.txt");
    expect_glob(P("d/**/deeper/*"), wp, 2);
    W(0, "d/sub/deeper/f.csv"); W(1, "d/sub/deeper/g.txt"); W(2, "d/sub/e.csv");
    expect_glob(P("d/sub/**"), wp, 3);
    W(0, "d/.hidden.csv");
    expect_glob(P("d/.*.csv"), wp, 1);
    W(0, "d/x[1].csv");
    expect_glob(P("d/x[1].csv"), wp, 1);   /* an existing path is itself */
    W(0, "d/c.txt");
    expect_glob(P("d/c.txt"), wp, 1);
    W(0, "d/sub/e.csv");
    expect_glob(P("d/*/e.csv"), wp, 1);

    char **paths = NULL;
    size_t count = 0;
    assert_int_equal(nb_glob_files(P("d/*.parquet"), &paths, &count, &err), NB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, pat));
    assert_int_equal(count, 0);
    assert_null(paths);
    assert_int_equal(nb_glob_files(P("d/missing.csv"), &paths, &count, &err), NB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "missing.csv"));
    assert_int_equal(nb_glob_files(P("nodir/**/*.csv"), &paths, &count, &err), NB_ERR_NOT_FOUND);

    /* Relative patterns give relative paths. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    expect_glob("d/sub/*.csv", (const char *const[]){"d/sub/e.csv"}, 1);
    expect_glob("**/f.csv", (const char *const[]){"d/sub/deeper/f.csv"}, 1);
    assert_int_equal(chdir(cwd), 0);
#undef P
#undef W
    tmpdir_remove(dir);
}

static void test_fsutil(void **state)
{
    char *dir = tmpdir_create();
    struct nb_error err;
    const char *p = tpath(dir, "state/x/y/state.json");
    assert_int_equal(nb_write_file_atomic(p, "{\"a\":1}", 7, &err), NB_OK);
    assert_int_equal(nb_write_file_atomic(p, "{}", 2, &err), NB_OK);
    char *data;
    size_t len;
    assert_int_equal(nb_read_file(p, &data, &len, &err), NB_OK);
    assert_int_equal(len, 2);
    assert_string_equal(data, "{}");
    free(data);
    /* No temp file is left next to it. */
    char **paths;
    size_t count;
    assert_int_equal(nb_glob_files(tpath(dir, "state/x/y/*"), &paths, &count, &err), NB_OK);
    assert_int_equal(count, 1);
    nb_paths_free(paths, count);
    assert_int_equal(nb_read_file(tpath(dir, "nope.json"), &data, &len, &err), NB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "nope.json"));
    assert_null(data);
    assert_int_equal(nb_read_file(dir, &data, &len, &err), NB_ERR_IO);
    /* A file where a directory should be. */
    write_file(tpath(dir, "file"), "x", 1);
    assert_int_equal(nb_mkdirs_for(tpath(dir, "file/sub/out.csv"), &err), NB_ERR_IO);
    assert_non_null(strstr(err.message, "file"));
    struct nb_ostream *os = NULL;
    assert_int_equal(nb_file_ostream_open(tpath(dir, "file/out.csv"), 0, &os, &err), NB_ERR_IO);
    assert_int_equal(nb_write_file_atomic(dir, "x", 1, &err), NB_ERR_IO);
    assert_int_equal(nb_mkdirs_for("plain.csv", &err), NB_OK);
    assert_int_equal(nb_mkdirs_for(tpath(dir, "m//n/o.csv"), &err), NB_OK);
    assert_true(file_exists(tpath(dir, "m/n")));
    /* Reading something without a size. */
    assert_int_equal(nb_read_file("/proc/self/status", &data, &len, &err), NB_OK);
    assert_true(len > 0 && strlen(data) == len);
    free(data);
    tmpdir_remove(dir);
}

static void test_mem_streams(void **state)
{
    struct nb_buf b;
    struct nb_error err;
    nb_buf_init(&b);
    struct nb_ostream *os = nb_buf_ostream_create(&b);
    assert_int_equal(nb_ostream_write(os, "abc", 3, &err), NB_OK);
    uint64_t d;
    assert_int_equal(os->ops->checkpoint(os, &d, &err), NB_OK);
    assert_int_equal(d, 3);
    assert_int_equal(os->ops->finish(os, &err), NB_OK);
    nb_ostream_destroy(os);
    nb_ostream_destroy(NULL);
    nb_istream_destroy(NULL);
    struct nb_istream *in = nb_mem_istream_create(b.data, b.len);
    char c[2];
    size_t n;
    assert_int_equal(nb_istream_read(in, c, 2, &n, &err), NB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(nb_istream_read(in, c, 2, &n, &err), NB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(nb_istream_read(in, c, 2, &n, &err), NB_DONE);
    assert_int_equal(n, 0);
    assert_int_equal(in->raw_read, 3);
    nb_istream_destroy(in);
    nb_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_finish),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_abort_and_destroy),
        cmocka_unit_test(test_resume_errors),
        cmocka_unit_test(test_resume_plain),
        cmocka_unit_test(test_resume_gzip),
        cmocka_unit_test(test_resume_zstd),
        cmocka_unit_test(test_resume_lz4),
        cmocka_unit_test(test_resume_bzip2),
        cmocka_unit_test(test_resume_xz),
        cmocka_unit_test(test_resume_snappy),
        cmocka_unit_test(test_empty_outputs_valid),
        cmocka_unit_test(test_input_errors),
        cmocka_unit_test(test_input_offsets),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_fsutil),
        cmocka_unit_test(test_mem_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
