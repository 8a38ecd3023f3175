/* Every page codec of the Parquet writer (none, snappy, gzip, zstd, lz4_raw) read back by DuckDB
 * and by hyparquet with hyparquet-compressors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper_pq.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_codecs(void **state)
{
    static const struct { enum nb_parquet_codec codec; int level; const char *name; } codecs[] = {
        {NB_PQ_UNCOMPRESSED, 0, "UNCOMPRESSED"}, {NB_PQ_SNAPPY, 0, "SNAPPY"}, {NB_PQ_GZIP, 9, "GZIP"},
        {NB_PQ_ZSTD, 19, "ZSTD"}, {NB_PQ_LZ4_RAW, 0, "LZ4_RAW"},
    };
    enum { ROWS = 30000 };
    char *want_hyp = pqt_sample_hyparquet(ROWS);
    uint64_t sizes[N(codecs)];
    for (size_t i = 0; i < N(codecs); i++) {
        struct nb_parquet_options o;
        nb_parquet_options_default(&o);
        o.codec = codecs[i].codec;
        o.level = codecs[i].level;
        char name[64];
        snprintf(name, sizeof name, "codec_%s.parquet", codecs[i].name);
        char *path = pqt_write_sample(name, &o, ROWS, 4096);
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        sizes[i] = (uint64_t)ftell(f);
        fclose(f);
        if (pqt_have_reader()) {
            char *got = pqt_read("", "SELECT count(*), sum(id), count(DISTINCT name), sum(amount)::VARCHAR, count(amount), "
                                 "(SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata(FILE)) FROM FILE", path);
            char want[256];
            /* sum of r for r % 10 != 3 plus 0.5 each: 449985000 - sum(r%10==3) */
            long long sum_all = (long long)ROWS * (ROWS - 1) / 2, sum3 = 0, cnt = 0;
            for (long long r = 3; r < ROWS; r += 10) sum3 += r, cnt++;
            snprintf(want, sizeof want, "[\"%d\",\"%lld\",\"7\",\"%lld.%s\",\"%lld\",\"%s\"]\n", ROWS, sum_all, sum_all - sum3 +
                     (ROWS - cnt) / 2, (ROWS - cnt) % 2 ? "50" : "00", ROWS - cnt, codecs[i].name);
            assert_true(pqt_same(got, want));
            free(got);
            got = pqt_read("--hyparquet", NULL, path);
            assert_true(pqt_same(got, want_hyp));
            free(got);
        }
        free(path);
    }
    /* Compression does something (the note column is incompressible-ish, the others are not). */
    for (size_t i = 1; i < N(codecs); i++) assert_true(sizes[i] < sizes[0]);
    free(want_hyp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codecs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
