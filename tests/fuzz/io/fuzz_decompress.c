/* Fuzz target: the same bytes go through every decompressor (gzip, zstd, lz4, bzip2, xz, framed
 * snappy) via nb_mem_istream_create, read in pieces whose size comes from the first byte. A
 * decoder must end cleanly or with NB_ERR_INVALID / NB_ERR_NOMEM, never crash, hang or leak, and
 * keep reporting its error once it has failed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/stream.h"

/* Stop reading a decompression bomb here: what matters is the decoder's handling, not the size
 * (less when reading a byte at a time, to keep every input fast). */
#define MAX_OUTPUT (8u << 20)
#define MAX_OUTPUT_SMALL_READS (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum nb_codec codecs[] = {NB_CODEC_GZIP, NB_CODEC_ZSTD, NB_CODEC_LZ4,
                                           NB_CODEC_BZIP2, NB_CODEC_XZ, NB_CODEC_SNAPPY};
    static const size_t pieces[] = {1, 7, 4096, 65536, 1 << 20};
    size_t piece = pieces[size ? data[0] % 5 : 4];
    uint8_t *buf = malloc(piece);
    if (!buf) return 0;
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) {
        struct nb_istream *m = nb_mem_istream_create(data, size), *d = NULL;
        struct nb_error err;
        if (!m) break;
        if (nb_decompress_istream_create(codecs[i], m, "fuzz.bin", &d, &err) != NB_OK) {
            nb_istream_destroy(m);
            continue;
        }
        size_t total = 0, n = 0, limit = piece < 4096 ? MAX_OUTPUT_SMALL_READS : MAX_OUTPUT;
        nb_status st;
        while ((st = nb_istream_read(d, buf, piece, &n, &err)) == NB_OK) {
            if (n == 0 || n > piece) abort();   /* NB_OK always carries bytes */
            total += n;
            if (total > limit) break;
        }
        if (st != NB_OK && st != NB_DONE) {
            if (st != NB_ERR_INVALID && st != NB_ERR_NOMEM) abort();
            if (strstr(err.message, "fuzz.bin: ") != err.message) abort();   /* names the input */
            struct nb_error again;
            if (nb_istream_read(d, buf, piece, &n, &again) != st || n != 0) abort();   /* sticky */
        }
        nb_istream_destroy(d);
    }
    free(buf);
    return 0;
}
