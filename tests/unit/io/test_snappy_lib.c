/* io/snappy_lib.c: libsnappy (and the C++ runtime it pulls in) is mapped only when a snappy stream is
 * first made, not by other codecs; framed snappy round-trips through the stubs; and a libsnappy.so.1
 * that cannot be loaded makes creating a snappy compressor or decoder fail with the exact message
 * naming the library and the Debian package, with no crash. That last part runs in a child started
 * with an empty libsnappy.so.1 first on LD_LIBRARY_PATH (read by the loader only at start). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_io.h"
#include "io/snappy_lib.h"
#include "broken_lib.h"

static const char *broken_dir;   /* set in the child */

/* The sanitizer runtimes bring the C++ runtime themselves: only libsnappy can be told apart there. */
#ifdef __SANITIZE_ADDRESS__
#define CXX_RUNTIME_IS_OURS false
#else
#define CXX_RUNTIME_IS_OURS true
#endif

static bool mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, name) != NULL;
    fclose(f);
    return found;
}

/* First in the run: no snappy stream has been made yet. */
static void loaded_at_first_use_only(void **state)
{
    (void)state;
    assert_false(mapped("/libsnappy.so"));
    if (CXX_RUNTIME_IS_OURS) assert_false(mapped("/libstdc++.so"));
    struct nb_buf data, gz, sz, back;
    nb_buf_init(&data);
    nb_buf_init(&gz);
    nb_buf_init(&sz);
    nb_buf_init(&back);
    test_data(&data, 200000, 7);
    compress_mem(NB_CODEC_GZIP, 0, data.data, data.len, 4096, &gz);
    assert_false(mapped("/libsnappy.so"));

    compress_mem(NB_CODEC_SNAPPY, 0, data.data, data.len, 4096, &sz);
    assert_true(mapped("/libsnappy.so"));
    assert_true(sz.len > 0 && sz.len < data.len);
    struct nb_error err = {0};
    assert_int_equal(decompress_mem(NB_CODEC_SNAPPY, sz.data, sz.len, &back, 1000, &err), NB_DONE);
    assert_int_equal(back.len, data.len);
    assert_memory_equal(back.data, data.data, data.len);
    assert_int_equal(nb_snappy_require(NULL), NB_OK);
    nb_buf_cleanup(&data);
    nb_buf_cleanup(&gz);
    nb_buf_cleanup(&sz);
    nb_buf_cleanup(&back);
}

static void broken_library_is_a_clear_error(void **state)
{
    (void)state;
    run_child_with_broken_lib("libsnappy.so.1", "test_snappy_lib", "--broken-snappy");
}

/* ---- in the child, where libsnappy.so.1 cannot be loaded ---- */

static void child_codec_creation_fails_cleanly(void **state)
{
    (void)state;
    char want[512];
    snprintf(want, sizeof want,
             "snappy: cannot load libsnappy.so.1 (%s/libsnappy.so.1: file too short); install the Debian package libsnappy1v5",
             broken_dir);
    struct nb_buf out;
    nb_buf_init(&out);
    struct nb_ostream *b = nb_buf_ostream_create(&out), *z = NULL;
    assert_non_null(b);
    struct nb_error err = {0};
    assert_int_equal(nb_compress_ostream_create(NB_CODEC_SNAPPY, 0, b, &z, &err), NB_ERR_UNSUPPORTED);
    assert_null(z);
    assert_string_equal(err.message, want);
    nb_ostream_destroy(b);   /* still the caller's */
    nb_buf_cleanup(&out);

    static const char framed[] = "\xff\x06\x00\x00sNaPpY";
    struct nb_istream *m = nb_mem_istream_create(framed, sizeof framed - 1), *d = NULL;
    assert_non_null(m);
    struct nb_error err2 = {0};
    assert_int_equal(nb_decompress_istream_create(NB_CODEC_SNAPPY, m, "x.sz", &d, &err2), NB_ERR_UNSUPPORTED);
    assert_null(d);
    assert_string_equal(err2.message, want);
    nb_istream_destroy(m);

    /* Stubs called without asking first return their failure values. */
    size_t n = 99;
    char buf[64];
    assert_int_equal(snappy_max_compressed_length(10), 0);
    assert_int_equal(snappy_compress("abc", 3, buf, &n), SNAPPY_INVALID_INPUT);
    assert_int_equal(snappy_uncompressed_length("\x03" "abc", 4, &n), SNAPPY_INVALID_INPUT);
    assert_int_equal(snappy_uncompress("\x03\x08" "abc", 5, buf, &n), SNAPPY_INVALID_INPUT);
    assert_false(mapped("/libsnappy.so"));
    if (CXX_RUNTIME_IS_OURS) assert_false(mapped("/libstdc++.so"));
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--broken-snappy") == 0) {
        broken_dir = argv[2];
        const struct CMUnitTest child[] = {cmocka_unit_test(child_codec_creation_fails_cleanly)};
        return cmocka_run_group_tests_name("snappy_lib_broken", child, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loaded_at_first_use_only),
        cmocka_unit_test(broken_library_is_a_clear_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
