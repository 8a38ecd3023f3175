/* Shared helpers of the io tests. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/helper_io.h"

char *tmpdir_create(void)
{
    char tmpl[] = "/tmp/nb-io-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    chmod(path, 0700);   /* tests that drop permissions */
    return remove(path);
}

void tmpdir_remove(char *dir)
{
    if (!dir) return;
    chmod(dir, 0700);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

const char *tpath(const char *dir, const char *name)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 4096, "%s/%s", dir, name);
    return b;
}

void test_data(struct nb_buf *out, size_t n, uint32_t seed)
{
    static const char *words[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "291.07", "2024-01-31",
                                  "\"quoted, text\"", "", "true", "NULL", "\xc3\xa9t\xc3\xa9"};
    uint32_t x = seed * 2654435761u + 1;
    nb_buf_reset(out);
    nb_buf_reserve(out, n);
    while (out->len < n) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        if ((x & 63) == 0) {
            /* An incompressible stretch (exercises stored blocks / raw snappy chunks). */
            size_t k = 1000 + (x >> 8) % 70000;
            for (size_t i = 0; i < k && out->len < n; i++) {
                x ^= x << 13; x ^= x >> 17; x ^= x << 5;
                nb_buf_putc(out, (char)(x >> 24));
            }
            continue;
        }
        char line[256];
        int len = snprintf(line, sizeof line, "%u,%s,%s,%u\n", x % 100000, words[x % 13], words[(x >> 5) % 13],
                           (x >> 11) % 997);
        size_t k = (size_t)len < n - out->len ? (size_t)len : n - out->len;
        nb_buf_append(out, line, k);
    }
    assert_false(out->oom);
}

nb_status read_all(struct nb_istream *s, struct nb_buf *out, size_t piece, struct nb_error *err)
{
    char *tmp = malloc(piece);
    assert_non_null(tmp);
    nb_status st;
    for (;;) {
        size_t n = 0;
        st = nb_istream_read(s, tmp, piece, &n, err);
        if (st != NB_OK) break;
        assert_true(n > 0 && n <= piece);
        nb_buf_append(out, tmp, n);
    }
    free(tmp);
    return st;
}

void compress_mem(enum nb_codec c, int level, const void *data, size_t n, size_t piece, struct nb_buf *out)
{
    struct nb_error err;
    size_t before = out->len;
    struct nb_ostream *b = nb_buf_ostream_create(out), *z = NULL;
    assert_non_null(b);
    assert_int_equal(nb_compress_ostream_create(c, level, b, &z, &err), NB_OK);
    const char *p = data;
    for (size_t off = 0; off < n; off += piece) {
        size_t k = n - off < piece ? n - off : piece;
        assert_int_equal(nb_ostream_write(z, p + off, k, &err), NB_OK);
    }
    assert_int_equal(z->ops->finish(z, &err), NB_OK);
    assert_int_equal(z->bytes_in, n);
    assert_int_equal(z->bytes_out, out->len - before);
    nb_ostream_destroy(z);
}

nb_status decompress_mem(enum nb_codec c, const void *data, size_t n, struct nb_buf *out, size_t piece,
                         struct nb_error *err)
{
    struct nb_istream *m = nb_mem_istream_create(data, n), *d = NULL;
    assert_non_null(m);
    nb_status st = nb_decompress_istream_create(c, m, "mem.bin", &d, err);
    assert_int_equal(st, NB_OK);
    st = read_all(d, out, piece, err);
    /* Errors are sticky: asking again gives the same answer, never a silent EOF. */
    if (st != NB_DONE) {
        struct nb_error again;
        char b[16];
        size_t k;
        assert_int_equal(nb_istream_read(d, b, sizeof b, &k, &again), st);
    }
    nb_istream_destroy(d);
    return st;
}

void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

bool have_tool(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}
