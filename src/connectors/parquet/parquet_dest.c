/* The `parquet` connector: the destination is the shared file destination with the Parquet format
 * (compression is the format's, per page, inside the file, so its `compression` key is the format's
 * own); the source is parquet_source.c. */
#include "connectors/common/file_dest.h"
#include "connectors/parquet/parquet_source.h"
#include "formats/parquet/parquet.h"

NB_FORMAT_FILE_DESTINATION(parquet, nb_format_parquet, nb_parquet_format_keys);

const struct nb_connector_ops nb_connector_parquet = {
    .name = "parquet",
    .description = "Parquet files (snappy/gzip/zstd/lz4_raw pages, dictionary encoding, statistics, page index); "
                   "reads flat Parquet files, globs, resume",
    .kinds = NB_SOURCE | NB_DESTINATION,
    .source_caps = NB_CAP_FULL_REFRESH | NB_CAP_RESUME,
    .destination_caps = NB_CAP_FULL_REFRESH,
    .source = &nb_parquet_source_ops,
    .destination = &parquet_destination,
};
