/* The `parquet` destination: the shared file destination with the Parquet format. Compression is
 * the format's (per page, inside the file), so the output file itself is opened uncompressed. */
#include "connectors/common/file_dest.h"
#include "formats/parquet/parquet.h"

static const struct nb_config_key parquet_path_key[] = {
    {"path", NB_KEY_STRING, NULL, NULL, NB_KEY_REQUIRED,
     "output file; {stream} is replaced by the stream name (needed when the source has several streams)"},
    {NULL},
};

/* path + the format keys; the file destination's own `compression` (a codec around the whole
 * file) would mean something else here, so its table is not included. */
static const struct nb_config_key parquet_dest_spec[] = {
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, parquet_path_key},
    {"include", NB_KEY_INCLUDE, NULL, NULL, 0, NULL, nb_parquet_format_keys},
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

static nb_status parquet_open(void **self, const struct nb_context *ctx, struct nb_error *err)
{
    struct nb_file_dest_args args = {.format = &nb_format_parquet, .opener = open_plain};
    return nb_file_dest_open(self, ctx, &args, err);
}

static const struct nb_destination_ops parquet_destination = NB_FILE_DESTINATION_OPS(parquet_dest_spec, parquet_open, true);

const struct nb_connector_ops nb_connector_parquet = {
    .name = "parquet",
    .description = "Parquet files (snappy/gzip/zstd/lz4_raw pages, dictionary encoding, statistics, page index)",
    .kinds = NB_DESTINATION,
    .destination_caps = NB_CAP_FULL_REFRESH,
    .destination = &parquet_destination,
};
