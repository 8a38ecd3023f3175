/* The snappy-c entry points nebula uses (framed snappy in io/codec_snappy.c, Parquet pages, Avro
 * blocks), loaded from libsnappy.so.1 on first use (core/dynlib.h). Users call nb_snappy_require
 * before the codec's first use, so a missing library is one clear error; the stubs' failure values
 * only keep a caller that did not ask from crashing. Only the library's functions are here: the
 * snappy_* names inside codec_snappy.c are nebula's own (static) framing code. */
#include <snappy-c.h>

#include "core/dynlib.h"
#include "io/snappy_lib.h"

#define SNAPPY_FUNCS(F, V)                                                                            \
    F(snappy_status, snappy_compress, (const char *input, size_t input_length, char *compressed,      \
                                       size_t *compressed_length),                                    \
      (input, input_length, compressed, compressed_length), SNAPPY_INVALID_INPUT)                     \
    F(snappy_status, snappy_uncompress, (const char *compressed, size_t compressed_length, char *uncompressed, \
                                         size_t *uncompressed_length),                                \
      (compressed, compressed_length, uncompressed, uncompressed_length), SNAPPY_INVALID_INPUT)        \
    F(size_t, snappy_max_compressed_length, (size_t source_length), (source_length), 0)               \
    F(snappy_status, snappy_uncompressed_length, (const char *compressed, size_t compressed_length, size_t *result), \
      (compressed, compressed_length, result), SNAPPY_INVALID_INPUT)

NB_DYNLIB_DEFINE("libsnappy.so.1", "libsnappy1v5", SNAPPY_FUNCS, NB_DYNLIB_NONE)

nb_status nb_snappy_require(struct nb_error *err) { return nb_dynlib_require(&nb_dynlib_this, "snappy", err); }
