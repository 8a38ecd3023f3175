/* Internals of the Avro writer shared by its files (and by its unit tests): options, the Avro
 * schema derived from ours, and the block encoder that runs on worker threads. Not a public API. */
#ifndef NB_FORMATS_AVRO_INTERNAL_H
#define NB_FORMATS_AVRO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "batch/batch.h"
#include "core/buf.h"
#include "core/error.h"

enum nb_avro_codec { NB_AVRO_NULL = 0, NB_AVRO_DEFLATE, NB_AVRO_SNAPPY, NB_AVRO_ZSTD };

#define NB_AVRO_DEFAULT_BLOCK_SIZE (256u * 1024u)
#define NB_AVRO_MAX_BLOCK_SIZE (64u * 1024u * 1024u)

struct nb_avro_options {
    enum nb_avro_codec codec;
    int level;              /* 0 = the codec's default */
    size_t block_size;      /* uncompressed bytes of records per block (a block ends after the row that reaches it) */
    uint64_t sync_interval; /* at most this many records per block; 0 = no limit */
};

const char *nb_avro_codec_name(enum nb_avro_codec c);

/* Avro field names for schema s: [A-Za-z_][A-Za-z0-9_]*, unique. names[i] is malloc'ed; free with
 * nb_avro_names_free. Returns NB_ERR_NOMEM only. */
nb_status nb_avro_field_names(const struct nb_schema *s, char ***names, struct nb_error *err);
void nb_avro_names_free(char **names, size_t n);
/* The writer schema as JSON text (a record named record_name, sanitised here). */
nb_status nb_avro_schema_json(const struct nb_schema *s, const char *record_name, struct nb_buf *out,
                              struct nb_error *err);

/* Encode a batch: the rows as Avro binary, cut into blocks by block_size / sync_interval. Blocks
 * are compressed here (on the worker); a last, partial block under half of block_size is left raw
 * so the writer can merge it with the next batch's. `out` holds segments, each:
 *   u8 kind ('B' = compressed block, 'T' = raw tail), u64 rows, u64 bytes (native endian), bytes. */
#define NB_AVRO_SEG_BLOCK 'B'
#define NB_AVRO_SEG_TAIL 'T'
nb_status nb_avro_encode_batch(const struct nb_avro_options *o, const struct nb_batch *b, struct nb_buf *out,
                               struct nb_error *err);
/* Compress one block's raw bytes with the codec, appending to out (snappy: + CRC-32 big-endian). */
nb_status nb_avro_compress(const struct nb_avro_options *o, const char *raw, size_t n, struct nb_buf *out,
                           struct nb_error *err);

#endif
