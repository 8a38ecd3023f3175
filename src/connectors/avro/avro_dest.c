/* The `avro` destination: the shared file destination with the Avro Object Container format.
 * Compression is the format's (per block, inside the file), so the file itself is opened plain. */
#include "connectors/common/file_dest.h"
#include "formats/avro/avro.h"

static const struct nb_config_key avro_path_key[] = {
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED,
     "output file; {stream} is replaced by the stream name (needed when the source has several streams)"},
    {NULL},
};

/* path + the format keys; the file destination's `compression` (a codec around the whole file)
 * would make the file unreadable as Avro, so its table is not included. */
static const struct nb_config_key avro_dest_spec[] = {
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, avro_path_key},
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_avro_format_keys},
    {NULL},
};

static nb_status open_plain(void *opener_ctx, const char *path, enum nb_codec codec, int level, uint64_t resume_len,
                            struct nb_ostream **out, struct nb_error *err)
{
    (void)opener_ctx;
    (void)codec;
    (void)level;
    return nb_output_open(path, NB_CODEC_NONE, 0, resume_len, out, err);
}

static nb_status avro_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    struct nb_file_dest_args args = {.format = &nb_format_avro, .opener = open_plain};
    return nb_file_dest_open(self, ctx, &args, err);
}

static const struct nb_destination_ops avro_destination = NB_FILE_DESTINATION_OPS(avro_dest_spec, avro_open, true);

const struct nb_connector_ops nb_connector_avro = {
    .name = "avro",
    .description = "Avro object container files (null/deflate/snappy/zstd blocks, logical types for dates, times, "
                   "timestamps, decimals)",
    .kinds = NB_DESTINATION,
    .destination_caps = NB_CAP_FULL_REFRESH,
    .destination = &avro_destination,
};
